"""Lossless ``.npz`` storage of a :class:`~neurosim.network.Network`.

Layout: one JSON header (``__network__``) describing populations, projections,
inputs, outputs, name and metadata; per population its bias and per-neuron
model parameters; per projection the CSR arrays ``data``, ``indices``,
``indptr`` and the shape, or for a conv/pool projection its geometry in the
header and the kernel (never the unrolled matrix). Arrays are stored at full float64 precision, so a
round trip is exact.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec
from neurosim.errors import NetworkError
from neurosim.network import Network, Population, Projection
from neurosim.neurons import NeuronModel
from neurosim.util.atomic import atomic_path

__all__ = ["read_npz", "write_npz"]

_FORMAT_VERSION = 1


def write_npz(network: Network, path: str | Path) -> Path:
    """Write ``network`` to ``path`` (``.npz``), atomically.

    Parameters
    ----------
    network : Network
    path : str or Path

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    pops: list[dict[str, Any]] = []
    for i, p in enumerate(network.populations):
        arrays[f"pop{i}_bias"] = p.bias
        params = {}
        for k, v in p.model.params.items():
            arrays[f"pop{i}_param_{k}"] = v
            params[k] = f"pop{i}_param_{k}"
        pops.append({"name": p.name, "size": p.size, "kind": p.model.kind, "reset": p.model.reset, "params": params})
        if p.shape is not None:
            pops[-1]["shape"] = list(p.shape)
    projs: list[dict[str, Any]] = []
    for i, pr in enumerate(network.projections):
        if pr.spec is not None:  # compact form: the kernel once, never unrolled
            if pr.kind == "conv":
                arrays[f"proj{i}_kernel"] = pr.spec.kernel
            projs.append({"name": pr.name, "pre": pr.pre, "post": pr.post, "spec": pr.spec.to_dict()})
            continue
        w = pr.weights
        arrays[f"proj{i}_data"] = w.data
        arrays[f"proj{i}_indices"] = w.indices
        arrays[f"proj{i}_indptr"] = w.indptr
        projs.append({"name": pr.name, "pre": pr.pre, "post": pr.post, "shape": list(w.shape)})
    header = {
        "format": "neurosim-network",
        "version": _FORMAT_VERSION,
        "name": network.name,
        "inputs": list(network.inputs),
        "outputs": list(network.outputs),
        "metadata": network.metadata,
        "populations": pops,
        "projections": projs,
    }
    try:
        header_json = json.dumps(header)
    except TypeError as exc:
        raise NetworkError(f"network {network.name}: metadata is not JSON-serialisable ({exc})") from None
    arrays["__network__"] = np.frombuffer(header_json.encode(), dtype=np.uint8)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path


def _compact_projection(qd: dict[str, Any], kernel: np.ndarray | None, where: str) -> Projection:
    """A conv or pool projection from its header entry (and kernel array)."""
    d = qd["spec"]
    if d.get("kind") == "conv":
        spec: Any = ConvSpec(kernel, d["in_shape"], d["out_shape"], d["stride"], d["padding"], d["dilation"],
                             d["groups"], where)
    elif d.get("kind") == "pool":
        spec = PoolSpec(d["mode"], d["window"], d["in_shape"], d["out_shape"], d["stride"], d["padding"],
                        d.get("gain", 1.0), where)
    else:
        raise NetworkError(f"{where}: spec kind {d.get('kind')!r}; expected 'conv' or 'pool'")
    return Projection(qd["pre"], qd["post"], name=qd["name"], spec=spec)


def read_npz(path: str | Path) -> Network:
    """Read a network written by :func:`write_npz`.

    Raises
    ------
    NetworkError
        When the file is missing, not a neurosim ``.npz``, or inconsistent;
        the message names the file and the entry.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if "__network__" not in files:
                raise NetworkError(f"{path}: not a neurosim network file (no '__network__' entry)")
            header = json.loads(z["__network__"].tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != "neurosim-network":
                raise NetworkError(f"{path}: '__network__' entry is not a neurosim network header")

            def arr(key: str) -> np.ndarray:
                if key not in files:
                    raise NetworkError(f"{path}: missing array {key!r}")
                return z[key]

            for section in ("populations", "projections"):
                entries = header.get(section)
                if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                    raise NetworkError(f"{path}: header field {section!r} must be a list of objects")
            pops = []
            for i, pd in enumerate(header["populations"]):
                params = {k: arr(v) for k, v in pd.get("params", {}).items()}
                model = NeuronModel(pd["kind"], params, pd.get("reset", "zero"))
                pops.append(Population(pd["name"], int(pd["size"]), model, arr(f"pop{i}_bias"), pd.get("shape")))
            projs = []
            for i, qd in enumerate(header["projections"]):
                if "spec" in qd:
                    projs.append(_compact_projection(qd, arr(f"proj{i}_kernel") if qd["spec"].get("kind") == "conv"
                                                     else None, f"{path}: projection {qd['name']}"))
                    continue
                shape = tuple(int(s) for s in qd["shape"])
                data, indices, indptr = (arr(f"proj{i}_{k}") for k in ("data", "indices", "indptr"))
                for key, a, kinds in (("data", data, "biuf"), ("indices", indices, "iu"), ("indptr", indptr, "iu")):
                    if a.ndim != 1 or a.dtype.kind not in kinds:
                        raise NetworkError(
                            f"{path}: array 'proj{i}_{key}' has shape {a.shape} and dtype {a.dtype}; "
                            f"expected a 1-D {'numeric' if key == 'data' else 'integer'} array"
                        )
                w = sp.csr_matrix((data, indices, indptr), shape=shape)
                projs.append(Projection(qd["pre"], qd["post"], w, qd["name"]))
            return Network(
                tuple(pops),
                tuple(projs),
                inputs=tuple(header.get("inputs", ())),
                outputs=tuple(header.get("outputs", ())),
                name=str(header.get("name", path.stem)),
                metadata=header.get("metadata", {}),
            )
    except NetworkError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise NetworkError(f"{path}: not a readable .npz file ({exc})") from None
    except (
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        OverflowError,
        zlib.error,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:
        raise NetworkError(f"{path}: malformed neurosim network file ({type(exc).__name__}: {exc})") from None
