"""``neurosim chips`` and ``neurosim chips show NAME``."""

from __future__ import annotations

import argparse
from collections import Counter

from neurosim.cli.common import console, print_json

__all__ = ["HELP", "add_arguments", "run"]

HELP = "list chip profiles, or show one (chips show NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    parser.add_argument("name", nargs="?", help="profile name or YAML path (for `show`)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a profile field (for `show`), e.g. --set core.max_fan_in=256")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _memory(bits) -> str:
    if bits is None:
        return "unknown"
    for unit, size in (("Gbit", 2**30), ("Mbit", 2**20), ("Kbit", 2**10)):
        if bits >= size:
            return f"{bits / size:g} {unit}"
    return f"{bits} bit"


def _precision(p) -> str:
    kind, bits = p.get("weights.kind"), p.get("weights.bits")
    if kind == "axon_type":
        return f"{p.get('weights.n_axon_types')} axon types x {bits}b"
    if kind in ("ternary", "binary"):
        return kind
    return f"{kind}{bits}"


def _provenance(p) -> str:
    counts = Counter(f.provenance or "unknown" for f in p.fields().values())
    return ", ".join(f"{k} {v}" for k, v in counts.most_common())


def _summary(p) -> dict:
    return {
        "name": p.name,
        "title": p.title,
        "cores": p.get("chip.n_cores"),
        "neurons_per_core": p.get("core.max_neurons"),
        "core_fan_in": p.get("core.max_axons"),
        "synapse_memory_bits": p.get("core.synapse_memory_bits"),
        "weights": _precision(p),
        "synop_pj": p.get("energy.synop_pj"),
        "provenance": _provenance(p),
    }


def run(args: argparse.Namespace) -> int:
    from neurosim.errors import ProfileError
    from neurosim.hardware.profile import load_profile, profile_names

    if args.action == "show":
        if not args.name:
            raise ProfileError("chips show: expected a profile NAME (see `neurosim chips`)")
        p = load_profile(args.name, args.overrides)
        if args.json:
            print_json(p.to_dict())
            return 0
        _show(p)
        return 0
    if args.name:
        raise ProfileError(f"chips: unexpected argument {args.name!r}; did you mean `neurosim chips show {args.name}`?")
    profiles = [load_profile(n) for n in profile_names()]
    if args.json:
        print_json([p.to_dict() for p in profiles])
        return 0
    from rich.table import Table

    table = Table(title="Chip profiles (neurosim chips show NAME for sources)")
    for col in ("name", "cores", "neurons/core", "core fan-in", "synapse memory/core", "weights", "pJ/synop", "provenance of figures"):
        table.add_column(col, justify="right" if col in ("cores", "neurons/core", "core fan-in", "pJ/synop") else "left")
    for p in profiles:
        s = _summary(p)
        table.add_row(
            s["name"], _fmt(s["cores"]), _fmt(s["neurons_per_core"]), _fmt(s["core_fan_in"]),
            _memory(s["synapse_memory_bits"]), s["weights"], _fmt(s["synop_pj"]), s["provenance"],
        )
    console().print(table)
    return 0


def _show(p) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]{p.title}[/bold] ({p.name}) — {p.vendor}")
    out.print(p.description)
    table = Table()
    for col in ("field", "value", "provenance", "source", "note"):
        table.add_column(col, overflow="fold")
    for key, fig in p.fields().items():
        table.add_row(key, _fmt(fig.value), fig.provenance or "-", fig.source or "-", fig.note or "")
    out.print(table)
    out.print("[bold]Sources[/bold]")
    for key, text in p.sources.items():
        out.print(f"  {key}: {text}")
