"""Fuzz the CLI in a subprocess, so that a segmentation fault is a failure.

Hypothesis draws batches of malformed inputs (``.npz`` networks with mutated
CSR arrays, header fields or random bytes; profiles with mutated figures);
one subprocess (``cli_driver.py``) runs ``neurosim map`` and ``neurosim
convert`` on each. Every run must exit 0, 2 or 3 with no traceback, an error
must be one line, and a failed convert must leave nothing behind (hidden
``.part`` files included). The fast test runs one batch of 6 inputs; its
``slow`` twin 25 batches (1000 inputs).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_boundaries import _csr_mutation, _mutated
from test_issue13_corpus import run_driver
from test_loaders_fuzz import _arrays, _json, _mutate, _paths

from neurosim.io.npz import write_npz
from neurosim.network import Network
from neurosim.neurons import NeuronModel

ROOT = Path(__file__).resolve().parents[2]
BATCH = 40  # inputs per subprocess in the slow test (25 batches: 1000 inputs)
FAST_BATCH = 6


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    net = Network.from_layers(
        [rng.normal(size=(16, 8)) * (rng.random((16, 8)) < 0.5), rng.normal(size=(8, 3))],
        model=NeuronModel("relu"),
        name="fz",
    )
    path = write_npz(net, tmp_path_factory.mktemp("src") / "src.npz")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


_input = st.one_of(
    st.tuples(st.just("csr"), st.lists(_csr_mutation(), min_size=1, max_size=3), st.integers(0, 2**16)),
    st.tuples(st.just("header"), st.integers(0, 10**6), _json),
    st.tuples(st.just("array"), st.integers(0, 10**6), _arrays()),
    st.tuples(st.just("bytes"), st.binary(max_size=200), st.none()),
    st.tuples(st.just("profile"), st.integers(0, 10**6), _json),
)


def _write(kind: str, a, b, src: dict[str, np.ndarray], path: Path) -> list[str]:
    """Write one malformed input; return the extra CLI arguments of ``map``."""
    if kind == "profile":
        base = yaml.safe_load((ROOT / "hwmodels" / "generic.yaml").read_text())
        paths = _paths(base)
        prof = path.with_suffix(".yaml")
        prof.write_text(yaml.safe_dump(_mutate(b, base, list(paths[a % len(paths)]))))
        np.savez(path, **src)
        return ["--chip", str(prof)]
    if kind == "bytes":
        path.write_bytes(a)
        return ["--chip", "generic"]
    arrays = {k: v.copy() for k, v in src.items()}
    if kind == "csr":
        arrays = _mutated(arrays, a, np.random.default_rng(b))
    elif kind == "header":
        header = json.loads(arrays["__network__"].tobytes())
        paths = _paths(header)
        header = _mutate(b, header, list(paths[a % len(paths)]))
        arrays["__network__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    else:
        keys = sorted(k for k in arrays if k != "__network__")
        arrays[keys[a % len(keys)]] = b
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return ["--chip", "generic"]


def _check_batch(tmp: Path, src: dict[str, np.ndarray], inputs: list) -> None:
    cases = []
    for i, (kind, a, b) in enumerate(inputs):
        f = tmp / f"in{i}.npz"
        extra = _write(kind, a, b, src, f)
        cases.append({"name": f"map:{i}:{kind}", "argv": ["map", f.name, *extra], "cwd": str(tmp), "out": None})
        cases.append({"name": f"convert:{i}:{kind}", "argv": ["convert", f.name, f"out{i}.nir"], "cwd": str(tmp), "out": f"out{i}.nir"})  # fmt: skip
    results = run_driver(cases, tmp)
    bad = []
    for case, res in zip(cases, results, strict=True):
        err = res["stderr"].strip()
        if res["rc"] not in (0, 2, 3) or "Traceback" in err:
            bad.append(f"{case['name']}: rc={res['rc']} {err[-600:]}")
        elif res["rc"] == 2 and len([line for line in err.splitlines() if line.startswith("neurosim")]) != 1:
            bad.append(f"{case['name']}: error is not one line: {err[-600:]}")
        if res["rc"] != 0 and case["out"]:
            left = [p.name for p in tmp.iterdir() if case["out"] in p.name]
            if left:
                bad.append(f"{case['name']}: left {left} after failing")
    assert not bad, "\n".join(bad)


def _run(tmp_path_factory, source, inputs) -> None:
    tmp = tmp_path_factory.mktemp("cli")
    try:
        _check_batch(tmp, source, inputs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=1, deadline=None, suppress_health_check=_HEALTH)
@given(inputs=st.lists(_input, min_size=FAST_BATCH, max_size=FAST_BATCH))
def test_cli_fuzz_no_crash_no_traceback(tmp_path_factory, source, inputs):
    _run(tmp_path_factory, source, inputs)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=_HEALTH)
@given(inputs=st.lists(_input, min_size=BATCH, max_size=BATCH))
def test_cli_fuzz_no_crash_no_traceback_slow(tmp_path_factory, source, inputs):
    _run(tmp_path_factory, source, inputs)
