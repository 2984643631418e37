"""One door for reads: a function that reads for an actor opens its session through
`core.security.service.reading(actor, action, ...)` (the check, its denial recorded), never with
`read_session()` by hand. System code (the worker's jobs, sync, the sender) has no actor and
opens `read_session()` itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Where a function with an actor reads around the door on purpose, and why.
ON_PURPOSE = {
    "core/security/service.py:reading": "the door itself",
    "core/people/customers.py:_refuse_unseen_customer": "records the denial: reads where a customer the actor may "
    "not see lives",
    "core/people/users.py:location_names": "the names of the actor's own locations, for every signed-in user (no "
    "permission to check; the scope is in the SQL)",
}

pytestmark = pytest.mark.unit


def _reads_by_hand() -> list[str]:
    found = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if "actor" not in {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}:
                continue
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)]
            by_hand = any(getattr(c.func, "id", getattr(c.func, "attr", None)) == "read_session" for c in calls)
            if by_hand and f"{where}:{fn.name}" not in ON_PURPOSE:
                found.append(f"{where}:{fn.lineno} {fn.name}")
    return found


def test_reads_for_an_actor_open_through_reading():
    assert _reads_by_hand() == []
