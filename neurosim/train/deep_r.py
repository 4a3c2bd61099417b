"""DEEP R: training under a hard connection budget by stochastic rewiring.

Bellec, Kappel, Maass & Legenstein, *Deep Rewiring: Training very sparse deep
networks*, ICLR 2018 (Algorithm 1). Every potential connection ``k`` has a
fixed random sign ``s_k`` and a parameter ``theta_k``; it is active iff
``theta_k > 0`` and then its weight is ``s_k * theta_k``. Each step updates
the active connections only::

    theta_k <- theta_k - eta * dE/dtheta_k - eta * alpha + sqrt(2 * eta * T) * N(0, 1)

(gradient step, L1 shrinkage ``alpha``, Gaussian noise of temperature ``T``).
Connections whose ``theta`` drops to 0 or below become dormant, and as many
dormant connections, drawn uniformly at random, are activated with
``theta = epsilon`` (1e-12, as the authors' code), so that exactly ``K``
connections are active after every step. With ``optimizer="adam"`` the
gradient term ``eta * dE/dtheta`` is replaced by Adam's step (an option, not
the paper's plain SGD); the L1 and noise terms keep the base rate ``eta``.

Budgets are per layer (``K_l`` constant in each layer, as in the authors'
MNIST script) or global (``K`` constant over the network; a dormant
connection anywhere can be activated; the per-layer budgets then only give
the initial allocation). A per-neuron fan-in cap (from a chip
profile) restricts both the initial mask and reactivation to connections
whose target neuron has fewer than ``cap`` active inputs, so the trained
network fits the chip without fan-in splitting.

Implementation: the active set is held in ``K`` *slots* (layer, flat index,
theta), so its size never changes; a dormant connection's slot is reused by
its replacement. Forward and backward passes use weight matrices built from
the slots each step -- dense by default (measured ~10% faster per step than
``scipy.sparse`` CSR at LeNet-300-100 size and 1.3% density), CSR with
``matmul="sparse"`` -- and the gradient is computed for the active
connections only (a gather of the ``K`` input/delta pairs), never as a dense
``n_in x n_out`` matrix.

``soft`` DEEP R (the paper's soft variant) keeps ``theta`` for every potential
connection, applies L1 and noise to all of them, clips ``theta`` at
``theta_min`` and has no fixed budget; it is implemented with dense arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import TrainingError
from neurosim.train.constraints import BUDGET_MODES
from neurosim.train.core import (
    DTYPE,
    EpochRun,
    TrainResult,
    accuracy,
    backward,
    forward,
    layer_sizes,
    lr_factor,
    make_optimizer,
    possible_connections,
    run_epochs,
    softmax_cross_entropy,
)
from neurosim.train.for_chip import continue_on_chip
from neurosim.train.options import (
    BudgetOptions,
    ChipTrainingOptions,
    GradientOptions,
    TrainData,
    cap_and_budgets,
    option,
    options_class,
    trainer,
)

__all__ = [
    "DeepROptions",
    "IndexSpace",
    "RewiringState",
    "check_rates",
    "deep_r_step",
    "init_rewiring",
    "rewire",
    "rewiring_weights",
    "soft_deep_r_step",
    "train_deep_r",
]

EPSILON = 1e-12


@dataclass
class RewiringState:
    """Working state of one DEEP R run (mutated in place by :func:`deep_r_step`).

    Attributes
    ----------
    sizes : layer sizes
    signs : list of float32 arrays, one per layer, shape ``(n_in * n_out,)``
        Fixed sign of every potential connection (row-major flat index).
    slot_layer, slot_index : int64 arrays of shape ``(K,)``
        Layer and flat index of the connection held by each slot.
    theta : float32 array of shape ``(K,)``
        Parameter of each active connection (always > 0 between steps).
    active : list of bool arrays, shape ``(n_in * n_out,)``
        Active flag of every potential connection.
    fan_in : list of int64 arrays, shape ``(n_out,)``
        Active inputs of every neuron.
    biases : list of float32 arrays
    budgets : per-layer budgets (per_layer mode) or None (global mode)
    fan_in_cap : int or None
    """

    sizes: tuple[int, ...]
    signs: list[np.ndarray]
    slot_layer: np.ndarray
    slot_index: np.ndarray
    theta: np.ndarray
    active: list[np.ndarray]
    fan_in: list[np.ndarray]
    biases: list[np.ndarray]
    budgets: tuple[int, ...] | None
    fan_in_cap: int | None

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def layer_slots(self, layer: int) -> np.ndarray:
        """Slot ids of the connections of ``layer``."""
        return np.flatnonzero(self.slot_layer == layer)

    def counts(self) -> list[int]:
        """Active connections per layer."""
        return [int(c) for c in np.bincount(self.slot_layer, minlength=self.n_layers)]


# ------------------------------------------------------------------ sampling
def _cap_ranks(keys: np.ndarray) -> np.ndarray:
    """Rank of each element among the earlier elements with the same key."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.r_[0, np.flatnonzero(np.diff(sk)) + 1]
    group_start = np.repeat(start, np.diff(np.r_[start, sk.size]))
    ranks = np.empty(keys.size, dtype=np.int64)
    ranks[order] = np.arange(keys.size) - group_start
    return ranks


class IndexSpace:
    """The flat index space of all potential connections (layers concatenated).

    Layer ``l`` is an ``n_in[l] x n_out[l]`` matrix (row = input, column =
    output neuron) whose row-major flat indices start at ``offsets[l]``; the
    layers need not form a chain (a conv kernel is ``(C_in * 9, C_out)``).
    """

    def __init__(self, shapes: Sequence[tuple[int, int]]):
        self.n_in = np.array([s[0] for s in shapes], dtype=np.int64)
        self.n_out = np.array([s[1] for s in shapes], dtype=np.int64)
        self.offsets = np.r_[0, np.cumsum(self.n_in * self.n_out)]
        self.col_offsets = np.r_[0, np.cumsum(self.n_out)]

    @classmethod
    def of_sizes(cls, sizes: Sequence[int]) -> IndexSpace:
        """The space of a fully connected chain of layer ``sizes``."""
        return cls(list(zip(sizes[:-1], sizes[1:], strict=True)))

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    def split(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        layer = np.searchsorted(self.offsets, g, side="right") - 1
        return layer, g - self.offsets[layer]

    def column_key(self, layer: np.ndarray, local: np.ndarray) -> np.ndarray:
        return self.col_offsets[layer] + local % self.n_out[layer]


def _initial_positions(
    space: IndexSpace, lo: int, hi: int, k: int, cap: int | None, rng: np.random.Generator
) -> np.ndarray:
    """``k`` distinct global indices in ``[lo, hi)`` at random, at most ``cap`` per target neuron."""
    perm = lo + rng.permutation(hi - lo)
    if cap is not None:
        layer, local = space.split(perm)
        perm = perm[_cap_ranks(space.column_key(layer, local)) < cap]
    if perm.size < k:
        raise TrainingError(f"cannot place {k} connections under a fan-in cap of {cap}")
    return perm[:k]


def init_rewiring(
    sizes: Sequence[int],
    budgets: Sequence[int],
    *,
    budget: str = "per_layer",
    fan_in_cap: int | None = None,
    seed: int = 0,
) -> RewiringState:
    """Random signs, a random initial mask of ``budgets[l]`` connections per layer, initial theta.

    With ``budget="global"`` the per-layer budgets are only the initial
    allocation; afterwards only their sum is kept constant.

    ``theta`` starts at ``|N(0, 2 / f)|`` where ``f`` is the mean fan-in of the
    sparse layer (He initialisation of the sparse layer); biases start at 0.
    """
    if budget not in BUDGET_MODES:
        raise TrainingError(f"budget {budget!r}; expected one of {', '.join(BUDGET_MODES)}")
    rng = np.random.default_rng([seed, 10])
    sizes = tuple(int(s) for s in sizes)
    space = IndexSpace.of_sizes(sizes)
    n = len(sizes) - 1
    signs = [
        np.where(rng.random(sizes[i] * sizes[i + 1]) < 0.5, -1.0, 1.0).astype(DTYPE)
        for i in range(n)
    ]
    picks = [
        _initial_positions(
            space,
            int(space.offsets[i]),
            int(space.offsets[i + 1]),
            int(budgets[i]),
            fan_in_cap,
            rng,
        )
        for i in range(n)
    ]
    g = np.concatenate(picks)
    layer, local = space.split(g)
    active = [np.zeros(sizes[i] * sizes[i + 1], dtype=bool) for i in range(n)]
    fan_in = [np.zeros(sizes[i + 1], dtype=np.int64) for i in range(n)]
    theta = np.empty(g.size, dtype=DTYPE)
    for i in range(n):
        sel = layer == i
        idx = local[sel]
        active[i][idx] = True
        fan_in[i] += np.bincount(idx % sizes[i + 1], minlength=sizes[i + 1])
        mean_fan_in = max(idx.size / sizes[i + 1], 1.0)
        theta[sel] = np.abs(rng.standard_normal(idx.size)) * np.sqrt(2.0 / mean_fan_in)
    theta = np.maximum(theta, EPSILON).astype(DTYPE)
    return RewiringState(
        sizes=sizes,
        signs=signs,
        slot_layer=layer.astype(np.int64),
        slot_index=local.astype(np.int64),
        theta=theta,
        active=active,
        fan_in=fan_in,
        biases=[np.zeros(s, dtype=DTYPE) for s in sizes[1:]],
        budgets=tuple(int(b) for b in budgets) if budget == "per_layer" else None,
        fan_in_cap=fan_in_cap,
    )


def rewiring_weights(state: RewiringState, *, sparse: bool = True) -> list:
    """Weight matrices ``sign * theta`` of the active connections (CSR, or dense float32)."""
    out = []
    for i in range(state.n_layers):
        n_in, n_out = state.sizes[i], state.sizes[i + 1]
        sel = state.layer_slots(i)
        idx = state.slot_index[sel]
        w = state.signs[i][idx] * state.theta[sel]
        if sparse:
            out.append(
                sp.csr_matrix((w, (idx // n_out, idx % n_out)), shape=(n_in, n_out), dtype=DTYPE)
            )
        else:
            dense = np.zeros(n_in * n_out, dtype=DTYPE)
            dense[idx] = w
            out.append(dense.reshape(n_in, n_out))
    return out


def _accept(state: RewiringState, space: IndexSpace, cand: np.ndarray, need: int) -> list[int]:
    """Activate the eligible candidates (global indices) in order, up to ``need``."""
    cap = state.fan_in_cap
    taken: list[int] = []
    n_out = space.n_out.tolist()
    layers, locals_ = space.split(cand)
    for g, li, loc in zip(cand.tolist(), layers.tolist(), locals_.tolist(), strict=True):
        act = state.active[li]
        if act[loc]:
            continue
        col = loc % n_out[li]
        if cap is not None and state.fan_in[li][col] >= cap:
            continue
        act[loc] = True
        state.fan_in[li][col] += 1
        taken.append(g)
        if len(taken) == need:
            break
    return taken


def _draw_dormant(
    state: RewiringState, space: IndexSpace, lo: int, hi: int, need: int, rng: np.random.Generator
) -> np.ndarray:
    """Activate ``need`` eligible dormant connections in ``[lo, hi)``, uniformly at random.

    Rejection sampling (cheap at low density); falls back to enumerating the
    eligible connections when it keeps failing (dense or saturated layers).
    """
    taken: list[int] = []
    for _ in range(8):
        if len(taken) == need:
            break
        left = need - len(taken)
        cand = rng.integers(lo, hi, size=2 * left + 8)
        taken += _accept(state, space, cand, left)
    if len(taken) < need:
        g = np.arange(lo, hi)
        layer, local = space.split(g)
        ok = np.ones(g.size, dtype=bool)
        for i in np.unique(layer):
            sel = layer == i
            dormant = ~state.active[i][local[sel]]
            if state.fan_in_cap is not None:
                dormant &= state.fan_in[i][local[sel] % space.n_out[i]] < state.fan_in_cap
            ok[sel] = dormant
        eligible = g[ok]
        taken += _accept(state, space, rng.permutation(eligible), need - len(taken))
    if len(taken) < need:
        raise TrainingError(
            f"DEEP R: only {len(taken)} of {need} dormant connections can be activated under fan-in cap {state.fan_in_cap}"
        )
    return np.asarray(taken, dtype=np.int64)


def rewire(
    state: RewiringState, space: IndexSpace, dead: np.ndarray, rng: np.random.Generator
) -> None:
    """Deactivate the slots ``dead`` and refill them with random dormant connections.

    ``space`` is the index space of the state's layers. Per-layer budgets
    draw in the dead slot's layer, a global budget anywhere in ``space``.
    """
    n_out = space.n_out.tolist()
    for s in dead.tolist():
        li, loc = int(state.slot_layer[s]), int(state.slot_index[s])
        state.active[li][loc] = False
        state.fan_in[li][loc % n_out[li]] -= 1
    if state.budgets is not None:
        for i in np.unique(state.slot_layer[dead]).tolist():
            slots = dead[state.slot_layer[dead] == i]
            g = _draw_dormant(
                state, space, int(space.offsets[i]), int(space.offsets[i + 1]), slots.size, rng
            )
            layer, local = space.split(g)
            state.slot_layer[slots], state.slot_index[slots] = layer, local
    else:
        g = _draw_dormant(state, space, 0, space.total, dead.size, rng)
        layer, local = space.split(g)
        state.slot_layer[dead], state.slot_index[dead] = layer, local
    state.theta[dead] = EPSILON


def deep_r_step(
    state: RewiringState,
    xb: np.ndarray,
    yb: np.ndarray,
    opt,
    *,
    lr: float,
    l1: float,
    temperature: float,
    rng: np.random.Generator,
    sparse: bool = False,
) -> tuple[float, int]:
    """One DEEP R step in place; returns ``(batch loss, number of rewired connections)``.

    ``sparse`` selects CSR (True) or dense (False) weight matrices for the
    forward and backward passes; the weight gradient is computed for the
    active connections only either way.
    """
    weights = rewiring_weights(state, sparse=sparse)
    acts = forward(weights, state.biases, xb)
    loss, dlogits = softmax_cross_entropy(acts[-1], yb)
    deltas = backward(weights, acts, dlogits)
    grad = np.empty_like(state.theta)
    n = state.n_layers
    for i in range(n):
        sel = state.layer_slots(i)
        idx = state.slot_index[sel]
        n_out = state.sizes[i + 1]
        a_t = np.ascontiguousarray(acts[i].T)
        d_t = np.ascontiguousarray(deltas[i].T)
        gw = np.einsum("kb,kb->k", a_t[idx // n_out], d_t[idx % n_out])
        grad[sel] = state.signs[i][idx] * gw
    opt.tick()
    state.theta -= opt.update(0, grad)
    if l1:
        state.theta -= DTYPE(lr * l1)
    if temperature:
        state.theta += (
            np.sqrt(2.0 * lr * temperature) * rng.standard_normal(state.theta.size)
        ).astype(DTYPE)
    for i in range(n):
        state.biases[i] -= opt.update(1 + i, deltas[i].sum(axis=0))
    dead = np.flatnonzero(state.theta <= 0)
    if dead.size:
        rewire(state, IndexSpace.of_sizes(state.sizes), dead, rng)
        opt.reset(0, dead)
    return loss, int(dead.size)


# ------------------------------------------------------------------ soft
@dataclass
class _SoftState:
    sizes: tuple[int, ...]
    signs: list[np.ndarray]
    theta: list[np.ndarray]
    biases: list[np.ndarray]

    def weights(self) -> list[np.ndarray]:
        return [
            np.where(t > 0, s * t, 0).astype(DTYPE)
            for s, t in zip(self.signs, self.theta, strict=True)
        ]


def _init_soft(
    sizes: Sequence[int], budgets: Sequence[int], seed: int, theta_min: float
) -> _SoftState:
    hard = init_rewiring(sizes, budgets, seed=seed)
    rng = np.random.default_rng([seed, 11])
    thetas = []
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        t = rng.uniform(theta_min, 0.0, n_in * n_out).astype(DTYPE)
        sel = hard.layer_slots(i)
        t[hard.slot_index[sel]] = hard.theta[sel]
        thetas.append(t.reshape(n_in, n_out))
    return _SoftState(
        tuple(sizes),
        [s.reshape(sizes[i], sizes[i + 1]) for i, s in enumerate(hard.signs)],
        thetas,
        hard.biases,
    )


def soft_deep_r_step(
    state: _SoftState, xb, yb, opt, *, lr, l1, temperature, theta_min, rng
) -> tuple[float, int]:
    """One soft-DEEP R step: gradient on active, L1 and noise on all, clip at ``theta_min``."""
    weights = state.weights()
    acts = forward(weights, state.biases, xb)
    loss, dlogits = softmax_cross_entropy(acts[-1], yb)
    deltas = backward(weights, acts, dlogits)
    opt.tick()
    n = len(weights)
    flips = 0
    for i in range(n):
        t = state.theta[i]
        on = t > 0
        g = (acts[i].T @ deltas[i]) * state.signs[i] * on
        t -= opt.update(i, g)
        t -= DTYPE(lr * l1)
        if temperature:
            t += (np.sqrt(2.0 * lr * temperature) * rng.standard_normal(t.shape)).astype(DTYPE)
        np.maximum(t, theta_min, out=t)
        flips += int(np.count_nonzero(on != (t > 0)))
        state.biases[i] -= opt.update(n + i, deltas[i].sum(axis=0))
    return loss, flips


# ------------------------------------------------------------------ train
def check_rates(lr: float, l1: float, temperature: float) -> None:
    """``lr`` finite and > 0, ``l1`` and ``temperature`` finite and >= 0."""
    for name, v in (("lr", lr), ("l1", l1), ("temperature", temperature)):
        if not np.isfinite(v) or v < 0 or (name == "lr" and v == 0):
            raise TrainingError(
                f"DEEP R: {name} = {v}; expected a finite number {'> 0' if name == 'lr' else '>= 0'}"
            )


def _check_variant(soft: bool, cap: int | None, matmul: str, theta_min: float) -> None:
    """The soft variant takes no cap and a negative ``theta_min``; ``matmul`` is dense or sparse."""
    if soft and cap is not None:
        raise TrainingError(
            "soft DEEP R has no hard budget, so it cannot enforce a fan-in cap; drop --soft or the cap"
        )
    if matmul not in ("dense", "sparse"):
        raise TrainingError(f"DEEP R: matmul {matmul!r}; expected 'dense' or 'sparse'")
    if soft and theta_min >= 0:
        raise TrainingError(f"soft DEEP R: theta_min = {theta_min}; expected < 0")


def _resolve_budgets(
    sizes: Sequence[int], o: DeepROptions
) -> tuple[int | None, list[int], tuple | None]:
    """``(fan-in cap, per-layer budgets, chip target or None)`` of a DEEP R request."""
    cap, budgets = cap_and_budgets(o, sizes)
    if o.chip is None:
        return cap, budgets, None
    from neurosim.train.chip import check_budget
    from neurosim.train.for_chip import resolve_chip

    target = resolve_chip("deep_r", o.chip, o.chip_overrides, sizes, o.steps, o.spiking)
    check_budget(sizes, budgets)
    return cap, budgets, target


def _init_state(
    sizes: Sequence[int],
    budgets: Sequence[int],
    seed: int,
    soft: bool,
    budget: str,
    cap: int | None,
    theta_min: float,
) -> RewiringState | _SoftState:
    """The initial state of a hard (``budget``, ``cap``) or soft (``theta_min``) run."""
    if soft:
        return _init_soft(sizes, budgets, seed, theta_min)
    return init_rewiring(sizes, budgets, budget=budget, fan_in_cap=cap, seed=seed)


@dataclass
class _RewiringRun(EpochRun):
    """One DEEP R run (hard or soft); its methods are the epoch loop's callbacks.

    ``matmul`` is the hard variant's matrix kind (``dense`` or ``sparse``),
    ``seed`` seeds the noise and the rewiring draws;
    :meth:`set_rates` sets the base ``lr``, ``l1``, ``temperature``,
    ``theta_min`` and the learning-rate schedule; ``rate`` is the current
    learning rate and ``rewired`` the rewirings so far.
    """

    state: RewiringState | _SoftState
    matmul: str
    opt: Any
    seed: int
    x: np.ndarray
    y: np.ndarray
    lr: float = 0.05
    l1: float = 0.0
    temperature: float = 0.0
    theta_min: float = -1e-3
    lr_schedule: str = "constant"
    epochs: int = 1
    rate: float = 0.05
    rewired: int = 0
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.seed, 12])

    @property
    def soft(self) -> bool:
        return isinstance(self.state, _SoftState)

    def set_rates(
        self,
        lr: float,
        l1: float,
        temperature: float,
        theta_min: float,
        lr_schedule: str,
        epochs: int,
    ) -> None:
        """The step's base rates and the learning-rate schedule (checked here)."""
        lr_factor(lr_schedule, 0, epochs)
        self.lr, self.l1, self.temperature, self.theta_min = lr, l1, temperature, theta_min
        self.lr_schedule, self.epochs, self.rate = lr_schedule, epochs, float(lr)

    def step(self, idx: np.ndarray) -> float:
        """One DEEP R step on the minibatch ``idx``."""
        rates = {"lr": self.rate, "l1": self.l1, "temperature": self.temperature}
        xb, yb = self.x[idx], self.y[idx]
        if self.soft:
            loss, k = soft_deep_r_step(
                self.state, xb, yb, self.opt, theta_min=self.theta_min, rng=self.rng, **rates
            )
        else:
            sparse = self.matmul == "sparse"
            loss, k = deep_r_step(
                self.state, xb, yb, self.opt, rng=self.rng, sparse=sparse, **rates
            )
        self.rewired += k
        return loss

    def snapshot(self) -> tuple[list, list]:
        """Copies of the current dense weights and biases."""
        if self.soft:
            weights = self.state.weights()
        else:
            weights = rewiring_weights(self.state, sparse=False)
        return weights, [b.copy() for b in self.state.biases]

    def validate(self, x_val: np.ndarray, y_val: np.ndarray) -> float:
        """Accuracy of the current network on ``(x_val, y_val)``."""
        w, b = self.snapshot()
        return accuracy(w, b, x_val, y_val)

    def record(self, epoch: int) -> dict[str, Any]:
        """The history record's extra figures; then the rate of the next epoch."""
        w, _ = self.snapshot()
        out = {
            "n_active": int(sum(np.count_nonzero(m) for m in w)),
            "rewired": self.rewired,
            "lr": self.rate,
        }
        self.rate = self.lr * lr_factor(self.lr_schedule, epoch, self.epochs)
        self.opt.lr = self.rate
        return out

    @property
    def label(self) -> str:  # type: ignore[override]
        """The progress bar's name of the run."""
        return "soft DEEP R" if self.soft else "DEEP R"


def _deep_r_info(
    o: DeepROptions, budgets: Sequence[int], cap: int | None, run: _RewiringRun
) -> dict[str, Any]:
    """The run's facts for ``info``; :func:`_deep_r_result` fills the connection counts."""
    return {
        "variant": "soft" if o.soft else "hard",
        "budget": "none" if o.soft else o.budget,
        "budgets": list(budgets),
        "layer_connections": None,
        "fan_in_cap": cap,
        "chip": o.chip,
        "max_fan_in": None,
        "lr": run.lr,
        "optimizer": o.optimizer,
        "lr_schedule": run.lr_schedule,
        "l1": run.l1,
        "temperature": run.temperature,
        "batch_size": o.batch_size,
        "rewired": run.rewired,
    }


def _deep_r_result(
    trained: tuple,
    info: dict[str, Any],
    target: tuple | None,
    sizes: Sequence[int],
    hidden: Sequence[int],
    d: TrainData,
    *,
    seed: int,
) -> TrainResult:
    """The :class:`TrainResult`; fills ``info``'s per-layer counts and largest fan-in."""
    weights, biases, chip_info, val, epochs_run, history = trained
    info["layer_connections"] = [int(np.count_nonzero(w)) for w in weights]
    info["max_fan_in"] = int(max(np.count_nonzero(w, axis=0).max() for w in weights))
    outcome = (val, epochs_run, history)
    sizes_facts = {"n_possible": possible_connections(sizes), "metadata": {"hidden": list(hidden)}}
    info = {**info, **chip_info}
    result = d.finish("deep_r", weights, biases, outcome, seed=seed, info=info, **sizes_facts)
    if target is None:
        return result
    from neurosim.train.for_chip import chip_network

    return chip_network(result, target[1])


@options_class("DEEP R")
class DeepROptions(GradientOptions, BudgetOptions, ChipTrainingOptions):
    """Options of :func:`train_deep_r`.

    The budget is a fraction of the possible connections (``connectivity``)
    or an exact count (``n_connections``, which wins), one for all layers or
    one per layer; a chip's fan-in limit also caps the fan-in, and its
    fine-tuning keeps the rewired network's final connectivity. ``lr`` is
    ``eta``; its schedule applies to the gradient, L1 and noise terms alike;
    ``optimizer`` and ``momentum`` drive the gradient term.
    """

    budget: str = option("per_layer", "per_layer or global: keep each layer's count, or the total")
    lr_schedule: str = option("constant", "constant or cosine: the per-epoch decay of lr")
    l1: float = option(1e-5, "L1 shrinkage alpha per step (times lr)", "float")
    temperature: float = option(1e-10, "noise temperature T", "float")
    soft: bool = option(False, "soft DEEP R (no hard budget)", "flag")
    theta_min: float = option(-1e-3, "lower bound of theta (soft DEEP R)", "float")
    matmul: str = option("dense", "dense or sparse weight matrices in the passes")
    batch_size: int = 32
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.0


@trainer(DeepROptions)
def train_deep_r(d: TrainData, o: DeepROptions) -> TrainResult:
    """Train a fully connected network with DEEP R under a connection budget.

    Takes the training inputs ``x`` ``(n, n_features)`` and integer labels
    ``y``, ``n_classes`` (default ``max(y) + 1``) and the options of
    :class:`DeepROptions` (``seed`` seeds the mask, signs, initial values,
    noise and shuffles).

    Returns
    -------
    TrainResult
        ``info`` holds the budgets, the per-layer counts, the cap, the largest fan-in and the rewirings.
    """
    check_rates(o.lr, o.l1, o.temperature)
    sizes = layer_sizes(d.n_features, o.hidden, d.n_classes)
    cap, budgets, target = _resolve_budgets(sizes, o)
    _check_variant(o.soft, cap, o.matmul, o.theta_min)
    state = _init_state(sizes, budgets, o.seed, o.soft, o.budget, cap, o.theta_min)
    opt = make_optimizer(o.optimizer, o.lr, o.momentum)
    run = _RewiringRun(state, o.matmul, opt, o.seed, d.x, d.y)
    run.set_rates(o.lr, o.l1, o.temperature, o.theta_min, o.lr_schedule, o.epochs)
    loop = {"epochs": o.epochs, "seed": o.seed, "patience": o.patience, "progress": o.progress}
    outcome = run_epochs(**run.loop_args(o.batch_size, d.x_val, d.y_val), **loop)
    fit = dict(epochs=o.chip_epochs, lr=o.chip_lr, batch_size=o.batch_size, seed=o.seed)
    fit["progress"] = o.progress
    trained = continue_on_chip(target, *outcome.state, outcome, d.split, fit, keep_topology=True)
    info = _deep_r_info(o, budgets, cap, run)
    return _deep_r_result(trained, info, target, sizes, o.hidden, d, seed=o.seed)
