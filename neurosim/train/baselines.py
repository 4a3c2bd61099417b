"""Baselines: dense backprop, magnitude pruning with fine-tuning, ternary quantization.

* :func:`train_dense` — every connection, minibatch SGD/Adam.
* :func:`train_pruned` — a dense network (trained here or given as ``init``)
  pruned to a connection budget by weight magnitude (per layer, optionally
  under a per-neuron fan-in cap), then fine-tuned with the mask fixed.
* :func:`train_ternary` — a dense network quantized to ``{-a, 0, +a}`` per
  layer with the threshold rule of Ternary Weight Networks (Li, Zhang & Liu,
  2016): ``delta = 0.7 * mean|W|``, ``a = mean(|W| : |W| > delta)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.train.core import (
    DTYPE,
    TrainResult,
    accuracy,
    init_dense,
    layer_sizes,
    possible_connections,
)
from neurosim.train.for_chip import chip_network, continue_on_chip, resolve_chip
from neurosim.train.options import (
    BudgetOptions,
    ChipOptions,
    ChipTrainingOptions,
    GradientOptions,
    InitOptions,
    TrainData,
    WeightDecayOptions,
    cap_and_budgets,
    fit_kwargs,
    option,
    options_class,
    trainer,
)
from neurosim.train.sgd import fit_layers

__all__ = [
    "DenseOptions",
    "PruneOptions",
    "TernaryOptions",
    "layers_of",
    "magnitude_masks",
    "train_dense",
    "train_pruned",
    "train_ternary",
    "twn_quantize",
]


def layers_of(
    network: Network, n_inputs: int, n_classes: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Dense float32 weights and biases of a layered network, checked against the data."""
    layers = list(network.layers())
    if not layers or not network.is_feedforward or len(network.inputs) != 1:
        raise TrainingError(
            f"network {network.name}: expected a layered feed-forward network with one input"
        )
    ws, bs = [], []
    prev = network.inputs[0]
    for proj, pop in layers:
        if proj.pre != prev:
            raise TrainingError(
                f"network {network.name}: projection {proj.name} skips a layer; expected a chain"
            )
        ws.append(proj.weights.toarray().astype(DTYPE))
        bs.append(np.asarray(pop.bias, dtype=DTYPE))
        prev = pop.name
    if ws[0].shape[0] != n_inputs or ws[-1].shape[1] != n_classes:
        raise TrainingError(
            f"network {network.name}: has {ws[0].shape[0]} inputs and {ws[-1].shape[1]} outputs; "
            f"the data has {n_inputs} features and {n_classes} classes"
        )
    return ws, bs


def _result(method, weights, biases, d: TrainData, outcome, sizes, info, *, seed, n_parameters=None):
    """A baseline's :class:`TrainResult`; ``outcome`` is ``(val_accuracy, epochs_run, history)``.

    ``info`` gains the per-layer connection counts (not the network's metadata).
    """
    n_possible = possible_connections(sizes)
    facts = {"seed": seed, "info": info, "n_possible": n_possible, "n_parameters": n_parameters}
    result = d.finish(method, weights, biases, outcome, **facts)
    counts = [int(np.count_nonzero(w)) for w in weights]
    return dataclasses.replace(result, info={**info, "layer_connections": counts})


def _pretrain_dense(d: TrainData, w0, b0, init, fit):
    """Train the dense start with ``fit_layers(**fit)`` unless it came from ``init``.

    Returns ``(weights, biases, history)``.
    """
    if init is not None:
        return w0, b0, ()
    xt, yt, xv, yv = d.split
    w, b, out = fit_layers(xt, yt, w0, b0, x_val=xv, y_val=yv, label="dense", **fit)
    return w, b, out.history


def _dense_start(d: TrainData, hidden, seed, init):
    """``(sizes, weights, biases)`` to start from: He-normal (seeded), or ``init``'s layers."""
    sizes = layer_sizes(d.n_features, hidden, d.n_classes)
    if init is None:
        w, b = init_dense(sizes, np.random.default_rng([seed, 20]))
        return sizes, w, b
    w, b = layers_of(init, d.n_features, d.n_classes)
    return tuple([d.n_features] + [m.shape[1] for m in w]), w, b


@options_class()
class DenseOptions(GradientOptions, WeightDecayOptions, ChipTrainingOptions):
    """Options of :func:`train_dense`."""


@trainer(DenseOptions)
def train_dense(d: TrainData, o: DenseOptions) -> TrainResult:
    """Dense backprop baseline (every connection trained), optionally trained for a chip.

    Takes ``x, y`` (inputs and integer labels), ``n_classes`` (default
    ``max(y) + 1``) and the options of :class:`DenseOptions` (as ``options``
    and/or keywords; see :func:`~neurosim.train.options.trainer`). With
    ``chip``, the float training is followed by ``chip_epochs`` epochs through
    the chip's constraints.
    """
    sizes, w0, b0 = _dense_start(d, o.hidden, o.seed, None)
    target = None
    if o.chip is not None:
        target = resolve_chip("dense", o.chip, o.chip_overrides, sizes, o.steps, o.spiking)
    xt, yt, xv, yv = d.split
    fit = fit_kwargs(o, weight_decay=True)
    w, b, out = fit_layers(xt, yt, w0, b0, x_val=xv, y_val=yv, label="dense", **fit)
    info = {"hidden": list(o.hidden), "optimizer": o.optimizer, "lr": o.lr}
    info.update(batch_size=o.batch_size, epochs=o.epochs)
    chip_fit = dict(epochs=o.chip_epochs, lr=o.chip_lr, batch_size=o.batch_size, seed=o.seed)
    chip_fit["progress"] = o.progress
    trained = continue_on_chip(target, w, b, out, d.split, chip_fit)
    w, b, chip_info, val, epochs_run, history = trained
    info = {**info, **chip_info}
    result = _result("dense", w, b, d, (val, epochs_run, history), sizes, info, seed=o.seed)
    return result if target is None else chip_network(result, target[1])


def magnitude_masks(
    weights: Sequence[np.ndarray], budgets: Sequence[int], fan_in_cap: int | None = None
) -> list[np.ndarray]:
    """Keep the ``budgets[l]`` largest-magnitude weights of each layer (at most ``fan_in_cap`` per neuron)."""
    from neurosim.train.deep_r import _cap_ranks

    masks = []
    for w, k in zip(weights, budgets, strict=True):
        flat = np.abs(w).ravel()
        order = np.argsort(-flat, kind="stable")
        if fan_in_cap is not None:
            order = order[_cap_ranks(order % w.shape[1]) < fan_in_cap]
        m = np.zeros(flat.size, dtype=bool)
        m[order[:k]] = True
        masks.append(m.reshape(w.shape))
    return masks


@options_class("pruning and quantization")
class PruneOptions(GradientOptions, BudgetOptions, ChipOptions, InitOptions):
    """Options of :func:`train_pruned`; ``init`` replaces the dense training."""

    finetune_epochs: int = option(10, "fine-tuning epochs after pruning", "int")
    finetune_lr: float | None = option(None, "fine-tuning learning rate (default lr)", "float")


@trainer(PruneOptions)
def train_pruned(d: TrainData, o: PruneOptions) -> TrainResult:
    """Magnitude pruning to a connection budget, with fine-tuning.

    A dense network is trained for ``epochs`` (or taken from ``init``), each
    layer keeps its ``K_l`` largest weights (under ``fan_in_cap`` if given),
    and the survivors are fine-tuned for ``finetune_epochs`` with the mask fixed.
    Budgets are given as in :func:`~neurosim.train.deep_r.train_deep_r`; the
    options are :class:`PruneOptions`.
    """
    sizes, w0, b0 = _dense_start(d, o.hidden, o.seed, o.init)
    cap, budgets = cap_and_budgets(o, sizes)
    fit = fit_kwargs(o)
    w0, b0, dense_history = _pretrain_dense(d, w0, b0, o.init, fit)
    history: list[dict[str, Any]] = [{"phase": "dense", **h} for h in dense_history]
    xt, yt, xv, yv = d.split
    dense_val = None if xv is None else accuracy(w0, b0, xv, yv)
    masks = magnitude_masks(w0, budgets, cap)
    w, b = [w * m for w, m in zip(w0, masks, strict=True)], b0
    pruned_val = None if xv is None else accuracy(w, b, xv, yv)
    val, epochs_run = pruned_val, 0
    if o.finetune_epochs > 0:
        lr = o.lr if o.finetune_lr is None else o.finetune_lr
        fit.update(lr=lr, epochs=o.finetune_epochs, seed=o.seed + 1)
        w, b, out = _finetune_masked(xt, yt, xv, yv, w0, b0, masks, fit)
        history += [{"phase": "finetune", **h} for h in out.history]
        val, epochs_run = out.best_val_accuracy, out.epochs_run
    info = {
        "hidden": [int(s) for s in sizes[1:-1]],
        "budgets": list(budgets),
        "fan_in_cap": cap,
        "chip": o.chip,
        "max_fan_in": int(max(np.count_nonzero(m, axis=0).max() for m in masks)),
        "dense_val_accuracy": dense_val,
        "pruned_val_accuracy_before_finetune": pruned_val,
        "from_init": o.init is not None,
    }
    return _result("prune", w, b, d, (val, epochs_run, history), sizes, info, seed=o.seed)


def _finetune_masked(xt, yt, xv, yv, w0, b0, masks, fit):
    """Fine-tune ``w0, b0`` with ``masks`` fixed (the fine-tune stage of :func:`train_pruned`).

    ``fit`` holds the keyword options of :func:`~neurosim.train.sgd.fit_layers`.
    Returns ``fit_layers``' ``(weights, biases, outcome)``.
    """
    return fit_layers(xt, yt, w0, b0, masks=masks, x_val=xv, y_val=yv, label="fine-tune", **fit)


def twn_quantize(w: np.ndarray, threshold_factor: float = 0.7) -> tuple[np.ndarray, float, float]:
    """Ternary Weight Networks quantization of one layer.

    Returns ``(ternary codes in {-1, 0, 1} as int8, scale a, threshold delta)``
    with ``delta = threshold_factor * mean|w|`` and ``a`` the mean magnitude of
    the weights above ``delta`` (the L2-optimal scale for that support).

    Examples
    --------
    >>> t, a, d = twn_quantize(np.array([[0.1, -1.0], [2.0, 0.0]]))
    >>> t.tolist(), round(a, 3)
    ([[0, -1], [1, 0]], 1.5)
    """
    if threshold_factor < 0:
        raise TrainingError(f"threshold_factor = {threshold_factor}; expected >= 0")
    mag = np.abs(w)
    delta = float(threshold_factor * mag.mean())
    keep = mag > delta
    scale = float(mag[keep].mean()) if keep.any() else 0.0
    codes = (np.sign(w) * keep).astype(np.int8)
    return codes, scale, delta


@options_class("pruning and quantization")
class TernaryOptions(GradientOptions, InitOptions):
    """Options of :func:`train_ternary`; ``init`` replaces the dense training."""

    threshold_factor: float = option(0.7, "TWN threshold factor (0.7)", "float")


@trainer(TernaryOptions)
def train_ternary(d: TrainData, o: TernaryOptions) -> TrainResult:
    """Post-training ternary quantization (TWN threshold rule) of a dense network.

    The dense network is trained for ``epochs`` (or taken from ``init``);
    every layer becomes ``a_l * T_l`` with ``T_l`` in ``{-1, 0, +1}``; biases
    stay real-valued. The options are :class:`TernaryOptions`.
    """
    sizes, w0, b0 = _dense_start(d, o.hidden, o.seed, o.init)
    w0, b0, history = _pretrain_dense(d, w0, b0, o.init, fit_kwargs(o))
    xv, yv = d.x_val, d.y_val
    dense_val = None if xv is None else accuracy(w0, b0, xv, yv)
    quant = [twn_quantize(w, o.threshold_factor) for w in w0]
    weights = [(q.astype(DTYPE) * DTYPE(a)) for q, a, _ in quant]
    val = None if xv is None else accuracy(weights, b0, xv, yv)
    info = {
        "hidden": [int(s) for s in sizes[1:-1]],
        "threshold_factor": o.threshold_factor,
        "scales": [a for _, a, _ in quant],
        "thresholds": [t for _, _, t in quant],
        "weight_bits": 2,
        "dense_val_accuracy": dense_val,
        "from_init": o.init is not None,
    }
    outcome = (val, len(history), list(history))
    return _result("ternary", weights, b0, d, outcome, sizes, info, seed=o.seed)
