"""``neurosim simulate NETWORK --chip NAME``: map, simulate on real inputs, summarise.

Prints the accuracy (labelled data) or an outputs summary, the event totals
per type, and the backend's wall time; ``--json`` prints the same as JSON.
``--spiking`` first converts a relu/linear network to rate-coded IF neurons
(threshold balancing calibrated on the training split of ``--data``), for
chips that implement only spiking neurons.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from neurosim.cli.common import (
    add_network_argument,
    add_profile_options,
    add_spiking_options,
    console,
    dataset_from_args,
    network_from_args,
    print_json,
    profile_from_args,
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
        out["accuracy"] = float(np.mean(np.argmax(result.outputs, axis=1) == labels))
    if "host_packets" in result.info:
        out["host_packets"] = int(result.info["host_packets"])
    return out


def _warn_does_not_fit(mapped: Any, network: Any, args: argparse.Namespace) -> None:
    """One stderr line: the mapping breaks design rules, so chip figures are what-if figures."""
    import sys

    from neurosim.report.report import fit_reason

    hint = ""
    if (
        not args.spiking
        and any(v.rule == "check_neuron_model" for v in mapped.violations)
        and "if" in mapped.profile.get("neuron.models")
    ):
        hint = "; add --spiking to run a rate-coded IF conversion instead"
    print(
        f"neurosim: warning: {network.name} does not fit {mapped.profile.name} "
        f"({fit_reason(mapped.violations)}); simulated anyway{hint}",
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    from neurosim.mapping.mapper import map_network
    from neurosim.sim.simulate import simulate

    profile = profile_from_args(args)
    network = network_from_args(args)
    data = dataset_from_args(args, network)
    x, labels, data_name = data.x, data.y, data.name
    network = spiking_network_from_args(network, args)
    mapped = map_network(network, profile, seed=args.seed)
    if not mapped.fits:
        _warn_does_not_fit(mapped, network, args)
    options = {"target": args.target} if args.target else {}
    result = simulate(
        mapped,
        x,
        args.backend,
        n_steps=args.steps,
        seed=args.seed,
        encoding=args.encoding,
        progress=not args.no_progress and not args.json,
        options=options,
    )
    summary = {
        "network": network.name,
        "chip": profile.name,
        "data": data_name,
        "fits": mapped.fits,
        **summarise(result, labels),
    }
    if args.json:
        print_json(summary)
        return 0
    from rich.table import Table

    con = console()
    head = f"{network.name} on {profile.name} ({result.backend}): {result.n_inputs} inputs x {result.n_steps} steps"
    con.print(head)
    if "accuracy" in summary:
        con.print(f"accuracy: {summary['accuracy']:.4f}")
    con.print(
        f"outputs: mean {summary['outputs_mean']:.4g}, nonzero {summary['outputs_nonzero_fraction']:.2%}; "
        f"saturations {result.saturations}; wall time {result.wall_time_s:.3f} s"
    )
    if result.events:
        table = Table("event", "total")
        for k, v in summary["events"].items():
            table.add_row(k, f"{v:,}")
        con.print(table)
    return 0
