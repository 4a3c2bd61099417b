"""Code shape: no function in the package is longer than 80 lines (issue 12).

Parses every module of ``neurosim/`` and lists each function (methods and
nested functions included) whose ``def`` line to last line spans more than
:data:`LIMIT` lines. Style asks for ~60; 80 is the hard limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import neurosim

ROOT = Path(neurosim.__file__).resolve().parent

#: the hard limit (lines from ``def`` to the function's last line, decorators excluded)
LIMIT = 80


def _long_functions(source: str, where: str, limit: int = LIMIT) -> list[str]:
    """``where:line name (n lines)`` for every function of ``source`` over ``limit`` lines."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > limit:
                out.append(f"{where}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_over_80_lines():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        found += _long_functions(path.read_text(), str(path.relative_to(ROOT.parent)))
    assert not found, "functions over 80 lines:\n" + "\n".join(found)


def test_the_counter_counts_nested_functions_and_methods():
    body = "\n".join(f"    x{i} = {i}" for i in range(80))
    src = f"class A:\n    def m(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    src += f"def short():\n    def inner():\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    src += "def f():\n    return 1\n"
    long_ = _long_functions(src, "m.py")
    # the outer function holds the long inner one, so it is long too; f is not
    assert sorted(s.split()[1] for s in long_) == ["inner", "m", "short"]
    assert "m.py:2 m (81 lines)" in long_
