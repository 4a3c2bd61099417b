"""``neurosim map NETWORK --chip NAME``: map a network onto a chip and report the fit.

``--spiking --data NAME`` first converts a relu/linear network to rate-coded
IF neurons (threshold balancing calibrated on the training split of the
data), for chips that implement only spiking neurons.

Exit codes: 0 the network fits; 3 it does not (every violation is printed in
one table, and listed in the JSON with ``--json``); 2 bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from neurosim.cli.common import (
    add_network_argument,
    add_profile_options,
    add_run_as_option,
    add_spiking_options,
    console,
    network_from_args,
    print_json,
    profile_from_args,
    spiking_network_from_args,
)
from neurosim.errors import EXIT_DOES_NOT_FIT

__all__ = ["HELP", "add_arguments", "run"]

HELP = "map a network onto a chip and report the fit"

_MAX_ROWS = 40  # population and quantization rows shown in the summary (all are in --json)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.mapping.partition import STRATEGIES
    from neurosim.mapping.placement import PLACEMENTS

    add_network_argument(parser)
    add_profile_options(parser)
    parser.add_argument(
        "--strategy", default="sequential", choices=sorted(STRATEGIES), help="partition strategy"
    )
    parser.add_argument(
        "--placement", default="annealed", choices=list(PLACEMENTS), help="core placement method"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    parser.add_argument(
        "--activity",
        type=float,
        default=None,
        help="expected spikes per neuron per time step for traffic (default 0.1)",
    )
    add_spiking_options(parser, simulates=False)
    add_run_as_option(parser)
    parser.add_argument(
        "--data",
        metavar="NAME|FILE.npz",
        help="calibration data of --spiking (required with it): digits, iris, mnist, or a .npz "
        "file; its training split is read",
    )
    parser.add_argument(
        "--data-path", help="datasets folder for --data mnist (default: $NEUROSIM_DATA)"
    )
    parser.add_argument(
        "--precision",
        action="store_true",
        help="bound the chip's fixed-point error on the test split of --data (first --limit "
        "inputs) and give the minimum state, accumulator and weight bits for exact categories",
    )
    parser.add_argument("--limit", type=int, default=None, help="with --precision: first N inputs")
    parser.add_argument("--json", action="store_true", help="print the mapping summary as JSON")
    parser.add_argument(
        "--plot", metavar="FILE", help="draw core utilization and placement to FILE (PNG, PDF, SVG)"
    )
    parser.add_argument(
        "--save", metavar="DIR", help="save the mapping (JSON + .npz) to directory DIR"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing --plot / --save outputs"
    )


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if not v.is_integer() else f"{int(v):,}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_violations(out, violations) -> None:
    """Every violation in one table; the fix of each rule listed once below it."""
    from rich.console import Console
    from rich.table import Table

    if not out.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        out = Console(file=out.file, width=max(out.width, 160))
    table = Table(title=f"{len(violations)} design-rule violation(s)", title_style="bold red")
    for col in ("#", "rule", "where", "resource", "used", "capacity", "profile field"):
        right = col in ("#", "used", "capacity")
        table.add_column(
            col,
            justify="right" if right else "left",
            no_wrap=col in ("#", "rule", "where", "used", "capacity"),
        )
    fixes: dict[str, list[str]] = {}
    for i, v in enumerate(violations, 1):
        table.add_row(str(i), v.rule, v.where, v.resource, _fmt(v.used), _fmt(v.capacity), v.field)
        if v.fix not in fixes.setdefault(v.rule, []):
            fixes[v.rule].append(v.fix)
    out.print(table)
    out.print("[bold]How to fix[/bold]")
    for rule, texts in fixes.items():
        for text in texts:
            out.print(f"  {rule}: {text}")
            flags = _flag_hints(text)
            if flags:
                out.print(f"    on the command line: {'; '.join(flags)}")


#: what a violation's fix names (the library speaks of profile fields and
#: strategies) -> the command-line flags that do it
_FLAG_HINTS: tuple[tuple[str, str], ...] = (
    ("core.split_fan_in=true", "--set core.split_fan_in=true"),
    ("core.relay_fan_out=true", "--set core.relay_fan_out=true"),
    ("axon_sharing partition strategy", "--strategy axon_sharing"),
    ("rate-coded IF neurons", "--spiking --data NAME"),
)


def _flag_hints(fix: str) -> list[str]:
    """The command-line flags that apply a violation's ``fix`` text, in order."""
    return [flag for needle, flag in _FLAG_HINTS if needle in fix]


def _head_table(mapped, out) -> None:
    """The fit, the strategy and placement, and the totals."""
    from rich.table import Table

    p = mapped.placement
    status = "[bold green]fits[/bold green]" if mapped.fits else "[bold red]does not fit[/bold red]"
    out.print(
        f"[bold]{mapped.network.name}[/bold] on [bold]{mapped.profile.title}[/bold] ({mapped.profile.name}): {status}"
    )
    head = Table(show_header=False)
    head.add_column("what")
    head.add_column("value", justify="right")
    rows = [
        ("strategy / placement", f"{mapped.strategy} / {p.method}"),
        (
            "neurons / synapses (source)",
            f"{mapped.network.n_neurons:,} / {mapped.network.n_synapses:,}",
        ),
        (
            "cores used (lower bound, gap)",
            f"{mapped.n_cores_used:,} ({mapped.lower_bound_cores:,}, +{mapped.n_cores_used - mapped.lower_bound_cores:,})",
        ),
        ("chips used", f"{mapped.n_chips_used} of {mapped.profile.get('chip.max_chips')} allowed"),
        (
            "added split / relay neurons",
            f"{mapped.added.get('split_neurons', 0):,} / {mapped.added.get('relay_neurons', 0):,}",
        ),
        (
            "added cores / latency stages",
            f"{mapped.added.get('extra_cores', 0):,} / {mapped.added.get('extra_stages', 0)}",
        ),
        (
            "link load total / max (spikes/step)",
            f"{p.total_link_load:,.4g} / {p.max_link_load:,.4g}",
        ),
        (
            "row-major total / max (spikes/step)",
            f"{p.row_major_total_link_load:,.4g} / {p.row_major_max_link_load:,.4g}",
        ),
    ]
    for r in rows:
        head.add_row(*r)
    out.print(head)


def _population_table(mapped, out) -> None:
    """Cores per population against the lower bound."""
    from rich.table import Table

    per_pop = mapped.info.get("per_population", {})
    if per_pop:
        shared = mapped.info.get("shared_cores")
        note = (
            "before cores were shared between populations" if shared else "one population per core"
        )
        pt = Table(title=f"Cores per population ({note})")
        for col in ("population", "neurons", "cores", "lower bound", "gap"):
            pt.add_column(
                col, justify="left" if col == "population" else "right", no_wrap=col == "population"
            )
        items = list(per_pop.items())
        for name, entry in items[:_MAX_ROWS]:
            size = mapped.hw_network.population(name).size
            gap = entry["cores"] - entry["lower_bound"] if entry["lower_bound"] else None
            pt.add_row(
                name,
                _fmt(size),
                _fmt(entry["cores"]),
                _fmt(entry["lower_bound"] or None),
                _fmt(gap),
            )
        if len(items) > _MAX_ROWS:
            pt.add_row(f"... {len(items) - _MAX_ROWS} more (see --json)", "", "", "", "")
        out.print(pt)


def _usage_table(mapped, out) -> None:
    """Per resource: capacity and used min / mean / max over cores, cores over capacity."""
    import numpy as np
    from rich.table import Table

    from neurosim.util.numfmt import format_column

    table = Table(title="Core usage (used / capacity per core)")
    headers = ("resource", "capacity", "min", "mean", "max", "max\nutil.", "cores\nover")
    for col in headers:
        table.add_column(col, justify="left" if col == "resource" else "right", no_wrap=True)
    rows: list[list] = []
    for res in mapped.cores[0].resources if mapped.cores else ():
        used = np.array([c.resources[res][0] for c in mapped.cores], dtype=float)
        cap = mapped.cores[0].resources[res][1]
        util = f"{used.max() / cap:.0%}" if cap else "-"
        over = str(int((used > cap).sum())) if cap is not None else "-"
        rows.append(
            [res, cap, float(used.min()), float(used.mean()), float(used.max()), util, over]
        )
    # one number format per column (no "4,294..." cut at 80 columns)
    cols = [format_column([r[i] for r in rows]) for i in (1, 2, 3, 4)]
    for k, r in enumerate(rows):
        table.add_row(r[0], *(c[k] for c in cols), r[5], r[6])
    out.print(table)


def _quantization_table(mapped, out) -> None:
    """Per projection: clipped and zeroed weights, relative errors, silent neurons."""
    from rich.table import Table

    q = mapped.info.get("quantization", {})
    if q:
        qt = Table(
            title=f"Quantization ({mapped.profile.get('weights.kind')}, {mapped.profile.get('weights.bits')} bits)"
        )
        for col in (
            "projection",
            "synapses",
            "clipped",
            "zeroed",
            "mean rel. error",
            "max rel. error",
            "silent neurons",
        ):
            qt.add_column(
                col, justify="left" if col == "projection" else "right", no_wrap=col == "projection"
            )
        for name, d in list(q.items())[:_MAX_ROWS]:
            qt.add_row(
                name,
                _fmt(d["n_synapses"]),
                _fmt(d["n_clipped"]),
                _fmt(d["n_zeroed"]),
                f"{d['mean_rel_error']:.3g}",
                f"{d['max_rel_error']:.3g}",
                _fmt(d["silent_neurons"]),
            )
        if len(q) > _MAX_ROWS:
            qt.add_row(f"... {len(q) - _MAX_ROWS} more (see --json)", "", "", "", "", "", "")
        out.print(qt)


def _print_summary(mapped) -> None:
    out = console()
    _head_table(mapped, out)
    _population_table(mapped, out)
    _usage_table(mapped, out)
    _quantization_table(mapped, out)
    if mapped.violations:
        print_violations(out, mapped.violations)


def _precision(mapped, network, args: argparse.Namespace):
    """The fixed-point precision report of ``mapped`` on the test split of ``--data``."""
    from neurosim.io.datasets import load_dataset
    from neurosim.sim.precision import precision_report

    data = load_dataset(
        args.data, path=args.data_path, split="test", limit=args.limit, seed=args.seed
    )
    return precision_report(mapped, data.x)


def _as_rates(network: Any, args: argparse.Namespace) -> tuple[Any, str | None]:
    """With ``--run-as rates``: the rate-equivalent graded network and a line saying so."""
    if args.run_as != "rates":
        return network, None
    from neurosim.sim.conversion import graded_equivalent

    graded = graded_equivalent(network)
    if not graded.gains:
        return network, f"--run-as rates: {network.name} has no IF population to convert; mapped as given"
    return graded.network, (
        f"mapped the rate-equivalent graded network of {network.name} (--run-as rates: IF "
        "neurons as ReLU capped at 1, weights and bias scaled by r / threshold)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neurosim.errors import DataError
    from neurosim.mapping.mapper import map_network
    from neurosim.mapping.store import mapped_summary, save_mapped

    if args.plot and Path(args.plot).exists() and not args.force:
        raise FileExistsError(args.plot)
    if args.save and Path(args.save).exists() and not args.force:
        raise FileExistsError(args.save)
    if args.data and not (args.spiking or args.precision):
        raise DataError(
            f"--data {args.data}: map reads data only to calibrate --spiking or for "
            "--precision; pass one of them or drop --data"
        )
    if args.precision and not args.data:
        raise DataError(
            "--precision: needs --data NAME|FILE.npz (the inputs to bound the error on)"
        )
    if args.spiking and not args.data:
        raise DataError(
            "--spiking: map needs --data NAME|FILE.npz to calibrate the conversion "
            "(e.g. --data digits; its training split is read)"
        )
    network = network_from_args(args)
    profile = profile_from_args(args)
    network = spiking_network_from_args(network, args)
    network, rates_line = _as_rates(network, args)
    mapped = map_network(
        network,
        profile,
        strategy=args.strategy,
        seed=args.seed,
        placement=args.placement,
        activity=args.activity,
    )
    precision = _precision(mapped, network, args) if args.precision else None
    if args.json:
        summary = mapped_summary(mapped)
        if precision is not None:
            summary["precision"] = precision.to_dict()
        if rates_line:
            summary["run_as"] = rates_line
        print_json(summary)
        if mapped.violations:
            from rich.console import Console

            print_violations(Console(stderr=True), mapped.violations)
    else:
        _print_summary(mapped)
        if rates_line:
            console().print(rates_line, style="dim", highlight=False)
        if precision is not None:
            print(f"precision: {precision.summary()}")
    if args.save:
        save_mapped(mapped, args.save, force=args.force)
    if args.plot:
        from neurosim.plots.mapping import plot_mapping

        plot_mapping(mapped, args.plot)
    return 0 if mapped.fits else EXIT_DOES_NOT_FIT
