"""Check neurosim's export presets in the libraries themselves (run it with the peer venv).

For each case, ``neurosim convert CASE.nir OUT.nir --target LIB`` has written
``OUT.nir`` (this script runs the conversions with the repository's neurosim,
found on ``PYTHONPATH`` or installed); the library then imports it with its own
NIR importer and runs the case's recorded inputs. The library's output spike
counts are compared with the counts the case recorded from the original
network (which neurosim reproduces exactly: tests/io/test_nir_corpus.py).
Results go to ``PRESETS.json``, quoted in docs/formats.md.

    /work/peers-venv/bin/python tests/data/nir/check_presets.py \
        --neurosim .venv/bin/neurosim --neurosim-python .venv/bin/python
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# (case, target, extra convert flags)
RUNS = [
    ("snntorch_lif_zero", "snntorch", ["--reset", "zero"]),
    ("norse_lifbox", "snntorch", []),
    ("snntorch_lif_zero", "norse", ["--reset", "zero"]),
    ("norse_lifbox", "norse", []),
    ("norse_lif", "norse", []),
    ("snntorch_cnn", "snntorch", ["--reset", "zero"]),
    # an IF network (sinabs' MLP read with zero reset): the expected counts are neurosim's own
    ("sinabs_iaf_single", "snntorch", ["--reset", "zero"]),
    ("norse_cnn", "norse", []),
    ("sinabs_iaf_single", "sinabs", []),
    ("sinabs_cnn", "sinabs", []),
    ("sinabs_iaf_single", "sinabs_unclipped", []),
    ("sinabs_cnn", "sinabs_unclipped", []),
]


def _convert(neurosim: str, case: str, target: str, flags: list[str], out: Path) -> None:
    cmd = [neurosim, "convert", str(HERE / f"{case}.nir"), str(out),
           "--target", target, "--force", *flags]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


_NEUROSIM_COUNTS = """
import json, sys
import numpy as np
from neurosim.io.nir_format import read_nir
from neurosim.sim.simulate import simulate
path, npz = sys.argv[1], sys.argv[2]
x = np.load(npz)["x"].astype(float)
net = read_nir(path, reset="zero")
res = simulate(net, x.reshape(x.shape[0], x.shape[1], -1), "reference", dt_s=1e-3)
print(json.dumps(np.asarray(res.spike_counts[net.outputs[0]]).tolist()))
"""


def _neurosim_counts(python: str, case: str) -> np.ndarray:
    """Output spike counts of neurosim's reference backend (the case read with zero reset)."""
    out = subprocess.run([python, "-c", _NEUROSIM_COUNTS, str(HERE / f"{case}.nir"), str(HERE / f"{case}.npz")],
                         check=True, capture_output=True, text=True).stdout
    return np.asarray(json.loads(out))


def _run_snntorch(graph, x: np.ndarray) -> np.ndarray:
    import nir
    import torch
    from snntorch.import_nir import import_from_nir

    if any(isinstance(n, nir.Flatten) for n in graph.nodes.values()) and x.shape[1] > 1:
        # snnTorch 1.0 hands NIR's start_dim to torch.nn.Flatten, which counts the batch
        # dimension: a network with a Flatten runs one sample at a time
        return np.concatenate([_run_snntorch(graph, x[:, i:i + 1]) for i in range(x.shape[1])])
    net = import_from_nir(graph)
    state, total = None, 0
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = net(torch.from_numpy(x[t]).float(), state)
            total = total + out.numpy()
    return np.asarray(total).reshape(x.shape[1], -1)


def _run_norse(graph, x: np.ndarray) -> np.ndarray:
    import torch
    from norse.torch import from_nir

    net = from_nir(graph)
    state, total = None, 0
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = net(torch.from_numpy(x[t]).float(), state)
            total = total + out.to_dense().numpy()
    return np.asarray(total)


def _run_sinabs(graph, x: np.ndarray, unclipped: bool = False) -> np.ndarray:
    import sinabs
    import torch

    t, b = x.shape[:2]
    net = sinabs.from_nir(graph, batch_size=b)
    for m in net.modules():
        if hasattr(m, "spike_fn"):
            m.spike_fn = sinabs.activation.SingleSpike  # the fixtures' spike function
            if unclipped:
                m.min_v_mem = None  # from_nir sets -v_threshold: v is clipped there
    xb = torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1))).float().reshape(b * t, *x.shape[2:])
    with torch.no_grad():
        y = net(xb)
    y = y[0] if isinstance(y, tuple) else y  # nirtorch's executor returns (output, state)
    return y.reshape(b, t, -1).sum(1).numpy()


def main() -> None:
    import argparse

    import nir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurosim", default="neurosim", help="the neurosim command (its own venv)")
    parser.add_argument("--neurosim-python", default="python3", help="the python of neurosim's venv")
    args = parser.parse_args()

    runners = {
        "snntorch": _run_snntorch, "norse": _run_norse, "sinabs": _run_sinabs,
        "sinabs_unclipped": lambda g, x: _run_sinabs(g, x, unclipped=True),
    }
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, target, flags in RUNS:
            d = np.load(HERE / f"{case}.npz")
            x, expected = d["x"].astype(np.float32), d["counts"]
            if case.startswith("sinabs") and target == "snntorch":
                expected = _neurosim_counts(args.neurosim_python, case)
            out = Path(tmp) / f"{case}_{target}.nir"
            row = {"case": case, "target": target, "flags": flags,
                   "expected_from": "neurosim" if case.startswith("sinabs") and target == "snntorch" else case}
            try:
                _convert(args.neurosim, case, target.split("_")[0], flags, out)
                got = runners[target](nir.read(out), x).reshape(expected.shape)
                row.update(max_abs_diff=int(np.abs(got - expected).max()), total=int(got.sum()),
                           expected_total=int(expected.sum()))
            except Exception as exc:  # record what the library did
                row["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            print(row)
            results.append(row)
    pkgs = ("torch", "snntorch", "norse", "sinabs", "nir", "nirtorch")
    (HERE / "PRESETS.json").write_text(json.dumps(
        {"versions": {p: version(p) for p in pkgs}, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
