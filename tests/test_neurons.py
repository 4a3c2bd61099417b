"""Neuron models: declaration checks and the pure step functions."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.neurons import (
    NEURON_KINDS,
    SPIKING_KINDS,
    FixedDecay,
    FixedFire,
    NeuronModel,
    cuba_lif_step,
    cuba_lif_step_fixed,
    if_step,
    if_step_fixed,
    lif_step,
    lif_step_fixed,
    linear_step,
    relu_step,
    round_shift,
    threshold_step,
    threshold_step_fixed,
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
        np.array([[100, 120]]), np.array([[30, 30]]), FixedFire(np.array(128), np.array(0), "zero", -128, 127)
    )
    assert s.tolist() == [[False, False]] and v.tolist() == [[127, 127]] and n_sat == 2
    # alpha = 0.5 in Q.16, v_leak 0: v = v + round(0.5 * (0 - v + J))
    v, s, _ = lif_step_fixed(
        np.array([[64]]),
        np.array([[32]]),
        FixedDecay(np.array(1 << 15), 16, np.array(0)),
        FixedFire(np.array(1000), np.array(0), "zero", -(2**15), 2**15 - 1),
    )
    assert v.tolist() == [[48]] and not s.any()


def test_new_kinds_declared() -> None:
    assert {"cuba_lif", "threshold"} <= set(NEURON_KINDS) & SPIKING_KINDS
    m = NeuronModel("cuba_lif", {"tau_syn_s": [0.001, 0.002], "w_in": 2.0})
    assert m.is_spiking and set(m.params) == {
        "threshold",
        "v_reset",
        "v_leak",
        "tau_mem_s",
        "tau_syn_s",
        "r",
        "w_in",
    }
    assert NeuronModel.from_dict(m.to_dict()) == m
    with pytest.raises(NetworkError, match="cuba_lif: tau_syn_s must be > 0"):
        NeuronModel("cuba_lif", {"tau_syn_s": [0.001, -1.0]})
    with pytest.raises(NetworkError, match="cuba_lif: tau_mem_s must be > 0"):
        NeuronModel("cuba_lif", {"tau_mem_s": 0.0})
    t = NeuronModel("threshold", {"threshold": 0.5})
    assert t.is_spiking and set(t.params) == {"threshold"}
    with pytest.raises(NetworkError, match="unknown parameter.*v_reset"):
        NeuronModel("threshold", {"v_reset": 0.0})
    with pytest.raises(NetworkError, match="threshold: reset 'subtract'"):
        NeuronModel("threshold", reset="subtract")


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_cuba_lif_step_matches_nir_euler(reset) -> None:
    """tau_syn di/dt = -i + w_in S, tau_mem dv/dt = v_leak - v + r i; Euler, i first."""
    rng = np.random.default_rng(0)
    n, steps, dt = 6, 50, 1e-3
    tau_syn, tau_mem = rng.uniform(0.002, 0.01, n), rng.uniform(0.005, 0.02, n)
    w_in, r, v_leak = rng.uniform(0.5, 2, n), rng.uniform(0.5, 2, n), rng.normal(0, 0.1, n)
    thr, v_reset, bias = 1.0, -0.2, rng.normal(0, 0.1, n)
    drive = rng.normal(1.0, 1.0, (steps, 1, n))
    v, i = np.zeros((1, n)), np.zeros((1, n))
    ve, ie = np.zeros((1, n)), np.zeros((1, n))
    total = 0
    for t in range(steps):
        v, i, s = cuba_lif_step(
            v, i, drive[t], bias, w_in, dt / tau_syn, r, dt / tau_mem, v_leak,
            np.array(thr), np.array(v_reset), reset,
        )  # fmt: skip
        ie = ie + dt / tau_syn * (-ie + w_in * (drive[t] + bias))
        ve = ve + dt / tau_mem * ((v_leak - ve) + r * ie)
        se = ve >= thr
        ve = np.where(se, v_reset if reset == "zero" else ve - thr, ve)
        np.testing.assert_array_equal(s, se)
        np.testing.assert_allclose(v, ve, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(i, ie, rtol=1e-12, atol=1e-12)
        total += int(s.sum())
    assert total > 0


def test_threshold_step_is_stateless_heaviside() -> None:
    current = np.array([[0.2, 0.5, 0.9]])
    s = threshold_step(current, np.array(0.1), np.array([0.3, 0.6, 1.0]))
    assert s.tolist() == [[True, True, True]]  # 0.3 >= 0.3: equality spikes (>=)
    s = threshold_step(current, np.array(0.0), np.array(0.5))
    assert s.tolist() == [[False, True, True]]
    s, n_sat = threshold_step_fixed(np.array([[10, 300, -300]]), np.array(100), -128, 127)
    assert s.tolist() == [[False, True, False]] and n_sat == 2


def test_cuba_lif_fixed_tracks_float() -> None:
    """The integer form (u = r * i_syn, Q.16 factors) follows the float step to rounding."""
    rng = np.random.default_rng(1)
    n, steps, f = 8, 40, 12
    a_syn, a_mem, r, w_in = 0.25, 0.125, 1.5, 2.0
    drive = rng.normal(0.5, 0.5, (steps, 1, n))
    v, i = np.zeros((1, n)), np.zeros((1, n))
    vq, uq = np.zeros((1, n), np.int64), np.zeros((1, n), np.int64)
    for t in range(steps):
        v, i, s = cuba_lif_step(
            v, i, drive[t], np.array(0.0), np.array(w_in), np.array(a_syn), np.array(r),
            np.array(a_mem), np.array(0.0), np.array(1e9), np.array(0.0),
        )  # fmt: skip
        J = np.round(drive[t] * r * w_in * 2**f).astype(np.int64)
        vq, uq, sq, n_sat = cuba_lif_step_fixed(
            vq, uq, J, np.array(a_syn * 2**16, np.int64),
            FixedDecay(np.array(a_mem * 2**16, np.int64), 16, np.array(0)),
            FixedFire(np.array(2**40), np.array(0), "zero", -(2**31), 2**31 - 1),
        )  # fmt: skip
        assert n_sat == 0 and not s.any() and not sq.any()
        np.testing.assert_allclose(uq / 2**f, r * i, atol=4 / 2**f)
        np.testing.assert_allclose(vq / 2**f, v, atol=4 / 2**f)
    # saturation of the current and of v is counted
    _, u2, _, n_sat = cuba_lif_step_fixed(
        np.array([[0]]), np.array([[0]]), np.array([[1000]]), np.array(1 << 16),
        FixedDecay(np.array(1 << 16), 16, np.array(0)),
        FixedFire(np.array(10**6), np.array(0), "zero", -100, 100),
    )  # fmt: skip
    assert u2.tolist() == [[100]] and n_sat == 1
