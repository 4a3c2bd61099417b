"""Conversion of a trained CNN to IF neurons for a known number of time steps.

:func:`neurosim.sim.conversion.convert_to_spiking` balances thresholds
(``lambda_l``: a percentile of each layer's positive calibration activations)
and starts every membrane at 0. With reset by subtraction a neuron's spike
count after ``T`` steps is then ``floor(Q / theta)`` of the charge ``Q`` it
integrated: every layer rounds down, and a neuron whose rate is below
``1 / T`` never fires. On a CNN whose feature maps fire at a few percent of
the steps this floor is the main conversion error (Bu et al., "Optimal
ANN-SNN conversion for high-accuracy and ultra-low-latency spiking neural
networks", ICLR 2022, show that a membrane started at ``theta / 2`` makes the
expected error zero).

:func:`convert_for_steps` keeps the threshold balancing and adds the half
threshold as a constant current instead of an initial potential: every IF
neuron gets ``rounding * theta / T`` more bias per step, so after ``T``
steps it has integrated ``rounding * theta`` more charge and its count is
``floor(Q / theta + rounding)``: rounded to the nearest for ``rounding =
0.5``. It is a bias like any other (no initial state, which scenarios and
chips do not set), so every backend and chip runs it unchanged; it is tuned
to ``T`` and the network must be simulated for ``steps`` steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network, Population
from neurosim.sim.conversion import DEFAULT_PERCENTILE, ConversionResult, convert_to_spiking

__all__ = ["convert_for_steps"]


def convert_for_steps(
    network: Network,
    calibration: np.ndarray,
    steps: int,
    *,
    percentile: float = DEFAULT_PERCENTILE,
    rounding: float = 0.5,
    reset: str = "subtract",
) -> ConversionResult:
    """Threshold balancing, plus a rounding current tuned to ``steps`` time steps.

    Parameters
    ----------
    network : Network
        Feed-forward network of ``relu``/``linear`` populations.
    calibration : ndarray, shape (n_samples, n_in)
        Inputs whose activations set the per-layer scales.
    steps : int
        Time steps the spiking network will run.
    percentile : float
        Percentile (0-100] of each layer's positive activations used as its scale.
    rounding : float
        Charge added over ``steps`` steps, in thresholds (0: plain floor; 0.5:
        round to nearest).
    reset : {"subtract", "zero"}

    Returns
    -------
    ConversionResult
        Its network's metadata ``conversion`` also holds ``steps`` and ``rounding``.
    """
    if int(steps) != steps or steps < 1:
        raise SimulationError(f"conversion: steps {steps}; expected a positive integer")
    if not 0.0 <= rounding < 1.0:
        raise SimulationError(f"conversion: rounding {rounding}; expected a value in [0, 1)")
    conv = convert_to_spiking(network, calibration, percentile=percentile, reset=reset)
    snn = conv.network
    pops = []
    for pop in snn.populations:
        if pop.model.kind != "if" or rounding == 0.0:
            pops.append(pop)
            continue
        theta = np.broadcast_to(np.asarray(pop.model.params.get("threshold", 1.0), float), (pop.size,))
        bias = np.zeros(pop.size) if pop.bias is None else np.asarray(pop.bias, dtype=np.float64)
        shift = rounding * theta / int(steps)
        pops.append(Population(pop.name, pop.size, pop.model, bias + shift, pop.shape))
    meta: dict[str, Any] = dict(snn.metadata)
    meta["conversion"] = {**meta.get("conversion", {}), "steps": int(steps), "rounding": float(rounding)}
    out = Network(tuple(pops), snn.projections, snn.inputs, snn.outputs, snn.name, meta)
    return ConversionResult(out, dict(conv.scales), conv.percentile)
