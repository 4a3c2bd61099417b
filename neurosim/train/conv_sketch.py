"""Tensor sketching of convolutional layers, trained directly (Kasiviswanathan et al., 2017).

A conv kernel ``K`` (``C_out x C_in x kh x kw``) is represented by ``l``
copies of two sketches, one along each channel mode:

* ``S1_i`` (``r x C_in x kh x kw``), sketched along the output channels with
  a fixed random sign matrix ``U1_i`` (``r x C_out``, entries ``+-1/sqrt(r)``);
* ``S2_i`` (``C_out x r x kh x kw``), sketched along the input channels with
  ``U2_i`` (``r x C_in``);

    K = 1/(2l) sum_i ( U1_i^T x_1 S1_i  +  S2_i x_2 U2_i ),

(mode products along the output and input channel modes). The sketches are
the trainable parameters (``l r kh kw (C_in + C_out)`` instead of
``C_out C_in kh kw``: a reduction of ``C_in C_out / (l r (C_in + C_out))``);
the ``U`` are fixed by the seed. Layers with fewer than ``min_channels``
input channels (the first conv of a one-channel image) are kept dense, as
sketching them saves nothing.

The trained network is the expanded kernel (:func:`neurosim.train.cnn.train_cnn`
builds it): a chip that stores kernels stores the full ``K``, so the
parameter saving is a training/transmission saving; deploying the sketch
itself would take two conv layers per copy (``C_in -> r`` then ``r -> C_out``),
whose kernel entries are reported as ``factored_entries``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.train.cnn import PlainKernel, train_cnn
from neurosim.train.core import TrainResult

__all__ = ["SketchKernel", "reduction_factor", "train_conv_sketch"]

_F = np.float32


def reduction_factor(c_out: int, c_in: int, rank: int, copies: int = 1) -> float:
    """Kernel entries over sketch parameters: ``C_in C_out / (l r (C_in + C_out))``."""
    return c_in * c_out / (copies * rank * (c_in + c_out))


class SketchKernel:
    """A conv kernel parameterised by ``copies`` pairs of channel sketches of ``rank``."""

    def __init__(self, c_out: int, c_in: int, k: int, rng: np.random.Generator, rank: int,
                 copies: int = 1) -> None:
        self.shape = (c_out, c_in, k, k)
        self.copies, self.rank = int(copies), int(rank)
        he = 2.0 / (c_in * k * k)
        sd = np.sqrt(2.0 * copies * he)  # K's entries then have the He variance
        self.u1 = [(rng.choice([-1.0, 1.0], size=(rank, c_out)) / np.sqrt(rank)).astype(_F) for _ in range(copies)]
        self.u2 = [(rng.choice([-1.0, 1.0], size=(rank, c_in)) / np.sqrt(rank)).astype(_F) for _ in range(copies)]
        s1 = [(rng.standard_normal((rank, c_in, k, k)) * sd).astype(_F) for _ in range(copies)]
        s2 = [(rng.standard_normal((c_out, rank, k, k)) * sd).astype(_F) for _ in range(copies)]
        self.params = s1 + s2
        self.n_parameters = int(sum(p.size for p in self.params))

    def kernel(self) -> np.ndarray:
        half = 1.0 / (2 * self.copies)
        out = np.zeros(self.shape, dtype=_F)
        for i in range(self.copies):
            out += np.einsum("ro,rcxy->ocxy", self.u1[i], self.params[i])
            out += np.einsum("orxy,rc->ocxy", self.params[self.copies + i], self.u2[i])
        return out * _F(half)

    def grads(self, dkernel: np.ndarray) -> list[np.ndarray]:
        half = _F(1.0 / (2 * self.copies))
        g1 = [np.einsum("ro,ocxy->rcxy", u, dkernel) * half for u in self.u1]
        g2 = [np.einsum("ocxy,rc->orxy", dkernel, u) * half for u in self.u2]
        return g1 + g2

    def factored_entries(self) -> int:
        """Kernel entries of the sketch deployed as conv layers (sketches plus 1x1 mixing)."""
        c_out, c_in = self.shape[:2]
        return self.n_parameters + self.copies * self.rank * (c_out + c_in)


def train_conv_sketch(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    rank: int = 2,
    copies: int = 1,
    min_channels: int = 4,
    **cnn_options: Any,
) -> TrainResult:
    """Train the CNN of :mod:`neurosim.train.cnn` with sketched conv kernels.

    Parameters
    ----------
    rank : int
        Sketch size ``r`` along each channel mode.
    copies : int
        Independent sketch pairs ``l``.
    min_channels : int
        Conv layers with fewer input channels stay dense.
    **cnn_options
        ``channels``, ``image_shape``, ``epochs``, ``batch_size``, ``lr``,
        ``seed``: as in :func:`~neurosim.train.cnn.train_cnn`, with its
        defaults (the signature lists them).

    Returns
    -------
    TrainResult
        ``n_parameters`` counts the sketches (plus dense conv kernels and the
        dense layer); ``info["layers"]`` gives per conv layer its kernel
        entries, trained parameters, reduction factor and factored entries.
    """
    unknown = sorted(set(cnn_options) - set(_CNN_OPTIONS))
    if unknown:
        raise TrainingError(
            f"conv_sketch: unknown option {unknown[0]!r}; expected some of rank, copies, min_channels, "
            f"{', '.join(_CNN_OPTIONS)}"
        )
    if int(rank) < 1 or int(copies) < 1:
        raise TrainingError(f"conv_sketch: rank {rank} and copies {copies}; expected integers >= 1")
    made: list[Any] = []

    def factory(c_out: int, c_in: int, k: int, rng: np.random.Generator) -> Any:
        kern = SketchKernel(c_out, c_in, k, rng, rank, copies) if c_in >= min_channels else PlainKernel(
            c_out, c_in, k, rng)
        made.append(kern)
        return kern

    result = train_cnn(x, y, n_classes=n_classes, kernel_factory=factory, method="conv_sketch", **cnn_options)
    layers = []
    for i, kern in enumerate(made, start=1):
        entries = int(np.prod(kern.params[0].shape)) if isinstance(kern, PlainKernel) else int(np.prod(kern.shape))
        layers.append({
            "layer": f"conv{i}", "kernel_entries": entries, "parameters": kern.n_parameters,
            "sketched": isinstance(kern, SketchKernel),
            "reduction": entries / kern.n_parameters,
            "factored_entries": kern.factored_entries() if isinstance(kern, SketchKernel) else entries,
        })
    info = {**result.info, "rank": int(rank), "copies": int(copies), "min_channels": int(min_channels),
            "layers": layers}
    meta = dict(result.network.metadata)
    meta["training"] = {**meta.get("training", {}), "rank": int(rank), "copies": int(copies)}
    return TrainResult(
        network=result.network.replace(metadata=meta), method="conv_sketch", train_accuracy=result.train_accuracy,
        val_accuracy=None, n_connections=result.n_connections, n_possible=result.n_possible,
        n_parameters=result.n_parameters, wall_time_s=result.wall_time_s, epochs_run=result.epochs_run,
        history=result.history, info=info,
    )


#: train_cnn's own options, which train_conv_sketch passes through
_CNN_OPTIONS = tuple(
    p for p in inspect.signature(train_cnn).parameters if p not in ("x", "y", "n_classes", "kernel_factory", "method")
)


def _signature() -> inspect.Signature:
    """train_conv_sketch's parameters, then train_cnn's pass-through ones (for introspection)."""
    own = [p for p in inspect.signature(train_conv_sketch).parameters.values() if p.kind != p.VAR_KEYWORD]
    cnn = inspect.signature(train_cnn).parameters
    return inspect.signature(train_conv_sketch).replace(parameters=own + [cnn[p] for p in _CNN_OPTIONS])


train_conv_sketch.__signature__ = _signature()  # type: ignore[attr-defined]
