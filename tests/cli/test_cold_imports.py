"""What a fresh ``neurosim simulate`` process imports (issue #18: start-up time).

The CLI's spiking defaults come from :mod:`neurosim.sim.conversion`, not from
the pydantic scenario schema, and must equal the schema's; the crossbar module
(scipy.sparse.csgraph) loads only when a partition's axon limit binds.
"""

from __future__ import annotations

import subprocess
import sys

from neurosim.scenario.schema import SpikingSpec
from neurosim.sim.conversion import DEFAULT_CALIBRATION, DEFAULT_PERCENTILE


def test_cli_spiking_defaults_equal_the_scenario_schema() -> None:
    fields = SpikingSpec.model_fields
    assert fields["percentile"].default == DEFAULT_PERCENTILE
    assert fields["calibration"].default == DEFAULT_CALIBRATION


_PROBE = """
import sys
import numpy as np
from neurosim.cli import build_parser
build_parser(["simulate"]).parse_args(["simulate", "x.npz", "--chip", "loihi"])
from neurosim.hardware.profile import load_profile
from neurosim.mapping.partition import lower_bound
from neurosim.mapping.limits import CoreLimits
from neurosim.topology.fixed_fan_in import random_network
import scipy.sparse as sp
net = random_network([256, 256], 16, seed=0)
profile = load_profile("loihi")
lower_bound(sp.csc_matrix(net.projections[0].weights), profile, CoreLimits.from_profile(profile))
print(" ".join(m for m in ("neurosim.scenario", "neurosim.mapping.crossbar",
                           "scipy.sparse.csgraph") if m in sys.modules))
"""


def test_simulate_parser_and_lower_bound_skip_heavy_modules() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
