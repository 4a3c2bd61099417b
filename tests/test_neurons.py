"""Neuron models: declaration checks and the pure step functions."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.neurons import (
    NeuronModel,
    if_step,
    if_step_fixed,
    lif_step,
    lif_step_fixed,
    linear_step,
    relu_step,
    round_shift,
)


def test_model_validation() -> None:
    assert NeuronModel("relu", {"cap": 32.0}).param("cap") == 32.0
    with pytest.raises(NetworkError, match="unknown kind"):
        NeuronModel("izhikevich")
    with pytest.raises(NetworkError, match="unknown parameter"):
        NeuronModel("relu", {"threshold": 1.0})
    with pytest.raises(NetworkError, match="tau_mem_s"):
        NeuronModel("lif", {"tau_mem_s": 0.0})


def test_graded_steps() -> None:
    current = np.array([[-1.0, 0.5, 3.0]])
    np.testing.assert_array_equal(
        relu_step(current, np.array(0.5), np.array(2.0)), [[0.0, 1.0, 2.0]]
    )
    np.testing.assert_array_equal(linear_step(current, np.array(1.0)), [[0.0, 1.5, 4.0]])


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_if_step(reset) -> None:
    v = np.array([[0.0, 0.5]])
    v2, s = if_step(
        v,
        np.array([[0.4, 0.8]]),
        np.array(0.0),
        np.array(1.0),
        np.array(1.0),
        np.array(-0.1),
        reset,
    )
    np.testing.assert_array_equal(s, [[False, True]])
    assert v2[0, 0] == pytest.approx(0.4)
    assert v2[0, 1] == pytest.approx(-0.1 if reset == "zero" else 0.3)


def test_lif_step_matches_euler() -> None:
    v = np.array([[0.2]])
    v2, s = lif_step(
        v,
        np.array([[1.0]]),
        np.array(0.1),
        np.array(2.0),
        np.array(0.1),
        np.array(0.05),
        np.array(5.0),
        np.array(0.0),
    )
    assert v2[0, 0] == pytest.approx(0.2 + 0.1 * (0.05 - 0.2 + 2.0 * 1.1))
    assert not s.any()


def test_fixed_point_steps() -> None:
    assert round_shift(np.array([5, 6, -5]), 2).tolist() == [1, 2, -1]
    v, s, n_sat = if_step_fixed(
        np.array([[100, 120]]), np.array([[30, 30]]), np.array(128), np.array(0), "zero", -128, 127
    )
    assert s.tolist() == [[False, False]] and v.tolist() == [[127, 127]] and n_sat == 2
    # alpha = 0.5 in Q.16, v_leak 0: v = v + round(0.5 * (0 - v + J))
    v, s, _ = lif_step_fixed(
        np.array([[64]]),
        np.array([[32]]),
        np.array(1 << 15),
        16,
        np.array(0),
        np.array(1000),
        np.array(0),
        "zero",
        -(2**15),
        2**15 - 1,
    )
    assert v.tolist() == [[48]] and not s.any()
