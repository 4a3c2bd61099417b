"""Property-based checks of the boundaries issue 13 found open.

* ``.npz`` CSR arrays mutated in place (indices out of range or negative,
  ``indptr`` decreasing or of the wrong length, NaN/inf weights, absurd
  shapes): the loader refuses them with a one-line NetworkError naming the
  file and the array, or the network it returns maps without crashing;
* profile figures set to absurd numbers: refused, or within the field's bounds;
* YAML with a key given twice: refused by the profile and scenario loaders;
* mutated scenarios (seed bounds included): only ScenarioError/NeurosimError;
* generator parameters: unknown names reported as unknown, fan-in never capped.

Each test has a fast twin (``FAST_EXAMPLES``) and a ``slow`` one with 1000
examples (see :func:`tests.io.test_loaders_fuzz.fuzzed`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import example
from hypothesis import strategies as st
from test_loaders_fuzz import _listing, _only_neurosim_errors, fuzzed

from neurosim.errors import NetworkError, NeurosimError, ProfileError, ScenarioError
from neurosim.hardware.profile import load_profile
from neurosim.io.formats import load_network
from neurosim.io.npz import write_npz
from neurosim.network import Network
from neurosim.neurons import NeuronModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def valid_npz(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(12, 9)) * (rng.random((12, 9)) < 0.5)
    w2 = rng.normal(size=(9, 4)) * (rng.random((9, 4)) < 0.7)
    net = Network.from_layers([w1, w2], [0.1, 0.0], [NeuronModel("relu"), NeuronModel("linear")], name="csr")
    path = write_npz(net, tmp_path_factory.mktemp("src") / "valid.npz")
    with np.load(path) as z:
        return path, {k: z[k] for k in z.files}


_BAD_VALUES = st.one_of(
    st.integers(-(2**40), 2**40),
    st.sampled_from([-1, 0, 1, 8, 9, 11, 12, 13, 2**31 - 1, 2**31, -(2**31), 2**63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def _csr_mutation(draw) -> tuple[str, str, object]:
    i = draw(st.sampled_from([0, 1]))
    part = draw(st.sampled_from(["indices", "indptr", "data", "shape", "dtype", "length"]))
    return f"proj{i}", part, draw(_BAD_VALUES)


def _mutated(arrays: dict[str, np.ndarray], mutations, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {k: v.copy() for k, v in arrays.items()}
    header = json.loads(out["__network__"].tobytes())
    for proj, part, value in mutations:
        i = int(proj[4:])
        if part == "shape":
            header["projections"][i]["shape"][int(rng.integers(0, 2))] = (
                value if not isinstance(value, float) or np.isfinite(value) else str(value)
            )
            continue
        key = f"{proj}_{'indices' if part in ('dtype', 'length') else part}"
        a = out[key]
        if part == "dtype":
            try:
                out[key] = a.astype(rng.choice(["f8", "u1", "i2", "U3"]))
            except ValueError:  # text that is no number
                out[key] = a.astype("U3")
        elif part == "length":
            out[key] = np.resize(a, max(0, a.size + int(rng.integers(-3, 4))))
        elif a.size and a.dtype.kind in "iuf":  # an earlier dtype change may have made it text
            j = int(rng.integers(0, a.size))
            kind = a.dtype.kind
            if kind == "f":
                a[j] = float(value)
            else:
                a[j] = int(np.clip(int(value) if np.isfinite(float(value)) else -1, np.iinfo(a.dtype).min, np.iinfo(a.dtype).max))
    out["__network__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return out


@fuzzed(mutations=st.lists(_csr_mutation(), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_npz_csr_mutations_are_refused_or_map(valid_npz, tmp_path_factory, mutations, seed):
    from neurosim.mapping.mapper import map_network

    _, arrays = valid_npz
    folder = tmp_path_factory.mktemp("csr")
    p = folder / "m.npz"
    buf = io.BytesIO()
    np.savez(buf, **_mutated(arrays, mutations, np.random.default_rng(seed)))
    p.write_bytes(buf.getvalue())
    try:
        net = load_network(p)
    except NetworkError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith(str(p)), msg
        return
    # accepted: every array was consistent, so the mapper (scipy's tocsc inside) must not crash
    for pr in net.projections:
        w = pr.weights
        assert np.isfinite(w.data).all()
        assert w.indices.size == 0 or (0 <= w.indices.min() and w.indices.max() < w.shape[1])
    _only_neurosim_errors(lambda: map_network(net, load_profile("generic", {"core.max_neurons": 4})), folder)


# ------------------------------------------------------------------ profile bounds
_NUMERIC = [
    ("chip", "n_cores"), ("chip", "mesh_width"), ("chip", "max_chips"), ("chip", "timestep_s"),
    ("core", "max_neurons"), ("core", "max_axons"), ("core", "max_fan_in"),
    ("core", "synapse_memory_bits"), ("core", "index_bits"), ("weights", "bits"),
    ("weights", "accumulator_bits"), ("energy", "synop_pj"), ("energy", "static_power_w"),
    ("latency", "synop_ns"), ("latency", "hop_ns"),
]  # fmt: skip


@fuzzed(
    fast=25,
    field=st.sampled_from(_NUMERIC),
    value=st.one_of(
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([1e20, 10**20, 2**63, -1, 0, True, "1e20"]),
    ),
)
def test_profile_figures_are_bounded(tmp_path_factory, field, value):
    base = yaml.safe_load((ROOT / "hwmodels" / "generic.yaml").read_text())
    section, name = field
    base[section][name]["value"] = value
    folder = tmp_path_factory.mktemp("prof")
    p = folder / "bounded.yaml"
    p.write_text(yaml.safe_dump(base))
    try:
        prof = load_profile(p)
    except ProfileError as exc:
        assert "\n" not in str(exc) and f"{section}.{name}" in str(exc)
    else:
        got = prof.get(f"{section}.{name}")
        assert got is None or abs(got) < 2**60  # sane: no 1e20 neurons per core
    assert _listing(folder) == {"bounded.yaml"}


# ------------------------------------------------------------------ duplicate keys
def _block_key_lines(node) -> set[int]:
    """Lines of the keys of block-style mappings (each starts its own line)."""
    out: set[int] = set()
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not node.flow_style:
                out.add(key.start_mark.line)
            out |= _block_key_lines(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out |= _block_key_lines(item)
    return out


@fuzzed(
    which=st.sampled_from(["profile", "scenario"]),
    line=st.integers(0, 200),
)
def test_duplicate_yaml_keys_are_refused(tmp_path_factory, which, line):
    from neurosim.scenario import load_scenario

    src = ROOT / ("hwmodels/generic.yaml" if which == "profile" else "scenarios/quickstart.yaml")
    text = src.read_text()
    lines = text.splitlines()
    keyed = sorted(_block_key_lines(yaml.compose(text)))
    k = keyed[line % len(keyed)]
    # the same "key: ..." line again right after itself: same mapping, same key
    dup = lines[: k + 1] + [lines[k]] + lines[k + 1 :]
    folder = tmp_path_factory.mktemp("dup")
    p = folder / src.name
    p.write_text("\n".join(dup) + "\n")
    err = ProfileError if which == "profile" else ScenarioError
    with pytest.raises(err, match="duplicate key"):
        load_profile(p) if which == "profile" else load_scenario(p, check=False)


# ------------------------------------------------------------------ scenario seeds
@fuzzed(seed=st.one_of(st.integers(-(2**100), 2**100), st.floats(), st.text(max_size=5)))
def test_scenario_seed_is_bounded(tmp_path_factory, seed):
    from neurosim.scenario import load_scenario

    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["seed"] = seed
    folder = tmp_path_factory.mktemp("seed")
    p = folder / "s.yaml"
    p.write_text(yaml.safe_dump(data))
    try:
        sc = load_scenario(p, check=False)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and "seed" in str(exc)
    else:
        assert 0 <= sc.seed < 2**32


# ------------------------------------------------------------------ generators
@fuzzed(
    params=st.dictionaries(
        st.sampled_from(["layer_sizes", "fan_in", "neuronz", "fanin", "seed", "cap", "gain"]),
        st.one_of(
            st.integers(-5, 60),
            st.lists(st.integers(-2, 40), max_size=4),
            st.floats(allow_nan=True),
            st.text(max_size=3),
        ),
        max_size=4,
    )
)
@example(params={"fan_in": 1, "seed": -1.0, "layer_sizes": [1, 1]})
@example(params={"fan_in": 1, "seed": [], "layer_sizes": [1, 1]})
def test_random_generator_parameters(params):
    from neurosim.topology import generate

    try:
        net = generate("random", **params)
    except NetworkError as exc:
        msg = str(exc)
        assert "\n" not in msg
        unknown = [k for k in params if k in ("neuronz", "fanin")]
        if unknown:
            assert "unknown parameter" in msg and "layer_sizes" in msg
    except NeurosimError:
        pass
    else:
        sizes = [int(s) for s in params["layer_sizes"]]
        fan = np.diff(net.projections[0].weights.tocsc().indptr)
        assert (fan == int(params["fan_in"])).all() and int(params["fan_in"]) <= min(sizes[:-1])


# ------------------------------------------------------------------ scenario YAML
@fuzzed(fast=25, data=st.data(), name=st.sampled_from(["quickstart.yaml", "compare_chips.yaml", "sweep_fanin_precision.yaml"]))
def test_scenario_mutations_give_only_neurosim_errors(tmp_path_factory, data, name):
    from test_loaders_fuzz import _json, _mutate, _paths

    from neurosim.scenario import load_scenario

    base = yaml.safe_load((ROOT / "scenarios" / name).read_text())
    path = data.draw(st.sampled_from(_paths(base)))
    mutated = _mutate(data.draw(_json), base, list(path))
    folder = tmp_path_factory.mktemp("scn")
    p = folder / name
    p.write_text(yaml.safe_dump(mutated, allow_unicode=True))
    _only_neurosim_errors(lambda: load_scenario(p), folder)
