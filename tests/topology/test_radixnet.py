"""RadiX-Net: mixed-radix layers, Kronecker expansion, the official challenge layers."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.topology.radixnet import mixed_radix_layers, radixnet_layers, radixnet_network


def test_mixed_radix_matches_numpy_roll_definition():
    radices = [[2, 3], [3, 2]]
    layers = mixed_radix_layers(radices)
    eye = np.eye(6)
    expected = []
    for system in radices:
        place = 1
        for r in system:
            expected.append(sum(np.roll(eye, -j * place, axis=1) for j in range(r)))
            place *= r
    assert len(layers) == 4
    for got, want in zip(layers, expected, strict=False):
        assert np.array_equal(got.toarray(), want)


def test_one_path_per_system_between_every_pair():
    layers = mixed_radix_layers([[2, 2, 2], [4, 2]])
    paths = np.eye(8)
    for w in layers[:3]:
        paths = paths @ w.toarray()
    assert np.array_equal(paths, np.ones((8, 8)))  # exactly one path: the mixed-radix property
    for w in layers[3:]:
        paths = paths @ w.toarray()
    assert np.all(paths == 8)


def test_kronecker_expansion_shapes_and_degrees():
    layers = radixnet_layers([[2, 2]], [3, 2, 4])
    assert [w.shape for w in layers] == [(12, 8), (8, 16)]
    assert set(np.diff(layers[0].indptr)) == {2 * 2}  # radix x B_{l+1}
    assert set(np.diff(layers[1].tocsc().indptr)) == {2 * 2}  # radix x B_l


def test_reproduces_official_layers_formula():
    net = radixnet_network([[2] * 6], [16] * 7, bias=-0.3, cap=32)
    eye = np.eye(64)
    for k, (proj, pop) in enumerate(net.layers(), start=1):
        want = np.kron(np.ones((16, 16)), eye + np.roll(eye, -(2 ** (k - 1)), axis=1)) / 16
        assert np.array_equal(proj.weights.toarray(), want)
        assert np.all(pop.bias == -0.3)


def test_official_layers_1_to_6(graph_challenge_dir):
    from neurosim.io.graph_challenge import read_challenge_network

    official = read_challenge_network(graph_challenge_dir, n_layers=6)
    ours = radixnet_network([[2] * 6], [16] * 7)
    for (a, _), (b, _) in zip(official.layers(), ours.layers(), strict=False):
        assert (a.weights != b.weights).nnz == 0


@pytest.mark.parametrize(
    "radices, kron, match",
    [
        ([[2, 2], [3]], None, "does not divide"),
        ([[2, 2], [3, 1], [2]], None, "expected 4"),
        ([[0]], None, ">= 1"),
        ([[2, 2]], [1, 1], "Kronecker sizes"),
        ([], None, "non-empty"),
    ],
)
def test_bad_radices(radices, kron, match):
    with pytest.raises(NetworkError, match=match):
        radixnet_layers(radices, kron)
