"""neurosim: map sparse and ternary networks onto neuromorphic chip profiles,
simulate them bit-accurately, and report accuracy, memory, energy and latency.

The public API is listed in :data:`__all__`. Names are imported on first use
(from the explicit table :data:`_API`), so ``import neurosim`` and the CLI start
fast and heavy dependencies load only when needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_API: dict[str, str] = {
    # errors
    "NeurosimError": "neurosim.errors",
    "ProfileError": "neurosim.errors",
    "NetworkError": "neurosim.errors",
    "MappingError": "neurosim.errors",
    "ScenarioError": "neurosim.errors",
    "DataError": "neurosim.errors",
    "SimulationError": "neurosim.errors",
    "TrainingError": "neurosim.errors",
    # networks
    "NeuronModel": "neurosim.neurons",
    "Network": "neurosim.network",
    "Population": "neurosim.network",
    "Projection": "neurosim.network",
    "ConvSpec": "neurosim.conv",
    "PoolSpec": "neurosim.conv",
    "load_network": "neurosim.io.formats",
    "save_network": "neurosim.io.formats",
    # data
    "Dataset": "neurosim.io.datasets",
    "load_dataset": "neurosim.io.datasets",
    # topologies and the Graph Challenge
    "GENERATORS": "neurosim.topology",
    "generate_topology": "neurosim.topology",
    "LazyLayeredNetwork": "neurosim.topology.lazy",
    "radixnet_network": "neurosim.topology.radixnet",
    "graph_challenge_network": "neurosim.topology.graph_challenge",
    "ExactSolution": "neurosim.topology.exact",
    "exact_solution": "neurosim.topology.exact",
    "random_network": "neurosim.topology.fixed_fan_in",
    "neurofabric_network": "neurosim.topology.neurofabric",
    "score_topology": "neurosim.topology.score",
    "challenge_inference": "neurosim.io.graph_challenge",
    "read_challenge_network": "neurosim.io.graph_challenge",
    "write_challenge_network": "neurosim.io.graph_challenge",
    # hardware
    "ChipProfile": "neurosim.hardware.profile",
    "load_profile": "neurosim.hardware.profile",
    "profile_names": "neurosim.hardware.profile",
    "energy_model": "neurosim.cost.energy",
    "memory_model": "neurosim.cost.memory",
    "latency_model": "neurosim.cost.latency",
    # mapping
    "MappedNetwork": "neurosim.mapping.mapped",
    "map_network": "neurosim.mapping.mapper",
    "save_mapped": "neurosim.mapping.store",
    "load_mapped": "neurosim.mapping.store",
    # simulation
    "SimResult": "neurosim.sim.result",
    "simulate": "neurosim.sim.simulate",
    "convert_to_spiking": "neurosim.sim.conversion",
    # reports
    "Report": "neurosim.report",
    "make_report": "neurosim.report",
    "compare_reports": "neurosim.report",
    "run_sweep": "neurosim.sweep",
    # evaluation: map -> simulate -> cost -> report, once; many on a Dask cluster
    "evaluate": "neurosim.evaluate",
    "EvalOptions": "neurosim.evaluate",
    "EvaluationResult": "neurosim.evaluate",
    "Execution": "neurosim.execute",
    # training
    "TRAINING_METHODS": "neurosim.train.registry",
    "TrainResult": "neurosim.train.core",
    "train_network": "neurosim.train.registry",
    # scenarios
    "Scenario": "neurosim.scenario",
    "load_scenario": "neurosim.scenario",
    "run_scenario": "neurosim.scenario",
    "ScenarioResult": "neurosim.scenario",
    "write_results": "neurosim.scenario",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module 'neurosim' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
