"""The training-method registry and the one entry point :func:`train_network`.

:data:`TRAINING_METHODS` maps a method name to ``"module:function"``; the
function is imported only when used. Every method function takes the
training inputs and labels plus keyword options (the fields of its options
class, see :mod:`neurosim.train.options`, or explicit keyword parameters), and
returns a :class:`~neurosim.train.core.TrainResult`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.train.core import TrainResult
from neurosim.train.options import options_type
from neurosim.util.registry import Registry

__all__ = [
    "TRAINING_METHODS",
    "get_method",
    "method_names",
    "method_options",
    "register_method",
    "train_network",
]

#: method name -> "module:function" (or a callable)
TRAINING_METHODS: Registry = Registry(
    "training method",
    TrainingError,
    {
        "dense": "neurosim.train.baselines:train_dense",
        "prune": "neurosim.train.baselines:train_pruned",
        "ternary": "neurosim.train.baselines:train_ternary",
        "deep_r": "neurosim.train.deep_r:train_deep_r",
        "conntra": "neurosim.train.conntra:train_conntra",
        "conntra_ranked": "neurosim.train.conntra_ranked:train_conntra_ranked",
        "sketch": "neurosim.train.sketch:train_sketch",
        "fixed_topology": "neurosim.train.fixed_topology:train_fixed_topology",
        "cnn": "neurosim.train.cnn:train_cnn",
        "conv_sketch": "neurosim.train.conv_sketch:train_conv_sketch",
        "deep_r_cnn": "neurosim.train.conv_deep_r:train_conv_deep_r",
        "conntra_cnn": "neurosim.train.conv_conntra:train_conv_conntra",
    },
)

_DATA_ARGS = ("x", "y", "n_classes")


def method_names(registry: Mapping[str, Any] = TRAINING_METHODS) -> tuple[str, ...]:
    """Names of the registered methods."""
    return tuple(registry)


def _as_registry(registry: Mapping[str, Any]) -> Registry:
    return Registry.over(registry, "training method", TrainingError)


def register_method(
    registry: dict[str, str | Callable[..., TrainResult]],
    name: str,
    target: str | Callable[..., TrainResult],
) -> None:
    """Add ``name`` to ``registry`` (a dict you own); a name registered twice is an error."""
    _as_registry(registry).register(name, target)


def get_method(
    method: str | Callable[..., TrainResult], registry: Mapping[str, Any] = TRAINING_METHODS
) -> Callable[..., TrainResult]:
    """The training function for a registered name, or ``method`` itself if callable."""
    return _as_registry(registry).resolve(method)


def method_options(method: str | Callable[..., TrainResult]) -> tuple[str, ...]:
    """The keyword parameters a method accepts (besides the data).

    The fields of its options class (:func:`~neurosim.train.options.trains_with`),
    or else its keyword-only parameters.
    """
    fn = get_method(method)
    cls = options_type(fn)
    if cls is not None:
        return cls.names()
    sig = inspect.signature(fn)
    return tuple(
        p.name
        for p in sig.parameters.values()
        if p.kind == p.KEYWORD_ONLY and p.name not in _DATA_ARGS
    )


def train_network(
    method: str | Callable[..., TrainResult],
    train_set: Any,
    *,
    hidden: Sequence[int] = (300, 100),
    seed: int = 0,
    **options: Any,
) -> TrainResult:
    """Train a network with a registered method.

    Parameters
    ----------
    method : str or callable
        A key of :data:`TRAINING_METHODS` (``dense``, ``prune``, ``ternary``,
        ``deep_r``, ``conntra``, ``sketch``, ``fixed_topology``) or a training function.
    train_set : Dataset or (x, y)
        A :class:`~neurosim.io.datasets.Dataset` with labels, or a pair of arrays.
    hidden : hidden layer sizes
    seed : seed of every random choice
    **options
        The method's own keyword parameters (see :func:`method_options`);
        an option the method does not take is an error.

    Returns
    -------
    TrainResult
        Its network's ``metadata["training"]`` also names the data and holds the figures.

    Examples
    --------
    >>> from neurosim.io.datasets import load_dataset
    >>> r = train_network("dense", load_dataset("iris", split="train"), hidden=(8,), epochs=2)
    >>> r.network.stats().n_synapses
    56
    """
    fn = get_method(method)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    allowed = set(method_options(fn))
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TrainingError(
            f"training method {name}: unknown option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(allowed))}"
        )
    if hasattr(train_set, "x") and hasattr(train_set, "y"):
        x, y = train_set.x, train_set.y
        n_classes = getattr(train_set, "n_classes", None) or None
        data_name = getattr(train_set, "name", "data")
    else:
        try:
            x, y = train_set
        except (TypeError, ValueError):
            raise TrainingError("train_set: expected a Dataset or a pair (x, y)") from None
        n_classes, data_name = None, "arrays"
    if y is None:
        raise TrainingError(f"train_set {data_name}: has no labels; training needs labelled data")
    kwargs = dict(options)
    if "hidden" in allowed:
        kwargs["hidden"] = tuple(int(h) for h in hidden)
    kwargs["seed"] = int(seed)
    result = fn(np.asarray(x), np.asarray(y), n_classes=n_classes, **kwargs)
    meta = dict(result.network.metadata)
    training = dict(meta.get("training", {}))
    training.update(
        {"data": data_name, **{k: v for k, v in result.summary().items() if k != "method"}}
    )
    meta["training"] = training
    return dataclasses.replace(result, network=result.network.replace(metadata=meta), method=name)
