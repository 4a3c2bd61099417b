"""Smoke tests of the shipped scenarios: each runs at its ``reduced:`` size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def run_reduced(tmp_path: Path):
    """``run_reduced(name, *overrides)`` -> ``(result, out_dir, report_json)``.

    Loads ``scenarios/<name>.yaml`` with its ``reduced`` overrides and the
    given ones, runs it, writes its result directory, and checks the files
    every run must leave.
    """
    from neurosim.scenario import load_scenario, run_scenario, write_results

    def run(name: str, *overrides: str):
        sc = load_scenario(SCENARIOS / f"{name}.yaml", list(overrides), reduced=True)
        result = run_scenario(sc)
        out = write_results(result, tmp_path / name)
        for f in ("report.json", "report.md", "resolved.yaml", "outputs.npz"):
            assert (out / f).is_file(), f
        report = json.loads((out / "report.json").read_text())
        assert set(report["chips"]) == {c.key for c in sc.chip_specs}
        with np.load(out / "outputs.npz") as z:
            for chip, per_backend in result.results.items():
                for backend, sim in per_backend.items():
                    np.testing.assert_array_equal(z[f"{chip}/{backend}"], sim.outputs)
            assert z["input_index"].shape == (len(result.data),)
        return result, out, report

    return run
