"""Network -> NIR graph: the exact neurosim form (``target="nir"``) and per-library presets.

``nir`` (default) writes NIR's equations literally and records neurosim's
names, order and per-neuron flags in the graph metadata, so neurosim -> NIR
-> neurosim is exact. The presets write what each library's NIR importer
reads correctly (see :mod:`neurosim.io.nirio.presets`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from neurosim.errors import NetworkError
from neurosim.io.nirio.builder import PARAM_MAP
from neurosim.io.nirio.graph import NEURON_TYPES, one_line
from neurosim.network import Network, Population, Projection

__all__ = ["META_KEY", "graph_from_network"]

META_KEY = "neurosim"
_NIR_TYPE_OF = {kind: nir_type for nir_type, kind in NEURON_TYPES.items()}


def _full(value: np.ndarray, p: Population) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    out = np.full(p.size, float(v)) if v.ndim == 0 else v.copy()
    return out.reshape(p.shape) if p.shape is not None else out


def _check(network: Network) -> None:
    default_inputs = tuple(p.name for p in network.populations if p.model.kind == "input")
    if tuple(network.inputs) != default_inputs:
        raise NetworkError(
            f"network {network.name}: inputs {list(network.inputs)} differ from its input-kind populations "
            f"{list(default_inputs)}; NIR Input nodes are exactly the input populations"
        )
    for p in network.populations:
        if p.model.kind == "relu":
            raise NetworkError(
                f"network {network.name}: population {p.name!r} is relu; NIR 1.0 has no ReLU node "
                "(export spiking if/lif or linear populations, or use .npz)"
            )


def _population_node(nir: Any, p: Population, as_output: bool, params: dict[str, np.ndarray]) -> Any:
    kind = p.model.kind
    shape = np.array(p.shape if p.shape is not None else (p.size,))
    if kind == "input":
        return nir.Input(input_type={"input": shape})
    if kind in _NIR_TYPE_OF:
        nir_type = _NIR_TYPE_OF[kind]
        return getattr(nir, nir_type)(**{key: params[ours] for key, ours in PARAM_MAP[nir_type].items()})
    if as_output:
        return nir.Output(output_type={"output": shape})
    return nir.Flatten(input_type={"input": shape}, start_dim=0, end_dim=-1)


def _channel_bias(network: Network, pr: Projection) -> np.ndarray:
    """A population bias as one value per output channel of a convolution (refused if it varies)."""
    post = network.population(pr.post)
    c = pr.spec.out_shape[0]
    per = post.bias.reshape(c, -1)
    if not (per == per[:, :1]).all():
        raise NetworkError(
            f"network {network.name}: population {post.name!r} has a bias that varies within a channel; "
            f"NIR {'Conv2d' if pr.spec.ndim == 2 else 'Conv1d'} carries one bias per channel"
        )
    return per[:, 0].copy()


def _weight_node(nir: Any, network: Network, pr: Projection, carries_bias: bool) -> Any:
    post = network.population(pr.post)
    spec = pr.spec
    if spec is not None and spec.kind == "conv":
        cls = nir.Conv2d if spec.ndim == 2 else nir.Conv1d
        bias = _channel_bias(network, pr) if carries_bias else np.zeros(spec.out_shape[0])
        spatial = tuple(spec.in_shape[1:])
        return cls(
            input_shape=spatial if spec.ndim == 2 else spatial[0], weight=np.array(spec.kernel),
            stride=spec.stride, padding=spec.padding, dilation=spec.dilation, groups=spec.groups, bias=bias,
        )
    if spec is not None:
        cls = nir.SumPool2d if spec.mode == "sum" else nir.AvgPool2d
        return cls(kernel_size=np.array(spec.window), stride=np.array(spec.stride), padding=np.array(spec.padding))
    dense = np.ascontiguousarray(pr.weights.toarray().T)
    if carries_bias:
        return nir.Affine(weight=dense, bias=post.bias.copy())
    return nir.Linear(weight=dense)


def _carriers(network: Network) -> dict[str, str]:
    """Projection that carries each population's bias (its first incoming one)."""
    carrier: dict[str, str] = {}
    for p in network.populations:
        if p.model.kind == "input" or not np.any(p.bias != 0):
            continue
        incoming = [pr for pr in network.projections_into(p.name) if pr.kind != "pool"]
        if not incoming:
            raise NetworkError(
                f"network {network.name}: population {p.name!r} has a bias but no incoming projection "
                "that can carry it; NIR carries biases only on Affine and Conv nodes"
            )
        carrier[incoming[0].name] = p.name
    return carrier


def _unique(name: str, used: set[str]) -> str:
    out, i = name, 1
    while out in used:
        out = f"{name}#{i}"
        i += 1
    used.add(out)
    return out


def graph_from_network(network: Network, target: str = "nir") -> Any:
    """Build the ``nir.NIRGraph`` of ``network`` as it is (a preset has already rewritten it)."""
    import nir

    _check(network)
    has_out = {pr.pre for pr in network.projections}
    nodes: dict[str, Any] = {}
    per_neuron: dict[str, list[str]] = {}
    as_output: set[str] = set()
    for p in network.populations:
        if p.model.is_spiking and p.model.reset != "zero" and target != "sinabs":
            raise NetworkError(
                f"network {network.name}: population {p.name!r} uses reset {p.model.reset!r}; "
                "NIR neurons reset to v_reset (reset 'zero'); pass a --target preset (sinabs) to write it"
            )
        per = [k for k, v in p.model.params.items() if v.ndim == 1]
        if per:
            per_neuron[p.name] = per
        out_node = p.model.kind == "linear" and p.name in network.outputs and p.name not in has_out
        if out_node:
            as_output.add(p.name)
        prm = {k: _full(v, p) for k, v in p.model.params.items()}
        nodes[p.name] = _population_node(nir, p, out_node, prm)
    edges = _weight_edges(nir, network, nodes)
    _output_edges(nir, network, nodes, edges, as_output)
    info = {
        "name": network.name, "metadata": dict(network.metadata),
        "populations": [p.name for p in network.populations],
        "projections": [pr.name for pr in network.projections],
        "outputs": list(network.outputs), "per_neuron": per_neuron,
        "target": target,
    }
    try:
        meta_json = json.dumps(info)
    except TypeError as exc:
        raise NetworkError(f"network {network.name}: metadata is not JSON-serialisable ({exc})") from None
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata={META_KEY: meta_json}, type_check=False)
    except Exception as exc:  # nir validates with assert / ValueError
        raise NetworkError(f"network {network.name}: nir rejected the graph ({one_line(exc)})") from None


def _weight_edges(nir: Any, network: Network, nodes: dict[str, Any]) -> list[tuple[str, str]]:
    carrier = _carriers(network)
    used = set(nodes)
    edges: list[tuple[str, str]] = []
    for pr in network.projections:
        wname = _unique(pr.name, used)
        nodes[wname] = _weight_node(nir, network, pr, pr.name in carrier)
        last = wname
        if pr.kind == "pool" and pr.spec.gain != 1:  # NIR pooling has no gain: a Scale after it
            last = _unique(f"{wname}.gain", used)
            nodes[last] = nir.Scale(scale=np.full(pr.spec.out_shape, pr.spec.gain))
            edges.append((wname, last))
        pre = network.population(pr.pre)
        src = pr.pre
        if pr.spec is None and pre.shape is not None:
            src = _unique(f"{pr.pre}.flat", used) if f"{pr.pre}.flat" not in nodes else f"{pr.pre}.flat"
            if src not in nodes:
                nodes[src] = nir.Flatten(input_type={"input": np.array(pre.shape)}, start_dim=0, end_dim=-1)
                edges.append((pr.pre, src))
        edges += [(src, wname), (last, pr.post)]
    return edges


def _output_edges(nir: Any, network: Network, nodes: dict, edges: list, as_output: set[str]) -> None:
    used = set(nodes)
    for o in network.outputs:
        if o in as_output:
            continue
        oname = _unique(f"{o}.output", used)
        p = network.population(o)
        nodes[oname] = nir.Output(output_type={"output": np.array(p.shape if p.shape else (p.size,))})
        edges.append((o, oname))
