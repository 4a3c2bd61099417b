"""Training options: the keyword options of every training method, documented once.

Each group of options is a frozen, keyword-only dataclass whose fields carry
their one-line description (:func:`option`); a method's options class
combines the groups it takes, adds its own fields and may change a default by
declaring the field again with a new value. The description is the numpydoc
``Attributes`` section of every class (written by :func:`options_class`), the
``--help`` of the ``neurosim train`` flag, and what :func:`describe` returns.

A method is a body ``train_x(data, o)`` made into the public
``train_x(x, y, *, n_classes=None, options=None, **fields)`` by
:func:`trainer`, which checks and splits the data (:class:`TrainData`) and
builds the options, so ``train_x(x, y, epochs=3)`` and
``train_x(x, y, options=XOptions(epochs=3))`` are the same call.
:func:`~neurosim.train.registry.method_options` lists the fields of the
class, the CLI makes one flag per field (:func:`cli_fields`), and a scenario's
``train: parameters:`` are checked against the same list.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from neurosim.errors import TrainingError

if TYPE_CHECKING:
    from neurosim.network import Network

__all__ = [
    "BudgetOptions",
    "ChipOptions",
    "ChipTrainingOptions",
    "GradientOptions",
    "HiddenOptions",
    "InitOptions",
    "LayeredOptions",
    "OptimizerOptions",
    "Options",
    "TrainData",
    "TrainOptions",
    "WeightDecayOptions",
    "cap_and_budgets",
    "cli_fields",
    "describe",
    "fields_of",
    "fit_kwargs",
    "option",
    "options_class",
    "options_type",
    "trainer",
]

T = TypeVar("T", bound="Options")
OptT = TypeVar("OptT", bound="TrainOptions")
R = TypeVar("R")

#: field metadata keys: the description, and how the command line reads the value
_DOC, _KIND = "doc", "kind"


def option(default: Any, doc: str, kind: str | None = "str") -> Any:
    """A field with ``default`` described by ``doc``.

    ``kind`` is how the command line reads it (``int``, ``float``, ``str``,
    ``flag``, ``floats``, ``ints``, ``layers``, ``network``; see
    :mod:`neurosim.cli.train`), or None for an option the CLI sets itself
    (``hidden``, ``seed``, ``chip``, ``progress``).
    """
    return dataclasses.field(default=default, metadata={_DOC: doc, _KIND: kind})


def options_class(group: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: a frozen keyword-only dataclass with a generated ``Attributes`` section.

    ``group`` titles the CLI section of the fields the class declares (default:
    the title of the first base's group).
    """

    def make(cls: type[T]) -> type[T]:
        if group is not None:
            cls.group = group
        out = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        rows = [
            f"{f.name} : default {f.default!r}\n    {describe(out, f.name)}"
            for f in fields_of(out)
        ]
        head = (out.__doc__ or "").rstrip()
        out.__doc__ = f"{head}\n\nAttributes\n----------\n" + "\n".join(rows) + "\n"
        return out

    return make


def _declaring(cls: type, name: str) -> dataclasses.Field | None:
    """The field ``name`` of ``cls`` or of its nearest base that gives it a description.

    A class that only changes a default (``epochs: int = 20``) keeps the base's description.
    """
    for base in cls.__mro__:
        f = getattr(base, "__dataclass_fields__", {}).get(name)
        if f is not None and _DOC in f.metadata:
            return f
    return None


def describe(cls: type, name: str) -> str:
    """The one-line description of option ``name`` of options class ``cls``."""
    f = _declaring(cls, name)
    return "" if f is None else str(f.metadata[_DOC])


def fields_of(cls: type) -> tuple[dataclasses.Field, ...]:
    """The fields of an options class (or instance), in declaration order."""
    return dataclasses.fields(cls)


class Options:
    """The base of every options class: building from keywords, and the list of names."""

    group: ClassVar[str] = "training options"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names (the method's keywords besides the data)."""
        return tuple(f.name for f in fields_of(cls))

    @classmethod
    def build(cls: type[T], options: T | None = None, fields: Mapping[str, Any] = ()) -> T:
        """``options`` (default: all defaults) with ``fields`` replaced; unknown names are an error."""
        base = cls() if options is None else options
        if not isinstance(base, cls):
            raise TrainingError(
                f"options: expected {cls.__name__}, got {type(options).__name__}"
            )
        fields = dict(fields)
        unknown = sorted(set(fields) - set(cls.names()))
        if unknown:
            raise TrainingError(
                f"{cls.__name__}: unknown option(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(cls.names()))}"
            )
        return dataclasses.replace(base, **fields) if fields else base


@options_class()
class TrainOptions(Options):
    """The options every training method takes: seed, epoch loop, validation."""

    seed: int = option(0, "seed of every random choice", kind=None)
    epochs: int = option(10, "epochs (or sweeps)", "int")
    batch_size: int = option(64, "minibatch size", "int")
    val_fraction: float = option(0.1, "held-out validation fraction", "float")
    patience: int | None = option(
        None, "early stopping after N epochs without a better validation accuracy", "int"
    )
    progress: bool = option(False, "rich progress bar", kind=None)


@options_class()
class HiddenOptions(Options):
    """The hidden layer sizes of a fully connected network."""

    hidden: Sequence[int] = option((300, 100), "hidden layer sizes", kind=None)


@options_class()
class OptimizerOptions(Options):
    """The gradient optimiser."""

    optimizer: str = option("adam", "sgd or adam")
    lr: float = option(1e-3, "learning rate", "float")
    momentum: float = option(0.9, "SGD momentum", "float")


@options_class()
class LayeredOptions(TrainOptions, HiddenOptions):
    """Training a fully connected network: the loop and the hidden layer sizes."""


@options_class()
class GradientOptions(LayeredOptions, OptimizerOptions):
    """Training a fully connected network by gradient steps."""


@options_class()
class WeightDecayOptions(Options):
    """L2 weight decay of the gradient steps."""

    weight_decay: float = option(0.0, "L2 weight decay", "float")


@options_class("pruning and quantization")
class InitOptions(Options):
    """A trained network to start from."""

    init: Network | None = option(
        None,
        "start from this trained network (.npz/.nir) instead of training a dense one "
        "(prune, ternary, conntra; fixed_topology: the topology kept)",
        "network",
    )


@options_class("budgets and chip limits (deep_r, prune)")
class ChipOptions(Options):
    """A chip profile whose limits constrain the training (``chip_overrides`` as ``--set``)."""

    chip: str | None = option(None, "chip profile (name or path)", kind=None)
    chip_overrides: Sequence[str] = option((), "profile field overrides, as --set", kind=None)


@options_class("budgets and chip limits (deep_r, prune)")
class BudgetOptions(Options):
    """A connection budget and a fan-in cap (:func:`~neurosim.train.constraints.layer_budgets`)."""

    connectivity: float | Sequence[float] | None = option(
        None,
        "fraction of connections kept, one or one per layer (e.g. 0.01,0.03,0.3)",
        "floats",
    )
    n_connections: int | Sequence[int] | None = option(
        None, "exact connection budget, one or one per layer (e.g. 2352,900,300)", "ints"
    )
    fan_in_cap: int | None = option(None, "at most N inputs per neuron", "int")


@options_class("training for a chip (dense, deep_r with --chip: the profile gives the constraints)")
class ChipTrainingOptions(ChipOptions):
    """Training for a chip: after the float training, ``chip_epochs`` epochs at ``chip_lr``
    through the chip's fan-in cap, quantizer and (spiking chips) rate code
    (:func:`neurosim.train.for_chip.train_for_chip`)."""

    chip_epochs: int = option(5, "epochs through the chip's quantizer (--chip)", "int")
    chip_lr: float = option(2e-3, "learning rate of the chip-aware epochs", "float")
    steps: int | None = option(
        None, "time steps of the IF rate code on spiking chips (32)", "int"
    )
    spiking: bool | None = option(
        None, "train through the IF rate code even on a chip with ReLU", "flag"
    )


def fit_kwargs(o: Any, weight_decay: bool = False) -> dict[str, Any]:
    """The :func:`~neurosim.train.sgd.fit_layers` keywords of options ``o``.

    ``o`` has :class:`TrainOptions` and :class:`OptimizerOptions` fields (and
    :class:`WeightDecayOptions`' when ``weight_decay``).
    """
    fit = {
        "optimizer": o.optimizer,
        "lr": o.lr,
        "momentum": o.momentum,
        "epochs": o.epochs,
        "batch_size": o.batch_size,
        "seed": o.seed,
        "patience": o.patience,
        "progress": o.progress,
    }
    if weight_decay:
        fit["weight_decay"] = o.weight_decay
    return fit


def cap_and_budgets(o: Any, sizes: Sequence[int]) -> tuple[int | None, list[int]]:
    """The fan-in cap and per-layer connection budgets of options ``o`` for layer ``sizes``.

    ``o`` has :class:`BudgetOptions` and :class:`ChipOptions` fields; the cap
    is the tighter of ``fan_in_cap`` and the chip's fan-in limit.
    """
    from neurosim.train.constraints import layer_budgets, resolve_fan_in_cap

    cap = resolve_fan_in_cap(o.fan_in_cap, o.chip, o.chip_overrides)
    budgets = layer_budgets(
        sizes, connectivity=o.connectivity, n_connections=o.n_connections, fan_in_cap=cap
    )
    return cap, budgets


@dataclass(frozen=True)
class TrainData:
    """The checked training data of one call, split for validation, and the call's start time.

    ``x, y`` are the samples the steps use (float32, int64), ``x_val, y_val``
    the held-out split (None when ``val_fraction`` is 0).
    """

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    n_features: int
    n_classes: int
    t0: float

    @classmethod
    def check(cls, x: Any, y: Any, n_classes: int | None, o: TrainOptions, t0: float) -> TrainData:
        """Check ``x, y`` (:func:`~neurosim.train.core.check_training_data`) and split them."""
        from neurosim.train.core import check_training_data, split_validation

        x, y, k = check_training_data(x, y, n_classes)
        xt, yt, xv, yv = split_validation(x, y, o.val_fraction, o.seed)
        return cls(xt, yt, xv, yv, int(x.shape[1]), k, t0)

    def finish(self, method: str, weights: Any, biases: Any, outcome: Any, **facts: Any) -> Any:
        """:func:`~neurosim.train.core.finish_training` on these training samples and clock.

        ``outcome`` is the loop's :class:`~neurosim.train.core.LoopOutcome` or a
        tuple ``(val_accuracy, epochs_run, history)``; ``facts`` are the other
        keywords of ``finish_training`` (``seed``, ``info``, ``n_possible``, ...).
        """
        from neurosim.train.core import finish_training

        if isinstance(outcome, tuple):
            val, epochs_run, history = outcome
            facts.update(val_accuracy=val, epochs_run=epochs_run, history=history)
        else:
            facts["outcome"] = outcome
        return finish_training(method, weights, biases, self.x, self.y, t0=self.t0, **facts)

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(x, y, x_val, y_val)``."""
        return self.x, self.y, self.x_val, self.y_val


_P = inspect.Parameter
#: the public signature of every method made by :func:`trainer`
_SIGNATURE = inspect.Signature(
    [
        _P("x", _P.POSITIONAL_OR_KEYWORD, annotation="np.ndarray"),
        _P("y", _P.POSITIONAL_OR_KEYWORD, annotation="np.ndarray"),
        _P("n_classes", _P.KEYWORD_ONLY, default=None, annotation="int | None"),
        _P("options", _P.KEYWORD_ONLY, default=None, annotation="Options | None"),
        _P("fields", _P.VAR_KEYWORD, annotation="Any"),
    ],
    return_annotation="TrainResult",
)


def trainer(cls: type[OptT]) -> Callable[[Callable[[TrainData, OptT], R]], Callable[..., R]]:
    """Make a training method ``fn(x, y, *, n_classes=None, options=None, **fields)`` of a body.

    The body ``body(data, o)`` receives the :class:`TrainData` (checked and
    split for validation, with the clock started) and the options ``o``
    (``options``, default ``cls()``, with ``fields`` replaced: an unknown name
    is an error). :func:`options_type` of the method is ``cls``.
    """

    def wrap(body: Callable[[TrainData, OptT], R]) -> Callable[..., R]:
        @functools.wraps(body)
        def train(
            x: Any, y: Any, *, n_classes: int | None = None, options: OptT | None = None, **fields: Any
        ) -> R:
            t0 = time.perf_counter()
            o = cls.build(options, fields)
            return body(TrainData.check(x, y, n_classes, o, t0), o)

        train.__signature__ = _SIGNATURE  # type: ignore[attr-defined]
        train.options_type = cls  # type: ignore[attr-defined]
        return train

    return wrap


def options_type(fn: Callable[..., Any]) -> type[Options] | None:
    """The options class of a training method made by :func:`trainer`, else None."""
    cls = getattr(fn, "options_type", None)
    return cls if isinstance(cls, type) and issubclass(cls, Options) else None


def cli_fields(classes: Sequence[type[Options]]) -> Iterator[tuple[str, str, str, str]]:
    """``(group title, name, kind, description)`` of every option of ``classes`` the CLI reads.

    Each name once, in the order first met, described as in the first class
    that has it; the group is that of the class that gives the description.
    """
    seen: set[str] = set()
    for cls in classes:
        for f in fields_of(cls):
            decl = _declaring(cls, f.name)
            if f.name in seen or decl is None or decl.metadata[_KIND] is None:
                continue
            seen.add(f.name)
            owner = next(
                b
                for b in reversed(cls.__mro__)
                if decl in vars(b).get("__dataclass_fields__", {}).values()
            )
            yield owner.group, f.name, str(decl.metadata[_KIND]), describe(cls, f.name)
