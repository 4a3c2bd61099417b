"""No import circle among neurosim's modules (module-level imports).

Reads every module's top-level ``import`` / ``from ... import`` statements
(imports inside functions, which load on first use, and ``TYPE_CHECKING``
blocks are not followed) and checks that the graph between neurosim's own
modules has no cycle. ``scenario/checks.py`` and ``scenario/loader.py`` once
formed one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import neurosim

ROOT = Path(neurosim.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """neurosim modules imported at the top level of ``path``."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            found.update(n for n in [node.module, *names] if n in modules)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (a list of modules, first = last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w) :] + [w]
            if w not in state and (found := visit(w)):
                return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_module_level_import_cycle():
    modules = _modules()
    graph = {name: _edges(path, modules) - {name} for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_scenario_checks_and_loader_do_not_import_each_other():
    modules = _modules()
    checks = _edges(modules["neurosim.scenario.checks"], modules)
    assert "neurosim.scenario.loader" not in checks
    source = modules["neurosim.scenario.checks"].read_text()
    assert "scenario.loader" not in source
