"""``neurosim chips`` (a table of the shipped chip profiles) and ``neurosim chips show NAME``.

``neurosim chips`` prints one row per profile of ``hwmodels/``: cores, neurons
per core, core fan-in (input axons), synapse memory per core, weight
precision, energy per synaptic operation with its provenance, and a tally of
the provenance of all the profile's figures. ``neurosim chips show NAME``
(``NAME`` a shipped profile or a YAML path; ``neurosim chips NAME`` is the
same) prints every figure with its value, provenance, source and note, then
the profile's source list. Both take ``--json``; ``show`` takes ``--set
section.field=value`` overrides.

The table adapts to the terminal: below 110 columns it keeps to 80 columns,
above it adds the chip's full title. Only ``rich``, ``pydantic`` and ``yaml``
are imported, so the command starts fast.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from neurosim.cli.common import add_set_option, console, print_json

__all__ = ["HELP", "PROVENANCE_CODES", "add_arguments", "profile_summary", "run"]

HELP = "list chip profiles, or show one (chips show NAME)"

#: one-letter code of each provenance in the table's tally (None: unknown figure)
PROVENANCE_CODES: dict[str | None, str] = {
    "measured": "M",
    "simulated": "S",
    "datasheet": "D",
    "estimated": "E",
    "definition": "F",
    "override": "O",
    None: "?",
}

_WIDE = 110  # terminal columns from which the table shows chip titles and notes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neurosim chips``."""
    parser.add_argument(
        "what",
        nargs="?",
        metavar="list|show|NAME",
        help="`list` (the default): a table of the shipped profiles; `show NAME` or just NAME: "
        "every figure of one profile (a shipped name or a YAML path)",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the profile to show")
    add_set_option(
        parser,
        "override a profile field (with `show`), e.g. --set core.max_fan_in=256 (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


# ---------------------------------------------------------------- formatting
def _compact(value: Any) -> str:
    """A short number: 65,536; 1M; 250k; 23.6; 'unknown' for None."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        if value >= 1_000_000:
            return f"{value / 1e6:.3g}M"
        if value >= 100_000:
            return f"{value / 1e3:.3g}k"
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _memory(bits: int | None) -> str:
    """Bits as a readable size in bytes (KiB, MiB, GiB), or 'unknown'."""
    if bits is None:
        return "unknown"
    size = bits / 8
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{bits} bit"


def _precision(p: Any) -> str:
    """Weight precision in a few characters: int8, float32, ternary, 9b/4 types."""
    kind, bits = p.get("weights.kind"), p.get("weights.bits")
    if kind == "axon_type":
        return f"{bits}b/{p.get('weights.n_axon_types')}types"
    if kind in ("ternary", "binary"):
        return kind
    return f"{kind}{bits}"


def _tally(p: Any) -> str:
    """Provenance of all the profile's figures as code+count, most frequent first."""
    counts = Counter(f.provenance for f in p.fields().values())
    return " ".join(f"{PROVENANCE_CODES[k]}{n}" for k, n in counts.most_common())


def profile_summary(p: Any) -> dict[str, Any]:
    """The figures ``neurosim chips`` tabulates for one profile (plain values).

    Parameters
    ----------
    p : ChipProfile

    Returns
    -------
    dict
        ``name``, ``title``, ``cores``, ``neurons_per_core``, ``core_fan_in``
        (input axons per core), ``synapse_memory_bits`` (per core), ``weights``
        (short precision label), ``synop_pj`` and ``synop_provenance``, and
        ``provenance`` (count of figures per provenance, ``"unknown"`` for
        null figures).
    """
    counts = Counter(f.provenance or "unknown" for f in p.fields().values())
    return {
        "name": p.name,
        "title": p.title,
        "cores": p.get("chip.n_cores"),
        "neurons_per_core": p.get("core.max_neurons"),
        "core_fan_in": p.get("core.max_axons"),
        "synapse_memory_bits": p.get("core.synapse_memory_bits"),
        "weights": _precision(p),
        "synop_pj": p.get("energy.synop_pj"),
        "synop_provenance": p.figure("energy.synop_pj").provenance,
        "provenance": dict(counts.most_common()),
    }


def _unit(dotted: str) -> str:
    for suffix, unit in (
        ("_pj", " pJ"),
        ("_ns", " ns"),
        ("_w", " W"),
        ("_s", " s"),
        ("_bits", " bit"),
    ):
        if dotted.endswith(suffix):
            return unit
    return ""


def _value(dotted: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            text = f"{value:.6g}"
        else:
            text = f"{int(value):,}"
        return text + _unit(dotted)
    return _compact(value)


# ---------------------------------------------------------------- commands
def run(args: argparse.Namespace) -> int:
    """Run ``neurosim chips``."""
    from neurosim.errors import ProfileError
    from neurosim.hardware.profile import load_profile, profile_names

    words = [w for w in (args.what, args.name) if w is not None]
    if words and words[0] == "show":
        if len(words) != 2:
            raise ProfileError(
                "chips show: expected one profile NAME or YAML path (see `neurosim chips`)"
            )
        name = words[1]
    elif not words or words == ["list"]:
        name = None
    elif len(words) == 1:
        name = words[0]
    else:
        raise ProfileError(
            f"chips: unexpected arguments {' '.join(words)!r}; expected `neurosim chips`, "
            "`neurosim chips show NAME` or `neurosim chips NAME`"
        )

    if name is not None:
        p = load_profile(name, args.overrides)
        if args.json:
            print_json(p.to_dict())
        else:
            _show(p)
        return 0
    if args.overrides:
        raise ProfileError(
            "chips: --set applies to one profile; use `neurosim chips show NAME --set FIELD=VALUE`"
        )
    profiles = [load_profile(n) for n in profile_names()]
    if args.json:
        print_json([p.to_dict() for p in profiles])
    else:
        _table(profiles)
    return 0


#: (header, justify) of the table's columns on a wide and on a narrow terminal
_WIDE_COLUMNS = (
    ("chip", "left"),
    ("title", "left"),
    ("cores", "right"),
    ("neurons\nper core", "right"),
    ("core\nfan-in", "right"),
    ("synapse\nmem/core", "right"),
    ("weights", "left"),
    ("pJ per\nsynop", "right"),
    ("provenance\nof figures", "left"),
)
_NARROW_COLUMNS = (
    ("chip", "left"),
    ("cores", "right"),
    ("neurons\n/core", "right"),
    ("core\nfan-in", "right"),
    ("syn mem\n/core", "right"),
    ("weights", "left"),
    ("pJ/\nsynop", "right"),
    ("provenance\nof figures", "left"),
)


def _rows(profiles: list[Any], wide: bool) -> list[list[str]]:
    """The table's cells, one row per profile, each number column in one format."""
    from neurosim.util.numfmt import format_column

    summaries = [profile_summary(p) for p in profiles]
    # one number format per column: all written in full, or all as 1.02k / 65.5k / 1M
    numbers = {
        key: format_column([s[key] for s in summaries])
        for key in ("cores", "neurons_per_core", "core_fan_in", "synop_pj")
    }
    rows = []
    for k, (p, s) in enumerate(zip(profiles, summaries, strict=True)):
        synop = numbers["synop_pj"][k] if s["synop_pj"] is not None else "unknown"
        if s["synop_pj"] is not None:
            synop += f" {PROVENANCE_CODES[s['synop_provenance']]}"
        tally = _tally(p).split()
        row = [
            s["name"],
            numbers["cores"][k],
            numbers["neurons_per_core"][k],
            numbers["core_fan_in"][k] if s["core_fan_in"] is not None else "unknown",
            _memory(s["synapse_memory_bits"]),
            s["weights"],
            synop,
            " ".join(tally if wide else tally[:3]),
        ]
        if wide:
            row.insert(1, s["title"])
        rows.append(row)
    return rows


def _table(profiles: list[Any]) -> None:
    from rich import box
    from rich.table import Table

    out = console()
    wide = out.width >= _WIDE
    table = Table(
        box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False
    )
    for header, justify in _WIDE_COLUMNS if wide else _NARROW_COLUMNS:
        table.add_column(
            header,
            justify=justify,
            no_wrap=True,  # type: ignore[arg-type]
            overflow="ellipsis",
            max_width=30 if header == "title" else None,
        )
    for row in _rows(profiles, wide):
        table.add_row(*row)
    out.print(table)
    legend = ", ".join(
        f"{code} {name or 'unknown (null)'}" for name, code in PROVENANCE_CODES.items()
    )
    shown = "" if wide else " (the 3 most frequent)"
    out.print(
        f"core fan-in: input axons per core. Provenance of figures{shown}: {legend}.",
        highlight=False,
    )
    out.print("Sources, notes and every field: neurosim chips show NAME", highlight=False)


def _show(p: Any) -> None:
    from rich import box
    from rich.table import Table

    from neurosim.hardware.profile import SECTIONS

    out = console()
    wide = out.width >= _WIDE
    out.print(f"[bold]{p.title}[/bold] ({p.name}), {p.vendor}", highlight=False)
    if p.path:
        out.print(f"file: {p.path}", highlight=False)
    out.print(p.description, highlight=False)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", no_wrap=True, max_width=24, overflow="fold")
    # narrow consoles: the one-letter provenance codes (legend below), so no column is cut
    table.add_column("provenance" if wide else "prov.", no_wrap=True)
    table.add_column("source", no_wrap=True, max_width=18 if wide else 14, overflow="fold")
    if wide:
        table.add_column("note", overflow="fold", ratio=1)
    notes: list[tuple[str, str]] = []
    fields = p.fields()
    for section in SECTIONS:
        for key, fig in fields.items():
            if not key.startswith(section + "."):
                continue
            prov = fig.provenance or "unknown" if wide else PROVENANCE_CODES[fig.provenance]
            row = [key, _value(key, fig.value), prov, fig.source or "-"]
            if wide:
                row.append(fig.note or "")
            elif fig.note:
                notes.append((key, fig.note))
            table.add_row(*row)
        if section != SECTIONS[-1]:
            table.add_section()
    out.print(table)
    if not wide:
        legend = ", ".join(f"{c} {n or 'unknown'}" for n, c in PROVENANCE_CODES.items())
        out.print(f"prov.: {legend}", highlight=False)
    if notes:
        out.print("[bold]Notes[/bold]")
        for key, note in notes:
            out.print(f"  {key}: {note}", highlight=False)
    out.print("[bold]Sources[/bold]")
    for key, text in p.sources.items():
        out.print(f"  {key}: {text}", highlight=False)
