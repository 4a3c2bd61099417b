"""Scenario files: schema, loader, overrides, one-line errors (and a fuzz test)."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.errors import DataError, ScenarioError
from neurosim.scenario import (
    Scenario,
    apply_scenario_overrides,
    load_scenario,
    parse_scenario_override,
    scenario_from_dict,
)
from neurosim.scenario.loader import ScenarioDataError

MINIMAL = {
    "name": "tiny",
    "dataset": {"name": "iris"},
    "network": {"load": {"path": "net.npz"}},
    "chips": ["generic"],
}


def write(tmp_path: Path, data, name: str = "sc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    import numpy as np

    from neurosim.io.npz import write_npz
    from neurosim.network import Network

    return write_npz(Network.from_layers([np.ones((4, 3))]), tmp_path / "net.npz")


def test_minimal_scenario_gets_every_default(tmp_path, net_file):
    sc = load_scenario(write(tmp_path, MINIMAL))
    assert isinstance(sc, Scenario)
    assert sc.seed == 0 and sc.dataset.split == "test" and sc.dataset.limit is None
    assert sc.simulation.backends == ["reference", "chip"]
    assert sc.report.formats == ["json", "md"]
    assert [c.name for c in sc.chip_specs] == ["generic"] and sc.chip_specs[0].overrides == {}
    # paths are resolved against the scenario file's folder
    assert sc.network.load.path == str(net_file.resolve())
    assert sc.path == str((tmp_path / "sc.yaml").resolve())


def test_paths_relative_to_scenario_file_not_cwd(tmp_path, net_file, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    data = dict(MINIMAL, network={"load": {"path": "../net.npz"}})
    path = write(sub, data)
    monkeypatch.chdir(Path("/"))
    assert load_scenario(path).network.load.path == str(net_file.resolve())


def test_environment_variables_expand_in_paths(tmp_path, net_file, monkeypatch):
    monkeypatch.setenv("MY_NETS", str(tmp_path))
    data = dict(MINIMAL, network={"load": {"path": "${MY_NETS}/net.npz"}})
    assert load_scenario(write(tmp_path, data)).network.load.path == str(net_file.resolve())
    monkeypatch.delenv("MY_NETS")
    with pytest.raises(
        DataError,
        match=r"sc\.yaml: field 'network\.load\.path': environment variable MY_NETS is not set",
    ):
        load_scenario(write(tmp_path, data))


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            {"dataset": {"name": "iris", "limitt": 3}},
            r"line 4: field 'dataset\.limitt': unknown field; expected one of name, path, split",
        ),
        (
            {"dataset": {"name": "iris", "limit": "abc"}},
            r"field 'dataset\.limit': .*integer.*got 'abc'",
        ),
        (
            {"dataset": {"name": "iris", "limit": 0}},
            r"field 'dataset\.limit': .*greater than or equal to 1",
        ),
        ({"dataset": {"name": "cifar"}}, r"field 'dataset\.name': .*'digits'.*got 'cifar'"),
        (
            {"chips": ["no_such_chip"]},
            r"line \d+: field 'chips\.0': unknown chip profile 'no_such_chip'",
        ),
        (
            {"chips": [{"name": "generic", "overrides": {"core.max_fan_inn": 3}}]},
            r"field 'chips\.0': .*unknown field 'core\.max_fan_inn'",
        ),
        (
            {"chips": [{"name": "generic", "overrides": {"core.max_fan_in": -3}}]},
            r"field 'chips\.0': .*expected a value >= 1",
        ),
        ({"chips": [{"nam": "generic"}]}, r"field 'chips\.0\.nam': unknown field"),
        ({"chips": []}, r"field 'chips': .*at least 1"),
        ({"chips": ["generic", "generic"]}, r"chip 'generic' is listed twice"),
        (
            {"network": {}},
            r"field 'network': expected exactly one of generate, train or load, got none",
        ),
        (
            {"network": {"load": {"path": "missing.npz"}}},
            r"field 'network\.load\.path': .*missing\.npz does not exist",
        ),
        ({"simulation": {"backends": []}}, r"field 'simulation\.backends'"),
        (
            {"sweep": {"grid": {"max_fan_in": [1]}}},
            r"field 'sweep\.grid': .*expected a profile field section\.field",
        ),
        (
            {"sweep": {"chip": "loihi", "grid": {"core.max_fan_in": [1]}}},
            r"sweep\.chip 'loihi' is not one of the scenario's chips",
        ),
        ({"seed": "x"}, r"field 'seed': .*integer"),
        ({"execution": {"points_per_task": 0}}, r"field 'execution\.points_per_task': .*greater than or equal to 1"),
        (
            {"colour": "blue"},
            r"field 'colour': unknown field; expected one of name, description, seed, dataset",
        ),
    ],
)
def test_bad_scenarios_give_one_line_naming_file_and_field(tmp_path, net_file, change, pattern):
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ScenarioError, match=pattern) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path))


def test_missing_required_field(tmp_path):
    data = {k: v for k, v in MINIMAL.items() if k != "dataset"}
    with pytest.raises(ScenarioError, match=r"field 'dataset': required field is missing"):
        load_scenario(write(tmp_path, data))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("name: [unclosed", r"invalid YAML"),
        ("", r"expected a mapping of scenario fields at the top level, got empty file"),
        ("- a\n- b\n", r"got a list"),
        ("name: a\n\tdataset: x\n", r"line 2: invalid YAML"),
    ],
)
def test_malformed_yaml(tmp_path, text, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        load_scenario(write(tmp_path, text))


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.yaml: scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_missing_dataset_file_is_a_data_error(tmp_path, net_file):
    data = dict(MINIMAL, dataset={"name": "npz", "path": "absent.npz"})
    with pytest.raises(DataError, match=r"field 'dataset\.path': .*absent\.npz does not exist"):
        load_scenario(write(tmp_path, data))


def test_mnist_without_path_or_env_is_a_data_error(tmp_path, net_file, monkeypatch):
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)
    data = dict(MINIMAL, dataset={"name": "mnist"})
    with pytest.raises(
        DataError, match=r"field 'dataset\.path': mnist data not found; .*NEUROSIM_DATA"
    ):
        load_scenario(write(tmp_path, data))


# ------------------------------------------------------------------ overrides
def test_parse_override_values_are_yaml():
    assert parse_scenario_override("dataset.limit=100") == ("dataset.limit", 100)
    assert parse_scenario_override("simulation.backends=[reference]") == (
        "simulation.backends",
        ["reference"],
    )
    assert parse_scenario_override("description=hello world") == ("description", "hello world")
    with pytest.raises(ScenarioError, match="expected field.path=value"):
        parse_scenario_override("dataset.limit")


def test_overrides_reach_nested_fields_lists_and_profile_keys():
    data = {"chips": ["generic", {"name": "x"}], "sweep": {"grid": {}}}
    out = apply_scenario_overrides(
        data,
        [
            "dataset.limit=5",
            "chips.0.overrides.core.max_fan_in=64",
            "chips.1.name=generic",
            "sweep.grid.weights.bits=[2, 4]",
            "network.train.parameters.epochs=1",
        ],
    )
    assert out["dataset"] == {"limit": 5}
    assert out["chips"][0] == {"name": "generic", "overrides": {"core.max_fan_in": 64}}
    assert out["chips"][1] == {"name": "generic"}
    assert out["sweep"]["grid"] == {"weights.bits": [2, 4]}
    assert out["network"]["train"]["parameters"]["epochs"] == 1
    assert data == {"chips": ["generic", {"name": "x"}], "sweep": {"grid": {}}}  # input untouched


def test_override_errors():
    with pytest.raises(ScenarioError, match="index 5 out of range"):
        apply_scenario_overrides({"chips": ["a"]}, ["chips.5.name=b"])
    with pytest.raises(ScenarioError, match="expected an integer"):
        apply_scenario_overrides({"chips": ["a"]}, ["chips.first.name=b"])
    with pytest.raises(ScenarioError, match="not a mapping"):
        apply_scenario_overrides({"name": "a"}, ["name.x=b"])


def test_load_with_overrides_and_reduced(tmp_path, net_file):
    data = dict(MINIMAL, reduced={"dataset.limit": 7, "seed": 3})
    path = write(tmp_path, data)
    assert load_scenario(path).dataset.limit is None
    sc = load_scenario(path, reduced=True)
    assert (sc.dataset.limit, sc.seed) == (7, 3)
    sc = load_scenario(path, ["dataset.limit=9"], reduced=True)  # --set wins over reduced
    assert sc.dataset.limit == 9
    with pytest.raises(ScenarioError, match=r"field 'dataset\.limit'"):
        load_scenario(path, ["dataset.limit=-1"])


def test_chip_labels_allow_one_profile_twice(tmp_path, net_file):
    data = dict(
        MINIMAL,
        chips=[
            "generic",
            {"name": "generic", "label": "small", "overrides": {"core.max_neurons": 8}},
        ],
    )
    sc = load_scenario(write(tmp_path, data))
    assert [c.key for c in sc.chip_specs] == ["generic", "small"]


def test_chip_profile_path_relative_to_scenario(tmp_path, net_file):
    from neurosim.hardware.profile import profile_path

    (tmp_path / "mychip.yaml").write_text(profile_path("generic").read_text())
    sc = load_scenario(write(tmp_path, dict(MINIMAL, chips=["mychip.yaml"])))
    assert sc.chip_specs[0].name == str((tmp_path / "mychip.yaml").resolve())


# ----------------------------------------------------------------------- fuzz
_KEYS = st.sampled_from(
    [
        "name",
        "dataset",
        "network",
        "chips",
        "seed",
        "limit",
        "path",
        "load",
        "train",
        "generate",
        "overrides",
        "grid",
        "sweep",
        "simulation",
        "backends",
        "split",
        "x",
        "0",
        "reduced",
        "report",
    ]
)
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**20),
    st.floats(allow_nan=True),
    st.text(alphabet=string.printable, max_size=12),
    st.sampled_from(["generic", "iris", "net.npz", "${NOPE}/x", "~"]),
)
_YAMLISH = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(_KEYS, _YAMLISH, max_size=8))
def test_fuzz_random_structures_give_scenario_or_scenario_error(tmp_path, data):
    try:
        sc = scenario_from_dict(data, base=tmp_path, where="fuzz.yaml")
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.yaml")
    else:
        assert isinstance(sc, Scenario)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    )
)
def test_fuzz_random_text_gives_only_scenario_error(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert "\n" not in str(exc)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(
        [
            "name",
            "seed",
            "dataset",
            "dataset.name",
            "dataset.limit",
            "dataset.split",
            "network",
            "network.load",
            "network.load.path",
            "chips",
            "chips.0",
            "chips.0.overrides",
            "simulation.steps",
            "simulation.backends",
            "sweep",
            "report.plots",
            "mapping",
            "reduced",
        ]
    ),
    value=_YAMLISH,
)
def test_fuzz_mutating_a_valid_scenario(tmp_path, net_file, key, value):
    try:
        data = apply_scenario_overrides(MINIMAL, {key: value})
        scenario_from_dict(data, base=tmp_path, where="fuzz.yaml")
    except ScenarioError as exc:
        assert "\n" not in str(exc)


def test_scenario_data_error_is_both():
    assert issubclass(ScenarioDataError, ScenarioError) and issubclass(ScenarioDataError, DataError)


# --------------------------------------------------------------------- runner
def test_progress_steps_match_count_steps(tmp_path):
    """The progress callback is called exactly count_steps times (the bar ends full)."""
    from neurosim.scenario import count_steps, run_scenario

    data = {
        "name": "steps",
        "dataset": {"name": "iris", "limit": 8},
        "network": {
            "generate": {
                "generator": "random",
                "parameters": {"layer_sizes": [4, 6, 3], "fan_in": 2},
            }
        },
        "chips": [
            "generic",
            {"name": "generic", "label": "small", "overrides": {"core.max_neurons": 4}},
        ],
        "sweep": {"grid": {"core.max_fan_in": [1, 2]}},
        # the cluster's own tests: tests/test_execute.py
        "execution": {"scheduler": "serial", "points_per_task": 2},
    }
    sc = scenario_from_dict(data, base=tmp_path, where="steps.yaml")
    calls: list[str] = []
    result = run_scenario(sc, progress=calls.append)
    assert len(calls) == count_steps(sc)
    assert set(result.reports) == {"generic", "small"}
    assert result.reports["small"].label == "small" and result.reports["small"].chip == "generic"
    assert [r["core.max_fan_in"] for r in result.sweep.rows()] == [1, 2]


def test_generated_dataset_needs_a_generator_with_test_vectors(tmp_path, net_file):
    data = dict(MINIMAL, dataset={"name": "generated"})
    with pytest.raises(
        ScenarioError, match="dataset 'generated' takes the test vectors of a generated network"
    ):
        scenario_from_dict(data, base=tmp_path, where="g.yaml")


def test_library_errors_while_running_name_the_scenario_and_stage(tmp_path):
    from neurosim.scenario import run_scenario

    data = {
        "name": "mismatch",
        "dataset": {"name": "iris", "limit": 4},  # 4 features
        "network": {
            "generate": {"generator": "random", "parameters": {"layer_sizes": [5, 3], "fan_in": 2}}
        },
        "chips": ["generic"],
    }
    sc = scenario_from_dict(data, base=tmp_path, where="mm.yaml", source=tmp_path / "mm.yaml")
    with pytest.raises(
        ScenarioError,
        match=r"mm\.yaml: dataset iris:test has 4 features; network random expects 5 inputs",
    ):
        run_scenario(sc)


def test_training_can_start_from_another_network(tmp_path, net_file):
    """train.init: DEEP R, then ternary quantization of its sparse network (paths resolved inside)."""
    from neurosim.scenario import run_scenario

    data = {
        "name": "chain",
        "seed": 1,
        "dataset": {"name": "iris", "limit": 10, "train_limit": 60},
        "network": {
            "train": {
                "method": "ternary",
                "parameters": {"hidden": [8], "epochs": 1},
                "init": {
                    "train": {
                        "method": "deep_r",
                        "parameters": {"hidden": [8], "connectivity": 0.5, "epochs": 2},
                    }
                },
            }
        },
        "chips": ["generic"],
        "simulation": {"backends": ["reference"]},
    }
    result = run_scenario(scenario_from_dict(data, base=tmp_path, where="chain.yaml"))
    info = result.network_info
    assert info["method"] == "ternary" and info["init"]["method"] == "deep_r"
    # the ternary network keeps DEEP R's sparsity: never more connections than its start
    assert result.network.n_synapses <= info["init"]["training"]["n_connections"]
    for proj in result.network.projections:
        assert np.unique(np.abs(proj.weights.data)).size <= 1

    nested = {
        "train": {
            "method": "prune",
            "parameters": {"connectivity": 0.5},
            "init": {"load": {"path": "net.npz"}},
        }
    }
    sc = scenario_from_dict(dict(MINIMAL, network=nested), base=tmp_path, where="n.yaml")
    assert sc.network.train.init.load.path == str(net_file.resolve())
    missing = {"train": {"method": "prune", "init": {"load": {"path": "nope.npz"}}}}
    with pytest.raises(
        ScenarioError, match=r"field 'network\.train\.init\.load\.path': .*nope\.npz does not exist"
    ):
        scenario_from_dict(dict(MINIMAL, network=missing), base=tmp_path, where="n.yaml")
    no_init = {"train": {"method": "deep_r", "init": {"load": {"path": "net.npz"}}}}
    with pytest.raises(
        ScenarioError,
        match=r"field 'network\.train\.init': method deep_r takes no initial network; methods that do: .*ternary",
    ):
        scenario_from_dict(dict(MINIMAL, network=no_init), base=tmp_path, where="n.yaml")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(alphabet=string.printable, max_size=40),
        st.builds(
            "{}={}".format,
            st.sampled_from(
                [
                    "dataset.limit",
                    "dataset",
                    "chips.0",
                    "chips.1.name",
                    "chips.0.overrides.core.max_fan_in",
                    "network.load",
                    "network.train.parameters.epochs",
                    "sweep.grid.weights.bits",
                    "seed",
                    "simulation.steps",
                    "report.plots",
                    "name",
                    "x.y.z",
                    "chips.-1",
                    "dataset.limit.x",
                ]
            ),
            st.text(alphabet=string.printable, max_size=20),
        ),
    )
)
def test_fuzz_set_strings_give_only_scenario_error(tmp_path, net_file, text):
    """Any ``--set`` string: a valid scenario or one ScenarioError line."""
    try:
        scenario_from_dict(MINIMAL, base=tmp_path, where="fuzz.yaml", overrides=[text])
    except ScenarioError as exc:
        assert "\n" not in str(exc)
