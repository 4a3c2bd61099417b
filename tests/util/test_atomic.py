"""Atomic writes: nothing partial on failure, permissions from the umask."""

from __future__ import annotations

import os
import stat

import pytest

from neurosim.util.atomic import atomic_dir, atomic_path, atomic_write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_files_and_directories_follow_the_umask(tmp_path, umask_022):
    f = atomic_write_text(tmp_path / "a.txt", "x")
    assert _mode(f) == 0o644  # mkstemp alone gives 0600
    with atomic_dir(tmp_path / "d") as d:
        (d / "inner").write_text("y")
    assert _mode(tmp_path / "d") == 0o755  # mkdtemp alone gives 0700
    os.umask(0o077)
    g = atomic_write_text(tmp_path / "b.txt", "x")
    assert _mode(g) == 0o600


def test_failures_leave_nothing_hidden_included(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "f.npz") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "gcdir") as d:
            (d / "n16-l1.tsv").write_text("1\t1\t1\n")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
