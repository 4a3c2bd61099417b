"""Helpers shared by the backends: progress bar and SimResult assembly."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from neurosim.network import Network
from neurosim.neurons import SPIKING_KINDS

__all__ = ["assemble_outputs", "progress_bar"]


@contextlib.contextmanager
def progress_bar(enabled: bool, n_steps: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar over time steps (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=n_steps)
        yield lambda t: bar.update(task, completed=t + 1)


def assemble_outputs(
    network: Network,
    final: Mapping[str, np.ndarray],
    counts: Mapping[str, np.ndarray],
) -> np.ndarray:
    """Outputs of ``network``: per output population, final real activations
    (graded) or spike counts over the run (spiking), concatenated."""
    parts = []
    for name in network.outputs:
        kind = network.population(name).model.kind
        parts.append(
            counts[name].astype(np.float64)
            if kind in SPIKING_KINDS
            else np.asarray(final[name], np.float64)
        )
    if not parts:
        n = next(iter(counts.values())).shape[0] if counts else 0
        return np.zeros((n, 0))
    return np.concatenate(parts, axis=1)


def run_float_plan(
    plan,
    inp,
    *,
    v0,
    per_step: bool,
    record: int,
    progress,
    convert,
    force_engine: bool = False,
    keep=None,
    final_of=None,
):
    """Run a float plan with the compiled whole-run kernel when it pays, else the engine.

    The kernel (:mod:`neurosim.sim.fastrun`) is used for multi-step, spiking or
    recurrent runs whose per-input counts fit in memory and whose neuron kinds
    it implements (:data:`~neurosim.sim.fastrun.COMPILED_KINDS`; ``cuba_lif``
    and ``threshold`` run on the engine); single-step graded
    feed-forward inference (the Graph Challenge case) streams layer by layer
    through the engine, which holds one layer's activations at a time.
    """
    from neurosim.sim.engine import run_plan

    spiking = any(p.kind in SPIKING_KINDS for p in plan.pops)
    delayed = any(pr.delayed for p in plan.pops for pr in p.incoming)
    n_total = sum(p.size for p in plan.pops)
    fits = inp.n_inputs * n_total * 8 * (2 if not per_step else 3) < 2**31
    from neurosim.sim.fastrun import COMPILED_KINDS

    compiled = all(p.kind in COMPILED_KINDS for p in plan.pops)
    if not force_engine and fits and compiled and (inp.n_steps > 1 or spiking or delayed):
        from neurosim.sim.fastrun import run_plan_compiled

        cols, start = {}, 0
        for name, size in inp.sizes:
            cols[name] = start
            start += size
        out = run_plan_compiled(
            plan,
            inp.values,
            inp.per_step,
            inp.n_steps,
            cols,
            v0=v0,
            per_step=per_step,
            record=record,
        )
        if keep is not None:  # totals per neuron were taken from every population already
            out.counts = {k: v for k, v in out.counts.items() if k in set(keep)}
        if progress is not None:
            progress(inp.n_steps - 1)
        return out
    return run_plan(
        plan,
        lambda t: inp.split(t, convert),
        inp.n_inputs,
        inp.n_steps,
        v0=v0,
        per_step=per_step,
        record=record,
        progress=progress,
        keep=keep,
        final_of=final_of,
    )
