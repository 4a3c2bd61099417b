"""Fixed-point precision: integer levels, per-layer error bounds, minimum bits for exactness.

The chip backend runs graded networks in fixed point (:mod:`neurosim.sim.compile`).
Two things decide whether its outputs (and the Graph Challenge's categories,
the inputs whose last layer has a nonzero output) equal exact arithmetic:

* **the scale.** :func:`reduce_levels` divides each post neuron's integer
  weights by their greatest common divisor and multiplies its scale by it: the
  same real weights, but the smallest integers, so the accumulator holds the
  largest sum in the fewest bits and the fraction of the state can use the
  state's full width (the official Graph Challenge weights, all 1/16, become
  level 1 at scale 2**-4 instead of 127 at 1/2032; the accumulator then needs
  11 integer bits instead of 18, and the power-of-two scale converts exactly).
* **the rounding errors and how layers amplify them.** :func:`error_bounds`
  runs the exact network (float64) on the inputs and propagates a rigorous
  bound of the fixed-point error layer by layer: each layer adds its rounding
  (bias ``|b - round(b 2**f) / 2**f|``, the accumulator's conversion to the
  post format, half a unit of the pre fraction when an input is rounded, and
  the weight quantization ``|W - s w_int|``) to ``sum_i |w_ij| e_i``. ReLU and
  the cap are 1-Lipschitz, and a neuron whose exact pre-activation lies
  further than its bound below zero (or above the cap) outputs exactly the
  clip value, so its error is zero. Exactness *can* fail where the bound of
  such a clipped neuron reaches its margin (the distance of its exact
  pre-activation from 0 or the cap): an exact zero may turn nonzero. The categories are guaranteed when, on the last layer, every exact
  zero row stays below zero by more than its bound and every category row
  keeps one output above its bound.

:func:`precision_report` applies this at a chip profile's widths (the
fractions the chip backend chooses) and searches the smallest fraction,
state and weight bits for which the categories are guaranteed on the given
inputs. The bound is data dependent (it uses the exact activations of the
given inputs) and conservative (worst-case signs): ``guaranteed`` is a proof,
``not guaranteed`` a warning (the run may still be exact).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.sim.compile import choose_frac_bits, state_limits
from neurosim.sim.levels import Reduced, integer_weights, reduce_levels, reduced_quantized

__all__ = [
    "LayerPrecision",
    "PrecisionReport",
    "error_bounds",
    "precision_report",
    "reduce_levels",
    "reduced_quantized",
]


@dataclass(frozen=True)
class LayerPrecision:
    """Fixed-point error of one population (all inputs, all neurons).

    Attributes
    ----------
    name : str
    frac_bits : int
    rounding : float
        Largest rounding error the population adds itself (real units).
    bound : float
        Largest error bound of its outputs' pre-activations.
    margin : float
        Smallest distance of an exact pre-activation from 0 or the cap.
    at_risk : int
        (input, neuron) pairs whose exact output is clipped (0, or the cap) but whose
        bound reaches the margin: an exact zero may turn nonzero there, where
        exactness can fail.
    peak : float
        Largest exact output magnitude.
    """

    name: str
    frac_bits: int
    rounding: float
    bound: float
    margin: float
    at_risk: int
    peak: float = 0.0


def _order_graded(network: Network) -> list[str]:
    names = []
    for name in network.order():
        kind = network.population(name).model.kind
        if kind == "input":
            continue
        if kind not in ("relu", "linear"):
            raise SimulationError(
                f"precision: population {name} is {kind}; expected relu or linear neurons"
            )
        names.append(name)
    return names


def _conversion_error(scale: np.ndarray, f_pre: int, f_post: int) -> float:
    """Largest error (real units) of converting an accumulator to the post format."""
    factor = np.abs(np.asarray(scale, dtype=np.float64)) * 2.0 ** (f_post - f_pre)
    factor = factor[factor > 0]
    if not factor.size or np.all(factor == np.round(factor)):
        return 0.0  # integer multiplier: exact
    mant, _ = np.frexp(factor)
    half = 2.0 ** -(f_post + 1)
    return half if np.all(mant == 0.5) else 2 * half  # rounding, plus the multiplier's


def _rounded(x: np.ndarray, f: int) -> np.ndarray:
    return np.abs(x - np.round(x * 2.0**f) / 2.0**f)


def _exact_inputs(
    network: Network, inputs: np.ndarray, frac_bits: Mapping[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Exact values and rounding errors of the input populations."""
    y: dict[str, np.ndarray] = {}
    err: dict[str, np.ndarray] = {}
    col = 0
    for name in network.inputs:
        size = network.population(name).size
        x = np.asarray(inputs[:, col : col + size], dtype=np.float64)
        y[name] = x
        err[name] = _rounded(x, int(frac_bits[name]))
        col += size
    return y, err


def _pre_activation(
    network: Network,
    name: str,
    y: Mapping[str, np.ndarray],
    err: Mapping[str, np.ndarray],
    frac_bits: Mapping[str, int],
    quantized: Mapping[str, Any] | None,
    n_inputs: int,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Exact pre-activation ``z`` of population ``name``, its error bound ``e`` and the
    rounding the population adds itself (bias, conversions)."""
    pop = network.population(name)
    f = int(frac_bits[name])
    bias = np.broadcast_to(np.asarray(pop.bias, dtype=np.float64), (pop.size,))
    z = np.zeros((n_inputs, pop.size)) + bias
    rounding = _rounded(bias, f)
    e = np.zeros_like(z) + rounding
    for pr in network.projections_into(name):
        w = sp.csr_matrix(pr.weights)
        z += y[pr.pre] @ w
        e += err[pr.pre] @ abs(w)
        f_pre = int(frac_bits[pr.pre])
        if quantized is not None:
            q = quantized[pr.name]
            scale = np.asarray(q.scale, dtype=np.float64)
            real = sp.csr_matrix(q.weights).multiply(scale[np.newaxis, :]).tocsr()
            e += np.abs(y[pr.pre]) @ abs(w - real)
            conv = _conversion_error(scale, f_pre, f)
        else:
            conv = 0.0 if f >= f_pre else 2.0 ** -(f + 1)
        e += conv
        rounding = rounding + conv
    return z, e, rounding


def error_bounds(
    network: Network,
    inputs: np.ndarray,
    frac_bits: Mapping[str, int],
    *,
    quantized: Mapping[str, Any] | None = None,
) -> tuple[list[LayerPrecision], bool]:
    """Per-population error bounds of a fixed-point run (see the module docstring).

    Parameters
    ----------
    network : Network
        Feed-forward ``relu``/``linear`` network (exact weights).
    inputs : ndarray (n_inputs, n_in)
        Static inputs (concatenated input populations).
    frac_bits : mapping population -> fraction bits
    quantized : mapping projection -> (``weights`` levels, ``scale``), optional
        The chip's integer weights: their error ``|W - s w_int|`` and their
        scale's conversion enter the bound. Exact weights at a power-of-two
        scale when omitted.

    Returns
    -------
    layers : list of LayerPrecision
    guaranteed : bool
        The outputs' zero/nonzero pattern per input (the categories) equals the exact one.
    """
    y, err = _exact_inputs(network, inputs, frac_bits)
    layers = []
    for name in _order_graded(network):
        pop = network.population(name)
        f = int(frac_bits[name])
        z, e, rounding = _pre_activation(
            network, name, y, err, frac_bits, quantized, inputs.shape[0]
        )
        relu = pop.model.kind == "relu"
        cap = np.broadcast_to(pop.model.param("cap"), (pop.size,)) if relu else np.inf
        cap_err = _rounded(np.where(np.isfinite(cap), cap, 0.0), f) if relu else 0.0
        lo = 0.0 if relu else -np.inf
        margin = np.minimum(np.abs(z - lo), np.abs(z - cap))
        below = (z < lo) & (margin > e)  # outputs exactly 0
        above = (z > cap) & (margin > e)  # outputs exactly the rounded cap
        y[name] = np.clip(z, lo, cap)
        err[name] = np.where(below, 0.0, np.where(above, cap_err, e + cap_err))
        layers.append(
            LayerPrecision(
                name,
                f,
                float(np.max(rounding)),
                float(e.max(initial=0.0)),
                float(margin.min(initial=np.inf)),
                int(np.count_nonzero(((z <= lo) | (z > cap)) & (margin <= e))),
                float(np.abs(y[name]).max(initial=0.0)),
            )
        )
    return layers, _categories_kept(network, y, err)


def _categories_kept(network: Network, y: Mapping, err: Mapping) -> bool:
    """Every input keeps its exact category (any nonzero output) under the bounds."""
    out = np.concatenate([y[n] for n in network.outputs], axis=1)
    e = np.concatenate([err[n] for n in network.outputs], axis=1)
    exact_zero = out == 0
    zero_rows_ok = np.all(exact_zero <= (e == 0), axis=1)  # exact 0 outputs stay exactly 0
    sure_nonzero = np.any(np.abs(out) > e, axis=1)
    has_cat = np.any(~exact_zero, axis=1)
    return bool(np.all(np.where(has_cat, sure_nonzero, zero_rows_ok)))


@dataclass(frozen=True)
class PrecisionReport:
    """Whether a chip's fixed point keeps the exact categories, and the bits that would.

    Attributes
    ----------
    chip : str
    state_bits, accumulator_bits, weight_bits : int
        The profile's widths.
    layers : tuple of LayerPrecision
        At the profile's widths (the fractions the chip backend chooses).
    guaranteed : bool
        Categories proven exact at the profile's widths on these inputs.
    first_risk : str or None
        When not guaranteed: the first population where an exactly clipped output
        may leave its clip (else the last population, whose outputs the categories
        read).
    min_frac_bits : int or None
        Smallest fraction (every graded population) that guarantees the
        categories with the profile's weights; None if none up to 60.
    min_state_bits : int or None
        Smallest state width (sign included) with the profile's accumulator
        for which the chip backend's fractions guarantee the categories.
    min_accumulator_bits : int or None
        Smallest accumulator width with the profile's state width.
    min_weight_bits : int or None
        Smallest integer weight width (``per_layer`` scale) that guarantees the
        categories at a wide state; None if none up to 16.
    """

    chip: str
    state_bits: int
    accumulator_bits: int
    weight_bits: int
    layers: tuple[LayerPrecision, ...]
    guaranteed: bool
    first_risk: str | None
    min_frac_bits: int | None
    min_state_bits: int | None
    min_accumulator_bits: int | None
    min_weight_bits: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["layers"] = [asdict(x) for x in self.layers]
        return d

    def summary(self) -> str:
        """One line for humans."""
        verdict = "categories guaranteed exact" if self.guaranteed else "exactness NOT guaranteed"
        where = f" (can fail from {self.first_risk})" if self.first_risk else ""
        return (
            f"{self.chip}: state {self.state_bits} / accumulator {self.accumulator_bits} / "
            f"weights {self.weight_bits} bits: {verdict}{where}; exact categories need "
            f"{self.min_state_bits} state, {self.min_accumulator_bits} accumulator and "
            f"{self.min_weight_bits} weight bits"
        )


def _bits(value: float) -> int:
    """Bits (sign included) of a signed integer of magnitude ``value``."""
    return 1 + (int(np.ceil(np.log2(value + 1))) if value > 0 else 0)


def _fits(
    hw: Network, x: np.ndarray, quant: Mapping, frac: Mapping, layers: Any, state: int, acc: int
) -> bool:
    """No saturation: every exact output (plus its bound) fits the state (unsigned for a
    ReLU, :func:`~neurosim.sim.compile.state_limits`), and every accumulation
    ``peak_pre * 2**f_pre * max_j sum_i |level_ij|`` fits the accumulator."""
    peak = {n: float(np.abs(x).max(initial=0.0)) for n in hw.inputs}
    for lp in layers:
        peak[lp.name] = lp.peak
        _, top = state_limits(hw.population(lp.name).model.kind, state)
        if (lp.peak + lp.bound) * 2.0**lp.frac_bits > top:
            return False
    for pr in hw.projections:
        colsum = np.asarray(abs(sp.csr_matrix(quant[pr.name].weights)).sum(axis=0)).ravel()
        if _bits(peak[pr.pre] * 2.0 ** frac[pr.pre] * colsum.max(initial=0.0)) > acc:
            return False
    return True


def _uniform_frac(network: Network, f: int, integer_inputs: bool) -> dict[str, int]:
    return {
        p.name: (0 if integer_inputs and p.model.kind == "input" else f)
        for p in network.populations
    }


def _smallest(ok: Any, lo: int, hi: int) -> int | None:
    """Smallest ``k`` in ``[lo, hi]`` with ``ok(k)`` (bisection: ``ok`` is monotone)."""
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _chip_frac(
    hw: Network, x: np.ndarray, quant: Mapping, state: int, acc: int, partial: Any
) -> dict[str, int]:
    """The fractions the chip backend chooses at these widths (integer inputs: 0)."""
    frac = choose_frac_bits(
        hw,
        state,
        input_bound=float(np.abs(x).max(initial=0.0)) or 1.0,
        accumulator_bits=acc,
        quantized=quant,
        partial_sums=partial,
    )
    if np.all(x == np.round(x)):
        frac.update({n: 0 for n in hw.inputs})
    return frac


def _quantized_at(network: Network, bits: int) -> dict[str, Reduced]:
    from neurosim.mapping.quantize import quantize_weights

    out = {}
    for pr in network.projections:
        w = sp.csr_matrix(pr.weights, dtype=np.float64)
        levels, scale, _ = quantize_weights(w.data, bits, "per_layer")
        lw = sp.csr_matrix((levels, w.indices, w.indptr), shape=w.shape)
        s = float(scale[0]) if scale.size else 1.0
        out[pr.name] = Reduced(*reduce_levels(lw, np.full(w.shape[1], s)))
    return out


def _min_frac(network: Network, inputs: np.ndarray, quantized: Any, integer: bool) -> int | None:
    """Smallest uniform fraction with guaranteed categories (bounds shrink as f grows)."""

    def ok(f: int) -> bool:
        frac = _uniform_frac(network, f, integer)
        return error_bounds(network, inputs, frac, quantized=quantized)[1]

    return _smallest(ok, 0, 60)


def precision_report(mapped: Any, inputs: np.ndarray, *, search: bool = True) -> PrecisionReport:
    """Precision of ``mapped`` (a MappedNetwork on an integer-weight chip) on static ``inputs``.

    Uses the fractions the chip backend chooses (``choose_frac_bits`` on the
    hardware network with the reduced integer weights), then searches the
    minimum fraction / state / accumulator bits with the profile's weights and
    the minimum weight bits at a 60-bit fraction. Cost: about 20 exact runs
    of the network on ``inputs``; ``search=False`` skips the searches (one
    run; the minimum fields are then None).
    """
    prof = mapped.profile
    if prof.get("weights.kind") == "float":
        raise SimulationError(f"precision: chip {prof.name} computes in float; no fixed point")
    hw = mapped.hw_network
    x = np.asarray(inputs, dtype=np.float64)
    integer = bool(np.all(x == np.round(x)))
    acc_bits = int(prof.get("weights.accumulator_bits"))
    state_bits = int(prof.get("weights.state_bits"))
    quant = {
        pr.name: Reduced(
            *reduce_levels(
                integer_weights(mapped.quantized[pr.name]), mapped.quantized[pr.name].scale
            )
        )
        for pr in hw.projections
    }
    partial = mapped.with_role(_partial_role()) if hasattr(mapped, "with_role") else ()

    def ok(state: int, acc: int) -> bool:
        frac = _chip_frac(hw, x, quant, state, acc, partial)
        layers, kept = error_bounds(hw, x, frac, quantized=quant)
        return kept and _fits(hw, x, quant, frac, layers, state, acc)

    frac = _chip_frac(hw, x, quant, state_bits, acc_bits, partial)
    layers, guaranteed = error_bounds(hw, x, frac, quantized=quant)
    guaranteed = guaranteed and _fits(hw, x, quant, frac, layers, state_bits, acc_bits)
    # the first population where a clipped output may leave its clip, else the outputs
    first = next((lp.name for lp in layers if lp.at_risk), layers[-1].name if layers else None)
    if not search:
        return PrecisionReport(
            prof.name, state_bits, acc_bits, int(prof.get("weights.bits")), tuple(layers),
            guaranteed, None if guaranteed else first, None, None, None, None,
        )  # fmt: skip
    wide = _uniform_frac(hw, 60, integer)
    w_min = next(
        (b for b in range(2, 17) if error_bounds(hw, x, wide, quantized=_quantized_at(hw, b))[1]),
        None,
    )
    return PrecisionReport(
        prof.name, state_bits, acc_bits, int(prof.get("weights.bits")), tuple(layers),
        guaranteed, None if guaranteed else first, _min_frac(hw, x, quant, integer),
        _smallest(lambda s: ok(s, acc_bits), 2, 64), _smallest(lambda a: ok(state_bits, a), 2, 64),
        w_min,
    )  # fmt: skip


def _partial_role() -> Any:
    from neurosim.mapping.roles import Role

    return Role.PARTIAL_SUM
