"""Topology generators: RadiX-Net, Graph Challenge networks, exact-solution test
vectors, random fixed fan-in and the NeuroFabric family, plus a data-free
topology score.

:data:`GENERATORS` is the explicit registry of generators: a name maps to
``"module:function"`` (imported when used). :func:`generate` accepts a name or
a callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from neurosim.errors import NetworkError
from neurosim.util.registry import Registry

__all__ = ["GENERATORS", "build_registry", "generate", "generate_topology", "resolve_generator"]


def build_registry(
    entries: Iterable[tuple[str, str | Callable[..., Any]]],
) -> Registry:
    """A generator registry from ``(name, target)`` pairs; a name given twice is an error."""
    return Registry("topology generator", NetworkError, entries)


#: generator name -> "module:function" (or a callable)
GENERATORS: Registry = build_registry(
    [
        ("radixnet", "neurosim.topology.radixnet:radixnet_network"),
        ("graph_challenge", "neurosim.topology.graph_challenge:graph_challenge_network"),
        ("exact", "neurosim.topology.exact:exact_solution"),
        ("random", "neurosim.topology.fixed_fan_in:random_network"),
        ("neurofabric", "neurosim.topology.neurofabric:neurofabric_network"),
    ]
)


def resolve_generator(generator: str | Callable[..., Any]) -> Callable[..., Any]:
    """The callable behind a registry name (or ``generator`` itself when callable)."""
    return GENERATORS.resolve(generator)


def generate(generator: str | Callable[..., Any], **params: Any) -> Any:
    """Run a generator by name or callable.

    Returns what the generator returns: a :class:`~neurosim.network.Network`,
    a lazy :class:`~neurosim.topology.lazy.LazyLayeredNetwork`
    (``graph_challenge``), or an :class:`~neurosim.topology.exact.ExactSolution` (``exact``).
    """
    fn = resolve_generator(generator)
    try:
        inspect.signature(fn).bind(**params)
    except TypeError as exc:
        name = (
            generator if isinstance(generator, str) else getattr(generator, "__name__", "generator")
        )
        accepted = [p for p in inspect.signature(fn).parameters if p not in ("args", "kwargs")]
        raise NetworkError(
            f"topology generator {name!r}: {exc}; its parameters are {', '.join(accepted)}"
        ) from None
    return fn(**params)


#: the name :func:`generate` has in the top-level API (``neurosim.generate_topology``)
generate_topology = generate
