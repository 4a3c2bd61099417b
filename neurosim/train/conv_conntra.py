"""CoNNTrA over conv kernels: ternary kernels ``{-a, 0, +a}`` trained by coordinate descent.

CoNNTrA (Date, Schuman, Patton & Potok, 2020; :mod:`neurosim.train.conntra`)
applied to the CNN of :mod:`neurosim.train.cnn`. Every kernel entry of every
``(out_ch, in_ch)`` pair and every dense weight is ``a_l * t`` with ``t`` in
``{-1, 0, +1}`` and one real scale ``a_l`` per layer (conv1, conv2, dense);
biases stay real. Training never leaves the ternary set.

The steps are the ranked block coordinate steps of
:mod:`neurosim.train.conntra_ranked`, evaluated with im2col: per minibatch,
the loss gradient of every coordinate (one backward pass of
:mod:`neurosim.train.cnn`) updates its first and second moving moments; the
coordinates with the largest ``|m| / sqrt(v)`` get a unit move
``t -> clip(t - sign(m))`` (a fraction ``block`` of all coordinates, on a
cosine schedule to 0), plus a bias step; the block is kept only if the exact
minibatch loss drops (else it is halved, up to ``max_tries`` times), and a
moved coordinate forgets its first moment. The layer scales are coordinates
too, searched once at the end (``a_l * {0.8, 0.9, 1.1, 1.25}``, exact loss
on up to ``scale_samples`` training images).

The trained network stores the ternary kernels compactly (``a_l * t``); a
kernel entry costs 2 bits plus one 32-bit scale per layer
(:func:`~neurosim.train.conntra.ternary_memory`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neurosim.errors import TrainingError
from neurosim.train.conntra import TernaryRun, _batch_losses, scale_search, ternary_memory
from neurosim.train.conntra_ranked import RankedState, ranked_block_step
from neurosim.train.conv_layers import ConvArchitecture, ConvRun, ConvShapeOptions, softmax_grad
from neurosim.train.core import TrainResult, run_epochs
from neurosim.train.options import TrainData, TrainOptions, option, options_class, trainer

__all__ = ["ConvConntraOptions", "ConvPasses", "train_conv_conntra"]

_F = np.float32


def _weights(codes: Sequence[np.ndarray], scales: Sequence[float]) -> list[np.ndarray]:
    return [_F(s) * c for s, c in zip(scales, codes, strict=True)]


def _loss(arch: ConvArchitecture, mats, biases, x: np.ndarray, y: np.ndarray) -> float:
    return float(_batch_losses(arch.logits(x, mats, biases)[0][None], y)[0])


@dataclass(frozen=True)
class ConvPasses:
    """The CNN's passes for :func:`~neurosim.train.conntra_ranked.ranked_block_step`.

    The weights are the layers' matrices (``(C_in * 9, C_out)`` for a conv,
    :class:`~neurosim.train.conv_layers.ConvArchitecture`).
    """

    arch: ConvArchitecture

    def gradients(
        self, mats: list[np.ndarray], biases: list[np.ndarray], xb: np.ndarray, yb: np.ndarray
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """``(minibatch loss, matrix gradients, bias gradients)`` at ``mats`` (im2col passes)."""
        logits, saved = self.arch.logits(xb, mats, biases, keep=True)
        _, dlogits = softmax_grad(logits, yb)
        gmats, gbias = self.arch.gradients(dlogits, mats, saved)
        return float(_batch_losses(logits[None], yb)[0]), gmats, gbias

    def loss(self, mats: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
        """The exact mean cross-entropy of ``(x, y)``."""
        return _loss(self.arch, mats, biases, x, y)


@dataclass
class _ConvTernaryRun(ConvRun, TernaryRun):
    """One conv CoNNTrA run; its methods are :func:`run_epochs`'s callbacks.

    ``codes``, ``scales`` and ``biases`` change in place; ``options`` holds
    ``block``, ``bias_lr`` and ``max_tries``; ``total_steps`` sets the cosine schedule.
    """

    codes: list[np.ndarray]
    scales: list[float]
    biases: list[np.ndarray]
    ranked: RankedState
    options: dict[str, Any]
    total_steps: int = 1
    steps: int = 0
    changed: int = 0
    rejected: int = 0
    label: ClassVar[str] = "conv CoNNTrA"

    def step(self, idx: np.ndarray) -> float:
        """One ranked block step on the minibatch ``idx`` (block fraction on the cosine schedule)."""
        progress = min(self.steps / self.total_steps, 1.0)
        frac = self.options["block"] * 0.5 * (1.0 + np.cos(np.pi * progress))
        _, after, k = ranked_block_step(
            self.codes, self.scales, self.biases, self.ranked, self.x[idx], self.y[idx], frac,
            bias_lr=self.options["bias_lr"], max_tries=self.options["max_tries"], passes=ConvPasses(self.arch),
        )
        return self.tally(after, k)

    def matrices(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The current ternary layer matrices ``a_l * t`` and the biases."""
        return _weights(self.codes, self.scales), self.biases

    def record(self, epoch: int) -> dict[str, Any]:
        """The history record's extra figures."""
        zeros = sum(int(np.count_nonzero(c == 0)) for c in self.codes)
        return {"changed": self.changed, "rejected_blocks": self.rejected,
                "zero_fraction": zeros / sum(c.size for c in self.codes)}


def _start(arch: ConvArchitecture, rng: np.random.Generator) -> tuple[list, list[float], list]:
    """Random ternary codes (uniform over ``{-1, 0, 1}``), scales of variance ``2 / n_in``, zero biases."""
    codes = [rng.integers(-1, 2, size=s).astype(_F) for s in arch.layer_shapes]
    scales = [float(np.sqrt(3.0 / s[0])) for s in arch.layer_shapes]  # Var(a t) = a^2 2/3 = 2 / n_in
    return codes, scales, [np.zeros(s[1], dtype=_F) for s in arch.layer_shapes]


def _check(block: float, beta: float, beta2: float, max_tries: int) -> None:
    """Reject options outside their ranges (one line each)."""
    if not 0 < block <= 1:
        raise TrainingError(f"conntra_cnn: block = {block}; expected a fraction in (0, 1]")
    if not (0 <= beta < 1 and 0 <= beta2 < 1):
        raise TrainingError(f"conntra_cnn: beta, beta2 = {beta}, {beta2}; expected numbers in [0, 1)")
    if int(max_tries) != max_tries or max_tries < 1:
        raise TrainingError(f"conntra_cnn: max_tries = {max_tries}; expected a positive integer")


def _result(run: _ConvTernaryRun, outcome: Any, info: dict[str, Any], scale_idx, *, t0: float, seed: int) -> TrainResult:
    """The result of the best epoch, after the scale search."""
    arch = run.arch
    codes, biases, scales = outcome.state
    x, y = run.x[scale_idx], run.y[scale_idx]
    info["scale_loss"] = scale_search(codes, scales, lambda w: _loss(arch, w, biases, x, y))
    mats = _weights(codes, scales)
    n_weights = int(sum(c.size for c in codes))
    nonzero = [int(np.count_nonzero(c)) for c in codes]
    info.update({
        "layers": list(arch.names), "scales": [float(s) for s in scales], "weight_values": [-1, 0, 1],
        "layer_weights": [int(c.size) for c in codes], "layer_nonzero": nonzero,
        "zero_fraction": 1.0 - sum(nonzero) / n_weights, "changed": run.changed, "steps": run.steps,
        "rejected_blocks": run.rejected, "memory": ternary_memory(n_weights, len(codes)),
    })
    meta = {"training": {"method": "conntra_cnn", "seed": int(seed), "channels": list(arch.channels),
                         "image_shape": list(arch.image_shape), "weight_values": [-1, 0, 1]}}
    net = arch.network(mats, biases, name="conntra_cnn", metadata=meta)
    sub = np.random.default_rng([seed, 31]).permutation(run.x.shape[0])[:10_000]
    return TrainResult(
        network=net, method="conntra_cnn",
        train_accuracy=arch.accuracy(run.x[sub], run.y[sub], mats, biases),
        val_accuracy=outcome.best_val_accuracy, n_connections=net.n_synapses,
        n_possible=arch.n_possible_synapses(), n_parameters=n_weights,
        wall_time_s=time.perf_counter() - t0, epochs_run=outcome.epochs_run, history=outcome.history,
        info=info,
    )


@options_class("conv DEEP R and conv CoNNTrA (deep_r_cnn, conntra_cnn)")
class ConvConntraOptions(TrainOptions, ConvShapeOptions):
    """Options of :func:`train_conv_conntra`: ``block`` is the fraction of all
    coordinates proposed per step at the start of the cosine schedule, ``beta``
    and ``beta2`` the factors of the gradient's moving moments that rank the
    moves, ``max_tries`` the halvings of a rejected block."""

    block: float = option(1e-2, "initial fraction of weights per block step", "float")
    beta: float = option(0.9, "gradient moving-average factor ranking moves", "float")
    beta2: float = option(0.999, "second-moment factor of the gradient that ranks moves", "float")
    bias_lr: float = option(0.05, "bias step", "float")
    max_tries: int = option(4, "halvings of a rejected block (conntra_cnn)", "int")
    scale_samples: int = option(4096, "samples of the per-layer scale search", "int")
    epochs: int = 3


@trainer(ConvConntraOptions)
def train_conv_conntra(d: TrainData, o: ConvConntraOptions) -> TrainResult:
    """Train the CNN of :mod:`neurosim.train.cnn` with ternary kernels by coordinate descent.

    Takes flat images ``x`` ``(n, C*H*W)``, integer labels ``y``,
    ``n_classes`` (default ``max(y) + 1``) and the options of
    :class:`ConvConntraOptions` (``seed`` seeds the initial codes, the scale
    samples, the validation split and the shuffles; ``batch_size`` images per
    block step).

    Returns
    -------
    TrainResult
        Ternary conv kernels and dense weights (``info["scales"]``,
        ``info["layer_nonzero"]``, ``info["memory"]``); ``n_parameters`` the
        ternary coordinates, ``n_connections`` the unrolled nonzero synapses.
    """
    _check(o.block, o.beta, o.beta2, o.max_tries)
    arch = ConvArchitecture.make(d.n_features, o.image_shape, o.channels, d.n_classes, "conntra_cnn")
    rng = np.random.default_rng([o.seed, 30])
    codes, scales, biases = _start(arch, rng)
    scale_idx = rng.permutation(d.x.shape[0])[: o.scale_samples]
    options = {"block": o.block, "bias_lr": o.bias_lr, "max_tries": int(o.max_tries)}
    run = _ConvTernaryRun(arch, d.x, d.y, codes, scales, biases, RankedState.zeros(codes, o.beta, o.beta2), options)
    run.total_steps = max(1, o.epochs * -(-d.x.shape[0] // o.batch_size))
    outcome = run_epochs(**run.loop_args(o.batch_size, d.x_val, d.y_val), epochs=o.epochs, seed=o.seed,
                         patience=o.patience, progress=o.progress)
    info = {"channels": list(arch.channels), "image_shape": list(arch.image_shape), "batch_size": o.batch_size,
            "block_schedule": f"cosine from {o.block}", "rank": "normalised gradient"}
    return _result(run, outcome, info, scale_idx, t0=d.t0, seed=o.seed)
