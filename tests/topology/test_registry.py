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
