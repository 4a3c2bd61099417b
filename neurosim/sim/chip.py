"""The ``chip`` backend: the mapped network as the chip executes it, with event counts.

It runs ``mapped.hw_network`` (source populations plus the mapper's
partial-sum and relay populations) with the quantized weights of
``mapped.quantized``, one time step per tick, on the engine schedule of
:mod:`neurosim.sim.engine`.

* Integer weight kinds (``int``, ``ternary``, ``binary``, ``axon_type``):
  bit-accurate fixed point (:func:`neurosim.sim.compile.fixed_plan`):
  integer accumulation in ``weights.accumulator_bits`` and state in
  ``weights.state_bits``, both saturating and counted.
* ``weights.kind: float``: "float mode", float32 (``bits <= 32``) or float64
  arithmetic on the float-rounded weights. With float64 and no split it
  equals the reference backend exactly.

Events per core (:mod:`neurosim.sim.events`) come from the placement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import SimulationError
from neurosim.mapping.roles import Role
from neurosim.neurons import SPIKING_KINDS
from neurosim.sim._common import assemble_outputs, progress_bar, run_float_plan
from neurosim.sim._memo import memo
from neurosim.sim.backends import SimRequest
from neurosim.sim.compile import choose_frac_bits, fixed_plan, float_plan
from neurosim.sim.engine import run_plan
from neurosim.sim.events import mapped_event_model
from neurosim.sim.levels import integer_weights
from neurosim.sim.result import SimResult

__all__ = ["integer_weights", "run_chip"]


class _IntQ:
    """A quantized projection with axon types expanded (weights, scale)."""

    def __init__(self, q: Any) -> None:
        self.weights = integer_weights(q)
        self.scale = np.asarray(q.scale, dtype=np.float64)


def _use_compiled_fixed(plan: Any, inp: Any, req: SimRequest) -> bool:
    """Multi-step, spiking or recurrent fixed-point runs go to the compiled kernel."""
    from neurosim.sim.fastrun import COMPILED_KINDS

    if req.options.get("engine", False) or any(p.kind not in COMPILED_KINDS for p in plan.pops):
        return False
    spiking = any(p.kind in SPIKING_KINDS for p in plan.pops)
    delayed = any(pr.delayed for p in plan.pops for pr in p.incoming)
    n_total = sum(p.size for p in plan.pops)
    fits = inp.n_inputs * n_total * 8 * 3 < 2**31
    return fits and (inp.n_steps > 1 or spiking or delayed)


def _fingerprint(mapped: Any) -> tuple[int, ...]:
    """Identity of the mapping's parts a plan is built from (the ``quantized`` dict may be edited)."""
    return (id(mapped.hw_network), *(id(q) for q in mapped.quantized.values()))


def _n_synapses(mapped: Any) -> int:
    """Stored synapses of the mapping (decides whether its plan is cached)."""
    return sum(int(q.weights.nnz) for q in mapped.quantized.values())


@dataclass
class _Setup:
    """A compiled plan and how to feed it: initial potentials, input conversion, run info."""

    plan: Any
    v0: dict[str, np.ndarray]
    convert: Callable[[np.ndarray], np.ndarray]
    info: dict[str, Any]
    input_saturations: list[int] = field(default_factory=lambda: [0])


def _float_setup(mapped: Any, req: SimRequest) -> _Setup:
    """Float mode: the float-rounded weights in float32 (``bits <= 32``) or float64."""
    hw = mapped.hw_network
    dtype = np.float32 if int(mapped.profile.get("weights.bits")) <= 32 else np.float64

    def build() -> Any:
        weights = {}
        for pr in hw.projections:
            q = mapped.quantized[pr.name]
            weights[pr.name] = (
                q.effective()
                if q.axon_types is None
                else sp.csr_matrix(integer_weights(q).multiply(np.asarray(q.scale)[np.newaxis, :]))
            )
        return float_plan(hw, weights, dtype=dtype, dt_s=req.dt_s)

    key = ("float_plan", np.dtype(dtype).name, req.dt_s, _fingerprint(mapped))
    plan = memo(mapped, key, build, size=_n_synapses(mapped))
    v0 = {
        p.name: req.v0_for(p.name, p.size).astype(dtype)
        for p in hw.populations
        if p.model.kind in SPIKING_KINDS and p.name in req.v0  # the others start at 0
    }

    def convert(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=dtype)

    return _Setup(plan, v0, convert, {"mode": "float", "dtype": np.dtype(dtype).name})


def _fraction_bits(mapped: Any, req: SimRequest, quant: dict[str, Any]) -> dict[str, int]:
    """Fixed-point fraction bits per population (0 for integer inputs that fit the state)."""
    hw, prof, inp = mapped.hw_network, mapped.profile, req.inputs
    state_bits = int(prof.get("weights.state_bits"))
    in_bound = inp.max_abs if inp.max_abs > 0 else 1.0
    given = req.options.get("frac_bits")
    frac = choose_frac_bits(
        hw,
        state_bits,
        input_bound=in_bound,
        given=given,
        accumulator_bits=int(prof.get("weights.accumulator_bits")),
        quantized=quant,
        partial_sums=mapped.with_role(Role.PARTIAL_SUM),
    )
    if inp.is_integer:  # spike trains or integer inputs: no fraction needed
        for name in hw.inputs:
            if not (isinstance(given, dict) and name in given) and in_bound < 2 ** (state_bits - 1):
                frac[name] = 0
    return frac


def _fixed_setup(mapped: Any, req: SimRequest) -> _Setup:
    """Integer weight kinds: bit-accurate fixed point, saturating accumulator and state."""
    hw, prof = mapped.hw_network, mapped.profile
    acc_bits = int(prof.get("weights.accumulator_bits"))
    state_bits = int(prof.get("weights.state_bits"))
    fp, size = _fingerprint(mapped), _n_synapses(mapped)
    quant = memo(
        mapped,
        ("int_weights", fp),
        lambda: {pr.name: _IntQ(mapped.quantized[pr.name]) for pr in hw.projections},
        size=size,
    )
    frac = _fraction_bits(mapped, req, quant)

    def build() -> Any:
        return fixed_plan(
            hw,
            quant,
            accumulator_bits=acc_bits,
            state_bits=state_bits,
            dt_s=req.dt_s,
            frac_bits=frac,
            partial_sums=mapped.with_role(Role.PARTIAL_SUM),
        )

    key = ("fixed_plan", req.dt_s, acc_bits, state_bits, tuple(sorted(frac.items())), fp)
    plan = memo(mapped, key, build, size=size)
    lo, hi = plan.state_range
    v0 = {
        p.name: np.clip(np.round(req.v0_for(p.name, p.size) * 2.0 ** frac[p.name]), lo, hi).astype(
            np.int64
        )
        for p in hw.populations
        if p.model.kind in SPIKING_KINDS and p.name in req.v0  # the others start at 0
    }
    input_sat = [0]

    def convert(x: np.ndarray) -> np.ndarray:
        f = frac[hw.inputs[0]] if len(set(frac[n] for n in hw.inputs)) == 1 else None
        if f is None:
            raise SimulationError(
                "chip backend: input populations must share one fixed-point fraction"
            )
        a = np.round(x * 2.0**f)
        input_sat[0] += int(np.count_nonzero((a > hi) | (a < lo)))
        return np.ascontiguousarray(np.clip(a, lo, hi), dtype=np.int64)

    info = {
        "mode": "fixed",
        "frac_bits": frac,
        "accumulator_bits": acc_bits,
        "state_bits": state_bits,
    }
    return _Setup(plan, v0, convert, info, input_sat)


def _run_compiled_fixed(setup: _Setup, req: SimRequest, tick: Any) -> Any:
    """The compiled fixed-point kernel (multi-step, spiking or recurrent runs)."""
    from neurosim.sim.fastrun import run_plan_compiled

    inp = req.inputs
    cols, col = {}, 0
    for name, size in inp.sizes:
        cols[name] = col
        col += size
    out = run_plan_compiled(
        setup.plan,
        setup.convert(inp.values),
        inp.per_step,
        inp.n_steps,
        cols,
        v0=setup.v0,
        per_step=req.per_step,
        record=req.record,
    )
    kept = req.kept()
    if kept is not None:
        out.counts = {k: c for k, c in out.counts.items() if k in set(kept)}
    if tick is not None:
        tick(inp.n_steps - 1)
    return out


def _execute(setup: _Setup, req: SimRequest) -> Any:
    """Run the plan over every step (float kernels, compiled fixed point, or the engine)."""
    plan, inp = setup.plan, req.inputs
    with progress_bar(req.progress, inp.n_steps, "chip") as tick:
        if not plan.fixed:
            return run_float_plan(
                plan,
                inp,
                v0=setup.v0,
                per_step=req.per_step,
                record=req.record,
                progress=tick,
                convert=setup.convert,
                force_engine=bool(req.options.get("engine", False)),
                keep=req.kept(),
                final_of=tuple(req.network.outputs),
            )
        if _use_compiled_fixed(plan, inp, req):
            return _run_compiled_fixed(setup, req, tick)
        return run_plan(
            plan,
            lambda t: inp.split(t, setup.convert),
            inp.n_inputs,
            inp.n_steps,
            v0=setup.v0,
            per_step=req.per_step,
            record=req.record,
            progress=tick,
            keep=req.kept(),
            final_of=tuple(req.network.outputs),
        )


def run_chip(req: SimRequest) -> SimResult:
    """Run the mapped network bit-accurately (see the module docstring)."""
    start = time.perf_counter()
    mapped = req.mapped
    if mapped is None:
        raise SimulationError(
            "backend 'chip' needs a MappedNetwork (map the network first); got a plain Network"
        )
    float_mode = mapped.profile.get("weights.kind") == "float"
    setup = _float_setup(mapped, req) if float_mode else _fixed_setup(mapped, req)
    out = _execute(setup, req)
    return _result(mapped, req, setup, out, time.perf_counter() - start)


def _result(mapped: Any, req: SimRequest, setup: _Setup, out: Any, wall_s: float) -> SimResult:
    """Outputs (fixed point scaled back), events per core from the placement, the SimResult."""
    inp, info = req.inputs, setup.info
    final = out.final
    saturations = out.saturations
    if setup.plan.fixed:
        final = {
            name: y.astype(np.float64) / 2.0 ** info["frac_bits"][name] for name, y in final.items()
        }
        saturations += setup.input_saturations[0]
    model = mapped_event_model(mapped)
    events, host = model.count(out.totals, inp.n_inputs * inp.n_steps)
    events_per_step = None
    if out.nz_per_step is not None:
        events_per_step, _ = model.count(out.nz_per_step, inp.n_inputs)
    info["host_packets"] = host
    info.update(out.info)
    src = [p.name for p in mapped.network.populations]
    return SimResult(
        backend="chip",
        outputs=assemble_outputs(mapped.network, final, out.counts),
        spike_counts={n: out.counts[n] for n in src if n in out.counts},
        events=events,
        events_per_step=events_per_step,
        n_inputs=inp.n_inputs,
        n_steps=inp.n_steps,
        dt_s=req.dt_s,
        raster={n: out.raster[n] for n in src} if out.raster else None,
        saturations=saturations,
        overflows=0,
        wall_time_s=wall_s,
        info=info,
    )
