"""Generated Graph Challenge networks: official layers 1-6, degrees, laziness."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import NetworkError
from neurosim.topology.graph_challenge import (
    CHALLENGE_BIAS,
    challenge_bias,
    challenge_layer,
    graph_challenge_network,
)
from neurosim.topology.lazy import LazyLayeredNetwork


def test_first_block_is_the_radixnet_formula():
    eye = np.eye(64)
    for k in range(1, 7):
        want = np.kron(np.ones((16, 16)), eye + np.roll(eye, -(2 ** (k - 1)), axis=1)) / 16
        assert np.array_equal(challenge_layer(1024, k).toarray(), want)


@pytest.mark.parametrize("n", [1024, 4096])
def test_every_layer_has_32_nonzeros_per_row_and_column(n):
    for k in (1, 7, 13, 40):
        w = challenge_layer(n, k, seed=3)
        assert set(np.diff(w.indptr)) == {32}
        assert set(np.diff(w.tocsc().indptr)) == {32}
        assert set(np.unique(w.data)) == {1 / 16}


def test_later_blocks_are_row_permutations_shared_within_a_block():
    k = 6  # layers per block for N = 1024
    a, b = challenge_layer(1024, 1 + k, seed=1), challenge_layer(1024, 2 + k, seed=1)
    base_a, base_b = challenge_layer(1024, 1), challenge_layer(1024, 2)
    # find the permutation from layer 7 and check it also maps layer 8
    rows_a = {
        tuple(base_a.indices[base_a.indptr[i] : base_a.indptr[i + 1]]): i % 64 for i in range(1024)
    }
    cls = np.array([rows_a[tuple(a.indices[a.indptr[i] : a.indptr[i + 1]])] for i in range(1024)])
    rows_b = {
        i % 64: tuple(base_b.indices[base_b.indptr[i] : base_b.indptr[i + 1]]) for i in range(1024)
    }
    for i in range(1024):
        assert tuple(b.indices[b.indptr[i] : b.indptr[i + 1]]) == rows_b[cls[i]]
    assert not np.array_equal(a.indices, base_a.indices)
    assert np.array_equal(challenge_layer(1024, 7, seed=1).indices, a.indices)
    assert not np.array_equal(challenge_layer(1024, 7, seed=2).indices, a.indices)


def test_lazy_network():
    net = graph_challenge_network(1024, 1920)
    assert isinstance(net, LazyLayeredNetwork)
    assert net.n_layers == 1920 and net.sizes[0] == 1024
    proj, pop = net.layer(1920)
    assert proj.n_synapses == 32 * 1024 and pop.name == "layer1920"
    assert np.all(pop.bias == CHALLENGE_BIAS[1024]) and float(pop.model.param("cap")) == 32.0
    small = graph_challenge_network(512, 3, bias=-0.3).to_network()
    assert small.stats().n_synapses == 3 * 32 * 512 and len(small.populations) == 4


def test_official_first_six_layers(graph_challenge_dir):
    from neurosim.io.graph_challenge import read_challenge_layer

    for k in range(1, 7):
        official = read_challenge_layer(graph_challenge_dir / f"n1024-l{k}.tsv.gz")
        assert (official != challenge_layer(1024, k)).nnz == 0


def test_official_later_layers_have_the_same_structure(graph_challenge_dir):
    """Layers 7-120 of the official net are row permutations of layers 1-6 (what we generate)."""
    from neurosim.io.graph_challenge import read_challenge_layer

    for k in (7, 12, 120):
        official = read_challenge_layer(graph_challenge_dir / f"n1024-l{k}.tsv.gz")
        base = challenge_layer(1024, (k - 1) % 6 + 1)
        key = lambda w, i: tuple(w.indices[w.indptr[i] : w.indptr[i + 1]])  # noqa: E731
        assert sorted(key(official, i) for i in range(1024)) == sorted(
            key(base, i) for i in range(1024)
        )


def test_bad_sizes():
    with pytest.raises(NetworkError, match="power of two"):
        graph_challenge_network(1000, 10)
    with pytest.raises(NetworkError, match="positive integer"):
        graph_challenge_network(1024, 0)
    with pytest.raises(NetworkError, match="no official bias"):
        challenge_bias(2048)
    assert graph_challenge_network(2048, 2, bias=-0.5).bias(1)[0] == -0.5
