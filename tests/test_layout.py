"""The shape of core/: modules stay small, and no module reaches into another's private names.
(The import arrows themselves are checked by import-linter in `make test`.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
LONG_ON_PURPOSE = {"core/base/migrations/versions/0001_initial_schema.py"}


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_no_module_in_core_is_over_400_lines():
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in _modules("core")
        if str(p.relative_to(ROOT)) not in LONG_ON_PURPOSE and (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


def test_no_module_imports_another_modules_private_names():
    offences = []
    for path in _modules("core", "pages") + [ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("core", "pages"):
                offences += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")
                ]
                offences += [
                    f"{path.relative_to(ROOT)}: {node.module}"
                    for part in node.module.split(".")
                    if part.startswith("_") and part not in ("__main__",)
                ]
    assert offences == []


def test_pages_do_not_import_private_names_of_libraries():
    offences = []
    for path in _modules("pages") + [ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                offences += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")
                ]
    assert offences == []
