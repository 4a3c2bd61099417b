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

:func:`graded_equivalent` goes the other way, for chips whose neurons are
graded (Akida's quantized ReLU). An IF neuron ``j`` (input resistance
``r_j``, threshold ``theta_j``, bias ``b_j``, reset by subtraction) fed
rates ``a_i`` in [0, 1] fires, over ``T`` steps, at

    a_j = clip(r_j (sum_i w_ij a_i + b_j) / theta_j, 0, 1)

up to ``1 / T`` (the charge left below the threshold at the end). Each IF
population becomes a ReLU capped at 1 with its incoming weights and bias
multiplied by ``g_j = r_j / theta_j``; relu and linear populations are kept.
Convolutions stay convolutions (the kernel of output channel ``c`` scaled by
the ``g`` of that channel, which must then be one value per channel) and
pooling stays pooling (one ``g`` for the population). With reset to zero the
charge above the threshold at a spike is lost, so the IF neuron fires at
``1 / ceil((theta_j - v_reset) / (r_j I))`` rather than ``r_j I / (theta_j -
v_reset)``: the graded rate uses ``theta_j - v_reset`` and is an upper bound,
close where rates are well below 1 (a graded 0.6 fires at 0.5). Leaky,
stateless and CUBA neurons have no such rate and are refused.
:func:`rate_inputs` gives the inputs a rate code represents (static values
as they are, spike trains averaged over their steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError, SimulationError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel

__all__ = [
    "DEFAULT_CALIBRATION",
    "DEFAULT_PERCENTILE",
    "ConversionResult",
    "GradedResult",
    "accuracy_vs_steps",
    "convert_to_spiking",
    "graded_equivalent",
    "rate_inputs",
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
    _require_feedforward(network, "conversion", SimulationError)
    bad = [p.name for p in network.populations if p.model.kind not in ("input", "relu", "linear")]
    if bad:
        raise SimulationError(f"conversion: populations {', '.join(bad)} are not relu/linear")


def _require_feedforward(network: Network, what: str, error: type[Exception]) -> None:
    """One line (``error``, prefixed ``what``) when ``network`` is recurrent."""
    if not network.is_feedforward:
        raise error(f"{what}: network {network.name} is recurrent; expected a feed-forward network")


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


@dataclass(frozen=True, eq=False)
class GradedResult:
    """The rate-equivalent graded network of a spiking network.

    Attributes
    ----------
    network : Network
        IF populations replaced by ReLU capped at 1, their inputs scaled.
    gains : dict population -> ndarray
        ``r / theta`` (``r / (theta - v_reset)`` with reset to zero) per neuron
        of every converted population.
    reset_zero : tuple of str
        Converted populations that reset to zero (their graded rate is an
        upper bound, see the module docstring).
    """

    network: Network
    gains: dict[str, np.ndarray]
    reset_zero: tuple[str, ...]


def _graded_gain(pop: Population) -> np.ndarray | None:
    """Per-neuron ``r / theta`` of an IF population, None for relu/linear; one-line errors otherwise."""
    m = pop.model
    if m.kind in ("relu", "linear", "input"):
        return None
    if m.kind != "if":
        raise NetworkError(
            f"graded equivalent: population '{pop.name}' is {m.kind} (no rate that is a clipped "
            "linear function of its input); expected if (reset subtract or zero), relu or linear"
        )
    theta = np.broadcast_to(m.param("threshold"), (pop.size,)).astype(np.float64)
    if m.reset == "zero":
        theta = theta - np.broadcast_to(m.param("v_reset"), (pop.size,))
    r = np.broadcast_to(m.param("r"), (pop.size,)).astype(np.float64)
    if (theta <= 0).any() or (r <= 0).any():
        raise NetworkError(
            f"graded equivalent: population '{pop.name}' has a threshold (less v_reset with "
            "reset zero) or r <= 0; expected both > 0"
        )
    return r / theta


def _channel_gain(gain: np.ndarray, pr: Projection, post: Population) -> np.ndarray:
    """One gain per output channel of a conv (or pool) projection; error when it varies within one."""
    n_ch = pr.spec.out_shape[0]
    per = gain.reshape(n_ch, -1)
    if not np.all(per == per[:, :1]):
        raise NetworkError(
            f"graded equivalent: population '{post.name}' has r / threshold varying within a "
            f"channel; the shared kernel of {pr.kind} projection '{pr.name}' cannot be scaled; "
            "expected one value per channel"
        )
    return per[:, 0]


def _scale_projection(pr: Projection, gain: np.ndarray, post: Population) -> Projection:
    """``pr`` with the weights into post neuron ``j`` multiplied by ``gain[j]`` (kind kept)."""
    if pr.kind == "sparse":
        w = pr.weights @ sp.diags(gain)
        return Projection(pr.pre, pr.post, sp.csr_matrix(w), pr.name)
    per_channel = _channel_gain(gain, pr, post)
    if pr.kind == "pool":
        if not np.all(per_channel == per_channel[0]):
            raise NetworkError(
                f"graded equivalent: population '{post.name}' has r / threshold varying across "
                f"channels; pool projection '{pr.name}' has one gain; expected one value"
            )
        return pr.scaled(float(per_channel[0]))
    kernel = pr.spec.kernel * per_channel.reshape((-1,) + (1,) * (pr.spec.kernel.ndim - 1))
    return Projection(pr.pre, pr.post, name=pr.name, spec=pr.spec.with_kernel(kernel))


def graded_equivalent(network: Network) -> GradedResult:
    """The graded network that computes the rates a rate-coded IF network approximates.

    Parameters
    ----------
    network : Network
        Feed-forward network of ``if`` (reset by subtraction, or to zero),
        ``relu`` and ``linear`` populations.

    Returns
    -------
    GradedResult
        Its network has each ``if`` population replaced by ``relu`` with cap 1
        and its incoming weights and bias multiplied by ``r / theta`` (see the
        module docstring); its metadata ``graded_equivalent`` names them.

    Raises
    ------
    NetworkError
        One line: a recurrent network, a population of another kind (named),
        or ``r / theta`` that varies within a channel of a convolution.
    """
    _require_feedforward(network, "graded equivalent", NetworkError)
    gains = {p.name: g for p in network.populations if (g := _graded_gain(p)) is not None}
    relu = NeuronModel("relu", {"cap": 1.0})
    pops = tuple(
        Population(p.name, p.size, relu, p.bias * gains[p.name], p.shape) if p.name in gains else p
        for p in network.populations
    )
    projs = tuple(
        _scale_projection(pr, gains[pr.post], network.population(pr.post)) if pr.post in gains else pr
        for pr in network.projections
    )
    zero = tuple(p.name for p in network.populations if p.name in gains and p.model.reset == "zero")
    meta = dict(network.metadata)
    meta["graded_equivalent"] = {"source": network.name, "populations": sorted(gains), "reset_zero": list(zero)}
    graded = network.replace(populations=pops, projections=projs, metadata=meta)
    return GradedResult(graded, gains, zero)


def rate_inputs(
    network: Network,
    x: np.ndarray,
    *,
    n_steps: int | None = None,
    encoding: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The inputs, ``(n_inputs, n_in)``, that the rate code of ``network``'s run represents.

    Static values fed at every step are their own rate; spike trains (given,
    or ``encoding`` of static values over ``n_steps`` with ``seed``, as the
    spiking run draws them) are averaged over their steps.
    """
    from neurosim.sim.inputs import prepare_inputs

    prepared = prepare_inputs(network, x, n_steps=n_steps, encoding=encoding, seed=seed)
    if not prepared.per_step:
        return np.asarray(prepared.values, dtype=np.float64)
    return np.asarray(prepared.values, dtype=np.float64).mean(axis=0)
