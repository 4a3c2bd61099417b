"""``neurosim run SCENARIO``: run a scenario file end to end and write its results.

Writes into the output directory (default ``results/<scenario name>``)
``report.json``, ``report.md``, the plots, ``outputs.npz`` and
``resolved.yaml``. The directory appears only once complete; an existing one
is replaced only with ``--force``. Exit code 3 when the network fits none of
the chips (the results are still written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "run"]

HELP = "run a scenario file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.cli.common import add_set_option

    parser.add_argument("scenario", help="scenario YAML file (see docs/scenarios.md)")
    parser.add_argument("--out", help="output directory (default: results/<scenario name>)")
    parser.add_argument("--force", action="store_true", help="replace an existing output directory")
    add_set_option(
        parser,
        "override a scenario field, e.g. --set dataset.limit=100 or "
        "--set network.train.parameters.epochs=1 (repeatable)",
    )
    parser.add_argument(
        "--reduced",
        action="store_true",
        help="apply the scenario's own 'reduced' overrides first (its smoke-test size)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler for the scenario's sweep points and, when given, its simulations "
        "(row blocks): tcp://HOST:8786, 'local' or 'serial' (sets execution.scheduler)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run(args: argparse.Namespace) -> int:
    from neurosim.errors import ScenarioError
    from neurosim.scenario import load_scenario, run_scenario, write_results
    from neurosim.scenario.runner import count_steps

    overrides = list(args.overrides)
    if args.scheduler is not None:
        overrides.append(f"execution.scheduler={args.scheduler}")
    scenario = load_scenario(args.scenario, overrides, reduced=args.reduced)
    if getattr(scenario, "faults", None) is not None and not args.quiet:
        print(
            f"neurosim: note: {scenario.name} has a faults: section; `neurosim run` runs its "
            f"fault-free comparison; the campaign runs with `neurosim faults --scenario {args.scenario}`",
            file=sys.stderr,
        )
    out = Path(args.out) if args.out else Path("results") / scenario.name
    if out.exists() and not args.force:
        raise ScenarioError(f"{out}: output directory already exists (pass --force to replace it)")
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"{out}: exists and is not a directory")

    from rich.console import Console

    err = Console(stderr=True)
    # a bar only on a terminal: on a pipe its last frame would stay before an error line
    show = not (args.no_progress or args.quiet) and err.is_terminal
    notes = _notes_once(err, args.quiet)
    if show:
        result = _run_with_bar(scenario, err, notes)
    else:
        result = run_scenario(scenario, notes=notes)
        if not (args.no_progress or args.quiet):  # a pipe: one line once finished, none before
            err.print(f"{scenario.name}: done ({count_steps(scenario)} steps)", highlight=False)
    written = write_results(result, out, force=args.force)
    if not args.quiet:
        out_console = Console(file=sys.stdout)
        for renderable in result.summary_tables():
            out_console.print(renderable)
        out_console.print(f"results written to {written}")
    if not any(rep.fits for rep in result.reports.values()):
        from neurosim.errors import EXIT_DOES_NOT_FIT

        return EXIT_DOES_NOT_FIT  # the results are written; the reports say why
    return 0


def _notes_once(err: Any, quiet: bool) -> Callable[[str], None]:
    """Lines that are not steps (the Dask scheduler and dashboard line) on stderr, each once.

    The sweep and the simulations of one scenario may connect to the same
    scheduler; its line is printed the first time only.
    """
    from rich.text import Text

    seen: set[str] = set()

    def note(line: str) -> None:
        if quiet or line in seen:
            return
        seen.add(line)
        err.print(Text(line, style="dim"))

    return note


def _run_with_bar(scenario: Any, err: Any, notes: Callable[[str], None]) -> Any:
    """``run_scenario`` with a rich bar of its steps (:func:`count_steps` of them)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from neurosim.scenario import run_scenario
    from neurosim.scenario.runner import count_steps

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    total = count_steps(scenario)
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(f"{scenario.name}: starting", total=total)
        started = [0]

        def step(description: str) -> None:
            # one call per step: the bar shows how many steps are finished
            done = min(started[0], total - 1)
            started[0] += 1
            bar.update(task, completed=done, description=f"{scenario.name}: {description}")

        result = run_scenario(scenario, progress=step, notes=notes)
        bar.update(task, completed=total, description=f"{scenario.name}: done")
    return result
