"""One registry mechanism for every named set of callables.

A :class:`Registry` is a read-only :class:`~collections.abc.Mapping` over an
explicit dict ``name -> target``. A target is a callable or, where the
registry is ``lazy``, a ``"module:function"`` string imported only when it is
resolved (so heavy dependencies load only when used). Registering a name twice
is an error, and so is resolving an unknown name; both raise the caller's own
error type with a one-line message naming the kind of thing and the valid names.

Backends, partition strategies, topology generators and training methods are
all registries of this kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import import_module
from typing import Any

__all__ = ["Registry"]


class Registry(Mapping[str, Any]):
    """A named set of callables with duplicate-checked registration.

    Parameters
    ----------
    kind : str
        What the entries are, for messages (``"backend"``, ``"training method"``).
    error : type of Exception
        The error raised for a duplicate, an invalid target or an unknown name.
    entries : mapping or iterable of (name, target) pairs
        The initial entries, registered in order (a repeated name is an error).
    lazy : bool
        Accept ``"module:function"`` strings as targets (imported on resolve).

    Examples
    --------
    >>> reg = Registry("colour", ValueError, {"sum": sum})
    >>> reg.resolve("sum")([1, 2])
    3
    >>> reg.resolve(max) is max
    True
    >>> reg.resolve("min")
    Traceback (most recent call last):
    ...
    ValueError: unknown colour 'min'; expected one of sum or a callable
    """

    def __init__(
        self,
        kind: str,
        error: type[Exception],
        entries: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
        *,
        lazy: bool = True,
    ) -> None:
        self.kind = kind
        self.error = error
        self.lazy = lazy
        self._entries: dict[str, Any] = {}
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        for name, target in pairs:
            self.register(name, target)

    @classmethod
    def over(
        cls,
        entries: Mapping[str, Any],
        kind: str,
        error: type[Exception],
        *,
        lazy: bool = True,
    ) -> Registry:
        """A registry for ``entries``: itself if it is a :class:`Registry`,
        else a view sharing the dict (so :meth:`register` writes into it)."""
        if isinstance(entries, Registry):
            return entries
        view = cls(kind, error, lazy=lazy)
        view._entries = entries  # type: ignore[assignment]
        return view

    def __getitem__(self, name: str) -> Any:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self._entries!r})"

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._entries)

    def register(self, name: str, target: str | Callable[..., Any]) -> None:
        """Add ``target`` under ``name``.

        Raises
        ------
        error
            When ``name`` is already registered, or ``target`` is neither a
            callable nor (for a lazy registry) a ``"module:function"`` string.
        """
        if name in self._entries:
            raise self.error(
                f"{self.kind} {name!r} is already registered; registering a name twice is an error"
            )
        if not (callable(target) or (self.lazy and isinstance(target, str) and ":" in target)):
            expected = "a callable or 'module:function'" if self.lazy else "a callable"
            raise self.error(f"{self.kind} {name!r}: expected {expected}, got {target!r}")
        self._entries[name] = target

    def lookup(self, name: str) -> Callable[..., Any]:
        """The callable registered under ``name`` (names only; see :meth:`resolve`).

        Raises
        ------
        error
            When ``name`` is not a registered name.
        """
        return self._target(name, "")

    def resolve(self, ref: str | Callable[..., Any]) -> Callable[..., Any]:
        """The callable for a registered name, or ``ref`` itself when it is callable.

        Raises
        ------
        error
            When ``ref`` is not callable and not a registered name.
        """
        if callable(ref):
            return ref
        return self._target(ref, " or a callable")

    def _target(self, name: Any, alternatives: str) -> Callable[..., Any]:
        try:
            target = self._entries[name]
        except (KeyError, TypeError):
            raise self.error(
                f"unknown {self.kind} {name!r}; expected one of {', '.join(self._entries)}{alternatives}"
            ) from None
        if callable(target):
            return target
        module, _, func = target.partition(":")
        return getattr(import_module(module), func)
