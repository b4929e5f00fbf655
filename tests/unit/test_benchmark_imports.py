"""The benchmarks import the node's modules inside their functions (so that ``make bench`` starts
fast); every such import must still name something that exists, or ``make bench`` breaks
only when it is run. This reads every import of the benchmarks and resolves it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
OURS = ("federation", "node", "inbox", "outbox", "benchmarks")


def _imports():
    for path in sorted(BENCHMARKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(OURS):
                for alias in node.names:
                    yield pytest.param(node.module, alias.name, id=f"{path.name}:{node.lineno}:{alias.name}")


@pytest.mark.parametrize(("module", "name"), list(_imports()))
def test_every_name_a_benchmark_imports_exists(module: str, name: str):
    imported = importlib.import_module(module)
    assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None, (
        f"{module} has no {name}"
    )
