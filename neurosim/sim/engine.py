"""The time-stepped engine shared by the ``reference`` and ``chip`` backends.

A :class:`Plan` is a network compiled for one number format: populations in
topological order, each with its incoming projections (CSR arrays in the run
dtype) and its neuron parameters converted to that format. :func:`run_plan`
steps it over a batch of inputs.

Schedule of one time step ``t`` (the same on every backend, Brian2 included):

1. input populations take their values (or spikes) for step ``t``;
2. every other population, in topological order, sums its synaptic input
   ``current``: first the projections that close a cycle (recurrent or backward;
   they carry the *previous* step's outputs of their source), then the
   forward projections (carrying step ``t``'s outputs of their source, which
   is already computed), each adding its contributions in increasing
   pre-neuron order; then it applies its step function (relu, linear, if,
   lif, cuba_lif, threshold) and emits its output for step ``t``.

So a feed-forward network of any depth responds within the step (as the
Graph Challenge's inference does), and partial-sum and relay populations, which
the mapper inserts in front of / behind a neuron, cost no extra step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim import neurons as nm
from neurosim.conv import conv_forward
from neurosim.sim.kernels import (
    accumulation_fits,
    csc_arrays,
    propagate,
    propagate_saturating,
    pull_layer,
    pull_layer_fixed,
)

__all__ = ["EngineOutput", "Plan", "PopPlan", "ProjPlan", "run_plan"]


@dataclass(frozen=True, eq=False)
class ProjPlan:
    """One incoming projection in the run's number format.

    ``indptr, indices, data``: CSR of the weights (float data in float mode,
    integer ``w_int`` in fixed mode). ``mult``/``shift`` (fixed mode): the
    accumulator of post neuron ``j`` is converted to the post population's
    fixed point as ``round(acc * mult[j] / 2**shift)``. ``spec`` (float mode): a
    :class:`~neurosim.conv.ConvSpec` or :class:`~neurosim.conv.PoolSpec` applied by
    im2col (:func:`~neurosim.conv.conv_forward`) instead of the CSR arrays.
    """

    name: str
    pre: str
    delayed: bool
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    mult: np.ndarray | None = None
    shift: int = 0
    spec: Any = None

    def csc(self, n_post: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weights as CSC arrays for the graded pull kernels (``n_post`` columns),
        computed on first use and kept with the plan (the chip backend keeps a plan per
        mapped network)."""
        got = self.__dict__.get("_csc")
        if got is None or len(got[0]) != n_post + 1:
            got = csc_arrays((self.indptr, self.indices, self.data), n_cols=n_post)
            self.__dict__["_csc"] = got
        return got


@dataclass(frozen=True, eq=False)
class PopPlan:
    """One population: kind, size, incoming projections and parameters in the run format."""

    name: str
    kind: str
    size: int
    incoming: tuple[ProjPlan, ...]
    params: Mapping[str, Any]
    reset: str = "zero"
    frac_bits: int = 0
    value_range: tuple[int, int] | None = None


@dataclass(frozen=True, eq=False)
class Plan:
    """A network compiled for one number format.

    Attributes
    ----------
    pops : tuple of PopPlan
        Every population in topological order (inputs included, kind ``input``).
    inputs : tuple of str
    fixed : bool
        Integer (fixed-point) arithmetic when True, else float of ``dtype``.
    dtype : numpy dtype
        Float dtype (float mode) or int64 (fixed mode).
    acc_range, state_range : (lo, hi)
        Saturation bounds (fixed mode).
    """

    pops: tuple[PopPlan, ...]
    inputs: tuple[str, ...]
    fixed: bool
    dtype: Any
    acc_range: tuple[int, int] = (0, 0)
    state_range: tuple[int, int] = (0, 0)

    def pop(self, name: str) -> PopPlan:
        for p in self.pops:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass
class EngineOutput:
    """What :func:`run_plan` returns (mutable while running, then read)."""

    final: dict[str, np.ndarray]  # last step's outputs, run format
    counts: dict[str, np.ndarray]  # (n_inputs, n) nonzero outputs per neuron (kept populations)
    nz_per_step: dict[str, np.ndarray] | None  # (n_steps, n) summed over inputs
    raster: dict[str, np.ndarray] | None
    saturations: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, np.ndarray] = field(default_factory=dict)  # (n,) summed over inputs

    def __post_init__(self) -> None:
        for name, c in self.counts.items():
            self.totals.setdefault(name, c.sum(axis=0))


def _accumulate(
    plan: Plan,
    pop: PopPlan,
    outs: Mapping[str, np.ndarray],
    prev: Mapping[str, np.ndarray],
    n_inputs: int,
) -> tuple[np.ndarray, int]:
    """Synaptic input of ``pop`` for this step, in the run format; and saturations."""
    current = np.zeros((n_inputs, pop.size), dtype=plan.dtype)
    n_sat = 0
    ordered = [p for p in pop.incoming if p.delayed] + [p for p in pop.incoming if not p.delayed]
    for proj in ordered:
        y = prev[proj.pre] if proj.delayed else outs[proj.pre]
        if not plan.fixed:
            if proj.spec is not None:
                current += conv_forward(proj.spec, y)
            else:
                propagate(y, (proj.indptr, proj.indices, proj.data), out=current)
            continue
        lo, hi = plan.acc_range
        acc, sat = propagate_saturating(
            y, (proj.indptr, proj.indices, proj.data), lo, hi, n_post=pop.size
        )
        n_sat += int(sat.sum())
        current += nm.round_shift(acc * proj.mult, proj.shift)
    return current, n_sat


def _syn_key(name: str) -> tuple[str, str]:
    """State key of a ``cuba_lif`` population's synaptic current (beside its ``v``)."""
    return (name, "i_syn")


def _step_pop(
    plan: Plan, pop: PopPlan, current: np.ndarray, state: dict[Any, np.ndarray]
) -> tuple[np.ndarray, int]:
    """Apply ``pop``'s step function; returns its output and saturations (fixed mode)."""
    p = pop.params
    if not plan.fixed:
        if pop.kind == "relu":
            return nm.relu_step(current, p["bias"], p["cap"]), 0
        if pop.kind == "linear":
            return nm.linear_step(current, p["bias"]), 0
        if pop.kind == "threshold":
            return nm.threshold_step(current, p["bias"], p["threshold"]).astype(plan.dtype), 0
        fire = (p["threshold"], p["v_reset"], pop.reset)
        if pop.kind == "cuba_lif":
            syn = _syn_key(pop.name)
            v, state[syn], s = nm.cuba_lif_step(
                state[pop.name],
                state[syn],
                current,
                p["bias"],
                p["w_in"],
                p["alpha_syn"],
                p["r"],
                p["alpha"],
                p["v_leak"],
                *fire,
            )
        elif pop.kind == "if":
            v, s = nm.if_step(state[pop.name], current, p["bias"], p["r"], *fire)
        else:
            v, s = nm.lif_step(
                state[pop.name], current, p["bias"], p["r"], p["alpha"], p["v_leak"], *fire
            )
        state[pop.name] = v
        return s.astype(plan.dtype), 0
    lo, hi = pop.value_range or plan.state_range
    J = current + p["bias"]
    if pop.kind in ("relu", "linear"):
        y = nm.relu_step(J, 0, p["cap"]) if pop.kind == "relu" else J
        return nm.saturate(y, lo, hi, out=y)
    if pop.kind == "threshold":
        s, n_sat = nm.threshold_step_fixed(J, p["threshold"], lo, hi)
        return s.astype(np.int64), n_sat
    # the arguments every spiking step ends with
    fire = nm.FixedFire(p["threshold"], p["v_reset"], pop.reset, lo, hi)
    if pop.kind == "if":
        v, s, n_sat = nm.if_step_fixed(state[pop.name], J, fire)
    else:
        decay = nm.FixedDecay(p["alpha_q"], p["alpha_shift"], p["v_leak"])
        if pop.kind == "cuba_lif":
            syn = _syn_key(pop.name)
            v, state[syn], s, n_sat = nm.cuba_lif_step_fixed(
                state[pop.name], state[syn], J, p["alpha_syn_q"], decay, fire
            )
        else:
            v, s, n_sat = nm.lif_step_fixed(state[pop.name], J, decay, fire)
    state[pop.name] = v
    return s.astype(np.int64), n_sat


def run_plan(
    plan: Plan,
    input_at: Callable[[int], Mapping[str, np.ndarray]],
    n_inputs: int,
    n_steps: int,
    *,
    v0: Mapping[str, np.ndarray] | None = None,
    per_step: bool = False,
    record: int = 0,
    progress: Callable[[int], None] | None = None,
    keep: Collection[str] | None = None,
    final_of: Collection[str] | None = None,
) -> EngineOutput:
    """Run ``plan`` for ``n_steps`` on a batch of ``n_inputs``.

    Parameters
    ----------
    plan : Plan
    input_at : callable ``t -> {input population: (n_inputs, n) array}``
        Input values of step ``t`` already in the run format.
    v0 : mapping, optional
        Initial membrane potential per spiking population, run format,
        broadcastable to ``(n_inputs, n)``; default zero.
    per_step : bool
        Keep nonzero-output counts per step (for per-step event counts).
    record : int
        Record a raster (bool, ``(n_steps, record, n)``) of the first ``record`` inputs.
    progress : callable, optional
        Called with the step index after each step.
    keep : collection of str, optional
        Populations whose per-input counts are kept (default all); totals
        over inputs are kept for every population.
    final_of : collection of str, optional
        Populations whose last outputs are returned (default all); the others'
        activations are dropped as soon as their consumers have run, so a long
        feed-forward chain holds only a few layers at a time.
    """
    state = _initial_state(plan, n_inputs, v0)
    delayed_src, prev, last_use = _schedule(plan, n_inputs)
    keep = {p.name for p in plan.pops} if keep is None else set(keep)
    final_of = {p.name for p in plan.pops} if final_of is None else set(final_of)
    rec = _Recorders.empty(plan, n_inputs, n_steps, keep, per_step, record)
    n_sat = 0
    outs: dict[str, np.ndarray] = {}
    final: dict[str, np.ndarray] = {}
    for t in range(n_steps):
        outs = {}
        given = input_at(t)
        for idx, pop in enumerate(plan.pops):
            y, nz_total, sat = _pop_output(plan, pop, given, outs, prev, state, n_inputs)
            n_sat += sat
            outs[pop.name] = y
            rec.add(pop.name, t, y, nz_total, record)
            if t == n_steps - 1 and pop.name in final_of:
                final[pop.name] = y
            # drop activations no later population of this step needs
            for pre in {pr.pre for pr in pop.incoming}:
                if last_use.get(pre) == idx and pre not in delayed_src:
                    outs.pop(pre, None)
        for name in delayed_src:
            prev[name] = outs[name]
        if progress is not None:
            progress(t)
    return EngineOutput(
        final=final,
        counts=rec.counts,
        nz_per_step=rec.nz_step,
        raster=rec.raster,
        saturations=n_sat,
        totals=rec.totals,
    )


def _schedule(plan: Plan, n_inputs: int) -> tuple[set[str], dict[str, np.ndarray], dict[str, int]]:
    """Sources of delayed projections, their previous outputs (0 at the start), and the
    index of the last population reading each source."""
    delayed_src = {pr.pre for pop in plan.pops for pr in pop.incoming if pr.delayed}
    prev = {
        name: np.zeros((n_inputs, plan.pop(name).size), dtype=plan.dtype) for name in delayed_src
    }
    last_use: dict[str, int] = {}
    for idx, pop in enumerate(plan.pops):
        for pr in pop.incoming:
            last_use[pr.pre] = idx
    return delayed_src, prev, last_use


def _initial_state(
    plan: Plan, n_inputs: int, v0: Mapping[str, np.ndarray] | None
) -> dict[Any, np.ndarray]:
    """Membrane potentials (``v0`` or 0) and ``cuba_lif`` synaptic currents (0), run format."""
    state: dict[Any, np.ndarray] = {}
    for pop in plan.pops:
        if pop.kind in nm.SPIKING_KINDS:
            init = np.zeros((n_inputs, pop.size), dtype=plan.dtype)
            if v0 is not None and pop.name in v0:
                init[...] = v0[pop.name]
            state[pop.name] = init
            if pop.kind == "cuba_lif":  # the synaptic current starts at zero
                state[_syn_key(pop.name)] = np.zeros((n_inputs, pop.size), dtype=plan.dtype)
    return state


@dataclass
class _Recorders:
    """Nonzero-output counts per input (kept populations), totals, per-step counts, raster."""

    counts: dict[str, np.ndarray]
    totals: dict[str, np.ndarray]
    nz_step: dict[str, np.ndarray] | None
    raster: dict[str, np.ndarray] | None

    @classmethod
    def empty(
        cls, plan: Plan, n_inputs: int, n_steps: int, keep: set[str], per_step: bool, record: int
    ) -> _Recorders:
        return cls(
            counts={
                pop.name: np.zeros((n_inputs, pop.size), dtype=np.int64)
                for pop in plan.pops
                if pop.name in keep
            },
            totals={pop.name: np.zeros(pop.size, dtype=np.int64) for pop in plan.pops},
            nz_step=(
                {pop.name: np.zeros((n_steps, pop.size), dtype=np.int64) for pop in plan.pops}
                if per_step
                else None
            ),
            raster=(
                {pop.name: np.zeros((n_steps, record, pop.size), dtype=bool) for pop in plan.pops}
                if record
                else None
            ),
        )

    def add(
        self, name: str, t: int, y: np.ndarray, nz_total: np.ndarray | None, record: int
    ) -> None:
        """Count ``name``'s nonzero outputs ``y`` of step ``t`` (``nz_total``: precomputed totals)."""
        if (
            nz_total is None
            or name in self.counts
            or self.nz_step is not None
            or self.raster is not None
        ):
            nz = y != 0
            if name in self.counts:
                self.counts[name] += nz
            if nz_total is None:
                nz_total = nz.sum(axis=0)
            if self.nz_step is not None:
                self.nz_step[name][t] = nz_total
            if self.raster is not None:
                self.raster[name][t] = nz[:record]
        self.totals[name] += nz_total


def _pop_output(
    plan: Plan,
    pop: PopPlan,
    given: Mapping[str, np.ndarray],
    outs: Mapping[str, np.ndarray],
    prev: Mapping[str, np.ndarray],
    state: dict[Any, np.ndarray],
    n_inputs: int,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """``pop``'s outputs of this step, its nonzero totals when a fused kernel counted them
    (else None), and the saturations it caused."""
    if pop.kind == "input":
        return given[pop.name], None, 0
    if _fusable(plan, pop):
        proj = pop.incoming[0]
        p = pop.params
        cap = p["cap"] if pop.kind == "relu" else np.full(pop.size, np.inf, dtype=plan.dtype)
        y, nz_total = pull_layer(
            outs[proj.pre],
            proj.csc(pop.size),
            p["bias"],
            cap,
            rectify=pop.kind == "relu",
        )
        return y, nz_total, 0
    if _fusable_fixed(plan, pop, outs):
        y, nz_total, s2 = _graded_fixed(plan, pop, outs)
        return y, nz_total, s2
    current, s1 = _accumulate(plan, pop, outs, prev, n_inputs)
    y, s2 = _step_pop(plan, pop, current, state)
    return y, None, s1 + s2


def _fusable(plan: Plan, pop: PopPlan) -> bool:
    """Float graded population fed by one forward projection: one compiled pass."""
    return (
        not plan.fixed
        and pop.kind in ("relu", "linear")
        and len(pop.incoming) == 1
        and not pop.incoming[0].delayed
        and pop.incoming[0].spec is None
    )


def _fusable_fixed(plan: Plan, pop: PopPlan, outs: Mapping[str, np.ndarray]) -> bool:
    """Fixed-point graded population fed by one forward projection whose accumulator
    cannot saturate on this step's inputs: one compiled pass, the same integers."""
    if not (
        plan.fixed
        and pop.kind in ("relu", "linear")
        and len(pop.incoming) == 1
        and not pop.incoming[0].delayed
    ):
        return False
    proj = pop.incoming[0]
    lo, hi = plan.acc_range
    return accumulation_fits(outs[proj.pre], proj.data, proj.indices, pop.size, min(hi, -lo))


def _graded_fixed(
    plan: Plan, pop: PopPlan, outs: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`~neurosim.sim.kernels.pull_layer_fixed` on ``pop`` (see :func:`_fusable_fixed`)."""
    proj = pop.incoming[0]
    lo, hi = pop.value_range or plan.state_range
    return pull_layer_fixed(
        outs[proj.pre],
        proj.csc(pop.size),
        proj.mult,
        proj.shift,
        pop.params["bias"],
        pop.params["cap"] if pop.kind == "relu" else None,
        lo,
        hi,
    )
