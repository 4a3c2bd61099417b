"""Sparse DNN Graph Challenge files and reference semantics.

File formats (Kepner et al., "Sparse Deep Neural Network Graph Challenge", HPEC 2019):

* ``n{N}-l{k}.tsv`` (or ``.tsv.gz``): weights of layer ``k``, one nonzero per
  line, ``row<TAB>col<TAB>value``, 1-based; row = input neuron, col = output
  neuron, so inference multiplies on the left (``Z = Y W``).
* ``sparse-images-{N}.tsv``: input features, ``image<TAB>feature<TAB>value``, 1-based.
* ``neuron{N}-l{L}-categories.tsv``: the truth categories, one 1-based image index per line.

A network is a directory of layer files. The challenge files carry no bias or
cap; the reader takes the official bias for ``N`` (-0.3, -0.35, -0.4, -0.45)
and cap 32, unless the directory holds a ``neurosim.json`` side file written
by :func:`write_challenge_network` (bias per layer, cap, name), or the caller
passes ``bias``/``cap``.

Reference semantics (:func:`challenge_inference`), per layer::

    Z = Y W
    Y = min(cap, max(0, Z + b))   with b added only where Z is structurally nonzero

and the categories are the 1-based indices of the input rows whose final
output has any nonzero entry. For ``b <= 0`` adding ``b`` everywhere gives the
same ``Y`` (a structurally zero ``Z`` stays 0 after the ReLU either way), so
the fast path uses the simulator's fused ReLU kernel; a positive bias takes
the structural path.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import DataError, NetworkError, NeurosimError
from neurosim.network import Network, Projection
from neurosim.neurons import NeuronModel
from neurosim.topology.graph_challenge import CHALLENGE_BIAS, CHALLENGE_CAP
from neurosim.topology.lazy import LazyLayeredNetwork
from neurosim.util.atomic import atomic_dir, atomic_path
from neurosim.util.jsonable import json_default

__all__ = [
    "ChallengeResult",
    "challenge_categories",
    "challenge_inference",
    "challenge_inference_scipy",
    "list_layer_files",
    "read_categories",
    "read_challenge_layer",
    "read_challenge_network",
    "read_sparse_images",
    "read_tsv_triples",
    "write_categories",
    "write_challenge_network",
    "write_sparse_images",
]

_LAYER_RE = re.compile(r"^n(\d+)-l(\d+)\.tsv(\.gz)?$")
_SIDECAR = "neurosim.json"
_MAX_INDEX = (
    2**24
)  # no challenge file comes near (N <= 65536); guards memory when N is not in the name


# ------------------------------------------------------------------ parsing
def _read_bytes(path: Path, error: type[NeurosimError]) -> bytes:
    """The whole file, decompressed when it ends in ``.gz``; one-line errors."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise error(f"{path}: truncated or corrupt gzip file ({exc})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def _first_bad_line(raw: bytes, path: Path, n_cols: int, error: type[NeurosimError]) -> None:
    """Scan line by line and raise ``error`` naming the first malformed line."""
    for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != n_cols:
            raise error(
                f"{path}:{lineno}: expected {n_cols} tab-separated fields, got {len(fields)} ({line.strip()[:60]!r})"
            )
        for f in fields:
            try:
                float(f)
            except ValueError:
                raise error(f"{path}:{lineno}: {f[:40]!r} is not a number") from None


def _line_of(raw: bytes, index: int) -> int:
    """1-based line number of the ``index``-th (0-based) non-blank line."""
    seen = -1
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            seen += 1
            if seen == index:
                return lineno
    return index + 1


def read_tsv_triples(
    path: str | Path,
    *,
    n_rows: int | None = None,
    n_cols: int | None = None,
    error: type[NeurosimError] = NetworkError,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``row<TAB>col<TAB>value`` lines (1-based indices).

    Parameters
    ----------
    path : str or Path
        Plain or ``.gz`` file.
    n_rows, n_cols : int, optional
        Upper bounds of the indices (checked when given).
    error : NeurosimError subclass
        The error raised (NetworkError for weights, DataError for inputs).

    Returns
    -------
    rows, cols : ndarray of int64 (0-based)
    values : ndarray of float64

    Raises
    ------
    NeurosimError
        One line naming the file and line: wrong number of fields, a field
        that is not a number, an index that is not a positive integer or is
        out of range, a NaN or infinite value, a truncated ``.gz``.
    """
    path = Path(path)
    raw = _read_bytes(path, error)
    if not raw.strip():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    try:
        a = np.loadtxt(io.BytesIO(raw), dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        _first_bad_line(raw, path, 3, error)
        raise error(f"{path}: malformed TSV; expected lines of row<TAB>col<TAB>value") from None
    if a.shape[1] != 3:
        _first_bad_line(raw, path, 3, error)
    for j, what, bound in ((0, "row", n_rows), (1, "column", n_cols)):
        col = a[:, j]
        bad = (
            (col < 1)
            | (col != np.floor(col))
            | (col > (bound if bound is not None else _MAX_INDEX))
        )
        if bad.any():
            i = int(np.argmax(bad))
            limit = f"1..{bound}" if bound is not None else f"an integer in 1..{_MAX_INDEX}"
            raise error(
                f"{path}:{_line_of(raw, i)}: {what} index {col[i]:g} out of range; expected {limit}"
            )
    bad = ~np.isfinite(a[:, 2])
    if bad.any():
        i = int(np.argmax(bad))
        raise error(f"{path}:{_line_of(raw, i)}: value {a[i, 2]} is not finite")
    return a[:, 0].astype(np.int64) - 1, a[:, 1].astype(np.int64) - 1, a[:, 2]


def read_challenge_layer(path: str | Path, n_neurons: int | None = None) -> sp.csr_matrix:
    """Read one ``n{N}-l{k}.tsv[.gz]`` layer as an ``N x N`` CSR matrix.

    ``N`` is taken from the file name when ``n_neurons`` is not given (else
    from the largest index). Duplicate entries are an error.
    """
    path = Path(path)
    if n_neurons is None:
        m = _LAYER_RE.match(path.name)
        n_neurons = int(m.group(1)) if m else None
    r, c, v = read_tsv_triples(path, n_rows=n_neurons, n_cols=n_neurons, error=NetworkError)
    n = n_neurons if n_neurons is not None else int(max(r.max(initial=-1), c.max(initial=-1)) + 1)
    if n <= 0:
        raise NetworkError(
            f"{path}: no nonzeros and no size in the file name (expected n{{N}}-l{{k}}.tsv)"
        )
    w = sp.csr_matrix((v, (r, c)), shape=(n, n))
    if w.nnz != r.size:
        w_count = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
        dup = w_count.tocoo()
        k = int(np.argmax(dup.data > 1))
        raise NetworkError(
            f"{path}: duplicate entry for row {dup.row[k] + 1}, column {dup.col[k] + 1}"
        )
    return w


# ------------------------------------------------------------ directories
def list_layer_files(directory: str | Path) -> tuple[int, list[Path]]:
    """``(N, [layer 1 file, layer 2 file, ...])`` of a challenge directory.

    Raises
    ------
    NetworkError
        When the directory has no layer files, mixes sizes, or skips a layer.
    """
    d = Path(directory)
    if not d.is_dir():
        raise NetworkError(f"{d}: not a directory of n{{N}}-l{{k}}.tsv[.gz] layer files")
    found: dict[int, Path] = {}
    sizes: set[int] = set()
    for p in d.iterdir():
        m = _LAYER_RE.match(p.name)
        if not m:
            continue
        n, k = int(m.group(1)), int(m.group(2))
        sizes.add(n)
        if k in found:
            raise NetworkError(f"{d}: layer {k} appears twice ({found[k].name} and {p.name})")
        found[k] = p
    if not found:
        raise NetworkError(
            f"{d}: no layer files; expected n{{N}}-l{{k}}.tsv or n{{N}}-l{{k}}.tsv.gz"
        )
    if len(sizes) > 1:
        raise NetworkError(f"{d}: layer files of several sizes {sorted(sizes)}; expected one N")
    n_layers = max(found)
    missing = sorted(set(range(1, n_layers + 1)) - set(found))
    if missing:
        raise NetworkError(f"{d}: layer {missing[0]} of {n_layers} is missing")
    return sizes.pop(), [found[k] for k in range(1, n_layers + 1)]


def _read_sidecar(d: Path) -> dict[str, Any]:
    p = d / _SIDECAR
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise NetworkError(f"{p}: unreadable side file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != "neurosim-graph-challenge":
        raise NetworkError(f"{p}: not a neurosim graph challenge side file")
    return data


def read_challenge_network(
    path: str | Path,
    *,
    n_layers: int | None = None,
    lazy: bool = False,
    bias: float | Sequence[float] | None = None,
    cap: float | None = None,
) -> Network | LazyLayeredNetwork:
    """Read a challenge network: a directory of layer files, or one layer file.

    Parameters
    ----------
    path : str or Path
    n_layers : int, optional
        Read only the first ``n_layers`` layers.
    lazy : bool
        Return a :class:`~neurosim.topology.lazy.LazyLayeredNetwork` that reads
        each layer file when it is needed (for networks too big to hold).
    bias : float or sequence of float, optional
        Bias of every layer, or one per layer. Default: the side file's, else
        the official bias for ``N``.
    cap : float, optional
        ReLU cap. Default: the side file's, else 32.

    Returns
    -------
    Network or LazyLayeredNetwork
    """
    path = Path(path)
    if path.is_file():
        files = [path]
        m = _LAYER_RE.match(path.name)
        n = int(m.group(1)) if m else read_challenge_layer(path).shape[0]
        side: dict[str, Any] = {}
    else:
        n, files = list_layer_files(path)
        side = _read_sidecar(path)
    if n_layers is not None:
        if int(n_layers) != n_layers or not 1 <= n_layers <= len(files):
            raise NetworkError(f"{path}: n_layers={n_layers!r}; expected 1..{len(files)}")
        files = files[: int(n_layers)]
    biases = _layer_biases(path, n, len(files), bias, side)
    cap_value = float(cap if cap is not None else side.get("cap") or CHALLENGE_CAP)
    name = str(side.get("name") or (path.name if path.is_dir() else f"n{n}"))
    meta = dict(side.get("metadata") or {})
    meta.update({"source": str(path), "format": "graph_challenge"})

    def weight_fn(layer: int) -> sp.csr_matrix:
        return read_challenge_layer(files[layer - 1], n)

    def bias_fn(layer: int) -> Any:
        return biases[layer - 1]

    net = LazyLayeredNetwork(
        (n,) * (len(files) + 1),
        weight_fn,
        bias_fn,
        NeuronModel("relu", {"cap": cap_value}),
        name,
        meta,
    )
    return net if lazy else net.to_network()


def _layer_biases(path: Path, n: int, n_layers: int, bias: Any, side: dict[str, Any]) -> list[Any]:
    if bias is None and "bias" in side:
        bias = side["bias"]
    if bias is None:
        if n not in CHALLENGE_BIAS:
            raise NetworkError(
                f"{path}: no official bias for N={n} (expected one of {', '.join(map(str, CHALLENGE_BIAS))}); pass bias="
            )
        return [CHALLENGE_BIAS[n]] * n_layers
    if np.ndim(bias) == 0:
        return [float(bias)] * n_layers
    biases = list(bias)
    if len(biases) < n_layers:
        raise NetworkError(f"{path}: {len(biases)} biases for {n_layers} layers")
    return [np.asarray(b, dtype=np.float64) if np.ndim(b) else float(b) for b in biases[:n_layers]]


# ----------------------------------------------------------------- writing
def _layers_of(network: Network | LazyLayeredNetwork) -> Iterator[tuple[Projection, Any]]:
    yield from network.layers()


def _format_triples(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, fmt: str) -> bytes:
    """``row\\tcol\\tvalue`` lines (rows/cols already 1-based)."""
    uniq, inverse = np.unique(values, return_inverse=True)
    texts = [fmt % v for v in uniq]
    out = [
        f"{r}\t{c}\t{texts[k]}\n"
        for r, c, k in zip(rows.tolist(), cols.tolist(), inverse.tolist(), strict=False)
    ]
    return "".join(out).encode()


def _write_bytes(path: Path, payload: bytes, compress: bool) -> None:
    if compress:
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh,
        ):
            fh.write(payload)
    else:
        path.write_bytes(payload)


def _write_one_layer_tsv(
    network: Network | LazyLayeredNetwork, path: Path, *, force: bool, fmt: str
) -> Path:
    """A one-layer network as a single ``.tsv`` / ``.tsv.gz`` file."""
    layers = list(_layers_of(network))
    if len(layers) != 1:
        raise NetworkError(
            f"{path}: a single .tsv file holds one layer; the network has {len(layers)} (write a directory)"
        )
    if path.exists() and not force:
        raise FileExistsError(str(path))
    w = layers[0][0].weights.tocoo()
    with atomic_path(path) as tmp:
        _write_bytes(
            tmp, _format_triples(w.row + 1, w.col + 1, w.data, fmt), path.name.endswith(".gz")
        )
    return path


def write_challenge_network(
    network: Network | LazyLayeredNetwork,
    path: str | Path,
    *,
    force: bool = False,
    compress: bool | None = None,
    fmt: str = "%.17g",
) -> Path:
    """Write a layered network as a challenge directory, one layer at a time.

    Parameters
    ----------
    network : Network or LazyLayeredNetwork
        A chain of ``N x N`` layers (lazy networks are streamed layer by layer).
    path : str or Path
        The directory to create (``n{N}-l{k}.tsv`` files plus ``neurosim.json``).
        A path ending in ``.tsv`` or ``.tsv.gz`` writes a one-layer network to that file.
    force : bool
        Replace an existing directory (only once the new one is complete).
    compress : bool, optional
        Write ``.tsv.gz``; default: plain ``.tsv`` (``.gz`` when ``path`` ends in ``.gz``).
    fmt : str
        printf format of the values; the default round-trips float64 exactly.

    Raises
    ------
    NetworkError
        When the network is not a chain of square layers of one size.
    FileExistsError
        When ``path`` exists and ``force`` is false (nothing is written).
    """
    path = Path(path)
    if isinstance(network, Network):
        _check_chain(network)
    if path.name.endswith((".tsv", ".tsv.gz")):
        return _write_one_layer_tsv(network, path, force=force, fmt=fmt)
    gz = bool(compress)
    biases: list[Any] = []
    n = None
    with atomic_dir(path, force=force) as tmp:
        for k, (proj, pop) in enumerate(_layers_of(network), start=1):
            w = proj.weights
            if w.shape[0] != w.shape[1] or (n is not None and w.shape[0] != n):
                raise NetworkError(
                    f"network {network.name}: layer {k} has shape {w.shape}; the challenge format needs N x N layers of one N"
                )
            n = w.shape[0]
            c = w.tocsc()  # the official files list nonzeros column by column
            cols = np.repeat(np.arange(n), np.diff(c.indptr))
            payload = _format_triples(c.indices + 1, cols + 1, c.data, fmt)
            _write_bytes(tmp / f"n{n}-l{k}.tsv{'.gz' if gz else ''}", payload, gz)
            b = np.asarray(pop.bias)
            biases.append(float(b[0]) if b.size and np.all(b == b[0]) else b.tolist())
            cap = pop.model.param("cap") if pop.model.kind == "relu" else np.inf
        if n is None:
            raise NetworkError(f"network {network.name}: no layers to write")
        cap_v = np.asarray(cap)
        side = {
            "format": "neurosim-graph-challenge",
            "name": network.name,
            "n_neurons": n,
            "n_layers": len(biases),
            "bias": biases,
            "cap": float(cap_v.flat[0])
            if np.isfinite(cap_v).all() and np.all(cap_v == cap_v.flat[0])
            else None,
            "metadata": dict(network.metadata),
        }
        (tmp / _SIDECAR).write_text(json.dumps(side, indent=1, default=json_default))
    return path


def _check_chain(network: Network) -> None:
    order = network.order()
    if len(network.inputs) != 1 or order[0] != network.inputs[0]:
        raise NetworkError(
            f"network {network.name}: the challenge format needs one input population"
        )
    for prev, name in zip(order, order[1:], strict=False):
        into = network.projections_into(name)
        if len(into) != 1 or into[0].pre != prev:
            raise NetworkError(
                f"network {network.name}: population {name!r} is not fed by exactly one projection from "
                f"{prev!r}; the challenge format holds a chain of layers"
            )
        model = network.population(name).model
        if model.kind != "relu":
            raise NetworkError(
                f"network {network.name}: population {name!r} has model {model.kind!r}; the challenge format holds ReLU layers"
            )


# ------------------------------------------------------ inputs, categories
def read_sparse_images(
    path: str | Path, n_features: int | None = None, n_images: int | None = None
) -> sp.csr_matrix:
    """Read ``sparse-images-{N}.tsv[.gz]`` as an ``n_images x N`` CSR matrix.

    ``N`` comes from ``n_features`` or the file name ``sparse-images-{N}``;
    ``n_images`` defaults to the largest image index.
    """
    path = Path(path)
    if n_features is None:
        m = re.match(r"^sparse-images-(\d+)\.tsv(\.gz)?$", path.name)
        n_features = int(m.group(1)) if m else None
    r, c, v = read_tsv_triples(path, n_rows=n_images, n_cols=n_features, error=DataError)
    n_f = n_features if n_features is not None else int(c.max(initial=-1) + 1)
    n_i = n_images if n_images is not None else int(r.max(initial=-1) + 1)
    if n_f <= 0 or n_i <= 0:
        raise DataError(f"{path}: no images; expected lines of image<TAB>feature<TAB>value")
    y = sp.csr_matrix((v, (r, c)), shape=(n_i, n_f))
    y.sum_duplicates()
    return y


def write_sparse_images(
    images: Any, path: str | Path, *, force: bool = False, fmt: str = "%.17g"
) -> Path:
    """Write an ``n_images x N`` array or sparse matrix as ``image<TAB>feature<TAB>value`` lines."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(str(path))
    y = sp.coo_matrix(images)
    y.eliminate_zeros()
    order = np.lexsort((y.col, y.row))
    with atomic_path(path) as tmp:
        _write_bytes(
            tmp,
            _format_triples(y.row[order] + 1, y.col[order] + 1, y.data[order], fmt),
            path.name.endswith(".gz"),
        )
    return path


def read_categories(path: str | Path) -> np.ndarray:
    """Read a categories file: one 1-based image index per line (sorted, int64)."""
    path = Path(path)
    raw = _read_bytes(path, DataError)
    out = []
    for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        try:
            k = int(s)
        except ValueError:
            raise DataError(
                f"{path}:{lineno}: {s[:40]!r} is not an image index; expected a positive integer"
            ) from None
        if k < 1:
            raise DataError(f"{path}:{lineno}: image index {k} out of range; expected >= 1")
        out.append(k)
    return np.asarray(out, dtype=np.int64)


def write_categories(categories: Iterable[int], path: str | Path, *, force: bool = False) -> Path:
    """Write 1-based image indices, one per line."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(str(path))
    text = "".join(f"{int(k)}\n" for k in categories)
    with atomic_path(path) as tmp:
        _write_bytes(tmp, text.encode(), path.name.endswith(".gz"))
    return path


# -------------------------------------------------------------- inference
@dataclass(frozen=True)
class ChallengeResult:
    """Outcome of :func:`challenge_inference`.

    Attributes
    ----------
    outputs : ndarray, shape (n_inputs, N_out)
        Final activations.
    categories : ndarray of int64
        1-based indices of the input rows with any nonzero output.
    n_layers : int
    n_edges : int
        Nonzero weights in all layers (throughput = n_inputs * n_edges / seconds).
    """

    outputs: np.ndarray
    categories: np.ndarray
    n_layers: int
    n_edges: int


def challenge_categories(outputs: Any) -> np.ndarray:
    """1-based indices of the rows of ``outputs`` that have any nonzero entry."""
    if sp.issparse(outputs):
        nz = np.diff(sp.csr_matrix(outputs).indptr) > 0
    else:
        nz = np.asarray(outputs).any(axis=1)
    return np.flatnonzero(nz).astype(np.int64) + 1


def _iter_weights(layers: Any, bias: Any) -> Iterator[tuple[sp.csr_matrix, np.ndarray]]:
    """``(W, b)`` per layer from a Network, a lazy network, or an iterable of matrices."""
    if isinstance(layers, (Network, LazyLayeredNetwork)):
        pairs: Iterable[Any] = ((proj.weights, pop.bias) for proj, pop in layers.layers())
    else:
        pairs = ((w, None) for w in layers)
    per_layer = bias is not None and np.ndim(bias) > 0 and not isinstance(bias, np.ndarray)
    for k, (w, b_pop) in enumerate(pairs):
        w = sp.csr_matrix(w)
        if bias is None:
            if b_pop is None:
                raise NetworkError("challenge_inference: weights given without a bias; pass bias=")
            b = b_pop
        elif per_layer:
            if k >= len(bias):
                raise NetworkError(f"challenge_inference: {len(bias)} biases for more layers")
            b = bias[k]
        else:
            b = bias
        yield w, np.broadcast_to(np.asarray(b, dtype=np.float64), (w.shape[1],))


def _dense_inputs(y0: Any, dtype: Any) -> np.ndarray:
    y = y0.toarray() if sp.issparse(y0) else np.asarray(y0)
    if y.ndim != 2:
        raise DataError(
            f"challenge_inference: inputs must be 2-D (n_inputs x N), got shape {y.shape}"
        )
    return np.ascontiguousarray(y, dtype=dtype)


def _kernels() -> Any:
    """The simulator's compiled kernels, or None when they are not available."""
    try:
        from neurosim.sim import kernels
    except ImportError:
        return None
    return kernels if hasattr(kernels, "pull_layer") and hasattr(kernels, "propagate") else None


def _fused_layer(
    kern: Any, y: np.ndarray, w: sp.csr_matrix, b: np.ndarray, cap: float, dtype: Any
) -> np.ndarray:
    """One layer in one pass of the pull kernel (:func:`neurosim.sim.kernels.pull_layer`,
    on ``w``'s CSC arrays, converted once; scipy for a small job in a process without
    numba, same bits either way)."""
    n_post = w.shape[1]
    bias = np.broadcast_to(np.asarray(b, dtype=dtype), (n_post,))
    caps = np.full(n_post, cap, dtype=dtype)
    return kern.pull_layer(y, kern.csc_arrays(w), bias, caps)[0]


def challenge_inference(
    layers: Any,
    Y0: Any,
    bias: float | Sequence[Any] | None = None,
    cap: float = CHALLENGE_CAP,
    *,
    dtype: Any = np.float64,
) -> ChallengeResult:
    """Challenge reference inference, streaming layer by layer.

    Parameters
    ----------
    layers : Network, LazyLayeredNetwork, or iterable of (N_l x N_{l+1}) sparse matrices
        Only one layer is held at a time when ``layers`` is lazy or a generator.
    Y0 : array or sparse matrix, shape (n_inputs, N_0)
        Input features, one row per input.
    bias : float, ndarray, or list/tuple (one per layer) of floats or arrays, optional
        A float or an ndarray applies to every layer. Default: the populations'
        bias (required when ``layers`` are plain matrices).
    cap : float
        Activation cap (32 in the challenge).
    dtype : float32 or float64

    Returns
    -------
    ChallengeResult

    Notes
    -----
    ``b`` is added only where ``Z = Y W`` is structurally nonzero. With
    ``b <= 0`` that equals adding it everywhere (a structural zero stays 0
    after ``max(0, .)``), which is what the fused kernel
    :func:`neurosim.sim.kernels.pull_layer` does (the reference backend's
    fused kernel, which skips silent inputs); positive entries of ``b`` are masked by the structure of
    ``(Y != 0) (W != 0)``.

    With ``b <= 0`` each layer runs in one compiled pass of
    :func:`neurosim.sim.kernels.pull_layer` (the reference backend's kernel,
    same bits).
    """
    y = _dense_inputs(Y0, dtype)
    kern = _kernels()
    n_layers = n_edges = 0
    for w, b in _iter_weights(layers, bias):
        if w.shape[0] != y.shape[1]:
            raise NetworkError(
                f"challenge_inference: layer {n_layers + 1} has {w.shape[0]} rows; activations have {y.shape[1]}"
            )
        n_layers += 1
        n_edges += w.nnz
        positive = bool((b > 0).any())
        if kern is not None and not positive:
            y = _fused_layer(kern, y, w, b, cap, dtype)
            continue
        z = kern.propagate(y, w) if kern is not None else np.asarray(y @ w.astype(dtype))
        if positive:
            structure = (
                np.asarray(
                    (
                        sp.csr_matrix(y != 0, dtype=np.float32)
                        @ sp.csr_matrix(w != 0, dtype=np.float32)
                    ).toarray()
                )
                > 0
            )
            z += np.where(structure, b, 0.0).astype(dtype)
        else:
            z += b.astype(dtype)
        np.maximum(z, 0, out=z)
        np.minimum(z, cap, out=z)
        y = z
    return ChallengeResult(y, challenge_categories(y), n_layers, n_edges)


def challenge_inference_scipy(
    layers: Any, Y0: Any, bias: float | Sequence[Any] | None = None, cap: float = CHALLENGE_CAP
) -> ChallengeResult:
    """The straightforward ``scipy.sparse`` reference (CSR activations x CSR weights).

    Per layer: ``Z = Y @ W`` (both CSR), ``b`` added to the stored entries of
    ``Z`` only, clipped to ``[0, cap]``, zeros dropped. This is the baseline
    the benchmarks compare :func:`challenge_inference` against.
    """
    y = sp.csr_matrix(Y0, dtype=np.float64)
    n_layers = n_edges = 0
    for w, b in _iter_weights(layers, bias):
        n_layers += 1
        n_edges += w.nnz
        z = y @ w
        z.data += b[z.indices]
        np.clip(z.data, 0.0, cap, out=z.data)
        z.eliminate_zeros()
        y = z
    return ChallengeResult(y.toarray(), challenge_categories(y), n_layers, n_edges)
