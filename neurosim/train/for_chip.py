"""The chip-aware phase shared by backprop and DEEP R (``--chip NAME``).

:func:`train_for_chip` takes a trained float network and a chip profile and
returns weights the chip holds exactly: it caps every neuron's fan-in at the
chip's per-neuron limit (largest magnitudes kept, so no fan-in split is
needed), then fine-tunes through the chip's quantizer and, on spiking chips,
through the rate-coded IF activation (:mod:`neurosim.train.qat`).
:func:`chip_network` gives the trained network the ReLU cap of 1 that the
IF rate code implies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurosim.train.chip import ChipConstraints, check_trainable, chip_constraints, load_chip
from neurosim.train.core import TrainResult
from neurosim.train.qat import ChipFit, FinetuneResult, capped_network, finetune_for_chip

__all__ = [
    "chip_network",
    "continue_on_chip",
    "fan_in_masks",
    "resolve_chip",
    "scenario_chip_options",
    "train_for_chip",
]


def continue_on_chip(
    target: tuple[Any, ChipConstraints] | None,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    outcome: Any,
    data: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    fit: dict[str, Any],
    *,
    keep_topology: bool = False,
) -> tuple[list, list, dict[str, Any], float | None, int, tuple]:
    """A float training's end, continued on the chip when there is a ``target``.

    ``outcome`` is the float loop's outcome (``best_val_accuracy``,
    ``epochs_run``, ``history``), ``data`` is ``(x_train, y_train, x_val,
    y_val)`` and ``fit`` holds :func:`train_for_chip`'s ``epochs``, ``lr``,
    ``batch_size``, ``seed`` and ``progress``. With ``keep_topology`` the chip
    phase trains only the nonzero weights (no connection is added).

    Returns
    -------
    (weights, biases, info, val_accuracy, epochs_run, history)
        Without a target, the float figures and an empty info. With one,
        ``info`` holds ``float_val_accuracy`` and the chip phase's info, the
        epochs add up and the chip epochs join ``history`` with ``phase: chip``.
    """
    val, epochs_run, history = outcome.best_val_accuracy, outcome.epochs_run, outcome.history
    if target is None:
        return list(weights), list(biases), {}, val, epochs_run, history
    xt, yt, xv, yv = data
    masks = [np.asarray(w) != 0 for w in weights] if keep_topology else None
    ft = train_for_chip(xt, yt, weights, biases, *target, masks=masks, x_val=xv, y_val=yv, **fit)
    return (
        ft.weights,
        ft.biases,
        {"float_val_accuracy": val, **ft.info},
        ft.outcome.best_val_accuracy,
        epochs_run + ft.outcome.epochs_run,
        (*history, *({**h, "phase": "chip"} for h in ft.outcome.history)),
    )


def resolve_chip(
    method: str,
    chip: Any,
    chip_overrides: Any = (),
    sizes: Sequence[int] = (),
    steps: int | None = None,
    spiking: bool | None = None,
) -> tuple[Any, ChipConstraints]:
    """The profile and its constraints, checked for ``method`` (one-line TrainingError)."""
    profile = load_chip(chip, chip_overrides)
    c = chip_constraints(profile, steps=steps, spiking=spiking)
    check_trainable(method, c, sizes)
    return profile, c


def fan_in_masks(
    weights: Sequence[np.ndarray], cap: int | None, masks: Sequence[np.ndarray | None] | None = None
) -> list[np.ndarray | None]:
    """Per layer, keep each neuron's ``cap`` largest-magnitude inputs (None where all fit)."""
    ms = list(masks) if masks is not None else [None] * len(weights)
    out: list[np.ndarray | None] = []
    for w, m in zip(weights, ms, strict=True):
        a = np.abs(np.asarray(w)) if m is None else np.abs(np.asarray(w)) * m
        if cap is None or np.count_nonzero(a, axis=0).max(initial=0) <= cap:
            out.append(m)
            continue
        order = np.argsort(-a, axis=0, kind="stable")[:cap]
        keep = np.zeros(a.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=0)
        out.append(keep & (a > 0))
    return out


def train_for_chip(
    x: np.ndarray,
    y: np.ndarray,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    profile: Any,
    constraints: ChipConstraints,
    *,
    masks: Sequence[np.ndarray | None] | None = None,
    **fit: Any,
) -> FinetuneResult:
    """Cap fan-in to the chip's limit, then fine-tune through its quantizer and rate code.

    ``masks`` fix the connectivity (None: every connection may be trained);
    ``fit`` holds the validation split ``x_val``, ``y_val`` (optional) and
    the fields of :class:`~neurosim.train.qat.ChipFit` (``epochs``, ``lr``,
    ``batch_size``, ``seed``, ``type_start``, ``progress``, ...).
    """
    dense = [np.asarray(w.toarray() if hasattr(w, "toarray") else w) for w in weights]
    capped = fan_in_masks(dense, constraints.fan_in_per_neuron, masks)
    data = (x, y, fit.pop("x_val", None), fit.pop("y_val", None))
    return finetune_for_chip(
        data, (dense, biases), (constraints, profile), masks=capped, fit=ChipFit(**fit)
    )


def chip_network(result: TrainResult, constraints: ChipConstraints) -> TrainResult:
    """``result`` with hidden ReLUs capped at 1 on spiking chips (what IF neurons compute)."""
    if not constraints.spiking:
        return result
    return dataclasses.replace(result, network=capped_network(result.network, 1.0))


def scenario_chip_options(spec: Any, scenario: Any) -> dict[str, Any]:
    """Method options of a scenario's ``network.train.chip``: the chip, its overrides and,
    unless the parameters say otherwise, the rate code the scenario simulates
    (``simulation.steps``; trained through it when ``network.spiking`` is set)."""
    out: dict[str, Any] = {
        "chip": spec.chip,
        "chip_overrides": dict(spec.chip_overrides),
    }
    steps = scenario.simulation.steps
    if steps is not None and "steps" not in spec.parameters:
        out["steps"] = int(steps)
    if scenario.network.spiking is not None and "spiking" not in spec.parameters:
        out["spiking"] = True
    return out
