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
(written by this script). No Lava case: lava-nc 0.10.0 requires Python < 3.11.
No Conv1d case: of the three, only sinabs exports Conv1d, and sinabs 2.0.3's
exporter fails on it (``if module.bias`` on a bias tensor; no ``input_shape``).
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


class _WithoutNone:
    """A graph whose ``to_dict`` leaves out None fields (optional in NIR, unstorable by nir 1.0.8)."""

    def __init__(self, graph) -> None:
        self.graph = graph

    def to_dict(self) -> dict:
        def drop(d):
            return {k: drop(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}

        return drop(self.graph.to_dict())


def _save(name: str, graph, x: np.ndarray, counts, hidden, info: dict) -> None:
    import nir

    try:
        nir.write(HERE / f"{name}.nir", graph, compression=None)
    except TypeError:  # a None field, e.g. Norse 1.1's Conv2d.input_shape
        nir.write(HERE / f"{name}.nir", _WithoutNone(graph), compression=None)
        info = {**info, "written": "None fields (optional in NIR) left out: nir.write cannot store them"}
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


def _snntorch_synaptic() -> tuple:
    torch = _torch()
    import nirtorch
    import snntorch as snn
    from snntorch.export_nir import _extract_snntorch_module

    fc1 = _scaled_linear(torch, N_IN, N_HID, 1.0)
    fc2 = _scaled_linear(torch, N_HID, N_OUT, 1.5)
    net = torch.nn.Sequential(
        fc1, snn.Synaptic(alpha=0.8, beta=0.9, init_hidden=True, reset_mechanism="zero"),
        fc2, snn.Synaptic(alpha=0.8, beta=0.9, init_hidden=True, reset_mechanism="zero", output=True),
    )
    graph = nirtorch.extract_nir_graph(
        net, _extract_snntorch_module, torch.zeros(N_IN), model_name="snntorch",
        ignore_submodules_of=[snn.RLeaky, snn.RSynaptic],
    )
    x = _inputs((N_IN,))
    syn1, syn2 = net[1], net[3]
    syn1.reset_mem()
    syn2.reset_mem()
    out, hid = np.zeros((B, N_OUT)), np.zeros((B, N_HID))
    with torch.no_grad():
        for t in range(T):
            s1 = syn1(fc1(torch.from_numpy(x[t])))
            s2, _, _ = syn2(fc2(s1))
            hid += s1.numpy()
            out += s2.numpy()
    info = {"library": "snntorch", "version": version("snntorch"), "dt_s": 1e-4, "reset": "zero",
            "neuron": "Synaptic(alpha=0.8, beta=0.9)", "spike": "v > threshold",
            "exporter": "nirtorch.extract_nir_graph(_extract_snntorch_module)"}
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


# ------------------------------------------------------------------------- CNNs
IMG = (1, 8, 8)  # (C, H, W)
N_CLS = 5


def _conv_stack(torch, gain: float):
    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    fc = torch.nn.Linear(4 * 4 * 4, N_CLS)
    with torch.no_grad():
        conv.weight.mul_(gain)
        fc.weight.mul_(gain)
    return conv, fc


def _snntorch_cnn() -> tuple:
    torch = _torch()
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    conv, fc = _conv_stack(torch, 3.0)
    # per-neuron beta and threshold: with scalars snnTorch 1.0 cannot export a CNN
    # (export_to_nir's type inference fails on 0-d LIF parameters, and without it the
    # Conv2d input_shape / Flatten input_type stay None, which nir.write refuses)
    full1, full2 = (4, 8, 8), (N_CLS,)
    net = torch.nn.Sequential(
        conv, snn.Leaky(beta=torch.full(full1, 0.9), threshold=torch.ones(full1), init_hidden=True,
                        reset_mechanism="zero"),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), fc,
        snn.Leaky(beta=torch.full(full2, 0.9), threshold=torch.ones(full2), init_hidden=True,
                  reset_mechanism="zero", output=True),
    )
    graph = export_to_nir(net, torch.zeros(1, *IMG), ignore_dims=[0])
    x = _inputs(IMG, 0.4)
    for m in net:
        if isinstance(m, snn.Leaky):
            m.reset_mem()
    out, hid = np.zeros((B, N_CLS)), np.zeros((B, 4 * 8 * 8))
    with torch.no_grad():
        for t in range(T):
            xt = torch.from_numpy(x[t])
            s1 = net[1](net[0](xt))
            s2, _ = net[5](net[4](net[3](net[2](s1))))
            hid += s1.reshape(B, -1).numpy()
            out += s2.numpy()
    info = {"library": "snntorch", "version": version("snntorch"), "dt_s": 1e-4, "reset": "zero",
            "reset_delay": True, "spike": "v > threshold",
            "exporter": "snntorch.export_nir.export_to_nir"}
    return graph, x, out, hid, info


def _sinabs_cnn() -> tuple:
    torch = _torch()
    import sinabs.activation as sa
    import sinabs.layers as sl
    from sinabs.nir import to_nir

    conv, fc = _conv_stack(torch, 2.0)

    def model_for(batch: int):
        return torch.nn.Sequential(
            conv, sl.IAFSqueeze(batch_size=batch, spike_fn=sa.SingleSpike), sl.SumPool2d(2),
            torch.nn.Flatten(), fc, sl.IAFSqueeze(batch_size=batch, spike_fn=sa.SingleSpike),
        )

    x = _inputs(IMG, 0.4)
    xb = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2, 3, 4))).reshape(B * T, *IMG)
    with torch.no_grad():
        model = model_for(B)  # sinabs' CNN idiom: (batch * time, C, H, W)
        s1 = model[1](model[0](xb))
        y = model[5](model[4](model[3](model[2](s1))))
        one = model_for(1)
        one(xb[:T])
        graph = to_nir(one, xb[:T], model_name="sinabs")
    # sinabs 2.0's to_nir leaves Conv2d.input_shape and Flatten.input_type None, which
    # nir.write cannot store; nir's own type inference fills them in
    graph.infer_types()
    info = {"library": "sinabs", "version": version("sinabs"), "dt_s": None, "reset": "subtract",
            "spike_fn": "SingleSpike", "spike": "v >= threshold", "layers": "IAFSqueeze",
            "exporter": "sinabs.nir.to_nir"}
    counts = y.reshape(B, T, -1).sum(1).numpy()
    return graph, x, counts, s1.reshape(B, T, -1).sum(1).numpy(), info


def _norse_cnn() -> tuple:
    torch = _torch()
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    # Norse 1.1's exporter has no Flatten or pooling (its extractor returns None for
    # them): an all-convolutional network
    conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
    conv2 = torch.nn.Conv2d(4, 2, 3, stride=2)
    with torch.no_grad():
        conv1.weight.mul_(8.0)
        conv2.weight.mul_(30.0)
    c1, c2 = norse.LIFBoxCell(), norse.LIFBoxCell()
    model = norse.SequentialState(conv1, c1, conv2, c2)
    graph = to_nir(model, torch.zeros(1, *IMG), model_name="norse")
    x = _inputs(IMG, 0.4)
    out, hid = np.zeros((B, 2 * 3 * 3)), np.zeros((B, 4 * 8 * 8))
    s1 = s2 = None
    with torch.no_grad():
        for t in range(T):
            z1, s1 = c1(conv1(torch.from_numpy(x[t])), s1)
            z2, s2 = c2(conv2(z1.to_dense()), s2)
            hid += z1.to_dense().reshape(B, -1).numpy()
            out += z2.to_dense().reshape(B, -1).numpy()
    info = {"library": "norse", "version": version("norse"), "dt_s": 1e-3, "cell": "LIFBoxCell",
            "reset": "zero", "spike": "v > v_th", "exporter": "norse.torch.utils.export_nir.to_nir"}
    return graph, x, out, hid, info


CASES: dict[str, Callable[[], tuple]] = {
    "snntorch_lif_zero": lambda: _snntorch_mlp("zero"),
    "snntorch_lif_subtract": lambda: _snntorch_mlp("subtract"),
    "snntorch_synaptic_zero": _snntorch_synaptic,
    "norse_lifbox": lambda: _norse_mlp("lifbox"),
    "norse_lif": lambda: _norse_mlp("lif"),
    "sinabs_iaf_single": lambda: _sinabs_mlp("single"),
    "sinabs_iaf_multi": lambda: _sinabs_mlp("multi"),
    "snntorch_cnn": _snntorch_cnn,
    "sinabs_cnn": _sinabs_cnn,
    "norse_cnn": _norse_cnn,
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
