"""Reading the audit trail: the audit log page's search, its filter menus and CSV export."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select

from core.base.db import unit_of_work
from core.base.errors import ValidationError
from core.base.models import AuditLog, Location
from core.reports.audit_names import Names, viewer_zone
from core.security import access
from core.security.access import A, Actor
from core.security.audit import record
from core.security.service import reading

PAGE_LIMIT = 500
EXPORT_COLUMNS = ["id", "at_utc", "at_local", "time_zone", "user", "role", "action", "outcome", "entity", "entity_id",
                  "entity_name", "location", "before", "after", "before_named", "after_named", "reason"]  # fmt: skip


@dataclass(frozen=True)
class AuditFilter:
    """Which rows to show; dates are UTC calendar days, both ends included."""

    username: str | None = None
    action: str | None = None
    entity: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _where(actor: Actor, f: AuditFilter) -> list:
    if f.date_from and f.date_to and f.date_to < f.date_from:
        raise ValidationError(f"The end date {f.date_to} is before the start date {f.date_from}.")
    clauses = [] if actor.all_locations else [access.location_filter(actor, AuditLog.location_id)]
    if f.username:
        clauses.append(AuditLog.actor_username == f.username)
    if f.action:
        clauses.append(AuditLog.action == f.action)
    if f.entity:
        clauses.append(AuditLog.entity == f.entity)
    if f.outcome:
        clauses.append(AuditLog.outcome == f.outcome)
    if f.date_from:
        clauses.append(AuditLog.at >= datetime.combine(f.date_from, time(), UTC))
    if f.date_to:
        clauses.append(AuditLog.at < datetime.combine(f.date_to + timedelta(days=1), time(), UTC))
    return clauses


def _row(entry: AuditLog, location: str | None, zone: str) -> dict:
    return {
        "id": entry.id, "at_utc": entry.at, "at_local": entry.at.astimezone(ZoneInfo(zone)), "time_zone": zone,
        "user": entry.actor_username, "role": entry.role, "action": entry.action, "outcome": entry.outcome,
        "entity": entry.entity, "entity_id": entry.entity_id, "location": location, "before": entry.before,
        "after": entry.after, "reason": entry.reason,
    }  # fmt: skip


def time_zones(actor: Actor) -> tuple[str, list[str]]:
    """The viewer's own zone (their first location's) and every active location's zone, to pick from."""
    with reading(actor, A.AUDIT_VIEW, entity="audit_log") as session:
        zones = session.scalars(select(Location.timezone).where(Location.active.is_(True)).distinct())
        return viewer_zone(session, actor), sorted({*zones, "UTC"})


def search(
    actor: Actor, f: AuditFilter = AuditFilter(), *, limit: int | None = PAGE_LIMIT, zone: str | None = None
) -> tuple[list[dict], int]:
    """The newest matching rows (at most `limit`) and how many match in all. Each row carries
    its time in `zone` (default: the viewer's) beside UTC, the name of what it is about
    (`entity_name`), and its before/after values with names beside ids and times in the
    row's location's zone (`before_named`, `after_named`)."""
    with reading(actor, A.AUDIT_VIEW, entity="audit_log") as session:
        clauses = _where(actor, f)
        zone = zone or viewer_zone(session, actor)
        if zone not in available_timezones() and zone != "UTC":
            raise ValidationError(f"Unknown time zone {zone!r}.")
        total = session.scalar(select(func.count()).select_from(AuditLog).where(*clauses)) or 0
        query = (
            select(AuditLog, Location.name, Location.timezone)
            .outerjoin(Location, AuditLog.location_id == Location.id)
            .where(*clauses)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        found = session.execute(query).all()
        rows = [_row(entry, location, zone) for entry, location, _ in found]
        names = Names(session, rows)
        for row, (_, _, row_zone) in zip(rows, found, strict=True):
            row["entity_name"] = names.entity(row)
            row["before_named"] = names.values(row["before"], row_zone or zone)
            row["after_named"] = names.values(row["after"], row_zone or zone)
        return rows, total


def filter_options(actor: Actor) -> dict[str, list[str]]:
    """The users, actions and entities that occur in the trail, for the filter menus."""
    with reading(actor, A.AUDIT_VIEW, entity="audit_log") as session:

        def distinct(column) -> list[str]:
            return list(session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)))

        return {"user": distinct(AuditLog.actor_username), "action": distinct(AuditLog.action),
                "entity": distinct(AuditLog.entity)}  # fmt: skip


def export_csv(actor: Actor, f: AuditFilter = AuditFilter(), *, zone: str | None = None) -> str:
    """Every matching row as CSV (UTC and local times, before/after as JSON and named); the
    export is itself audited."""
    rows, total = search(actor, f, limit=None, zone=zone)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({
            **row,
            "at_utc": row["at_utc"].isoformat(),
            "at_local": row["at_local"].isoformat(),
            "before": json.dumps(row["before"], sort_keys=True) if row["before"] is not None else "",
            "after": json.dumps(row["after"], sort_keys=True) if row["after"] is not None else "",
        })  # fmt: skip
    with unit_of_work() as session:
        record(session, actor, "audit.export", entity="audit_log", after={"filters": f.describe(), "rows": total})
    return out.getvalue()
