"""Tests of neurosim.io.datasets: MNIST IDX, digits, iris, .npz, seeded splits, bad files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from neurosim.errors import DataError
from neurosim.io.datasets import (
    DATASETS,
    Dataset,
    load_dataset,
    read_idx,
    train_test_split,
    write_dataset_npz,
)


def _write_idx(path: Path, arr: np.ndarray, *, magic: bytes | None = None, gz: bool = True) -> Path:
    code = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i4"): 0x0C}[arr.dtype]
    head = magic if magic is not None else bytes([0, 0, code, arr.ndim])
    raw = head + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    if gz:
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def _fake_mnist(root: Path, n_train: int = 12, n_test: int = 7, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        _write_idx(
            folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8)
        )
    return root


# ---------------------------------------------------------------- Dataset
def test_dataset_validates_and_freezes():
    ds = Dataset("d", np.array([[0.0, 1.0], [0.5, 0.25]]), np.array([0, 1]), 2, (2,))
    assert ds.x.dtype == np.float64 and ds.y.dtype == np.int64
    assert not ds.x.flags.writeable and not ds.y.flags.writeable
    assert len(ds) == 2 and ds.n_features == 2
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        Dataset("d", np.array([[2.0]]), None, 0, (1,))
    with pytest.raises(DataError, match="labels must be integers"):
        Dataset("d", np.array([[0.0]]), np.array([3]), 2, (1,))
    with pytest.raises(DataError, match="feature_shape"):
        Dataset("d", np.zeros((1, 4)), None, 0, (3,))


def test_dataset_does_not_alias_caller_array():
    x = np.zeros((2, 2))
    ds = Dataset("d", x, None, 0, (2,))
    x[0, 0] = 1.0
    assert ds.x[0, 0] == 0.0


# ------------------------------------------------------------------ MNIST
def test_mnist_fake_layout_roundtrip(tmp_path):
    root = _fake_mnist(tmp_path)
    test = load_dataset("mnist", path=root)
    assert test.name == "mnist:test" and test.x.shape == (7, 784) and test.feature_shape == (28, 28)
    raw = np.frombuffer(
        gzip.open(root / "mnist" / "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16
    )
    np.testing.assert_array_equal(test.x, raw.reshape(7, 784) / 255.0)
    train = load_dataset("mnist", path=root / "mnist", split="train", limit=5)
    assert train.x.shape == (5, 784)
    both = load_dataset("mnist", path=root, split="all")
    assert len(both) == 19 and both.n_classes == 10
    np.testing.assert_array_equal(both.x[12:], test.x)


def test_mnist_env_var(tmp_path, monkeypatch):
    root = _fake_mnist(tmp_path)
    monkeypatch.setenv("NEUROSIM_DATA", str(root))
    assert len(load_dataset("mnist")) == 7
    monkeypatch.delenv("NEUROSIM_DATA")
    with pytest.raises(DataError, match="NEUROSIM_DATA"):
        load_dataset("mnist")


def test_mnist_real(mnist_dir):
    ds = load_dataset("mnist", path=mnist_dir.parent, limit=200)
    assert ds.x.shape == (200, 784)
    assert list(ds.y[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the published first test labels
    assert 0.0 <= ds.x.min() and ds.x.max() == 1.0


@pytest.mark.slow
def test_mnist_real_full(mnist_dir):
    train = load_dataset("mnist", path=mnist_dir, split="train")
    assert train.x.shape == (60000, 784)
    assert abs(train.x.mean() - 0.1307) < 1e-4


@pytest.mark.parametrize(
    "damage, message",
    [
        ("magic", "bad IDX magic"),
        ("ndim", "dimension"),
        ("truncated_gzip", "not a readable IDX file"),
        ("short_data", "IDX data truncated"),
        ("wrong_rows", "IDX dimension 1 is 27; expected 28"),
        ("missing", "file not found"),
        ("label_count", "labels for"),
        ("bad_label", "expected digits 0-9"),
        ("extra", "beyond"),
    ],
)
def test_mnist_bad_files(tmp_path, damage, message):
    root = _fake_mnist(tmp_path)
    images = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    labels = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    imgs = np.zeros((7, 28, 28), np.uint8)
    if damage == "magic":
        _write_idx(images, imgs, magic=b"\x12\x34\x08\x03")
    elif damage == "ndim":
        _write_idx(images, np.zeros((7, 784), np.uint8))
    elif damage == "truncated_gzip":
        images.write_bytes(images.read_bytes()[:40])
    elif damage == "short_data":
        raw = gzip.decompress(images.read_bytes())
        images.write_bytes(gzip.compress(raw[:-10]))
    elif damage == "wrong_rows":
        _write_idx(images, np.zeros((7, 27, 28), np.uint8))
    elif damage == "missing":
        images.unlink()
    elif damage == "label_count":
        _write_idx(labels, np.zeros(6, np.uint8))
    elif damage == "bad_label":
        _write_idx(labels, np.full(7, 12, np.uint8))
    elif damage == "extra":
        raw = gzip.decompress(images.read_bytes())
        images.write_bytes(gzip.compress(raw + b"\x00"))
    with pytest.raises(DataError, match=message) as info:
        load_dataset("mnist", path=root)
    msg = str(info.value)
    assert "\n" not in msg and "mnist" in msg


def test_read_idx_plain_and_limit(tmp_path):
    arr = np.arange(24, dtype=">i4").reshape(6, 4)
    p = _write_idx(tmp_path / "a.idx", arr, gz=False)
    out = read_idx(p)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(read_idx(p, limit=2), arr[:2])
    with pytest.raises(DataError, match="expected 1"):
        read_idx(p, expected_ndim=1)


# ---------------------------------------------------------- digits / iris
@pytest.mark.parametrize(
    "name, n, n_features, n_classes", [("digits", 1797, 64, 10), ("iris", 150, 4, 3)]
)
def test_sklearn_sets_split(name, n, n_features, n_classes):
    full = load_dataset(name, split="all")
    assert full.x.shape == (n, n_features) and full.n_classes == n_classes
    assert full.x.min() == 0.0 and full.x.max() == 1.0
    train = load_dataset(name, split="train", seed=3)
    test = load_dataset(name, split="test", seed=3)
    assert len(train) + len(test) == n
    assert len(test) == int(np.ceil(0.25 * n))
    # disjoint and together the whole set: compare rows as a multiset
    rows = np.concatenate([train.x, test.x])
    assert np.array_equal(np.unique(rows, axis=0), np.unique(full.x, axis=0))
    # stratified: class proportions within one sample of the full set
    expected = np.bincount(full.y) * len(test) / n
    assert np.all(np.abs(np.bincount(test.y, minlength=n_classes) - expected) <= 1)
    # seeded: same seed same split, other seed other split
    again = load_dataset(name, split="test", seed=3)
    np.testing.assert_array_equal(again.x, test.x)
    other = load_dataset(name, split="test", seed=4)
    assert not np.array_equal(other.x, test.x)


def test_limit_and_path_rules():
    assert len(load_dataset("digits", limit=10)) == 10
    with pytest.raises(DataError, match="limit"):
        load_dataset("digits", limit=0)
    with pytest.raises(DataError, match="split"):
        load_dataset("digits", split="validation")
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="no path"):
        load_dataset("iris", path="/tmp")


def test_train_test_split_unlabelled_and_tiny():
    ds = Dataset("u", np.linspace(0, 1, 10).reshape(10, 1), None, 0, (1,))
    tr, te = train_test_split(ds, test_fraction=0.3, seed=1)
    assert len(tr) == 7 and len(te) == 3 and te.y is None
    with pytest.raises(DataError, match="at least 2"):
        train_test_split(ds.head(1))
    with pytest.raises(DataError, match="test_fraction"):
        train_test_split(ds, test_fraction=1.5)


# -------------------------------------------------------------------- npz
def test_npz_roundtrip_and_scaling(tmp_path):
    ds = load_dataset("digits", split="all")
    p = write_dataset_npz(ds, tmp_path / "d.npz")
    back = load_dataset(p, split="all")
    np.testing.assert_array_equal(back.x, ds.x)
    np.testing.assert_array_equal(back.y, ds.y)
    assert back.feature_shape == (8, 8) and back.n_classes == 10
    via_name = load_dataset("npz", path=p, split="test", seed=0)
    np.testing.assert_array_equal(via_name.x, load_dataset("digits", split="test").x)

    raw = np.random.default_rng(0).integers(0, 256, (5, 3), dtype=np.uint8)
    np.savez(tmp_path / "u8.npz", x=raw)
    u8 = load_dataset(tmp_path / "u8.npz", split="all")
    np.testing.assert_array_equal(u8.x, raw / 255.0)
    assert u8.y is None and u8.n_classes == 0


def test_npz_official_split(tmp_path):
    p = tmp_path / "s.npz"
    np.savez(
        p,
        x_train=np.zeros((4, 2)),
        y_train=np.array([0, 1, 0, 1]),
        x_test=np.ones((3, 2)),
        y_test=np.array([2, 1, 0]),
    )
    te = load_dataset(p)
    assert te.name == "s:test" and len(te) == 3 and te.n_classes == 3
    assert len(load_dataset(p, split="train")) == 4
    assert len(load_dataset(p, split="all")) == 7


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"inputs": np.zeros((2, 2))}, "no array 'x'"),
        ({"x": np.full((2, 2), 3.0)}, r"outside \[0, 1\]"),
        ({"x": np.zeros((2, 2)), "y": np.array([0.5, 1.0])}, "integer labels"),
        ({"x": np.zeros((2, 2)), "y": np.array([0, 1, 1])}, "expected \\(2,\\) labels"),
        ({"x": np.zeros((2, 2)), "y": np.array([-1, 1])}, "negative label"),
        ({"x": np.zeros((2, 2)), "y": np.array([0, 1]), "n_classes": np.array(1)}, "n_classes"),
        ({"x": np.array(["a", "b"])}, "expected numbers"),
        ({"x": np.zeros((0, 2))}, "n > 0"),
        ({"x_train": np.zeros((2, 2))}, "no array 'x_test'"),
    ],
)
def test_npz_bad_contents(tmp_path, arrays, message):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(p, split="all" if "x_train" not in arrays else "test")
    assert str(p) in str(info.value)


def test_npz_not_a_zip(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset(p)
    with pytest.raises(DataError, match="file not found"):
        load_dataset(tmp_path / "absent.npz")


def test_registry_is_explicit():
    assert set(DATASETS) == {"mnist", "digits", "iris", "npz"}
