"""CoNNTrA: coordinate descent training of ternary networks.

After Date, Schuman, Patton & Potok (2020), *CoNNTrA: a coordinate descent
approach to training neural networks with discrete weights*. Every weight is
``s_l * t`` with ``t`` in ``{-1, 0, +1}`` and one real scale ``s_l`` per layer;
biases stay real. Training never leaves the discrete set: a step changes
ternary values and keeps the change only if it lowers the loss on the
samples it was evaluated on, so the loss never increases within a sweep.

Two step types (``mode``):

``exact`` (true coordinate descent)
    Sweep over the weights in a random order; for each weight evaluate the
    loss of its two other values and keep the best one. The evaluation reuses
    cached partial sums: changing ``t_ij`` of layer ``l`` by ``d`` changes only
    column ``j`` of that layer's pre-activations, by ``d * s_l * a_i``; only the
    layers downstream of neuron ``j`` are recomputed (a rank-one update of the
    next layer, then the rest). Float64, one sweep per epoch on a batch of
    ``batch_size`` samples (all of them when it is larger than the training
    set). Cost per weight is one downstream pass, so this is meant for small
    networks (Iris, digits).

``block`` (block coordinate descent, for MNIST-sized networks)
    Per minibatch: compute the loss gradient with respect to every ternary
    weight, keep an exponential moving average of it (``beta``) to rank moves,
    propose unit moves ``t -> clip(t - sign(g))`` for the ``m`` weights with the
    largest predicted (first-order) decrease over all layers, plus a bias step,
    and evaluate the exact loss of the whole block on the minibatch. The block
    is kept only if the loss decreased; otherwise ``m`` and the bias step are
    halved and re-evaluated (up to ``max_tries`` times). ``m`` grows by 25% after
    an accepted block. The ranking is an approximation; the acceptance test
    is exact, so the minibatch loss never increases within a step.

Each layer's scale is a coordinate too: the scales ``s_l * {0.8, 0.9, 1.1,
1.25}`` are evaluated exactly (on up to ``scale_samples`` training samples)
and the best is kept if it lowers the loss -- after every epoch in exact mode,
once at the end in block mode (we measured that growing scales make every
unit move coarser and stall the block steps: on 10,000 MNIST samples, 3
epochs, 81.4% with a search per epoch against 86.5% without, on the first
3,000 test images).

Weights start either random (uniform over ``{-1, 0, 1}``, ``s_l`` such that the
weight variance is ``2 / n_in``) or, with ``init``, from a trained network
quantized with the TWN rule (a warm start, reported in ``info``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.train.core import (
    EpochRun,
    LoopOutcome,
    TrainResult,
    accuracy,
    backward,
    finish_training,
    forward,
    layer_sizes,
    run_epochs,
    softmax_cross_entropy,
)
from neurosim.train.options import (
    InitOptions,
    LayeredOptions,
    TrainData,
    option,
    options_class,
    trainer,
)

__all__ = [
    "CONNTRA_MODES",
    "ConntraOptions",
    "CoordinateOptions",
    "TernaryRun",
    "block_step",
    "exact_sweep",
    "scale_search",
    "ternary_memory",
    "train_conntra",
]

CONNTRA_MODES = ("auto", "exact", "block")
_SCALE_FACTORS = (0.8, 0.9, 1.1, 1.25)


def _batch_losses(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean cross-entropy for a stack of logits ``(c, B, C)``: shape ``(c,)``."""
    z = logits - logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, y[None, :, None], axis=-1)[..., 0]
    return (lse - picked).mean(axis=-1)


def _loss(weights, biases, x, y) -> float:
    return float(_batch_losses(forward(weights, biases, x)[-1][None], y)[0])


# ------------------------------------------------------------------ exact
def exact_sweep(
    codes: list[np.ndarray],
    scales: list[float],
    biases: list[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    trace: list[float] | None = None,
) -> tuple[float, int]:
    """One coordinate-descent sweep over every weight, in place on ``codes``.

    Parameters
    ----------
    codes : ternary values per layer (float64 arrays in {-1, 0, 1}), modified in place
    scales : per-layer scales (not modified)
    biases : per-layer biases, also coordinates (steps of ``scale * {1, 1/2, 1/4}``), modified in place
    x, y : the samples the loss is evaluated on
    rng : order of the sweep
    trace : list, optional
        Receives the loss after every accepted change (non-increasing).

    Returns
    -------
    (loss, n_changed)
    """
    n = len(codes)
    x = np.asarray(x, dtype=np.float64)
    W = [s * c for s, c in zip(scales, codes, strict=True)]
    Z: list[np.ndarray] = []
    A: list[np.ndarray] = [x]
    for i in range(n):
        z = A[-1] @ W[i] + biases[i]
        Z.append(z)
        A.append(z if i == n - 1 else np.maximum(z, 0.0))
    loss = float(_batch_losses(Z[-1][None], y)[0])
    if trace is not None:
        trace.append(loss)
    changed = 0
    values = np.array([-1.0, 0.0, 1.0])
    for layer in range(n):
        n_out = codes[layer].shape[1]
        for flat in rng.permutation(codes[layer].size).tolist():
            i, j = divmod(flat, n_out)
            t = codes[layer][i, j]
            cand = values[values != t]
            d = scales[layer] * (cand - t)
            zj = Z[layer][:, j][None, :] + d[:, None] * A[layer][:, i][None, :]  # (2, B)
            chain = _downstream(layer, j, zj, Z, A, W, biases)
            losses = _batch_losses(chain[-1], y)
            k = int(np.argmin(losses))
            if losses[k] < loss:
                loss = float(losses[k])
                codes[layer][i, j] = cand[k]
                W[layer][i, j] = scales[layer] * cand[k]
                _apply(layer, j, k, zj, chain, Z, A)
                changed += 1
                if trace is not None:
                    trace.append(loss)
        loss_ref = [loss]
        changed += _bias_sweep(layer, scales[layer], biases, Z, A, W, y, rng, trace, loss_ref)
        loss = loss_ref[0]
    return loss, changed


def _bias_sweep(layer, scale, biases, Z, A, W, y, rng, trace, loss_ref) -> int:
    """Coordinate steps on the biases of ``layer`` (candidates ``b +- scale * {1, 1/2, 1/4}``)."""
    len(W)
    steps = scale * np.array([-1.0, -0.5, -0.25, 0.25, 0.5, 1.0])
    changed = 0
    for j in rng.permutation(biases[layer].size).tolist():
        zj = Z[layer][:, j][None, :] + steps[:, None]
        chain = _downstream(layer, j, zj, Z, A, W, biases)
        losses = _batch_losses(chain[-1], y)
        k = int(np.argmin(losses))
        if losses[k] < loss_ref[0]:
            loss_ref[0] = float(losses[k])
            biases[layer][j] += steps[k]
            _apply(layer, j, k, zj, chain, Z, A)
            changed += 1
            if trace is not None:
                trace.append(loss_ref[0])
    return changed


def _apply(layer, j, k, zj, chain, Z, A) -> None:
    """Commit candidate ``k`` of column ``j`` of ``layer`` to the cached partial sums."""
    n = len(Z)
    Z[layer][:, j] = zj[k]
    A[layer + 1][:, j] = zj[k] if layer == n - 1 else np.maximum(zj[k], 0.0)
    if layer < n - 1:
        for m, zm in enumerate(chain, start=layer + 1):
            Z[m] = zm[k]
            A[m + 1] = zm[k] if m == n - 1 else np.maximum(zm[k], 0.0)


def _downstream(layer: int, j: int, zj: np.ndarray, Z, A, W, biases) -> list[np.ndarray]:
    """Pre-activations of the layers after ``layer`` for candidate columns ``zj``.

    Returns the stacked pre-activations ``(c, B, n)`` of layers ``layer+1 ..``
    (only the logits for the output layer itself, with column ``j`` replaced).
    """
    n = len(W)
    if layer == n - 1:
        logits = np.repeat(Z[-1][None], zj.shape[0], axis=0)
        logits[:, :, j] = zj
        return [logits]
    dh = np.maximum(zj, 0.0) - A[layer + 1][:, j][None, :]  # (c, B)
    z = Z[layer + 1][None] + dh[:, :, None] * W[layer + 1][j][None, None, :]
    out = [z]
    for m in range(layer + 2, n):
        z = np.maximum(z, 0.0) @ W[m] + biases[m]
        out.append(z)
    return out


# ------------------------------------------------------------------ block
def block_step(
    codes: list[np.ndarray],
    scales: list[float],
    biases: list[np.ndarray],
    ema: list[np.ndarray],
    xb: np.ndarray,
    yb: np.ndarray,
    block: float,
    *,
    beta: float = 0.9,
    bias_lr: float = 0.05,
    max_tries: int = 4,
    grow: float = 1.25,
    max_block: float = 0.01,
) -> tuple[float, float, float, int]:
    """One block coordinate step in place; returns ``(loss_before, loss_after, next_block, n_changed)``.

    ``block`` is the fraction of all weights proposed for a unit move.
    """
    n = len(codes)
    W = [np.float32(s) * c for s, c in zip(scales, codes, strict=True)]
    acts = forward(W, biases, xb)
    loss0, dlogits = softmax_cross_entropy(acts[-1], yb)
    loss0 = float(_batch_losses(acts[-1][None], yb)[0])
    deltas = backward(W, acts, dlogits)
    gains, moves = [], []
    for i in range(n):
        g = acts[i].T @ deltas[i]
        ema[i] *= beta
        ema[i] += (1 - beta) * g
        v = np.clip(codes[i] - np.sign(ema[i]), -1, 1)
        gains.append((np.float32(scales[i]) * ema[i] * (v - codes[i])).ravel())
        moves.append(v)
    gain = np.concatenate(gains)
    offsets = np.r_[0, np.cumsum([c.size for c in codes])]
    gbias = [d.sum(axis=0) for d in deltas]
    n_neg = int(np.count_nonzero(gain < 0))
    frac = block
    for attempt in range(max_tries):
        m = min(int(np.ceil(frac * gain.size)), n_neg)
        if m > 0:
            top = np.argpartition(gain, m - 1)[:m] if m < gain.size else np.arange(gain.size)
        else:
            top = np.zeros(0, dtype=np.int64)
        trial = [c.copy() for c in codes]
        for i in range(n):
            sel = top[(top >= offsets[i]) & (top < offsets[i + 1])] - offsets[i]
            trial[i].ravel()[sel] = moves[i].ravel()[sel]
        step = bias_lr * 0.5**attempt
        tb = [b - step * g for b, g in zip(biases, gbias, strict=True)]
        loss1 = _loss([np.float32(s) * c for s, c in zip(scales, trial, strict=True)], tb, xb, yb)
        if loss1 < loss0:
            for i in range(n):
                codes[i][...] = trial[i]
                biases[i][...] = tb[i]
            return loss0, loss1, min(frac * grow, max_block), int(m)
        frac /= 2
    return loss0, loss0, max(frac, 1.0 / gain.size), 0


def scale_search(
    codes: Sequence[np.ndarray],
    scales: list[float],
    loss_of: Callable[[list[np.ndarray]], float],
) -> float:
    """Coordinate steps on each layer's scale, in place on ``scales``; returns the final loss.

    Each layer's scale ``s_l`` tries ``s_l * {0.8, 0.9, 1.1, 1.25}`` in turn
    and keeps the one of lowest exact loss ``loss_of(weights)`` (weights
    ``s_l * codes[l]`` in the codes' dtype), if it is lower than the current one.
    """
    dtype = codes[0].dtype
    W = [dtype.type(s) * c for s, c in zip(scales, codes, strict=True)]
    loss = loss_of(W)
    for i in range(len(codes)):
        best = scales[i]
        for f in _SCALE_FACTORS:
            W[i] = dtype.type(scales[i] * f) * codes[i]
            trial = loss_of(W)
            if trial < loss:
                loss, best = trial, scales[i] * f
        scales[i] = best
        W[i] = dtype.type(best) * codes[i]
    return loss


# ------------------------------------------------------------------ memory
def ternary_memory(n_weights: int, n_layers: int) -> dict[str, Any]:
    """Bits to store ``n_weights`` ternary weights (2 bits each, one float32 scale per layer) vs float64.

    A direct count for the training report; the mapped network's memory on a
    chip comes from :func:`neurosim.cost.memory.memory_model`.
    """
    ternary_bits = 2 * n_weights + 32 * n_layers
    float64_bits = 64 * n_weights
    return {
        "n_weights": int(n_weights),
        "bits_per_weight": 2,
        "ternary_bits": int(ternary_bits),
        "float64_bits": int(float64_bits),
        "saving_vs_float64": float64_bits / ternary_bits if ternary_bits else 0.0,
        "saving_vs_float64_weights_only": 32.0,
    }


# ------------------------------------------------------------------ train
def _init_codes(sizes, rng) -> tuple[list[np.ndarray], list[float]]:
    codes, scales = [], []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        codes.append(rng.integers(-1, 2, size=(a, b)).astype(np.float64))
        scales.append(float(np.sqrt(3.0 / a)))  # Var(s*t) = s^2 * 2/3 = 2 / n_in
    return codes, scales


def _warm_start(init: Network, n_inputs: int, n_classes: int):
    from neurosim.train.baselines import layers_of, twn_quantize

    ws, bs = layers_of(init, n_inputs, n_classes)
    codes, scales = [], []
    for w in ws:
        t, a, _ = twn_quantize(w)
        codes.append(t.astype(np.float64))
        scales.append(a if a > 0 else 1.0)
    return codes, scales, [b.astype(np.float64) for b in bs]


def _check_options(
    mode: str, block: float, max_block: float, beta: float, scale_search: str
) -> None:
    """Reject CoNNTrA options outside their ranges (one line each)."""
    if mode not in CONNTRA_MODES:
        raise TrainingError(f"CoNNTrA mode {mode!r}; expected one of {', '.join(CONNTRA_MODES)}")
    if not 0 < block <= 1:
        raise TrainingError(f"CoNNTrA block = {block}; expected a fraction in (0, 1]")
    if not block <= max_block <= 1:
        raise TrainingError(f"CoNNTrA max_block = {max_block}; expected a fraction in [block, 1]")
    if not 0 <= beta < 1:
        raise TrainingError(f"CoNNTrA beta = {beta}; expected a number in [0, 1)")
    if scale_search not in ("auto", "epoch", "end", "none"):
        raise TrainingError(
            f"CoNNTrA scale_search {scale_search!r}; expected auto, epoch, end or none"
        )


def _start_codes(
    d: TrainData, hidden: Sequence[int], init: Network | None, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[float], list[np.ndarray], tuple[int, ...]]:
    """Initial ``(codes, scales, biases, sizes)``: random ternary, or a TWN warm start from ``init``."""
    if init is not None:
        codes, scales, biases = _warm_start(init, d.n_features, d.n_classes)
        return codes, scales, biases, tuple([d.n_features] + [c.shape[1] for c in codes])
    sizes = layer_sizes(d.n_features, hidden, d.n_classes)
    codes, scales = _init_codes(sizes, rng)
    return codes, scales, [np.zeros(s) for s in sizes[1:]], sizes


class TernaryRun(EpochRun):
    """A run over ternary ``codes`` with per-layer ``scales`` and real ``biases`` (a mixin).

    It counts accepted changes, steps and rejected blocks in ``changed``,
    ``steps`` and ``rejected``.
    """

    codes: list[np.ndarray]
    scales: list[float]
    biases: list[np.ndarray]
    changed: int
    steps: int
    rejected: int

    def tally(self, after: float, k: int) -> float:
        """Count a block step that changed ``k`` weights (0: rejected); returns ``after``."""
        self.changed += k
        self.steps += 1
        self.rejected += int(k == 0)
        return after

    def snapshot(self) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
        """Copies of ``(codes, biases, scales)``."""
        return [c.copy() for c in self.codes], [b.copy() for b in self.biases], list(self.scales)


@dataclass
class _CoordinateRun(TernaryRun):
    """The working state of one CoNNTrA run; its methods are the epoch loop's callbacks.

    ``codes``, ``scales`` and ``biases`` change in place; ``x``, ``y`` are the
    training samples in the run's dtype (float64 in ``exact`` mode, float32 in
    ``block`` mode), ``scale_idx`` the samples of the scale search, ``block``
    the current block fraction and ``options`` the block-step options
    (``beta``, ``bias_lr``, ``max_block``).
    """

    codes: list[np.ndarray]
    scales: list[float]
    biases: list[np.ndarray]
    x: np.ndarray
    y: np.ndarray
    rng: np.random.Generator
    scale_idx: np.ndarray
    mode: str
    scale_search: str
    block: float = 1e-3
    options: dict[str, float] = field(default_factory=dict)
    changed: int = 0
    steps: int = 0
    rejected: int = 0
    ema: list[np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.ema = [np.zeros(c.shape, dtype=c.dtype) for c in self.codes]

    def exact_step(self, n_per_sweep: int, idx: np.ndarray) -> float:
        """One exact sweep on ``n_per_sweep`` random training samples (``idx`` unused)."""
        sub = np.sort(self.rng.permutation(self.x.shape[0])[:n_per_sweep])
        loss, k = exact_sweep(
            self.codes, self.scales, self.biases, self.x[sub], self.y[sub], self.rng
        )
        self.changed += k
        self.steps += 1
        return loss

    def block_step(self, idx: np.ndarray) -> float:
        """One block coordinate step on the minibatch ``idx``."""
        _, after, self.block, k = block_step(
            self.codes,
            self.scales,
            self.biases,
            self.ema,
            self.x[idx],
            self.y[idx],
            self.block,
            **self.options,
        )
        return self.tally(after, k)

    def validate(self, x_val: np.ndarray, y_val: np.ndarray) -> float:
        """Accuracy of the current ternary network on ``(x_val, y_val)``."""
        dtype = self.codes[0].dtype.type
        weights = [dtype(s) * c for s, c in zip(self.scales, self.codes, strict=True)]
        return accuracy(weights, self.biases, x_val, y_val)

    def search_scales(self, codes, scales, biases) -> float:
        """The scale search (in place on ``scales``) on the run's scale samples."""
        x, y = self.x[self.scale_idx], self.y[self.scale_idx]
        return scale_search(codes, scales, lambda w: _loss(w, biases, x, y))

    def end_of_epoch(self, epoch: int) -> dict[str, Any]:
        """The history record's extra figures (and the per-epoch scale search)."""
        out: dict[str, Any] = {"changed": self.changed, "scales": list(self.scales)}
        if self.scale_search == "epoch":
            out["scale_loss"] = self.search_scales(self.codes, self.scales, self.biases)
        return out

    def loop_args(
        self, batch_size: int, x_val: np.ndarray | None, y_val: np.ndarray | None
    ) -> dict[str, Any]:
        """The :func:`run_epochs` arguments of this run's mode (one exact sweep, or minibatches)."""
        exact = self.mode == "exact"
        n = self.x.shape[0]
        return {
            "n_samples": 1 if exact else n,
            "batch_size": 1 if exact else batch_size,
            "step": partial(self.exact_step, min(batch_size, n)) if exact else self.block_step,
            "snapshot": self.snapshot,
            "validate": None
            if x_val is None
            else partial(self.validate, x_val.astype(self.x.dtype), y_val),
            "label": f"CoNNTrA ({self.mode})",
            "end_of_epoch": self.end_of_epoch,
        }

    def counts(self) -> dict[str, int]:
        """Accepted changes, steps and rejected blocks so far."""
        return {"changed": self.changed, "steps": self.steps, "rejected_blocks": self.rejected}


def _start_run(codes, scales, biases, d: TrainData, rng, mode, scale_search, scale_samples):
    """The run's state: ``auto`` modes resolved, arrays in the mode's dtype, scale samples drawn.

    ``codes, scales, biases`` are the start (:func:`_start_codes`), ``d`` the
    training data and ``rng`` the run's generator.
    """
    xt, yt = d.x, d.y
    n_weights = int(sum(c.size for c in codes))
    if mode == "auto":
        mode = "exact" if n_weights <= 20_000 else "block"
    if scale_search == "auto":
        scale_search = "epoch" if mode == "exact" else "end"
    dtype = np.float64 if mode == "exact" else np.float32
    return _CoordinateRun(
        codes=[c.astype(dtype) for c in codes],
        scales=scales,
        biases=[b.astype(dtype) for b in biases],
        x=xt.astype(dtype),
        y=yt,
        rng=rng,
        scale_idx=rng.permutation(xt.shape[0])[:scale_samples],
        mode=mode,
        scale_search=scale_search,
    )


def _conntra_result(
    run: _CoordinateRun,
    outcome: LoopOutcome,
    sizes: Sequence[int],
    facts: dict[str, Any],
    *,
    t0: float,
    seed: int,
) -> TrainResult:
    """The result of the best epoch (after the end-of-run scale search, if any)."""
    best_codes, best_biases, best_scales = outcome.state
    if run.scale_search == "end":
        run.search_scales(best_codes, best_scales, best_biases)
    dtype = run.x.dtype.type
    weights = [dtype(sc) * c for sc, c in zip(best_scales, best_codes, strict=True)]
    n_weights = int(sum(c.size for c in best_codes))
    info = {
        "mode": run.mode,
        "scale_search": run.scale_search,
        "hidden": [int(s) for s in sizes[1:-1]],
        "scales": [float(s) for s in best_scales],
        "weight_values": [-1, 0, 1],
        **facts,
        **run.counts(),
        "zero_fraction": 1.0 - int(sum(np.count_nonzero(w) for w in weights)) / n_weights,
        "memory": ternary_memory(n_weights, len(best_codes)),
    }
    counts = {"n_possible": n_weights, "n_parameters": n_weights}
    run_facts = {"outcome": outcome, "t0": t0, "seed": seed, "info": info}
    # the training accuracy is measured on the run's samples, in the mode's dtype
    return finish_training("conntra", weights, best_biases, run.x, run.y, **run_facts, **counts)


@options_class("CoNNTrA")
class CoordinateOptions(LayeredOptions):
    """Every CoNNTrA method's options: the loop, the layers, the block steps, the scale search."""

    block: float = option(1e-3, "initial fraction of weights per block step", "float")
    beta: float = option(0.9, "gradient moving-average factor ranking moves (block mode)", "float")
    bias_lr: float = option(0.05, "bias step (block mode)", "float")
    scale_samples: int = option(4096, "samples of the per-layer scale search", "int")


@options_class("CoNNTrA")
class ConntraOptions(CoordinateOptions, InitOptions):
    """Options of :func:`train_conntra`.

    ``epochs`` are sweeps (``exact``) or passes over the training set
    (``block``), ``batch_size`` the samples per exact sweep or block step.
    ``auto`` mode is ``exact`` for networks of at most 20,000 weights, else
    ``block``; ``auto`` scale search is ``epoch`` in exact mode and ``end`` in
    block mode (larger scales make every unit move coarser and stall block
    steps). ``init`` is a warm start, quantized with the TWN rule.
    """

    mode: str = option("auto", "auto, exact or block")
    max_block: float = option(0.01, "largest fraction of weights per block step", "float")
    scale_search: str = option("auto", "auto, epoch, end or none: when the scales are searched")
    batch_size: int = 256


@trainer(ConntraOptions)
def train_conntra(d: TrainData, o: ConntraOptions) -> TrainResult:
    """Train a ternary network by coordinate descent (CoNNTrA).

    Takes ``x, y`` (inputs and integer labels), ``n_classes`` (default
    ``max(y) + 1``) and the options of :class:`ConntraOptions` (``seed`` seeds
    the initial values, sweep orders, shuffles and validation split).
    """
    _check_options(o.mode, o.block, o.max_block, o.beta, o.scale_search)
    rng = np.random.default_rng([o.seed, 30])
    codes, scales, biases, sizes = _start_codes(d, o.hidden, o.init, rng)
    run = _start_run(codes, scales, biases, d, rng, o.mode, o.scale_search, o.scale_samples)
    run.block = o.block
    run.options = {"beta": o.beta, "bias_lr": o.bias_lr, "max_block": o.max_block}
    outcome = run_epochs(**run.loop_args(o.batch_size, d.x_val, d.y_val), **_loop(o))
    facts = {"warm_start": o.init is not None, "batch_size": o.batch_size, "max_block": o.max_block}
    return _conntra_result(run, outcome, sizes, facts, t0=d.t0, seed=o.seed)


def _loop(o: LayeredOptions) -> dict[str, Any]:
    """The :func:`run_epochs` keywords of the options: epochs, seed, patience, progress."""
    return {"epochs": o.epochs, "seed": o.seed, "patience": o.patience, "progress": o.progress}
