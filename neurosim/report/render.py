"""Renderers of reports and comparisons: rich tables, Markdown, unit formatting.

Numbers are shown with SI prefixes and their unit (``1.23 uJ``, ``45.6 us``,
``12.3 kbit``); a figure computed from an estimated profile number carries a
``*`` and the footnote says so; a figure the profile leaves unknown is shown
as ``unknown``, never as 0.
"""

from __future__ import annotations

import math
from typing import Any

from neurosim.util.numfmt import fmt_count, format_column

__all__ = [
    "COLUMNS",
    "fmt_bits",
    "fmt_count",
    "fmt_energy_pj",
    "fmt_fraction",
    "fmt_si",
    "fmt_time_s",
    "format_column",
    "render_markdown",
    "render_table",
    "table_rows",
]

#: column headers of the side-by-side table
COLUMNS: tuple[str, ...] = (
    "chip",
    "fits",
    "cores",
    "synapse memory",
    "saving vs f32",
    "top-1 chip",
    "top-1 ref",
    "drop",
    "energy / inference",
    "time / inference",
    "inferences / s",
    "EDP",
    "notes",
)

_PREFIXES = (
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "u"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
)


def fmt_si(value: float | None, unit: str, digits: int = 3) -> str:
    """``value`` with an SI prefix, e.g. ``fmt_si(1.5e-6, "J") == "1.5 uJ"``.

    Examples
    --------
    >>> fmt_si(1.5e-6, "J")
    '1.5 uJ'
    >>> fmt_si(None, "J")
    'unknown'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if value == 0:
        return f"0 {unit}".strip()
    mag = abs(value)
    for scale, prefix in _PREFIXES:
        if mag >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    scale, prefix = _PREFIXES[-1]
    return f"{value / scale:.{digits}g} {prefix}{unit}".strip()


def fmt_energy_pj(pj: float | None) -> str:
    """Energy given in pJ, shown in J with a prefix."""
    return fmt_si(None if pj is None else pj * 1e-12, "J")


def fmt_time_s(s: float | None) -> str:
    return fmt_si(s, "s")


def fmt_bits(bits: float | None) -> str:
    return fmt_si(None if bits is None else float(bits), "bit")


def fmt_fraction(x: float | None, *, points: bool = False) -> str:
    """A fraction as a percentage (or, with ``points``, as percentage points)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x * 100:+.1f} pp" if points else f"{x * 100:.1f} %"


def _star(text: str, estimated: bool) -> str:
    return text + "*" if estimated and text not in ("unknown", "-") else text


def table_rows(reports: Any) -> list[list[str]]:
    """The side-by-side rows (strings, one per report) in :data:`COLUMNS` order."""
    rows = []
    for rep in reports:
        s = rep.summary()
        est = bool(
            (rep.energy is not None and rep.energy.estimated)
            or (rep.latency is not None and rep.latency.estimated)
        )
        est_mem = s["memory_estimated"]
        if rep.status != "ok":
            label = "no" if rep.status == "does_not_fit" else "error"
            mem = "-"
            if s["synapse_memory_bits"] is not None:
                mem = _star(fmt_bits(s["synapse_memory_bits"]), est_mem)
            cores = str(s["n_cores_used"]) if s["n_cores_used"] is not None else "-"
            rows.append([rep.name, label, cores, mem] + ["-"] * 8 + [rep.reason or ""])
            continue
        saving = s["saving_vs_dense_float32"]
        notes = []
        if s["unknown"]:
            notes.append("unknown: " + ", ".join(s["unknown"]))
        if rep.overrides:
            notes.append("set: " + ", ".join(rep.overrides))
        rows.append(
            [
                rep.name,
                "yes",
                f"{s['n_cores_used']}"
                + (f" ({s['n_chips_used']} chips)" if (s["n_chips_used"] or 0) > 1 else ""),
                _star(fmt_bits(s["synapse_memory_bits"]), est_mem),
                "-" if saving is None else _star(f"{saving:.3g}x", est_mem),
                fmt_fraction(s["chip_top1"]),
                fmt_fraction(s["reference_top1"]),
                fmt_fraction(s["accuracy_drop"], points=True),
                _star(fmt_energy_pj(s["energy_per_inference_pj"]), est),
                _star(fmt_time_s(s["time_per_inference_s"]), est),
                _star(fmt_si(s["inferences_per_s"], "/s"), est),
                _star(fmt_si(s["edp_j_s"], "J s"), est),
                "; ".join(notes),
            ]
        )
    return rows


def _reports_of(obj: Any) -> list[Any]:
    return list(obj.reports) if hasattr(obj, "reports") else [obj]


_FOOTNOTE = (
    "* computed with profile figures of provenance 'estimated' (see the JSON report's provenance)"
)


#: column headers of the terminal table, broken over two lines
_TERMINAL_HEADERS = {
    "synapse memory": "synapse\nmemory",
    "saving vs f32": "saving\nvs f32",
    "top-1 chip": "top-1\nchip",
    "top-1 ref": "top-1\nref",
    "energy / inference": "energy /\ninference",
    "time / inference": "time /\ninference",
    "inferences / s": "inferences\n/ s",
}

#: columns left out of the terminal table, in this order, when it is too wide
_DROPPABLE = ("EDP", "inferences / s", "saving vs f32", "top-1 ref", "cores")


class _ComparisonView:
    """A rich renderable: the side-by-side table sized to the console, then the reasons.

    Columns of :data:`_DROPPABLE` are left out (in that order) until the table
    fits the console width; the notes column becomes one line per chip under
    the table, so a reason is never squeezed into a narrow cell.
    """

    def __init__(self, reports: list[Any], title: str) -> None:
        self.reports = reports
        self.title = title

    def _table(self, columns: list[str], rows: list[list[str]]) -> Any:
        from rich import box
        from rich.table import Table

        any_est = any(r.summary()["estimated"] for r in self.reports)
        table = Table(title=self.title, caption=_FOOTNOTE if any_est else None, box=box.SIMPLE_HEAD)
        for header in columns:
            justify = "left" if header in ("chip", "fits") else "right"
            table.add_column(_TERMINAL_HEADERS.get(header, header), justify=justify, no_wrap=True)
        idx = [COLUMNS.index(c) for c in columns]
        for row in rows:
            table.add_row(*[row[i] for i in idx], style=None if row[1] == "yes" else "yellow")
        return table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.text import Text

        rows = table_rows(self.reports)
        columns = [c for c in COLUMNS if c != "notes"]

        def width(cols: list[str]) -> int:
            total = 0
            for c in cols:
                i = COLUMNS.index(c)
                head = max(len(line) for line in _TERMINAL_HEADERS.get(c, c).split("\n"))
                total += max([head] + [len(r[i]) for r in rows]) + 3
            return total + 2

        for drop in _DROPPABLE:
            if width(columns) <= options.max_width:
                break
            columns.remove(drop)
        yield self._table(columns, rows)
        for rep, row in zip(self.reports, rows, strict=True):
            if row[-1]:
                style = "yellow" if rep.status != "ok" else "dim"
                yield Text(f"{rep.name}: {row[-1]}", style=style)
        from neurosim.report.accuracy import explain_accuracy

        for rep in self.reports:  # what cost the accuracy, next to the figure
            why = explain_accuracy(rep.accuracy) if rep.accuracy is not None else ""
            if why:
                yield Text(f"{rep.name}: {why}", style="yellow" if rep.accuracy.warnings() else "")


def render_table(obj: Any, *, title: str | None = None) -> Any:
    """A rich renderable of a :class:`Report` or a comparison, one row per chip.

    Every row is either the full set of figures or, for a chip the network does
    not fit, marked ``no`` with the reason (violations counted, the first ones
    named) on a line under the table. Columns are fitted to the console width.
    """
    reports = _reports_of(obj)
    net = reports[0].network if reports else ""
    return _ComparisonView(
        reports, title or f"{net}: accuracy, memory, energy and latency per chip"
    )


def _optional_energy() -> frozenset[str]:
    """Energy fields a profile may leave out (a cost not modelled, rather than unknown)."""
    from neurosim.cost.energy import OPTIONAL

    return OPTIONAL


def render_markdown(obj: Any) -> str:
    """Markdown: the side-by-side table, then per chip its energy, memory and latency details."""
    reports = _reports_of(obj)
    net = reports[0].network if reports else ""
    lines = [f"# {net}: accuracy, memory, energy and latency per chip", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---" for _ in COLUMNS) + "|")
    for row in table_rows(reports):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    if any(r.summary()["estimated"] for r in reports):
        lines += ["", "\\" + _FOOTNOTE]
    for rep in reports:
        lines += _chip_markdown(rep)
    return "\n".join(lines) + "\n"


def _energy_markdown(energy: Any) -> list[str]:
    """The energy table of one chip and its total line."""
    lines = [
        "| event | count | per event | energy | provenance |",
        "|---|---:|---:|---:|---|",
    ]
    for kind, e in energy.by_event.items():
        unset = "not modelled" if e.field in _optional_energy() else "unknown"
        fig = unset if e.figure is None else f"{e.figure:g} {e.unit}"
        count = "-" if kind == "static" else str(e.count)
        lines.append(
            f"| {kind} | {count} | {fig} | {fmt_energy_pj(e.energy_pj)} | {e.provenance or 'unknown'} |"
        )
    lines.append(
        f"\nTotal {fmt_energy_pj(energy.total_pj)} over {energy.n_inputs} inputs "
        f"({fmt_energy_pj(energy.per_inference_pj)} per inference); split overhead "
        f"{fmt_energy_pj(energy.split_pj)}, relay overhead {fmt_energy_pj(energy.relay_pj)}; "
        f"per-layer attribution {energy.attribution}."
    )
    return lines


def _chip_markdown(rep: Any) -> list[str]:
    """One chip's section: status, energy, memory, latency, accuracy and the figures' provenance."""
    lines = ["", f"## {rep.name}", ""]
    if rep.reason:
        lines += [f"Status: {rep.status}. {rep.reason}", ""]
    if rep.energy is not None:
        lines += _energy_markdown(rep.energy)
    if rep.memory is not None:
        m = rep.memory.to_dict()
        sv = m["saving_vs"]
        ws = m["weight_storage_saving"]
        lines.append(
            f"\nMemory ({m['encoding']}, {m['weight_bits']}-bit weights): synapses {fmt_bits(m['synapse_bits'])}, "
            f"neuron state {fmt_bits(m['state_bits_total'])}; max core utilization "
            f"{fmt_fraction(m['utilization_max'])}. Saving against dense float32 "
            f"{_x(sv['dense_float32'])}, dense float64 {_x(sv['dense_float64'])}, CSR float32 "
            f"{_x(sv['csr_float32'])}; weight storage against float64 {_x(ws['dense_float64'])}."
        )
    if rep.latency is not None:
        lat = rep.latency
        lines.append(
            f"\nLatency: step {fmt_time_s(lat.step_s)} (bound: {lat.bound}; busiest core {lat.busiest_core}, "
            f"route {fmt_time_s(lat.route_s)} over {lat.max_hops} hops), "
            f"{fmt_time_s(lat.time_per_inference_s)} per inference, {fmt_si(lat.inferences_per_s, '/s')}."
        )
    if rep.accuracy is not None:
        q = rep.accuracy.quantization
        lines.append(
            f"\nQuantization: {q.get('n_clipped', 0)} weights clipped, {q.get('n_zeroed', 0)} zeroed, "
            f"{q.get('silent_neurons', 0)} neurons left without input; run: "
            f"{rep.accuracy.saturations} saturations, {rep.accuracy.silent_in_run} silent neurons "
            f"({rep.accuracy.newly_silent} active in the reference); agreement with the reference "
            f"{fmt_fraction(rep.accuracy.agreement)}."
        )
        from neurosim.report.accuracy import explain_accuracy

        why = explain_accuracy(rep.accuracy)
        if why:
            lines.append(f"\n{why}")
    if rep.estimated:
        lines.append(
            "\nEstimated profile figures used: " + ", ".join(f"`{f}`" for f in rep.estimated) + "."
        )
    if rep.unknown:
        lines.append("\nUnknown profile figures: " + ", ".join(f"`{f}`" for f in rep.unknown) + ".")
    return lines


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}x"
