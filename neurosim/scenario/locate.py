"""Where a field of a scenario file is: ``"<file>: line N: field 'a.b'"`` for error messages.

Shared by :mod:`neurosim.scenario.loader` and :mod:`neurosim.scenario.checks`
(which therefore need not import each other).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["at_field", "fmt_loc", "line_of"]


def line_of(text: str, loc: list[Any]) -> int | None:
    """1-based line of the deepest node of ``loc`` found in the YAML ``text``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:  # noqa: BLE001 - line numbers are a courtesy
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def fmt_loc(loc: list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def at_field(where: str, text: str | None, loc: list[Any]) -> str:
    """``"<file>: line N: field 'a.b'"`` (the line when ``text`` is the file's YAML)."""
    line = line_of(text, loc) if text is not None else None
    return (
        f"{where}: line {line}: field '{fmt_loc(loc)}'"
        if line
        else f"{where}: field '{fmt_loc(loc)}'"
    )
