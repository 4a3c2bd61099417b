"""Scenario files: one YAML file names every input of one experiment.

:func:`load_scenario` reads and validates a file into a :class:`Scenario`;
:func:`run_scenario` calls the library stage by stage and returns a
:class:`ScenarioResult`; :func:`write_results` writes its result directory.
A scenario holds no logic of its own. See ``docs/scenarios.md``.
"""

from neurosim.scenario.loader import (
    apply_scenario_overrides,
    load_scenario,
    parse_scenario_override,
    scenario_from_dict,
)
from neurosim.scenario.output import report_dict, without_timings, write_results
from neurosim.scenario.runner import ScenarioResult, count_steps, run_scenario
from neurosim.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "ScenarioResult",
    "apply_scenario_overrides",
    "count_steps",
    "load_scenario",
    "parse_scenario_override",
    "report_dict",
    "run_scenario",
    "scenario_from_dict",
    "without_timings",
    "write_results",
]
