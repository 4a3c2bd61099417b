"""``neurosim sweep NETWORK --chip C --set field=v1,v2 ... --out DIR``: a grid of hardware limits.

Every point of the cartesian product of the ``--set`` lists is mapped,
simulated and reported (see :func:`neurosim.sweep.run_sweep`) on a Dask
cluster: by default a local one (one process per core, ``--workers``), or
``--scheduler tcp://HOST:8786`` (or ``$DASK_SCHEDULER_ADDRESS``); ``--scheduler
serial`` runs here. ``DIR`` receives one JSON file per point (``points/``), written as each
point finishes, then
``sweep.csv``, ``sweep.json`` and ``sweep.png``. Rerunning the same command
computes only the points that are missing (an interrupted sweep resumes);
``--force`` recomputes them all. ``--spiking`` sweeps the rate-coded IF
conversion of a relu/linear network (calibrated on the training split of
``--data``) instead of the network itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["HELP", "add_arguments", "run"]

HELP = "sweep hardware limits on one chip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.cli.common import (
        add_execution_options,
        add_network_argument,
        add_set_option,
    )
    from neurosim.cli.compare import add_data_options

    add_network_argument(parser)
    parser.add_argument(
        "--chip", required=True, help="profile name (see `neurosim chips`) or a YAML path"
    )
    add_set_option(
        parser,
        "a swept profile field and its values, e.g. --set core.max_fan_in=64,128,256 (repeatable)",
        dest="grid",
        metavar="FIELD=V1,V2,...",
    )
    add_set_option(parser, "a profile override applied to every point (repeatable)", flag="--fix")
    add_data_options(parser)
    parser.add_argument("--out", required=True, help="output directory (created; reused to resume)")
    add_execution_options(parser)
    parser.add_argument("--force", action="store_true", help="recompute every point")
    parser.add_argument(
        "--json", action="store_true", help="print the sweep rows as JSON instead of a table"
    )


def _grid(args: argparse.Namespace) -> dict:
    from neurosim.sweep import SweepError, parse_grid

    try:
        return parse_grid(args.grid)
    except SweepError as exc:
        raise SweepError(f"--set: {exc}") from None


@contextmanager
def _progress(show_bar: bool) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """``(say, count)`` for run_sweep: a rich bar of finished points on a terminal, else lines."""
    from rich.console import Console

    err = Console(stderr=True)

    def say(line: str) -> None:
        if line.startswith("dask:") or not (show_bar and err.is_terminal):
            err.print(f"[dim]{line}[/dim]", highlight=False)

    if not (show_bar and err.is_terminal):
        yield say, lambda _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "points", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("points", total=None)
        yield say, lambda done, total: bar.update(task, completed=done, total=total)


def run(args: argparse.Namespace) -> int:
    from neurosim.cli.common import (
        console,
        dataset_from_args,
        execution_from_args,
        network_from_args,
        print_json,
        spiking_network_from_args,
    )
    from neurosim.hardware.profile import load_profile
    from neurosim.report.report import json_safe
    from neurosim.sweep import StoreMismatchError, run_sweep

    grid = _grid(args)
    execution = execution_from_args(args)
    profile = load_profile(args.chip, args.overrides)
    network = network_from_args(args)
    data = dataset_from_args(args, network)
    inputs, labels = (None, None) if data is None else (data.x, data.y)
    network = spiking_network_from_args(network, args)
    with _progress(not args.json) as (say, count):
        try:
            result = run_sweep(
                network,
                profile,
                grid,
                inputs=inputs,
                labels=labels,
                strategy=args.strategy,
                placement=args.placement,
                seed=args.seed,
                n_steps=args.steps,
                encoding=args.encoding,
                out_dir=args.out,
                execution=execution,
                force=args.force,
                progress=say,
                counter=count,
            )
        except StoreMismatchError as exc:
            raise StoreMismatchError(f"{exc}: pass --force, or another --out") from None
    if args.json:
        print_json(json_safe(result.to_dict()))
    else:
        out = console()
        out.print(result.table())
        out.print(
            f"{len(result.computed)} point(s) computed, {len(result.reused)} reused; wrote "
            + ", ".join(result.files.values()),
            highlight=False,
        )
    return 0
