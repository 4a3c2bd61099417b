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

__all__ = ["MAX_DIM", "read_npz", "write_npz"]

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


def _compact(path: Path, i: int, qd: dict[str, Any], arr: Any) -> Projection:
    """A conv/pool projection, every bad field a one-line error naming the file and entry."""
    spec = qd["spec"]
    if not isinstance(spec, dict):
        raise NetworkError(f"{path}: header projections[{i}].spec is {spec!r}; expected a mapping")
    kernel = None
    if spec.get("kind") == "conv":
        kernel = arr(f"proj{i}_kernel")
        _check_array(path, f"proj{i}_kernel", kernel.reshape(-1), "biuf", "numeric")
    try:
        return _compact_projection(qd, kernel, f"{path}: projections[{i}] ({qd['name']})")
    except NetworkError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise NetworkError(f"{path}: header projections[{i}].spec is malformed ({type(exc).__name__}: {exc})") from None


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


#: largest population size or matrix dimension accepted from a file (int32 CSR indices)
MAX_DIM = 2**31 - 1


def _check_array(
    path: Path, key: str, a: np.ndarray, kinds: str, what: str, allow_inf: bool = False
) -> None:
    """A 1-D array of the right dtype kind with finite values, or a NetworkError naming it."""
    if a.ndim != 1 or a.dtype.kind not in kinds:
        raise NetworkError(
            f"{path}: array {key!r} has shape {a.shape} and dtype {a.dtype}; expected a 1-D {what} array"
        )
    if a.dtype.kind == "f" and a.size and np.isnan(a).any():
        raise NetworkError(f"{path}: array {key!r} contains NaN; expected numbers")
    if not allow_inf and a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        raise NetworkError(f"{path}: array {key!r} contains NaN or inf; expected finite numbers")


def _check_csr(
    path: Path, i: int, shape: tuple[int, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray
) -> sp.csr_matrix:
    """Validate CSR arrays fully before scipy sees them (scipy trusts them and can crash)."""
    for key, a, kinds, what in (
        ("data", data, "biuf", "numeric"),
        ("indices", indices, "iu", "integer"),
        ("indptr", indptr, "iu", "integer"),
    ):
        _check_array(path, f"proj{i}_{key}", a, kinds, what)
    n_rows, n_cols = shape
    if indptr.size != n_rows + 1:
        raise NetworkError(
            f"{path}: array 'proj{i}_indptr' has {indptr.size} entries; expected {n_rows + 1} (rows + 1)"
        )
    ptr = indptr.astype(np.int64)
    if ptr[0] != 0 or (np.diff(ptr) < 0).any() or ptr[-1] != data.size:
        raise NetworkError(
            f"{path}: array 'proj{i}_indptr' must start at 0, never decrease and end at "
            f"{data.size} (the length of 'proj{i}_data')"
        )
    if indices.size != data.size:
        raise NetworkError(
            f"{path}: array 'proj{i}_indices' has {indices.size} entries; expected {data.size} "
            f"(one per entry of 'proj{i}_data')"
        )
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= n_cols):
        bad = int(indices.min()) if int(indices.min()) < 0 else int(indices.max())
        raise NetworkError(
            f"{path}: array 'proj{i}_indices' holds column {bad}; expected 0 <= index < {n_cols}"
        )
    return sp.csr_matrix(
        (data.astype(np.float64), indices.astype(np.int64), ptr), shape=shape
    )


def _shape(path: Path, i: int, qd: dict[str, Any]) -> tuple[int, int]:
    shape = qd.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= MAX_DIM for s in shape)
    ):
        raise NetworkError(
            f"{path}: header projections[{i}].shape is {shape!r}; expected two integers in 1..{MAX_DIM}"
        )
    return int(shape[0]), int(shape[1])


def _population(path: Path, i: int, pd: dict[str, Any], arr: Any) -> Population:
    size = pd.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_DIM:
        raise NetworkError(f"{path}: header populations[{i}].size is {size!r}; expected an integer in 1..{MAX_DIM}")
    for field in ("name", "kind"):
        if not isinstance(pd.get(field), str):
            raise NetworkError(f"{path}: header populations[{i}].{field} is {pd.get(field)!r}; expected a string")
    params_in = pd.get("params", {})
    if not isinstance(params_in, dict) or not all(isinstance(v, str) for v in params_in.values()):
        raise NetworkError(f"{path}: header populations[{i}].params must map names to array keys")
    params = {}
    for k, key in params_in.items():
        a = arr(key)
        _check_array(path, key, a.reshape(-1), "biuf", "numeric", allow_inf=True)
        params[k] = a
    bias = arr(f"pop{i}_bias")
    _check_array(path, f"pop{i}_bias", bias, "biuf", "numeric")
    if bias.size != size:
        raise NetworkError(f"{path}: array 'pop{i}_bias' has {bias.size} entries; expected {size} (the size)")
    try:
        model = NeuronModel(pd["kind"], params, pd.get("reset", "zero"))
        return Population(pd["name"], size, model, bias, pd.get("shape"))
    except NetworkError as exc:
        raise NetworkError(f"{path}: populations[{i}]: {exc}") from None


def _read_header(path: Path, z: Any) -> dict[str, Any]:
    if "__network__" not in z.files:
        raise NetworkError(f"{path}: not a neurosim network file (no '__network__' entry)")
    header = json.loads(z["__network__"].tobytes().decode())
    if not isinstance(header, dict) or header.get("format") != "neurosim-network":
        raise NetworkError(f"{path}: '__network__' entry is not a neurosim network header")
    for section in ("populations", "projections"):
        entries = header.get(section)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise NetworkError(f"{path}: header field {section!r} must be a list of objects")
    for field in ("inputs", "outputs"):
        value = header.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise NetworkError(f"{path}: header field {field!r} is {value!r}; expected a list of names")
    if not isinstance(header.get("metadata", {}), dict):
        raise NetworkError(f"{path}: header field 'metadata' must be an object")
    return header


def _network(path: Path, z: Any) -> Network:
    files = set(z.files)
    header = _read_header(path, z)

    def arr(key: str) -> np.ndarray:
        if not isinstance(key, str) or key not in files:
            raise NetworkError(f"{path}: missing array {key!r}")
        return z[key]

    pops = [_population(path, i, pd, arr) for i, pd in enumerate(header["populations"])]
    projs = []
    for i, qd in enumerate(header["projections"]):
        for field in ("pre", "post", "name"):
            if not isinstance(qd.get(field), str):
                raise NetworkError(f"{path}: header projections[{i}].{field} is {qd.get(field)!r}; expected a string")
        if "spec" in qd:  # conv/pool: geometry in the header, the kernel as one array
            projs.append(_compact(path, i, qd, arr))
            continue
        shape = _shape(path, i, qd)
        w = _check_csr(path, i, shape, *(arr(f"proj{i}_{k}") for k in ("data", "indices", "indptr")))
        try:
            projs.append(Projection(qd["pre"], qd["post"], w, qd["name"]))
        except NetworkError as exc:
            raise NetworkError(f"{path}: projections[{i}]: {exc}") from None
    try:
        return Network(
            tuple(pops),
            tuple(projs),
            inputs=tuple(header.get("inputs", ())),
            outputs=tuple(header.get("outputs", ())),
            name=str(header.get("name", path.stem)),
            metadata=header.get("metadata", {}),
        )
    except NetworkError as exc:
        raise NetworkError(f"{path}: {exc}") from None


def read_npz(path: str | Path) -> Network:
    """Read a network written by :func:`write_npz`.

    Every header field and array is validated before use (dtypes, finite
    values, CSR ``indptr`` monotone from 0 to nnz, column indices in range,
    sizes within :data:`MAX_DIM`), so a corrupt file gives one line naming
    the file and the entry.

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
            return _network(path, z)
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
        MemoryError,
        RecursionError,
        zlib.error,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:
        raise NetworkError(f"{path}: malformed neurosim network file ({type(exc).__name__}: {exc})") from None
