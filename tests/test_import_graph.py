"""No import circle among neurosim's modules.

Reads every module's ``import`` / ``from ... import`` statements and checks
that the graph between neurosim's own modules has no cycle, twice: with the
top-level statements only (what ``import`` runs), and with every statement
anywhere in the file (imports inside functions, which load on first use, and
``TYPE_CHECKING`` blocks included), so a deferred import cannot hide a circle.
``scenario/checks.py`` and ``scenario/loader.py`` once formed one at the top
level; ``sim/precision.py``, ``sim/compile.py`` and ``sim/chip.py`` one
through imports inside functions; ``mapping/partition.py`` and
``mapping/crossbar.py`` one until their shared packers moved to
``mapping/packing.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import neurosim

ROOT = Path(neurosim.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in ROOT.rglob("*.py")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(source: str, module: str, *, package: bool, nested: bool) -> set[str]:
    """Names ``module``'s source imports (``from m import x`` gives ``m`` and ``m.x``).

    Relative imports are resolved against ``module`` (``package``: it is an
    ``__init__``); ``nested`` reads every statement, else the top level only.
    """
    tree = ast.parse(source)
    here = module.split(".") if package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree) if nested else tree.body:
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.update([target, *(f"{target}.{a.name}" for a in node.names)])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _edges(path: Path, modules: dict[str, Path], *, nested: bool = False) -> set[str]:
    """neurosim modules imported by ``path``: at its top level, or anywhere when ``nested``."""
    names = _imported(
        path.read_text(), _module_name(path), package=path.name == "__init__.py", nested=nested
    )
    return names & set(modules)


def _graph(*, nested: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(path, modules, nested=nested) - {name} for name, path in modules.items()}


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
    graph = _graph(nested=False)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycle_counting_imports_inside_functions():
    graph = _graph(nested=True)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_imports_inside_functions_and_relative_ones_are_read():
    src = (
        "import neurosim.a\n"
        "def f():\n"
        "    from neurosim.sim.chip import run_chip\n"
        "    from . import engine\n"
        "    from ..mapping import roles\n"
    )
    top = _imported(src, "neurosim.sim.precision", package=False, nested=False)
    assert top == {"neurosim.a"}
    every = _imported(src, "neurosim.sim.precision", package=False, nested=True)
    assert {"neurosim.sim.chip", "neurosim.sim.engine", "neurosim.mapping.roles"} <= every
    in_package = _imported("from . import x\n", "neurosim.sim", package=True, nested=True)
    assert "neurosim.sim.x" in in_package


def test_precision_reads_the_levels_module_not_the_chip_backend():
    modules = _modules()
    edges = _edges(modules["neurosim.sim.precision"], modules, nested=True)
    assert "neurosim.sim.levels" in edges
    assert "neurosim.sim.chip" not in edges
    assert "neurosim.sim.precision" not in _edges(
        modules["neurosim.sim.compile"], modules, nested=True
    )


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_scenario_checks_and_loader_do_not_import_each_other():
    modules = _modules()
    checks = _edges(modules["neurosim.scenario.checks"], modules)
    assert "neurosim.scenario.loader" not in checks
    source = modules["neurosim.scenario.checks"].read_text()
    assert "scenario.loader" not in source
