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


def _imports_inside_functions(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [n for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def _imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return [node.module or ""] if node.level == 0 else ["(relative)"]


def test_core_base_never_reaches_up_lazily():
    """import-linter sees every import statement, but not importlib; and base reaching into a
    capability inside a function is the circle the layers are there to prevent."""
    offences = []
    for path in _modules("core/base"):
        tree = ast.parse(path.read_text())
        where = path.relative_to(ROOT)
        offences += [f"{where}: uses importlib" for n in ast.walk(tree) if _mentions_importlib(n)]
        offences += [
            f"{where}:{node.lineno}: imports {name} inside a function"
            for node in _imports_inside_functions(tree)
            for name in _imported_names(node)
            if name == "(relative)" or (name.split(".")[0] == "core" and not name.startswith("core.base"))
        ]
    assert offences == []


def _mentions_importlib(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "importlib" for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "importlib"
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__"


def test_no_migration_imports_app_code():
    """A migration means the same forever: it carries what it needs (core.base.migrations.columns
    for column types), never core outside core/base/migrations."""
    offences = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
        for path in _modules("core/base/migrations/versions")  # env.py is the runner, not a migration
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imported_names(node)
        if name.split(".")[0] == "core" and not name.startswith("core.base.migrations")
    ]
    assert offences == []


CLOCK = {"utcnow", "resolve_now", "require_aware"}


def test_now_has_one_spelling_the_clock():
    """core.base.clock is the only clock: nobody reads the wall clock another way, nobody
    re-exports it."""
    offences = []
    for path in _modules("core", "pages") + [ROOT / "app.py"]:
        if path == ROOT / "core/base/clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module != "core.base.clock":
                offences += [
                    f"{path.relative_to(ROOT)}: {a.name} from {node.module}" for a in node.names if a.name in CLOCK
                ]
            if _reads_the_wall_clock(node):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offences == []


def _reads_the_wall_clock(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in ("now", "utcnow", "today")
        and isinstance(node.value, ast.Name)
        and node.value.id in ("datetime", "date")
    )
