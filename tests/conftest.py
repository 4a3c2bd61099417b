"""Shared fixtures: paths to the shared datasets (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_datasets() -> Path | None:
    env = os.environ.get("NEUROSIM_DATA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "datasets"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The shared datasets folder (NEUROSIM_DATA or ../shared/datasets)."""
    d = _shared_datasets()
    if d is None:
        pytest.skip("shared datasets not found: set NEUROSIM_DATA or place ../shared/datasets")
    return d


@pytest.fixture(scope="session")
def mnist_dir(datasets_dir: Path) -> Path:
    d = datasets_dir / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found under {d}")
    return d


@pytest.fixture(scope="session")
def graph_challenge_dir(datasets_dir: Path) -> Path:
    d = datasets_dir / "graph_challenge" / "neuron1024"
    if not (d / "n1024-l1.tsv.gz").is_file():
        pytest.skip(f"Graph Challenge weights not found under {d}")
    return d
