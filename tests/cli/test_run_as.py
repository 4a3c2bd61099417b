"""``--run-as rates``: an IF network on a chip with graded neurons (Akida), from the command line."""

from __future__ import annotations

import json

import nir
import numpy as np

from neurosim.cli import main


def _graph(neuron: str) -> nir.NIRGraph:
    """Input(8) -> Affine(8 -> 6) -> IF or LIF -> Affine(6 -> 3) -> IF."""
    rng = np.random.default_rng(0)
    cells = {
        "if": nir.IF(r=np.ones(6), v_threshold=np.ones(6), v_reset=np.zeros(6)),
        "lif": nir.LIF(tau=np.full(6, 0.01), r=np.ones(6), v_leak=np.zeros(6), v_threshold=np.ones(6),
                       v_reset=np.zeros(6)),
    }
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([8])}),
            "fc1": nir.Affine(weight=rng.uniform(0, 0.2, size=(6, 8)), bias=np.zeros(6)),
            "h": cells[neuron],
            "fc2": nir.Affine(weight=rng.uniform(0, 0.4, size=(3, 6)), bias=np.zeros(3)),
            "out": nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)),
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "fc1"), ("fc1", "h"), ("h", "fc2"), ("fc2", "out"), ("out", "output")],
        type_check=False,
    )


def _files(tmp_path, neuron: str) -> tuple[str, str]:
    nir.write(tmp_path / f"{neuron}.nir", _graph(neuron))
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "data.npz", x_test=rng.random((20, 8)), y_test=rng.integers(0, 3, 20),
             x_train=rng.random((20, 8)), y_train=rng.integers(0, 3, 20))
    return str(tmp_path / f"{neuron}.nir"), str(tmp_path / "data.npz")


def test_if_network_runs_on_akida_as_rates(tmp_path, capsys):
    net, data = _files(tmp_path, "if")
    base = ["simulate", net, "--chip", "akida", "--data", data, "--steps", "32", "--no-progress"]
    assert main(base) == 3  # IF neurons on a ReLU chip: does not fit, and says what to add
    assert "--run-as rates" in capsys.readouterr().err
    assert main([*base, "--run-as", "rates", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fits"] and out["n_steps"] == 1 and out["events"]["synop"] > 0
    assert "rate-equivalent graded network" in out["run_as"] and "accuracy" in out


def test_leaky_network_with_run_as_rates_is_one_line_exit_2(tmp_path, capsys):
    net, data = _files(tmp_path, "lif")
    code = main(["simulate", net, "--chip", "akida", "--data", data, "--run-as", "rates", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("neurosim: error:")]
    assert len(errors) == 1  # (the line before it is the NIR import's information line)
    assert "population 'h' is lif" in errors[0]
    assert errors[0].endswith("expected if (reset subtract or zero), relu or linear")


def test_map_and_compare_take_run_as(tmp_path, capsys):
    net, data = _files(tmp_path, "if")
    assert main(["map", net, "--chip", "akida", "--json"]) == 3
    capsys.readouterr()
    assert main(["map", net, "--chip", "akida", "--json", "--run-as", "rates"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "rate-equivalent graded network" in out["run_as"]
    assert main(["compare", net, "--chips", "akida", "loihi2", "--data", data, "--steps", "32", "--json"]) == 0
    rows = {r["chip"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["akida"]["status"] == "does_not_fit" and rows["loihi2"]["status"] == "ok"
    args = ["compare", net, "--chips", "akida", "--data", data, "--steps", "32", "--json", "--run-as", "rates"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"][0]["status"] == "ok" and out["rows"][0]["chip_top1"] is not None
    assert any("rate-equivalent graded network" in n for n in out["reports"][0]["notes"])
    assert main(["compare", net, "--chips", "akida"]) == 3  # the table, and a line naming the option
    assert "--run-as" in capsys.readouterr().out


def test_run_as_rates_on_a_network_without_if_neurons_says_it_ran_as_given(tmp_path, capsys):
    # a relu network has nothing to convert: the run goes on and the summary says so
    # (this raised StopIteration from the CLI: no "rate-equivalent" note to find)
    from neurosim.io import save_network
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel

    rng = np.random.default_rng(2)
    net = Network.from_layers([rng.normal(size=(8, 6)), rng.normal(size=(6, 3))], model=NeuronModel("relu"))
    save_network(net, tmp_path / "relu.npz")
    _, data = _files(tmp_path, "if")
    code = main(["simulate", str(tmp_path / "relu.npz"), "--chip", "generic", "--data", data,
                 "--run-as", "rates", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and "no IF population to convert" in out["run_as"]
