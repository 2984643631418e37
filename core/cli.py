"""`python -m core <command>`: the operator's command line. Exit 0 on success; otherwise a
one-line reason on stderr and a non-zero exit code."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date

from core import bootstrap
from core.base.errors import DomainError


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-01-31") from None


def _upgrade() -> None:
    """The schema to head, then the derived data: migrations create the rollups' tables and
    `rebuild-rollups` fills them when it finds them empty beside their sources."""
    from core.base import migrate
    from core.metrics.commands import rebuild_when_missing

    migrate.upgrade()
    rebuild_when_missing()


def cmd_init_db(args) -> int:
    from core.base import migrate

    _upgrade()
    print(f"Database is at schema revision {migrate.current_revision()}.")
    return 0


def cmd_seed_demo(args) -> int:
    from core import demo
    from core.demo import guard

    _upgrade()
    if reason := guard.refusal():
        if args.if_empty:
            print(f"Not seeding: {reason}")
            return 0
        raise DomainError(reason)
    summary = demo.seed_demo(appointments=args.appointments, seed=args.seed, progress=not args.quiet)
    from core.base.db import unit_of_work
    from core.metrics.rebuild import rebuild_rollups

    with unit_of_work() as session:  # demo rows are inserted in bulk, without booking's events
        rebuild_rollups(session)
    print(summary.describe())
    return 0


def cmd_grant_app_role(args) -> int:
    from core.base import grants
    from core.base.db import get_engine

    statements = grants.grant_app_role(get_engine(), args.role)
    print(f"Granted {args.role} the app's rights ({len(statements)} statements); audit_log: SELECT and INSERT only.")
    return 0


def cmd_export(args) -> int:
    from core.reports import export
    from core.security.access import SYSTEM

    n = export.export_to(
        SYSTEM, args.output, args.format, date_from=args.date_from, date_to=args.date_to, location=args.location
    )
    print(f"Exported {n} appointments.", file=sys.stderr)
    return 0


def cmd_create_user(args) -> int:
    from core.people import users
    from core.security.access import SYSTEM

    _upgrade()
    password = args.password or os.environ.get("NEW_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise DomainError("No password given: pass --password, set NEW_USER_PASSWORD, or run interactively.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            raise DomainError("The two passwords differ.")
    user = users.add_user(
        SYSTEM,
        username=args.username,
        name=args.name or args.username,
        email=args.email,
        password=password,
        role=args.role,
        location_names=args.location or [],
        all_locations=args.all_locations,
    )
    print(f"Created user '{user.username}' with role {user.role or 'none'}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Appointment operations dashboard: operator commands.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init-db", help="create or upgrade the database schema to the newest revision")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser(
        "grant-app-role", help="PostgreSQL: give the app's login role its rights (audit log: read and append only)"
    )
    p.add_argument("role", help="an existing PostgreSQL role the app connects as")
    p.set_defaults(func=cmd_grant_app_role)

    p = sub.add_parser("seed-demo", help="fill the database with realistic, deterministic demo data")
    p.add_argument(
        "--appointments",
        type=int,
        default=25_000,
        help="how many appointments (default 25000)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=7,
        help="random seed; the same seed gives the same data",
    )
    p.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (exit 0) when demo data may not be added here",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("export-appointments", help="export appointments as CSV or Excel (.xlsx)")
    p.add_argument("--from", dest="date_from", type=_date, help="first local date (inclusive)")
    p.add_argument("--to", dest="date_to", type=_date, help="last local date (inclusive)")
    p.add_argument("--location", help="location name")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("create-user", help="create a user, e.g. the first admin of a new installation")
    p.add_argument("username")
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument(
        "--password",
        help="prefer NEW_USER_PASSWORD or the prompt: arguments show in ps",
    )
    p.add_argument("--role", choices=["front_desk", "provider", "manager", "analyst", "admin"])
    p.add_argument(
        "--location",
        action="append",
        help="a location name the user works at (repeatable)",
    )
    p.add_argument("--all-locations", action="store_true")
    p.set_defaults(func=cmd_create_user)

    for module in bootstrap.COMMANDS:  # capabilities' commands, each module's register(subparsers)
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    bootstrap.bootstrap()
    args = build_parser().parse_args(argv)
    from core.base.db import check_connection

    try:
        check_connection()
        return args.func(args)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - an operator gets one line, not a traceback
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {type(exc).__name__}: {line}", file=sys.stderr)
        return 1
