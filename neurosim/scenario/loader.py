"""Reading a scenario file: YAML -> overrides -> validation -> resolved paths.

Every problem becomes a one-line :class:`~neurosim.errors.ScenarioError` (or
:class:`~neurosim.errors.DataError` for missing data) naming the file, the
line where it can be found, the field path, and what was expected.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from neurosim.errors import DataError, ScenarioError
from neurosim.scenario.checks import check_names, check_sweep
from neurosim.scenario.locate import at_field, fmt_loc, line_of
from neurosim.scenario.schema import Scenario, variant_network
from neurosim.util.yamlsafe import load_yaml

__all__ = [
    "ScenarioDataError",
    "at_field",
    "apply_scenario_overrides",
    "load_scenario",
    "parse_scenario_override",
    "scenario_from_dict",
    "variant_scenario",
]

#: dict fields whose keys are dotted profile paths (``core.max_fan_in``): an
#: override key continues as ONE key once it reaches one of them.
_DOTTED_KEY_DICTS = frozenset({"overrides", "grid"})
_ENV = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class ScenarioDataError(ScenarioError, DataError):
    """Data a scenario names is absent: both a scenario problem and a data problem."""


# ------------------------------------------------------------------ overrides
def parse_scenario_override(text: str, where: str = "override") -> tuple[str, Any]:
    """Parse ``dotted.key=value`` (value in YAML syntax) into ``(key, value)``.

    Examples
    --------
    >>> parse_scenario_override("dataset.limit=100")
    ('dataset.limit', 100)
    """
    key, sep, raw = str(text).partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"{where} {text!r}: expected field.path=value, e.g. dataset.limit=100")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except (yaml.YAMLError, ValueError):
        value = raw.strip()
    return key, value


def apply_scenario_overrides(
    data: Mapping[str, Any],
    overrides: Mapping[str, Any] | Iterable[str] | None,
    where: str = "override",
) -> dict[str, Any]:
    """A copy of raw scenario ``data`` with dotted-path overrides applied.

    Keys are dotted paths into the scenario (``dataset.limit``,
    ``network.train.parameters.epochs``, ``chips.0.overrides.core.max_fan_in``);
    integers index lists; once a path reaches ``overrides`` or ``grid`` the rest
    of it is one profile field name. A chip given as a plain name becomes
    ``{name: ...}`` when a path descends into it. Missing dicts are created.
    """
    import copy

    out = copy.deepcopy(dict(data))
    if not overrides:
        return out
    items = (
        list(overrides.items())
        if isinstance(overrides, Mapping)
        else [parse_scenario_override(o, where) for o in overrides]
    )
    for key, value in items:
        parts = str(key).split(".")
        node: Any = out
        i = 0
        while i < len(parts) - 1:
            part = parts[i]
            if isinstance(node, list):
                idx = _index(part, node, key, where)
                if isinstance(node[idx], str):
                    node[idx] = {"name": node[idx]}
                node = node[idx]
            elif isinstance(node, dict):
                if part in _DOTTED_KEY_DICTS:
                    child = node.get(part)
                    if child is None:
                        child = node[part] = {}
                    if not isinstance(child, dict):
                        raise ScenarioError(f"{where} {key}: '{part}' is not a mapping")
                    child[".".join(parts[i + 1 :])] = value
                    break
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                node = child
            else:
                raise ScenarioError(
                    f"{where} {key}: '{'.'.join(parts[:i])}' is a {type(node).__name__}, not a mapping or list"
                )
            i += 1
        else:
            last = parts[-1]
            if isinstance(node, list):
                node[_index(last, node, key, where)] = value
            elif isinstance(node, dict):
                node[last] = value
            else:
                raise ScenarioError(
                    f"{where} {key}: '{'.'.join(parts[:-1])}' is not a mapping or list"
                )
    return out


def _index(part: str, node: list, key: str, where: str) -> int:
    try:
        idx = int(part)
    except ValueError:
        raise ScenarioError(
            f"{where} {key}: {part!r} indexes a list; expected an integer"
        ) from None
    if not -len(node) <= idx < len(node):
        raise ScenarioError(
            f"{where} {key}: index {idx} out of range (the list has {len(node)} items)"
        )
    return idx


# ------------------------------------------------------------- error messages
def _walk_loc(data: Any, loc: Iterable[Any]) -> list[Any]:
    """The part of a pydantic ``loc`` that names real keys and indices of ``data``."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (
            part[:1].isupper() or "[" in part or part in ("str", "int", "float", "bool")
        ):
            continue  # a union branch or validator name, not a key
        else:
            out.append(part)
            node = None
    return out


def _model_at(model: type[BaseModel], loc: list[Any]) -> type[BaseModel] | None:
    """The pydantic model class describing the mapping at ``loc`` (for listing allowed fields)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if (
            not (isinstance(current, type) and issubclass(current, BaseModel))
            or part not in current.model_fields
        ):
            return None
        current = _first_model(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _first_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _first_model(arg)
            if found is not None:
                return found
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validation_message(exc: ValidationError, data: Any, text: str | None, where: str) -> str:
    errors = exc.errors()
    walked = [(_walk_loc(data, e["loc"]), e) for e in errors]
    # prefer the deepest error (in a union, the branch that got furthest)
    loc, err = max(walked, key=lambda pair: (len(pair[0]), pair[1]["type"] == "extra_forbidden"))
    kind = err["type"]
    if kind == "missing":
        msg = "required field is missing"
    elif kind == "extra_forbidden":
        parent = _model_at(Scenario, loc[:-1])
        names = (
            [f for f in parent.model_fields if not (parent is Scenario and f == "path")]
            if parent
            else []
        )
        allowed = f"; expected one of {', '.join(names)}" if names else ""
        msg = f"unknown field{allowed}"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        if (
            "input" in err
            and kind not in ("value_error",)
            and not isinstance(err["input"], (dict, list))
        ):
            msg += f", got {_short(err['input'])}"
    line = line_of(text, loc) if text is not None else None
    at = f" line {line}:" if line else ""
    n_more = len({tuple(w[0]) for w in walked}) - 1
    more = f" (and {n_more} more problem(s))" if n_more > 0 else ""
    return f"{where}:{at} field '{fmt_loc(loc)}': {msg}{more}"


# --------------------------------------------------------------------- paths
def _expand(value: str, where: str, field: str) -> str:
    def sub(m: re.Match[str]) -> str:
        var = m.group(1) or m.group(2)
        if var not in os.environ:
            raise ScenarioDataError(
                f"{where}: field '{field}': environment variable {var} is not set "
                f"(set it, e.g. NEUROSIM_DATA=/path/to/datasets, or give the path directly)"
            )
        return os.environ[var]

    return os.path.expanduser(_ENV.sub(sub, value))


def _resolve(value: str, base: Path, where: str, field: str) -> str:
    p = Path(_expand(value, where, field))
    if not p.is_absolute():
        p = base / p
    return str(p.resolve())


def _resolve_paths(data: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    ds = data["dataset"]
    if (
        ds["name"] in ("mnist", "graph_challenge")
        and not ds.get("path")
        and not os.environ.get("NEUROSIM_DATA")
    ):
        raise ScenarioDataError(
            f"{where}: field 'dataset.path': {ds['name']} data not found; give dataset.path "
            "or set NEUROSIM_DATA to the datasets folder"
        )
    if ds.get("path"):
        ds["path"] = _resolve(ds["path"], base, where, "dataset.path")
        if not Path(ds["path"]).exists():
            raise ScenarioDataError(f"{where}: field 'dataset.path': {ds['path']} does not exist")
    node, loc = data["network"], "network"
    while node:  # the network, then the network its training starts from, ...
        load = node.get("load")
        if load:
            load["path"] = _resolve(load["path"], base, where, f"{loc}.load.path")
            if not Path(load["path"]).exists():
                raise ScenarioError(
                    f"{where}: field '{loc}.load.path': {load['path']} does not exist"
                )
        node, loc = (node.get("train") or {}).get("init"), f"{loc}.train.init"
    for i, chip in enumerate(data["chips"]):
        if chip["name"].endswith((".yaml", ".yml")):
            chip["name"] = _resolve(chip["name"], base, where, f"chips.{i}.name")
    return data


# ---------------------------------------------------------------------- API
def scenario_from_dict(
    data: Any,
    *,
    base: str | Path = ".",
    where: str = "<scenario>",
    text: str | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    reduced: bool = False,
    check: bool = True,
    source: str | Path | None = None,
) -> Scenario:
    """Validate raw scenario ``data`` (a mapping) into a :class:`Scenario`.

    Parameters
    ----------
    data : mapping
        As read from YAML.
    base : path
        Folder that relative paths are resolved against.
    where : str
        Name of the source, used in error messages (the file path).
    text : str, optional
        The YAML text, for line numbers in error messages.
    overrides : mapping or iterable of "dotted.key=value", optional
        Applied after ``reduced``.
    reduced : bool
        Apply the scenario's own ``reduced`` overrides first (smoke-test size).
    check : bool
        Also check that chips load and that named generators, methods,
        strategies and backends exist.
    source : path, optional
        The scenario file, recorded as ``Scenario.path``.
    """
    if not isinstance(data, Mapping):
        kind = "empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            f"{where}: expected a mapping of scenario fields at the top level, got {kind}"
        )
    raw = dict(data)
    if reduced:
        red = raw.get("reduced") or {}
        if not isinstance(red, Mapping):
            raise ScenarioError(
                f"{where}: field 'reduced': expected a mapping of field.path: value"
            )
        raw = apply_scenario_overrides(raw, red, where=f"{where}: reduced")
    if overrides:
        raw = apply_scenario_overrides(raw, overrides)
        text = None  # line numbers no longer match the file
    raw.pop("path", None)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_validation_message(exc, raw, text, where)) from None
    resolved = _resolve_paths(scenario.model_dump(mode="python"), Path(base), where)
    resolved["path"] = None if source is None else str(source)
    scenario = Scenario.model_validate(resolved)
    if check:
        check_names(scenario, where, text)
        if scenario.variants:
            for i, variant in enumerate(scenario.variants):  # methods and parameters exist
                check_names(variant_scenario(scenario, variant), f"{where}: variants[{i}] ({variant.name})")
        if scenario.sweep is not None:
            check_sweep(scenario, where, text, rebuild=scenario_from_dict)
    return scenario


def variant_scenario(scenario: Scenario, variant: Any) -> Scenario:
    """The scenario with the variant's network and chips, without variants, sweep or reduced block."""
    data = scenario.model_dump(mode="python")
    data.update(network=variant_network(scenario.network, variant), variants=[], sweep=None, reduced={})
    if variant.chips is not None:
        data["chips"] = [c for c in data["chips"] if (c["label"] or c["name"]) in variant.chips]
    where = f"{scenario.path or scenario.name} (variant {variant.name})"
    return scenario_from_dict(data, where=where, check=False)


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    reduced: bool = False,
    check: bool = True,
) -> Scenario:
    """Read, validate and resolve a scenario file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : mapping or iterable of "dotted.key=value", optional
        Changes applied before validation, e.g. ``["dataset.limit=100"]``.
    reduced : bool
        Apply the scenario's ``reduced`` overrides (its smoke-test size) first.
    check : bool
        Check chips and registry names as well as the schema.

    Returns
    -------
    Scenario
        With every default filled in and every path absolute.

    Raises
    ------
    ScenarioError
        One line: file, line, field path, what was expected.
    DataError
        A data path (``dataset.path``) that does not exist, or an unset
        environment variable in a path.

    Examples
    --------
    >>> sc = load_scenario("scenarios/quickstart.yaml", ["dataset.limit=50"])  # doctest: +SKIP
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ScenarioError(
            f"{where}: scenario file not found" if not path.exists() else f"{where}: not a file"
        )
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            f"{where}: cannot read scenario ({type(exc).__name__}: {exc})"
        ) from None
    try:
        data = load_yaml(text)  # a key given twice is an error, not "last wins"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{where}:{line} invalid YAML ({problem})") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        raise ScenarioError(f"{where}: invalid YAML value ({type(exc).__name__}: {exc})") from None
    return scenario_from_dict(
        data,
        base=path.resolve().parent,
        where=where,
        text=text,
        overrides=overrides,
        reduced=reduced,
        check=check,
        source=path.resolve(),
    )
