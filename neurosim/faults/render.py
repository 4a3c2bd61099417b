"""Render a fault study: Markdown tables, JSON and accuracy-vs-rate plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "bound_rows",
    "mitigation_rows",
    "plot_accuracy",
    "plot_mitigation",
    "to_markdown",
    "write_study",
]


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_f(c) for c in r) + " |" for r in rows]
    return out


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    x, y = a.get(key), b.get(key)
    return None if x is None or not y else x / y


def mitigation_rows(study: Any) -> list[list[Any]]:
    """core_failure per chip and rate: accuracy of each strategy, extra cores and energy."""
    camp = study.campaign
    acc = {
        (r["chip"], r["strategy"], r["rate"]): r
        for r in camp.summary
        if r["kind"] == "core_failure"
    }
    rows = []
    for (chip, st, rate), r in acc.items():
        if st == study.strategy:
            continue
        base = acc.get((chip, study.strategy, rate))
        b0, b1 = camp.baselines[f"{chip}/{study.strategy}"], camp.baselines[f"{chip}/{st}"]
        rows.append(
            [
                chip,
                rate,
                st,
                None if base is None else base.get("accuracy_mean"),
                r.get("accuracy_mean"),
                b0["n_cores"],
                b1["n_cores"],
                _ratio(b1, b0, "energy_per_inference_pj"),
                _ratio(b1, b0, "dynamic_energy_per_inference_pj"),
                _ratio(b1, b0, "packets_per_inference"),
            ]
        )
    return rows


def bound_rows(study: Any) -> list[list[Any]]:
    """Measured vs bound, with the bound when only one layer fails (its depth decides)."""
    return [
        [
            b["kind"],
            b["rate"],
            b["measured"],
            b["measured_max_trial"],
            b["bound"],
            b["paper_bound"],
            b["looseness"],
            b["paper_looseness"],
            " -> ".join(_f(v, 3) for v in b["per_layer"].values()),
        ]
        for b in study.bounds
    ]


_BASELINE_HEAD = (
    "chip/strategy",
    "fits",
    "cores",
    "energy/inference (pJ)",
    "dynamic (pJ)",
    "packets",
    "accuracy",
)
_SUMMARY_HEAD = (
    "chip",
    "strategy",
    "kind",
    "rate",
    "accuracy",
    "95 % low",
    "95 % high",
    "output error (l1)",
    "trials",
)
_BOUND_HEAD = (
    "kind",
    "rate",
    "measured mean",
    "measured worst trial",
    "bound",
    "paper-form bound",
    "looseness (bound/measured)",
    "paper looseness",
    "bound per failing layer (first -> last)",
)


def _baselines(camp: Any) -> list[str]:
    rows = [
        [
            k,
            b["fits"],
            b["n_cores"],
            b["energy_per_inference_pj"],
            b.get("dynamic_energy_per_inference_pj"),
            b.get("packets_per_inference"),
            b["accuracy"],
        ]
        for k, b in camp.baselines.items()
    ]
    return ["## Fault-free chips", "", *_table(_BASELINE_HEAD, rows)]


def _summary(camp: Any) -> list[str]:
    rows = [
        [
            r["chip"],
            r["strategy"],
            r["kind"],
            r["rate"] if r["rate"] is not None else f"chip ({r.get('sigma')})",
            r.get("accuracy_mean"),
            r.get("accuracy_low"),
            r.get("accuracy_high"),
            r["output_error_mean"],
            r["trials"],
        ]
        for r in camp.summary
    ]
    title = "## Accuracy under faults (mean and 95 % interval over trials, chip backend)"
    return [title, "", *_table(_SUMMARY_HEAD, rows)]


def _mitigation(study: Any) -> list[str]:
    rows = mitigation_rows(study)
    if not rows:
        return []
    st = study.strategy
    head = (
        "chip",
        "core failure rate",
        "strategy",
        f"accuracy ({st})",
        "accuracy (strategy)",
        f"cores ({st})",
        "cores (strategy)",
        "energy ratio",
        "dynamic energy ratio",
        "packet ratio",
    )
    return ["", f"## Mitigation: core failure, {st} vs spread placement", "", *_table(head, rows)]


def _bounds(study: Any) -> list[str]:
    lines = ["", "## Output error: measured (reference backend) vs the El Mhamdi et al. bound", ""]
    if not study.bounds:
        return [*lines, study.bound_note]
    return [*lines, *_table(_BOUND_HEAD, bound_rows(study))]


def to_markdown(study: Any, command: str = "") -> str:
    """The report: baselines, accuracy per kind and rate, mitigation, measured vs bound."""
    lines = [f"# Faults: {study.network} on {', '.join(study.chips)}", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += _baselines(study.campaign) + [""] + _summary(study.campaign)
    lines += _mitigation(study) + _bounds(study)
    if study.skipped:
        lines += ["", "## Skipped", ""] + [f"- {s}" for s in study.skipped]
    return "\n".join(lines) + "\n"


def _series(summary: Sequence[dict[str, Any]], chip: str, strategy: str, kind: str):
    rs = sorted(
        (
            r
            for r in summary
            if r["chip"] == chip
            and r["strategy"] == strategy
            and r["kind"] == kind
            and r.get("accuracy_mean") is not None
            and r["rate"] is not None
        ),
        key=lambda r: r["rate"],
    )
    x = [r["rate"] for r in rs]
    y = [r["accuracy_mean"] for r in rs]
    err = [
        [r["accuracy_mean"] - r["accuracy_low"] for r in rs],
        [r["accuracy_high"] - r["accuracy_mean"] for r in rs],
    ]
    return x, y, err


def _panels(chips: Sequence[str]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(chips)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False, sharey=True)
    return plt, fig, axes[0]


def plot_accuracy(study: Any, path: str | Path) -> Path:
    """Accuracy vs rate (linear axes), one panel per chip, one line per fault kind."""
    camp = study.campaign
    plt, fig, axes = _panels(study.chips)
    kinds = list(dict.fromkeys(r["kind"] for r in camp.summary))
    for ax, chip in zip(axes, study.chips, strict=True):
        for kind in kinds:
            x, y, err = _series(camp.summary, chip, study.strategy, kind)
            if x:
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=kind)
        base = camp.baselines.get(f"{chip}/{study.strategy}", {}).get("accuracy")
        if base is not None:
            ax.axhline(base, color="grey", linestyle="--", linewidth=1, label="fault-free")
        ax.set_title(f"{chip} ({study.strategy})")
        ax.set_xlabel("fault rate")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("top-1 accuracy (mean, 95 % CI)")
    axes[-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_mitigation(study: Any, path: str | Path) -> Path | None:
    """Accuracy under core failure vs rate, each partition strategy, one panel per chip."""
    camp = study.campaign
    strategies = list(
        dict.fromkeys(r["strategy"] for r in camp.summary if r["kind"] == "core_failure")
    )
    if len(strategies) < 2:
        return None
    plt, fig, axes = _panels(study.chips)
    for ax, chip in zip(axes, study.chips, strict=True):
        for st in strategies:
            x, y, err = _series(camp.summary, chip, st, "core_failure")
            cores = camp.baselines.get(f"{chip}/{st}", {}).get("n_cores")
            if x:
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=f"{st} ({cores} cores)")
        ax.set_title(chip)
        ax.set_xlabel("core failure rate")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("top-1 accuracy (mean, 95 % CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def write_study(study: Any, out_dir: str | Path, command: str = "") -> list[Path]:
    """faults.json, faults.md, accuracy_vs_rate.png (and spread.png) in ``out_dir``."""
    from neurosim.util.jsonable import json_default

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "faults.json", out / "faults.md"]
    data = {"command": command, **study.to_dict()}
    paths[0].write_text(json.dumps(data, indent=1, default=json_default))
    paths[1].write_text(to_markdown(study, command))
    paths.append(plot_accuracy(study, out / "accuracy_vs_rate.png"))
    spread = plot_mitigation(study, out / "spread.png")
    if spread is not None:
        paths.append(spread)
    return paths
