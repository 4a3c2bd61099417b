"""``neurosim train``: runs each method on iris, saves a loadable network, refuses bad options."""

from __future__ import annotations

import json

import pytest

from neurosim.cli import main
from neurosim.io.npz import read_npz


@pytest.mark.parametrize(
    "method, extra",
    [
        ("dense", ["--epochs", "20", "--batch-size", "16"]),
        (
            "deep_r",
            [
                "--epochs",
                "5",
                "--connectivity",
                "0.5,0.3",
                "--fan-in-cap",
                "3",
                "--lr",
                "0.01",
                "--optimizer",
                "adam",
            ],
        ),
        ("conntra", ["--epochs", "3"]),
        ("conntra_ranked", ["--epochs", "3", "--batch-size", "32"]),
        ("sketch", ["--epochs", "3", "--sketch-layers", "all", "--sketch-size", "1"]),
        ("prune", ["--epochs", "3", "--connectivity", "0.5", "--finetune-epochs", "2"]),
        ("ternary", ["--epochs", "3"]),
    ],
)
def test_train_each_method_on_iris(tmp_path, capsys, method, extra):
    out = tmp_path / "net.npz"
    rc = main(
        ["train", method, "--data", "iris", "--hidden", "8", "--out", str(out), "--json", *extra]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    net = read_npz(out)
    assert summary["method"] == method
    assert summary["n_connections"] == net.n_synapses
    assert 0 <= summary["test_accuracy"] <= 1 and summary["wall_time_s"] > 0
    assert net.metadata["training"]["test_accuracy"] == summary["test_accuracy"]
    if method == "deep_r":
        assert max(int(p.fan_in().max()) for p in net.projections) <= 3


def test_table_output_and_force(tmp_path, capsys):
    out = tmp_path / "net.npz"
    args = [
        "train",
        "conntra",
        "--data",
        "iris",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "weight memory" in text
    before = out.read_bytes()
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main([*args, "--force"]) == 0


def test_option_of_another_method_is_rejected(tmp_path, capsys):
    out = tmp_path / "net.npz"
    rc = main(["train", "dense", "--data", "iris", "--temperature", "0.1", "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--temperature does not apply to method dense" in err and err.count("\n") == 1
    assert not out.exists()


def test_chip_cap_and_bad_budget(tmp_path, capsys):
    out = tmp_path / "net.npz"
    rc = main(
        [
            "train",
            "deep_r",
            "--data",
            "iris",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--connectivity",
            "0.9",
            "--chip",
            "generic",
            "--set",
            "core.max_fan_in=2",
            "--out",
            str(out),
        ]
    )
    assert rc == 2
    assert "fan-in cap 2" in capsys.readouterr().err
    rc = main(
        [
            "train",
            "deep_r",
            "--data",
            "iris",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--connectivity",
            "0.25",
            "--chip",
            "generic",
            "--set",
            "core.max_fan_in=2",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["info"]["fan_in_cap"] == 2


def test_nir_output_is_refused_before_training(tmp_path, capsys):
    rc = main(["train", "dense", "--data", "iris", "--out", str(tmp_path / "net.nir")])
    assert rc == 2
    assert "ReLU" in capsys.readouterr().err


def test_train_for_a_chip_reports_the_rate_code(tmp_path, capsys):
    out = tmp_path / "tn.npz"
    args = ["train", "dense", "--data", "digits", "--hidden", "16", "--epochs", "3"]
    rc = main([*args, "--chip", "truenorth", "--chip-epochs", "1", "--out", str(out), "--json"])
    assert rc == 0 and out.is_file()
    s = json.loads(capsys.readouterr().out)
    assert s["info"]["chip"]["chip"] == "truenorth" and s["info"]["chip"]["n_axon_types"] == 4
    assert sorted(int(t) for t in s["accuracy_vs_steps"]) == [8, 16, 32, 64]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--chip", "dynapse2"], "neuron.models = lif"),
        (["--chip", "loihi2", "--n-connections", "20"], "at least one synapse per neuron"),
    ],
)
def test_bad_chip_combinations_exit_2_without_output(tmp_path, capsys, extra, message):
    out = tmp_path / "bad.npz"
    method = "deep_r" if "--n-connections" in extra else "dense"
    rc = main(["train", method, "--data", "digits", "--hidden", "32", *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_every_option_of_every_method_class_is_a_flag_with_its_description():
    import argparse

    from neurosim.cli.train import _option_rows, add_arguments
    from neurosim.train.options import TrainOptions, cli_fields, describe, options_type
    from neurosim.train.registry import TRAINING_METHODS, get_method

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {a.dest: a for a in parser._actions}
    for name in TRAINING_METHODS:
        cls = options_type(get_method(name))
        if cls is not None:  # each option of the class is a flag
            assert {"opt_" + row[1] for row in cli_fields([cls])} <= set(flags), name
    for _, flag, key, _, help_text in _option_rows():  # a flag's help is the description
        assert flags["opt_" + key].help == help_text != "" and flag == "--" + key.replace("_", "-")
    assert flags["opt_epochs"].help == describe(TrainOptions, "epochs")
    assert {"opt_beta2", "opt_readout", "opt_scale_samples"} <= set(flags)


def test_method_flags_reach_the_method_and_others_are_refused(tmp_path, capsys):
    out = tmp_path / "net.npz"
    base = ["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--json"]
    rc = main([base[0], "conntra_ranked", *base[1:], "--beta2", "0.99", "--out", str(out)])
    assert rc == 0 and json.loads(capsys.readouterr().out)["method"] == "conntra_ranked"
    rc = main([base[0], "conntra", *base[1:], "--beta2", "0.99", "--out", str(tmp_path / "b.npz")])
    assert rc == 2
    assert "--beta2 does not apply to method conntra" in capsys.readouterr().err
    rc = main(
        [base[0], "fixed_topology", *base[1:], "--init", str(out), "--readout", "dense"]
        + ["--out", str(tmp_path / "f.npz")]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["info"]["readout"] == "dense"
