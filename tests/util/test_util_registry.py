"""The generic Registry."""

import math

import pytest

from neurosim.errors import MappingError, TrainingError
from neurosim.util.registry import Registry


def test_resolves_names_lazy_targets_and_passes_callables_through():
    reg = Registry("thing", TrainingError, {"sqrt": "math:sqrt", "abs": abs})
    assert reg.resolve("sqrt") is math.sqrt
    assert reg.resolve("abs") is abs
    assert reg.resolve(max) is max
    assert list(reg) == ["sqrt", "abs"] == list(reg.names()) and len(reg) == 2
    assert reg["sqrt"] == "math:sqrt" and dict(reg) == {"sqrt": "math:sqrt", "abs": abs}


def test_unknown_name_is_a_one_line_error_of_the_callers_type():
    reg = Registry("partition strategy", MappingError, [("a", abs), ("b", max)])
    with pytest.raises(
        MappingError, match=r"^unknown partition strategy 'c'; expected one of a, b"
    ) as e:
        reg.resolve("c")
    assert "\n" not in str(e.value)
    with pytest.raises(MappingError, match="unknown partition strategy"):
        reg.resolve(["unhashable"])  # type: ignore[arg-type]


def test_registering_twice_or_a_bad_target_is_an_error():
    reg = Registry("thing", TrainingError, {"a": abs})
    reg.register("b", "m:f")
    assert reg.names() == ("a", "b")
    with pytest.raises(TrainingError, match="'a' is already registered"):
        reg.register("a", max)
    with pytest.raises(TrainingError, match="twice"):
        Registry("thing", TrainingError, [("x", abs), ("x", max)])
    with pytest.raises(TrainingError, match="expected a callable or 'module:function'"):
        reg.register("c", 3)  # type: ignore[arg-type]
    strict = Registry("thing", TrainingError, lazy=False)
    with pytest.raises(TrainingError, match="expected a callable, got 'm:f'"):
        strict.register("c", "m:f")


def test_over_a_plain_dict_writes_into_it_and_keeps_registries():
    plain = {"a": abs}
    view = Registry.over(plain, "thing", TrainingError)
    view.register("b", max)
    assert plain == {"a": abs, "b": max}
    with pytest.raises(TrainingError, match="already registered"):
        view.register("a", min)
    reg = Registry("thing", TrainingError)
    assert Registry.over(reg, "other", MappingError) is reg


def test_lookup_takes_names_only():
    reg = Registry("placement method", MappingError, {"a": abs, "s": "math:sqrt"}, lazy=True)
    assert reg.lookup("a") is abs and reg.lookup("s") is math.sqrt
    with pytest.raises(MappingError, match=r"^unknown placement method 'b'; expected one of a, s$"):
        reg.lookup("b")
    with pytest.raises(MappingError, match="unknown placement method"):
        reg.lookup(abs)  # type: ignore[arg-type]
