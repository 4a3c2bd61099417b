"""``neurosim train METHOD --data NAME --out FILE``: hardware-aware training.

Trains a fully connected network with one of the registered methods
(:data:`~neurosim.train.registry.TRAINING_METHODS`), prints train and test
accuracy, the connection count and the wall time, and saves the network
(``.npz``; NIR 1.0 has no ReLU node, so a graded network cannot be written
as ``.nir``). Method options are
passed only when given; an option the method does not take is an error.
``OUT`` is never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from neurosim.cli.common import add_profile_options, console, print_json
from neurosim.errors import TrainingError

__all__ = ["HELP", "add_arguments", "collect_options", "run"]

HELP = "train a network under hardware constraints (deep_r, conntra, sketch, ...)"


def _floats(text: str) -> float | tuple[float, ...]:
    vals = tuple(float(v) for v in text.split(","))
    return vals[0] if len(vals) == 1 else vals


def _ints(text: str) -> int | tuple[int, ...]:
    vals = tuple(int(v) for v in text.split(","))
    return vals[0] if len(vals) == 1 else vals


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def _csv_type(parse, what: str):
    def convert(text: str):
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}") from None

    return convert


#: how a flag's value is read, by the option's ``kind`` (:func:`neurosim.train.options.option`)
_PARSERS: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "flag": bool,
    "floats": _csv_type(_floats, "fractions"),
    "ints": _csv_type(_ints, "counts"),
    "layers": str,
    "network": str,
}


def _option_rows() -> tuple[tuple[str, str, str, str, str], ...]:
    """``(group, flag, option, kind, help)`` of every option of every registered method.

    Built from the options classes (:mod:`neurosim.train.options`): the shared
    groups first, then each method's own fields, each option once.
    """
    from neurosim.train import options as opt
    from neurosim.train.registry import TRAINING_METHODS, get_method

    shared = [opt.TrainOptions, opt.OptimizerOptions, opt.WeightDecayOptions]
    shared += [opt.BudgetOptions, opt.ChipTrainingOptions, opt.InitOptions]
    own = [opt.options_type(get_method(m)) for m in TRAINING_METHODS]
    classes = shared + [c for c in own if c is not None]
    return tuple(
        (group, "--" + name.replace("_", "-"), name, kind, help_text)
        for group, name, kind, help_text in opt.cli_fields(classes)
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.train.registry import TRAINING_METHODS

    parser.add_argument("method", choices=list(TRAINING_METHODS), help="training method")
    parser.add_argument(
        "--data", required=True, help="dataset: mnist, digits, iris, or a .npz dataset file"
    )
    parser.add_argument(
        "--data-path", default=None, help="datasets folder for mnist (default $NEUROSIM_DATA)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N training samples"
    )
    parser.add_argument(
        "--test-limit", type=int, default=None, help="use only the first N test samples"
    )
    parser.add_argument(
        "--data-seed", type=int, default=0, help="seed of the train/test split of iris/digits"
    )
    parser.add_argument(
        "--hidden",
        type=_csv_type(_int_list, "comma-separated sizes, e.g. 300,100"),
        default=(300, 100),
        help="hidden layer sizes (default 300,100; '' for none)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    parser.add_argument("--out", required=True, help="where to save the network (.npz)")
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on when stdout is a terminal)",
    )
    from neurosim.train.options import BudgetOptions

    groups: dict[str, Any] = {}
    for group, flag, key, kind, help_text in _option_rows():
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
            if group == BudgetOptions.group:  # --chip and --set
                add_profile_options(groups[group], chip_required=False)
        g = groups[group]
        if kind == "flag":
            g.add_argument(
                flag, dest="opt_" + key, action="store_const", const=True, help=help_text
            )
        else:
            g.add_argument(
                flag,
                dest="opt_" + key,
                type=_PARSERS[kind],
                default=None,
                metavar=key.upper(),
                help=help_text,
            )


def collect_options(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """The method options given on the command line, checked against the method."""
    from neurosim.train.registry import method_options

    allowed = set(method_options(method))
    given: dict[str, Any] = {}
    for _, flag, key, kind, _ in _option_rows():
        value = getattr(args, "opt_" + key, None)
        if value is None:
            continue
        if key not in allowed:
            raise TrainingError(f"option {flag} does not apply to method {method}")
        given[key] = _read(flag, kind, value)
    if getattr(args, "chip", None):
        if "chip" not in allowed:
            raise TrainingError(f"option --chip does not apply to method {method}")
        given["chip"] = args.chip
        given["chip_overrides"] = tuple(args.overrides)
    elif getattr(args, "overrides", None):
        raise TrainingError("--set needs --chip (the profile whose fields it overrides)")
    return given


def _read(flag: str, kind: str, value: Any) -> Any:
    """A flag's value as the method takes it: layer indices parsed, a network loaded."""
    if kind == "network":
        from neurosim.io.formats import load_network

        return load_network(value)
    if kind == "layers" and value not in ("auto", "all"):
        try:
            return _int_list(value)
        except ValueError:
            raise TrainingError(
                f"{flag} {value!r}: expected auto, all or indices like 0,1"
            ) from None
    return value


def run(args: argparse.Namespace) -> int:
    from neurosim.io.datasets import load_dataset
    from neurosim.io.formats import save_network
    from neurosim.train.core import network_accuracy
    from neurosim.train.registry import train_network

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(str(out))
    from neurosim.io.formats import detect_format

    if detect_format(out) != "npz":
        raise TrainingError(
            f"--out {out}: trained networks have ReLU hidden layers, which only .npz stores "
            "(NIR 1.0 has no ReLU node); save as .npz"
        )
    options = collect_options(args, args.method)
    progress = sys.stdout.isatty() if args.progress is None else args.progress
    options["progress"] = bool(progress and not args.json)
    t_load = time.perf_counter()
    train = load_dataset(
        args.data, path=args.data_path, split="train", limit=args.limit, seed=args.data_seed
    )
    test = load_dataset(
        args.data, path=args.data_path, split="test", limit=args.test_limit, seed=args.data_seed
    )
    load_s = time.perf_counter() - t_load
    result = train_network(args.method, train, hidden=tuple(args.hidden), seed=args.seed, **options)
    test_acc = network_accuracy(result.network, test.x, test.y) if test.y is not None else None
    meta = dict(result.network.metadata)
    meta["training"] = {
        **meta.get("training", {}),
        "test_accuracy": test_acc,
        "test_data": test.name,
    }
    network = result.network.replace(metadata=meta)
    save_network(network, out)
    steps_curve = _accuracy_vs_steps(result, train, test)
    summary = {
        **result.summary(),
        "test_accuracy": test_acc,
        "data": args.data,
        "n_train": len(train),
        "n_test": len(test),
        "hidden": list(args.hidden),
        "seed": args.seed,
        "load_time_s": load_s,
        "out": str(out),
        "info": dict(result.info),
    }
    if steps_curve is not None:
        summary["accuracy_vs_steps"] = steps_curve
    if args.json:
        print_json(summary)
        return 0
    _print(summary)
    return 0


def _accuracy_vs_steps(result: Any, train: Any, test: Any) -> dict[str, float] | None:
    """Test accuracy of the converted IF network at T/4, T/2, T and 2T steps (spiking chips)."""
    chip = result.info.get("chip")
    if not isinstance(chip, dict) or not chip.get("spiking") or test.y is None:
        return None
    from neurosim.sim.conversion import accuracy_vs_steps, convert_to_spiking

    snn = convert_to_spiking(result.network, train.x[:256], percentile=100.0).network
    t = int(chip["steps"])
    grid = sorted({max(1, t // 4), max(1, t // 2), t, 2 * t})
    acc = accuracy_vs_steps(snn, test.x, test.y, grid)
    return {str(k): v for k, v in acc.items()}


def _print(s: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(
        title=f"neurosim train {s['method']} on {s['data']} ({s['n_train']} train / {s['n_test']} test)"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
    table.add_row("train accuracy", pct(s["train_accuracy"]))
    table.add_row("validation accuracy", pct(s["val_accuracy"]))
    table.add_row("test accuracy", pct(s["test_accuracy"]))
    table.add_row(
        "connections",
        f"{s['n_connections']:,} of {s['n_possible']:,} ({100 * s['connectivity']:.2f}%)",
    )
    if s["n_parameters"] != s["n_connections"]:
        table.add_row("trained parameters", f"{s['n_parameters']:,}")
    info = s["info"]
    if info.get("max_fan_in") is not None:
        cap = info.get("fan_in_cap")
        table.add_row("largest fan-in", f"{info['max_fan_in']}" + (f" (cap {cap})" if cap else ""))
    if "parameter_reduction" in info:
        table.add_row("parameter reduction", f"{info['parameter_reduction']:.2f}x")
    if "memory" in info:
        m = info["memory"]
        table.add_row(
            "weight memory",
            f"{m['ternary_bits']:,} bits ternary vs {m['float64_bits']:,} float64 "
            f"({m['saving_vs_float64']:.1f}x)",
        )
    if isinstance(info.get("chip"), dict):
        c = info["chip"]
        table.add_row(
            "trained for chip",
            f"{c['chip']}: {c['weight_kind']} {c['weight_bits']}-bit {c['weight_scale']}"
            + (f", {c['n_axon_types']} axon types" if c["n_axon_types"] else "")
            + (f", fan-in <= {c['fan_in_per_neuron']}" if c["fan_in_per_neuron"] else "")
            + (f", IF rate code {c['steps']} steps" if c["spiking"] else ", graded"),
        )
        if info.get("float_val_accuracy") is not None:
            table.add_row("validation accuracy before chip epochs", pct(info["float_val_accuracy"]))
    for t, a in (s.get("accuracy_vs_steps") or {}).items():
        table.add_row(f"test accuracy, IF network at {t} steps", pct(a))
    table.add_row("epochs run", str(s["epochs_run"]))
    table.add_row("wall time", f"{s['wall_time_s']:.1f} s")
    table.add_row("saved to", s["out"])
    console().print(table)
