"""Regenerate the NIR conformance corpus in this folder (run it with the peer venv).

Each case builds a small network in one library (snnTorch, Norse, sinabs),
exports it with **that library's own NIR exporter**, runs **that library's
own forward pass** on fixed seeded inputs, and records

* ``<case>.nir``: the exported graph, as the library wrote it;
* ``<case>.npz``: ``x`` (inputs, shape ``(T, B, *in_shape)``, the values fed
  at every step), ``counts`` (output spike counts summed over the ``T``
  steps, shape ``(B, n_out)``), ``hidden`` (spike counts of every hidden
  spiking layer, concatenated), and ``info`` (a JSON string: library and
  version, dt, reset, spike function, how the file was exported).

torch and the exporters are *not* dependencies of neurosim and are not in
CI's install; the tests only read the recorded files. Usage::

    python3 -m venv /work/peers-venv
    /work/peers-venv/bin/pip install torch==2.13.0        # CPU wheel
    /work/peers-venv/bin/pip install -e '.[peers]'        # snntorch, norse, sinabs, nir
    /work/peers-venv/bin/python tests/data/nir/make_corpus.py [--only NAME]

Versions used for the files in the repository: see ``VERSIONS.json``
(written by this script).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
T, B = 40, 6  # steps, samples
N_IN, N_HID, N_OUT = 8, 12, 4
SEED = 1234


def _torch():
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    return torch


def _inputs(shape: tuple[int, ...], rate: float = 0.5) -> np.ndarray:
    """Seeded Bernoulli spike trains, float32, shape ``(T, B, *shape)``."""
    rng = np.random.default_rng(SEED)
    return (rng.random((T, B, *shape)) < rate).astype(np.float32)


def _scaled_linear(torch, n_in: int, n_out: int, gain: float, bias: bool = True):
    lin = torch.nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        lin.weight.mul_(gain)
        if bias:
            lin.bias.mul_(0.5)
    return lin


def _save(name: str, graph, x: np.ndarray, counts, hidden, info: dict) -> None:
    import nir

    nir.write(HERE / f"{name}.nir", graph, compression=None)
    np.savez_compressed(
        HERE / f"{name}.npz",
        x=x.astype(np.uint8) if set(np.unique(x)) <= {0.0, 1.0} else x.astype(np.float32),
        counts=np.asarray(counts, dtype=np.int32),
        hidden=np.asarray(hidden, dtype=np.int32),
        info=np.array(json.dumps(info)),
    )
    print(f"{name}: out counts total {int(np.sum(counts))}, hidden {int(np.sum(hidden))}")


# --------------------------------------------------------------------- snnTorch
def _snntorch_mlp(reset: str) -> tuple:
    torch = _torch()
    import nirtorch
    import snntorch as snn
    from snntorch.export_nir import _extract_snntorch_module

    beta = 0.9
    fc1 = _scaled_linear(torch, N_IN, N_HID, 2.0)
    fc2 = _scaled_linear(torch, N_HID, N_OUT, 2.5)
    net = torch.nn.Sequential(
        fc1,
        snn.Leaky(beta=beta, init_hidden=True, reset_mechanism=reset),
        fc2,
        snn.Leaky(beta=beta, init_hidden=True, reset_mechanism=reset, output=True),
    )
    # snnTorch 1.0's export_to_nir ends with graph.infer_types(), which raises for a
    # scalar beta (0-d LIF parameters); its own node extractor, without that check:
    graph = nirtorch.extract_nir_graph(
        net, _extract_snntorch_module, torch.zeros(N_IN), model_name="snntorch",
        ignore_submodules_of=[snn.RLeaky, snn.RSynaptic],
    )
    x = _inputs((N_IN,))
    lif1, lif2 = net[1], net[3]
    lif1.reset_mem()
    lif2.reset_mem()
    out = np.zeros((B, N_OUT))
    hid = np.zeros((B, N_HID))
    with torch.no_grad():
        for t in range(T):
            s1 = lif1(fc1(torch.from_numpy(x[t])))
            s2, _ = lif2(fc2(s1))
            hid += s1.numpy()
            out += s2.numpy()
    info = {"library": "snntorch", "version": version("snntorch"), "dt_s": 1e-4,
            "reset": reset, "reset_delay": True, "beta": beta, "threshold": 1.0,
            "spike": "v > threshold", "exporter": "nirtorch.extract_nir_graph(_extract_snntorch_module)"}
    return graph, x, out, hid, info


# ------------------------------------------------------------------------ Norse
def _norse_mlp(cell: str) -> tuple:
    torch = _torch()
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    cls = {"lifbox": norse.LIFBoxCell, "lif": norse.LIFCell}[cell]
    gain1, gain2 = {"lifbox": (10.0, 25.0), "lif": (2.5, 8.0)}[cell]
    fc1 = _scaled_linear(torch, N_IN, N_HID, gain1)
    fc2 = _scaled_linear(torch, N_HID, N_OUT, gain2)
    c1, c2 = cls(), cls()
    model = norse.SequentialState(fc1, c1, fc2, c2)
    graph = to_nir(model, torch.zeros(1, N_IN), model_name="norse")
    x = _inputs((N_IN,))
    out = np.zeros((B, N_OUT))
    hid = np.zeros((B, N_HID))
    s1 = s2 = None
    with torch.no_grad():
        for t in range(T):
            z1, s1 = c1(fc1(torch.from_numpy(x[t])), s1)
            z2, s2 = c2(fc2(z1), s2)
            hid += z1.to_dense().numpy()
            out += z2.to_dense().numpy()
    info = {"library": "norse", "version": version("norse"), "dt_s": 1e-3, "cell": cls.__name__,
            "reset": "zero", "spike": "v > v_th", "exporter": "norse.torch.utils.export_nir.to_nir"}
    return graph, x, out, hid, info


# ----------------------------------------------------------------------- sinabs
def _sinabs_mlp(spike: str) -> tuple:
    torch = _torch()
    import sinabs.activation as sa
    import sinabs.layers as sl
    from sinabs.nir import to_nir

    fn = {"single": sa.SingleSpike, "multi": sa.MultiSpike}[spike]
    gain = 3.0
    fc1 = _scaled_linear(torch, N_IN, N_HID, gain)
    fc2 = _scaled_linear(torch, N_HID, N_OUT, gain)
    model = torch.nn.Sequential(fc1, sl.IAF(spike_fn=fn), fc2, sl.IAF(spike_fn=fn))
    x = _inputs((N_IN,))
    xb = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))  # (B, T, N)
    with torch.no_grad():
        model(xb)  # sizes the IAF states, then export
        graph = to_nir(model, xb[:1], model_name="sinabs")
        for m in model:
            if isinstance(m, sl.IAF):
                m.reset_states()
        h = model[1](model[0](xb))
        y = model[3](model[2](h))
    info = {"library": "sinabs", "version": version("sinabs"), "dt_s": None,
            "reset": "subtract", "spike_fn": fn.__name__, "spike": "v >= threshold",
            "exporter": "sinabs.nir.to_nir"}
    return graph, x, y.sum(1).numpy(), h.sum(1).numpy(), info


CASES: dict[str, Callable[[], tuple]] = {
    "snntorch_lif_zero": lambda: _snntorch_mlp("zero"),
    "snntorch_lif_subtract": lambda: _snntorch_mlp("subtract"),
    "norse_lifbox": lambda: _norse_mlp("lifbox"),
    "norse_lif": lambda: _norse_mlp("lif"),
    "sinabs_iaf_single": lambda: _sinabs_mlp("single"),
    "sinabs_iaf_multi": lambda: _sinabs_mlp("multi"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="case names (default: all)")
    args = parser.parse_args()
    for name, make in CASES.items():
        if args.only and name not in args.only:
            continue
        _save(name, *make())
    pkgs = ("torch", "snntorch", "norse", "sinabs", "nir", "nirtorch", "numpy")
    (HERE / "VERSIONS.json").write_text(json.dumps({p: version(p) for p in pkgs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
