"""Datasets of static inputs: MNIST (IDX files), scikit-learn digits and iris, ``.npz`` files.

Every dataset loads into the same frozen :class:`Dataset`: inputs ``x`` as
float64 of shape ``(n, n_features)`` scaled to ``[0, 1]``, labels ``y`` as
int64 (or ``None`` for unlabelled inputs), the number of classes, and the
shape of one sample before flattening.

Sources (the explicit registry :data:`DATASETS`):

``mnist``
    The four original gzip IDX files under ``<datasets>/mnist/``, where
    ``<datasets>`` is the ``path`` argument or the ``NEUROSIM_DATA``
    environment variable. ``path`` may also name the ``mnist`` folder itself.
    Official split: 60,000 training and 10,000 test images; pixels / 255.
``digits``
    scikit-learn's embedded 8x8 digits (1,797 images, no download); pixels / 16.
``iris``
    scikit-learn's embedded iris (150 flowers, 4 features, 3 classes); each
    feature min-max scaled over the whole set.
``npz``
    A ``.npz`` file with ``x`` (``n`` samples, any trailing shape) and
    optional ``y``; or with ``x_train``/``x_test`` (and ``y_train``/``y_test``)
    for an official split. ``uint8`` inputs are divided by 255; other inputs
    must already lie in ``[0, 1]``. An optional scalar ``n_classes`` overrides
    ``max(y) + 1``.

Sets without an official split (digits, iris, ``.npz`` with only ``x``) are
split by :func:`train_test_split`: a seeded, stratified split with 25 % test
samples (scikit-learn's ``train_test_split`` with ``random_state=seed``),
so ``split="train"`` and ``split="test"`` with the same seed are disjoint and
together make ``split="all"``.

``limit`` keeps the first ``limit`` samples of the chosen split (file order
for MNIST, which reads only those bytes; the seeded split order otherwise).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.errors import DataError
from neurosim.util.atomic import atomic_path

__all__ = [
    "DATASETS",
    "SPLITS",
    "Dataset",
    "dataset_names",
    "load_dataset",
    "read_idx",
    "train_test_split",
    "write_dataset_npz",
]

SPLITS: tuple[str, ...] = ("train", "test", "all")

#: test fraction of the seeded split used for sets without an official split
TEST_FRACTION = 0.25

_ENV = "NEUROSIM_DATA"

# IDX type codes (third magic byte) -> big-endian numpy dtype
_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A set of static inputs and optional labels.

    Parameters
    ----------
    name : str
        Where it came from, e.g. ``"mnist:test"``.
    x : ndarray of float64, shape (n, n_features)
        Inputs scaled to ``[0, 1]`` (read-only).
    y : ndarray of int64, shape (n,), or None
        Class labels in ``[0, n_classes)``, or ``None`` when unlabelled.
    n_classes : int
        Number of classes (0 when unlabelled).
    feature_shape : tuple of int
        Shape of one sample before flattening, e.g. ``(28, 28)``.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    n_classes: int
    feature_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        if x.ndim != 2:
            raise DataError(
                f"dataset {self.name}: x has shape {x.shape}; expected (n_samples, n_features)"
            )
        if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
            raise DataError(
                f"dataset {self.name}: x has values outside [0, 1]; expected scaled inputs"
            )
        shape = tuple(int(s) for s in self.feature_shape)
        if int(np.prod(shape, dtype=np.int64)) != x.shape[1]:
            raise DataError(
                f"dataset {self.name}: feature_shape {shape} does not hold {x.shape[1]} features"
            )
        x = x.copy() if x is self.x and x.flags.writeable else x
        x.setflags(write=False)
        y = self.y
        n_classes = int(self.n_classes)
        if y is not None:
            y = np.asarray(y)
            if y.shape != (x.shape[0],):
                raise DataError(
                    f"dataset {self.name}: y has shape {y.shape}; expected ({x.shape[0]},)"
                )
            if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= n_classes):
                raise DataError(
                    f"dataset {self.name}: labels must be integers in [0, {n_classes}); "
                    f"got dtype {y.dtype} with range [{y.min()}, {y.max()}]"
                )
            y = y.astype(np.int64, copy=True)
            y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "n_classes", n_classes)
        object.__setattr__(self, "feature_shape", shape)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features (``x.shape[1]``)."""
        return int(self.x.shape[1])

    def subset(self, indices: Any, name: str | None = None) -> Dataset:
        """A new dataset with the samples at ``indices`` (the original is untouched)."""
        idx = np.asarray(indices)
        return Dataset(
            name or self.name,
            self.x[idx],
            None if self.y is None else self.y[idx],
            self.n_classes,
            self.feature_shape,
        )

    def head(self, limit: int | None) -> Dataset:
        """The first ``limit`` samples (all of them when ``limit`` is None)."""
        if limit is None:
            return self
        limit = _check_limit(limit)
        return self if limit >= len(self) else self.subset(np.arange(limit))


# ------------------------------------------------------------------- helpers
def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise DataError(f"limit must be a positive integer, got {limit!r}")
    return int(limit)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"split {split!r}; expected one of {', '.join(SPLITS)}")
    return split


def train_test_split(
    dataset: Dataset, *, test_fraction: float = TEST_FRACTION, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Seeded split into ``(train, test)``, stratified by label when possible.

    Uses scikit-learn's ``train_test_split`` with ``random_state=seed``;
    stratified when the dataset is labelled and every class has at least two
    samples, plain shuffled otherwise. The same seed always gives the same split.

    Parameters
    ----------
    dataset : Dataset
    test_fraction : float
        Fraction of samples in the test part, in ``(0, 1)``.
    seed : int

    Returns
    -------
    (Dataset, Dataset)
        Named ``<name>:train`` and ``<name>:test``.
    """
    from sklearn.model_selection import train_test_split as sk_split

    if not 0.0 < float(test_fraction) < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n = len(dataset)
    if n < 2:
        raise DataError(
            f"dataset {dataset.name}: {n} sample(s); a train/test split needs at least 2"
        )
    idx = np.arange(n)
    stratify = None
    if dataset.y is not None:
        counts = np.bincount(dataset.y, minlength=max(dataset.n_classes, 1))
        present = counts[counts > 0]
        n_test = int(np.ceil(test_fraction * n))
        if present.min() >= 2 and n_test >= present.size and n - n_test >= present.size:
            stratify = dataset.y
    try:
        train_idx, test_idx = sk_split(
            idx,
            test_size=float(test_fraction),
            random_state=int(seed),
            shuffle=True,
            stratify=stratify,
        )
    except ValueError as exc:
        raise DataError(f"dataset {dataset.name}: cannot split ({exc})") from None
    return (
        dataset.subset(train_idx, f"{dataset.name}:train"),
        dataset.subset(test_idx, f"{dataset.name}:test"),
    )


def _pick_split(full: Dataset, split: str, seed: int) -> Dataset:
    if split == "all":
        return full.subset(np.arange(len(full)), f"{full.name}:all")
    train, test = train_test_split(full, seed=seed)
    return train if split == "train" else test


# ---------------------------------------------------------------------- IDX
def _idx_header(
    fh: Any,
    path: Path,
    expected_ndim: int | None,
    expected_dims: tuple[int | None, ...] | None,
) -> tuple[np.dtype, tuple[int, ...]]:
    """Read and check an IDX header: the element type and the dimension sizes."""
    head = fh.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES or head[3] == 0:
        raise DataError(
            f"{path}: bad IDX magic {head.hex() or '(empty)'}; expected 0000 then a type code "
            f"({', '.join(f'{c:02x}' for c in _IDX_DTYPES)}) and the number of dimensions"
        )
    ndim = head[3]
    if expected_ndim is not None and ndim != expected_ndim:
        magic = struct.unpack(">i", head)[0]
        raise DataError(
            f"{path}: IDX magic {magic} means {ndim} dimension(s); expected {expected_ndim}"
        )
    raw_dims = fh.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: IDX header truncated; expected {ndim} dimension sizes")
    dims = struct.unpack(f">{ndim}I", raw_dims)
    if 0 in dims:
        raise DataError(f"{path}: IDX dimension sizes {dims}; expected every size >= 1")
    if expected_dims is not None:
        for i, (got, want) in enumerate(zip(dims, expected_dims, strict=False)):
            if want is not None and got != want:
                raise DataError(f"{path}: IDX dimension {i} is {got}; expected {want}")
    return np.dtype(_IDX_DTYPES[head[2]]), dims


def read_idx(
    path: str | Path,
    *,
    expected_ndim: int | None = None,
    expected_dims: tuple[int | None, ...] | None = None,
    limit: int | None = None,
) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``).

    Parameters
    ----------
    path : str or Path
    expected_ndim : int, optional
        Number of dimensions the file must have.
    expected_dims : tuple of int or None, optional
        Required size of each dimension (``None`` = any).
    limit : int, optional
        Read only the first ``limit`` items along the first axis.

    Returns
    -------
    ndarray
        Native-endian array of the file's type and shape (first axis cut to ``limit``).

    Raises
    ------
    DataError
        Missing file, bad magic, unexpected shape, truncated or corrupt data;
        the message names the file and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            dtype, dims = _idx_header(fh, path, expected_ndim, expected_dims)
            n = dims[0] if limit is None else min(dims[0], _check_limit(limit))
            item = int(np.prod(dims[1:], dtype=np.int64)) * dtype.itemsize
            want_bytes = n * item
            data = fh.read(want_bytes)
            if len(data) < want_bytes:
                raise DataError(
                    f"{path}: IDX data truncated: {len(data)} bytes; expected {want_bytes} "
                    f"for shape {(n,) + tuple(dims[1:])}"
                )
            if limit is None and fh.read(1):
                raise DataError(
                    f"{path}: IDX file has data beyond the {dims} array its header declares"
                )
    except DataError:
        raise
    except (OSError, EOFError, zlib.error, struct.error) as exc:
        raise DataError(f"{path}: not a readable IDX file ({type(exc).__name__}: {exc})") from None
    arr = np.frombuffer(data, dtype=dtype).reshape((n,) + tuple(dims[1:]))
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _data_root(path: str | Path | None, what: str) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(_ENV)
    if not env:
        raise DataError(
            f"{what}: no data folder; pass path= (the datasets folder) or set {_ENV} to it"
        )
    return Path(env)


def _mnist_file(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder / (stem + '.gz')}: file not found; expected the MNIST IDX file")


def _load_mnist_part(folder: Path, prefix: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    img_path = _mnist_file(folder, f"{prefix}-images-idx3-ubyte")
    lab_path = _mnist_file(folder, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(img_path, expected_ndim=3, expected_dims=(None, 28, 28), limit=limit)
    labels = read_idx(lab_path, expected_ndim=1, limit=limit)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataError(f"{img_path}: MNIST IDX data must be unsigned bytes (type code 08)")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{lab_path}: {labels.shape[0]} labels for {images.shape[0]} images in {img_path.name}; "
            "expected the same count"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{lab_path}: label {int(labels.max())} found; expected digits 0-9")
    return images, labels


def _load_mnist(path: str | Path | None, split: str, limit: int | None, seed: int) -> Dataset:
    root = _data_root(path, "mnist")
    folder = root / "mnist" if (root / "mnist").is_dir() else root
    if not folder.is_dir():
        raise DataError(
            f"{folder}: MNIST folder not found; expected a datasets folder containing mnist/"
        )
    parts = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}[split]
    xs, ys = [], []
    remaining = limit
    for prefix in parts:
        if remaining is not None and remaining <= 0:
            break
        images, labels = _load_mnist_part(folder, prefix, remaining)
        xs.append(images.reshape(images.shape[0], -1))
        ys.append(labels)
        if remaining is not None:
            remaining -= images.shape[0]
    x = np.concatenate(xs).astype(np.float64) / 255.0
    return Dataset(f"mnist:{split}", x, np.concatenate(ys).astype(np.int64), 10, (28, 28))


def _load_digits(path: str | Path | None, split: str, limit: int | None, seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    if path is not None:
        raise DataError("digits: is embedded in scikit-learn and takes no path")
    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    full = Dataset("digits", x, np.asarray(bunch.target, dtype=np.int64), 10, (8, 8))
    return _pick_split(full, split, seed).head(limit)


def _load_iris(path: str | Path | None, split: str, limit: int | None, seed: int) -> Dataset:
    from sklearn.datasets import load_iris

    if path is not None:
        raise DataError("iris: is embedded in scikit-learn and takes no path")
    bunch = load_iris()
    raw = np.asarray(bunch.data, dtype=np.float64)
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    x = (raw - lo) / np.where(hi > lo, hi - lo, 1.0)
    full = Dataset("iris", x, np.asarray(bunch.target, dtype=np.int64), 3, (4,))
    return _pick_split(full, split, seed).head(limit)


def _scaled(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: array {key!r} has dtype {x.dtype}; expected numbers")
    xf = x.astype(np.float64)
    if xf.size and (not np.isfinite(xf).all() or xf.min() < 0.0 or xf.max() > 1.0):
        raise DataError(
            f"{path}: array {key!r} has values outside [0, 1]; expected uint8 or values in [0, 1]"
        )
    return xf


def _labels(path: Path, key: str, y: np.ndarray, n: int) -> np.ndarray:
    if y.dtype.kind not in "biu" and not (
        y.dtype.kind == "f" and np.isfinite(y).all() and np.array_equal(y, np.round(y))
    ):
        raise DataError(f"{path}: array {key!r} has dtype {y.dtype}; expected integer labels")
    if y.shape != (n,):
        raise DataError(f"{path}: array {key!r} has shape {y.shape}; expected ({n},) labels")
    if y.size and y.min() < 0:
        raise DataError(f"{path}: array {key!r} has negative label {y.min()}; expected labels >= 0")
    return y.astype(np.int64)


def _load_npz(path: str | Path | None, split: str, limit: int | None, seed: int) -> Dataset:
    import zipfile

    if path is None:
        raise DataError("npz: pass path= (a .npz file with arrays x and optional y)")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, KeyError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # numpy's zip reading raises assorted errors on corrupt members
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    has_split = "x_train" in arrays or "x_test" in arrays
    if has_split:
        keys = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[split]
    elif "x" in arrays:
        keys = [""]
    else:
        raise DataError(
            f"{path}: no array 'x' (or 'x_train'/'x_test'); found {sorted(arrays) or 'none'}"
        )
    xs, ys, shape = [], [], None
    labelled = None
    for part in keys:
        xk, yk = (f"x_{part}", f"y_{part}") if part else ("x", "y")
        if xk not in arrays:
            raise DataError(f"{path}: no array {xk!r} for split {split!r}")
        x = arrays[xk]
        if x.ndim < 1 or x.shape[0] == 0:
            raise DataError(
                f"{path}: array {xk!r} has shape {x.shape}; expected (n_samples, ...) with n > 0"
            )
        this_shape = tuple(int(s) for s in x.shape[1:]) or (1,)
        if shape is not None and this_shape != shape:
            raise DataError(f"{path}: array {xk!r} has sample shape {this_shape}; expected {shape}")
        shape = this_shape
        xs.append(_scaled(path, xk, x).reshape(x.shape[0], -1))
        has_y = yk in arrays
        if labelled is not None and has_y != labelled:
            raise DataError(
                f"{path}: {yk!r} present for one split only; expected labels for all or none"
            )
        labelled = has_y
        if has_y:
            ys.append(_labels(path, yk, arrays[yk], x.shape[0]))
    x = np.concatenate(xs)
    y = np.concatenate(ys) if labelled else None
    n_classes = 0
    if y is not None:
        n_classes = int(y.max()) + 1
        if "n_classes" in arrays:
            nc = arrays["n_classes"]
            if nc.shape != () or nc.dtype.kind not in "iu" or int(nc) < n_classes:
                raise DataError(
                    f"{path}: 'n_classes' must be a scalar integer >= {n_classes} (max label + 1)"
                )
            n_classes = int(nc)
    name = path.stem
    full = Dataset(name, x, y, n_classes, shape)
    if has_split:
        return Dataset(f"{name}:{split}", full.x, full.y, n_classes, shape).head(limit)
    return _pick_split(full, split, seed).head(limit)


Loader = Callable[[Any, str, Any, int], Dataset]

#: dataset name -> loader(path, split, limit, seed)
DATASETS: dict[str, Loader] = {
    "mnist": _load_mnist,
    "digits": _load_digits,
    "iris": _load_iris,
    "npz": _load_npz,
}


def dataset_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset` (besides a ``.npz`` path)."""
    return tuple(DATASETS)


def load_dataset(
    name: str | Path,
    *,
    path: str | Path | None = None,
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str or Path
        ``"mnist"``, ``"digits"``, ``"iris"``, ``"npz"``, or a path to a ``.npz`` file.
    path : str or Path, optional
        For ``mnist``: the datasets folder (or its ``mnist`` subfolder);
        default ``$NEUROSIM_DATA``. For ``npz``: the file.
    split : {"test", "train", "all"}
    limit : int, optional
        Keep only the first ``limit`` samples of the split.
    seed : int
        Seed of the train/test split of sets without an official split.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Unknown name, missing or malformed file, bad split or limit.

    Examples
    --------
    >>> ds = load_dataset("iris", split="all")
    >>> ds.x.shape, ds.n_classes
    ((150, 4), 3)
    """
    _check_split(split)
    if limit is not None:
        limit = _check_limit(limit)
    key = str(name)
    if key not in DATASETS and key.lower().endswith(".npz"):
        if path is not None:
            raise DataError(
                f"dataset {key}: give the .npz file either as the name or as path=, not both"
            )
        key, path = "npz", name
    try:
        loader = DATASETS[key]
    except KeyError:
        raise DataError(
            f"unknown dataset {key!r}; expected one of {', '.join(DATASETS)} or a .npz path"
        ) from None
    return loader(path, split, limit, int(seed))


def write_dataset_npz(dataset: Dataset, path: str | Path) -> Path:
    """Write ``dataset`` as a ``.npz`` file that :func:`load_dataset` reads back (atomically).

    Inputs are stored as float64 with their sample shape; labels (if any) as
    int64 together with ``n_classes``.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "x": dataset.x.reshape((len(dataset),) + dataset.feature_shape)
    }
    if dataset.y is not None:
        arrays["y"] = dataset.y
        arrays["n_classes"] = np.asarray(dataset.n_classes, dtype=np.int64)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path
