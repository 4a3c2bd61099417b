"""NIR nodes, edges and metadata -> :class:`~neurosim.network.Network`, under an exporter's conventions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from neurosim.errors import NetworkError
from neurosim.io.nirio.builder import Builder
from neurosim.io.nirio.dialects import Dialect, ImportOptions, resolve_dialect
from neurosim.io.nirio.writer import META_KEY
from neurosim.network import Network

__all__ = ["IMPORT_KEY", "network_dt_s", "to_network"]

#: network metadata entry that records what an import assumed
IMPORT_KEY = "nir_import"


def _saved_info(where: str, meta: dict) -> dict[str, Any]:
    raw = meta.get(META_KEY)
    if isinstance(raw, bytes):
        raw = raw.decode("utf8", "replace")
    if not isinstance(raw, str):
        return {}
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError:
        raise NetworkError(f"{where}: graph metadata {META_KEY!r} is not valid JSON") from None
    return loaded if isinstance(loaded, dict) else {}


def _check_wiring(where: str, nodes: dict[str, Any], edges: list) -> None:
    """A graph must connect an Input to something: no edges, no Input, a lone Output are errors."""
    kinds = {n: type(node).__name__ for n, node in nodes.items()}
    if not any(k == "Input" for k in kinds.values()):
        raise NetworkError(f"{where}: NIR graph has no Input node; expected at least one")
    if not edges:
        raise NetworkError(
            f"{where}: NIR graph has {len(nodes)} nodes and no edges, so no projections; expected edges "
            "from its Input through the network to its Output"
        )
    targets = {b for _, b in edges}
    for n, k in kinds.items():
        if k == "Output" and n not in targets:
            raise NetworkError(f"{where}: node {n!r} (Output) has no incoming edge")


def _ordered(items: list, order: Any) -> list:
    if not isinstance(order, list):
        return items
    rank = {str(n): i for i, n in enumerate(order)}
    return sorted(items, key=lambda it: rank.get(it.name, len(rank)))


def _outputs(builder: Builder, info: dict) -> tuple[str, ...]:
    outputs: list[str] = []
    for n in builder.nodes:
        if builder.kind[n] != "Output":
            continue
        r = n if builder.is_pop(n) else builder.alias_of(n)
        if r is None:  # pragma: no cover - is_pop says Output is a population then
            raise builder.err(n, "internal: output has no population")
        if r not in outputs:
            outputs.append(r)
    saved = info.get("outputs")
    if isinstance(saved, list) and sorted(map(str, saved)) == sorted(outputs):
        return tuple(str(o) for o in saved)
    return tuple(outputs)


def _import_record(dialect: Dialect, builder: Builder) -> dict[str, Any]:
    return {
        "source": dialect.source, "reason": dialect.reason, "dt_s": dialect.dt_s,
        "reset": dialect.reset, "reset_delay": dialect.reset_delay,
        "folded": list(builder.folded), "dropped_input_dims": dict(builder.dropped),
        "summary": dialect.summary(),
    }


def to_network(
    where: str, nodes: dict, edges: list, meta: dict, default_name: str, opts: ImportOptions | None = None
) -> Network:
    """Build the network of a NIR graph (see :mod:`neurosim.io.nir_format`)."""
    opts = opts or ImportOptions()
    _check_wiring(where, nodes, edges)
    info = _saved_info(where, meta)
    if opts.source == "neurosim" and META_KEY not in meta:
        raise NetworkError(f"{where}: source 'neurosim' given but the graph has no {META_KEY!r} metadata")
    dialect = resolve_dialect(opts, nodes, edges, meta)
    if dialect.source != "neurosim":
        info = {}
    elif info.get("target") == "sinabs" and opts.reset is None:  # the sinabs preset: subtractive IF
        dialect = replace(dialect, reset="subtract")
    per_neuron = info.get("per_neuron", {})
    per_neuron = {str(k): list(v) for k, v in per_neuron.items() if isinstance(v, list)} if isinstance(per_neuron, dict) else {}
    builder = Builder(where, nodes, edges, dialect, fold=opts.fold, per_neuron=per_neuron)
    pops, projs = builder.build()
    pops = _ordered(pops, info.get("populations"))
    projs = _ordered(projs, info.get("projections"))
    metadata = info.get("metadata", {}) if dialect.source == "neurosim" else {IMPORT_KEY: _import_record(dialect, builder)}
    try:
        return Network(
            tuple(pops), tuple(projs),
            inputs=tuple(p.name for p in pops if p.model.kind == "input"),
            outputs=_outputs(builder, info),
            name=str(info.get("name", default_name)),
            metadata=metadata if isinstance(metadata, dict) else {},
        )
    except NetworkError as exc:
        raise NetworkError(f"{where}: {exc}") from None


def network_dt_s(network: Network) -> float | None:
    """The time step an imported network was trained with (None if unknown)."""
    rec = network.metadata.get(IMPORT_KEY)
    dt = rec.get("dt_s") if isinstance(rec, dict) else None
    return float(dt) if isinstance(dt, (int, float)) else None

