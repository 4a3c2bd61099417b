"""``neurosim compare NETWORK --chips A B ...``: one network on several chips, side by side.

The network is mapped, simulated (chip and reference backends) and reported
on each chip; a chip it does not fit gets a row saying why (the violations
counted, the first ones named) instead of stopping the run. ``--chips all``
takes every shipped profile. ``--spiking`` first converts a relu/linear
network to rate-coded IF neurons (threshold balancing calibrated on the
training split of ``--data``), so chips without ReLU can run it; ``--run-as
rates`` runs the rate-equivalent graded network of an IF network on every
chip (for chips with graded neurons, Akida). Prints a table (or ``--json``), and can write
Markdown (``--markdown FILE``) and an energy breakdown plot (``--plot FILE``).

Exit status: 0 when the network fits at least one chip, 3 when it fits none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "add_data_options", "run"]

HELP = "map, simulate and report one network on several chips"


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``compare`` and ``sweep``: data, simulation, mapping, spiking conversion."""
    from neurosim.cli.common import add_spiking_options

    parser.add_argument(
        "--data",
        metavar="NAME|FILE.npz",
        help="inputs to simulate: digits, iris, mnist, or a .npz file (x, optional y); "
        "without it the report holds the fit and memory only",
    )
    parser.add_argument("--data-path", help="datasets folder for mnist (default: $NEUROSIM_DATA)")
    parser.add_argument(
        "--split",
        default="test",
        choices=["test", "train", "all"],
        help="dataset split (default test)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N inputs")
    parser.add_argument("--strategy", help="partition strategy (sequential, axon_sharing, metis)")
    parser.add_argument("--placement", help="placement method (row_major, hilbert, annealed)")
    parser.add_argument(
        "--steps",
        type=int,
        help="time steps per input (default 1 for a graded relu/linear network, "
        "100 for a spiking one, e.g. with --spiking)",
    )
    parser.add_argument(
        "--encoding", help="spike encoding of static inputs (rate, poisson, threshold)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    add_spiking_options(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.cli.common import add_network_argument, add_run_as_option, add_set_option

    add_network_argument(parser)
    parser.add_argument(
        "--chips",
        nargs="+",
        required=True,
        metavar="CHIP",
        help="profile names or YAML paths, or 'all'",
    )
    add_set_option(parser, "override a field on every chip, e.g. --set weights.bits=4 (repeatable)")
    add_data_options(parser)
    add_run_as_option(parser)
    parser.add_argument(
        "--json", action="store_true", help="print the comparison as JSON instead of a table"
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the comparison as Markdown")
    parser.add_argument(
        "--plot", metavar="FILE", help="also write the energy breakdown per chip (PNG)"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing --markdown / --plot files"
    )


def _check_outputs(args: argparse.Namespace) -> None:
    from neurosim.errors import NeurosimError

    for opt in ("markdown", "plot"):
        path = getattr(args, opt)
        if path and Path(path).exists() and not args.force:
            raise NeurosimError(f"--{opt} {path}: file exists (pass --force to overwrite)")
        if opt == "plot" and path and Path(path).suffix.lower() not in (".png", ".pdf", ".svg"):
            raise NeurosimError(f"--plot {path}: expected a .png, .pdf or .svg file name")


def _model_hint(
    profiles: Any, reports: Any, wanted: bool, offering: str, advice: str
) -> str:
    """``"chips: advice"`` for the chips that refused the network's neurons but offer ``offering``.

    ``wanted``: the network has the neurons the advice converts (and the
    option is not given already); "" when it is not or no chip qualifies.
    """
    from neurosim.cli.common import refused_neurons_but_offers

    chips = [
        prof.name
        for prof, rep in zip(profiles, reports, strict=True)
        if wanted and refused_neurons_but_offers(prof, rep.violations, offering)
    ]
    return f"{', '.join(chips)}: {advice}" if chips else ""


def _hints(args: argparse.Namespace, network: Any, profiles: Any, reports: Any) -> list[str]:
    """Lines naming the chips ``--spiking`` or ``--run-as rates`` would let run the network."""
    kinds = {p.model.kind for p in network.populations}
    spiking = _model_hint(
        profiles, reports, not args.spiking and bool(kinds & {"relu", "linear"}), "if",
        "no relu/linear neurons; add --spiking (with --data) to run a rate-coded IF "
        "conversion of the network on them",
    )
    rates = _model_hint(
        profiles, reports, args.run_as != "rates" and "if" in kinds, "relu",
        "graded (relu) neurons only; add --run-as rates to run the rate-equivalent graded "
        "network of the IF network on them",
    )
    return [h for h in (spiking, rates) if h]


def _reports(args: argparse.Namespace, network: Any, profiles: list[Any], data: Any) -> list[Any]:
    """Each chip evaluated (the reference run once, shared by every chip)."""
    from rich.console import Console

    from neurosim.evaluate import EvalOptions, evaluate

    options = EvalOptions(
        strategy=args.strategy,
        placement=args.placement,
        seed=args.seed,
        n_steps=args.steps,
        encoding=args.encoding,
        run_as=args.run_as,
    )
    reference = None
    if data is not None:
        from neurosim.sim.simulate import simulate

        reference = simulate(network, data.x, "reference", **options.sim_kwargs())
    err = Console(stderr=True)
    reports = []
    for profile in profiles:
        if err.is_terminal:  # on a pipe a progress line would precede an error line
            err.print(f"[dim]{profile.name}: mapping and simulating...[/dim]", highlight=False)
        reports.append(evaluate(network, profile, data, options, reference=reference).report)
    return reports


def run(args: argparse.Namespace) -> int:
    from neurosim.cli.common import (
        console,
        dataset_from_args,
        network_from_args,
        print_json,
        spiking_network_from_args,
    )
    from neurosim.errors import EXIT_DOES_NOT_FIT
    from neurosim.hardware.profile import load_profile, profile_names
    from neurosim.report import compare_reports
    from neurosim.report.report import json_safe

    _check_outputs(args)
    chips = profile_names() if args.chips == ["all"] else list(dict.fromkeys(args.chips))
    profiles = [load_profile(c, args.overrides) for c in chips]  # bad names fail before any work
    network = network_from_args(args)
    data = dataset_from_args(args, network)
    network = spiking_network_from_args(network, args)
    reports = _reports(args, network, profiles, data)
    comparison = compare_reports(reports)
    if args.json:
        print_json(json_safe(comparison.to_dict()))
    else:
        out = console()
        out.print(comparison.table())
        if data is None:
            out.print(
                "no --data given: mapped only (fit and memory); pass --data to simulate",
                style="dim",
            )
        for hint in _hints(args, network, profiles, reports):
            out.print(hint, style="dim", highlight=False)
    _write_files(args, comparison, reports)
    return 0 if any(r.fits for r in reports) else EXIT_DOES_NOT_FIT


def _write_files(args: argparse.Namespace, comparison: Any, reports: list[Any]) -> None:
    """``--markdown`` and ``--plot``."""
    if args.markdown:
        from neurosim.util.atomic import atomic_write_text

        atomic_write_text(args.markdown, comparison.to_markdown())
    if args.plot:
        from neurosim.plots.report import plot_energy_breakdown, save_figure

        if any(r.energy is not None for r in reports):
            save_figure(plot_energy_breakdown(reports), args.plot)
        else:
            print(
                f"neurosim: --plot {args.plot}: no chip has an energy figure to plot; not written",
                file=sys.stderr,
            )
