"""Conversion of trained ReLU networks to rate-coded spiking networks.

Data-based threshold balancing (Diehl et al. 2015; Rueckauer et al. 2017):
the ReLU network is run (reference backend) on calibration inputs; for each
population ``l`` a high percentile ``lambda_l`` of its positive activations is
taken as its maximum rate. The spiking network has the same topology with IF
neurons (threshold 1, reset by subtraction, which keeps the residual charge),

    W'_l = W_l * lambda_pre / lambda_l,    b'_l = b_l / lambda_l,

and inputs fed as constant currents (``lambda_input = 1``) or encoded spike
trains. The spike rate of neuron ``j`` of layer ``l`` then approximates
``y_j / lambda_l``; the output class is the neuron with the most spikes.
Accuracy grows with the number of time steps (:func:`accuracy_vs_steps`).

With every membrane starting at 0 and reset by subtraction, a neuron's count
after ``T`` steps is ``floor(Q / theta)`` of the charge ``Q`` it integrated:
every layer rounds down, and a neuron whose rate is below ``1 / T`` never
fires (on a CNN whose feature maps fire at a few percent of the steps this is
the main conversion error). Bu et al. (ICLR 2022) start the membrane at
``theta / 2``; :func:`convert_to_spiking` with ``steps=T, rounding=0.5`` gives
the same charge as a constant current instead (``rounding * theta / T`` more
bias per step), so the count becomes ``floor(Q / theta + rounding)``. It is a
bias like any other, so every backend and chip runs it unchanged; it is tuned
to ``T``, and the network must be simulated for ``steps`` steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network, Population
from neurosim.neurons import NeuronModel

__all__ = [
    "DEFAULT_CALIBRATION",
    "DEFAULT_PERCENTILE",
    "ConversionResult",
    "accuracy_vs_steps",
    "convert_to_spiking",
]

#: default percentile of the positive calibration activations taken as a layer's maximum rate
DEFAULT_PERCENTILE = 99.9
#: default number of calibration samples (the CLI's ``--calibration``, a scenario's
#: ``network.spiking.calibration``)
DEFAULT_CALIBRATION = 256


@dataclass(frozen=True, eq=False)
class ConversionResult:
    """A converted network and the scale factors it was balanced with.

    Attributes
    ----------
    network : Network
        The spiking (IF) network.
    scales : dict population -> float
        ``lambda_l`` of every population (1 for inputs).
    percentile : float
    """

    network: Network
    scales: dict[str, float]
    percentile: float


def convert_to_spiking(
    network: Network,
    calibration: np.ndarray,
    *,
    percentile: float = DEFAULT_PERCENTILE,
    reset: str = "subtract",
    steps: int | None = None,
    rounding: float = 0.0,
) -> ConversionResult:
    """Convert a feed-forward ReLU (or linear) network to IF neurons by threshold balancing.

    Parameters
    ----------
    network : Network
        Feed-forward network of ``relu``/``linear`` populations.
    calibration : ndarray, shape (n_samples, n_in)
        Inputs whose activations set the per-layer scales.
    percentile : float
        Percentile (0-100] of each layer's positive activations used as its scale.
    reset : {"subtract", "zero"}
    steps : int, optional
        Time steps the spiking network will run; needed for ``rounding``.
    rounding : float
        Charge added over ``steps`` steps, in thresholds (0: plain floor; 0.5:
        counts rounded to the nearest; see the module docstring).

    Returns
    -------
    ConversionResult
        With ``steps``, its network's metadata ``conversion`` also holds
        ``steps`` and ``rounding``.
    """
    from neurosim.sim.compile import float_plan
    from neurosim.sim.engine import run_plan
    from neurosim.sim.inputs import prepare_inputs

    _check_convertible(network, percentile)
    shift = _rounding_shift(steps, rounding)
    prepared = prepare_inputs(network, calibration, n_steps=1)
    out = run_plan(
        float_plan(network), lambda t: prepared.split(t, np.ascontiguousarray), prepared.n_inputs, 1
    )
    scales: dict[str, float] = {}
    for pop in network.populations:
        if pop.model.kind == "input":
            scales[pop.name] = 1.0
            continue
        act = out.final[pop.name]
        pos = act[act > 0]
        scales[pop.name] = float(np.percentile(pos, percentile)) if pos.size else 1.0
    model = NeuronModel("if", {"threshold": 1.0, "v_reset": 0.0}, reset)
    pops = []
    for pop in network.populations:
        if pop.model.kind == "input":
            pops.append(pop)
            continue
        bias = pop.bias / scales[pop.name]
        if shift:  # threshold 1: rounding * theta / steps per step
            bias = np.asarray(bias, dtype=np.float64) + shift
        pops.append(Population(pop.name, pop.size, model, bias, pop.shape))
    projs = [pr.scaled(scales[pr.pre] / scales[pr.post]) for pr in network.projections]  # kind kept
    meta = dict(network.metadata)
    meta["conversion"] = {
        "method": "threshold_balancing",
        "percentile": percentile,
        "scales": scales,
    }
    if steps is not None:
        meta["conversion"].update(steps=int(steps), rounding=float(rounding))
    snn = Network(
        tuple(pops), tuple(projs), network.inputs, network.outputs, f"{network.name}-snn", meta
    )
    return ConversionResult(snn, scales, float(percentile))


def _check_convertible(network: Network, percentile: float) -> None:
    """One-line errors for a percentile out of range or a network conversion cannot take."""
    if not 0 < percentile <= 100:
        raise SimulationError(f"conversion: percentile {percentile}; expected a value in (0, 100]")
    if not network.is_feedforward:
        raise SimulationError(
            f"conversion: network {network.name} is recurrent; expected a feed-forward network"
        )
    bad = [p.name for p in network.populations if p.model.kind not in ("input", "relu", "linear")]
    if bad:
        raise SimulationError(f"conversion: populations {', '.join(bad)} are not relu/linear")


def _rounding_shift(steps: int | None, rounding: float) -> float:
    """The bias per step that adds ``rounding`` thresholds over ``steps`` steps (checked)."""
    if steps is not None and (int(steps) != steps or steps < 1):
        raise SimulationError(f"conversion: steps {steps}; expected a positive integer")
    if not 0.0 <= rounding < 1.0:
        raise SimulationError(f"conversion: rounding {rounding}; expected a value in [0, 1)")
    if rounding and steps is None:
        raise SimulationError(
            f"conversion: rounding {rounding} needs steps (the time steps the network will run)"
        )
    return rounding / int(steps) if rounding else 0.0


def accuracy_vs_steps(
    target: Any,
    x: np.ndarray,
    labels: np.ndarray,
    steps: Sequence[int],
    *,
    backend: str = "reference",
    encoding: str | None = None,
    seed: int = 0,
) -> dict[int, float]:
    """Classification accuracy of a spiking network after each number of steps.

    ``target`` is a spiking Network (reference backend) or a MappedNetwork.
    Runs once per entry of ``steps``; ties in the output spike counts go to
    the lowest index. Returns ``{n_steps: accuracy}``.
    """
    from neurosim.sim.simulate import simulate

    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise SimulationError(
            f"conversion: {y.shape[0] if y.ndim else 0} labels for {len(x)} inputs"
        )
    from neurosim.report.accuracy import top1

    acc = {}
    for n in steps:
        res = simulate(target, x, backend, n_steps=int(n), encoding=encoding, seed=seed)
        acc[int(n)] = top1(res.outputs, y)  # an argmax tie counts as wrong
    return acc
