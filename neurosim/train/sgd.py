"""Minibatch gradient training of (optionally masked) fully connected layers.

:func:`fit_layers` is the workhorse of the dense baseline, of magnitude
pruning's fine-tuning and of the masked-SGD reference that DEEP R reduces to
at zero temperature and zero L1 (see ``tests/train/test_deep_r.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurosim.train.core import (
    LoopOutcome,
    accuracy,
    backward,
    forward,
    make_optimizer,
    run_epochs,
    softmax_cross_entropy,
)

__all__ = ["fit_layers", "masked_step"]


def masked_step(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    masks: Sequence[np.ndarray | None] | None,
    xb: np.ndarray,
    yb: np.ndarray,
    opt,
    *,
    weight_decay: float = 0.0,
) -> float:
    """One gradient step in place on ``weights`` and ``biases``; returns the batch loss.

    Masked entries (``mask == False``) receive no gradient and stay zero.
    """
    acts = forward(weights, biases, xb)
    loss, dlogits = softmax_cross_entropy(acts[-1], yb)
    deltas = backward(weights, acts, dlogits)
    opt.tick()
    n = len(weights)
    for i in range(n):
        g = acts[i].T @ deltas[i]
        if weight_decay:
            g += weight_decay * weights[i]
        m = None if masks is None else masks[i]
        if m is not None:
            g *= m
        weights[i] -= opt.update(i, g)
        if m is not None:
            weights[i] *= m
        biases[i] -= opt.update(n + i, deltas[i].sum(axis=0))
    return loss


def fit_layers(
    x: np.ndarray, y: np.ndarray, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
    *,
    masks: Sequence[np.ndarray | None] | None = None,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    patience: int | None = None,
    progress: bool = False,
    label: str = "training",
) -> tuple[list[np.ndarray], list[np.ndarray], LoopOutcome]:
    """Train copies of ``weights``/``biases`` by minibatch SGD or Adam.

    Parameters
    ----------
    x, y : float32 inputs and int labels
    weights, biases : initial parameters (not modified)
    masks : sequence of bool arrays (or None per layer), optional
        Fixed connectivity: masked weights are zero before and after every step.
    optimizer : {"sgd", "adam"}
    x_val, y_val : optional validation split (enables early stopping with ``patience``)

    Returns
    -------
    weights, biases : the parameters of the best validation epoch (or the last)
    outcome : LoopOutcome
    """
    ws = [np.array(w, copy=True) for w in weights]
    bs = [np.array(b, copy=True) for b in biases]
    ms = (
        None
        if masks is None
        else [None if m is None else np.asarray(m, dtype=ws[0].dtype) for m in masks]
    )
    if ms is not None:
        for w, m in zip(ws, ms, strict=True):
            if m is not None:
                w *= m
    opt = make_optimizer(optimizer, lr, momentum)

    def step(idx: np.ndarray) -> float:
        return masked_step(ws, bs, ms, x[idx], y[idx], opt, weight_decay=weight_decay)

    validate = None if x_val is None else (lambda: accuracy(ws, bs, x_val, y_val))
    outcome = run_epochs(
        x.shape[0],
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        step=step,
        snapshot=lambda: ([w.copy() for w in ws], [b.copy() for b in bs]),
        validate=validate,
        patience=patience,
        progress=progress,
        label=label,
    )
    best_w, best_b = outcome.state
    return best_w, best_b, outcome
