"""The simulator entry point: :func:`simulate`.

``simulate`` looks up its execution mode in :data:`~neurosim.sim.backends.MODES`
(``batch``: :func:`run_batch` builds one :class:`~neurosim.sim.backends.SimRequest`
and hands it to the backend named in :data:`~neurosim.sim.backends.BACKENDS`;
``stream``: :func:`neurosim.sim.stream.run_stream`). It does not switch on
the type of what it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.network import Network
from neurosim.sim.backends import MODES, SimRequest, get_backend
from neurosim.sim.inputs import prepare_inputs
from neurosim.sim.result import SimResult

__all__ = ["run_batch", "simulate"]

_DEFAULT_DT_S = 1e-3


def simulate(
    target: Any,
    inputs: np.ndarray,
    backend: str | Callable[[SimRequest], SimResult] = "chip",
    *,
    mode: str = "batch",
    n_steps: int | None = None,
    seed: int = 0,
    encoding: str | None = None,
    dt_s: float | None = None,
    v0: Mapping[str, Any] | None = None,
    record: int = 0,
    per_step: bool = False,
    progress: bool = False,
    options: Mapping[str, Any] | None = None,
    spike_counts: str = "all",
) -> SimResult:
    """Simulate a mapped network (or, for ``reference``, a plain network) on inputs.

    Parameters
    ----------
    target : MappedNetwork or Network (or, streamed, a LazyLayeredNetwork)
        What to run. A plain :class:`~neurosim.network.Network` is accepted by
        the ``reference`` backend (no mapping needed).
    inputs : ndarray
        ``(n_inputs, n_in)`` static values or ``(n_steps, n_inputs, n_in)``
        per-step values (spike trains); ``n_in`` = total size of the input populations.
    backend : str or callable
        A name of :data:`~neurosim.sim.backends.BACKENDS` (``reference``,
        ``chip``, ``brian2``) or a callable ``(SimRequest) -> SimResult``.
    mode : str
        A name of :data:`~neurosim.sim.backends.MODES`: ``batch`` (default)
        or ``stream`` (a layered network one layer at a time,
        :func:`neurosim.sim.stream.run_stream`; ``options``: ``profile`` for
        the chip backend, ``batch_size``).
    n_steps : int, optional
        Time steps (default: from per-step inputs; 1 for graded feed-forward
        networks with static inputs; else 100).
    seed : int
        Seed of every random choice (input encoding).
    encoding : str, optional
        Encode static inputs as spike trains (:mod:`neurosim.io.encoding`);
        default: feed the values at every step.
    dt_s : float, optional
        Time step; default the profile's ``chip.timestep_s``, else 1 ms.
    v0 : mapping, optional
        Initial membrane potential per spiking population (default 0).
    record : int
        Record a spike raster of the first ``record`` inputs.
    per_step : bool
        Also count events per step (``SimResult.events_per_step``).
    progress : bool
        Show a progress bar over time steps.
    options : mapping, optional
        Backend options: ``frac_bits`` (chip, fixed point), ``target``
        (brian2: ``numpy``, ``cython`` or ``cpp_standalone``), ``engine``
        (reference/chip: True forces the step-by-step engine).
    spike_counts : {"all", "outputs"}
        Keep per-input counts of every population (default) or of the output
        populations only (for large networks; events are counted either way).

    Returns
    -------
    SimResult

    Examples
    --------
    >>> import numpy as np
    >>> from neurosim.network import Network
    >>> net = Network.from_layers([np.eye(2)])
    >>> simulate(net, np.array([[1.0, -1.0]]), "reference").outputs
    array([[1., 0.]])
    """
    settings = {"n_steps": n_steps, "seed": seed, "encoding": encoding, "dt_s": dt_s, "v0": v0}
    settings.update(record=record, per_step=per_step, progress=progress, options=options)
    return MODES.resolve(mode)(target, inputs, backend, spike_counts=spike_counts, **settings)


def _network_and_mapping(target: Any, backend: Any) -> tuple[Network, Any]:
    """The source network and the mapping (None for a plain network) of a batch run."""
    mapping = target if hasattr(target, "hw_network") else None
    network = target.network if mapping is not None else target
    if not isinstance(network, Network):
        raise SimulationError(
            f"simulate: expected a MappedNetwork or Network, got {type(target).__name__} "
            "(a lazy layered network runs in mode 'stream')"
        )
    if mapping is None and backend != "reference" and not callable(backend):
        raise SimulationError(
            f"backend {backend!r} needs a MappedNetwork; map the network first (or use backend 'reference')"
        )
    return network, mapping


def run_batch(
    target: Any,
    inputs: np.ndarray,
    backend: str | Callable[[SimRequest], SimResult],
    *,
    n_steps: int | None,
    seed: int,
    encoding: str | None,
    dt_s: float | None,
    v0: Mapping[str, Any] | None,
    record: int,
    per_step: bool,
    progress: bool,
    options: Mapping[str, Any] | None,
    spike_counts: str,
) -> SimResult:
    """The ``batch`` execution mode: one :class:`SimRequest` to the backend (see :func:`simulate`)."""
    network, mapping = _network_and_mapping(target, backend)
    fn = get_backend(backend)
    if dt_s is None:
        dt = mapping.profile.get("chip.timestep_s") if mapping is not None else None
        dt_s = float(dt) if dt else _DEFAULT_DT_S
    if not dt_s > 0:
        raise SimulationError(f"dt_s: expected a positive time step, got {dt_s}")
    hw = mapping.hw_network if mapping is not None else network
    prepared = prepare_inputs(hw, inputs, n_steps=n_steps, encoding=encoding, seed=seed)
    if spike_counts not in ("all", "outputs"):
        raise SimulationError(f"spike_counts: {spike_counts!r}; expected 'all' or 'outputs'")
    if record < 0 or int(record) != record:
        raise SimulationError(f"record: expected a non-negative integer, got {record}")
    req = SimRequest(
        mapped=mapping,
        network=network,
        inputs=prepared,
        dt_s=float(dt_s),
        seed=int(seed),
        v0=dict(v0 or {}),
        record=min(int(record), prepared.n_inputs),
        per_step=bool(per_step),
        progress=bool(progress),
        options=dict(options or {}),
        keep_counts=spike_counts,
    )
    return fn(req)
