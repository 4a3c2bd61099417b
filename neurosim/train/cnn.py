"""A small convolutional network trained with numpy/scipy only (im2col + BLAS).

Architecture (``channels=(c1, c2)``, images ``(C, H, W)`` with ``H, W``
divisible by 4)::

    input (C, H, W)
    conv1  c1 x C x 3 x 3, padding 1, ReLU        (c1, H, W)
    pool1  average 2 x 2                          (c1, H/2, W/2)   linear
    conv2  c2 x c1 x 3 x 3, padding 1, ReLU       (c2, H/2, W/2)
    pool2  average 2 x 2                          (c2, H/4, W/4)   linear
    out    dense (flatten in C order) -> classes  linear

Trained with Adam on softmax cross-entropy, float32, minibatches. The
result is a :class:`~neurosim.network.Network` whose conv and pool
projections are compact (:mod:`neurosim.conv`): the kernel is stored once.
The convolution and its gradients run as im2col + matrix products; the
input gradient scatters back through a fixed sparse col2im matrix.

The parameterisation of each conv kernel is pluggable (``kernels``): plain
kernels here, tensor sketches in :mod:`neurosim.train.conv_sketch`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec, im2col_index
from neurosim.errors import TrainingError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.train.core import TrainResult, check_training_data

__all__ = [
    "ConvGeometry",
    "PlainKernel",
    "cnn_forward",
    "cnn_network",
    "image_shape_of",
    "spiking_result",
    "train_cnn",
]

_F = np.float32


def image_shape_of(n_features: int, image_shape: Sequence[int] | None) -> tuple[int, int, int]:
    """``(C, H, W)`` of flat samples: given, or a single-channel square image."""
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
    else:
        side = int(round(np.sqrt(n_features)))
        shape = (1, side, side)
    if len(shape) != 3 or int(np.prod(shape)) != n_features:
        raise TrainingError(
            f"cnn: image_shape {shape} does not hold {n_features} features; expected (C, H, W)"
        )
    if shape[1] % 4 or shape[2] % 4:
        raise TrainingError(
            f"cnn: image_shape {shape}: height and width must be divisible by 4 (two 2x2 pools)"
        )
    return shape  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class ConvGeometry:
    """Index tables of one 'same' 3x3 convolution: im2col gather and col2im scatter."""

    c_in: int
    c_out: int
    size: tuple[int, int]
    idx: np.ndarray  # (K, P), -1 on padding -> points at the zero slot
    scatter: sp.csr_matrix  # (K * P, H*W + 1)

    @classmethod
    def make(cls, c_in: int, c_out: int, size: tuple[int, int], k: int = 3) -> ConvGeometry:
        spec = ConvSpec(np.zeros((c_out, c_in, k, k)), (c_in, *size), padding=k // 2)
        idx = im2col_index(spec)
        hw = size[0] * size[1]
        idx = np.where(idx < 0, hw, idx)
        n = idx.size
        scatter = sp.csr_matrix(
            (np.ones(n, dtype=_F), (np.arange(n), idx.ravel())), shape=(n, hw + 1)
        )
        return cls(c_in, c_out, size, idx, scatter)

    def cols(self, x: np.ndarray) -> np.ndarray:
        """im2col: ``(B, C_in * H * W)`` -> ``(B, C_in * K, P)``."""
        b = x.shape[0]
        padded = np.zeros((b, self.c_in, self.idx.max() + 1), dtype=_F)
        padded[:, :, :-1] = x.reshape(b, self.c_in, -1)
        return padded[:, :, self.idx].reshape(b, self.c_in * self.idx.shape[0], self.idx.shape[1])

    def col2im(self, dcols: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`cols`: ``(B, C_in * K, P)`` -> ``(B, C_in * H * W)``."""
        b = dcols.shape[0]
        flat = dcols.reshape(b * self.c_in, -1)
        out = np.asarray(self.scatter.T @ flat.T).T  # (B*C, HW+1)
        return out[:, :-1].reshape(b, -1)


class PlainKernel:
    """A conv kernel as a free parameter (He initialisation)."""

    def __init__(self, c_out: int, c_in: int, k: int, rng: np.random.Generator) -> None:
        self.params = [
            (rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k))).astype(_F)
        ]
        self.n_parameters = int(self.params[0].size)

    def kernel(self) -> np.ndarray:
        return self.params[0]

    def grads(self, dkernel: np.ndarray) -> list[np.ndarray]:
        return [dkernel]


def _pool_fwd(h: np.ndarray, c: int, size: tuple[int, int]) -> np.ndarray:
    b = h.shape[0]
    return h.reshape(b, c, size[0] // 2, 2, size[1] // 2, 2).mean(axis=(3, 5)).reshape(b, -1)


def _pool_bwd(d: np.ndarray, c: int, size: tuple[int, int]) -> np.ndarray:
    b = d.shape[0]
    g = d.reshape(b, c, size[0] // 2, 1, size[1] // 2, 1) * _F(0.25)
    return np.broadcast_to(g, (b, c, size[0] // 2, 2, size[1] // 2, 2)).reshape(b, -1)


def cnn_forward(
    x: np.ndarray,
    geoms: Sequence[ConvGeometry],
    kernels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    dense: np.ndarray,
    dense_b: np.ndarray,
    keep: bool = False,
) -> tuple[np.ndarray, list[Any]]:
    """Logits of a batch; with ``keep`` also the activations the backward pass needs."""
    saved: list[Any] = []
    h = x
    for g, k, b in zip(geoms, kernels, biases, strict=True):
        cols = g.cols(h)
        a = np.matmul(k.reshape(g.c_out, -1), cols) + b[None, :, None]  # (B, C_out, P)
        r = np.maximum(a, 0).reshape(x.shape[0], -1)
        if keep:
            saved.append((cols, a > 0))
        h = _pool_fwd(r, g.c_out, g.size)
    if keep:
        saved.append(h)
    return h @ dense + dense_b, saved


def _backward(
    dlogits: np.ndarray,
    geoms: Sequence[ConvGeometry],
    kernels: Sequence[np.ndarray],
    dense: np.ndarray,
    saved: list[Any],
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    flat = saved[-1]
    d_dense = flat.T @ dlogits
    d_dense_b = dlogits.sum(axis=0)
    dh = dlogits @ dense.T
    dks: list[np.ndarray] = [np.empty(0)] * len(geoms)
    dbs: list[np.ndarray] = [np.empty(0)] * len(geoms)
    for i in range(len(geoms) - 1, -1, -1):
        g = geoms[i]
        cols, mask = saved[i]
        da = _pool_bwd(dh, g.c_out, g.size).reshape(mask.shape) * mask  # (B, C_out, P)
        dks[i] = np.einsum("bop,bqp->oq", da, cols, optimize=True).reshape(kernels[i].shape)
        dbs[i] = da.sum(axis=(0, 2))
        if i > 0:
            dcols = np.matmul(kernels[i].reshape(g.c_out, -1).T, da)
            dh = g.col2im(dcols)
    return dks, dbs, d_dense, d_dense_b


class _Adam:
    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        corr = np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * corr * m / (np.sqrt(v) + 1e-8)


def _softmax_grad(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = y.shape[0]
    loss = float(-np.log(p[np.arange(n), y] + 1e-12).mean())
    p[np.arange(n), y] -= 1
    return loss, (p / n).astype(_F)


def _predict(x: np.ndarray, geoms, kernels, biases, dense, dense_b, batch: int = 500) -> np.ndarray:
    out = [
        cnn_forward(x[i : i + batch], geoms, kernels, biases, dense, dense_b)[0].argmax(axis=1)
        for i in range(0, x.shape[0], batch)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def cnn_network(
    image_shape: Sequence[int],
    kernels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    dense: np.ndarray,
    dense_b: np.ndarray,
    *,
    name: str = "cnn",
    metadata: dict[str, Any] | None = None,
) -> Network:
    """The trained CNN as a :class:`Network` with compact conv and pool projections."""
    c, h, w = (int(s) for s in image_shape)
    pops = [Population("input", c * h * w, NeuronModel("input"), shape=(c, h, w))]
    projs: list[Projection] = []
    prev, shape = "input", (c, h, w)
    for i, (k, b) in enumerate(zip(kernels, biases, strict=True), start=1):
        spec = ConvSpec(np.asarray(k, dtype=np.float64), shape, padding=1, where=f"conv{i}")
        cshape = spec.out_shape
        pops.append(
            Population(
                f"conv{i}",
                spec.n_post,
                NeuronModel("relu"),
                np.repeat(np.asarray(b, dtype=np.float64), cshape[1] * cshape[2]),
                shape=cshape,
            )
        )
        projs.append(Projection(prev, f"conv{i}", name=f"conv{i}", spec=spec))
        pool = PoolSpec("avg", 2, cshape, where=f"pool{i}")
        pops.append(
            Population(f"pool{i}", pool.n_post, NeuronModel("linear"), shape=pool.out_shape)
        )
        projs.append(Projection(f"conv{i}", f"pool{i}", name=f"pool{i}", spec=pool))
        prev, shape = f"pool{i}", pool.out_shape
    pops.append(
        Population(
            "output", dense.shape[1], NeuronModel("linear"), np.asarray(dense_b, dtype=np.float64)
        )
    )
    projs.append(Projection(prev, "output", np.asarray(dense, dtype=np.float64), name="dense"))
    return Network(tuple(pops), tuple(projs), name=name, metadata=dict(metadata or {}))


def _epoch(x, y, order, batch, geoms, params, kernel_of, opt) -> float:
    """One pass over ``order``; returns the mean loss."""
    losses = []
    n_conv = len(geoms)
    for s in range(0, order.size, batch):
        idx = order[s : s + batch]
        kernels = [kp.kernel() for kp in kernel_of]
        biases = params["biases"]
        logits, saved = cnn_forward(
            x[idx], geoms, kernels, biases, params["dense"][0], params["dense"][1], True
        )
        loss, dlog = _softmax_grad(logits, y[idx])
        dks, dbs, dd, ddb = _backward(dlog, geoms, kernels, params["dense"][0], saved)
        grads: list[np.ndarray] = []
        for i in range(n_conv):
            grads.extend(kernel_of[i].grads(dks[i]))
        grads.extend(dbs)
        grads.extend([dd, ddb])
        opt.step(grads)
        losses.append(loss)
    return float(np.mean(losses))


def train_cnn(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    channels: Sequence[int] = (16, 32),
    image_shape: Sequence[int] | None = None,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    kernel_factory: Any = None,
    method: str = "cnn",
    spiking: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train the two-conv CNN of the module docstring.

    Parameters
    ----------
    x : ndarray, shape (n, C*H*W)
        Flat images (C order), e.g. MNIST scaled to [0, 1].
    y : ndarray of int, shape (n,)
    n_classes : int, optional
    channels : (c1, c2)
        Output channels of the two convolutions.
    image_shape : (C, H, W) or (H, W), optional
        Default: one channel, square.
    epochs, batch_size, lr : Adam schedule (the rate halves three times over the run)
    seed : int
        Seeds the initialisation and the sample order.
    kernel_factory : callable, optional
        ``(c_out, c_in, k, rng) -> object`` with ``params``, ``kernel()``,
        ``grads(dkernel)`` and ``n_parameters``; default :class:`PlainKernel`.
    spiking : mapping, optional
        Convert the trained network to IF neurons for a known number of steps
        (:func:`neurosim.sim.conversion.convert_to_spiking` with ``steps`` and ``rounding``): ``steps``
        (required), ``percentile`` (99.9), ``calibration`` (the first 256
        training images), ``rounding`` (0.5), ``reset`` ("subtract").

    Returns
    -------
    TrainResult
        ``network`` with compact conv/pool projections (IF neurons when
        ``spiking`` is given; ``train_accuracy`` is then still the ReLU
        network's and ``info["spiking"]`` says how it was converted);
        ``n_parameters`` the trained parameters, ``n_connections`` the
        unrolled synapses.
    """
    t0 = time.perf_counter()
    xs, ys, k = check_training_data(x, y, n_classes)
    shape = image_shape_of(xs.shape[1], image_shape)
    if len(channels) != 2 or min(channels) < 1:
        raise TrainingError(f"cnn: channels {tuple(channels)}; expected two positive integers")
    rng = np.random.default_rng(seed)
    geoms, kernel_of, params = _init_cnn(shape, channels, k, kernel_factory or PlainKernel, rng)
    flat_params = [p for kp in kernel_of for p in kp.params] + params["biases"] + params["dense"]
    opt = _Adam(flat_params, lr)
    history = []
    for epoch in range(int(epochs)):
        opt.lr = lr * 0.5 ** (3.0 * epoch / max(int(epochs), 3))  # halves three times over the run
        loss = _epoch(
            xs, ys, rng.permutation(xs.shape[0]), int(batch_size), geoms, params, kernel_of, opt
        )
        history.append({"epoch": epoch + 1, "loss": loss, "seconds": time.perf_counter() - t0})
    kernels = [kp.kernel() for kp in kernel_of]
    sub = rng.choice(xs.shape[0], size=min(10_000, xs.shape[0]), replace=False)
    train_acc = float(
        (_predict(xs[sub], geoms, kernels, params["biases"], *params["dense"]) == ys[sub]).mean()
    )
    n_params = sum(kp.n_parameters for kp in kernel_of) + int(params["dense"][0].size)
    fit = {"method": method, "seed": seed, "channels": channels, "epochs": epochs,
           "batch_size": batch_size, "lr": lr}
    result = _cnn_result(shape, kernels, params, fit, (train_acc, n_params, tuple(history), t0))
    return result if spiking is None else spiking_result(result, x, spiking)


_SPIKING_KEYS = ("steps", "percentile", "calibration", "rounding", "reset")


def spiking_result(result: TrainResult, x: np.ndarray, spiking: Mapping[str, Any]) -> TrainResult:
    """``result`` with its network converted to IF neurons for ``spiking["steps"]`` steps.

    Parameters
    ----------
    result : TrainResult
        A trained ReLU CNN (:func:`train_cnn`).
    x : ndarray, shape (n, C*H*W)
        The training images; the first ``spiking["calibration"]`` (256) set the scales.
    spiking : mapping
        ``steps`` (required), ``percentile``, ``calibration``, ``rounding``, ``reset``
        (see :func:`neurosim.sim.conversion.convert_to_spiking`).

    Returns
    -------
    TrainResult
        The same figures, the IF network, and ``info["spiking"]``.
    """
    from neurosim.sim.conversion import convert_to_spiking

    if not isinstance(spiking, Mapping) or "steps" not in spiking:
        raise TrainingError(f"cnn: spiking {spiking!r}; expected a mapping with 'steps'")
    unknown = sorted(set(spiking) - set(_SPIKING_KEYS))
    if unknown:
        raise TrainingError(
            f"cnn: spiking option {unknown[0]!r}; expected some of {', '.join(_SPIKING_KEYS)}"
        )
    spec = {"percentile": 99.9, "calibration": 256, "rounding": 0.5, "reset": "subtract", **spiking}
    calib = np.asarray(x, dtype=np.float64)[: int(spec["calibration"])]
    conv = convert_to_spiking(
        result.network,
        calib,
        steps=int(spec["steps"]),
        percentile=float(spec["percentile"]),
        rounding=float(spec["rounding"]),
        reset=str(spec["reset"]),
    )
    info = {**result.info, "spiking": {**spec, "calibration": int(calib.shape[0]),
                                       "scales": dict(conv.scales)}}
    return dataclasses.replace(result, network=conv.network, info=info)


def _init_cnn(shape, channels, k, factory, rng):
    """Conv geometries, kernel parametrisations and ``{"biases", "dense"}`` of a new CNN.

    Draws from ``rng`` in a fixed order: each conv kernel, then the dense weights.
    """
    c_prev, size = shape[0], (shape[1], shape[2])
    geoms, kernel_of = [], []
    for c in channels:
        geoms.append(ConvGeometry.make(c_prev, int(c), size))
        kernel_of.append(factory(int(c), c_prev, 3, rng))
        c_prev, size = int(c), (size[0] // 2, size[1] // 2)
    n_flat = c_prev * size[0] * size[1]
    params = {
        "biases": [np.zeros(int(c), dtype=_F) for c in channels],
        "dense": [
            (rng.standard_normal((n_flat, k)) * np.sqrt(1.0 / n_flat)).astype(_F),
            np.zeros(k, dtype=_F),
        ],
    }
    return geoms, kernel_of, params


def _cnn_result(shape, kernels, params, fit, outcome):
    """Assemble the :class:`TrainResult` of :func:`train_cnn` (network, info, counts).

    ``fit``: method, seed, channels, epochs, batch_size, lr; ``outcome``:
    (training accuracy, trained parameters, history, start time).
    """
    train_acc, n_params, history, t0 = outcome
    method, seed, epochs = fit["method"], fit["seed"], fit["epochs"]
    info = {
        "channels": [int(c) for c in fit["channels"]],
        "image_shape": list(shape),
        "epochs": int(epochs),
        "batch_size": int(fit["batch_size"]),
        "lr": fit["lr"],
    }
    meta = {"training": {"method": method, "seed": int(seed), **info}}
    net = cnn_network(
        shape,
        kernels,
        params["biases"],
        params["dense"][0],
        params["dense"][1],
        name=method,
        metadata=meta,
    )
    return TrainResult(
        network=net,
        method=method,
        train_accuracy=train_acc,
        val_accuracy=None,
        n_connections=net.n_synapses,
        n_possible=net.n_synapses,
        n_parameters=n_params,
        wall_time_s=time.perf_counter() - t0,
        epochs_run=int(epochs),
        history=history,
        info=info,
    )
