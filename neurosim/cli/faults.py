"""``neurosim faults NETWORK --chip C --data D --fault KIND=RATE[,RATE...] --trials N``.

Monte Carlo fault injection on the mapped network: for every chip, fault
kind and rate, ``--trials`` faulty chips (seeds ``--seed``, ``--seed + 1``,
...) run on the chip backend; the report gives accuracy (mean, 95 %
interval), the measured output error beside the El Mhamdi et al. bound, and
with ``--spread STRATEGY`` the accuracy under core failure of a second
partition strategy with its extra cores and energy. Writes faults.json,
faults.md and accuracy_vs_rate.png (and spread.png) into ``--out``.
``--scenario FILE`` takes everything from a scenario's ``faults:`` section.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "run"]

HELP = "fault injection on a mapped network: accuracy vs fault rate, and the crash bound"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, chips, faults and mitigation options."""
    from neurosim.faults.spec import FAULT_KINDS

    parser.add_argument(
        "network",
        nargs="?",
        default=None,
        help="network file (any format `neurosim convert` reads)",
    )
    parser.add_argument(
        "--format",
        dest="network_format",
        default=None,
        help="network format (default: from the path)",
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help="a scenario file with a faults: section (instead of NETWORK)",
    )
    parser.add_argument(
        "--reduced", action="store_true", help="with --scenario: its reduced (smoke-test) size"
    )
    parser.add_argument("--chip", action="append", default=[], help="chip profile (repeatable)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE[,RATE...]",
        help=f"fault kind and rates (repeatable); kinds: {', '.join(FAULT_KINDS)}; "
        "mismatch rates may be 'chip' (the profile's sigma)",
    )
    parser.add_argument(
        "--trials", type=int, default=5, help="faulty chips per kind and rate (default 5)"
    )
    parser.add_argument(
        "--strategy", default="sequential", help="partition strategy (default sequential)"
    )
    parser.add_argument(
        "--spread",
        action="append",
        default=[],
        metavar="STRATEGY",
        help="also run core_failure with this partition strategy (e.g. spread) for the mitigation table",
    )
    parser.add_argument(
        "--placement",
        default=None,
        help="core placement: row_major, hilbert or annealed (default: the mapper's, annealed)",
    )
    parser.add_argument(
        "--redundant",
        type=int,
        default=1,
        metavar="K",
        help="copy every hidden neuron K times (outgoing weights / K) before mapping (default 1: none)",
    )
    _add_data_arguments(parser)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Inputs, simulation, output and execution options."""
    from neurosim.cli.common import add_execution_options, add_spiking_options

    parser.add_argument("--no-bound", action="store_true", help="skip the measured-vs-bound table")
    parser.add_argument(
        "--data",
        default="digits",
        help="digits, iris, mnist or a .npz (default digits; test split)",
    )
    parser.add_argument(
        "--data-path", default=None, help="datasets folder for mnist (default $NEUROSIM_DATA)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N inputs")
    parser.add_argument(
        "--steps", type=int, default=None, help="time steps (default 1 graded, 100 spiking)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the first trial and of mapping (default 0)"
    )
    add_spiking_options(parser)
    add_execution_options(parser, default="serial")
    parser.add_argument(
        "--out", default=None, help="output folder (default results/faults/<network>)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing report")


def _say(line: str) -> None:
    print(f"neurosim: {line}", file=sys.stderr)


def _check(args: argparse.Namespace) -> list[Any]:
    """Fault specs, trials and the network/scenario choice, before any work."""
    from neurosim.errors import FaultError
    from neurosim.faults.spec import parse_fault_args

    if args.redundant < 1:
        raise FaultError(f"--redundant: expected a positive integer, got {args.redundant}")
    if args.trials < 1:
        raise FaultError(f"--trials: expected a positive integer, got {args.trials}")
    if args.scenario is not None and (args.network or args.chip or args.fault):
        raise FaultError(
            "--scenario: takes the network, chips and faults from the file; "
            "expected no NETWORK, --chip or --fault with it"
        )
    if args.scenario is None and args.network is None:
        raise FaultError("expected NETWORK or --scenario FILE")
    if args.scenario is None and not args.chip:
        raise FaultError("--chip: expected at least one chip profile")
    if args.scenario is None and not args.fault:
        raise FaultError("--fault: expected at least one KIND=RATE[,RATE...]")
    try:
        return parse_fault_args(args.fault)
    except FaultError as exc:
        raise FaultError(f"--fault: {exc}") from None


def _out_dir(args: argparse.Namespace, name: str) -> Path:
    out = Path(args.out) if args.out else Path("results") / "faults" / name
    if (out / "faults.json").exists() and not args.force:
        raise FileExistsError(str(out / "faults.json"))
    return out


def _from_args(args: argparse.Namespace, specs: list[Any]) -> dict[str, Any]:
    from neurosim.cli.common import dataset_from_args, network_from_args, spiking_network_from_args
    from neurosim.faults.spec import check_for_profile
    from neurosim.hardware.profile import load_profile

    profiles = [load_profile(c) for c in args.chip]
    for p in profiles:
        for s in specs:
            check_for_profile(s, p)
    graded = network_from_args(args)
    data = dataset_from_args(args, graded)
    network = spiking_network_from_args(graded, args)
    return {
        "network": network,
        "bound_network": graded,
        "profiles": profiles,
        "x": data.x,
        "y": data.y,
        "specs": specs,
        "trials": args.trials,
        "seed": args.seed,
        "n_steps": args.steps,
        "strategy": args.strategy,
        "spread": args.spread,
        "bound": not args.no_bound,
        "strict": True,
        "map_options": {"placement": args.placement} if args.placement else {},
    }


def run(args: argparse.Namespace) -> int:
    from neurosim.cli.common import execution_from_args
    from neurosim.faults.render import to_markdown, write_study
    from neurosim.faults.study import run_study

    specs = _check(args)
    if args.scenario is not None:
        from neurosim.faults.scenario import study_inputs

        inputs = study_inputs(args.scenario, reduced=args.reduced, say=_say)
    else:
        inputs = _from_args(args, specs)
    out = _out_dir(args, inputs.pop("name", None) or inputs["network"].name)
    if args.redundant != 1:
        from neurosim.faults.mitigate import replicate_hidden

        inputs["network"] = replicate_hidden(inputs["network"], args.redundant)
    if args.scheduler is None:
        args.scheduler = "serial"  # trials are small: a cluster only on request
    execution = execution_from_args(args)
    study = run_study(**inputs, execution=execution, say=_say)
    command = "neurosim faults " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    paths = write_study(study, out, command)
    print(to_markdown(study, command))
    _say("wrote " + ", ".join(str(p) for p in paths))
    return 0
