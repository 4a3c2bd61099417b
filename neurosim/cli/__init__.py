"""The ``neurosim`` command line: one module per subcommand.

:data:`COMMANDS` is the explicit registry: a subcommand name maps to the
module implementing it. Each module defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their command runs (except for building ``--help``), so ``neurosim chips``
starts fast.

Exit codes: 0 success; 2 bad input (a :class:`~neurosim.errors.NeurosimError`,
printed as one line on stderr, no traceback unless ``--debug``); 3 a valid
network that does not fit its chip.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from neurosim.errors import EXIT_BAD_INPUT, NeurosimError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, str] = {
    "chips": "neurosim.cli.chips",
    "generate": "neurosim.cli.generate",
    "convert": "neurosim.cli.convert",
    "map": "neurosim.cli.map",
    "simulate": "neurosim.cli.simulate",
    "compare": "neurosim.cli.compare",
    "sweep": "neurosim.cli.sweep",
    "train": "neurosim.cli.train",
    "run": "neurosim.cli.run",
    "faults": "neurosim.cli.faults",
}

_HELP: dict[str, str] = {
    "chips": "list chip profiles, or show one (chips show NAME)",
    "generate": "generate a network (radixnet, graph-challenge, exact, random, neurofabric)",
    "convert": "convert a network between .npz, NIR and Graph Challenge TSV",
    "map": "map a network onto a chip and report the fit",
    "simulate": "simulate a mapped network on inputs",
    "compare": "map, simulate and report one network on several chips",
    "sweep": "sweep hardware limits on one chip",
    "train": "train a network under hardware constraints (deep_r, conntra, sketch, ...)",
    "run": "run a scenario file",
    "faults": "fault injection on a mapped network: accuracy vs fault rate, and the crash bound",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the subcommand named in ``argv`` is imported."""
    parser = argparse.ArgumentParser(
        prog="neurosim",
        description="Map sparse and ternary networks onto neuromorphic chip profiles, "
        "simulate them, and report accuracy, memory, energy and latency.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None
    if argv is not None:
        wanted = next((a for a in argv if a in COMMANDS), None)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=_HELP[name], description=_HELP[name])
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks on errors",
        )
        if wanted is None or name == wanted:
            try:
                mod = import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                p.set_defaults(_missing=name)
                continue
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurosim`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    if getattr(args, "_missing", None):
        print(
            f"neurosim: error: command {args._missing!r} is not available in this build",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        return int(args._run(args) or 0)
    except NeurosimError as exc:
        if args.debug:
            raise
        print(f"neurosim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileExistsError as exc:
        if args.debug:
            raise
        print(
            f"neurosim: error: {exc}: already exists (pass --force to overwrite)", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
