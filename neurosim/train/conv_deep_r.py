"""DEEP R over conv kernels: a connection budget over kernel entries and dense weights.

DEEP R (Bellec, Kappel, Maass & Legenstein, ICLR 2018; :mod:`neurosim.train.deep_r`)
applied to the CNN of :mod:`neurosim.train.cnn`. A potential connection is
one kernel tap of one ``(out_ch, in_ch)`` pair of a convolution, or one
weight of the dense layer. Each has a fixed random sign ``s_k`` and a
parameter ``theta_k``; it is active iff ``theta_k > 0`` and its weight is
``s_k * theta_k``. Exactly ``K`` connections are active after every step:

    theta_k <- theta_k - eta * dE/dtheta_k - eta * alpha + sqrt(2 * eta * T) * N(0, 1)

on the active ones; those whose ``theta`` drops to 0 or below go dormant and
as many dormant ones, drawn uniformly at random, become active at
``theta = 1e-12``. The budget is global (only the total ``K`` over the conv
and dense layers is constant; a freed kernel entry may reappear in the dense
layer) or per layer. An active kernel entry acts at every position of the
feature map, so one budget unit is one stored weight (what a chip that
shares kernels stores); the unrolled synapses it stands for are reported
too (``n_connections``).

The rewiring is :mod:`neurosim.train.deep_r`'s
(:class:`~neurosim.train.deep_r.RewiringState` and
:func:`~neurosim.train.deep_r.rewire`, the uniform draw of dormant
connections over an :class:`~neurosim.train.deep_r.IndexSpace` of the
layers' shapes); the layers are the matrices of
:class:`~neurosim.train.conv_layers.ConvArchitecture` (a conv kernel as
``(C_in * 9, C_out)``, so a column is an output channel), and the passes are
:mod:`neurosim.train.cnn`'s im2col forward and backward. The initial mask
gives every output channel (conv channel, class) at least one connection,
so a budget must hold one per output channel.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neurosim.errors import TrainingError
from neurosim.train.constraints import BUDGET_MODES
from neurosim.train.conv_layers import ConvArchitecture, ConvRun, ConvShapeOptions, softmax_grad
from neurosim.train.core import DTYPE, TrainResult, lr_factor, make_optimizer, run_epochs
from neurosim.train.deep_r import EPSILON, IndexSpace, RewiringState, check_rates, rewire
from neurosim.train.options import (
    OptimizerOptions,
    TrainData,
    TrainOptions,
    option,
    options_class,
    trainer,
)

__all__ = [
    "ConvDeepROptions",
    "conv_budgets",
    "conv_deep_r_step",
    "init_conv_rewiring",
    "layer_matrices",
    "train_conv_deep_r",
]


def _state_sizes(shapes: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """``RewiringState.sizes`` for these layers: entry ``l + 1`` is layer ``l``'s ``n_out``.

    The layers need not chain (``sizes[0]`` is the first layer's ``n_in``);
    the rewiring reads the layers' shapes from :class:`IndexSpace`, not from ``sizes``.
    """
    return (int(shapes[0][0]), *(int(s[1]) for s in shapes))


# ------------------------------------------------------------------ budget
def _total_allocation(total: int, shapes: Sequence[tuple[int, int]]) -> list[int]:
    """Split a global budget: one per output channel, the rest by the layers' dormant room."""
    floor = np.array([s[1] for s in shapes], dtype=np.int64)
    room = np.array([s[0] * s[1] for s in shapes], dtype=np.int64) - floor
    rest = total - int(floor.sum())
    share = rest * room / max(int(room.sum()), 1)
    alloc = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - alloc), kind="stable")
    for i in order[: rest - int(alloc.sum())]:
        alloc[i] += 1
    return [int(v) for v in floor + np.minimum(alloc, room)]


def conv_budgets(
    shapes: Sequence[tuple[int, int]],
    names: Sequence[str],
    *,
    connectivity: float | Sequence[float] | None = None,
    n_connections: int | Sequence[int] | None = None,
) -> tuple[int, ...]:
    """Active connections of each layer at the start (and throughout, per layer).

    Parameters
    ----------
    shapes : ``(n_in, n_out)`` of each layer (``(C_in * 9, C_out)`` for a conv)
    names : layer names for errors
    connectivity : fraction of all potential connections (split by the layers'
        room), or one fraction per layer; default 0.1
    n_connections : exact total, or one count per layer (wins over ``connectivity``)

    Raises
    ------
    TrainingError
        A budget below one connection per output channel, or above what a layer holds.
    """
    possible = [a * b for a, b in shapes]
    value = n_connections if n_connections is not None else (0.1 if connectivity is None else connectivity)
    what = "n_connections" if n_connections is not None else "connectivity"
    if np.ndim(value) == 0:
        if what == "connectivity" and not 0 < float(value) <= 1:
            raise TrainingError(f"conv DEEP R: connectivity {value}; expected a fraction in (0, 1]")
        total = int(value) if what == "n_connections" else int(round(float(value) * sum(possible)))
        need = sum(s[1] for s in shapes)
        if not need <= total <= sum(possible):
            raise TrainingError(
                f"conv DEEP R: budget of {total} connections; expected {need}..{sum(possible)} "
                f"(at least one per output channel)"
            )
        return tuple(_total_allocation(total, shapes))
    values = list(value)  # type: ignore[arg-type]
    if len(values) != len(shapes):
        raise TrainingError(f"conv DEEP R: {what} has {len(values)} values; expected 1 or {len(shapes)}")
    counts = [int(v) if what == "n_connections" else int(round(float(v) * p)) for v, p in zip(values, possible, strict=True)]
    for name, k, (n_in, n_out) in zip(names, counts, shapes, strict=True):
        if not n_out <= k <= n_in * n_out:
            raise TrainingError(
                f"conv DEEP R: {name}: budget of {k} connections; expected {n_out}..{n_in * n_out} "
                f"(at least one per output channel)"
            )
    return tuple(counts)


# ------------------------------------------------------------------ state
def _initial_mask(n_in: int, n_out: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct flat indices of an ``n_in x n_out`` matrix: one per column, the rest at random."""
    first = rng.integers(0, n_in, size=n_out) * n_out + np.arange(n_out)
    free = np.ones(n_in * n_out, dtype=bool)
    free[first] = False
    rest = rng.permutation(np.flatnonzero(free))[: k - n_out]
    return np.concatenate([first, rest]).astype(np.int64)


def init_conv_rewiring(
    shapes: Sequence[tuple[int, int]], budgets: Sequence[int], *, budget: str = "global", seed: int = 0
) -> RewiringState:
    """Random signs, an initial mask of ``budgets[l]`` connections per layer, initial theta.

    ``theta`` starts at ``|N(0, 2 / f)|`` with ``f`` the mean active fan-in of
    the layer's output neurons (kernel entries per output channel for a conv);
    biases start at 0.
    """
    if budget not in BUDGET_MODES:
        raise TrainingError(f"conv DEEP R: budget {budget!r}; expected one of {', '.join(BUDGET_MODES)}")
    rng = np.random.default_rng([seed, 10])
    signs, active, fan_in, layer, local, theta = [], [], [], [], [], []
    for i, ((n_in, n_out), k) in enumerate(zip(shapes, budgets, strict=True)):
        signs.append(np.where(rng.random(n_in * n_out) < 0.5, -1.0, 1.0).astype(DTYPE))
        idx = _initial_mask(n_in, n_out, int(k), rng)
        act = np.zeros(n_in * n_out, dtype=bool)
        act[idx] = True
        active.append(act)
        fan_in.append(np.bincount(idx % n_out, minlength=n_out).astype(np.int64))
        layer.append(np.full(idx.size, i, dtype=np.int64))
        local.append(idx)
        theta.append(np.abs(rng.standard_normal(idx.size)) * np.sqrt(2.0 * n_out / idx.size))
    return RewiringState(
        sizes=_state_sizes(shapes),
        signs=signs,
        slot_layer=np.concatenate(layer),
        slot_index=np.concatenate(local),
        theta=np.maximum(np.concatenate(theta), EPSILON).astype(DTYPE),
        active=active,
        fan_in=fan_in,
        biases=[np.zeros(n_out, dtype=DTYPE) for _, n_out in shapes],
        budgets=tuple(int(b) for b in budgets) if budget == "per_layer" else None,
        fan_in_cap=None,
    )


def layer_matrices(state: RewiringState, shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Dense float32 matrices ``sign * theta`` of the active connections, one per layer."""
    out = []
    for i, (n_in, n_out) in enumerate(shapes):
        sel = state.layer_slots(i)
        idx = state.slot_index[sel]
        m = np.zeros(n_in * n_out, dtype=DTYPE)
        m[idx] = state.signs[i][idx] * state.theta[sel]
        out.append(m.reshape(n_in, n_out))
    return out


def conv_deep_r_step(
    state: RewiringState,
    arch: ConvArchitecture,
    xb: np.ndarray,
    yb: np.ndarray,
    opt: Any,
    *,
    lr: float,
    l1: float,
    temperature: float,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """One DEEP R step in place; returns ``(batch loss, number of rewired connections)``."""
    shapes = arch.layer_shapes
    mats = layer_matrices(state, shapes)
    logits, saved = arch.logits(xb, mats, state.biases, keep=True)
    loss, dlogits = softmax_grad(logits, yb)
    gmats, gbias = arch.gradients(dlogits, mats, saved)
    grad = np.empty_like(state.theta)
    for i, g in enumerate(gmats):
        sel = state.layer_slots(i)
        idx = state.slot_index[sel]
        grad[sel] = state.signs[i][idx] * g.ravel()[idx]
    opt.tick()
    state.theta -= opt.update(0, grad)
    if l1:
        state.theta -= DTYPE(lr * l1)
    if temperature:
        state.theta += (np.sqrt(2.0 * lr * temperature) * rng.standard_normal(state.theta.size)).astype(DTYPE)
    for i, g in enumerate(gbias):
        state.biases[i] -= opt.update(1 + i, g)
    dead = np.flatnonzero(state.theta <= 0)
    if dead.size:
        rewire(state, IndexSpace(shapes), dead, rng)
        opt.reset(0, dead)
    return loss, int(dead.size)


# ------------------------------------------------------------------ train
@dataclass
class _ConvRewiringRun(ConvRun):
    """One conv DEEP R run; its methods are :func:`run_epochs`'s callbacks.

    ``rates`` holds the base ``lr``, ``l1``, ``temperature``, the schedule and
    the number of epochs; ``rate`` is the current learning rate.
    """

    state: RewiringState
    opt: Any
    seed: int
    rates: dict[str, Any]
    rate: float = 0.0
    rewired: int = 0
    rng: np.random.Generator = field(init=False)
    label: ClassVar[str] = "conv DEEP R"

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.seed, 12])
        self.rate = float(self.rates["lr"])

    def step(self, idx: np.ndarray) -> float:
        """One DEEP R step on the minibatch ``idx``."""
        loss, k = conv_deep_r_step(
            self.state, self.arch, self.x[idx], self.y[idx], self.opt, lr=self.rate,
            l1=self.rates["l1"], temperature=self.rates["temperature"], rng=self.rng,
        )
        self.rewired += k
        return loss

    def matrices(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The current layer matrices (fresh arrays) and biases (the state's own)."""
        return layer_matrices(self.state, self.arch.layer_shapes), self.state.biases

    def snapshot(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Copies of the current matrices and biases."""
        mats, biases = self.matrices()
        return mats, [b.copy() for b in biases]

    def record(self, epoch: int) -> dict[str, Any]:
        """The history record's extra figures; then the rate of the next epoch."""
        out = {"n_active": int(self.state.theta.size), "layer_active": self.state.counts(),
               "rewired": self.rewired, "lr": self.rate}
        self.rate = self.rates["lr"] * lr_factor(self.rates["lr_schedule"], epoch, self.rates["epochs"])
        self.opt.lr = self.rate
        return out


def _result(run: _ConvRewiringRun, outcome: Any, info: dict[str, Any], *, t0: float, seed: int) -> TrainResult:
    """The :class:`TrainResult` of the best epoch; fills ``info``'s per-layer counts."""
    arch = run.arch
    mats, biases = outcome.state
    active = [int(np.count_nonzero(m)) for m in mats]
    sub = np.random.default_rng([seed, 13]).permutation(run.x.shape[0])[:10_000]
    info.update({
        "layers": list(arch.names),
        "layer_connections": active,
        "layer_possible": [a * b for a, b in arch.layer_shapes],
        "min_channel_fan_in": [int(np.count_nonzero(m, axis=0).min()) for m in mats],
        "rewired": run.rewired,
    })
    keep = ("channels", "image_shape", "budget", "n_active", "budgets")
    meta = {"training": {"method": "deep_r_cnn", "seed": int(seed), **{k: info[k] for k in keep}}}
    net = arch.network(mats, biases, name="deep_r_cnn", metadata=meta)
    return TrainResult(
        network=net,
        method="deep_r_cnn",
        train_accuracy=arch.accuracy(run.x[sub], run.y[sub], mats, biases),
        val_accuracy=outcome.best_val_accuracy,
        n_connections=net.n_synapses,
        n_possible=arch.n_possible_synapses(),
        n_parameters=int(sum(active)),
        wall_time_s=time.perf_counter() - t0,
        epochs_run=outcome.epochs_run,
        history=outcome.history,
        info=info,
    )


@options_class("conv DEEP R and conv CoNNTrA (deep_r_cnn, conntra_cnn)")
class ConvDeepROptions(TrainOptions, OptimizerOptions, ConvShapeOptions):
    """Options of :func:`train_conv_deep_r`.

    The budget (:func:`conv_budgets`) is a fraction of all potential
    connections (kernel entries and dense weights) or an exact total, or one
    per layer (conv1, conv2, dense); ``budget`` keeps the total (``global``)
    or each layer's count (``per_layer``) constant. ``lr`` is ``eta`` of the
    gradient term (Adam by default, as :func:`~neurosim.train.cnn.train_cnn`;
    ``sgd`` is the paper's), following ``lr_schedule``.
    """

    connectivity: float | Sequence[float] | None = option(
        None, "fraction of connections kept, one or one per layer (default 0.1)", "floats"
    )
    n_connections: int | Sequence[int] | None = option(
        None, "exact connection budget, one or one per layer", "ints"
    )
    budget: str = option("global", "per_layer or global: keep each layer's count, or the total")
    lr_schedule: str = option("cosine", "constant or cosine: the per-epoch decay of lr")
    l1: float = option(1e-5, "L1 shrinkage alpha per step (times lr)", "float")
    temperature: float = option(1e-10, "noise temperature T", "float")
    epochs: int = 3
    lr: float = 2e-2
    momentum: float = 0.0


@trainer(ConvDeepROptions)
def train_conv_deep_r(d: TrainData, o: ConvDeepROptions) -> TrainResult:
    """Train the CNN of :mod:`neurosim.train.cnn` with DEEP R under a budget of kernel entries.

    Takes flat images ``x`` ``(n, C*H*W)``, integer labels ``y``,
    ``n_classes`` (default ``max(y) + 1``) and the options of
    :class:`ConvDeepROptions` (``seed`` seeds the mask, signs, initial
    values, noise, rewiring draws, validation split and shuffles).

    Returns
    -------
    TrainResult
        ``n_parameters`` is the number of active connections (the budget);
        ``n_connections`` the unrolled synapses of the trained network;
        ``info`` holds the budgets, the per-layer counts and the rewirings.
    """
    check_rates(o.lr, o.l1, o.temperature)
    lr_factor(o.lr_schedule, 0, o.epochs)
    arch = ConvArchitecture.make(d.n_features, o.image_shape, o.channels, d.n_classes, "deep_r_cnn")
    shapes = arch.layer_shapes
    budgets = conv_budgets(shapes, arch.names, connectivity=o.connectivity, n_connections=o.n_connections)
    state = init_conv_rewiring(shapes, budgets, budget=o.budget, seed=o.seed)
    rates = {"lr": o.lr, "l1": o.l1, "temperature": o.temperature, "lr_schedule": o.lr_schedule,
             "epochs": o.epochs}
    run = _ConvRewiringRun(arch, d.x, d.y, state, make_optimizer(o.optimizer, o.lr, o.momentum), o.seed, rates)
    outcome = run_epochs(**run.loop_args(o.batch_size, d.x_val, d.y_val), epochs=o.epochs, seed=o.seed,
                         patience=o.patience, progress=o.progress)
    info = {"channels": list(arch.channels), "image_shape": list(arch.image_shape), "budget": o.budget,
            "n_active": int(sum(budgets)), "budgets": list(budgets), "optimizer": o.optimizer, "lr": o.lr,
            "lr_schedule": o.lr_schedule, "l1": o.l1, "temperature": o.temperature, "batch_size": o.batch_size}
    return _result(run, outcome, info, t0=d.t0, seed=o.seed)
