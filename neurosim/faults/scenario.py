"""Fault scenarios: a scenario file with a ``faults:`` section, as study inputs.

The dataset, network (trained, generated or loaded, optionally converted to
spiking), chips, mapping strategy and simulation steps come from the usual
scenario sections (:mod:`neurosim.scenario.runner` builds them); the
``faults:`` section says which faults at which rates, how many trials, the
strategies compared under core failure and whether to evaluate the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurosim.errors import ScenarioError

__all__ = ["study_inputs"]


def study_inputs(
    path: str, *, reduced: bool = False, say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Keyword arguments of :func:`neurosim.faults.study.run_study` (plus ``name``) for a scenario."""
    from neurosim.scenario.loader import load_scenario
    from neurosim.scenario.runner import (
        build_network,
        chip_profile,
        encode_inputs,
        load_data,
        to_spiking,
    )

    sc = load_scenario(path, reduced=reduced)
    if sc.faults is None:
        raise ScenarioError(f"{path}: no 'faults' section; expected faults: with kinds, trials")
    if say is not None:
        say(f"{sc.name}: loading data and building the network")
    data, train = load_data(sc)
    network, info, vectors = build_network(sc, train)
    graded = network
    if sc.network.spiking is not None:
        network, info = to_spiking(sc, network, info, train, data, vectors)
    data = data if data is not None else vectors
    if say is not None and "training" in info:
        say(f"{sc.name}: trained network: {info['training']}")
    return {
        "name": sc.name,
        "network": network,
        "bound_network": graded,
        "profiles": [chip_profile(c) for c in sc.chip_specs],
        "x": encode_inputs(sc, data.x),
        "y": data.y,
        "specs": sc.faults.specs(),
        "trials": sc.faults.trials,
        "seed": sc.seed,
        "n_steps": sc.simulation.steps if sc.simulation.encoding is None else None,
        "strategy": sc.mapping.strategy or "sequential",
        "spread": list(sc.faults.spread),
        "bound": sc.faults.bound,
        "strict": False,
        "map_options": dict(sc.mapping.options),
    }
