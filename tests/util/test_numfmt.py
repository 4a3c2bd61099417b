"""One number format per table column."""

from __future__ import annotations

from neurosim.util.numfmt import fmt_count, format_column
from neurosim.util.yamlsafe import load_yaml


def test_counts_are_short_and_never_cut():
    assert [fmt_count(v) for v in (4_294_967_296, 1_000_000, 51_200, 999.6, 100, 0.5, None)] == [
        "4.29G", "1M", "51.2k", "1k", "100", "0.5", "-",
    ]  # fmt: skip


def test_a_column_has_one_format():
    assert format_column([1024, 256, None]) == ["1,024", "256", "-"]
    # a large or fractional value switches the whole column to the short form
    assert format_column([1024, 4_294_967_296]) == ["1.02k", "4.29G"]
    assert format_column([100, 0.5, 51_200]) == ["100", "0.5", "51.2k"]
    assert max(len(c) for c in format_column([2**32, 10**6, 8192, 3.25])) <= 5


def test_yaml_refuses_duplicate_keys_only():
    import pytest
    import yaml

    assert load_yaml("a: 1\nb: {c: 2}\nx: &x {p: 1}\ny: {<<: *x, p: 2}")["y"] == {"p": 2}
    with pytest.raises(yaml.YAMLError, match="duplicate key 'c'"):
        load_yaml("a: 1\nb:\n  c: 2\n  c: 3\n")
