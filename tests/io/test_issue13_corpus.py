"""Issue 13's malformed inputs, through the real CLI in a subprocess.

Each case must end with exit 2 and one stderr line ``neurosim: error: ...``
that names the file and the field at fault, no traceback, no segmentation
fault (the subprocess would die with a signal), and no output left behind,
hidden ``.part`` files included. The cases are built here, from a valid
network, so the corpus is the issue's list: CSR indices out of range and
negative, a decreasing ``indptr``, NaN/inf weights, absurd shapes, profile
figures beyond bounds, duplicate YAML keys, an over-large fan-in, a
misspelt generator parameter, a 2**80 seed, a NIR graph with no edges,
bad Graph Challenge rows and truncated IDX files.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from neurosim.io.npz import write_npz
from neurosim.network import Network
from neurosim.neurons import NeuronModel

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("cli_driver.py")


def _npz_variant(src: dict[str, np.ndarray], path: Path, change) -> None:
    arrays = {k: v.copy() for k, v in src.items()}
    header = json.loads(arrays["__network__"].tobytes())
    change(arrays, header)
    arrays["__network__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def _set(key: str, index, value):
    def change(arrays, header):
        arrays[key][index] = value

    return change


def _shape(value):
    def change(arrays, header):
        header["projections"][0]["shape"] = value

    return change


def _decreasing(arrays, header):
    p = arrays["proj0_indptr"]
    p[1], p[2] = p[2] + 1, p[1]


def _build(tmp: Path) -> list[dict]:
    """Write every malformed input into ``tmp``; return the cases."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(20, 10)) * (rng.random((20, 10)) < 0.5)
    net = Network.from_layers([w1, rng.normal(size=(10, 3))], model=NeuronModel("relu"), name="c")
    write_npz(net, tmp / "net.npz")
    with np.load(tmp / "net.npz") as z:
        src = {k: z[k] for k in z.files}
    npz_cases = {
        "index_out_of_range": (_set("proj0_indices", 0, 10**6), "proj0_indices"),
        "index_negative": (_set("proj0_indices", 0, -3), "proj0_indices"),
        "indptr_decreasing": (_decreasing, "proj0_indptr"),
        "weight_nan": (_set("proj0_data", 0, np.nan), "proj0_data"),
        "weight_inf": (_set("proj1_data", 1, -np.inf), "proj1_data"),
        "bias_nan": (_set("pop1_bias", 0, np.nan), "pop1_bias"),
        "shape_absurd": (_shape([20, 10**12]), "shape"),
        "shape_negative": (_shape([-20, 10]), "shape"),
    }
    cases = []
    for name, (change, field) in npz_cases.items():
        f = tmp / f"{name}.npz"
        _npz_variant(src, f, change)
        for cmd, extra, out in (
            ("map", ["--chip", "generic"], None),
            ("convert", [str(tmp / f"out_{name}")], f"out_{name}"),
            ("simulate", ["--chip", "generic", "--data", "digits"], None),
        ):
            cases.append(
                {"name": f"{cmd}:{name}", "argv": [cmd, str(f), *extra], "file": f.name,
                 "field": field, "absent": [out] if out else []}  # fmt: skip
            )
    # profiles: a figure beyond its bound, a key given twice, an override beyond bounds
    base = yaml.safe_load((ROOT / "hwmodels" / "generic.yaml").read_text())
    base["core"]["max_neurons"]["value"] = 10**20
    (tmp / "big.yaml").write_text(yaml.safe_dump(base))
    text = (ROOT / "hwmodels" / "generic.yaml").read_text()
    (tmp / "dup.yaml").write_text(text + "\nchip:\n  n_cores: {value: 1, provenance: definition}\n")
    for name, argv, file, field in (
        ("profile_bound", ["map", "net.npz", "--chip", str(tmp / "big.yaml")], "big.yaml", "core.max_neurons"),
        ("profile_duplicate_key", ["map", "net.npz", "--chip", str(tmp / "dup.yaml")], "dup.yaml", "duplicate key 'chip'"),
        ("override_bound", ["map", "net.npz", "--chip", "generic", "--set", "core.max_neurons=100000000000000000000"], "generic", "core.max_neurons"),
        ("override_negative", ["map", "net.npz", "--chip", "generic", "--set", "energy.synop_pj=-1"], "generic", "energy.synop_pj"),
    ):  # fmt: skip
        cases.append({"name": name, "argv": argv, "file": file, "field": field, "absent": []})
    # generators
    cases += [
        {"name": "fan_in_above_layer", "file": "random", "field": "fan_in 50",
         "argv": ["generate", "random", "--neurons", "10", "--layers", "2", "--fan-in", "50", "--out", "g1.npz"],
         "absent": ["g1.npz"]},
        {"name": "exact_absurd_size", "file": "exact solution", "field": "neurons; expected at most",
         "argv": ["generate", "exact", "--neurons", "100000000000", "--out", "g3.npz"], "absent": ["g3.npz"]},
        {"name": "radixnet_absurd_size", "file": "radixnet", "field": "neurons; expected at most",
         "argv": ["generate", "radixnet", "--radices", "100000,100000", "--out", "g4.npz"], "absent": ["g4.npz"]},
        {"name": "neurofabric_fan_in_above_width", "file": "random topology", "field": "fan_in 99",
         "argv": ["generate", "neurofabric", "--topology", "random", "--width", "16", "--layers", "2",
                  "--fan-in", "99", "--out", "g5.npz"], "absent": ["g5.npz"]},
        {"name": "misspelt_flag", "file": "neurosim", "field": "--neuronz",
         "argv": ["generate", "random", "--neuronz", "10", "--layers", "2", "--fan-in", "5", "--out", "g2.npz"],
         "absent": ["g2.npz"]},
    ]  # fmt: skip
    # scenarios: a 2**80 seed, a misspelt generator parameter
    sc = {"name": "s", "dataset": {"name": "digits", "limit": 10}, "chips": ["generic"],
          "network": {"generate": {"generator": "random", "parameters": {"layer_sizes": [64, 10], "fan_in": 4}}}}  # fmt: skip
    (tmp / "seed.yaml").write_text(yaml.safe_dump({**sc, "seed": 2**80}))
    bad_gen = json.loads(json.dumps(sc))
    bad_gen["network"]["generate"]["parameters"] = {"neuronz": 10, "fan_in": 4}
    (tmp / "neuronz.yaml").write_text(yaml.safe_dump(bad_gen))
    # a run that fails after it started (loading the network): on a pipe, no progress line before the error
    (tmp / "late.yaml").write_text(
        yaml.safe_dump({**{k: v for k, v in sc.items() if k != "network"},
                        "network": {"load": {"path": "index_out_of_range.npz"}}})  # fmt: skip
    )
    for name, file, field in (
        ("scenario_seed", "seed.yaml", "seed"),
        ("scenario_neuronz", "neuronz.yaml", "neuronz"),
        ("scenario_late_failure", "index_out_of_range.npz", "proj0_indices"),
    ):
        file_arg = "late.yaml" if name == "scenario_late_failure" else file
        cases.append({"name": name, "argv": ["run", file_arg, "--out", f"out_{name}"], "file": file,
                      "field": field, "absent": [f"out_{name}"]})  # fmt: skip
    # NIR: a graph with no edges
    import nir

    nir.write(
        tmp / "noedge.nir",
        nir.NIRGraph(
            nodes={"in": nir.Input(input_type={"input": np.array([3])}),
                   "out": nir.Output(output_type={"output": np.array([3])})},  # fmt: skip
            edges=[],
        ),
    )
    cases.append({"name": "nir_no_edges", "argv": ["map", "noedge.nir", "--chip", "generic"],
                  "file": "noedge.nir", "field": "no projections", "absent": []})  # fmt: skip
    nir.write(
        tmp / "nan.nir",
        nir.NIRGraph(
            nodes={"in": nir.Input(input_type={"input": np.array([3])}),
                   "fc": nir.Affine(weight=np.array([[np.nan, 1, 1], [1, 1, 1]]), bias=np.zeros(2)),
                   "out": nir.Output(output_type={"output": np.array([2])})},  # fmt: skip
            edges=[("in", "fc"), ("fc", "out")],
        ),
    )
    cases.append({"name": "nir_nan_weight", "argv": ["map", "nan.nir", "--chip", "generic"],
                  "file": "nan.nir", "field": "fc", "absent": []})  # fmt: skip
    # Graph Challenge TSV: row out of range, NaN value
    for name, line, field in (("gc_row", "99999\t1\t0.0625", "row index"), ("gc_nan", "1\t1\tnan", "not finite")):
        d = tmp / name
        d.mkdir()
        (d / "n1024-l1.tsv").write_text(f"{line}\n2\t2\t0.0625\n")
        cases.append({"name": name, "argv": ["convert", name, f"{name}.npz"], "file": "n1024-l1.tsv",
                      "field": field, "absent": [f"{name}.npz"]})  # fmt: skip
    # IDX: header promises more images than the file holds
    mn = tmp / "ds" / "mnist"
    mn.mkdir(parents=True)
    for p in ("t10k", "train"):
        (mn / f"{p}-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28) + bytes(100))
        (mn / f"{p}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 2**31) + bytes(10))
    cases.append({"name": "idx_truncated", "argv": ["simulate", "net.npz", "--chip", "generic", "--data", "mnist", "--data-path", "ds"],
                  "file": "images-idx3-ubyte", "field": "truncated", "absent": []})  # fmt: skip
    for c in cases:
        c["cwd"] = str(tmp)
    return cases


def run_driver(cases: list[dict], tmp: Path, timeout: float = 600) -> list[dict]:
    """Run the cases in one subprocess; a signal (segfault) names the case that caused it."""
    spec = tmp / "cases.json"
    spec.write_text(json.dumps(cases))
    progress = tmp / "progress.txt"
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(spec), str(progress)],
        capture_output=True, text=True, timeout=timeout, cwd=tmp,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "COLUMNS": "80"},
    )  # fmt: skip
    last = progress.read_text().splitlines()[-1:] if progress.exists() else []
    assert proc.returncode == 0, f"driver died (rc {proc.returncode}) in case {last}: {proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def _entries(tmp: Path) -> set[str]:
    return {str(p.relative_to(tmp)) for p in tmp.rglob("*")}


def test_issue13_corpus_exits_2_naming_file_and_field(tmp_path):
    cases = _build(tmp_path)
    before = _entries(tmp_path) | {"cases.json", "progress.txt"}
    results = run_driver(cases, tmp_path)
    failures = []
    for case, res in zip(cases, results, strict=True):
        err = res["stderr"].strip()
        lines = err.splitlines()
        ok = (
            res["rc"] == 2
            and "Traceback" not in err
            and len(lines) == 1 + ("usage:" in err)  # argparse adds its usage line
            and lines[-1].startswith("neurosim")
            and case["file"] in lines[-1]
            and case["field"] in lines[-1]
            and not any((tmp_path / a).exists() for a in case["absent"])
        )
        if not ok:
            failures.append(f"{case['name']}: rc={res['rc']} stderr={err[-400:]!r}")
    assert not failures, "\n".join(failures)
    left = _entries(tmp_path) - before
    assert not left, f"outputs left behind: {sorted(left)}"  # hidden .part files included
