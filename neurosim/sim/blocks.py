"""Simulation in input blocks, in this process, with memory bounded by the block.

A backend keeps, for every population, the spikes of every input
(``SimResult.spike_counts``, ``(n_inputs, n)``): on a network that a chip
stores unrolled (TrueNorth's relays and crossbars for a CNN, about half a
million neurons) that is megabytes per input. What the report needs of them
is the outputs per input and, for the traffic, energy and latency models
and the silent-neuron count, the spikes per neuron summed over the inputs.
:func:`simulate_in_blocks` runs the inputs ``block_rows`` at a time and keeps
exactly that: outputs and the output populations' counts per input, every
other population's counts as one row (its totals over the inputs), event
counts summed. Memory is then that of one block, whatever the number of
inputs; every figure a report derives is the one a single call gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.sim.result import SimResult

__all__ = ["BlockTotals", "simulate_in_blocks"]


class BlockTotals:
    """Accumulates the block results of one run (see the module docstring)."""

    def __init__(self, per_input: tuple[str, ...]) -> None:
        self.per_input = set(per_input)
        self.outputs: list[np.ndarray] = []
        self.rows: dict[str, list[np.ndarray]] = {}
        self.totals: dict[str, np.ndarray] = {}
        self.events: dict[str, np.ndarray] = {}
        self.per_step: dict[str, np.ndarray] | None = None
        self.first: SimResult | None = None
        self.n_inputs = 0
        self.saturations = 0
        self.overflows = 0
        self.wall_s = 0.0

    def add(self, part: SimResult) -> None:
        """Fold one block's result in (its per-input arrays of hidden populations are summed)."""
        if self.first is None:  # what the merged result takes from the first block, not its arrays
            self.first = dataclasses.replace(part, outputs=np.zeros((0, 0)), spike_counts=dict.fromkeys(
                part.spike_counts), events={}, events_per_step=None)
        # copies: a backend's per-population counts may be views of one (inputs, all neurons)
        # array, which a kept view would keep alive block after block
        self.outputs.append(np.array(part.outputs))
        for name, counts in part.spike_counts.items():
            if name in self.per_input:
                self.rows.setdefault(name, []).append(np.array(counts))
                continue
            row = np.asarray(counts).sum(axis=0, keepdims=True)
            self.totals[name] = row if name not in self.totals else self.totals[name] + row
        for kind, per_core in part.events.items():
            self.events[kind] = self.events.get(kind, 0) + np.asarray(per_core)
        if part.events_per_step is not None:
            self.per_step = self.per_step or {}
            for kind, arr in part.events_per_step.items():
                self.per_step[kind] = self.per_step.get(kind, 0) + np.asarray(arr)
        self.n_inputs += part.n_inputs
        self.saturations += part.saturations
        self.overflows += part.overflows
        self.wall_s += part.wall_time_s

    def result(self, n_blocks: int) -> SimResult:
        """The run's :class:`SimResult` (hidden populations' counts as one row of totals)."""
        first = self.first
        if first is None:
            raise SimulationError("simulate_in_blocks: no inputs to simulate")
        counts = {k: np.concatenate(v, axis=0) for k, v in self.rows.items()}
        counts.update(self.totals)
        info = {**dict(first.info), "blocks": n_blocks, "spike_counts": "totals of hidden populations"}
        return SimResult(
            backend=first.backend,
            outputs=np.concatenate(self.outputs, axis=0),
            spike_counts={k: counts[k] for k in first.spike_counts},
            events=self.events,
            n_inputs=self.n_inputs,
            n_steps=first.n_steps,
            dt_s=first.dt_s,
            events_per_step=self.per_step,
            raster=first.raster,
            saturations=self.saturations,
            overflows=self.overflows,
            wall_time_s=self.wall_s,
            info=info,
        )


def _output_names(target: Any) -> tuple[str, ...]:
    network = getattr(target, "network", target) if hasattr(target, "hw_network") else target
    return tuple(getattr(network, "outputs", ()))


def simulate_in_blocks(
    target: Any,
    inputs: np.ndarray,
    backend: str | Callable[..., SimResult] = "chip",
    *,
    block_rows: int,
    **kwargs: Any,
) -> SimResult:
    """:func:`~neurosim.sim.simulate.simulate` on ``block_rows`` inputs at a time, memory bounded.

    Parameters
    ----------
    target, inputs, backend, **kwargs
        As :func:`~neurosim.sim.simulate.simulate`. With ``encoding`` the whole
        batch is encoded first (one call's spike trains), then split.
    block_rows : int
        Inputs per block.

    Returns
    -------
    SimResult
        Outputs, events and the output populations' ``spike_counts`` as one
        call gives them; the other populations' ``spike_counts`` hold one row,
        their totals over the inputs (``info["spike_counts"]`` says so).
    """
    from neurosim.sim.simulate import simulate

    if int(block_rows) != block_rows or block_rows < 1:
        raise SimulationError(f"block_rows: expected a positive integer, got {block_rows}")
    x = np.asarray(inputs)
    if kwargs.get("encoding") is not None:
        from neurosim.sim.inputs import prepare_inputs

        hw = getattr(target, "hw_network", target)
        x = prepare_inputs(hw, x, n_steps=kwargs.get("n_steps"), encoding=kwargs["encoding"],
                           seed=kwargs.get("seed", 0)).values
        kwargs = {**kwargs, "encoding": None, "n_steps": None}
    axis = 0 if x.ndim == 2 else 1
    n = x.shape[axis]
    acc = BlockTotals(_output_names(target))
    starts = range(0, n, int(block_rows))
    for s in starts:
        block = np.take(x, np.arange(s, min(s + int(block_rows), n)), axis=axis)
        acc.add(simulate(target, block, backend, **kwargs))
    return acc.result(len(starts))
