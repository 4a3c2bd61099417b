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
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.train.constraints import layer_budgets
from neurosim.train.core import (
    DTYPE,
    TrainResult,
    accuracy,
    check_training_data,
    finish_training,
    init_dense,
    layer_sizes,
    possible_connections,
    split_validation,
)
from neurosim.train.for_chip import chip_network, continue_on_chip, resolve_chip
from neurosim.train.sgd import fit_layers

__all__ = [
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


def _result(
    method,
    weights,
    biases,
    xt,
    yt,
    outcome_val,
    epochs_run,
    history,
    t0,
    sizes,
    info,
    *,
    n_parameters=None,
    seed=0,
):
    result = finish_training(
        method,
        weights,
        biases,
        xt,
        yt,
        val_accuracy=outcome_val,
        epochs_run=epochs_run,
        history=history,
        t0=t0,
        seed=seed,
        info=info,
        n_possible=possible_connections(sizes),
        n_parameters=n_parameters,
    )
    counts = [int(np.count_nonzero(w)) for w in weights]
    return dataclasses.replace(result, info={**info, "layer_connections": counts})


def _pretrain_dense(xt, yt, xv, yv, w0, b0, init, **fit):
    """Train the dense start with ``fit_layers(**fit)`` unless it came from ``init``.

    Returns ``(weights, biases, history)``.
    """
    if init is not None:
        return w0, b0, ()
    w, b, out = fit_layers(xt, yt, w0, b0, x_val=xv, y_val=yv, label="dense", **fit)
    return w, b, out.history


def _dense_start(x, y, n_classes, hidden, seed, init):
    sizes = layer_sizes(x.shape[1], hidden, n_classes)
    if init is None:
        w, b = init_dense(sizes, np.random.default_rng([seed, 20]))
        return sizes, w, b
    w, b = layers_of(init, x.shape[1], n_classes)
    return tuple([x.shape[1]] + [m.shape[1] for m in w]), w, b


def train_dense(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    hidden: Sequence[int] = (300, 100),
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    val_fraction: float = 0.1,
    patience: int | None = None,
    chip: str | None = None,
    chip_overrides: Sequence[str] = (),
    chip_epochs: int = 5,
    chip_lr: float = 2e-3,
    steps: int | None = None,
    spiking: bool | None = None,
    progress: bool = False,
) -> TrainResult:
    """Dense backprop baseline (every connection trained), optionally trained for a chip.

    Parameters
    ----------
    x, y : inputs and integer labels; n_classes (default ``max(y) + 1``)
    hidden : hidden layer sizes
    seed : seed of initialisation, validation split and shuffles
    epochs, batch_size, optimizer ({"sgd", "adam"}), lr, momentum, weight_decay
    val_fraction, patience : validation split and early stopping
    chip : str, optional
        Chip profile (name or path; ``chip_overrides`` as ``--set``): after the
        float training, ``chip_epochs`` epochs at ``chip_lr`` through the chip's
        fan-in cap, quantizer and (spiking chips) ``steps``-step rate code
        (:func:`neurosim.train.for_chip.train_for_chip`).
    progress : rich progress bar
    """
    t0 = time.perf_counter()
    x, y, n_classes = check_training_data(x, y, n_classes)
    sizes, w0, b0 = _dense_start(x, y, n_classes, hidden, seed, None)
    target = (
        None if chip is None else resolve_chip("dense", chip, chip_overrides, sizes, steps, spiking)
    )
    xt, yt, xv, yv = split_validation(x, y, val_fraction, seed)
    fit = {
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "patience": patience,
        "progress": progress,
    }
    w, b, out = fit_layers(xt, yt, w0, b0, x_val=xv, y_val=yv, label="dense", **fit)
    info = {
        "hidden": list(hidden),
        "optimizer": optimizer,
        "lr": lr,
        "batch_size": batch_size,
        "epochs": epochs,
    }
    chip_fit = dict(epochs=chip_epochs, lr=chip_lr, batch_size=batch_size, seed=seed)
    chip_fit["progress"] = progress
    w, b, chip_info, val, epochs_run, history = continue_on_chip(
        target, w, b, out, (xt, yt, xv, yv), chip_fit
    )
    info = {**info, **chip_info}
    result = _result("dense", w, b, xt, yt, val, epochs_run, history, t0, sizes, info, seed=seed)
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


def train_pruned(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    hidden: Sequence[int] = (300, 100),
    seed: int = 0,
    epochs: int = 10,
    finetune_epochs: int = 10,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 1e-3,
    finetune_lr: float | None = None,
    momentum: float = 0.9,
    connectivity: float | Sequence[float] | None = None,
    n_connections: int | Sequence[int] | None = None,
    fan_in_cap: int | None = None,
    chip: str | None = None,
    chip_overrides: Sequence[str] = (),
    init: Network | None = None,
    val_fraction: float = 0.1,
    patience: int | None = None,
    progress: bool = False,
) -> TrainResult:
    """Magnitude pruning to a connection budget, with fine-tuning.

    A dense network is trained for ``epochs`` (or taken from ``init``), each
    layer keeps its ``K_l`` largest weights (under ``fan_in_cap`` if given),
    and the survivors are fine-tuned for ``finetune_epochs`` with the mask fixed.
    Budgets are given as in :func:`~neurosim.train.deep_r.train_deep_r`.
    """
    from neurosim.train.constraints import resolve_fan_in_cap

    t0 = time.perf_counter()
    x, y, n_classes = check_training_data(x, y, n_classes)
    cap = resolve_fan_in_cap(fan_in_cap, chip, chip_overrides)
    sizes, w0, b0 = _dense_start(x, y, n_classes, hidden, seed, init)
    budgets = layer_budgets(
        sizes, connectivity=connectivity, n_connections=n_connections, fan_in_cap=cap
    )
    xt, yt, xv, yv = split_validation(x, y, val_fraction, seed)
    history: list[dict[str, Any]] = []
    fit = {
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "patience": patience,
        "progress": progress,
    }
    w0, b0, dense_history = _pretrain_dense(xt, yt, xv, yv, w0, b0, init, **fit)
    history += [{"phase": "dense", **h} for h in dense_history]
    dense_val = None if xv is None else accuracy(w0, b0, xv, yv)
    masks = magnitude_masks(w0, budgets, cap)
    w, b = [w * m for w, m in zip(w0, masks, strict=True)], b0
    pruned_val = None if xv is None else accuracy(w, b, xv, yv)
    val, epochs_run = pruned_val, 0
    if finetune_epochs > 0:
        fit.update(
            lr=lr if finetune_lr is None else finetune_lr, epochs=finetune_epochs, seed=seed + 1
        )
        w, b, out = _finetune_masked(xt, yt, xv, yv, w0, b0, masks, fit)
        history += [{"phase": "finetune", **h} for h in out.history]
        val, epochs_run = out.best_val_accuracy, out.epochs_run
    info = {
        "hidden": [int(s) for s in sizes[1:-1]],
        "budgets": list(budgets),
        "fan_in_cap": cap,
        "chip": chip,
        "max_fan_in": int(max(np.count_nonzero(m, axis=0).max() for m in masks)),
        "dense_val_accuracy": dense_val,
        "pruned_val_accuracy_before_finetune": pruned_val,
        "from_init": init is not None,
    }
    return _result("prune", w, b, xt, yt, val, epochs_run, history, t0, sizes, info, seed=seed)


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


def train_ternary(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    hidden: Sequence[int] = (300, 100),
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    threshold_factor: float = 0.7,
    init: Network | None = None,
    val_fraction: float = 0.1,
    patience: int | None = None,
    progress: bool = False,
) -> TrainResult:
    """Post-training ternary quantization (TWN threshold rule) of a dense network.

    The dense network is trained for ``epochs`` (or taken from ``init``);
    every layer becomes ``a_l * T_l`` with ``T_l`` in ``{-1, 0, +1}``; biases
    stay real-valued.
    """
    t0 = time.perf_counter()
    x, y, n_classes = check_training_data(x, y, n_classes)
    sizes, w0, b0 = _dense_start(x, y, n_classes, hidden, seed, init)
    xt, yt, xv, yv = split_validation(x, y, val_fraction, seed)
    history: list[dict[str, Any]] = []
    w0, b0, dense_history = _pretrain_dense(
        xt,
        yt,
        xv,
        yv,
        w0,
        b0,
        init,
        optimizer=optimizer,
        lr=lr,
        momentum=momentum,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        patience=patience,
        progress=progress,
    )
    history += list(dense_history)
    dense_val = None if xv is None else accuracy(w0, b0, xv, yv)
    quant = [twn_quantize(w, threshold_factor) for w in w0]
    weights = [(q.astype(DTYPE) * DTYPE(a)) for q, a, _ in quant]
    val = None if xv is None else accuracy(weights, b0, xv, yv)
    info = {
        "hidden": [int(s) for s in sizes[1:-1]],
        "threshold_factor": threshold_factor,
        "scales": [a for _, a, _ in quant],
        "thresholds": [d for _, _, d in quant],
        "weight_bits": 2,
        "dense_val_accuracy": dense_val,
        "from_init": init is not None,
    }
    return _result(
        "ternary", weights, b0, xt, yt, val, len(history), history, t0, sizes, info, seed=seed
    )
