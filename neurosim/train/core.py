"""The training core shared by every method: fully connected nets in numpy.

A network under training is a list of weight matrices ``W[l]`` of shape
``(n_l, n_{l+1})`` (dense ndarrays or ``scipy.sparse`` matrices) and bias
vectors ``b[l]``; hidden layers are ReLU, the output layer is linear, and the
loss is softmax cross-entropy averaged over the minibatch. Arithmetic is
float32 (:data:`DTYPE`): the networks are small enough that float32 loses no
accuracy and halves memory traffic.

This module holds the pieces every method reuses: initialisation, forward and
backward passes, the loss, the optimisers (SGD with momentum, Adam), the
train/validation split, the epoch loop with seeded shuffling, early stopping
and an optional rich progress bar, and the conversion of trained weights to a
:class:`~neurosim.network.Network`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.neurons import NeuronModel

__all__ = [
    "DTYPE",
    "EpochRun",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "Adam",
    "LoopOutcome",
    "SGD",
    "TrainResult",
    "accuracy",
    "backward",
    "check_training_data",
    "finish_training",
    "forward",
    "init_dense",
    "layer_sizes",
    "lr_factor",
    "make_optimizer",
    "network_accuracy",
    "network_logits",
    "possible_connections",
    "predict_logits",
    "run_epochs",
    "softmax_cross_entropy",
    "split_validation",
    "to_network",
]

#: floating-point type of all training arithmetic
DTYPE = np.float32


# --------------------------------------------------------------------- result
#: the figures of :meth:`TrainResult.summary`, in order
_SUMMARY = ("method", "train_accuracy", "val_accuracy", "n_connections", "n_possible")
_SUMMARY += ("connectivity", "n_parameters", "wall_time_s", "epochs_run")


@dataclass(frozen=True)
class TrainResult:
    """What a training method returns.

    Attributes
    ----------
    network : Network
        The trained network (hidden layers ``relu``, output ``linear``).
    method : str
        Registry name of the method.
    train_accuracy : float
        Accuracy on the training samples actually used for gradient steps.
    val_accuracy : float or None
        Accuracy on the held-out validation split (None when there was none).
    n_connections : int
        Nonzero weights of ``network``.
    n_possible : int
        Weights of the fully connected network of the same layer sizes.
    n_parameters : int
        Trainable weight parameters in the method's own representation
        (sketches for tensor sketching; equals ``n_connections`` otherwise).
    wall_time_s : float
        Wall-clock time of the whole training call.
    epochs_run : int
        Epochs (or sweeps) actually run (early stopping may cut them short).
    history : tuple of dict
        One record per epoch: ``epoch``, ``loss``, ``val_accuracy``, ...
    info : dict
        Method-specific facts (hyper-parameters, budgets, weight bits, ...).
    """

    network: Network
    method: str
    train_accuracy: float
    val_accuracy: float | None
    n_connections: int
    n_possible: int
    n_parameters: int
    wall_time_s: float
    epochs_run: int
    history: tuple[Mapping[str, Any], ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def connectivity(self) -> float:
        """``n_connections / n_possible``."""
        return self.n_connections / self.n_possible if self.n_possible else 0.0

    def summary(self) -> dict[str, Any]:
        """Plain dict of the scalar results (for JSON and network metadata)."""
        return {name: getattr(self, name) for name in _SUMMARY}


# ------------------------------------------------------------------- data
def check_training_data(
    x: Any, y: Any, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate training inputs; return ``(x float32, y int64, n_classes)``.

    Raises
    ------
    TrainingError
        When shapes disagree, values are not finite, or labels are not
        integers in ``[0, n_classes)``.
    """
    xa = np.asarray(x)
    if xa.ndim != 2 or xa.shape[0] == 0:
        raise TrainingError(
            f"training data: x has shape {xa.shape}; expected (n_samples > 0, n_features)"
        )
    if not np.isfinite(xa).all():
        raise TrainingError("training data: x contains NaN or inf")
    if y is None:
        raise TrainingError("training data: labels are required (the dataset is unlabelled)")
    ya = np.asarray(y)
    if ya.shape != (xa.shape[0],):
        raise TrainingError(f"training data: y has shape {ya.shape}; expected ({xa.shape[0]},)")
    if ya.dtype.kind not in "iu" or ya.min() < 0:
        raise TrainingError("training data: labels must be non-negative integers")
    k = int(ya.max()) + 1 if n_classes is None else int(n_classes)
    if ya.max() >= k:
        raise TrainingError(f"training data: label {int(ya.max())} is not below n_classes = {k}")
    return np.ascontiguousarray(xa, dtype=DTYPE), ya.astype(np.int64), k


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Hold out a seeded random ``fraction`` of the samples for validation.

    Returns ``(x_train, y_train, x_val, y_val)``; the validation arrays are
    None when ``fraction`` is 0.
    """
    if not 0.0 <= fraction < 1.0:
        raise TrainingError(f"val_fraction = {fraction}; expected a number in [0, 1)")
    n = x.shape[0]
    n_val = int(round(fraction * n))
    if n_val == 0:
        return x, y, None, None
    if n_val >= n:
        raise TrainingError(f"val_fraction = {fraction} leaves no training samples out of {n}")
    perm = np.random.default_rng([seed, 1]).permutation(n)
    val, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[tr], y[tr], x[val], y[val]


def possible_connections(sizes: Sequence[int]) -> int:
    """Weights of the fully connected network of layer ``sizes``."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def layer_sizes(n_inputs: int, hidden: Sequence[int], n_classes: int) -> tuple[int, ...]:
    """``(n_inputs, *hidden, n_classes)``, checked."""
    sizes = (int(n_inputs), *(int(h) for h in hidden), int(n_classes))
    if any(s <= 0 for s in sizes):
        raise TrainingError(f"layer sizes {sizes}: every layer needs at least one neuron")
    return sizes


# ------------------------------------------------------------ forward/back
def init_dense(
    sizes: Sequence[int], rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """He-normal weights (``N(0, 2 / n_in)``) and zero biases, float32."""
    weights = [
        (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(DTYPE)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    biases = [np.zeros(b, dtype=DTYPE) for b in sizes[1:]]
    return weights, biases


def _matmul(a: np.ndarray, w: Any) -> np.ndarray:
    if sp.issparse(w):
        return np.asarray(w.T @ a.T).T
    return a @ w


def forward(
    weights: Sequence[Any], biases: Sequence[np.ndarray], x: np.ndarray
) -> list[np.ndarray]:
    """Activations of every layer: ``[x, h_1, ..., h_{L-1}, logits]``.

    Hidden layers apply ReLU; the last layer is linear (the logits).
    """
    acts = [x]
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = _matmul(a, w)
        z += b
        a = z if i == last else np.maximum(z, 0, out=z)
        acts.append(a)
    return acts


def predict_logits(
    weights: Sequence[Any], biases: Sequence[np.ndarray], x: np.ndarray, batch: int = 4096
) -> np.ndarray:
    """Logits for ``x``, computed in batches."""
    out = [forward(weights, biases, x[i : i + batch])[-1] for i in range(0, x.shape[0], batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=DTYPE)


def accuracy(
    weights: Sequence[Any], biases: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray
) -> float:
    """Fraction of samples whose largest logit is the label."""
    if x.shape[0] == 0:
        return 0.0
    return float(np.mean(predict_logits(weights, biases, x).argmax(axis=1) == y))


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    s = ez.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    rows = np.arange(n)
    loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
    grad = ez / s
    grad[rows, y] -= 1.0
    grad /= n
    return loss, grad.astype(logits.dtype, copy=False)


def backward(
    weights: Sequence[Any], acts: Sequence[np.ndarray], dlogits: np.ndarray
) -> list[np.ndarray]:
    """Gradients of the loss at the pre-activations of every layer.

    ``deltas[l]`` has the shape of ``acts[l + 1]``; the weight gradient of
    layer ``l`` is ``acts[l].T @ deltas[l]`` and its bias gradient
    ``deltas[l].sum(0)`` (the loss gradient is already divided by the batch).
    """
    n = len(weights)
    deltas: list[np.ndarray] = [dlogits]
    d = dlogits
    for i in range(n - 1, 0, -1):
        w = weights[i]
        back = np.asarray(w @ d.T).T if sp.issparse(w) else d @ w.T
        back *= acts[i] > 0
        deltas.append(back)
        d = back
    deltas.reverse()
    return deltas


# ------------------------------------------------------------- optimisers
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``update = lr * v`` with ``v <- momentum * v + grad``; call :meth:`update`
    once per parameter array per step.
    """

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        if lr <= 0:
            raise TrainingError(f"learning rate {lr}; expected > 0")
        if not 0 <= momentum < 1:
            raise TrainingError(f"momentum {momentum}; expected a number in [0, 1)")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self._v: dict[int, np.ndarray] = {}

    def tick(self) -> None:
        """Start a new step (SGD keeps no step counter)."""

    def update(self, key: int, grad: np.ndarray) -> np.ndarray:
        """The amount to subtract from parameter ``key``."""
        if self.momentum == 0:
            return self.lr * grad
        v = self._v.get(key)
        if v is None or v.shape != grad.shape:
            v = np.zeros_like(grad)
        v = self.momentum * v + grad
        self._v[key] = v
        return self.lr * v

    def reset(self, key: int, positions: np.ndarray) -> None:
        """Forget the state of some entries of parameter ``key`` (rewired connections)."""
        if key in self._v:
            self._v[key][positions] = 0


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction."""

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        if lr <= 0:
            raise TrainingError(f"learning rate {lr}; expected > 0")
        self.lr, self.beta1, self.beta2, self.eps = (
            float(lr),
            float(beta1),
            float(beta2),
            float(eps),
        )
        self._m: dict[int, np.ndarray] = {}
        self._v: dict[int, np.ndarray] = {}
        self._t = 0

    def tick(self) -> None:
        """Start a new step (advances the bias-correction counter)."""
        self._t += 1

    def update(self, key: int, grad: np.ndarray) -> np.ndarray:
        """The amount to subtract from parameter ``key``."""
        t = max(self._t, 1)
        m = self._m.get(key)
        if m is None or m.shape != grad.shape:
            m, v = np.zeros_like(grad), np.zeros_like(grad)
        else:
            v = self._v[key]
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * grad * grad
        self._m[key], self._v[key] = m, v
        mhat = m / (1 - self.beta1**t)
        vhat = v / (1 - self.beta2**t)
        return (self.lr * mhat / (np.sqrt(vhat) + self.eps)).astype(grad.dtype, copy=False)

    def reset(self, key: int, positions: np.ndarray) -> None:
        """Forget the moments of some entries of parameter ``key`` (rewired connections)."""
        if key in self._m:
            self._m[key][positions] = 0
            self._v[key][positions] = 0


#: optimiser name -> class
OPTIMIZERS: dict[str, type] = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, lr: float, momentum: float = 0.9) -> SGD | Adam:
    """An optimiser by name (``sgd`` or ``adam``)."""
    if name == "sgd":
        return SGD(lr, momentum)
    if name == "adam":
        return Adam(lr)
    raise TrainingError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


#: learning-rate schedules: name -> factor of the base rate after ``done`` of ``total`` epochs
LR_SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, done: int, total: int) -> float:
    """Factor of the base learning rate for the epoch after ``done`` of ``total`` epochs.

    ``constant``: 1. ``cosine``: ``0.5 * (1 + cos(pi * done / total))`` (to 0 at the end).
    """
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + float(np.cos(np.pi * min(done, total) / max(total, 1))))
    raise TrainingError(
        f"unknown lr_schedule {schedule!r}; expected one of {', '.join(LR_SCHEDULES)}"
    )


# ------------------------------------------------------------------- loop
@dataclass(frozen=True)
class LoopOutcome:
    """What :func:`run_epochs` returns."""

    state: Any
    history: tuple[Mapping[str, Any], ...]
    epochs_run: int
    best_val_accuracy: float | None
    wall_time_s: float


def run_epochs(
    n_samples: int,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    step: Callable[[np.ndarray], float],
    snapshot: Callable[[], Any],
    validate: Callable[[], float] | None = None,
    patience: int | None = None,
    progress: bool = False,
    label: str = "training",
    end_of_epoch: Callable[[int], Mapping[str, Any]] | None = None,
) -> LoopOutcome:
    """The epoch loop: seeded shuffling, minibatches, early stopping, progress.

    Parameters
    ----------
    n_samples : int
        Number of training samples; batches are index arrays into them.
    epochs, batch_size : int
    seed : int
        Seed of the per-epoch shuffles.
    step : callable(indices) -> float
        One training step on the samples ``indices``; returns the batch loss.
    snapshot : callable() -> state
        A copy of the current parameters (kept for the best epoch).
    validate : callable() -> float, optional
        Validation accuracy; enables early stopping.
    patience : int, optional
        Stop after this many epochs without a better validation accuracy.
    progress : bool
        Show a rich progress bar (off in tests).
    end_of_epoch : callable(epoch) -> dict, optional
        Extra figures for the history record of each epoch.

    Returns
    -------
    LoopOutcome
        ``state`` is the snapshot of the best validation epoch (or of the last
        epoch without validation).
    """
    _check_loop(epochs, batch_size, patience)
    rng = np.random.default_rng([seed, 2])
    t0 = time.perf_counter()
    history: list[dict[str, Any]] = []
    best_acc: float | None = None
    best_state = None
    since_best = 0
    n_batches = -(-n_samples // batch_size)
    bar, task = _progress_bar(progress, label, epochs * n_batches)
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            losses = _one_epoch(rng.permutation(n_samples), batch_size, n_batches, step, bar, task)
            record: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses))}
            if end_of_epoch is not None:
                record.update(end_of_epoch(epoch))
            if validate is not None:
                acc = float(validate())
                record["val_accuracy"] = acc
                if best_acc is None or acc > best_acc:
                    best_acc, best_state, since_best = acc, snapshot(), 0
                else:
                    since_best += 1
            record["time_s"] = time.perf_counter() - t0
            history.append(record)
            if bar is not None:
                bar.update(task, description=_describe(label, record))
            if patience is not None and validate is not None and since_best >= patience:
                break
    finally:
        if bar is not None:
            bar.stop()
    state = best_state if best_state is not None else snapshot()
    return LoopOutcome(state, tuple(history), epoch, best_acc, time.perf_counter() - t0)


class EpochRun:
    """A training run whose methods are :func:`run_epochs`' callbacks (a mixin).

    The class has ``x`` (the training samples), ``step(idx) -> loss``,
    ``snapshot() -> state`` (a copy, kept for the best epoch),
    ``validate(x_val, y_val) -> accuracy``, ``record(epoch) -> dict`` (the
    history record's extra figures) and a ``label`` for the progress bar.
    """

    label: ClassVar[str] = "training"

    def loop_args(
        self, batch_size: int, x_val: np.ndarray | None, y_val: np.ndarray | None
    ) -> dict[str, Any]:
        """The :func:`run_epochs` arguments of this run (validation on ``x_val`` when given)."""
        run: Any = self
        return {
            "n_samples": run.x.shape[0],
            "batch_size": batch_size,
            "step": run.step,
            "snapshot": run.snapshot,
            "validate": None if x_val is None else partial(run.validate, x_val, y_val),
            "label": run.label,
            "end_of_epoch": run.record,
        }


def _check_loop(epochs: int, batch_size: int, patience: int | None) -> None:
    """The loop's counts: at least one epoch, one sample a batch, one epoch of patience."""
    if epochs < 1:
        raise TrainingError(f"epochs = {epochs}; expected >= 1")
    if batch_size < 1:
        raise TrainingError(f"batch_size = {batch_size}; expected >= 1")
    if patience is not None and patience < 1:
        raise TrainingError(f"patience = {patience}; expected >= 1")


def _one_epoch(
    perm: np.ndarray,
    batch_size: int,
    n_batches: int,
    step: Callable[[np.ndarray], float],
    bar: Any,
    task: Any,
) -> np.ndarray:
    """The batch losses of one epoch over the shuffled sample order ``perm``."""
    losses = np.empty(n_batches)
    for k in range(n_batches):
        losses[k] = step(perm[k * batch_size : (k + 1) * batch_size])
        if bar is not None:
            bar.advance(task)
    return losses


def _describe(label: str, record: Mapping[str, Any]) -> str:
    """The progress bar's text after an epoch."""
    return f"{label} epoch {record['epoch']} loss {record['loss']:.4f}" + (
        f" val {record['val_accuracy']:.4f}" if "val_accuracy" in record else ""
    )


def _progress_bar(enabled: bool, label: str, total: int):
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
    task = bar.add_task(label, total=total)
    bar.start()
    return bar, task


# ------------------------------------------------------------- to Network
def to_network(
    weights: Sequence[Any],
    biases: Sequence[np.ndarray],
    *,
    name: str = "trained",
    metadata: Mapping[str, Any] | None = None,
) -> Network:
    """A layered :class:`Network`: ReLU hidden layers, linear output, float64 CSR weights.

    Zero weights are dropped, so the network's synapses are exactly the
    nonzero trained weights.
    """
    n = len(weights)
    models = [NeuronModel("relu")] * (n - 1) + [NeuronModel("linear")]
    ws = [sp.csr_matrix(w, dtype=np.float64) for w in weights]
    bs = [np.asarray(b, dtype=np.float64) for b in biases]
    return Network.from_layers(ws, bs, models, name=name, metadata=dict(metadata or {}))


def finish_training(
    method: str,
    weights: Sequence[Any],
    biases: Sequence[np.ndarray],
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    t0: float,
    seed: int,
    info: Mapping[str, Any],
    n_possible: int,
    outcome: LoopOutcome | None = None,
    val_accuracy: float | None = None,
    epochs_run: int | None = None,
    history: Sequence[Mapping[str, Any]] = (),
    n_parameters: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> TrainResult:
    """The :class:`TrainResult` every method ends with.

    Builds the network (:func:`to_network`, named ``method``, with
    ``metadata["training"] = {"method", "seed", **metadata, **info}``),
    measures the training accuracy on ``(x_train, y_train)``, counts the
    nonzero weights and stops the clock started at ``t0``.

    Parameters
    ----------
    method : registry name of the method
    weights, biases : the trained layers
    x_train, y_train : the samples the gradient steps used
    outcome : the training loop's :class:`LoopOutcome`, or its figures
        ``val_accuracy``, ``epochs_run`` and ``history`` given one by one
    t0 : ``time.perf_counter()`` at the start of the training call
    seed : the method's seed
    info : method-specific facts (also recorded in the network metadata)
    n_possible : weights of the fully connected network of the same sizes
    n_parameters : trainable parameters (default: the nonzero weights)
    metadata : extra training metadata, placed before ``info``
    """
    if outcome is not None:
        val_accuracy, epochs_run = outcome.best_val_accuracy, outcome.epochs_run
        history = outcome.history
    if epochs_run is None:
        raise TrainingError(
            f"training method {method}: finish_training needs outcome or epochs_run"
        )
    n_connections = int(sum(np.count_nonzero(w) for w in weights))
    meta = {"method": method, "seed": seed, **(metadata or {}), **info}
    network = to_network(weights, biases, name=method, metadata={"training": meta})
    return TrainResult(
        network=network,
        method=method,
        train_accuracy=accuracy(weights, biases, x_train, y_train),
        val_accuracy=val_accuracy,
        n_connections=n_connections,
        n_possible=int(n_possible),
        n_parameters=n_connections if n_parameters is None else int(n_parameters),
        wall_time_s=time.perf_counter() - t0,
        epochs_run=epochs_run,
        history=tuple(history),
        info=info,
    )


def network_logits(network: Network, x: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Outputs of a layered graded (``relu``/``linear``) network for inputs ``x`` (float64)."""
    layers = list(network.layers())
    for _proj, pop in layers:
        if pop.model.kind not in ("relu", "linear"):
            raise TrainingError(
                f"network {network.name}: population {pop.name} is {pop.model.kind}; "
                "evaluation here needs graded relu/linear neurons"
            )
    inputs = network.inputs
    if len(inputs) != 1 or len(network.outputs) != 1:
        raise TrainingError(f"network {network.name}: expected one input and one output population")
    n_in = network.population(inputs[0]).size
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_in:
        raise TrainingError(
            f"network {network.name}: inputs have shape {x.shape}; expected (n, {n_in})"
        )
    outs = []
    for i in range(0, x.shape[0], batch):
        outs.append(_graded(network, x[i : i + batch]))
    return np.concatenate(outs) if outs else np.zeros((0, 0))


def _graded(network: Network, x: np.ndarray) -> np.ndarray:
    values: dict[str, np.ndarray] = {network.inputs[0]: x}
    for name in network.order():
        pop = network.population(name)
        if pop.model.kind == "input":
            continue
        z = np.zeros((x.shape[0], pop.size)) + pop.bias
        for proj in network.projections_into(name):
            z += np.asarray(proj.weights.T @ values[proj.pre].T).T
        if pop.model.kind == "relu":
            z = np.minimum(np.maximum(z, 0.0), pop.model.param("cap"))
        values[name] = z
    return values[network.outputs[0]]


def network_accuracy(network: Network, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a graded network's largest output against labels ``y``."""
    if len(y) == 0:
        return 0.0
    return float(np.mean(network_logits(network, x).argmax(axis=1) == np.asarray(y)))
