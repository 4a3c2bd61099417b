"""The CNN of :mod:`neurosim.train.cnn` seen as a list of weight matrices, one per layer.

Conv DEEP R (:mod:`neurosim.train.conv_deep_r`) and conv CoNNTrA
(:mod:`neurosim.train.conv_conntra`) train the same architecture as
:func:`~neurosim.train.cnn.train_cnn` (conv 3x3 -> ReLU -> avg pool 2 ->
conv 3x3 -> ReLU -> avg pool 2 -> dense), but they treat every weight as a
coordinate: every kernel entry of every ``(out_ch, in_ch)`` pair and every
dense weight. Both hold each layer as a matrix ``(n_in, n_out)`` in the
convention of the fully connected methods (row = input, column = output
neuron): a conv kernel ``(C_out, C_in, 3, 3)`` is the matrix
``(C_in * 9, C_out)``, so a column is an output channel and a column's
nonzeros are that channel's active kernel entries (its fan-in in kernel
entries). Forward and backward passes are :mod:`neurosim.train.cnn`'s
(im2col + BLAS); the trained network keeps compact conv kernels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.train.cnn import (
    ConvGeometry,
    _backward,
    _softmax_grad,
    cnn_forward,
    cnn_network,
    image_shape_of,
)
from neurosim.train.core import EpochRun
from neurosim.train.options import Options, option, options_class

__all__ = ["ConvArchitecture", "ConvRun", "ConvShapeOptions", "softmax_grad"]

_F = np.float32
_K = 3  # kernel side of both convolutions

softmax_grad = _softmax_grad
"""``(mean cross-entropy, dlogits)`` of a batch (:mod:`neurosim.train.cnn`'s)."""


@options_class("conv DEEP R and conv CoNNTrA (deep_r_cnn, conntra_cnn)")
class ConvShapeOptions(Options):
    """The CNN of :mod:`neurosim.train.cnn`: channels of its two convolutions, image shape."""

    channels: Sequence[int] = option((16, 32), "output channels of the two convolutions, e.g. 16,32", "ints")
    image_shape: Sequence[int] | None = option(
        None, "image shape C,H,W or H,W (default: one square channel)", "ints"
    )


@dataclass(frozen=True, eq=False)
class ConvArchitecture:
    """Shapes and passes of the two-conv CNN over per-layer weight matrices.

    Attributes
    ----------
    image_shape : (C, H, W)
    channels : output channels of the convolutions
    n_classes : output neurons of the dense layer
    geoms : the im2col tables of each convolution
    """

    image_shape: tuple[int, int, int]
    channels: tuple[int, ...]
    n_classes: int
    geoms: tuple[ConvGeometry, ...]

    @classmethod
    def make(
        cls,
        n_features: int,
        image_shape: Sequence[int] | None,
        channels: Sequence[int],
        n_classes: int,
        method: str,
    ) -> ConvArchitecture:
        """The architecture of ``n_features``-pixel images; ``method`` names bad input."""
        if image_shape is not None and np.ndim(image_shape) != 1:
            raise TrainingError(f"{method}: image_shape {image_shape!r}; expected (C, H, W) or (H, W)")
        shape = image_shape_of(n_features, image_shape)
        chans = tuple(int(c) for c in channels) if np.ndim(channels) == 1 else ()
        if len(chans) != 2 or min(chans) < 1 or any(c != f for c, f in zip(chans, channels, strict=True)):
            raise TrainingError(f"{method}: channels {channels!r}; expected two positive integers")
        geoms, c_prev, size = [], shape[0], (shape[1], shape[2])
        for c in chans:
            geoms.append(ConvGeometry.make(c_prev, c, size, _K))
            c_prev, size = c, (size[0] // 2, size[1] // 2)
        return cls(shape, chans, int(n_classes), tuple(geoms))

    @property
    def names(self) -> tuple[str, ...]:
        """Layer names, as in the trained network: ``conv1``, ``conv2``, ``dense``."""
        return (*(f"conv{i}" for i in range(1, len(self.channels) + 1)), "dense")

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """``(n_in, n_out)`` of each layer's matrix: ``(C_in * 9, C_out)`` for a conv."""
        convs = tuple((g.c_in * _K * _K, g.c_out) for g in self.geoms)
        last = self.geoms[-1]
        n_flat = last.c_out * (last.size[0] // 2) * (last.size[1] // 2)
        return (*convs, (n_flat, self.n_classes))

    def kernels(self, mats: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Conv kernels ``(C_out, C_in, 3, 3)`` of the conv layers' matrices."""
        return [
            np.ascontiguousarray(m.T).reshape(g.c_out, g.c_in, _K, _K)
            for g, m in zip(self.geoms, mats, strict=False)
        ]

    def logits(
        self, x: np.ndarray, mats: Sequence[np.ndarray], biases: Sequence[np.ndarray], keep: bool = False
    ) -> tuple[np.ndarray, list[Any]]:
        """Logits of a batch (and, with ``keep``, what :meth:`gradients` needs)."""
        n = len(self.geoms)
        return cnn_forward(
            x, self.geoms, self.kernels(mats), biases[:n], mats[n], biases[n], keep=keep
        )

    def gradients(
        self, dlogits: np.ndarray, mats: Sequence[np.ndarray], saved: list[Any]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Loss gradients of every layer's matrix and bias (backward of :meth:`logits`)."""
        n = len(self.geoms)
        dks, dbs, dd, ddb = _backward(dlogits, self.geoms, self.kernels(mats), mats[n], saved)
        gmats = [np.ascontiguousarray(dk.reshape(dk.shape[0], -1).T) for dk in dks]
        return [*gmats, dd], [*dbs, ddb]

    def predict(
        self, x: np.ndarray, mats: Sequence[np.ndarray], biases: Sequence[np.ndarray], batch: int = 500
    ) -> np.ndarray:
        """Predicted classes of ``x`` (in batches)."""
        out = [
            self.logits(x[i : i + batch], mats, biases)[0].argmax(axis=1)
            for i in range(0, x.shape[0], batch)
        ]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def accuracy(
        self, x: np.ndarray, y: np.ndarray, mats: Sequence[np.ndarray], biases: Sequence[np.ndarray]
    ) -> float:
        """Fraction of ``x`` classified as ``y``."""
        return float((self.predict(x, mats, biases) == y).mean()) if y.size else 0.0

    def network(
        self,
        mats: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        *,
        name: str,
        metadata: dict[str, Any] | None = None,
    ) -> Network:
        """The trained CNN as a :class:`Network` with compact conv and pool projections."""
        n = len(self.geoms)
        return cnn_network(
            self.image_shape,
            self.kernels(mats),
            biases[:n],
            mats[n],
            biases[n],
            name=name,
            metadata=metadata,
        )

    def n_possible_synapses(self) -> int:
        """Unrolled synapses of the network with every weight nonzero."""
        ones = [np.ones(s, dtype=_F) for s in self.layer_shapes]
        zeros = [np.zeros(s[1], dtype=_F) for s in self.layer_shapes]
        return self.network(ones, zeros, name="full").n_synapses


@dataclass
class ConvRun(EpochRun, ABC):
    """A training run over the layer matrices of ``arch`` on the images ``x``, labels ``y``.

    A subclass adds its state and :meth:`matrices` (the current layer
    matrices and biases); its ``step``, ``snapshot`` and ``record`` are the
    epoch loop's other callbacks.
    """

    arch: ConvArchitecture
    x: np.ndarray
    y: np.ndarray

    @abstractmethod
    def matrices(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The current layer matrices and biases."""

    def validate(self, x_val: np.ndarray, y_val: np.ndarray) -> float:
        """Accuracy of the current network on ``(x_val, y_val)``."""
        return self.arch.accuracy(x_val, y_val, *self.matrices())
