"""The demo seeder reads like the rest of core: short functions, and no import circle inside it
(every part imports `state`/`plans`, never the orchestration in `builder`)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "core" / "demo"
MAX_FUNCTION_LINES = 60

pytestmark = pytest.mark.unit


def test_no_function_in_core_demo_is_over_60_lines():
    long = []
    for path in sorted(DEMO.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_core_demo_has_no_import_circle():
    graph = grimp.build_graph("core", include_external_packages=False)
    modules = sorted(m for m in graph.modules if m.startswith("core.demo."))
    circles = [
        f"{a} <-> {b}"
        for a in modules
        for b in graph.find_modules_directly_imported_by(a)
        if b.startswith("core.demo.") and graph.chain_exists(importer=b, imported=a)
    ]
    assert circles == []
