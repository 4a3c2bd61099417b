"""YAML loading that refuses duplicate mapping keys.

PyYAML's safe loader keeps the last of two equal keys (``max_neurons: 10``
then ``max_neurons: 1e9``), silently. :class:`UniqueKeyLoader` is the safe
loader (libyaml's when available) with a constructor that raises a
:class:`yaml.constructor.ConstructorError` naming the key and its line
instead; callers turn YAML errors into their own one-line errors. Every YAML
file neurosim reads goes through :func:`load_yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

__all__ = ["UniqueKeyLoader", "load_yaml"]

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML loader whose mappings refuse a key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: the base constructor reports it
                    continue
                if first is not None:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r} (first on line {first.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; a duplicate mapping key raises ``yaml.YAMLError``.

    Examples
    --------
    >>> load_yaml("a: 1\\nb: [2, 3]")
    {'a': 1, 'b': [2, 3]}
    """
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a safe loader)
