"""Fuzz every loader with malformed input: only neurosim's own errors may come out.

Each test feeds random or mutated content (bytes, npz archives, HDF5 files
shaped like NIR, TSV text, YAML, IDX files) to a public loader and accepts
either a result or a :class:`~neurosim.errors.NeurosimError` with a one-line
message; anything else (a raw ``KeyError``, ``AssertionError``, ``OSError``...)
fails the test.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import nir
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.errors import NeurosimError
from neurosim.io.datasets import load_dataset
from neurosim.io.formats import load_network
from neurosim.io.npz import write_npz
from neurosim.network import Network
from neurosim.neurons import NeuronModel

#: examples per test in the fast suite; raise it (NEUROSIM_FUZZ_EXAMPLES=2000) for a deeper local search
FAST_EXAMPLES = int(os.environ.get("NEUROSIM_FUZZ_EXAMPLES", "50"))
#: examples per test in the slow suite (``-m slow``): each loader sees >= 1000 malformed inputs
SLOW_EXAMPLES = 1000
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def fuzzed(fast: int | None = None, **strategies: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@given(**strategies)`` twice: the fast test (``fast`` or ``FAST_EXAMPLES``
    examples) and a ``<name>_slow`` twin marked ``slow`` with ``SLOW_EXAMPLES``
    examples, registered in the caller's module so pytest collects both.

    The fast test is derandomized (the same examples on every run, so the
    README's test command is a stable gate); the slow twin searches afresh
    each time, and what it finds becomes an ``@example`` of the fast test."""
    module = sys._getframe(1).f_globals
    n_fast = min(fast, FAST_EXAMPLES) if fast is not None else FAST_EXAMPLES

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def make(n: int, derandomize: bool) -> Callable[..., Any]:
            return settings(
                max_examples=n,
                deadline=None,
                suppress_health_check=_HEALTH,
                derandomize=derandomize,
            )(given(**strategies)(fn))

        slow = pytest.mark.slow(make(SLOW_EXAMPLES, False))
        slow.__name__ = slow.__qualname__ = f"{fn.__name__}_slow"
        module[slow.__name__] = slow
        return make(n_fast, True)

    return wrap

HAS_GC = importlib.util.find_spec("neurosim.io.graph_challenge") is not None
HAS_PROFILE = importlib.util.find_spec("neurosim.hardware.profile") is not None

ROOT = Path(__file__).resolve().parents[2]


def _listing(folder: Path) -> set[str]:
    return {str(q.relative_to(folder)) for q in folder.rglob("*")}


def _only_neurosim_errors(fn: Callable[[], Any], folder: Path | None = None) -> None:
    """Call ``fn``; a NeurosimError must be one line, any other exception fails.

    With ``folder``, nothing may appear in it (hidden files included): a
    loader writes no output, partial or not.
    """
    before = _listing(folder) if folder is not None else set()
    try:
        fn()
    except NeurosimError as exc:
        assert "\n" not in str(exc)
    if folder is not None:
        assert _listing(folder) <= before, f"new files: {_listing(folder) - before}"


# ------------------------------------------------------------- strategies
_names = st.text(alphabet="abcdefghij_-.>0123456789", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..")
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_names, inner, max_size=4)
    ),
    max_leaves=12,
)
_dtypes = st.sampled_from(["u1", "i1", "i4", "i8", "f4", "f8", "bool", "U3"])


@st.composite
def _arrays(draw) -> np.ndarray:
    dtype = draw(_dtypes)
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    size = int(np.prod(shape)) if shape else 1
    if dtype == "U3":
        return np.array(
            draw(st.lists(st.text(max_size=3), min_size=size, max_size=size)), dtype="U3"
        ).reshape(shape)
    if dtype == "bool":
        return np.array(
            draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool
        ).reshape(shape)
    if dtype.startswith("f"):
        vals = draw(
            st.lists(
                st.floats(allow_nan=True, allow_infinity=True, width=32),
                min_size=size,
                max_size=size,
            )
        )
    else:
        info = np.iinfo(np.dtype(dtype))
        vals = draw(
            st.lists(st.integers(int(info.min), int(info.max)), min_size=size, max_size=size)
        )
    return np.array(vals, dtype=dtype).reshape(shape)


def _mutate(data, value: Any, path: list) -> Any:
    """Return a copy of JSON-like ``value`` with the node at ``path`` replaced by ``data``."""
    if not path:
        return data
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        out[head] = _mutate(data, value.get(head), rest)
        return out
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        out = list(value)
        out[head] = _mutate(data, value[head], rest)
        return out
    return data


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _spiking_net() -> Network:
    rng = np.random.default_rng(0)
    return Network.from_layers(
        [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))],
        biases=[rng.normal(size=4), np.zeros(2)],
        model=[NeuronModel("lif", {"v_leak": rng.normal(size=4)}), NeuronModel("if")],
        name="fuzz",
    )


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="neurosim-fuzz-") as d:
        yield Path(d)


# ---------------------------------------------------------------------- npz
@fuzzed(raw=st.binary(max_size=300))
def test_npz_random_bytes(workdir, raw):
    p = workdir / "bytes.npz"
    p.write_bytes(raw)
    _only_neurosim_errors(lambda: load_network(p), p.parent)


@fuzzed(arrays=st.dictionaries(_names, _arrays(), max_size=4), header=st.one_of(st.none(), _json))
def test_npz_random_contents(workdir, arrays, header):
    p = workdir / "contents.npz"
    if header is not None:
        arrays = dict(
            arrays, __network__=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        )
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.write_bytes(buf.getvalue())
    _only_neurosim_errors(lambda: load_network(p), p.parent)


@fuzzed(data=st.data())
def test_npz_mutated_valid_file(workdir, data):
    src = workdir / "valid.npz"
    if not src.exists():
        write_npz(_spiking_net(), src)
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__network__"].tobytes())
    what = data.draw(st.sampled_from(["header", "array", "drop"]))
    if what == "header":
        path = data.draw(st.sampled_from(_paths(header)))
        header = _mutate(data.draw(_json), header, list(path))
        arrays["__network__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    else:
        key = data.draw(st.sampled_from(sorted(k for k in arrays if k != "__network__")))
        if what == "array":
            arrays[key] = data.draw(_arrays())
        else:
            del arrays[key]
    p = workdir / "mutated.npz"
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.write_bytes(buf.getvalue())
    _only_neurosim_errors(lambda: load_network(p), p.parent)


# ---------------------------------------------------------------------- NIR
_NIR_TYPES = [
    "Input", "Output", "Affine", "Linear", "Scale", "Flatten", "IF", "LIF", "CubaLIF",
    "Threshold", "LI", "I", "Delay", "Conv1d", "NIRGraph", "Bogus",
]  # fmt: skip
_NIR_FIELDS = [
    "weight", "bias", "scale", "shape", "r", "tau", "v_leak", "v_threshold", "v_reset",
    "tau_mem", "tau_syn", "w_in", "threshold", "input_type", "start_dim", "end_dim",
]  # fmt: skip


def _put(group: h5py.Group, key: str, value: Any) -> None:
    if isinstance(value, str):
        value = value.replace("\x00", "")
        group.create_dataset(key, data=value, dtype=h5py.string_dtype())
    elif isinstance(value, np.ndarray) and value.dtype.kind == "U":
        clean = (
            np.vectorize(lambda t: t.replace("\x00", ""), otypes=[object])(value)
            if value.size
            else value.astype(object)
        )
        group.create_dataset(key, data=clean, dtype=h5py.string_dtype())
    else:
        group.create_dataset(key, data=value)


@fuzzed(raw=st.binary(max_size=300))
def test_nir_random_bytes(workdir, raw):
    p = workdir / "bytes.nir"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + raw if raw[:1] == b"\x00" else raw)
    _only_neurosim_errors(lambda: load_network(p), p.parent)


@fuzzed(
    nodes=st.dictionaries(
        _names,
        st.tuples(
            st.sampled_from(_NIR_TYPES),
            st.dictionaries(st.sampled_from(_NIR_FIELDS), _arrays(), max_size=5),
        ),
        min_size=1,
        max_size=5,
    ),
    edges=st.lists(st.tuples(_names, _names), max_size=6),
    top_type=st.sampled_from(["NIRGraph", "NIRGraph", "Affine", ""]),
)
def test_nir_random_graph_files(workdir, nodes, edges, top_type):
    p = workdir / "graph.nir"
    with h5py.File(p, "w") as f:
        f.create_dataset("version", data="1.0.8", dtype=h5py.string_dtype())
        g = f.create_group("node")
        _put(g, "type", top_type)
        ng = g.create_group("nodes")
        for name, (kind, fields) in nodes.items():
            sub = ng.create_group(name)
            _put(sub, "type", kind)
            for k, v in fields.items():
                _put(sub, k, v)
        names = list(nodes)
        if edges:
            # mostly real node names, sometimes dangling ones
            pairs = [
                (names[sum(map(ord, a)) % len(names)] if a[0] in "abcde" else a, b)
                for a, b in edges
            ]
            _put(g, "edges", np.array(pairs, dtype=object).astype("U"))
    _only_neurosim_errors(lambda: load_network(p), p.parent)


@fuzzed(data=st.data())
def test_nir_mutated_valid_file(workdir, data):
    src = workdir / "valid.nir"
    if not src.exists():
        nir.write(
            src,
            nir.NIRGraph(
                nodes={
                    "in": nir.Input(input_type={"input": np.array([3])}),
                    "fc": nir.Affine(weight=np.ones((4, 3)), bias=np.zeros(4)),
                    "lif": nir.LIF(
                        tau=np.ones(4), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4)
                    ),
                    "sc": nir.Scale(scale=np.ones(4)),
                    "if": nir.IF(r=np.ones(4), v_threshold=np.ones(4)),
                    "out": nir.Output(output_type={"output": np.array([4])}),
                },
                edges=[("in", "fc"), ("fc", "lif"), ("lif", "sc"), ("sc", "if"), ("if", "out")],
            ),
        )
    p = workdir / "mutated.nir"
    p.write_bytes(src.read_bytes())
    with h5py.File(p, "r+") as f:
        datasets: list[str] = []
        f.visititems(
            lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None
        )
        target = data.draw(st.sampled_from(sorted(datasets)))
        parent, key = target.rsplit("/", 1) if "/" in target else ("", target)
        grp = f[parent] if parent else f
        del grp[key]
        action = data.draw(st.sampled_from(["replace", "drop", "text"]))
        if action == "replace":
            _put(grp, key, data.draw(_arrays()))
        elif action == "text":
            _put(grp, key, data.draw(st.sampled_from(_NIR_TYPES + ["x"])))
    _only_neurosim_errors(lambda: load_network(p), p.parent)


# ----------------------------------------------------------- graph challenge
_tsv_line = st.one_of(
    st.tuples(
        st.integers(-2, 9), st.integers(-2, 9), st.floats(allow_nan=True, allow_infinity=True)
    ).map(lambda t: f"{t[0]}\t{t[1]}\t{t[2]!r}"),
    st.text(alphabet="0123456789\t .-e\r", max_size=20),
)


@pytest.mark.skipif(not HAS_GC, reason="neurosim.io.graph_challenge has not landed yet")
@fuzzed(
    layers=st.lists(st.lists(_tsv_line, max_size=8), min_size=1, max_size=3),
    names=st.lists(
        st.sampled_from(["n4-l{k}.tsv", "n4-l{k}.tsv.gz", "n5-l{k}.tsv", "n4-l{k}.txt"]),
        min_size=3,
        max_size=3,
    ),
    sidecar=st.one_of(st.none(), _json, st.binary(max_size=40)),
    raw=st.binary(max_size=100),
)
def test_graph_challenge_random_tsv(workdir, layers, names, sidecar, raw):
    d = Path(tempfile.mkdtemp(dir=workdir))
    for k, lines in enumerate(layers, start=1):
        text = "\n".join(lines).encode()
        name = names[k - 1].format(k=k)
        (d / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    if sidecar is not None:
        (d / "neurosim.json").write_bytes(
            sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode()
        )
    _only_neurosim_errors(lambda: load_network(d, format="graph_challenge"), d)
    single = d / "n4-l1.tsv.gz"
    single.write_bytes(raw)
    _only_neurosim_errors(lambda: load_network(single, format="graph_challenge"), d)
    shutil.rmtree(d)  # 1000 examples must not leave 1000 folders for later listings


# ------------------------------------------------------------------ profile
def _generic_profile() -> dict:
    return yaml.safe_load((ROOT / "hwmodels" / "generic.yaml").read_text())


@pytest.mark.skipif(not HAS_PROFILE, reason="neurosim.hardware.profile is missing")
@fuzzed(data=st.data(), text=st.text(max_size=200))
def test_profile_random_yaml(workdir, data, text):
    from neurosim.hardware.profile import load_profile

    base = _generic_profile()
    path = data.draw(st.sampled_from(_paths(base)))
    mutated = _mutate(data.draw(_json), base, list(path))
    sub = workdir / "profile"  # its own folder: the listing check stays small
    sub.mkdir(exist_ok=True)
    p = sub / "fuzz_profile.yaml"
    p.write_text(yaml.safe_dump(mutated, allow_unicode=True))
    _only_neurosim_errors(lambda: load_profile(p), p.parent)
    p.write_text(text)
    _only_neurosim_errors(lambda: load_profile(p), p.parent)
    overrides = data.draw(st.lists(st.text(max_size=30), max_size=3))
    _only_neurosim_errors(lambda: load_profile("generic", overrides))


# ----------------------------------------------------------------- datasets
@st.composite
def _idx_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["images", "labels", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=200))
    ndim = 3 if kind == "images" else 1
    code = draw(st.sampled_from([0x08, 0x08, 0x09, 0x0C, 0x0D, 0x42]))
    ndim = draw(st.sampled_from([ndim, ndim, 0, 2, 255]))
    dims = [draw(st.integers(0, 4)), *([draw(st.sampled_from([28, 3]))] * max(0, min(ndim, 4) - 1))]
    head = bytes([0, 0, code, ndim]) + struct.pack(f">{len(dims)}I", *dims[: len(dims)])
    body = draw(st.binary(max_size=3 * 28 * 28 + 10))
    return head + body


@fuzzed(
    images=_idx_bytes(),
    labels=_idx_bytes(),
    gz=st.booleans(),
    cut=st.integers(0, 60),
    split=st.sampled_from(["test", "train", "all"]),
)
def test_mnist_random_idx(workdir, images, labels, gz, cut, split):
    root = Path(tempfile.mkdtemp(dir=workdir))
    folder = root / "mnist"
    folder.mkdir()
    for prefix in ("t10k", "train"):
        for stem, raw in (("images-idx3", images), ("labels-idx1", labels)):
            payload = gzip.compress(raw) if gz else raw
            if cut and gz:
                payload = payload[: max(1, len(payload) - cut)]
            name = f"{prefix}-{stem}-ubyte" + (".gz" if gz else "")
            (folder / name).write_bytes(payload)
    _only_neurosim_errors(
        lambda: load_dataset("mnist", path=root, split=split, limit=3 if cut % 2 else None),
        root,
    )
    shutil.rmtree(root)


@fuzzed(
    arrays=st.dictionaries(
        st.sampled_from(["x", "y", "x_train", "y_train", "x_test", "y_test", "n_classes", "other"]),
        _arrays(),
        max_size=5,
    ),
    split=st.sampled_from(["test", "train", "all"]),
    raw=st.binary(max_size=100),
)
def test_dataset_random_npz(workdir, arrays, split, raw):
    sub = workdir / "dataset"
    sub.mkdir(exist_ok=True)
    p = sub / "data.npz"
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.write_bytes(buf.getvalue())
    _only_neurosim_errors(lambda: load_dataset(p, split=split, limit=None, seed=1), p.parent)
    p.write_bytes(raw)
    _only_neurosim_errors(lambda: load_dataset(p, split=split), p.parent)
