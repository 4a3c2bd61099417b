"""Quantization-aware and conversion-aware training for one chip.

The forward pass uses the weights the chip will hold: every layer's float
"shadow" weights go through :func:`neurosim.mapping.quantize.quantize_projection`,
the very function the mapper calls, with the post neurons grouped into the
cores the mapper's partition gives (:func:`mapper_partition`), so that
training and mapping cannot disagree. The gradient passes the quantizer
unchanged (straight-through estimator) and updates the shadow weights.

TrueNorth-style axon types (``weights.kind: axon_type``) are learned by
alternation: every ``refit_every`` steps the mapper's fit assigns each input
axon one of K types and each neuron one weight per type (the assignment
step); in between, the types and the table stay fixed and gradient steps on
the shadow weights decide the crossbar bits (a synapse is connected where its
type's value is closer to the shadow weight than 0 is, the mapper's rule).
The mapper's axon-type fit is a local search and need not find the trained
types again (on MNIST 784-256-256-10 it lost them in the 10-neuron output
layer: 97 % in training, 64 % on the chip); a layer where mapping changes the
structured weights by more than 1 % (checked every ``10 refit_every`` steps
and after every epoch) trains from then on through the mapper's own fit
(:meth:`ChipQuantizer.sync`), so what is validated is what the chip holds.

For spiking chips (no ReLU; the network is converted to rate-coded IF
neurons with reset by subtraction) the hidden activations are clipped to
``[0, 1]`` and rounded down to multiples of ``1 / steps``: an IF neuron of
threshold 1 driven by a constant current ``z`` for ``steps`` steps fires
``floor(steps z)`` times. The gradient passes the rounding (STE) inside
``(0, 1)``. The trained network has ReLU neurons capped at 1, so the
threshold-balancing conversion sees scales of 1 and keeps the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.train.chip import ChipConstraints
from neurosim.train.core import (
    DTYPE,
    LoopOutcome,
    lr_factor,
    make_optimizer,
    run_epochs,
    softmax_cross_entropy,
    to_network,
)

__all__ = [
    "ChipFit",
    "ChipQuantizer",
    "OUTPUT_GAIN",
    "FinetuneResult",
    "balance_layers",
    "capped_network",
    "chip_accuracy",
    "chip_forward",
    "finetune_for_chip",
    "mapper_partition",
    "settle_partition",
]


def mapper_partition(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    profile: Any,
    *,
    strategy: str | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    """Core of every post neuron of every layer, as the mapper partitions the network.

    The network is mapped once (:func:`neurosim.mapping.map_network`) with the
    given connectivity; ``out[l][j]`` is the core of neuron ``j`` of layer ``l + 1``.
    """
    from neurosim.mapping import map_network

    net = to_network(weights, biases, name="partition")
    kwargs = {} if strategy is None else {"strategy": strategy}
    mapped = map_network(net, profile, seed=seed, **kwargs)
    names = [pop.name for _proj, pop in net.layers()]
    return [np.asarray(mapped.core_of[n]) for n in names]


class ChipQuantizer:
    """The chip's value of every weight, from the mapper's quantizer.

    For ``int``, ``ternary``, ``binary`` and ``float`` chips every call runs
    the mapper's :func:`~neurosim.mapping.quantize.quantize_projection`. For
    ``axon_type`` chips the mapper's fit gives the first types and table;
    then the table is a trained parameter (:meth:`update_table`, quantized to
    the chip's bits per neuron) and every ``refit_every`` calls each axon
    takes the type whose table row fits its shadow weights best (the
    assignment step of the alternation).

    Parameters
    ----------
    profile : ChipProfile
    post_cores : one array per layer (core of each post neuron) or None
    refit_every : int
        Calls between two type assignments (``axon_type`` chips only).
    seed : int
        Seed of the axon-type fit's restarts.
    """

    def __init__(
        self,
        profile: Any,
        post_cores: Sequence[np.ndarray | None],
        *,
        refit_every: int = 20,
        type_start: str = "mapper",
        seed: int = 0,
    ) -> None:
        self.type_start = type_start
        #: largest fraction of a layer's axons that change type in one assignment step
        self.assign_fraction = 0.05
        #: no more assignment steps (the last epochs tune the table and crossbar bits only)
        self.frozen = False
        self.profile = profile
        self.post_cores = list(post_cores)
        self.refit_every = max(1, int(refit_every))
        self.seed = int(seed)
        self.kind = str(profile.get("weights.kind"))
        self.qmax = 2 ** (int(profile.get("weights.bits")) - 1) - 1
        n = len(self.post_cores)
        self._calls = [0] * n
        self._types: list[np.ndarray | None] = [None] * n
        self._table: list[np.ndarray | None] = [None] * n
        #: the mapper's last fit of every layer (its types and table)
        self._fit: list[Any] = [None] * n
        #: layers that train through the mapper's own axon-type fit (:meth:`sync`)
        self.through_mapper: set[int] = set()
        #: relative L1 change of a layer at mapping beyond which it trains through the mapper
        self.sync_tolerance = 0.01

    def exact(self, layer: int, w: np.ndarray) -> np.ndarray:
        """The mapper's quantization of float weights ``w`` (dense), as the chip holds them."""
        from neurosim.mapping.quantize import quantize_projection

        q = quantize_projection(
            f"layer{layer + 1}",
            sp.csr_matrix(w),
            self.profile,
            post_core=self.post_cores[layer],
            seed=self.seed,
        )
        self._fit[layer] = q
        if q.axon_types is not None and self._types[layer] is None:
            self._adopt(layer, q)
            if self.type_start == "random":
                self._random_start(layer, w)
        return q.weights.multiply(q.scale[None, :]).toarray()

    def _adopt(self, layer: int, q: Any) -> None:
        """Take the types and the table of a mapper fit ``q`` as the trained ones."""
        self._types[layer] = np.asarray(q.axon_types)
        self._table[layer] = (q.type_weights * q.scale[None, :]).astype(DTYPE)

    def sync(self, weights: Sequence[np.ndarray]) -> list[int]:
        """Layers whose trained axon types the mapper cannot find again train through its fit.

        The mapper's axon-type fit is a local search: from the structured
        weights of a training it may reach other types (and so other
        weights), and the chip holds what the mapper finds. Every layer whose
        :meth:`final` weights differ from the training's structured weights
        by more than ``sync_tolerance`` (relative L1; a few crossbar bits
        that flip are not worth a mapper fit per step) trains from now on
        through the mapper's fit of its shadow weights (the fixed point
        :meth:`final`, what the chip will hold), with the straight-through
        gradient, like the other weight kinds. (Through the fit of the
        structured weights instead, full MNIST 784-256-256-10 kept 70 %: that
        fit jumps where the shadow weights' does not; 95 % this way.) Returns
        the layers that train through the mapper's fit. (The same check runs within an epoch
        every ``10 refit_every`` calls of a layer.)
        """
        if self.kind != "axon_type":
            return []
        for i, w in enumerate(weights):
            if i not in self.through_mapper and self._lost(i, w):
                self.through_mapper.add(i)
        return sorted(self.through_mapper)

    def _lost(self, layer: int, w: np.ndarray) -> bool:
        """True when mapping changes the structured weights by more than ``sync_tolerance``."""
        s = self.structured(layer, w)
        lost = np.abs(self.final(layer, w) - s).sum() / max(float(np.abs(s).sum()), 1e-30)
        return bool(lost > self.sync_tolerance)

    def _random_start(self, layer: int, w: np.ndarray) -> None:
        """Seeded balanced random types; per (type, neuron) the mean of the larger same-sign half."""
        n_types = self._table[layer].shape[0]
        rng = np.random.default_rng([self.seed, layer, 31])
        types = rng.permutation(np.arange(w.shape[0]) % n_types)
        table = np.zeros_like(self._table[layer])
        for t in range(n_types):
            wt = w[types == t]
            pos = np.where(wt > 0, wt, 0)
            neg = np.where(wt < 0, -wt, 0)
            sp_, sn = (pos**2).sum(axis=0), (neg**2).sum(axis=0)
            kp, kn = np.maximum((pos > 0).sum(axis=0), 1), np.maximum((neg > 0).sum(axis=0), 1)
            table[t] = np.where(sp_ >= sn, 2 * pos.sum(axis=0) / kp, -2 * neg.sum(axis=0) / kn)
        self._types[layer], self._table[layer] = types, table.astype(DTYPE)

    def _quantized_table(self, layer: int) -> np.ndarray:
        table = self._table[layer]
        peak = np.abs(table).max(axis=0)
        scale = np.where(peak > 0, peak / self.qmax, 1.0)
        return (np.rint(table / scale) * scale).astype(DTYPE)

    def _assign(self, layer: int, w: np.ndarray) -> None:
        """Each axon takes the type of least error ``sum_j min(w^2, (w - T[t, j])^2)``."""
        table = self._quantized_table(layer)
        w2 = w * w
        cost = np.stack([np.minimum(w2, (w - row) ** 2).sum(axis=1) for row in table], axis=1)
        types = self._types[layer]
        rows = np.arange(len(types))
        best = cost.argmin(axis=1)
        gain = cost[rows, types] - cost[rows, best]
        # at most assign_fraction of the axons move, those that gain most (a gentle step)
        k = min(int(np.ceil(self.assign_fraction * len(types))), int((gain > 0).sum()))
        if k > 0:
            move = np.argpartition(-gain, k - 1)[:k]
            types = types.copy()
            types[move] = best[move]
            self._types[layer] = types

    def structured(self, layer: int, w: np.ndarray) -> np.ndarray:
        """``T[type(i), j]`` where that is closer to ``w[i, j]`` than 0 is, else 0 (axon types)."""
        value = self._quantized_table(layer)[self._types[layer]]
        return np.where((w - value) ** 2 < w * w, value, 0).astype(DTYPE, copy=False)

    def __call__(self, layer: int, w: np.ndarray) -> np.ndarray:
        """Quantized weights for a training step."""
        if self.kind != "axon_type":
            return self.exact(layer, w).astype(DTYPE)
        if self._types[layer] is None:
            self.exact(layer, w)
        if layer in self.through_mapper:
            return self.final(layer, w).astype(DTYPE)
        k = self._calls[layer]
        self._calls[layer] = k + 1
        if k and k % self.refit_every == 0 and not self.frozen:
            self._assign(layer, w)
        if k and k % (10 * self.refit_every) == 0 and self._lost(layer, w):
            self.through_mapper.add(layer)
            return self.final(layer, w).astype(DTYPE)
        return self.structured(layer, w)

    def final(self, layer: int, w: np.ndarray, rounds: int = 6) -> np.ndarray:
        """The weights the chip will hold (float64): a fixed point of the mapper's quantizer.

        The axon-type fit is a local search, so quantizing its own output may
        find other types; repeating until nothing changes gives weights the
        mapper maps onto themselves.
        """
        structured = self.kind == "axon_type" and layer not in self.through_mapper
        eff = self.exact(layer, self.structured(layer, w) if structured else w)
        for _ in range(rounds if self.kind == "axon_type" else 0):
            again = self.exact(layer, eff)
            if np.array_equal(again, eff):
                break
            eff = again
        return eff

    def update_table(self, layer: int, grad_eff: np.ndarray, eff: np.ndarray, opt: Any) -> None:
        """Gradient step on the type table (``axon_type`` only): ``grad_eff`` is dL/dW_chip."""
        if self.kind != "axon_type" or layer in self.through_mapper:
            return
        types = self._types[layer]
        g = np.where(eff != 0, grad_eff, 0)
        gt = np.stack([g[types == t].sum(axis=0) for t in range(self._table[layer].shape[0])])
        self._table[layer] -= opt.update(1000 + layer, gt)


#: logit per unit of output spike rate in the loss of rate-coded training
#: (the output spike counts, divided by the steps, times this gain)
OUTPUT_GAIN = 10.0


def chip_forward(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    *,
    steps: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Activations and the derivative masks of the hidden layers.

    ``steps=None``: ReLU hidden layers, linear output. Otherwise rate-coded
    IF emulation: every layer gives ``floor(steps clip(z, 0, 1)) / steps``
    (an IF neuron of threshold 1 fed ``z`` per step fires that often), with
    derivative 1 on ``0 < z < 1`` in hidden layers; the output's spike rates
    times :data:`OUTPUT_GAIN` are the logits (their gradient passes the
    rounding and the clipping unchanged, a straight-through estimator, so a
    saturated wrong class is still pushed down). Returns ``(acts, grads)``
    with ``acts = [x, h_1, ..., logits]`` and one mask per hidden layer.
    """
    acts, grads = [x], []
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ w + b
        if steps is None:
            a = z if i == last else np.maximum(z, 0)
            if i != last:
                grads.append((z > 0).astype(DTYPE))
        else:
            a = np.floor(np.clip(z, 0, 1) * steps) / steps
            if i == last:
                a = a * OUTPUT_GAIN
            else:
                grads.append(((z > 0) & (z < 1)).astype(DTYPE))
        acts.append(a.astype(DTYPE, copy=False))
    return acts, grads


def _backward(weights, acts, grads, dlogits) -> list[np.ndarray]:
    deltas = [dlogits]
    d = dlogits
    for i in range(len(weights) - 1, 0, -1):
        d = (d @ weights[i].T) * grads[i - 1]
        deltas.append(d)
    deltas.reverse()
    return deltas


def chip_accuracy(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int | None = None,
    batch: int = 4096,
) -> float:
    """Accuracy of :func:`chip_forward` (graded, or rate-coded at ``steps``)."""
    if len(y) == 0:
        return 0.0
    hits = 0
    for i in range(0, len(y), batch):
        logits = chip_forward(weights, biases, x[i : i + batch], steps=steps)[0][-1]
        hits += int(np.sum(logits.argmax(axis=1) == y[i : i + batch]))
    return hits / len(y)


@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune_for_chip` returns: the chip's weights and the loop's outcome."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    outcome: LoopOutcome
    info: dict[str, Any]


def _masked_copies(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
    """Float copies of the start, weights outside the masks zeroed; the masks as floats."""
    ws = [np.array(w, dtype=DTYPE, copy=True) for w in weights]
    bs = [np.array(b, dtype=DTYPE, copy=True) for b in biases]
    ms = (
        [None] * len(ws)
        if masks is None
        else [None if m is None else m.astype(DTYPE) for m in masks]
    )
    for w, m in zip(ws, ms, strict=True):
        if m is not None:
            w *= m
    return ws, bs, ms


def _qat_step(
    ws: list[np.ndarray],
    bs: list[np.ndarray],
    ms: list[np.ndarray | None],
    quant: Any,
    opt: Any,
    x: np.ndarray,
    y: np.ndarray,
    steps: int | None,
) -> Callable[[np.ndarray], float]:
    """One step through the chip's quantizer (and rate code); updates ``ws``, ``bs`` in place."""
    n = len(ws)

    def step(idx: np.ndarray) -> float:
        eff = [quant(i, w) for i, w in enumerate(ws)]
        acts, grads = chip_forward(eff, bs, x[idx], steps=steps)
        loss, dlogits = softmax_cross_entropy(acts[-1], y[idx])
        if steps is not None:
            dlogits = dlogits * OUTPUT_GAIN
        deltas = _backward(eff, acts, grads, dlogits)
        opt.tick()
        for i in range(n):
            g = acts[i].T @ deltas[i]
            quant.update_table(i, g, eff[i], opt)
            if ms[i] is not None:
                g *= ms[i]
            ws[i] -= opt.update(i, g)
            bs[i] -= opt.update(n + i, deltas[i].sum(axis=0))
        return loss

    return step


@dataclass(frozen=True)
class ChipFit:
    """The schedule of :func:`finetune_for_chip`.

    Attributes
    ----------
    epochs, batch_size, lr, seed : int, int, float, int
        Adam fine-tuning, cosine decay of ``lr`` over the epochs, seeded shuffles.
    refit_every : int
        Steps between axon-type assignments (``axon_type`` chips).
    type_start : str
        ``mapper`` (the mapper's fit of the start) or ``random`` axon types.
    strategy : str or None
        The mapper's partition strategy (default: the mapper's default).
    progress : bool
        Rich progress bar.
    sync : bool
        After every epoch, a layer whose trained axon types the mapper's fit
        does not find again trains on through that fit (:meth:`ChipQuantizer.sync`).
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    refit_every: int = 20
    type_start: str = "mapper"
    strategy: str | None = None
    progress: bool = False
    sync: bool = True


def finetune_for_chip(
    data: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    start: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
    chip: tuple[ChipConstraints, Any],
    *,
    masks: Sequence[np.ndarray | None] | None = None,
    fit: ChipFit | None = None,
) -> FinetuneResult:
    """Train float shadow weights through the chip's quantizer (and IF rate code).

    Parameters
    ----------
    data : ``(x, y, x_val, y_val)``
        Training data (float32, int) and the validation split (or None): the
        best epoch by the chip's accuracy on it is kept.
    start : ``(weights, biases)``, a trained float network
    chip : ``(constraints, profile)`` (:func:`~neurosim.train.chip.chip_constraints`)
    masks : fixed connectivity per layer (bool arrays or None)
    fit : the schedule (default :class:`ChipFit`)

    Returns
    -------
    FinetuneResult
        ``weights`` are exactly the chip's values (the mapper's quantizer maps
        them onto themselves).
    """
    x, y, x_val, y_val = data
    constraints, profile = chip
    f = ChipFit() if fit is None else fit
    ws, bs, ms = _masked_copies(*start, masks)
    steps = constraints.steps if constraints.spiking else None
    if steps is not None:
        ws, bs = balance_layers(ws, bs, x[:1024])
    cores = mapper_partition(ws, bs, profile, strategy=f.strategy, seed=f.seed)
    quant = ChipQuantizer(
        profile, cores, refit_every=f.refit_every, type_start=f.type_start, seed=f.seed
    )
    opt = make_optimizer("adam", f.lr)

    # run_epochs calls decay, then validate, then (on a better epoch) snapshot: the
    # state validated is the state kept, and the mapper's fit runs once per epoch
    kept: list[tuple[list[np.ndarray], list[np.ndarray]]] = []

    def snapshot() -> tuple[list[np.ndarray], list[np.ndarray]]:
        if not kept:
            kept.append(([quant.final(i, w) for i, w in enumerate(ws)], [b.copy() for b in bs]))
        return kept[0]

    def decay(epoch: int) -> dict[str, Any]:
        opt.lr = f.lr * lr_factor("cosine", epoch, f.epochs)
        quant.frozen = 2 * epoch >= f.epochs  # types fixed for the second half
        through = quant.sync(ws) if f.sync else []
        kept.clear()  # the weights changed this epoch
        return {"lr": opt.lr, "through_mapper": through}

    outcome = run_epochs(
        x.shape[0],
        epochs=f.epochs,
        batch_size=f.batch_size,
        seed=f.seed,
        step=_qat_step(ws, bs, ms, quant, opt, x, y, steps),
        snapshot=snapshot,
        validate=None
        if x_val is None
        else lambda: chip_accuracy(*snapshot(), x_val, y_val, steps=steps),
        progress=f.progress,
        label=f"chip-aware ({constraints.chip})",
        end_of_epoch=decay,
    )
    eff, b = outcome.state
    eff = settle_partition(quant, eff, b, profile, strategy=f.strategy, seed=f.seed)
    return FinetuneResult(eff, b, outcome, _chip_info(constraints, f, steps, outcome))


def _chip_info(c: ChipConstraints, f: ChipFit, steps: int | None, outcome: Any) -> dict[str, Any]:
    """The chip phase's entries of a training's info."""
    return {
        "chip": c.summary(),
        "chip_epochs": f.epochs,
        "chip_lr": f.lr,
        "refit_every": f.refit_every if c.weight_kind == "axon_type" else None,
        "rate_code_steps": steps,
        "chip_val_accuracy": outcome.best_val_accuracy,
    }


def balance_layers(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    percentile: float = 99.9,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Rescale every layer so that the ``percentile`` of its positive activations is 1.

    ``W_l * lambda_{l-1} / lambda_l`` and ``b_l / lambda_l`` leave the ReLU
    network's output unchanged up to a positive factor (the argmax is kept),
    and put its activations where the IF rate code (at most one spike per
    step) can carry them: threshold balancing done once, before training.
    """
    ws = [np.array(w, dtype=DTYPE) for w in weights]
    bs = [np.array(b, dtype=DTYPE) for b in biases]
    a, prev = x, 1.0
    for i in range(len(ws)):
        ws[i] *= prev
        z = a @ ws[i] + bs[i]
        pos = z[z > 0]
        lam = float(np.percentile(pos, percentile)) if pos.size else 1.0
        ws[i] /= lam
        bs[i] /= lam
        a, prev = np.maximum(z / lam, 0), lam
    return ws, bs


def settle_partition(
    quant: ChipQuantizer,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    profile: Any,
    *,
    strategy: str | None = None,
    seed: int = 0,
    rounds: int = 4,
) -> list[np.ndarray]:
    """Requantize until the mapper's partition of the quantized weights is the one used.

    Weights that round to 0 leave the network, which may change how the
    mapper packs cores and so the per-core scales; a few rounds reach a fixed
    point, which the mapper then maps with zero quantization error.
    """
    eff = [np.asarray(w) for w in weights]
    for _ in range(rounds):
        cores = mapper_partition(eff, biases, profile, strategy=strategy, seed=seed)
        same = all(
            a is not None and np.array_equal(a, c)
            for a, c in zip(quant.post_cores, cores, strict=True)
        )
        if same:
            break
        quant.post_cores = cores
        eff = [quant.final(i, w) if quant.kind != "axon_type" else w for i, w in enumerate(eff)]
    return eff


def capped_network(network: Any, cap: float = 1.0) -> Any:
    """The same network with every non-input neuron a ReLU capped at ``cap`` (the IF rate limit).

    The output layer too: an IF output neuron's spike rate is rectified and
    saturates, and rate-coded training learned exactly that.
    """
    from neurosim.network import Network, Population
    from neurosim.neurons import NeuronModel

    pops = tuple(
        Population(p.name, p.size, NeuronModel("relu", {"cap": cap}), p.bias)
        if p.model.kind in ("relu", "linear")
        else p
        for p in network.populations
    )
    return Network(
        pops, network.projections, network.inputs, network.outputs, network.name, network.metadata
    )
