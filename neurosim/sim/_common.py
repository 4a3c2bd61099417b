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
