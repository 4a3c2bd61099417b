"""Numba whole-run kernels (float and fixed point), compiled once per machine.

The time loop of a plan inside one compiled function, parallel over chunks
of the input batch; :mod:`neurosim.sim.fastrun` lays a plan out in one global
index space and passes everything as arrays (CSR of the forward and delayed
edges, per-neuron parameters, per-population kind codes, index ranges and
flags). These are top-level ``@njit(cache=True)`` functions with no closure
and no network constant baked in, so one compilation per type signature
(float32 / float64 / int64 state) serves every network in every later
process from numba's on-disk cache. Import only through
:mod:`neurosim.sim.fastrun` (this module imports numba).

Kind codes: 0 input, 1 relu, 2 linear, 3 if, 4 lif.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from neurosim.sim._jit_propagate import saturate

__all__ = ["run_fixed", "run_fixed_serial", "run_float", "run_float_serial"]

#: position of ``n_chunks`` among the arguments of :func:`run_float` and :func:`run_fixed`
_FLOAT_N_CHUNKS = 23
_FIXED_N_CHUNKS = 30


@nb.njit(inline="always")
def _read_input(X, tx, b, off, lo, hi, y, active):
    # an input population's outputs at step tx; returns how many are nonzero
    n_act = 0
    xs, ys = X[tx, b, off + lo : off + hi], y[lo:hi]
    for j in range(ys.shape[0]):
        yj = xs[j]
        ys[j] = yj
        if yj != 0:
            active[n_act] = lo + j
            n_act += 1
    return n_act


@nb.njit(inline="always")
def _chunk_buffers(n, like):
    # one chunk's summed inputs, potentials, outputs (dtype of like) and active list
    cur = np.zeros(n, dtype=like.dtype)
    v = np.empty(n, dtype=like.dtype)
    y = np.zeros(n, dtype=like.dtype)
    active = np.empty(n, dtype=np.int64)
    return cur, v, y, active


@nb.njit(inline="always")
def _pop_head(t, b, p, X, per_step, pop_lo, pop_hi, pop_kind, pop_in, y, active):
    # population p's index range and kind, and for an input population its outputs at
    # step t (n_act: how many are nonzero; 0 for the other kinds, computed by the caller)
    lo = pop_lo[p]
    hi = pop_hi[p]
    kind = pop_kind[p]
    n_act = 0
    if kind == 0:
        n_act = _read_input(X, t if per_step else 0, b, pop_in[p] - lo, lo, hi, y, active)
    return lo, hi, kind, n_act


@nb.njit(inline="always")
def _count_events(counts, nz_step, keep_step, raster, n_record, c, b, t, active, n_act):
    # the neurons active[:n_act] emitted an event at step t of input b (chunk c). Called
    # once per population and step, not per event: an inlined call that takes arrays costs
    # a reference-count increment and decrement per array (atomic, ~2 ms per 5e5 spikes)
    cb = counts[b]
    for a in range(n_act):
        j = np.uint64(active[a])
        cb[j] += 1
        if keep_step:
            nz_step[c, t, j] += 1
        if b < n_record:
            raster[t, b, j] = True


@nb.njit(inline="always", fastmath=False)
def _if_v(vj, cj, b, r):
    # IF membrane update, the engine's operations in its order
    return vj + r * (cj + b)


@nb.njit(inline="always", fastmath=False)
def _lif_v(vj, cj, b, r, vl, a):
    # LIF membrane update (forward Euler), the engine's operations in its order
    t2 = r * (cj + b)
    t4 = (vl - vj) + t2
    return vj + a * t4


@nb.njit(inline="always", fastmath=False)
def _graded_float(kind, lo, hi, cur, bias, cap, y, active):
    # relu (1) / linear (2) outputs from the summed input; cur is consumed. The loops run
    # over zero-based slices: an index numba cannot prove non-negative (range(lo, hi))
    # costs a wraparound check per access and keeps LLVM from vectorising the loop
    zero = bias.dtype.type(0)
    lo_clip = zero if kind == 1 else -np.inf
    cs, bs, caps, ys = cur[lo:hi], bias[lo:hi], cap[lo:hi], y[lo:hi]
    n_act = 0
    for j in range(cs.shape[0]):
        z = cs[j] + bs[j]
        z = max(z, lo_clip)
        z = min(z, caps[j])
        ys[j] = z
        cs[j] = zero
        if z != 0:
            active[n_act] = lo + j
            n_act += 1
    return n_act


@nb.njit(inline="always", fastmath=False)
def _membrane_float(kind, uniform, lo, hi, v, cur, bias, r, alpha, vleak):
    # state update (no branches inside the loops, zero-based slices: vectorised); cur is consumed
    zero = bias.dtype.type(0)
    vs, cs = v[lo:hi], cur[lo:hi]
    if uniform:
        # one value of every parameter: scalars, fewer memory streams
        b_ = bias[lo]
        r_ = r[lo]
        if kind == 3:
            for j in range(vs.shape[0]):
                vs[j] = _if_v(vs[j], cs[j], b_, r_)
                cs[j] = zero
        else:
            vl_ = vleak[lo]
            a_ = alpha[lo]
            for j in range(vs.shape[0]):
                vs[j] = _lif_v(vs[j], cs[j], b_, r_, vl_, a_)
                cs[j] = zero
        return
    bs, rs = bias[lo:hi], r[lo:hi]
    if kind == 3:
        for j in range(vs.shape[0]):
            vs[j] = _if_v(vs[j], cs[j], bs[j], rs[j])
            cs[j] = zero
    else:
        vls, als = vleak[lo:hi], alpha[lo:hi]
        for j in range(vs.shape[0]):
            vs[j] = _lif_v(vs[j], cs[j], bs[j], rs[j], vls[j], als[j])
            cs[j] = zero


@nb.njit(inline="always", fastmath=False)
def _fire_float(uniform, sub, lo, hi, v, vth, vreset, active):
    # threshold scan (zero-based slices), then reset (by subtraction or to v_reset);
    # returns the spike count
    n_act = 0
    vs, ths = v[lo:hi], vth[lo:hi]
    if uniform:
        th_ = vth[lo]
        for j in range(vs.shape[0]):
            if vs[j] >= th_:
                active[n_act] = lo + j
                n_act += 1
    else:
        for j in range(vs.shape[0]):
            if vs[j] >= ths[j]:
                active[n_act] = lo + j
                n_act += 1
    if sub:
        for a in range(n_act):
            j = np.uint64(active[a])
            v[j] = v[j] - vth[j]
    else:
        for a in range(n_act):
            j = np.uint64(active[a])
            v[j] = vreset[j]
    return n_act


@nb.njit(cache=True, fastmath=False)
def _float_chunk(
    c, n_steps, X, per_step, pop_lo, pop_hi, pop_kind, pop_sub, pop_in, pop_uniform,
    fi, fx, fd, di, dx, dd, bias, cap, r, alpha, vleak, vth, vreset, v0,
    n_chunks, counts, final, nz_step, keep_step, raster, n_record,
):  # fmt: skip
    """Chunk ``c`` of the batch of a float plan (the arguments of :func:`run_float`)."""
    n_b = X.shape[1]
    n = bias.shape[0]
    n_pops = pop_lo.shape[0]
    zero = bias.dtype.type(0)
    one = bias.dtype.type(1)
    cur, v, y, active = _chunk_buffers(n, bias)
    nxt = np.zeros(n, dtype=bias.dtype)
    has_delayed = dx.shape[0] > 0
    for b in range((n_b * c) // n_chunks, (n_b * (c + 1)) // n_chunks):
        for j in range(n):
            v[j] = v0[j]
            cur[j] = zero
            nxt[j] = zero
        for t in range(n_steps):
            for p in range(n_pops):
                lo, hi, kind, n_act = _pop_head(
                    t, b, p, X, per_step, pop_lo, pop_hi, pop_kind, pop_in, y, active
                )
                if kind == 1 or kind == 2:
                    n_act = _graded_float(kind, lo, hi, cur, bias, cap, y, active)
                elif kind >= 3:
                    _membrane_float(kind, pop_uniform[p], lo, hi, v, cur, bias, r, alpha, vleak)
                    n_act = _fire_float(
                        pop_uniform[p], pop_sub[p], lo, hi, v, vth, vreset, active
                    )
                    # spikes are 1; y is kept for the final step only
                    if t == n_steps - 1:
                        for j in range(lo, hi):
                            y[j] = zero
                        for a in range(n_act):
                            y[active[a]] = one
                _count_events(counts, nz_step, keep_step, raster, n_record, c, b, t, active, n_act)
                # the hottest loop of a spiking run, written out here (a helper taking the
                # arrays would cost reference counting per event). Unsigned indices: numba
                # cannot prove a signed index read from an array non-negative and adds a
                # wraparound check to every load it indexes
                for a in range(n_act):
                    j = np.uint64(active[a])
                    j1 = j + np.uint64(1)
                    yj = one if kind >= 3 else y[j]
                    for k in range(np.uint64(fi[j]), np.uint64(fi[j1])):
                        cur[fx[k]] += yj * fd[k]
                    if has_delayed:
                        for k in range(np.uint64(di[j]), np.uint64(di[j1])):
                            nxt[dx[k]] += yj * dd[k]
            # every population consumed its input: cur is all zero; the delayed
            # contributions become next step's input
            tmp = cur
            cur = nxt
            nxt = tmp
        for j in range(n):
            final[b, j] = y[j]


@nb.njit(parallel=True, cache=True, fastmath=False)
def run_float(*args):
    """Run a float plan, chunks of the batch in parallel (see
    :func:`neurosim.sim.fastrun.run_plan_compiled`; arguments: :func:`_float_chunk`'s but ``c``)."""
    for c in nb.prange(args[_FLOAT_N_CHUNKS]):
        # int64: the parfor's index is typed int64 and then uint64, two compilations
        _float_chunk(np.int64(c), *args)


@nb.njit(cache=True, fastmath=False)
def run_float_serial(*args):
    """:func:`run_float` with one chunk, on the calling thread: no thread pool to wake,
    whose spinning and wake-up cost milliseconds per call on a busy machine."""
    _float_chunk(0, *args)


@nb.njit(inline="always")
def _convert_slots(p, lo, hi, pop_q_lo, pop_q_hi, q_slot, q_shift, acc, slot_mult, cur):
    # cur[j] = sum over the population's projections of round(acc * m / 2**shift); clears
    # acc (zero-based slices, as in the float kernel)
    cs = cur[lo:hi]
    cs[:] = 0
    for q in range(pop_q_lo[p], pop_q_hi[p]):
        s0 = q_slot[q]
        accs, ms = acc[s0 : s0 + hi - lo], slot_mult[s0 : s0 + hi - lo]
        sh = q_shift[q]
        for j in range(cs.shape[0]):
            x = accs[j] * ms[j]
            accs[j] = 0
            if sh > 0:
                x = (x + (np.int64(1) << (sh - 1))) >> sh
            cs[j] += x


@nb.njit(inline="always")
def _graded_fixed(kind, lo, hi, vlo, vhi, cur, bias, cap, y, active, n_sat):
    # relu / linear in fixed point, saturating at [vlo, vhi]; returns (n_act, n_sat)
    n_act = 0
    cs, bs, caps, ys = cur[lo:hi], bias[lo:hi], cap[lo:hi], y[lo:hi]
    for j in range(cs.shape[0]):
        z = cs[j] + bs[j]
        if kind == 1:
            z = max(z, np.int64(0))
            z = min(z, caps[j])
        z, n_sat = saturate(z, vlo, vhi, n_sat)
        ys[j] = z
        if z != 0:
            active[n_act] = lo + j
            n_act += 1
    return n_act, n_sat


@nb.njit(inline="always")
def _spiking_fixed(
    kind, sub, lo, hi, s_lo, s_hi, cur, bias, v, vleak, vth, vreset, alpha_q, alpha_shift,
    y, active, n_sat,
):  # fmt: skip
    # IF / LIF in fixed point, state saturating at [s_lo, s_hi]; returns (n_act, n_sat)
    n_act = 0
    cs, bs, vs, ys, ths = cur[lo:hi], bias[lo:hi], v[lo:hi], y[lo:hi], vth[lo:hi]
    vls, aqs, vrs = vleak[lo:hi], alpha_q[lo:hi], vreset[lo:hi]
    for j in range(cs.shape[0]):
        jj = cs[j] + bs[j]
        if kind == 3:
            vv = vs[j] + jj
        else:
            d = aqs[j] * (vls[j] - vs[j] + jj)
            if alpha_shift > 0:
                d = (d + (np.int64(1) << (alpha_shift - 1))) >> alpha_shift
            vv = vs[j] + d
        vv, n_sat = saturate(vv, s_lo, s_hi, n_sat)
        if vv >= ths[j]:
            vv = vv - ths[j] if sub else vrs[j]
            ys[j] = 1
            active[n_act] = lo + j
            n_act += 1
        else:
            ys[j] = 0
        vs[j] = vv
    return n_act, n_sat


@nb.njit(cache=True)
def _fixed_chunk(
    c, n_steps, X, per_step, pop_lo, pop_hi, pop_kind, pop_sub, pop_in, pop_vlo, pop_vhi,
    pop_q_lo, pop_q_hi, q_slot, q_shift, fi, fx, fd, slot_mult, acc_lo, acc_hi, s_lo, s_hi,
    bias, cap, vleak, vth, vreset, alpha_q, alpha_shift, v0,
    n_chunks, counts, final, nz_step, keep_step, raster, n_record, sat, n_slots,
):  # fmt: skip
    """Chunk ``c`` of the batch of a fixed-point plan (the arguments of :func:`run_fixed`)."""
    n_b = X.shape[1]
    n = bias.shape[0]
    n_pops = pop_lo.shape[0]
    acc = np.zeros(n_slots, dtype=np.int64)
    cur, v, y, active = _chunk_buffers(n, bias)
    n_sat = 0
    for b in range((n_b * c) // n_chunks, (n_b * (c + 1)) // n_chunks):
        for j in range(n):
            v[j] = v0[j]
        for k in range(n_slots):
            acc[k] = 0
        for t in range(n_steps):
            for p in range(n_pops):
                lo, hi, kind, n_act = _pop_head(
                    t, b, p, X, per_step, pop_lo, pop_hi, pop_kind, pop_in, y, active
                )
                if kind != 0:
                    _convert_slots(
                        p, lo, hi, pop_q_lo, pop_q_hi, q_slot, q_shift, acc, slot_mult, cur
                    )
                    if kind == 1 or kind == 2:
                        n_act, n_sat = _graded_fixed(
                            kind, lo, hi, pop_vlo[p], pop_vhi[p], cur, bias, cap, y, active,
                            n_sat,
                        )  # fmt: skip
                    else:
                        n_act, n_sat = _spiking_fixed(
                            kind, pop_sub[p], lo, hi, s_lo, s_hi, cur, bias, v, vleak, vth,
                            vreset, alpha_q, alpha_shift, y, active, n_sat,
                        )  # fmt: skip
                _count_events(counts, nz_step, keep_step, raster, n_record, c, b, t, active, n_act)
                # written out, with unsigned indices, as in _float_chunk (scatter_sat_row's
                # arithmetic; saturate takes scalars only, so inlining it costs nothing)
                for a_ in range(n_act):
                    j = np.uint64(active[a_])
                    yj = y[j]
                    for k in range(np.uint64(fi[j]), np.uint64(fi[j + np.uint64(1)])):
                        slot = fx[k]
                        acc[slot], n_sat = saturate(acc[slot] + yj * fd[k], acc_lo, acc_hi, n_sat)
        for j in range(n):
            final[b, j] = y[j]
    sat[c] = n_sat


@nb.njit(parallel=True, cache=True)
def run_fixed(*args):
    """Run a fixed-point plan, chunks of the batch in parallel (see
    :func:`neurosim.sim.fastrun.run_plan_compiled`; arguments: :func:`_fixed_chunk`'s but ``c``)."""
    for c in nb.prange(args[_FIXED_N_CHUNKS]):
        _fixed_chunk(np.int64(c), *args)


@nb.njit(cache=True)
def run_fixed_serial(*args):
    """:func:`run_fixed` with one chunk, on the calling thread (see :func:`run_float_serial`)."""
    _fixed_chunk(0, *args)
