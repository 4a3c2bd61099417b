"""Helpers shared by CLI subcommands: profile options, JSON output, rich console."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_profile_options", "console", "print_json", "profile_from_args"]


def add_profile_options(parser: argparse.ArgumentParser, *, chip_required: bool = True) -> None:
    """Add ``--chip NAME`` and repeatable ``--set section.field=value``."""
    parser.add_argument("--chip", required=chip_required, help="profile name (see `neurosim chips`) or a YAML path")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a profile field, e.g. --set core.max_fan_in=256 (repeatable)",
    )


def profile_from_args(args: argparse.Namespace):
    """Load the profile named by ``--chip`` with the ``--set`` overrides."""
    from neurosim.hardware.profile import load_profile

    return load_profile(args.chip, args.overrides)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def console():
    """A rich Console on stdout (imported lazily)."""
    from rich.console import Console

    return Console()
