"""Topology generators: RadiX-Net, Graph Challenge networks, exact-solution test
vectors, random fixed fan-in and the NeuroFabric family, plus a data-free
topology score.

:data:`GENERATORS` is the explicit registry of generators: a name maps to
``"module:function"`` (imported when used). :func:`generate` accepts a name or
a callable.
"""

from __future__ import annotations

import difflib
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
    name = generator if isinstance(generator, str) else getattr(generator, "__name__", "generator")
    sig = inspect.signature(fn)
    accepted = [p for p in sig.parameters if p not in ("args", "kwargs")]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in accepted]
    if unknown and not takes_any:
        # report a misspelt name as unknown (not as the right one missing)
        hints = [difflib.get_close_matches(k, accepted, n=1) for k in unknown]
        hint = "".join(f" (did you mean {h[0]!r}?)" for h in hints[:1] if h)
        raise NetworkError(
            f"topology generator {name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}{hint}; "
            f"its parameters are {', '.join(accepted)}"
        )
    try:
        sig.bind(**params)
    except TypeError as exc:
        raise NetworkError(
            f"topology generator {name!r}: {exc}; its parameters are {', '.join(accepted)}"
        ) from None
    return fn(**params)


#: the name :func:`generate` has in the top-level API (``neurosim.generate_topology``)
generate_topology = generate
