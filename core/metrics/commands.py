"""`python -m core metrics ...` and `python -m core rebuild-rollups`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from sqlalchemy import func, select

from core.base.db import read_session, unit_of_work
from core.base.errors import NotFound, ValidationError
from core.base.models import AppointmentType, Location, Provider, User
from core.metrics.definitions import Window
from core.metrics.kpis import KPI_KEYS, kpis
from core.metrics.rebuild import rebuild_rollups, rollups_missing
from core.metrics.sources import Filters
from core.security.access import SYSTEM, Actor, actor_for
from core.security.audit import record


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-01-31") from None


def _one(session, model, name: str | None, what: str) -> int | None:
    if name is None:
        return None
    ids = session.scalars(select(model.id).where(func.lower(model.name) == name.strip().lower())).all()
    if not ids:
        raise NotFound(f"No {what} is called '{name}'.")
    if len(ids) > 1:
        raise ValidationError(f"More than one {what} is called '{name}'.")
    return ids[0]


def actor_named(username: str | None) -> Actor:
    """The actor for `--as USERNAME`, or the system actor."""
    if username is None:
        return SYSTEM
    with read_session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise NotFound(f"No active user is called '{username}'.")
        return actor_for(user)


def resolve_filters(location: str | None, provider: str | None, type_name: str | None) -> Filters:
    with read_session() as session:
        return Filters(
            location_id=_one(session, Location, location, "location"),
            provider_id=_one(session, Provider, provider, "provider"),
            type_id=_one(session, AppointmentType, type_name, "appointment type"),
        )


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value) -> str:
    return "-" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def table_lines(result: dict) -> list[str]:
    prev = result["previous"]
    rows = [
        ("appointments", _num, "appointments"),
        ("no-show rate", _pct, "no_show_rate"),
        ("late-cancel rate", _pct, "late_cancel_rate"),
        ("reschedule rate", _pct, "reschedule_rate"),
        ("lead time median (days)", _num, "lead_time_median_days"),
        ("lead time p90 (days)", _num, "lead_time_p90_days"),
        ("utilization", _pct, "utilization"),
        ("conversion rate", _pct, "conversion_rate"),
        ("admin touch per 100", _num, "admin_touch_per_100"),
    ]
    head = f"{'':28}{result['from']} .. {result['to']}    previous {prev['from']} .. {prev['to']}"
    lines = [head]
    for label, fmt, key in rows:
        lines.append(f"{label:28}{fmt(result[key]):>24}    {fmt(prev[key]):>24}")
    for part in ("unbooked", "no_show", "late_cancel"):
        label = f"capacity leak: {part.replace('_', '-')}"
        cur, old = result["capacity_leak"][part], prev["capacity_leak"][part]
        lines.append(f"{label:28}{_pct(cur):>24}    {_pct(old):>24}")
    out = result["outside_hours"]
    lines.append(f"{'outside hours':28}{out['appointments']:>14} appts, {out['minutes']} min")
    return lines


def cmd_metrics(args) -> int:
    actor = actor_named(args.as_user)
    filters = resolve_filters(args.location, args.provider, args.type)
    result = kpis(actor, Window(args.date_from, args.date_to), filters)
    if args.format == "json":
        keys = ("from", "to", *KPI_KEYS, "counts", "minutes", "outside_hours")
        out = {k: result[k] for k in keys} | {"previous": {k: result["previous"][k] for k in keys}}
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(table_lines(result)))
    return 0


def cmd_rebuild(args) -> int:
    with read_session() as session:
        location_ids = None
        if args.location:
            location_ids = [_one(session, Location, name, "location") for name in args.location]
    days = None
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise ValidationError("Give both --from and --to, or neither (to rebuild every day).")
        w = Window(args.date_from, args.date_to)
        days = [date.fromordinal(d) for d in range(w.first.toordinal(), w.last.toordinal() + 1)]
    _rebuild(location_ids, days, args.location, args.date_from, args.date_to)
    return 0


def _rebuild(location_ids, days, location_names=None, date_from=None, date_to=None) -> None:
    with unit_of_work() as session:
        counted = rebuild_rollups(session, location_ids, days)
        record(
            session, SYSTEM, "metrics.rebuild_rollups", entity="metric_daily",
            after={"appointments": counted, "locations": location_names, "from": str(date_from or ""),
                   "to": str(date_to or "")},
        )  # fmt: skip
    print(f"Rebuilt the daily rollup from {counted:,} appointments.")


def rebuild_when_missing() -> bool:
    """What init-db runs after migrating: the whole `rebuild-rollups` when the rollups are empty
    but their sources are not (rollups_missing). True when it rebuilt."""
    with read_session() as session:
        if not rollups_missing(session):
            return False
    print("The metric rollups are empty: rebuilding them (python -m core rebuild-rollups).")
    _rebuild(None, None)
    return True


def register(sub) -> None:
    p = sub.add_parser("metrics", help="weekly KPIs for a window and its previous period")
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first local date (inclusive)")
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last local date (inclusive)")
    p.add_argument("--location", help="location name")
    p.add_argument("--provider", help="provider name")
    p.add_argument("--type", help="appointment type name")
    p.add_argument("--format", choices=["json", "table"], default="table")
    p.add_argument("--as", dest="as_user", metavar="USERNAME", help="run as this user (default: the system)")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("rebuild-rollups", help="recompute the daily metric rollup from the appointments")
    p.add_argument("--location", action="append", help="only this location (repeatable)")
    p.add_argument("--from", dest="date_from", type=_date, help="first local date (with --to)")
    p.add_argument("--to", dest="date_to", type=_date, help="last local date (with --from)")
    p.set_defaults(func=cmd_rebuild)
