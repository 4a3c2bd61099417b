"""NIR (Neuromorphic Intermediate Representation) import and export.

NIR graphs (``.nir`` HDF5 files, read and written with the ``nir`` package)
map onto a :class:`~neurosim.network.Network` as follows.

Nodes that hold state or feed data become **populations**:

=============  ===============================================================
NIR node       neurosim population
=============  ===============================================================
``Input``      kind ``input``, ``size = prod(shape)``
``IF``         kind ``if``: ``r -> r``, ``v_threshold -> threshold``, ``v_reset``
``LIF``        kind ``lif``: ``tau -> tau_mem_s``, ``r``, ``v_leak``,
               ``v_threshold -> threshold``, ``v_reset``
``CubaLIF``    kind ``cuba_lif``: ``tau_syn -> tau_syn_s``,
               ``tau_mem -> tau_mem_s``, ``r``, ``v_leak``,
               ``v_threshold -> threshold``, ``v_reset``, ``w_in``
``Threshold``  kind ``threshold``: ``threshold``
``Output``     marks its source population as a network output; when it sums
               several inputs or is fed straight by a weight node it becomes a
               ``linear`` population of its own (a readout)
``Flatten``    an identity: an alias of its source population, or a ``linear``
               population where it sums several inputs or is fed by a weight node
=============  ===============================================================

Weight nodes become **projections**: ``Affine`` and ``Linear`` carry a
``(n_out, n_in)`` matrix ``W`` that is stored transposed as our ``(n_pre,
n_post)`` CSR matrix; ``Scale`` becomes a diagonal projection. A weight node
feeding a population directly is folded into a projection named after the
node; a weight node feeding another weight node is materialised as a ``linear``
population of its own, so chained matrices are never multiplied together
and every array keeps its exact values. An edge between two populations
without a weight node is an identity projection. Several edges into one node
are summed (NIR semantics), which is what several projections into one
population mean here; recurrent edges are allowed.

**Bias.** ``Affine.bias`` is added to the bias of the population the node
feeds. Both NIR (``dv = R * I`` with ``I = W x + b``) and neurosim
(``v += r * (I + bias)``) apply ``r`` to the whole input current, bias
included (``CubaLIF``: ``w_in`` to the whole input ``S = W x + b``;
``Threshold``: the step compares ``W x + b``), so the bias is copied
unscaled and round trips exactly. When
several ``Affine`` nodes feed one population their biases are summed. On
export a population's bias goes to the ``Affine`` node of its first incoming
projection; its other incoming projections are written as ``Linear``.

**Parameters.** NIR stores one value per neuron; on import an array whose
values are all equal becomes a scalar, unless the file was written by
neurosim and says the parameter was per neuron. The network's name,
metadata and population/projection order travel in the graph metadata
entry ``neurosim`` (a JSON string), so a neurosim -> NIR -> neurosim round
trip is exact.

**Not supported** (one-line :class:`~neurosim.errors.NetworkError` naming the
node and its type): ``CubaLI``, ``LI``, ``I`` (graded leaky or integrating
states; no neurosim neuron kind has these dynamics), convolutions,
pooling, ``Delay`` and nested graphs. On export, ``relu`` populations (NIR 1.0
has no ReLU node), the ``subtract`` reset, and a bias on a population without
incoming projections are rejected. NIR fires when ``v > v_threshold``
(``Threshold``: input ``> threshold``), neurosim when ``v >= threshold``
(``threshold`` kind: ``I + bias >= threshold``); the two agree except when
the compared value equals the threshold exactly. ``CubaLIF`` is simulated with
forward Euler, the synaptic current updated before the membrane in each step
(see :mod:`neurosim.neurons`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.util.atomic import atomic_path

__all__ = [
    "NIR_NODE_TYPES",
    "network_from_nir",
    "network_to_nir",
    "read_nir",
    "write_nir",
]

_NEURON_TYPES = {"IF": "if", "LIF": "lif", "CubaLIF": "cuba_lif", "Threshold": "threshold"}
# neurosim kind -> the NIR neuron type it is exported as
_NIR_TYPE_OF = {kind: nir_type for nir_type, kind in _NEURON_TYPES.items()}
_WEIGHT_TYPES = frozenset({"Affine", "Linear", "Scale"})
_JUNCTION_TYPES = frozenset({"Output", "Flatten"})

#: NIR node types neurosim reads
NIR_NODE_TYPES: tuple[str, ...] = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Flatten",
    "IF",
    "LIF",
    "CubaLIF",
    "Threshold",
)

_UNSUPPORTED: dict[str, str] = {
    "CubaLI": "its synaptic current and graded leaky state have no neurosim neuron model",
    "LI": "a graded leaky integrator has no neurosim neuron model",
    "I": "a graded integrator has no neurosim neuron model",
    "Conv1d": "convolutions are not supported; unroll them into Affine nodes",
    "Conv2d": "convolutions are not supported; unroll them into Affine nodes",
    "SumPool2d": "pooling is not supported; unroll it into Affine nodes",
    "AvgPool2d": "pooling is not supported; unroll it into Affine nodes",
    "Delay": "synaptic delays are not supported",
    "NIRGraph": "nested graphs are not supported; flatten them into one graph",
}

# NIR parameter name -> neurosim parameter name, per neuron type
_PARAM_MAP: dict[str, dict[str, str]] = {
    "IF": {"r": "r", "v_threshold": "threshold", "v_reset": "v_reset"},
    "LIF": {
        "tau": "tau_mem_s",
        "r": "r",
        "v_leak": "v_leak",
        "v_threshold": "threshold",
        "v_reset": "v_reset",
    },
    "CubaLIF": {
        "tau_syn": "tau_syn_s",
        "tau_mem": "tau_mem_s",
        "r": "r",
        "v_leak": "v_leak",
        "v_threshold": "threshold",
        "v_reset": "v_reset",
        "w_in": "w_in",
    },
    "Threshold": {"threshold": "threshold"},
}

# the parameter whose shape gives a neuron node's size, per neuron type
_SHAPE_PARAM: dict[str, str] = {
    "IF": "v_threshold",
    "LIF": "v_threshold",
    "CubaLIF": "v_threshold",
    "Threshold": "threshold",
}

_META_KEY = "neurosim"


# ---------------------------------------------------------------- reading
def _read_graph_dict(path: Path) -> dict[str, Any]:
    """The raw node dictionary of a NIR HDF5 file (no nir node objects yet)."""
    import h5py
    from nir.serialization import hdf2dict

    try:
        with h5py.File(path, "r") as f:
            if "node" not in f or not isinstance(f["node"], h5py.Group):
                raise NetworkError(f"{path}: not a NIR file (no 'node' group)")
            data = hdf2dict(f["node"])
    except NetworkError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, TypeError, ValueError on junk
        raise NetworkError(
            f"{path}: not a readable NIR/HDF5 file ({type(exc).__name__}: {exc})"
        ) from None
    return data


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _build_nodes(
    where: str, data: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]], dict]:
    """Check node types, then build nir node objects and the edge list."""
    import nir

    top = data.get("type")
    if not isinstance(top, str) or top != "NIRGraph":
        raise NetworkError(f"{where}: top-level node has type {top!r}; expected NIRGraph")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise NetworkError(f"{where}: NIR graph has no nodes")
    nodes: dict[str, Any] = {}
    for name, nd in raw_nodes.items():
        kind = nd.get("type") if isinstance(nd, dict) else None
        if not isinstance(kind, str):
            raise NetworkError(
                f"{where}: node {name!r} has no 'type' string; expected a NIR node group"
            )
        if kind in _UNSUPPORTED:
            raise NetworkError(f"{where}: node {name!r} has type {kind}: {_UNSUPPORTED[kind]}")
        if kind not in NIR_NODE_TYPES:
            raise NetworkError(
                f"{where}: node {name!r} has unknown type {kind!r}; expected one of {', '.join(NIR_NODE_TYPES)}"
            )
        try:
            nodes[str(name)] = nir.dict2NIRNode(dict(nd))
        except Exception as exc:  # nir checks its fields with assert and raises TypeError/KeyError
            raise NetworkError(
                f"{where}: node {name!r} ({kind}) is malformed ({_one_line(exc)})"
            ) from None
    raw_edges = data.get("edges", [])
    edges: list[tuple[str, str]] = []
    try:
        arr = np.asarray(raw_edges, dtype=object)
        pairs = arr.reshape(-1, 2) if arr.size else np.zeros((0, 2), dtype=object)
    except (ValueError, TypeError):
        raise NetworkError(
            f"{where}: NIR edges are malformed; expected (source, target) name pairs"
        ) from None
    for a, b in pairs:
        a = a.decode("utf8", "replace") if isinstance(a, bytes) else str(a)
        b = b.decode("utf8", "replace") if isinstance(b, bytes) else str(b)
        for end in (a, b):
            if end not in nodes:
                raise NetworkError(
                    f"{where}: edge ({a!r}, {b!r}) names node {end!r}, which does not exist"
                )
        if (a, b) in edges:
            raise NetworkError(f"{where}: duplicate edge ({a!r}, {b!r})")
        edges.append((a, b))
    meta = data.get("metadata", {})
    return nodes, edges, meta if isinstance(meta, dict) else {}


@dataclass
class _Builder:
    """Turns nir nodes and edges into populations and projections."""

    where: str
    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    per_neuron: dict[str, list[str]]

    def __post_init__(self) -> None:
        self.preds: dict[str, list[str]] = {n: [] for n in self.nodes}
        self.succs: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.kind = {n: type(node).__name__ for n, node in self.nodes.items()}
        self._resolving: set[str] = set()
        self._resolved: dict[str, str] = {}

    # --------------------------------------------------------- classification
    def err(self, name: str, msg: str) -> NetworkError:
        return NetworkError(f"{self.where}: node {name!r} ({self.kind[name]}): {msg}")

    def is_weight(self, name: str) -> bool:
        return self.kind[name] in _WEIGHT_TYPES

    def weight_materialised(self, name: str) -> bool:
        return any(self.is_weight(s) for s in self.succs[name])

    def junction_materialised(self, name: str) -> bool:
        p = self.preds[name]
        return len(p) != 1 or (self.is_weight(p[0]) and not self.weight_materialised(p[0]))

    def has_population(self, name: str) -> bool:
        k = self.kind[name]
        if k == "Input" or k in _NEURON_TYPES:
            return True
        if k in _WEIGHT_TYPES:
            return self.weight_materialised(name)
        return self.junction_materialised(name)

    def resolve(self, name: str) -> str:
        """The population that carries node ``name``'s output."""
        if name in self._resolved:
            return self._resolved[name]
        if self.has_population(name):
            out = name
        elif self.is_weight(name):  # pragma: no cover - callers never ask
            raise self.err(name, "internal: weight node has no population")
        else:
            if name in self._resolving:
                raise self.err(name, "is part of a loop of identity nodes (an algebraic loop)")
            self._resolving.add(name)
            out = self.resolve(self.preds[name][0])
            self._resolving.discard(name)
        self._resolved[name] = out
        return out

    # ----------------------------------------------------------------- sizes
    def matrix(self, name: str) -> tuple[np.ndarray | sp.spmatrix, np.ndarray | None]:
        """``(W as (n_in, n_out), bias or None)`` of a weight node."""
        node = self.nodes[name]
        k = self.kind[name]
        if k == "Scale":
            raw = np.asarray(node.scale)
            if raw.dtype.kind not in "biuf":
                raise self.err(name, f"scale has dtype {raw.dtype}; expected numbers")
            scale = raw.astype(np.float64).ravel()
            if scale.size == 0:
                raise self.err(name, "scale is empty")
            return sp.diags(scale, format="csr"), None
        w = np.asarray(node.weight)
        if w.ndim != 2 or w.dtype.kind not in "biuf":
            raise self.err(
                name,
                f"weight has shape {w.shape} and dtype {w.dtype}; expected a 2-D numeric (n_out, n_in) matrix",
            )
        w = w.astype(np.float64)
        bias = None
        if k == "Affine":
            b = np.asarray(node.bias)
            if b.dtype.kind not in "biuf":
                raise self.err(name, f"bias has dtype {b.dtype}; expected numbers")
            b = b.astype(np.float64)
            if b.ndim == 0:
                b = np.full(w.shape[0], float(b))
            if b.shape != (w.shape[0],):
                raise self.err(
                    name,
                    f"bias has shape {b.shape}; expected ({w.shape[0]},) to match weight {w.shape}",
                )
            bias = b
        return w.T, bias

    def size(self, name: str) -> int:
        node = self.nodes[name]
        k = self.kind[name]
        if k == "Input":
            shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        elif k == "Output":
            shape = node.output_type.get("output") if isinstance(node.output_type, dict) else None
        elif k == "Flatten":
            shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
            if shape is None:
                return self._size_from_inputs(name)
        elif k in _NEURON_TYPES:
            shape = np.shape(getattr(node, _SHAPE_PARAM[k]))
        else:
            return int(self.matrix(name)[0].shape[1])
        raw = np.asarray(shape) if shape is not None else np.zeros(0)
        if shape is None or raw.dtype.kind not in "iu":
            raise self.err(name, f"shape {shape!r} is not a list of integers")
        dims = raw.astype(np.int64).ravel()
        if shape is None or (dims < 1).any():
            raise self.err(name, f"shape {shape!r}; expected positive dimensions")
        if dims.size == 0:
            raise self.err(name, "has a scalar (0-d) shape; expected one value per neuron")
        return int(np.prod(dims))

    def _size_from_inputs(self, name: str) -> int:
        for q in self.preds[name]:
            if self.is_weight(q):
                return int(self.matrix(q)[0].shape[1])
            return self.size(self.resolve(q))
        raise self.err(name, "has no input_type and no inputs; cannot tell its size")

    # ------------------------------------------------------------ populations
    def model(self, name: str) -> NeuronModel:
        node = self.nodes[name]
        k = self.kind[name]
        if k == "Input":
            return NeuronModel("input")
        if k in _NEURON_TYPES:
            n = self.size(name)
            params: dict[str, Any] = {}
            keep = set(self.per_neuron.get(name, ()))
            for nir_name, our_name in _PARAM_MAP[k].items():
                value = np.asarray(getattr(node, nir_name))
                if value.dtype.kind not in "biuf":
                    raise self.err(
                        name, f"parameter {nir_name} has dtype {value.dtype}; expected numbers"
                    )
                value = value.astype(np.float64).ravel()
                if value.size == 1 and n != 1:
                    value = np.full(n, value[0])
                if value.shape != (n,):
                    raise self.err(
                        name, f"parameter {nir_name} has {value.size} values; expected {n}"
                    )
                if our_name not in keep and value.size and (value == value[0]).all():
                    value = np.asarray(value[0])
                params[our_name] = value
            try:
                return NeuronModel(_NEURON_TYPES[k], params, "zero")
            except NetworkError as exc:
                raise self.err(name, str(exc)) from None
        return NeuronModel("linear")

    def build(self) -> tuple[list[Population], list[Projection]]:
        pops: list[Population] = []
        projs: list[Projection] = []
        for name in self.nodes:
            if not self.has_population(name):
                continue
            n = self.size(name)
            bias = np.zeros(n)
            k = self.kind[name]
            if k == "Input" and self.preds[name]:
                raise self.err(
                    name, f"has incoming edges from {', '.join(self.preds[name])}; expected none"
                )
            if self.is_weight(name):
                w, b = self.matrix(name)
                if not self.preds[name]:
                    raise self.err(name, "has no incoming edge")
                for s in self.preds[name]:
                    projs.append(
                        self._projection(
                            name, self.resolve(s), name, w, f"{self.resolve(s)}->{name}"
                        )
                    )
                if b is not None:
                    bias = bias + b
            else:
                for q in self.preds[name]:
                    if self.is_weight(q) and not self.weight_materialised(q):
                        w, b = self.matrix(q)
                        if not self.preds[q]:
                            raise self.err(q, "has no incoming edge")
                        single = len(self.preds[q]) == 1 and len(self.succs[q]) == 1
                        for s in self.preds[q]:
                            src = self.resolve(s)
                            pname = q if single else f"{q}:{src}->{name}"
                            projs.append(self._projection(q, src, name, w, pname))
                        if b is not None:
                            bias = bias + b
                    else:
                        src = self.resolve(q)
                        m = self.size(src)
                        if m != n:
                            raise self.err(
                                q,
                                f"feeds {name!r} ({self.kind[name]}) without weights but has {m} values; expected {n}",
                            )
                        projs.append(
                            Projection(src, name, sp.identity(n, format="csr"), f"{q}->{name}")
                        )
            try:
                pops.append(Population(name, n, self.model(name), bias))
            except NetworkError as exc:
                if str(exc).startswith(self.where):
                    raise
                raise self.err(name, str(exc)) from None
        return pops, projs

    def _projection(self, node: str, src: str, dst: str, w: Any, pname: str) -> Projection:
        n_in, n_out = w.shape
        m_src, m_dst = self.size(src), self.size(dst)
        if n_in != m_src:
            raise self.err(node, f"takes {n_in} inputs but its source {src!r} has {m_src} neurons")
        if n_out != m_dst:
            raise self.err(
                node, f"gives {n_out} outputs but its target {dst!r} has {m_dst} neurons"
            )
        return Projection(src, dst, w, pname)


def network_from_nir(graph: Any, *, name: str = "network", where: str = "NIR graph") -> Network:
    """Convert an in-memory ``nir.NIRGraph`` into a :class:`Network`.

    Parameters
    ----------
    graph : nir.NIRGraph
    name : str
        Network name when the graph's metadata does not carry one.
    where : str
        Prefix of error messages (a file name).

    Raises
    ------
    NetworkError
        Unsupported node type, inconsistent shapes, malformed parameters.
    """
    nodes = dict(graph.nodes)
    for n, node in nodes.items():
        kind = type(node).__name__
        if kind in _UNSUPPORTED:
            raise NetworkError(f"{where}: node {n!r} has type {kind}: {_UNSUPPORTED[kind]}")
        if kind not in NIR_NODE_TYPES:
            raise NetworkError(
                f"{where}: node {n!r} has unknown type {kind!r}; expected one of {', '.join(NIR_NODE_TYPES)}"
            )
    edges = [(str(a), str(b)) for a, b in graph.edges]
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    return _to_network(where, nodes, edges, meta, name)


def _to_network(where: str, nodes: dict, edges: list, meta: dict, default_name: str) -> Network:
    info: dict[str, Any] = {}
    raw = meta.get(_META_KEY)
    if isinstance(raw, bytes):
        raw = raw.decode("utf8", "replace")
    if isinstance(raw, str):
        try:
            loaded = json.loads(raw)
            info = loaded if isinstance(loaded, dict) else {}
        except json.JSONDecodeError:
            raise NetworkError(f"{where}: graph metadata {_META_KEY!r} is not valid JSON") from None
    per_neuron = info.get("per_neuron", {})
    if not isinstance(per_neuron, dict):
        per_neuron = {}
    builder = _Builder(
        where, nodes, edges, {str(k): list(v) for k, v in per_neuron.items() if isinstance(v, list)}
    )
    pops, projs = builder.build()
    pops = _ordered(pops, info.get("populations"))
    projs = _ordered(projs, info.get("projections"))
    inputs = tuple(p.name for p in pops if p.model.kind == "input")
    outputs = []
    for n in nodes:
        if builder.kind[n] == "Output":
            r = builder.resolve(n)
            if r not in outputs:
                outputs.append(r)
    saved_out = info.get("outputs")
    if isinstance(saved_out, list) and sorted(map(str, saved_out)) == sorted(outputs):
        outputs = [str(o) for o in saved_out]
    metadata = info.get("metadata", {})
    try:
        return Network(
            tuple(pops),
            tuple(projs),
            inputs=inputs,
            outputs=tuple(outputs),
            name=str(info.get("name", default_name)),
            metadata=metadata if isinstance(metadata, dict) else {},
        )
    except NetworkError as exc:
        raise NetworkError(f"{where}: {exc}") from None


def _ordered(items: list, order: Any) -> list:
    if not isinstance(order, list):
        return items
    rank = {str(n): i for i, n in enumerate(order)}
    return sorted(items, key=lambda it: rank.get(it.name, len(rank)))


def read_nir(path: str | Path, **options: Any) -> Network:
    """Read a NIR file (HDF5, as written by ``nir.write``) into a :class:`Network`.

    Parameters
    ----------
    path : str or Path
    **options
        None are accepted (an unknown option is an error).

    Raises
    ------
    NetworkError
        Missing or unreadable file, unsupported node (named with its type),
        inconsistent shapes; always one line naming the file.
    """
    path = Path(path)
    if options:
        raise NetworkError(f"{path}: read_nir takes no options; got {', '.join(sorted(options))}")
    if not path.is_file():
        raise NetworkError(f"{path}: file not found")
    data = _read_graph_dict(path)
    where = str(path)
    nodes, edges, meta = _build_nodes(where, data)
    try:
        return _to_network(where, nodes, edges, meta, path.stem)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        # safety net: nir node objects accept arbitrary field contents
        raise NetworkError(f"{path}: malformed NIR file ({_one_line(exc)})") from None
    except MemoryError:
        raise NetworkError(
            f"{path}: a node's shape is too large to allocate; check the Input/Output shapes"
        ) from None


# ---------------------------------------------------------------- writing
def _full(value: np.ndarray, n: int) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    return np.full(n, float(v)) if v.ndim == 0 else v.copy()


def network_to_nir(network: Network) -> Any:
    """Convert a :class:`Network` into an in-memory ``nir.NIRGraph`` (see the module docstring).

    Raises
    ------
    NetworkError
        A population NIR cannot express (``relu``, ``subtract`` reset, a bias
        without incoming projection) or non-default inputs.
    """
    import nir

    default_inputs = tuple(p.name for p in network.populations if p.model.kind == "input")
    if tuple(network.inputs) != default_inputs:
        raise NetworkError(
            f"network {network.name}: inputs {list(network.inputs)} differ from its input-kind populations "
            f"{list(default_inputs)}; NIR Input nodes are exactly the input populations"
        )
    has_out = {pr.pre for pr in network.projections}
    nodes: dict[str, Any] = {}
    per_neuron: dict[str, list[str]] = {}
    as_output_node: set[str] = set()
    for p in network.populations:
        kind = p.model.kind
        n = p.size
        if kind == "relu":
            raise NetworkError(
                f"network {network.name}: population {p.name!r} is relu; NIR 1.0 has no ReLU node "
                "(export spiking if/lif or linear populations, or use .npz)"
            )
        if p.model.is_spiking and p.model.reset != "zero":
            raise NetworkError(
                f"network {network.name}: population {p.name!r} uses reset {p.model.reset!r}; "
                "NIR neurons reset to v_reset (reset 'zero')"
            )
        per = [k for k, v in p.model.params.items() if v.ndim == 1]
        if per:
            per_neuron[p.name] = per
        prm = {k: _full(v, n) for k, v in p.model.params.items()}
        if kind == "input":
            nodes[p.name] = nir.Input(input_type={"input": np.array([n])})
        elif kind in _NIR_TYPE_OF:
            # the import table read backwards: NIR parameter <- neurosim parameter
            nir_type = _NIR_TYPE_OF[kind]
            nodes[p.name] = getattr(nir, nir_type)(
                **{key: prm[ours] for key, ours in _PARAM_MAP[nir_type].items()}
            )
        elif kind == "linear":
            if p.name in network.outputs and p.name not in has_out:
                nodes[p.name] = nir.Output(output_type={"output": np.array([n])})
                as_output_node.add(p.name)
            else:
                nodes[p.name] = nir.Flatten(
                    input_type={"input": np.array([n])}, start_dim=0, end_dim=-1
                )
        else:  # pragma: no cover - NeuronModel rejects other kinds
            raise NetworkError(
                f"network {network.name}: population {p.name!r} has kind {kind!r}; no NIR equivalent"
            )
    carrier: dict[str, str] = {}
    for p in network.populations:
        if p.model.kind == "input" or not np.any(p.bias != 0):
            continue
        incoming = network.projections_into(p.name)
        if not incoming:
            raise NetworkError(
                f"network {network.name}: population {p.name!r} has a bias but no incoming projection; "
                "NIR carries biases only on Affine nodes"
            )
        carrier[incoming[0].name] = p.name
    edges: list[tuple[str, str]] = []
    used = set(nodes)
    proj_nodes: list[str] = []
    for pr in network.projections:
        wname = pr.name
        i = 1
        while wname in used:
            wname = f"{pr.name}#{i}"
            i += 1
        used.add(wname)
        proj_nodes.append(wname)
        dense = np.ascontiguousarray(pr.weights.toarray().T)
        if pr.name in carrier:
            nodes[wname] = nir.Affine(weight=dense, bias=network.population(pr.post).bias.copy())
        else:
            nodes[wname] = nir.Linear(weight=dense)
        edges += [(pr.pre, wname), (wname, pr.post)]
    for o in network.outputs:
        if o in as_output_node:
            continue
        oname = f"{o}.output"
        i = 1
        while oname in used:
            oname = f"{o}.output{i}"
            i += 1
        used.add(oname)
        nodes[oname] = nir.Output(output_type={"output": np.array([network.population(o).size])})
        edges.append((o, oname))
    info = {
        "name": network.name,
        "metadata": dict(network.metadata),
        "populations": [p.name for p in network.populations],
        "projections": [pr.name for pr in network.projections],
        "outputs": list(network.outputs),
        "per_neuron": per_neuron,
    }
    try:
        meta_json = json.dumps(info)
    except TypeError as exc:
        raise NetworkError(
            f"network {network.name}: metadata is not JSON-serialisable ({exc})"
        ) from None
    try:
        return nir.NIRGraph(
            nodes=nodes, edges=edges, metadata={_META_KEY: meta_json}, type_check=False
        )
    except Exception as exc:  # nir validates with assert / ValueError
        raise NetworkError(
            f"network {network.name}: nir rejected the graph ({_one_line(exc)})"
        ) from None


def write_nir(
    network: Network, path: str | Path, *, compression: str | int | None = "gzip"
) -> Path:
    """Write ``network`` as a NIR HDF5 file (atomically) and return the path.

    Parameters
    ----------
    network : Network
    path : str or Path
    compression : str, int or None
        HDF5 compression passed to ``nir.write`` (``"gzip"``, ``"lzf"``, a gzip
        level 0-9, or None).
    """
    import nir

    path = Path(path)
    graph = network_to_nir(network)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph, compression=compression)
    return path
