"""`python -m core`: help on every command, exit codes, and one line on stderr when things go wrong."""

import argparse
import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, func, select

import core.demo.builder
from core import demo
from core.base import migrate
from core.base.config import ROOT, reset_settings
from core.base.db import dispose_engines, read_session, unit_of_work
from core.base.models import Appointment, User
from core.cli import build_parser, main
from core.metrics.models import MetricCapacity
from core.security.passwords import hash_password
from tests.factories import use_database
from tests.metrics_fixtures import hand_week

UNREACHABLE = {
    "postgresql": "postgresql+psycopg://nobody@127.0.0.1:1/x",
    "sqlite": "sqlite:////nonexistent-directory-for-tests/sub/app.db",
}


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.fixture
def demo_mode(monkeypatch):
    monkeypatch.setenv("DEMO_MODE", "1")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def fast_hashes(monkeypatch, demo_mode):
    """The CLI seeds with bcrypt's real cost; tests do not need to wait for it."""
    monkeypatch.setattr(
        core.demo.builder, "hash_password", lambda password, rounds=12: hash_password(password, rounds=4)
    )


def test_the_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("init-db", "seed-demo", "export-appointments", "create-user"):
        assert command in out


@pytest.mark.parametrize("command", _commands())
def test_help_on_each_command_exits_zero(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: python -m core {command}" in capsys.readouterr().out


def test_init_db_creates_the_schema_in_an_empty_sqlite_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "fresh.db"
    use_database(f"sqlite:///{path}", monkeypatch)
    try:
        assert main(["init-db"]) == 0
        assert path.exists() and migrate.current_revision() == migrate.head_revision()
        assert main(["init-db"]) == 0  # idempotent
        assert f"schema revision {migrate.head_revision()}" in capsys.readouterr().out
    finally:
        dispose_engines()
        reset_settings()


def test_init_db_on_an_up_to_date_database_changes_nothing(db, capsys):
    assert main(["init-db"]) == 0
    assert migrate.current_revision() == migrate.head_revision()


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
@pytest.mark.parametrize(
    "argv",
    [["init-db"], ["seed-demo", "--if-empty", "--quiet"], ["export-appointments"], ["create-user", "x"]],
    ids=lambda argv: argv[0],
)
def test_an_unreachable_database_is_one_line_on_stderr_and_a_failing_exit(kind, argv, monkeypatch, capsys):
    use_database(UNREACHABLE[kind], monkeypatch)
    try:
        code = main(argv)
    finally:
        dispose_engines()
        reset_settings()
    out, err = capsys.readouterr()
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "Cannot connect to the database" in err and "Traceback" not in err
    assert out == ""


def test_init_db_rebuilds_rollups_it_finds_empty_beside_their_sources(db, capsys):
    """A database migrated past 0020 (metric_capacity created empty): init-db fills the rollups."""
    hand_week()  # working hours, time off and appointments
    with unit_of_work() as s:
        kept = set(s.execute(select(MetricCapacity.__table__)).all())
        s.execute(delete(MetricCapacity.__table__))
    assert kept
    assert main(["init-db"]) == 0
    assert "rollups are empty: rebuilding them" in capsys.readouterr().out
    with read_session() as s:
        assert set(s.execute(select(MetricCapacity.__table__)).all()) == kept
    assert main(["init-db"]) == 0
    assert "rebuilding" not in capsys.readouterr().out


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
def test_python_m_core_reports_an_unreachable_database_without_a_traceback(kind):
    env = {**os.environ, "DATABASE_URL": UNREACHABLE[kind]}
    done = subprocess.run(
        [sys.executable, "-m", "core", "init-db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    if kind == "postgresql":
        assert "nobody" in done.stderr and "127.0.0.1" in done.stderr


def test_seed_demo_prints_the_demo_sign_in_and_if_empty_does_not_reseed(db, fast_hashes, capsys):
    assert main(["seed-demo", "--appointments", "300", "--seed", "3", "--quiet"]) == 0
    out, err = capsys.readouterr()
    for username, password, _ in demo.DEMO_USERS:
        assert username in out and password in out
    assert err == ""  # --quiet: no progress lines
    with read_session() as s:
        count = s.scalar(select(func.count()).select_from(Appointment))
    assert abs(count - 300) <= 30

    assert main(["seed-demo", "--if-empty"]) == 0
    assert "Not seeding" in capsys.readouterr().out
    assert main(["seed-demo", "--appointments", "300"]) == 1
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "empty database" in err
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == count


def test_seed_demo_reports_progress_unless_quiet(db, fast_hashes, capsys):
    assert main(["seed-demo", "--appointments", "200"]) == 0
    err = capsys.readouterr().err
    assert "seed-demo:" in err and "appointments" in err


def test_seed_demo_refuses_outside_demo_mode_and_where_users_exist(db, capsys, monkeypatch):
    monkeypatch.setenv("DEMO_MODE", "0")
    reset_settings()
    assert main(["seed-demo", "--appointments", "200", "--quiet"]) == 1
    assert "only in demo mode" in capsys.readouterr().err
    assert main(["seed-demo", "--if-empty", "--quiet"]) == 0  # make run on a real installation: no demo, no error
    assert "only in demo mode" in capsys.readouterr().out
    monkeypatch.setenv("DEMO_MODE", "1")
    reset_settings()
    assert main(["create-user", "alice", "--password", "a-long-enough-password-1", "--role", "admin"]) == 0
    assert main(["seed-demo", "--appointments", "200", "--quiet"]) == 1
    assert "already has users or locations" in capsys.readouterr().err
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 0
        assert s.scalar(select(func.count()).select_from(User)) == 1
