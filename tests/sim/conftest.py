"""Fixtures of the simulator tests; plain helpers live in ``sim_helpers.py``.

(A test module imports helpers from ``sim_helpers``, never from ``conftest``:
several test folders have a ``conftest.py``, and ``from conftest import``
picks whichever was imported first when folders run together.)
"""

from __future__ import annotations

import pytest

from neurosim.hardware.profile import load_profile


@pytest.fixture(scope="session")
def float64_profile():
    return load_profile("generic", ["weights.bits=64"])
