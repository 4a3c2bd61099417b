"""Reading a ``.nir`` file into nir node objects and an edge list, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import NetworkError

__all__ = [
    "LINEAR_TYPES",
    "NEURON_TYPES",
    "NIR_NODE_TYPES",
    "check_node_types",
    "nodes_from_dict",
    "one_line",
    "read_graph_dict",
]

#: NIR neuron type -> neurosim neuron kind
NEURON_TYPES: dict[str, str] = {"IF": "if", "LIF": "lif", "CubaLIF": "cuba_lif", "Threshold": "threshold"}
#: NIR nodes that are linear maps (folded into projections)
LINEAR_TYPES: frozenset[str] = frozenset(
    {"Affine", "Linear", "Scale", "Flatten", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d"}
)

#: NIR node types neurosim reads
NIR_NODE_TYPES: tuple[str, ...] = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "IF",
    "LIF",
    "CubaLIF",
    "Threshold",
)

_UNSUPPORTED: dict[str, str] = {
    "CubaLI": "its synaptic current and graded leaky state have no neurosim neuron model",
    "LI": "a graded leaky integrator has no neurosim neuron model",
    "I": "a graded integrator has no neurosim neuron model",
    "Delay": "synaptic delays are not supported",
    "NIRGraph": "nested graphs are not supported; flatten them into one graph",
}


# fields NIR declares optional, which writers may leave out of the file
_OPTIONAL: dict[str, dict[str, Any]] = {
    "Conv1d": {"input_shape": None},
    "Conv2d": {"input_shape": None},
    "Flatten": {"input_type": None},
}


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_graph_dict(path: Path) -> dict[str, Any]:
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
        raise NetworkError(f"{path}: not a readable NIR/HDF5 file ({one_line(exc)})") from None
    return data


def check_node_types(where: str, kinds: dict[str, Any]) -> None:
    """Refuse unsupported and unknown node types (one line naming the node)."""
    for name, kind in kinds.items():
        if kind in _UNSUPPORTED:
            raise NetworkError(f"{where}: node {name!r} has type {kind}: {_UNSUPPORTED[kind]}")
        if kind not in NIR_NODE_TYPES:
            raise NetworkError(
                f"{where}: node {name!r} has unknown type {kind!r}; expected one of {', '.join(NIR_NODE_TYPES)}"
            )


def _edges(where: str, raw_edges: Any, nodes: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        arr = np.asarray(raw_edges, dtype=object)
        pairs = arr.reshape(-1, 2) if arr.size else np.zeros((0, 2), dtype=object)
    except (ValueError, TypeError):
        raise NetworkError(f"{where}: NIR edges are malformed; expected (source, target) name pairs") from None
    edges: list[tuple[str, str]] = []
    for a, b in pairs:
        a = a.decode("utf8", "replace") if isinstance(a, bytes) else str(a)
        b = b.decode("utf8", "replace") if isinstance(b, bytes) else str(b)
        for end in (a, b):
            if end not in nodes:
                raise NetworkError(f"{where}: edge ({a!r}, {b!r}) names node {end!r}, which does not exist")
        if (a, b) in edges:
            raise NetworkError(f"{where}: duplicate edge ({a!r}, {b!r})")
        edges.append((a, b))
    return edges


def nodes_from_dict(where: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]], dict]:
    """Check node types, then build nir node objects, the edge list and the metadata."""
    import nir

    top = data.get("type")
    if not isinstance(top, str) or top != "NIRGraph":
        raise NetworkError(f"{where}: top-level node has type {top!r}; expected NIRGraph")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise NetworkError(f"{where}: NIR graph has no nodes")
    kinds = {}
    for name, nd in raw_nodes.items():
        kind = nd.get("type") if isinstance(nd, dict) else None
        if not isinstance(kind, str):
            raise NetworkError(f"{where}: node {name!r} has no 'type' string; expected a NIR node group")
        kinds[str(name)] = kind
    check_node_types(where, kinds)
    nodes: dict[str, Any] = {}
    for name, nd in raw_nodes.items():
        fields = dict(nd)
        for key, default in _OPTIONAL.get(kinds[str(name)], {}).items():
            fields.setdefault(key, default)
        try:
            nodes[str(name)] = nir.dict2NIRNode(fields)
        except Exception as exc:  # nir checks its fields with assert and raises TypeError/KeyError
            raise NetworkError(
                f"{where}: node {name!r} ({kinds[str(name)]}) is malformed ({one_line(exc)})"
            ) from None
    edges = _edges(where, data.get("edges", []), nodes)
    meta = data.get("metadata", {})
    return nodes, edges, meta if isinstance(meta, dict) else {}
