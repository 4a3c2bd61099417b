"""Tensor sketching of fully connected layers, trained directly.

Kasiviswanathan, Narodytska & Jin, *Network Approximation using Tensor
Sketching*, IJCAI 2018 (arXiv 1710.10245, 2017): a fully connected layer
``W`` (``d1 x d2``, inputs x outputs) is replaced by ``L`` pairs of sketches
with fixed random projections ``U1_l`` (``k x d1``) and ``U2_l`` (``k x d2``),
independent random sign matrices scaled by ``1/sqrt(k)`` (so
``E[U^T U] = I``)::

    S1_l = U1_l W      (k x d2)        S2_l = W U2_l^T      (d1 x k)
    W_hat = 1/(2L) * sum_l (U1_l^T S1_l + S2_l U2_l)

The trainable parameters are the sketches ``S1_l, S2_l``:
``L * k * (d1 + d2)`` numbers instead of ``d1 * d2``. The layer computes
``h @ W_hat`` and gradients reach the sketches through the same products
(``dS1_l = U1_l dW / 2L``, ``dS2_l = dW U2_l^T / 2L``). The trained layer
converts to an ordinary :class:`~neurosim.network.Network` whose weights are
``W_hat`` (dense), which is what the mapper sees.

Only layers where the sketch has fewer parameters than the layer are
sketched (``sketch_layers="auto"``); the others are trained as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.train.core import (
    DTYPE,
    TrainResult,
    accuracy,
    backward,
    forward,
    init_dense,
    layer_sizes,
    make_optimizer,
    run_epochs,
    softmax_cross_entropy,
)
from neurosim.train.options import (
    GradientOptions,
    TrainData,
    option,
    options_class,
    trainer,
)

__all__ = ["SketchOptions", "SketchedLayer", "sketch_layer", "train_sketch"]


class SketchedLayer:
    """Fixed projections and trainable sketches of one layer.

    Attributes
    ----------
    u1 : (L*k, d1) float32, fixed
    u2 : (L*k, d2) float32, fixed
    s1 : (L*k, d2) float32, trainable
    s2 : (d1, L*k) float32, trainable
    n_sketches : L
    """

    def __init__(
        self, u1: np.ndarray, u2: np.ndarray, s1: np.ndarray, s2: np.ndarray, n_sketches: int
    ):
        self.u1, self.u2, self.s1, self.s2, self.n_sketches = u1, u2, s1, s2, int(n_sketches)

    @property
    def n_parameters(self) -> int:
        return int(self.s1.size + self.s2.size)

    def weight(self) -> np.ndarray:
        """``W_hat = (U1^T S1 + S2 U2) / 2L`` (sums over the ``L`` stacked sketches)."""
        return ((self.u1.T @ self.s1 + self.s2 @ self.u2) / DTYPE(2 * self.n_sketches)).astype(
            DTYPE
        )

    def grads(self, dw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradients of the sketches from the gradient ``dw`` of ``W_hat``."""
        c = DTYPE(1.0 / (2 * self.n_sketches))
        return (self.u1 @ dw) * c, (dw @ self.u2.T) * c


def sketch_layer(
    w: np.ndarray, sketch_size: int, n_sketches: int, rng: np.random.Generator
) -> SketchedLayer:
    """Sketch ``w`` with ``n_sketches`` pairs of ``sketch_size``-row random sign projections."""
    d1, d2 = w.shape
    k, L = int(sketch_size), int(n_sketches)
    if k < 1 or L < 1:
        raise TrainingError(f"sketch_size = {k}, n_sketches = {L}; expected positive integers")
    scale = DTYPE(1.0 / np.sqrt(k))
    u1 = (np.where(rng.random((L * k, d1)) < 0.5, -1, 1) * scale).astype(DTYPE)
    u2 = (np.where(rng.random((L * k, d2)) < 0.5, -1, 1) * scale).astype(DTYPE)
    return SketchedLayer(u1, u2, (u1 @ w).astype(DTYPE), (w @ u2.T).astype(DTYPE), L)


def _which(sizes, sketch_layers, ks, L) -> list[bool]:
    n = len(sizes) - 1
    if sketch_layers == "auto":
        return [L * ks[i] * (sizes[i] + sizes[i + 1]) < sizes[i] * sizes[i + 1] for i in range(n)]
    if sketch_layers == "all":
        return [True] * n
    chosen = [int(i) for i in sketch_layers]
    for i in chosen:
        if not 0 <= i < n:
            raise TrainingError(f"sketch_layers: layer index {i}; expected 0..{n - 1}")
    return [i in chosen for i in range(n)]


def _sketch_sizes(
    sketch_size: int | Sequence[int], sketch_layers: str | Sequence[int], n: int
) -> list[int]:
    """The sketch size of each of the ``n`` layers; checks ``sketch_layers``' spelling."""
    ks = [int(k) for k in (list(sketch_size) if np.ndim(sketch_size) else [sketch_size] * n)]
    if len(ks) != n:
        raise TrainingError(f"sketch_size has {len(ks)} values; expected 1 or {n}")
    if isinstance(sketch_layers, str) and sketch_layers not in ("auto", "all"):
        raise TrainingError(
            f"sketch_layers {sketch_layers!r}; expected 'auto', 'all' or layer indices"
        )
    return ks


def _weights(layers: list[SketchedLayer | np.ndarray]) -> list[np.ndarray]:
    """Dense weights of every layer (a sketched layer's product of its sketches)."""
    return [lay.weight() if isinstance(lay, SketchedLayer) else lay for lay in layers]


def _sketch_step(
    layers: list[SketchedLayer | np.ndarray],
    biases: list[np.ndarray],
    xt: np.ndarray,
    yt: np.ndarray,
    opt: Any,
) -> Callable[[np.ndarray], float]:
    """One minibatch step: backprop through the dense weights, updates of sketches in place."""

    def step(idx: np.ndarray) -> float:
        ws = _weights(layers)
        acts = forward(ws, biases, xt[idx])
        loss, dl = softmax_cross_entropy(acts[-1], yt[idx])
        deltas = backward(ws, acts, dl)
        opt.tick()
        for i, lay in enumerate(layers):
            dw = acts[i].T @ deltas[i]
            if isinstance(lay, SketchedLayer):
                g1, g2 = lay.grads(dw)
                lay.s1 -= opt.update(3 * i, g1)
                lay.s2 -= opt.update(3 * i + 1, g2)
            else:
                lay -= opt.update(3 * i, dw)
            biases[i] -= opt.update(3 * i + 2, deltas[i].sum(axis=0))
        return loss

    return step


def _initial_layers(
    sizes: Sequence[int], ks: list[int], which: list[bool], n_sketches: int, seed: int
) -> tuple[list[SketchedLayer | np.ndarray], list[np.ndarray]]:
    """Seeded dense initial weights, the chosen layers replaced by their sketches; the biases."""
    rng = np.random.default_rng([seed, 40])
    w0, biases = init_dense(sizes, rng)
    layers: list[SketchedLayer | np.ndarray] = [
        sketch_layer(w, ks[i], n_sketches, rng) if which[i] else w for i, w in enumerate(w0)
    ]
    return layers, biases


def _parameter_info(
    layers: list[SketchedLayer | np.ndarray], sizes: Sequence[int], which: list[bool]
) -> dict[str, Any]:
    """Which layers are sketched, and their trainable weights against the dense counts."""
    dense_params = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    params = [lay.n_parameters if isinstance(lay, SketchedLayer) else lay.size for lay in layers]
    return {
        "sketched_layers": [i for i in range(len(which)) if which[i]],
        "layer_parameters": params,
        "dense_parameters": dense_params,
        "parameter_reduction": float(sum(dense_params) / int(sum(params))),
    }


@options_class("tensor sketching")
class SketchOptions(GradientOptions):
    """Options of :func:`train_sketch`; the optimiser trains the sketches and the
    unsketched layers. ``auto`` sketches the layers where ``L * k * (d1 + d2) < d1 * d2``."""

    sketch_size: int | Sequence[int] = option(20, "k, one or one per layer", "ints")
    n_sketches: int = option(1, "L, sketch pairs per layer", "int")
    sketch_layers: str | Sequence[int] = option(
        "auto", "auto, all, or layer indices like 0,1 (0 = input layer)", "layers"
    )


@trainer(SketchOptions)
def train_sketch(d: TrainData, o: SketchOptions) -> TrainResult:
    """Train a network whose fully connected layers are tensor sketches.

    Takes ``x, y`` (inputs and integer labels), ``n_classes`` (default
    ``max(y) + 1``) and the options of :class:`SketchOptions`.

    Returns
    -------
    TrainResult
        ``n_parameters`` counts trainable weights (sketches plus unsketched
        layers); ``info["parameter_reduction"]`` is the dense weight count
        divided by it.
    """
    sizes = layer_sizes(d.n_features, o.hidden, d.n_classes)
    ks = _sketch_sizes(o.sketch_size, o.sketch_layers, len(sizes) - 1)
    which = _which(sizes, o.sketch_layers, ks, o.n_sketches)
    layers, biases = _initial_layers(sizes, ks, which, o.n_sketches, o.seed)
    xt, yt, xv, yv = d.split
    opt = make_optimizer(o.optimizer, o.lr, o.momentum)
    outcome = run_epochs(
        xt.shape[0],
        epochs=o.epochs,
        batch_size=o.batch_size,
        seed=o.seed,
        step=_sketch_step(layers, biases, xt, yt, opt),
        snapshot=lambda: ([w.copy() for w in _weights(layers)], [b.copy() for b in biases]),
        validate=None if xv is None else (lambda: accuracy(_weights(layers), biases, xv, yv)),
        patience=o.patience,
        progress=o.progress,
        label="sketch",
    )
    weights, best_biases = outcome.state
    info = {"hidden": list(o.hidden), "sketch_size": ks, "n_sketches": int(o.n_sketches)}
    info.update(_parameter_info(layers, sizes, which))
    info.update(optimizer=o.optimizer, lr=o.lr)
    n_possible, n_parameters = sum(info["dense_parameters"]), sum(info["layer_parameters"])
    counts = {"n_possible": int(n_possible), "n_parameters": int(n_parameters)}
    return d.finish("sketch", weights, best_biases, outcome, seed=o.seed, info=info, **counts)
