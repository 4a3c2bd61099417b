"""Save and load a :class:`~neurosim.mapping.mapped.MappedNetwork`: JSON + ``.npz``.

A mapping is a directory (written atomically)::

    mapping.json      profile, strategy, seed, usage of every core, violations,
                      placement figures, added neurons, the role of every
                      hardware population, info (human-readable)
    arrays.npz        core_of per population, quantized weights and scales,
                      axon types, placement arrays, traffic matrix, served indices
    network.npz       the source network (neurosim .npz format)
    hw_network.npz    the hardware network

Loading validates every part; a damaged or foreign directory raises a one-line
:class:`~neurosim.errors.MappingError` naming the file and the entry.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError, NeurosimError
from neurosim.hardware.profile import ChipProfile
from neurosim.io.npz import read_npz, write_npz
from neurosim.mapping.mapped import (
    CoreUsage,
    MappedNetwork,
    Placement,
    QuantizedProjection,
    Violation,
)
from neurosim.mapping.roles import Role
from neurosim.util.atomic import atomic_dir
from neurosim.util.jsonable import to_jsonable

__all__ = ["load_mapped", "mapped_summary", "save_mapped"]

_FORMAT = "neurosim-mapping"
_VERSION = 1


def mapped_summary(mapped: MappedNetwork, *, cores: bool = True) -> dict[str, Any]:
    """The JSON summary of a mapping (what ``neurosim map --json`` prints)."""
    p = mapped.placement
    out: dict[str, Any] = {
        "chip": mapped.profile.name,
        "network": mapped.network.name,
        "strategy": mapped.strategy,
        "seed": mapped.seed,
        "fits": mapped.fits,
        "n_cores_used": mapped.n_cores_used,
        "n_chips_used": mapped.n_chips_used,
        "lower_bound_cores": mapped.lower_bound_cores,
        "gap_to_lower_bound": mapped.n_cores_used - mapped.lower_bound_cores,
        "n_neurons": mapped.network.n_neurons,
        "n_synapses": mapped.network.n_synapses,
        "hw_neurons": mapped.hw_network.n_neurons,
        "added": dict(mapped.added),
        "placement": {
            "method": p.method,
            "total_link_load": p.total_link_load,
            "max_link_load": p.max_link_load,
            "row_major_total_link_load": p.row_major_total_link_load,
            "row_major_max_link_load": p.row_major_max_link_load,
            "chip_traffic": p.chip_traffic,
            "improvement_over_row_major": (p.row_major_total_link_load / p.total_link_load)
            if p.total_link_load > 0
            else None,
            "unit": "expected spike packets per time step (x hops for totals)",
        },
        "violations": [v.to_dict() for v in mapped.violations],
        "info": to_jsonable(dict(mapped.info)),
    }
    if cores:
        out["cores"] = [c.to_dict() for c in mapped.cores]
    return to_jsonable(out)


def _quantized_arrays(mapped: MappedNetwork, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Put every quantized projection into ``arrays``; its JSON metadata."""
    meta = []
    for i, (name, q) in enumerate(mapped.quantized.items()):
        w = sp.csr_matrix(q.weights)
        arrays[f"q{i}/data"] = w.data
        arrays[f"q{i}/indices"] = w.indices
        arrays[f"q{i}/indptr"] = w.indptr
        arrays[f"q{i}/scale"] = np.asarray(q.scale)
        if q.axon_types is not None:
            arrays[f"q{i}/axon_types"] = np.asarray(q.axon_types)
        if q.type_weights is not None:
            arrays[f"q{i}/type_weights"] = np.asarray(q.type_weights)
        meta.append(
            {"name": name, "shape": list(w.shape), "diagnostics": to_jsonable(dict(q.diagnostics))}
        )
    return meta


def _placement_arrays(pl: Placement, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Put the placement arrays and traffic matrix into ``arrays``; its JSON figures."""
    for key in ("chip", "x", "y"):
        arrays[f"placement/{key}"] = np.asarray(getattr(pl, key))
    t = sp.csr_matrix(pl.traffic)
    arrays["placement/traffic_data"] = t.data
    arrays["placement/traffic_indices"] = t.indices
    arrays["placement/traffic_indptr"] = t.indptr
    return {
        "method": pl.method,
        "n_cores": int(t.shape[0]),
        "total_link_load": pl.total_link_load,
        "max_link_load": pl.max_link_load,
        "row_major_total_link_load": pl.row_major_total_link_load,
        "row_major_max_link_load": pl.row_major_max_link_load,
        "chip_traffic": pl.chip_traffic,
    }


def save_mapped(mapped: MappedNetwork, path: str | Path, *, force: bool = False) -> Path:
    """Write ``mapped`` to the directory ``path`` (see the module docstring).

    Raises
    ------
    FileExistsError
        When ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for name, cores in mapped.core_of.items():
        arrays[f"core_of/{name}"] = np.asarray(cores, dtype=np.int64)
    quant_meta = _quantized_arrays(mapped, arrays)
    placement_meta = _placement_arrays(mapped.placement, arrays)
    served_meta = {}
    for name, (base, idx) in mapped.served.items():
        arrays[f"served/{name}"] = np.asarray(idx, dtype=np.int64)
        served_meta[name] = base
    header = {
        "format": _FORMAT,
        "version": _VERSION,
        "profile": mapped.profile.to_dict(),
        "strategy": mapped.strategy,
        "seed": mapped.seed,
        "lower_bound_cores": mapped.lower_bound_cores,
        "added": dict(mapped.added),
        "info": to_jsonable(dict(mapped.info)),
        "quantized": quant_meta,
        "served": served_meta,
        "roles": {name: Role(role).value for name, role in mapped.roles.items()},
        "placement": placement_meta,
        "cores": [c.to_dict() for c in mapped.cores],
        "violations": [v.to_dict() for v in mapped.violations],
        "summary": mapped_summary(mapped, cores=False),
    }
    with atomic_dir(path, force=force) as tmp:
        (tmp / "mapping.json").write_text(json.dumps(to_jsonable(header), indent=1))
        with open(tmp / "arrays.npz", "wb") as fh:
            np.savez_compressed(fh, **arrays)
        write_npz(mapped.network, tmp / "network.npz")
        write_npz(mapped.hw_network, tmp / "hw_network.npz")
    return path


def _read_header(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise MappingError(
            f"{path}: not a mapping directory (expected mapping.json, arrays.npz, network.npz)"
        )
    jpath = path / "mapping.json"
    try:
        header = json.loads(jpath.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{jpath}: cannot read mapping header ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise MappingError(f"{jpath}: not a neurosim mapping (field 'format' is not {_FORMAT!r})")
    return header


def _read_quantized(
    header: dict[str, Any], a: dict[str, np.ndarray]
) -> dict[str, QuantizedProjection]:
    quantized = {}
    for i, qm in enumerate(header["quantized"]):
        shape = tuple(qm["shape"])
        w = sp.csr_matrix((a[f"q{i}/data"], a[f"q{i}/indices"], a[f"q{i}/indptr"]), shape=shape)
        quantized[qm["name"]] = QuantizedProjection(
            qm["name"],
            w,
            a[f"q{i}/scale"],
            qm["diagnostics"],
            a.get(f"q{i}/axon_types"),
            a.get(f"q{i}/type_weights"),
        )
    return quantized


def _read_placement(pm: dict[str, Any], a: dict[str, np.ndarray]) -> Placement:
    n = int(pm["n_cores"])
    traffic = sp.csr_matrix(
        (
            a["placement/traffic_data"],
            a["placement/traffic_indices"],
            a["placement/traffic_indptr"],
        ),
        shape=(n, n),
    )
    return Placement(
        a["placement/chip"],
        a["placement/x"],
        a["placement/y"],
        pm["method"],
        traffic,
        float(pm["total_link_load"]),
        float(pm["max_link_load"]),
        float(pm["row_major_total_link_load"]),
        float(pm.get("row_major_max_link_load", 0.0)),
        float(pm.get("chip_traffic", 0.0)),
    )


def _read_cores(header: dict[str, Any]) -> tuple[CoreUsage, ...]:
    return tuple(
        CoreUsage(
            int(c["core"]),
            int(c["chip"]),
            int(c["x"]),
            int(c["y"]),
            tuple((str(p), int(s), int(e)) for p, s, e in c["neurons"]),
            {k: (u, cap) for k, (u, cap) in c["resources"].items()},
        )
        for c in header["cores"]
    )


def _read_mapped(path: Path, header: dict[str, Any]) -> MappedNetwork:
    network = read_npz(path / "network.npz")
    hw = read_npz(path / "hw_network.npz")
    profile = ChipProfile.model_validate(header["profile"])
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    served = {name: (base, a[f"served/{name}"]) for name, base in header.get("served", {}).items()}
    # files written before roles were stored: MappedNetwork fills them in from the structure
    roles = {str(name): Role(value) for name, value in header.get("roles", {}).items()}
    return MappedNetwork(
        network=network,
        profile=profile,
        hw_network=hw,
        quantized=_read_quantized(header, a),
        core_of={p.name: a[f"core_of/{p.name}"] for p in hw.populations},
        cores=_read_cores(header),
        placement=_read_placement(header["placement"], a),
        violations=tuple(Violation(**v) for v in header["violations"]),
        strategy=str(header["strategy"]),
        seed=int(header["seed"]),
        lower_bound_cores=int(header["lower_bound_cores"]),
        added=dict(header.get("added", {})),
        info=dict(header.get("info", {})),
        served=served,
        roles=roles,
    )


def load_mapped(path: str | Path) -> MappedNetwork:
    """Read a mapping written by :func:`save_mapped`.

    Raises
    ------
    MappingError
        One line naming the file and the entry when a part is missing or damaged.
    """
    path = Path(path)
    header = _read_header(path)
    try:
        return _read_mapped(path, header)
    except NeurosimError as exc:
        raise MappingError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise MappingError(f"{path}: malformed mapping ({type(exc).__name__}: {exc})") from None
