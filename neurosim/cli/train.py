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


_TRAIN = "training options (passed to the method when given)"
_BUDGET = "budgets and chip limits (deep_r, prune)"
_CHIP = "training for a chip (dense, deep_r with --chip: the profile gives the constraints)"

#: (group, flag, method keyword, value parser, help) of every method option
_OPTIONS: tuple[tuple[str, str, str, Any, str], ...] = (
    (_TRAIN, "--epochs", "epochs", int, "epochs (or sweeps)"),
    (_TRAIN, "--batch-size", "batch_size", int, "minibatch size"),
    (_TRAIN, "--lr", "lr", float, "learning rate"),
    (_TRAIN, "--optimizer", "optimizer", str, "sgd or adam"),
    (_TRAIN, "--momentum", "momentum", float, "SGD momentum"),
    (_TRAIN, "--lr-schedule", "lr_schedule", str, "constant or cosine (deep_r)"),
    (_TRAIN, "--weight-decay", "weight_decay", float, "L2 weight decay (dense)"),
    (_TRAIN, "--val-fraction", "val_fraction", float, "held-out validation fraction"),
    (
        _TRAIN,
        "--patience",
        "patience",
        int,
        "early stopping after N epochs without a better validation accuracy",
    ),
    (
        _BUDGET,
        "--connectivity",
        "connectivity",
        _csv_type(_floats, "fractions"),
        "fraction of connections kept, one or one per layer (e.g. 0.01,0.03,0.3)",
    ),
    (
        _BUDGET,
        "--n-connections",
        "n_connections",
        _csv_type(_ints, "counts"),
        "exact connection budget, one or one per layer (e.g. 2352,900,300)",
    ),
    (_BUDGET, "--budget", "budget", str, "per_layer or global (deep_r)"),
    (_BUDGET, "--fan-in-cap", "fan_in_cap", int, "at most N inputs per neuron"),
    (_CHIP, "--chip-epochs", "chip_epochs", int, "epochs through the chip's quantizer (--chip)"),
    (_CHIP, "--chip-lr", "chip_lr", float, "learning rate of the chip-aware epochs"),
    (_CHIP, "--steps", "steps", int, "time steps of the IF rate code on spiking chips (32)"),
    (
        _CHIP,
        "--spiking",
        "spiking",
        bool,
        "train through the IF rate code even on a chip with ReLU",
    ),
    ("DEEP R", "--temperature", "temperature", float, "noise temperature T"),
    ("DEEP R", "--l1", "l1", float, "L1 shrinkage alpha"),
    ("DEEP R", "--soft", "soft", bool, "soft DEEP R (no hard budget)"),
    ("DEEP R", "--theta-min", "theta_min", float, "lower bound of theta (soft DEEP R)"),
    ("DEEP R", "--matmul", "matmul", str, "dense or sparse weight matrices in the passes"),
    ("CoNNTrA", "--mode", "mode", str, "auto, exact or block"),
    ("CoNNTrA", "--block", "block", float, "initial fraction of weights per block step"),
    ("CoNNTrA", "--max-block", "max_block", float, "largest fraction of weights per block step"),
    ("CoNNTrA", "--beta", "beta", float, "gradient moving-average factor (block mode)"),
    ("CoNNTrA", "--bias-lr", "bias_lr", float, "bias step (block mode)"),
    ("CoNNTrA", "--scale-search", "scale_search", str, "auto, epoch, end or none"),
    (
        "tensor sketching",
        "--sketch-size",
        "sketch_size",
        _csv_type(_ints, "sizes"),
        "k, one or one per layer",
    ),
    ("tensor sketching", "--n-sketches", "n_sketches", int, "L, sketch pairs per layer"),
    (
        "tensor sketching",
        "--sketch-layers",
        "sketch_layers",
        str,
        "auto, all, or layer indices like 0,1",
    ),
    (
        "pruning and quantization",
        "--init",
        "init",
        str,
        "start from this trained network (.npz/.nir) instead of training a dense one (prune, ternary, conntra)",
    ),
    (
        "pruning and quantization",
        "--finetune-epochs",
        "finetune_epochs",
        int,
        "fine-tuning epochs after pruning",
    ),
    (
        "pruning and quantization",
        "--finetune-lr",
        "finetune_lr",
        float,
        "fine-tuning learning rate",
    ),
    (
        "pruning and quantization",
        "--threshold-factor",
        "threshold_factor",
        float,
        "TWN threshold factor (0.7)",
    ),
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
    groups: dict[str, Any] = {}
    for group, flag, key, typ, help_text in _OPTIONS:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
            if group == _BUDGET:
                add_profile_options(groups[group], chip_required=False)
        g = groups[group]
        if typ is bool:
            g.add_argument(
                flag,
                dest="opt_" + key,
                action="store_const",
                const=True,
                default=None,
                help=help_text,
            )
        else:
            g.add_argument(
                flag, dest="opt_" + key, type=typ, default=None, metavar=key.upper(), help=help_text
            )


def collect_options(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """The method options given on the command line, checked against the method."""
    from neurosim.io.formats import load_network
    from neurosim.train.registry import method_options

    allowed = set(method_options(method))
    given: dict[str, Any] = {}
    for _, flag, key, _, _ in _OPTIONS:
        value = getattr(args, "opt_" + key, None)
        if value is None:
            continue
        if key not in allowed:
            raise TrainingError(f"option {flag} does not apply to method {method}")
        given[key] = value
    if getattr(args, "chip", None):
        if "chip" not in allowed:
            raise TrainingError(f"option --chip does not apply to method {method}")
        given["chip"] = args.chip
        given["chip_overrides"] = tuple(args.overrides)
    elif getattr(args, "overrides", None):
        raise TrainingError("--set needs --chip (the profile whose fields it overrides)")
    if isinstance(given.get("sketch_layers"), str) and given["sketch_layers"] not in (
        "auto",
        "all",
    ):
        try:
            given["sketch_layers"] = _int_list(given["sketch_layers"])
        except ValueError:
            raise TrainingError(
                f"--sketch-layers {given['sketch_layers']!r}: expected auto, all or indices like 0,1"
            ) from None
    if "init" in given:
        given["init"] = load_network(given["init"])
    return given


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
