"""The test tree itself: rules that keep pytest's collection working."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_basenames_are_unique() -> None:
    # The test folders are not packages (except tests/mapping), so pytest's
    # default import mode refuses two test modules with the same basename.
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    clashes = sorted(name for name, n in names.items() if n > 1)
    assert not clashes, f"test modules with the same basename: {clashes}"
