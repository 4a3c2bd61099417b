"""Compile a :class:`~neurosim.network.Network` into an engine :class:`~neurosim.sim.engine.Plan`.

:func:`float_plan` keeps real numbers (float32 or float64); :func:`fixed_plan`
converts weights, activations, thresholds, biases and leaks to the integer
fixed-point format described in ``docs/simulator.md``:

* weights are the mapper's integers ``w_int`` with a real scale ``s[j]`` per
  post neuron (:class:`~neurosim.mapping.mapped.QuantizedProjection`);
* each graded population ``P`` holds its activations as integers
  ``a = round(y * 2**f_P)`` in ``state_bits`` (saturating): signed for
  ``linear``, unsigned (``[0, 2**state_bits - 1]``, :func:`state_limits`) for
  ``relu``, whose output is never negative, so a sign bit would be wasted (on
  Akida's 4-bit activations, a whole bit: a ReLU capped at 1 gets 3 fraction
  bits instead of 2); the mapper's partial-sum populations (dendritic
  accumulators; the caller names them in ``partial_sums``, from
  ``MappedNetwork.roles``) hold theirs in ``accumulator_bits`` (signed); inputs
  are signed; spiking populations emit ``1`` (``f = 0``) and hold ``v`` with their own ``f_P``;
* a projection accumulates ``acc[j] = sum_i w_int[i, j] * a_pre[i]`` in
  ``accumulator_bits`` (saturating after every addition), then converts to the
  post format with one integer multiply and a rounding shift:
  ``round(acc * m[j] / 2**R)``, ``m[j] = round(s[j] * r[j] * 2**(f_post - f_pre + R))``.
  ``R`` is as large as the 64-bit product allows; with a non-power-of-two
  scale ``m`` is rounded, and a chosen ``f_post`` is limited so that ``R`` is at
  least ``accumulator_bits``, so whenever the real result is representable in
  the post format (as in the exact-solution networks) it is reproduced exactly;
* biases, caps, thresholds, resets and leak potentials are rounded to the
  population's fixed point; the LIF factor ``dt / tau`` to ``alpha_q / 2**16``
  (``cuba_lif``: also ``dt / tau_syn_s`` to ``alpha_syn_q / 2**16``; its synaptic
  current is held as ``u = r * i_syn`` in v's fixed point, the input conversion
  carrying ``r * w_in``).

The fraction ``f_P`` of each population is, in order of precedence: given by
the caller (``frac_bits``), given by the network (``metadata["fixed_point"]``
with ``frac_bits``: an int or a mapping population -> int; or, as the
exact-solution generator writes it, ``{"<bits>": {"frac_bits": f}}`` for
the graded populations: the widest format with ``bits <= state_bits``), or chosen so the
population's value range fits ``state_bits`` (a ReLU's without a sign bit: the
cap of a capped ReLU; a propagated bound otherwise; the largest of threshold, reset and leak
potentials, with two bits of headroom, for spiking populations, and for
``cuba_lif`` and ``threshold`` at least the largest drive
``|r w_in| (|bias| + sum_i |w_ij| b_i)`` (``r w_in = 1`` for ``threshold``) that
the synaptic current, or the compared input, can reach).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.neurons import SPIKING_KINDS
from neurosim.sim.engine import Plan, PopPlan, ProjPlan
from neurosim.sim.kernels import csr_arrays
from neurosim.sim.levels import reduced_quantized

__all__ = [
    "ALPHA_SHIFT",
    "UNSIGNED_KINDS",
    "choose_frac_bits",
    "fixed_plan",
    "float_plan",
    "state_limits",
]

#: fractional bits of the fixed-point LIF factor ``dt / tau_mem_s``
ALPHA_SHIFT = 16

#: neuron kinds whose fixed-point state is unsigned (their output is never negative)
UNSIGNED_KINDS: frozenset[str] = frozenset({"relu"})


def state_limits(kind: str, bits: int) -> tuple[int, int]:
    """Integer range ``(lo, hi)`` of a ``bits``-wide state of a population of ``kind``.

    Parameters
    ----------
    kind : str
        The population's neuron kind.
    bits : int
        The state's width.

    Returns
    -------
    tuple of int
        ``(0, 2**bits - 1)`` for :data:`UNSIGNED_KINDS`, else the signed
        ``(-2**(bits - 1), 2**(bits - 1) - 1)``.
    """
    if kind in UNSIGNED_KINDS:
        return 0, 2**bits - 1
    return _signed(bits)


def _signed(bits: int) -> tuple[int, int]:
    """The range of a signed ``bits``-wide integer (states, accumulators)."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _is_delayed(order: dict[str, int], pre: str, post: str) -> bool:
    return order[pre] >= order[post]


def _vec(value: np.ndarray, n: int, dtype: Any) -> np.ndarray:
    return np.ascontiguousarray(
        np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).astype(dtype)
    )


def float_plan(
    network: Network,
    weights: Mapping[str, sp.csr_matrix] | None = None,
    *,
    dtype: Any = np.float64,
    dt_s: float = 1e-3,
) -> Plan:
    """A float plan of ``network`` (weights from ``weights`` by projection name, if given)."""
    dtype = np.dtype(dtype)
    order = {n: i for i, n in enumerate(network.order())}
    pops = []
    for name in network.order():
        pop = network.population(name)
        incoming = []
        for pr in network.projections_into(name):
            w = pr.weights if weights is None else weights[pr.name]
            indptr, indices, data = csr_arrays(w, dtype)
            incoming.append(
                ProjPlan(pr.name, pr.pre, _is_delayed(order, pr.pre, name), indptr, indices, data)
            )
        incoming.sort(key=lambda p: order[p.pre])
        m = pop.model
        n = pop.size
        params: dict[str, Any] = {}
        if m.kind != "input":
            params["bias"] = _vec(pop.bias, n, dtype)
        for key, value in m.params.items():
            params[key] = _vec(value, n, dtype)
        if m.kind in ("lif", "cuba_lif"):
            params["alpha"] = _vec(dt_s / np.asarray(m.param("tau_mem_s")), n, dtype)
        if m.kind == "cuba_lif":
            params["alpha_syn"] = _vec(dt_s / np.asarray(m.param("tau_syn_s")), n, dtype)
        pops.append(PopPlan(name, m.kind, n, tuple(incoming), params, m.reset))
    return Plan(tuple(pops), tuple(network.inputs), fixed=False, dtype=dtype)


def _int_bits(bound: float) -> int:
    """Integer bits (excluding sign) needed to hold ``|x| <= bound``."""
    if not np.isfinite(bound) or bound <= 0:
        return 0
    return max(0, math.floor(math.log2(bound)) + 1)


def _format_width(fp: Mapping[str, Any], state_bits: int) -> int | None:
    """The widest per-width format of ``fp`` (``{"<bits>": {"frac_bits": f}}``) that fits
    ``state_bits``: a format exact in ``b`` bits stays exact in any wider state (the same
    fraction, more integer bits). ``None`` when there is none."""
    widths = [
        int(k)
        for k, v in fp.items()
        if str(k).isdigit() and isinstance(v, Mapping) and "frac_bits" in v
    ]
    fitting = [b for b in widths if b <= state_bits]
    return max(fitting) if fitting else None


def _exact_conversion_limit(f_pre: int, scale: np.ndarray, accumulator_bits: int) -> int | None:
    """Largest post fraction for which :func:`fixed_plan`'s conversion stays exact.

    The conversion ``round(acc * m / 2**R)`` uses ``m = round(s * 2**(f_post - f_pre + R))``
    with ``R = 62 - A - e`` (``e`` the binary exponent of ``max |s| * 2**(f_post - f_pre)``).
    When ``s`` is not a power of two, ``m`` carries a rounding error of up to 1/2, which
    moves the result by up to ``2**(A - 1) / 2**(R + 1)``: below half a unit (a
    representable result is then reproduced exactly) only if ``R >= A``, i.e.
    ``f_post <= f_pre + 62 - 2 A - frexp(max |s|)``. ``None`` when every ``s`` is a
    power of two (``m`` exact, no limit).
    """
    s = np.abs(np.asarray(scale, dtype=np.float64))
    s = s[s > 0]
    if not s.size:
        return None
    mant, _ = np.frexp(s)
    if np.all(mant == 0.5):
        return None
    return f_pre + 62 - 2 * accumulator_bits - int(math.frexp(float(s.max()))[1])


def _given_frac_bits(
    network: Network,
    state_bits: int,
    given: int | Mapping[str, int] | None,
    partial_sums: Collection[str],
) -> dict[str, int]:
    """Fractions fixed in advance: ``given``, else the network's own fixed-point format."""
    if given is None:
        fp = dict(network.metadata.get("fixed_point", {}) or {})
        given = fp.get("frac_bits")
        width = _format_width(fp, state_bits)
        if given is None and width is not None:
            graded = int(fp[str(width)]["frac_bits"])
            given = {
                p.name: graded
                for p in network.populations
                if p.model.kind not in SPIKING_KINDS and p.name not in partial_sums
            }
    if isinstance(given, (int, np.integer)):
        given = {p.name: int(given) for p in network.populations}
    return dict(given or {})


def _value_bound(
    network: Network, name: str, bound: Mapping[str, float], input_bound: float
) -> float:
    """Largest magnitude population ``name`` holds, from its sources' bounds (``bound``)."""
    pop = network.population(name)
    m = pop.model
    if m.kind == "input":
        return float(input_bound)
    if m.kind in SPIKING_KINDS:
        pot = [m.param(k) for k in ("threshold", "v_reset", "v_leak") if k in m.params]
        b = 4.0 * max(float(np.max(np.abs(x))) for x in pot)
        if m.kind in ("cuba_lif", "threshold"):
            # threshold compares I + bias; cuba_lif's u = r * i_syn is an average of
            # r * w_in * (I + bias): bound both by that drive
            drive = np.abs(np.broadcast_to(pop.bias, (pop.size,))).astype(np.float64)
            for pr in network.projections_into(name):
                colsum = np.asarray(abs(pr.weights).sum(axis=0)).ravel()
                drive = drive + bound.get(pr.pre, 1.0) * colsum
            drive = drive * np.abs(_input_gain(m, pop.size))
            b = max(b, float(drive.max()) if drive.size else 0.0)
        return b
    total = float(np.max(np.abs(pop.bias))) if pop.size else 0.0
    for pr in network.projections_into(name):
        src = bound.get(pr.pre, 1.0)
        colsum = np.asarray(abs(pr.weights).sum(axis=0)).ravel()
        total += src * (float(colsum.max()) if colsum.size else 0.0)
    if m.kind == "relu":
        total = min(total, float(np.max(m.param("cap"))))
    return total


def choose_frac_bits(
    network: Network,
    state_bits: int,
    *,
    input_bound: float = 1.0,
    given: int | Mapping[str, int] | None = None,
    accumulator_bits: int | None = None,
    quantized: Mapping[str, Any] | None = None,
    partial_sums: Collection[str] = (),
) -> dict[str, int]:
    """Fractional bits of every population (see the module docstring).

    With ``accumulator_bits`` and ``quantized`` (integer weights by projection
    name), the fraction of a graded source is also limited so that its
    largest possible accumulation ``bound * max_j sum_i |w_int[i, j]|`` fits
    the accumulator. ``partial_sums`` names the partial-sum populations
    (held in ``accumulator_bits``; a network format does not apply to them).
    """
    if quantized is not None:  # smallest integer levels: the accumulator's bits go furthest
        quantized = reduced_quantized(quantized)
    given = _given_frac_bits(network, state_bits, given, partial_sums)
    bound: dict[str, float] = {}
    frac: dict[str, int] = {}
    for name in network.order():
        m = network.population(name).model
        b = _value_bound(network, name, bound, input_bound)
        bound[name] = 1.0 if m.kind in SPIKING_KINDS else b
        if name in given:
            frac[name] = int(given[name])
            continue
        if accumulator_bits and name in partial_sums:
            f = accumulator_bits - 1 - _int_bits(b)
        else:  # an unsigned state spends no bit on the sign
            f = state_bits - (m.kind not in UNSIGNED_KINDS) - _int_bits(b)
        if accumulator_bits is not None and quantized is not None and m.kind not in SPIKING_KINDS:
            for pr in network.projections_from(name):
                w = sp.csr_matrix(quantized[pr.name].weights)
                colsum = np.asarray(abs(w).sum(axis=0)).ravel()
                top = float(colsum.max()) if colsum.size else 0.0
                f = min(f, accumulator_bits - 1 - _int_bits(b * top))
        if accumulator_bits is not None and quantized is not None and m.kind not in SPIKING_KINDS:
            for pr in network.projections_into(name):
                if pr.pre not in frac:  # delayed (recurrent) source, fraction not chosen yet
                    continue
                limit = _exact_conversion_limit(
                    frac[pr.pre]
                    if network.population(pr.pre).model.kind not in SPIKING_KINDS
                    else 0,
                    np.asarray(quantized[pr.name].scale, dtype=np.float64),
                    accumulator_bits,
                )
                if limit is not None:
                    f = min(f, limit)
        frac[name] = max(0, f)
    return frac


def _input_gain(model: Any, n: int) -> np.ndarray:
    """Real factor applied to a population's input before it meets the state, per neuron.

    ``r`` for ``if``/``lif``; ``r * w_in`` for ``cuba_lif`` (whose state ``u = r * i_syn``
    then needs no multiply); 1 for graded and ``threshold`` populations.
    """
    if model.kind == "cuba_lif":
        return np.broadcast_to(model.param("r") * model.param("w_in"), (n,))
    if "r" in model.params:
        return np.broadcast_to(model.param("r"), (n,))
    return np.ones(n)


def _fixed_projection(
    pr: Any, q: Any, gain: np.ndarray, delayed: bool, accumulator_bits: int
) -> ProjPlan:
    """A projection's integer plan: CSR levels and the per-post multiplier and shift.

    ``gain`` is the input gain times ``2^(f_post - f_pre)``, the change of fixed point.
    """
    w = sp.csr_matrix(q.weights)
    if w.nnz and not np.array_equal(w.data, np.round(w.data)):
        raise SimulationError(
            f"chip backend: projection {pr.name}: quantized weights are not integers"
        )
    indptr, indices, data = csr_arrays(w, np.int64)
    factor = np.asarray(q.scale, dtype=np.float64) * gain
    top = float(np.max(np.abs(factor))) if factor.size else 0.0
    shift = 62 - accumulator_bits - (math.frexp(top)[1] if top > 0 else 0)
    shift = int(min(max(shift, 0), 60))
    mult = np.round(factor * 2.0**shift).astype(np.int64)
    return ProjPlan(pr.name, pr.pre, delayed, indptr, indices, data, mult, shift)


def _fixed_params(pop: Any, r: np.ndarray, scale: float, dt_s: float) -> dict[str, Any]:
    """A population's integer parameters at its fixed point (``scale = 2^f``)."""
    m, n = pop.model, pop.size
    params: dict[str, Any] = {}
    if m.kind != "input":
        params["bias"] = np.round(np.broadcast_to(pop.bias * r, (n,)) * scale).astype(np.int64)
    if m.kind == "relu":
        cap = np.broadcast_to(m.param("cap"), (n,)) * scale
        params["cap"] = np.where(
            np.isfinite(cap), np.round(np.minimum(cap, 2.0**62)), 2**62
        ).astype(np.int64)
    if m.kind in SPIKING_KINDS:
        for key in [k for k in ("threshold", "v_reset", "v_leak") if k in m.params]:
            params[key] = np.round(np.broadcast_to(m.param(key), (n,)) * scale).astype(np.int64)
    if m.kind in ("lif", "cuba_lif"):
        alpha = dt_s / np.broadcast_to(m.param("tau_mem_s"), (n,))
        params["alpha_q"] = np.round(alpha * 2**ALPHA_SHIFT).astype(np.int64)
        params["alpha_shift"] = ALPHA_SHIFT
    if m.kind == "cuba_lif":
        alpha_syn = dt_s / np.broadcast_to(m.param("tau_syn_s"), (n,))
        params["alpha_syn_q"] = np.round(alpha_syn * 2**ALPHA_SHIFT).astype(np.int64)
    return params


def fixed_plan(
    network: Network,
    quantized: Mapping[str, Any],
    *,
    accumulator_bits: int,
    state_bits: int,
    dt_s: float,
    frac_bits: Mapping[str, int],
    partial_sums: Collection[str] = (),
) -> Plan:
    """An integer plan of ``network`` from its quantized projections.

    ``quantized[name]`` has ``weights`` (integer-valued CSR) and ``scale``
    (per post neuron), as :class:`~neurosim.mapping.mapped.QuantizedProjection`.
    ``partial_sums`` (partial-sum populations) hold values in ``accumulator_bits``.
    """
    order = {n: i for i, n in enumerate(network.order())}
    quantized = reduced_quantized(quantized)  # same real weights, smallest integer levels
    out_frac = {
        p.name: (0 if p.model.kind in SPIKING_KINDS else int(frac_bits[p.name]))
        for p in network.populations
    }
    pops = []
    for name in network.order():
        pop = network.population(name)
        m = pop.model
        n = pop.size
        f_post = int(frac_bits[name])
        r = _input_gain(m, n)
        incoming = [
            _fixed_projection(
                pr,
                quantized[pr.name],
                r * 2.0 ** (f_post - out_frac[pr.pre]),
                _is_delayed(order, pr.pre, name),
                accumulator_bits,
            )
            for pr in network.projections_into(name)
        ]
        incoming.sort(key=lambda p: order[p.pre])
        params = _fixed_params(pop, r, 2.0**f_post, dt_s)
        value_range = None  # the plan's signed state_range
        if name in partial_sums:
            value_range = _signed(accumulator_bits)
        elif m.kind in UNSIGNED_KINDS:
            value_range = state_limits(m.kind, state_bits)
        pops.append(PopPlan(name, m.kind, n, tuple(incoming), params, m.reset, f_post, value_range))
    return Plan(
        tuple(pops),
        tuple(network.inputs),
        fixed=True,
        dtype=np.dtype(np.int64),
        acc_range=_signed(accumulator_bits),
        state_range=_signed(state_bits),  # relu populations: their value_range above
    )
