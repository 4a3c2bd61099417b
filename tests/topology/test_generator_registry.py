"""The GENERATORS registry."""

from __future__ import annotations

import pytest

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.topology import GENERATORS, build_registry, generate, resolve_generator


def test_every_registered_generator_resolves():
    for name in GENERATORS:
        assert callable(resolve_generator(name))


def test_generate_by_name_and_callable():
    net = generate("random", layer_sizes=[10, 5], fan_in=3, seed=0)
    assert isinstance(net, Network) and net.stats().fan_in_max == 3
    assert generate(lambda **kw: kw["x"], x=3) == 3


def test_duplicates_and_unknown_names_are_errors():
    with pytest.raises(NetworkError, match="twice"):
        build_registry([("a", "m:f"), ("a", "m:g")])
    with pytest.raises(NetworkError, match="unknown topology generator"):
        resolve_generator("nope")


def test_bad_parameters_are_one_line_errors_and_every_generator_takes_a_seed():
    import inspect

    with pytest.raises(NetworkError, match="'random'.*its parameters are layer_sizes, fan_in"):
        generate("random", layer_sizes=[4, 4], fan_in=2, fanin=3)
    for name in GENERATORS:
        assert "seed" in inspect.signature(resolve_generator(name)).parameters, name
    assert generate("radixnet", radices=[[2, 2]], seed=5).stats().n_projections == 2
