"""Accuracy of the chip against the reference, and quantization diagnostics.

Top-1 accuracy of every backend against labels, the drop from the reference
to the chip, how often the two agree (same argmax) and by how much their
outputs differ, and the diagnostics of quantization (weights clipped or
zeroed, neurons left without input) and of the run (saturations, overflows,
neurons that never fired on the chip although they fire in the reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.errors import DataError

__all__ = [
    "AccuracyReport",
    "accuracy_report",
    "argmax_ties",
    "explain_accuracy",
    "predictions",
    "quantization_diagnostics",
    "top1",
]


def argmax_ties(outputs: np.ndarray) -> np.ndarray:
    """True for rows whose largest value is reached by more than one output.

    A row of equal outputs (a silent network's zeros) is a tie: it predicts
    nothing.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[1] == 0:
        return np.zeros(outputs.shape[0] if outputs.ndim else 0, dtype=bool)
    top = outputs.max(axis=1, keepdims=True)
    return (outputs == top).sum(axis=1) > 1


def predictions(outputs: np.ndarray) -> np.ndarray:
    """Predicted class per row: the argmax, or -1 where the argmax is tied."""
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or outputs.shape[1] == 0:
        return np.full(outputs.shape[0] if outputs.ndim else 0, -1, dtype=np.int64)
    return np.where(argmax_ties(outputs), -1, np.argmax(outputs, axis=1))


def top1(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose unique argmax equals the label; a tie counts as wrong.

    Examples
    --------
    >>> top1(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    >>> top1(np.zeros((2, 3)), np.array([0, 0]))  # silent outputs predict nothing
    0.0
    """
    outputs = np.asarray(outputs)
    labels = np.asarray(labels)
    if outputs.ndim != 2 or labels.ndim != 1 or outputs.shape[0] != labels.shape[0]:
        raise DataError(
            f"labels: {labels.shape[0] if labels.ndim else 0} labels for outputs of shape "
            f"{outputs.shape}; expected one label per input"
        )
    if labels.size == 0:
        return float("nan")
    return float(np.mean(predictions(outputs) == labels))


def _count(value: Any) -> int:
    """A diagnostic given as a count or as a list/array of indices, as a count."""
    if value is None:
        return 0
    if np.ndim(value) == 0:
        return int(value)
    return int(np.size(value))


def quantization_diagnostics(mapped: Any) -> dict[str, Any]:
    """Sum the per-projection quantization diagnostics of a mapping.

    Returns
    -------
    dict
        ``n_weights``, ``n_clipped``, ``n_zeroed``, ``max_rel_error``,
        ``mean_rel_error`` (synapse-weighted), ``silent_neurons`` (neurons left
        with no nonzero input).
    """
    n_w = n_clip = n_zero = n_silent = 0
    max_err = 0.0
    err_sum = 0.0
    for q in (mapped.quantized or {}).values():
        d = q.diagnostics or {}
        nnz = int(q.weights.nnz)
        n_w += nnz
        n_clip += _count(d.get("n_clipped"))
        n_zero += _count(d.get("n_zeroed"))
        n_silent += _count(d.get("silent_neurons"))
        if d.get("max_rel_error") is not None:
            max_err = max(max_err, float(d["max_rel_error"]))
        if d.get("mean_rel_error") is not None:
            err_sum += float(d["mean_rel_error"]) * nnz
    return {
        "n_weights": n_w,
        "n_clipped": n_clip,
        "n_zeroed": n_zero,
        "max_rel_error": max_err,
        "mean_rel_error": err_sum / n_w if n_w else 0.0,
        "silent_neurons": n_silent,
        "layers": _layer_diagnostics(mapped),
    }


def _layer_diagnostics(mapped: Any) -> list[dict[str, Any]]:
    """Per hardware projection: synapses, fraction zeroed, clipped, max relative error, silenced."""
    out = []
    for name, q in (mapped.quantized or {}).items():
        d = q.diagnostics or {}
        n_syn = _count(d.get("n_synapses")) or int(q.weights.nnz)
        n_zero = _count(d.get("n_zeroed"))
        out.append(
            {
                "projection": str(name),
                "n_synapses": n_syn,
                "n_zeroed": n_zero,
                "frac_zeroed": n_zero / n_syn if n_syn else 0.0,
                "n_clipped": _count(d.get("n_clipped")),
                "max_rel_error": float(d.get("max_rel_error") or 0.0),
                "rel_error_fro": float(d.get("rel_error_fro") or 0.0),
                "silent_neurons": _count(d.get("silent_neurons")),
            }
        )
    return out


def _quantization_clause(q: Mapping[str, Any]) -> str:
    """``quantization zeroed 1114 of 3923 weights (28 %) (worst layer ...)``, or empty."""
    n_zero, n_clip = int(q.get("n_zeroed", 0)), int(q.get("n_clipped", 0))
    if not (n_zero or n_clip):
        return ""
    all_layers = q.get("layers", [])
    # zeroed weights are no longer stored: count the synapses before quantization
    total = sum(layer["n_synapses"] for layer in all_layers) if all_layers else q.get("n_weights", 0) + n_zero
    text = "quantization"
    if n_zero:
        text += f" zeroed {n_zero:,} of {total:,} weights ({n_zero / max(total, 1):.0%})"
    if n_clip:
        text += f"{',' if n_zero else ''} clipped {n_clip:,}"
    layers = [layer for layer in all_layers if layer["n_zeroed"] or layer["n_clipped"]]
    if layers:
        worst = max(layers, key=lambda layer: (layer["frac_zeroed"], layer["max_rel_error"]))
        text += (
            f" (worst layer {worst['projection']}: {worst['frac_zeroed']:.0%} zeroed, "
            f"max relative error {worst['max_rel_error']:.2g})"
        )
    return text


def explain_accuracy(report: AccuracyReport) -> str:
    """One sentence saying which constraint cost the chip its accuracy.

    Given when the chip scores below the reference or a backend's outputs are
    all zero. Names the quantization losses (weights zeroed and clipped, the
    worst layer with its zeroed fraction and largest relative error), neurons
    left without input, the run's saturations and newly silent neurons, and
    argmax ties (counted wrong). Empty when there is nothing to explain.
    """
    silent = [name for name, s in report.silent_output.items() if s]
    lost = report.drop is not None and report.drop > 0
    if not lost and not silent:
        return ""
    parts = [f"{name} outputs are all 0 (it predicts nothing)" for name in silent]
    q = report.quantization or {}
    clause = _quantization_clause(q)
    if clause:
        parts.append(clause)
    if q.get("silent_neurons"):
        parts.append(f"{q['silent_neurons']:,} neurons lost every input synapse")
    if report.newly_silent:
        parts.append(f"{report.newly_silent:,} neurons silent on the chip fire in the reference")
    if report.saturations:
        parts.append(f"{report.saturations:,} saturations")
    ties = {k: v for k, v in report.ties.items() if v and k not in silent}
    if ties:
        counts = ", ".join(f"{k} {v:,}" for k, v in ties.items())
        parts.append(f"argmax ties counted wrong ({counts} of {report.n_inputs:,})")
    head = "Chip"
    if report.chip_top1 is not None and report.reference_top1 is not None:
        head = f"Chip top-1 {report.chip_top1:.1%} vs reference {report.reference_top1:.1%}"
    return f"{head}: " + ("; ".join(parts) or "no quantization loss, saturation or silencing recorded") + "."


def _silent(result: Any, network: Any) -> dict[str, np.ndarray]:
    """Per non-input source population: True for neurons that never fired in ``result``."""
    out = {}
    for pop in network.populations:
        if pop.model.kind == "input":
            continue
        counts = (result.spike_counts or {}).get(pop.name)
        if counts is None:
            continue
        out[pop.name] = np.asarray(counts).sum(axis=0) == 0
    return out


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy and agreement of the backends of one chip.

    Attributes
    ----------
    n_inputs : int
    labelled : bool
    top1 : mapping of backend to float or None
    chip_top1, reference_top1, drop : float or None
        ``drop = reference_top1 - chip_top1``.
    agreement : float or None
        Fraction of inputs where chip and reference give the same argmax.
    max_abs_diff, mean_abs_diff : float or None
        Between chip and reference outputs.
    quantization : dict
        From :func:`quantization_diagnostics`.
    saturations, overflows : int
        Of the chip run.
    silent_in_run : int or None
        Neurons that never fired on the chip.
    newly_silent : int or None
        Of those, neurons that do fire in the reference.
    ties : mapping of backend to int
        Inputs whose largest output is shared by several classes (counted
        wrong by :func:`top1`).
    silent_output : mapping of backend to bool
        True when every output of every input is 0: the network said nothing.
    """

    n_inputs: int
    labelled: bool
    top1: Mapping[str, float | None]
    chip_top1: float | None
    reference_top1: float | None
    drop: float | None
    agreement: float | None
    max_abs_diff: float | None
    mean_abs_diff: float | None
    quantization: Mapping[str, Any] = field(default_factory=dict)
    saturations: int = 0
    overflows: int = 0
    silent_in_run: int | None = None
    newly_silent: int | None = None
    ties: Mapping[str, int] = field(default_factory=dict)
    silent_output: Mapping[str, bool] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """One sentence per suspicious figure (silent outputs, argmax ties)."""
        out = []
        for name, silent in self.silent_output.items():
            if silent:
                out.append(f"{name}: every output is 0 for every input; it predicts nothing (scored 0 %)")
        for name, n in self.ties.items():
            if n and not self.silent_output.get(name):
                out.append(f"{name}: {n} of {self.n_inputs} inputs have a tied argmax (counted wrong)")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys documented in docs/report.md)."""
        return {
            "n_inputs": self.n_inputs,
            "labelled": self.labelled,
            "chip_top1": self.chip_top1,
            "reference_top1": self.reference_top1,
            "drop": self.drop,
            "agreement": self.agreement,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "backends": [
                {
                    "backend": k,
                    "top1": v,
                    "ties": self.ties.get(k),
                    "silent_output": self.silent_output.get(k),
                }
                for k, v in self.top1.items()
            ],
            "warnings": self.warnings(),
            "explanation": explain_accuracy(self),
            "quantization": dict(self.quantization),
            "saturations": self.saturations,
            "overflows": self.overflows,
            "silent_in_run": self.silent_in_run,
            "newly_silent": self.newly_silent,
        }


def _agreement(chip_res: Any, ref_res: Any) -> tuple[float | None, float | None, float | None]:
    """``(agreement, max_abs_diff, mean_abs_diff)`` of the chip and reference outputs (None when not comparable)."""
    if chip_res is None or ref_res is None:
        return None, None, None
    a, b = (
        np.asarray(chip_res.outputs, dtype=np.float64),
        np.asarray(ref_res.outputs, dtype=np.float64),
    )
    if a.shape != b.shape or not a.size:
        return None, None, None
    pa, pb = predictions(a), predictions(b)
    agreement = float(np.mean(pa == pb))  # two ties agree: neither predicts
    diff = np.abs(a - b)
    return agreement, float(diff.max()), float(diff.mean())


def _silent_counts(chip_res: Any, ref_res: Any, network: Any) -> tuple[int | None, int | None]:
    """``(silent, newly_silent)``: neurons silent in the chip run, and of those, active in the reference."""
    s_chip = _silent(chip_res, network) if chip_res is not None else None
    if not s_chip:
        return None, None
    silent = int(sum(int(v.sum()) for v in s_chip.values()))
    s_ref = _silent(ref_res, network) if ref_res is not None else None
    if not s_ref:
        return silent, None
    newly = int(
        sum(
            int((v & ~s_ref[k]).sum())
            for k, v in s_chip.items()
            if k in s_ref and s_ref[k].shape == v.shape
        )
    )
    return silent, newly


def accuracy_report(
    mapped: Any,
    results: Mapping[str, Any],
    labels: np.ndarray | None = None,
    *,
    chip: str = "chip",
    reference: str = "reference",
) -> AccuracyReport:
    """Accuracy, agreement and diagnostics from the results of several backends.

    Parameters
    ----------
    mapped : MappedNetwork
    results : mapping of backend name to SimResult
    labels : array of int, shape (n_inputs,), optional
    chip, reference : str
        Keys of ``results`` holding the chip and reference runs.
    """
    n_inputs = max((int(r.n_inputs) for r in results.values()), default=0)
    labelled = labels is not None
    scores: dict[str, float | None] = {}
    ties: dict[str, int] = {}
    silent_out: dict[str, bool] = {}
    for name, res in results.items():
        scores[name] = top1(res.outputs, labels) if labelled else None
        outs = np.asarray(res.outputs, dtype=np.float64)
        ties[name] = int(argmax_ties(outs).sum()) if outs.ndim == 2 else 0
        silent_out[name] = bool(outs.size) and not np.any(outs)
    chip_res, ref_res = results.get(chip), results.get(reference)
    chip_top1 = scores.get(chip)
    ref_top1 = scores.get(reference)
    drop = ref_top1 - chip_top1 if chip_top1 is not None and ref_top1 is not None else None
    agreement, max_diff, mean_diff = _agreement(chip_res, ref_res)
    silent, newly = _silent_counts(chip_res, ref_res, mapped.network)
    return AccuracyReport(
        n_inputs=n_inputs,
        labelled=labelled,
        top1=scores,
        chip_top1=chip_top1,
        reference_top1=ref_top1,
        drop=drop,
        agreement=agreement,
        max_abs_diff=max_diff,
        mean_abs_diff=mean_diff,
        quantization=quantization_diagnostics(mapped),
        saturations=int(chip_res.saturations) if chip_res is not None else 0,
        overflows=int(chip_res.overflows) if chip_res is not None else 0,
        silent_in_run=silent,
        newly_silent=newly,
        ties=ties,
        silent_output=silent_out,
    )
