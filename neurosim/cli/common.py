"""Helpers shared by CLI subcommands: profile and spiking options, JSON output, rich console."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = [
    "add_execution_options",
    "add_network_argument",
    "add_nir_import_options",
    "add_profile_options",
    "add_run_as_option",
    "add_set_option",
    "add_spiking_options",
    "refused_neurons_but_offers",
    "calibration_from_args",
    "check_spiking_args",
    "console",
    "dataset_from_args",
    "execution_from_args",
    "network_from_args",
    "nir_options_from_args",
    "print_json",
    "profile_from_args",
    "spiking_network_from_args",
    "warn_nir_dt",
]


def add_network_argument(parser: argparse.ArgumentParser) -> None:
    """Add the positional ``NETWORK`` and ``--format`` (read by :func:`network_from_args`)."""
    parser.add_argument(
        "network",
        help="network file or directory (any format `neurosim convert` reads: .npz, .nir, "
        "Graph Challenge directory)",
    )
    parser.add_argument(
        "--format",
        dest="network_format",
        default=None,
        help="network format (default: from the path)",
    )
    add_nir_import_options(parser)


def network_from_args(args: argparse.Namespace):
    """Load the network named by ``NETWORK`` (and ``--format``, and the NIR import options)."""
    from neurosim.io.formats import detect_format, load_network

    fmt = args.network_format or detect_format(args.network)
    network = load_network(args.network, fmt, **nir_options_from_args(args, fmt, args.network))
    warn_nir_dt(network, args, announce=fmt == "nir")
    return network


#: ``--source`` choices (neurosim.io.nirio.dialects.SOURCES, kept here for a fast start-up)
NIR_SOURCES = ("auto", "snntorch", "norse", "sinabs", "lava", "nir", "neurosim")


def add_nir_import_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--source``, ``--nir-dt``, ``--reset`` and ``--no-fold`` (NIR input only)."""
    group = parser.add_argument_group(
        "NIR import", "How to read a .nir file written by another library (docs/formats.md)."
    )
    group.add_argument(
        "--source",
        choices=NIR_SOURCES,
        default=None,
        help="library that wrote the .nir file (default auto: recognised from its fingerprints, "
        "and said in one line on stderr)",
    )
    group.add_argument(
        "--nir-dt",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time step the network was trained with (default the exporter's: snnTorch 1e-4, Norse 1e-3)",
    )
    group.add_argument(
        "--reset",
        choices=("subtract", "zero"),
        default=None,
        help="reset of every spiking neuron (default the exporter's: subtract for snnTorch and sinabs)",
    )
    group.add_argument(
        "--no-fold",
        action="store_true",
        help="keep a weight node that feeds another as its own linear population "
        "(default: fold chains of linear nodes between neuron layers into one projection)",
    )


def nir_options_from_args(args: argparse.Namespace, fmt: str, path: Any) -> dict[str, Any]:
    """The ``read_nir`` options of the NIR flags (refused for other formats)."""
    from neurosim.errors import NeurosimError

    given = {
        "--source": getattr(args, "source", None),
        "--nir-dt": getattr(args, "nir_dt", None),
        "--reset": getattr(args, "reset", None),
        "--no-fold": getattr(args, "no_fold", False) or None,
    }
    if fmt != "nir":
        for flag, value in given.items():
            if value is not None:
                raise NeurosimError(f"{flag}: applies to NIR input only; {path} is {fmt}")
        return {}
    dt = given["--nir-dt"]
    if dt is not None and not 0 < dt <= 10:
        raise NeurosimError(f"--nir-dt {dt:g}: expected the network's time step in (0, 10] seconds")
    return {
        "source": given["--source"],
        "dt_s": dt,
        "reset": given["--reset"],
        "fold": not given["--no-fold"],
    }


def warn_nir_dt(network: Any, args: argparse.Namespace, announce: bool = True) -> None:
    """Print what a NIR import assumed (``announce``), and warn when the chip steps at another dt."""
    from neurosim.io.nir_format import import_summary, network_dt_s

    line = import_summary(network)
    if line is None:
        return
    if announce:
        print(f"neurosim: NIR import: {line}", file=sys.stderr)
    dt = network_dt_s(network)
    if dt is None or not getattr(args, "chip", None):
        return
    step = profile_from_args(args).get("chip.timestep_s") or 1e-3
    if abs(step - dt) > 1e-9 * dt:
        print(
            f"neurosim: warning: {network.name} was trained with dt = {dt * 1e3:g} ms; the chip steps "
            f"{float(step) * 1e3:g} ms, so its time constants act {float(step) / dt:.3g}x faster; add "
            f"--set chip.timestep_s={dt:g} to simulate at the network's dt",
            file=sys.stderr,
        )


def dataset_from_args(args: argparse.Namespace, network):
    """The dataset named by ``--data`` (``None`` without it), checked against the network's inputs.

    Reads ``--data``, ``--data-path``, ``--limit``, ``--seed`` and ``--split``
    (``test`` when the command has no ``--split``).
    """
    from neurosim.errors import DataError
    from neurosim.io.datasets import load_dataset

    if not args.data:
        if args.limit is not None:
            raise DataError("--limit: given without --data; name the inputs to simulate")
        return None
    data = load_dataset(
        args.data,
        path=args.data_path,
        split=getattr(args, "split", "test"),
        limit=args.limit,
        seed=args.seed,
    )
    _check_width(network, data, f"--data {args.data}: samples have")
    return data


def _check_width(network: Any, data: Any, what: str) -> None:
    """Raise DataError unless ``data`` has one feature per input neuron; ``what`` starts the message."""
    from neurosim.errors import DataError

    n_in = sum(network.population(p).size for p in network.inputs)
    if data.x.shape[1] != n_in:
        raise DataError(
            f"{what} {data.x.shape[1]} features; network {network.name} expects {n_in} inputs"
        )


def add_set_option(
    parser: argparse.ArgumentParser,
    help: str,
    *,
    flag: str = "--set",
    dest: str = "overrides",
    metavar: str = "FIELD=VALUE",
) -> None:
    """Add a repeatable ``FIELD=VALUE`` option (``--set`` by default) collected in a list."""
    parser.add_argument(flag, dest=dest, action="append", default=[], metavar=metavar, help=help)


def add_profile_options(parser: argparse.ArgumentParser, *, chip_required: bool = True) -> None:
    """Add ``--chip NAME`` and repeatable ``--set section.field=value``."""
    parser.add_argument(
        "--chip", required=chip_required, help="profile name (see `neurosim chips`) or a YAML path"
    )
    add_set_option(parser, "override a profile field, e.g. --set core.max_fan_in=256 (repeatable)")


def profile_from_args(args: argparse.Namespace):
    """Load the profile named by ``--chip`` with the ``--set`` overrides."""
    from neurosim.hardware.profile import load_profile

    return load_profile(args.chip, args.overrides)


def _spiking_defaults() -> tuple[float, int]:
    """``(percentile, calibration)`` defaults of a scenario's ``network.spiking``.

    Read from :mod:`neurosim.sim.conversion` (the scenario schema's defaults are the
    same; a test checks it), not from the schema: that would load pydantic's
    scenario models on every ``simulate``/``map`` start.
    """
    from neurosim.sim.conversion import DEFAULT_CALIBRATION, DEFAULT_PERCENTILE

    return float(DEFAULT_PERCENTILE), int(DEFAULT_CALIBRATION)


def add_run_as_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--run-as {network,rates}`` (:attr:`neurosim.evaluate.EvalOptions.run_as`)."""
    from neurosim.evaluate import RUN_AS

    parser.add_argument(
        "--run-as",
        default="network",
        choices=list(RUN_AS),
        help="rates: run the rate-equivalent graded network of a rate-coded IF network (IF "
        "neurons as ReLU capped at 1, weights scaled by r / threshold), for chips whose "
        "neurons are graded (akida); outputs are rates (default network: as given)",
    )


def refused_neurons_but_offers(profile: Any, violations: Any, kind: str) -> bool:
    """The chip refused the network's neuron model (``check_neuron_model``) but implements ``kind``.

    Where a conversion option (``--spiking``: to ``if``; ``--run-as rates``:
    to ``relu``) would let the network run.
    """
    return kind in profile.get("neuron.models") and any(
        v.rule == "check_neuron_model" for v in violations
    )


def add_spiking_options(parser: argparse.ArgumentParser, *, simulates: bool = True) -> None:
    """Add ``--spiking``, ``--percentile P`` and ``--calibration N`` (a ReLU->IF conversion).

    The same conversion as a scenario's ``network.spiking`` (same defaults):
    :func:`neurosim.sim.conversion.convert_to_spiking`, calibrated on the
    first ``N`` samples of the *training* split of ``--data``. ``simulates``:
    the command simulates (its help then names the spiking default of steps).
    """
    percentile, calibration = _spiking_defaults()
    text = (
        "For chips that implement only spiking neurons (lif/if: loihi, truenorth, spinnaker, "
        "...). The relu/linear populations become rate-coded IF neurons (threshold 1, reset "
        "by subtraction) with data-based threshold balancing; outputs are spike counts. "
        "Calibration reads the first N samples of the TRAINING split of --data (the split "
        "--seed draws for digits/iris and .npz files with only x, the official one for mnist "
        "and x_train/x_test .npz files), never the test split that is evaluated by default."
    )
    if simulates:
        text += " Spiking networks are simulated for 100 time steps unless --steps says otherwise."
    group = parser.add_argument_group("spiking conversion", text)
    group.add_argument(
        "--spiking",
        action="store_true",
        help="convert relu/linear populations to rate-coded IF neurons by threshold balancing "
        "(needs --data for calibration)",
    )
    group.add_argument(
        "--percentile",
        type=float,
        default=None,
        metavar="P",
        help=f"percentile (0-100] of each layer's positive calibration activations taken as "
        f"its maximum rate (default {percentile:g})",
    )
    group.add_argument(
        "--calibration",
        type=int,
        default=None,
        metavar="N",
        help=f"calibration samples from the training split of --data (default {calibration})",
    )


def check_spiking_args(args: argparse.Namespace) -> None:
    """Refuse ``--percentile``/``--calibration`` without ``--spiking``, or out of range.

    Raises
    ------
    NeurosimError
        One line naming the option and what was expected.
    """
    from neurosim.errors import NeurosimError

    if not args.spiking:
        for opt in ("percentile", "calibration"):
            if getattr(args, opt) is not None:
                raise NeurosimError(f"--{opt}: only used with --spiking; pass --spiking or drop it")
        return
    if args.percentile is not None and not 0 < args.percentile <= 100:
        raise NeurosimError(f"--percentile {args.percentile:g}: expected a value in (0, 100]")
    if args.calibration is not None and args.calibration < 1:
        raise NeurosimError(
            f"--calibration {args.calibration}: expected a positive number of samples"
        )


def calibration_from_args(args: argparse.Namespace, network: Any) -> Any:
    """The calibration inputs of ``--spiking``: the first N samples of the training split of ``--data``.

    Reads ``args.data``, ``args.data_path``, ``args.seed`` (the train/test
    split of sets without an official one, as ``--split test`` uses) and
    ``args.calibration``.

    Returns
    -------
    Dataset
        ``x`` of shape ``(N, n_in)``.

    Raises
    ------
    DataError
        No ``--data``, no training split, or samples of the wrong size.
    """
    from neurosim.errors import DataError
    from neurosim.io.datasets import load_dataset

    if not getattr(args, "data", None):
        raise DataError(
            "--spiking: needs --data NAME|FILE.npz to calibrate the conversion "
            "(the first samples of its training split set each layer's threshold)"
        )
    limit = args.calibration if args.calibration is not None else _spiking_defaults()[1]
    try:
        data = load_dataset(
            args.data, path=args.data_path, split="train", limit=limit, seed=args.seed
        )
    except DataError as exc:
        raise DataError(
            f"--spiking: calibration from the training split of --data {args.data}: {exc}"
        ) from None
    _check_width(network, data, f"--spiking: calibration data {data.name} has")
    return data


def spiking_network_from_args(
    network: Any, args: argparse.Namespace, calibration_inputs: Any = None
) -> Any:
    """``network`` itself, or with ``--spiking`` its rate-coded IF conversion.

    Calls :func:`neurosim.sim.conversion.convert_to_spiking` as a scenario's
    ``network.spiking`` does. The converted network's ``metadata["conversion"]``
    also records the calibration data and sample count. Prints one line on
    stderr saying what was converted.

    Parameters
    ----------
    network : Network
        A feed-forward network of relu/linear populations (with ``--spiking``).
    args : argparse.Namespace
        Parsed options of :func:`add_spiking_options` (and ``--data``,
        ``--data-path``, ``--seed``).
    calibration_inputs : Dataset or ndarray, optional
        Calibration inputs; default :func:`calibration_from_args`.

    Returns
    -------
    Network

    Raises
    ------
    NeurosimError
        Bad options, no calibration data, or a network that is not relu/linear.
    """
    import numpy as np

    from neurosim.errors import NeurosimError
    from neurosim.sim.conversion import convert_to_spiking

    check_spiking_args(args)
    if not args.spiking:
        return network
    if calibration_inputs is None:
        calibration_inputs = calibration_from_args(args, network)
    name = getattr(calibration_inputs, "name", "given inputs")
    x = np.asarray(getattr(calibration_inputs, "x", calibration_inputs), dtype=np.float64)
    percentile = args.percentile if args.percentile is not None else _spiking_defaults()[0]
    try:
        conv = convert_to_spiking(network, x, percentile=percentile)
    except NeurosimError as exc:
        raise type(exc)(f"--spiking: {exc}") from None
    meta = dict(conv.network.metadata)
    meta["conversion"] = {
        **meta.get("conversion", {}),
        "calibration_data": name,
        "calibration_samples": int(x.shape[0]),
    }
    converted = sum(1 for p in network.populations if p.model.kind != "input")
    print(
        f"neurosim: --spiking: {converted} population(s) of {network.name} converted to IF "
        f"neurons, balanced at the {percentile:g}th percentile of {x.shape[0]} samples of {name}",
        file=sys.stderr,
    )
    return conv.network.replace(metadata=meta)


def add_execution_options(
    parser: argparse.ArgumentParser, *, default: str = "local", points: bool = True
) -> None:
    """Add ``--scheduler``, ``--workers`` and (``points``: commands that run many points)
    ``--points-per-task``; read by :func:`execution_from_args`."""
    where = {
        "local": "default: $DASK_SCHEDULER_ADDRESS, else a local cluster of one process per core",
        "serial": "default: this process",
    }[default]
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help=f"Dask scheduler to run on: tcp://HOST:8786, 'local' or 'serial' ({where})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of the local cluster (default: one per core)",
    )
    if not points:
        return
    parser.add_argument(
        "--points-per-task",
        type=int,
        default=None,
        metavar="N",
        help="consecutive points one Dask task runs; each point's result still comes back "
        "as it ends (default: about eight tasks per worker thread, at most 8 points each)",
    )


def execution_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~neurosim.execute.Execution` of ``--scheduler``, ``--workers`` and ``--points-per-task``."""
    from neurosim.errors import NeurosimError
    from neurosim.execute import Execution

    try:
        return Execution(
            args.scheduler, args.workers, points_per_task=getattr(args, "points_per_task", None)
        )
    except NeurosimError as exc:
        raise type(exc)(f"--scheduler/--workers/--points-per-task: {exc}") from None


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (numpy values as Python ones)."""
    from neurosim.util.jsonable import json_default  # numpy: not at start-up

    json.dump(data, sys.stdout, indent=2, default=json_default)
    sys.stdout.write("\n")


def console():
    """A rich Console on stdout (imported lazily)."""
    from rich.console import Console

    return Console()
