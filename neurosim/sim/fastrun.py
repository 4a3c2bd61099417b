"""Compiled whole-run kernels for float and fixed-point plans (spiking, recurrent or multi-step).

:func:`run_plan_compiled` executes a :class:`~neurosim.sim.engine.Plan`
with exactly the engine's schedule and arithmetic (floating point, or the
fixed point's integers), but with
the time loop inside one numba function (parallel over the inputs of the
batch), so per-step Python overhead disappears. All populations are laid out
in one global index space (topological order); the projections become two
global CSR matrices: forward edges (delivered in the same step) and delayed
edges (closing a cycle; delivered at the next step). After a population has
computed its outputs it scatters its nonzero outputs along both, which adds
every neuron's inputs in the engine's order (delayed first, then forward, each
by source population position and pre-neuron index).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.sim._memo import memo
from neurosim.sim.engine import EngineOutput, Plan

__all__ = ["COMPILED_KINDS", "run_fixed_plan_compiled", "run_plan_compiled"]

_KINDS = {"input": 0, "relu": 1, "linear": 2, "if": 3, "lif": 4}

#: neuron kinds the compiled kernels implement; plans with other kinds
#: (``cuba_lif``, ``threshold``) run on the engine
COMPILED_KINDS: frozenset[str] = frozenset(_KINDS)


def _kernel(fixed: bool, n_chunks: int) -> Any:
    """The whole-run kernel (numba, compiled once per machine; see :mod:`._jit_run`): float
    or fixed point, over the thread pool or, with one chunk, on the calling thread."""
    from neurosim.sim import _jit_run as jr

    if fixed:
        return jr.run_fixed if n_chunks > 1 else jr.run_fixed_serial
    return jr.run_float if n_chunks > 1 else jr.run_float_serial


#: estimated seconds of numpy engine work below which a process that has not
#: loaded numba yet runs the plan on the engine (bit-identical) instead of
#: loading numba and the kernels (about a second)
_ENGINE_BUDGET_S = 0.2


def _engine_is_cheaper(plan: Plan, n_b: int, n_steps: int) -> bool:
    """True when numba is not loaded and the engine would finish this run quickly.

    Estimate: ~100 us of Python and numpy per population per step, plus ~3 ns
    per neuron and synapse per input and step.
    """
    if "numba" in sys.modules:
        return False
    n = sum(p.size for p in plan.pops)
    nnz = sum(len(pr.data) for p in plan.pops for pr in p.incoming)
    est = n_steps * len(plan.pops) * 1e-4 + n_b * n_steps * (n + nnz) * 3e-9
    return est < _ENGINE_BUDGET_S


def _stage(
    plan: Plan,
    X: np.ndarray,
    per_step_inputs: bool,
    n_steps: int,
    input_columns: dict[str, int],
    v0: dict[str, np.ndarray] | None,
    per_step: bool,
    record: int,
) -> tuple[np.ndarray, EngineOutput | None]:
    """Inputs as ``(steps, inputs, columns)`` in the plan's dtype (int64 when fixed), and
    the run's output when the engine is cheaper (:func:`_engine_is_cheaper`): the same
    run on :func:`neurosim.sim.engine.run_plan`, bit-identical; else None."""
    dtype = np.int64 if plan.fixed else np.dtype(plan.dtype)
    Xs = np.ascontiguousarray(X if per_step_inputs else X[np.newaxis], dtype=dtype)
    if not _engine_is_cheaper(plan, Xs.shape[1], n_steps):
        return Xs, None
    from neurosim.sim.engine import run_plan

    sizes = {p.name: p.size for p in plan.pops if p.kind == "input"}

    def input_at(t: int) -> dict[str, np.ndarray]:
        x = Xs[t if per_step_inputs else 0]
        return {name: x[:, c : c + sizes[name]] for name, c in input_columns.items()}

    t0 = time.perf_counter()
    out = run_plan(
        plan, input_at, Xs.shape[1], n_steps, v0=v0, per_step=per_step, record=min(record, Xs.shape[1])
    )
    out.info.update(loop_s=time.perf_counter() - t0, engine=True)
    return Xs, out


def _uniform(pop: Any) -> bool:
    """True when every neuron of ``pop`` has the same value of every parameter."""
    keys = ("bias", "r", "threshold", "v_leak", "alpha")
    return all(
        np.all(pop.params[k] == pop.params[k][0]) for k in keys if k in pop.params and pop.size
    )


def _layout(plan: Plan) -> tuple[dict[str, int], int]:
    """Each population's first index in the global index space (topological order), and its size."""
    offsets, start = {}, 0
    for pop in plan.pops:
        offsets[pop.name] = start
        start += pop.size
    return offsets, start


def _gather(
    plan: Plan, offsets: dict[str, int], n: int, key: str, default: float, dtype: Any
) -> np.ndarray:
    """Parameter ``key`` of every neuron in the global index space (``default`` where absent).

    Scalar parameters (``alpha_shift``) are not per neuron and are left out.
    """
    out = np.full(n, default, dtype=dtype)
    for pop in plan.pops:
        if key in pop.params and np.ndim(pop.params[key]):
            out[offsets[pop.name] : offsets[pop.name] + pop.size] = pop.params[key]
    return out


def _initial_v(
    plan: Plan, offsets: dict[str, int], n: int, v0: dict[str, np.ndarray] | None, dtype: Any
) -> np.ndarray:
    """Initial membrane potentials in the global index space (0 where ``v0`` names none)."""
    v0_arr = np.zeros(n, dtype=dtype)
    for name, value in (v0 or {}).items():
        size = plan.pop(name).size
        v0_arr[offsets[name] : offsets[name] + size] = np.broadcast_to(value, (size,))
    return v0_arr


def _pop_arrays(plan: Plan, offsets: dict[str, int], input_columns: dict[str, int]) -> tuple:
    """Per population: first and end index, kind code, subtract reset, first input column."""
    return (
        np.array([offsets[p.name] for p in plan.pops], dtype=np.int64),
        np.array([offsets[p.name] + p.size for p in plan.pops], dtype=np.int64),
        np.array([_KINDS[p.kind] for p in plan.pops], dtype=np.int64),
        np.array([p.reset == "subtract" for p in plan.pops], dtype=np.bool_),
        np.array([input_columns.get(p.name, 0) for p in plan.pops], dtype=np.int64),
    )


def _outputs(
    n_b: int, n: int, n_steps: int, per_step: bool, record: int, dtype: Any
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """The kernels' output buffers: ``(n_chunks, counts, final, nz, n_record, raster)``."""
    import numba as nb

    n_chunks = max(1, min(n_b, nb.get_num_threads()))
    counts = np.zeros((n_b, n), dtype=np.int64)
    final = np.zeros((n_b, n), dtype=dtype)
    nz = np.zeros((n_chunks, n_steps if per_step else 0, n), dtype=np.int64)
    rec = int(min(record, n_b))
    raster = np.zeros((n_steps if rec else 0, rec, n), dtype=np.bool_)
    return n_chunks, counts, final, nz, rec, raster


def _engine_output(
    plan: Plan,
    offsets: dict[str, int],
    final: np.ndarray,
    counts: np.ndarray,
    nz: np.ndarray,
    raster: np.ndarray,
    per_step: bool,
    rec: int,
    **extra: Any,
) -> EngineOutput:
    """Split the global buffers back into per-population arrays."""
    sl = {p.name: slice(offsets[p.name], offsets[p.name] + p.size) for p in plan.pops}
    return EngineOutput(
        final={k: final[:, s] for k, s in sl.items()},
        counts={k: counts[:, s] for k, s in sl.items()},
        nz_per_step={k: nz.sum(axis=0)[:, s] for k, s in sl.items()} if per_step else None,
        raster={k: raster[:, :, s] for k, s in sl.items()} if rec else None,
        **extra,
    )


def _global_csr(plan: Plan, offsets: dict[str, int], n: int, delayed: bool, dtype: Any) -> tuple:
    """One CSR over all populations (global indices) of the forward or the delayed edges.

    Rows are grouped by source population; a source with one outgoing
    projection keeps that projection's CSR arrays, several are merged row by
    row (stable, so each row lists its targets projection by projection).
    """
    outgoing: dict[str, list[tuple[Any, int]]] = {}
    for pop in plan.pops:
        for pr in pop.incoming:
            if pr.delayed == delayed:
                outgoing.setdefault(pr.pre, []).append((pr, offsets[pop.name]))
    counts = np.zeros(n, dtype=np.int64)
    idx_parts, data_parts = [], []
    for pop in plan.pops:
        projs = outgoing.get(pop.name)
        if not projs:
            continue
        o = offsets[pop.name]
        if len(projs) == 1:
            pr, off = projs[0]
            counts[o : o + pop.size] = np.diff(pr.indptr)
            idx_parts.append(pr.indices.astype(np.int64) + off)
            data_parts.append(pr.data)
            continue
        rows = np.concatenate(
            [np.repeat(np.arange(pop.size), np.diff(pr.indptr)) for pr, _ in projs]
        )
        cols = np.concatenate([pr.indices.astype(np.int64) + off for pr, off in projs])
        vals = np.concatenate([pr.data for pr, _ in projs])
        order = np.argsort(rows, kind="stable")
        counts[o : o + pop.size] = np.bincount(rows, minlength=pop.size)
        idx_parts.append(cols[order])
        data_parts.append(vals[order])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, dtype=np.int64)
    data = np.concatenate(data_parts) if data_parts else np.zeros(0, dtype=dtype)
    return indptr, indices.astype(_index_dtype(n)), np.ascontiguousarray(data, dtype=dtype)


def _index_dtype(n: int) -> Any:
    """Target indices of the kernels' CSR: uint32 below 2**32 targets (4 bytes less per
    synaptic event, and numba needs no wraparound check on an unsigned index), else int64."""
    return np.uint32 if n < 2**32 else np.int64


def _n_edges(plan: Plan) -> int:
    """Stored synapses of a plan (decides whether its kernel layout is cached)."""
    return sum(len(pr.data) for p in plan.pops for pr in p.incoming)


def _float_layout(plan: Plan) -> dict[str, Any]:
    """What the float kernel needs of a plan alone: global offsets, the forward and delayed
    CSR, per-population uniformity and per-neuron parameters (built once per plan)."""
    dtype = np.dtype(plan.dtype)
    offsets, n = _layout(plan)

    def gather(key: str, default: float) -> np.ndarray:
        return _gather(plan, offsets, n, key, default, dtype)

    arrays = (
        np.array([_uniform(p) for p in plan.pops], dtype=np.bool_),
        *_global_csr(plan, offsets, n, False, dtype),
        *_global_csr(plan, offsets, n, True, dtype),
        gather("bias", 0.0),
        gather("cap", np.inf),
        gather("r", 1.0),
        gather("alpha", 0.0),
        gather("v_leak", 0.0),
        gather("threshold", np.inf),
        gather("v_reset", 0.0),
    )
    return {"offsets": offsets, "n": n, "arrays": arrays}


def _slots(plan: Plan) -> dict[str, Any]:
    """One accumulator per (projection, post neuron): the slots of the fixed-point kernel.

    Returns ``slot_of`` (projection -> first slot), ``n_slots``, ``arrays``
    (per population: first and end projection index; per projection: first
    slot and shift) and ``mult`` (per slot: the conversion multiplier).
    """
    q_slot, q_shift, pop_q_lo, pop_q_hi, mult_parts = [], [], [], [], []
    slot_of: dict[str, int] = {}
    n_slots = 0
    for pop in plan.pops:
        pop_q_lo.append(len(q_slot))
        for pr in pop.incoming:
            slot_of[pr.name] = n_slots
            q_slot.append(n_slots)
            q_shift.append(pr.shift)
            mult_parts.append(np.asarray(pr.mult, dtype=np.int64))
            n_slots += pop.size
        pop_q_hi.append(len(q_slot))
    arrays = tuple(np.array(a, dtype=np.int64) for a in (pop_q_lo, pop_q_hi, q_slot, q_shift))
    mult = np.concatenate(mult_parts) if mult_parts else np.zeros(0, dtype=np.int64)
    return {"slot_of": slot_of, "n_slots": n_slots, "arrays": arrays, "mult": mult}


def _slot_csr(
    plan: Plan, offsets: dict[str, int], n: int, slot_of: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global CSR over pre neurons whose targets are slots (rows in pre-neuron order; slot
    indices uint32 where they fit, :func:`_index_dtype`; int64 weights)."""
    counts_e = np.zeros(n, dtype=np.int64)
    rows, cols, vals = [], [], []
    for pop in plan.pops:
        for pr in pop.incoming:
            w = sp.csr_matrix(
                (pr.data, pr.indices, pr.indptr), shape=(len(pr.indptr) - 1, pop.size)
            ).tocoo()
            rows.append(w.row.astype(np.int64) + offsets[pr.pre])
            cols.append(w.col.astype(np.int64) + slot_of[pr.name])
            vals.append(w.data.astype(np.int64))
    if rows:
        r, c_, d = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        order = np.argsort(r, kind="stable")
        r, c_, d = r[order], c_[order], d[order]
        counts_e = np.bincount(r, minlength=n)
    else:
        c_ = np.zeros(0, dtype=np.int64)
        d = np.zeros(0, dtype=np.int64)
    fi = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts_e, out=fi[1:])
    idx = np.ascontiguousarray(c_, dtype=_index_dtype(int(c_.max()) + 1 if c_.size else 0))
    return fi, idx, np.ascontiguousarray(d, dtype=np.int64)


def _fixed_params(plan: Plan, offsets: dict[str, int], n: int) -> tuple:
    """The fixed-point kernel's neuron parameters (global index space) and the LIF decay shift."""

    def gather(key: str, default: int) -> np.ndarray:
        return _gather(plan, offsets, n, key, default, np.int64)

    alpha_shifts = {int(p.params["alpha_shift"]) for p in plan.pops if "alpha_shift" in p.params}
    alpha_shift = alpha_shifts.pop() if alpha_shifts else 0
    return (
        gather("bias", 0),
        gather("cap", 2**62),
        gather("v_leak", 0),
        gather("threshold", 2**62),
        gather("v_reset", 0),
        gather("alpha_q", 0),
        np.int64(alpha_shift),
    )


def _fixed_layout(plan: Plan) -> dict[str, Any]:
    """What the fixed-point kernel needs of a plan alone: global offsets, per-population
    value ranges, the slots and their CSR, the saturation bounds and per-neuron parameters."""
    offsets, n = _layout(plan)
    slots = _slots(plan)
    arrays = (
        np.array([(p.value_range or plan.state_range)[0] for p in plan.pops], dtype=np.int64),
        np.array([(p.value_range or plan.state_range)[1] for p in plan.pops], dtype=np.int64),
        *slots["arrays"],
        *_slot_csr(plan, offsets, n, slots["slot_of"]),
        slots["mult"],
        *(np.int64(b) for b in (*plan.acc_range, *plan.state_range)),
        *_fixed_params(plan, offsets, n),
    )
    return {"offsets": offsets, "n": n, "arrays": arrays, "n_slots": int(slots["n_slots"])}


def run_plan_compiled(
    plan: Plan,
    X: np.ndarray,
    per_step_inputs: bool,
    n_steps: int,
    input_columns: dict[str, int],
    *,
    v0: dict[str, np.ndarray] | None = None,
    per_step: bool = False,
    record: int = 0,
) -> EngineOutput:
    """Run a float or a fixed-point ``plan`` in one compiled call (see the module docstring).

    Fixed point: each projection gets its own accumulator per post neuron
    ("slot"): synaptic events add into it (saturating at the accumulator width,
    in pre-neuron order), and the post population converts every slot to its
    fixed point (``round(acc * m / 2**R)``) when it updates, as
    :func:`neurosim.sim.engine.run_plan` does: bit-identical to the engine.
    What depends on the plan alone (:func:`_float_layout`, :func:`_fixed_layout`)
    is built once per plan.

    Parameters
    ----------
    X : ndarray
        ``(n_steps, n_inputs, n_in)`` per-step inputs or ``(n_inputs, n_in)`` static
        ones (fixed point: already quantized integers).
    input_columns : mapping input population -> its first column in ``X``
    """
    Xs, on_engine = _stage(plan, X, per_step_inputs, n_steps, input_columns, v0, per_step, record)
    if on_engine is not None:
        return on_engine
    build = _fixed_layout if plan.fixed else _float_layout
    lay = memo(plan, "layout", lambda: build(plan), size=_n_edges(plan))
    offsets, n = lay["offsets"], lay["n"]
    dtype = np.int64 if plan.fixed else np.dtype(plan.dtype)
    n_chunks, counts, final, nz, rec, raster = _outputs(
        Xs.shape[1], n, n_steps, per_step, record, dtype
    )
    head = (int(n_steps), Xs, bool(per_step_inputs), *_pop_arrays(plan, offsets, input_columns))
    tail = (_initial_v(plan, offsets, n, v0, dtype), n_chunks, counts, final, nz, bool(per_step))
    sat = np.zeros(n_chunks, dtype=np.int64)
    t0 = time.perf_counter()
    kernel = _kernel(plan.fixed, n_chunks)
    if plan.fixed:
        kernel(*head, *lay["arrays"], *tail, raster, rec, sat, lay["n_slots"])
    else:
        kernel(*head, *lay["arrays"], *tail, raster, rec)
    info = {"loop_s": time.perf_counter() - t0}
    out = _engine_output(plan, offsets, final, counts, nz, raster, per_step, rec, info=info)
    out.saturations = int(sat.sum())
    return out


#: the same function: the plan says which kernel runs
run_fixed_plan_compiled = run_plan_compiled
