"""``neurosim simulate NETWORK --chip NAME``: map, simulate on real inputs, summarise.

Prints the accuracy (labelled data) or an outputs summary, the event totals
per type, and the backend's wall time; ``--json`` prints the same as JSON.
A mapping that does not fit the chip exits 3 (as ``map`` does) unless
``--ignore-fit``: then it is simulated and every figure is marked as coming
from an unfittable mapping (``"fits": false`` and a ``note`` in the JSON, a
line in the table). ``--scheduler`` splits the inputs into row blocks over a
Dask cluster (``local`` or ``tcp://HOST:8786``) and gathers the results.
``--spiking`` first converts a relu/linear network to rate-coded IF neurons
(threshold balancing calibrated on the training split of ``--data``), for
chips that implement only spiking neurons; ``--run-as rates`` the other
way, the rate-equivalent graded network of an IF network, for chips whose
neurons are graded (Akida).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from neurosim.cli.common import (
    add_execution_options,
    add_network_argument,
    add_profile_options,
    add_run_as_option,
    add_spiking_options,
    console,
    dataset_from_args,
    network_from_args,
    print_json,
    profile_from_args,
    refused_neurons_but_offers,
    spiking_network_from_args,
)

__all__ = ["HELP", "add_arguments", "run"]

HELP = "simulate a mapped network on inputs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.sim.backends import BACKENDS

    add_network_argument(parser)
    add_profile_options(parser)
    parser.add_argument(
        "--backend", default="chip", choices=list(BACKENDS), help="simulator backend (default chip)"
    )
    parser.add_argument(
        "--data",
        default="digits",
        help="digits, iris, mnist, or a .npz file with x (and y) (default digits); its test "
        "split is simulated",
    )
    parser.add_argument(
        "--data-path", default=None, help="datasets folder for mnist (default $NEUROSIM_DATA)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N inputs")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="time steps (default 1 graded, 100 spiking, e.g. with --spiking)",
    )
    parser.add_argument(
        "--encoding", default=None, help="spike encoding of the inputs (rate, poisson, threshold)"
    )
    parser.add_argument(
        "--target",
        default=None,
        help="brian2 code generation target (numpy, cython, cpp_standalone)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    add_spiking_options(parser)
    add_run_as_option(parser)
    parser.add_argument(
        "--ignore-fit",
        action="store_true",
        help="simulate even when the mapping does not fit the chip (every figure is marked); "
        "without it such a mapping exits 3",
    )
    add_execution_options(parser, default="serial", points=False)
    parser.add_argument(
        "--block-rows",
        type=int,
        default=None,
        help="inputs per block with --scheduler (default: two blocks per worker)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def summarise(result: Any, labels: np.ndarray | None) -> dict[str, Any]:
    """The summary printed by the command (also used for ``--json``)."""
    out: dict[str, Any] = {
        "backend": result.backend,
        "n_inputs": result.n_inputs,
        "n_steps": result.n_steps,
        "dt_s": result.dt_s,
        "wall_time_s": round(result.wall_time_s, 4),
        "saturations": result.saturations,
        "events": {k: result.total_events(k) for k in result.events},
        "outputs_mean": float(np.mean(result.outputs)) if result.outputs.size else 0.0,
        "outputs_nonzero_fraction": float(np.mean(result.outputs != 0))
        if result.outputs.size
        else 0.0,
    }
    if labels is not None and result.outputs.shape[1] > 1:
        from neurosim.report.accuracy import argmax_ties, top1

        out["accuracy"] = top1(result.outputs, labels)  # an argmax tie counts as wrong
        out["argmax_ties"] = int(argmax_ties(result.outputs).sum())
        out["silent_output"] = not bool(np.any(result.outputs))
    if "host_packets" in result.info:
        out["host_packets"] = int(result.info["host_packets"])
    return out


def _does_not_fit(mapped: Any, network: Any, args: argparse.Namespace, simulated: bool) -> None:
    """One stderr line: the mapping breaks design rules (and, with --ignore-fit, what that means)."""
    import sys

    from neurosim.report.report import fit_reason

    hint = ""
    if not args.spiking and refused_neurons_but_offers(mapped.profile, mapped.violations, "if"):
        hint = "; add --spiking to run a rate-coded IF conversion instead"
    elif (
        args.run_as == "network"
        and refused_neurons_but_offers(mapped.profile, mapped.violations, "relu")
        and any(p.model.kind == "if" for p in network.populations)
    ):
        hint = "; add --run-as rates to run its rate-equivalent graded (ReLU) network instead"
    what = (
        "simulated anyway (--ignore-fit): every figure is from a mapping that does not fit"
        if simulated
        else "not simulated; pass --ignore-fit to simulate it anyway"
    )
    print(
        f"neurosim: {'warning' if simulated else 'error'}: {network.name} does not fit "
        f"{mapped.profile.name} ({fit_reason(mapped.violations)}); {what}{hint}",
        file=sys.stderr,
    )


def _options(args: argparse.Namespace) -> Any:
    from neurosim.evaluate import EvalOptions

    sim: dict[str, Any] = {"progress": not args.no_progress and not args.json}
    if args.target:
        sim["options"] = {"target": args.target}
    return EvalOptions(
        backends=(args.backend,),
        seed=args.seed,
        n_steps=args.steps,
        encoding=args.encoding,
        sim_options=sim,
        ignore_fit=args.ignore_fit,
        on_error="raise",
        run_as=args.run_as,
    )


def _evaluate(network: Any, profile: Any, data: Any, args: argparse.Namespace) -> Any:
    """:func:`neurosim.evaluate.evaluate`, with the inputs split over a cluster with --scheduler."""
    from neurosim.evaluate import evaluate

    if args.scheduler is None or args.scheduler == "serial":
        return evaluate(network, profile, data, _options(args))
    import functools
    from dataclasses import replace

    from neurosim.cli.common import execution_from_args
    from neurosim.execute import open_client, simulate_blocks

    options = _options(args)
    no_bar = {k: v for k, v in options.sim_options.items() if k != "progress"}  # none per block
    options = replace(options, sim_options=no_bar)
    with open_client(execution_from_args(args), say=_say) as client:
        blocks = functools.partial(simulate_blocks, client, block_rows=args.block_rows)
        return evaluate(network, profile, data, options, simulator=blocks)


def _say(line: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]{line}[/dim]", highlight=False)


def run(args: argparse.Namespace) -> int:
    from neurosim.errors import EXIT_DOES_NOT_FIT

    profile = profile_from_args(args)
    network = network_from_args(args)
    data = dataset_from_args(args, network)
    network = spiking_network_from_args(network, args)
    ev = _evaluate(network, profile, data, args)
    if not ev.fits:
        _does_not_fit(ev.mapped, network, args, simulated=args.ignore_fit)
        if not args.ignore_fit:
            return EXIT_DOES_NOT_FIT
    result = ev.results[args.backend]
    summary = {
        "network": network.name,
        "chip": profile.name,
        "data": data.name,
        "fits": ev.fits,
        **summarise(result, data.y),
    }
    if not ev.fits:
        summary["note"] = UNFIT_LINE
    if ev.run_as_note is not None:  # what ran, and how it is scored
        summary["run_as"] = ev.run_as_note
    if args.json:
        print_json(summary)
        return 0
    _print_summary(summary, result, network, profile)
    return 0


UNFIT_LINE = "every figure is from a mapping that does not fit this chip (--ignore-fit)"


def _print_summary(summary: dict[str, Any], result: Any, network: Any, profile: Any) -> None:
    from rich.table import Table

    con = console()
    head = f"{network.name} on {profile.name} ({result.backend}): {result.n_inputs} inputs x {result.n_steps} steps"
    con.print(head)
    if not summary["fits"]:
        con.print(f"DOES NOT FIT: {UNFIT_LINE}", style="bold yellow", highlight=False)
    if "run_as" in summary:
        con.print(summary["run_as"], style="dim", highlight=False)
    if "accuracy" in summary:
        ties = summary.get("argmax_ties", 0)
        note = f" ({ties} tied argmax counted wrong)" if ties else ""
        con.print(f"accuracy: {summary['accuracy']:.4f}{note}", highlight=False)
        if summary.get("silent_output"):
            con.print(
                "[yellow]warning: every output is 0 for every input: the network predicts nothing[/yellow]"
            )
    con.print(
        f"outputs: mean {summary['outputs_mean']:.4g}, nonzero {summary['outputs_nonzero_fraction']:.2%}; "
        f"saturations {result.saturations}; wall time {result.wall_time_s:.3f} s"
    )
    if result.events:
        table = Table("event", "total")
        for k, v in summary["events"].items():
            table.add_row(k, f"{v:,}")
        con.print(table)
