"""Reading the audit trail: the audit log page's search, its filter menus and CSV export."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from core.base.db import read_session, unit_of_work
from core.base.errors import ValidationError
from core.base.models import AuditLog, Location, User
from core.security import access
from core.security.access import A, Actor
from core.security.audit import record
from core.security.service import check

PAGE_LIMIT = 500
EXPORT_COLUMNS = ["id", "at_utc", "user", "role", "action", "outcome", "entity", "entity_id", "entity_name",
                  "location", "before", "after", "reason"]  # fmt: skip


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
    check(actor, A.AUDIT_VIEW, entity="audit_log")
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


def _row(entry: AuditLog, location: str | None) -> dict:
    return {
        "id": entry.id, "at_utc": entry.at, "user": entry.actor_username, "role": entry.role,
        "action": entry.action, "outcome": entry.outcome, "entity": entry.entity, "entity_id": entry.entity_id,
        "location": location, "before": entry.before, "after": entry.after, "reason": entry.reason,
        "entity_name": None,
    }  # fmt: skip


def search(actor: Actor, f: AuditFilter = AuditFilter(), *, limit: int | None = PAGE_LIMIT) -> tuple[list[dict], int]:
    """The newest matching rows (at most `limit`) and how many match in all."""
    clauses = _where(actor, f)
    with read_session() as session:
        total = session.scalar(select(func.count()).select_from(AuditLog).where(*clauses)) or 0
        query = (
            select(AuditLog, Location.name)
            .outerjoin(Location, AuditLog.location_id == Location.id)
            .where(*clauses)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = [_row(entry, location) for entry, location in session.execute(query)]
        # Name the users that rows are about, so "user 12" reads as "frontdesk".
        ids = {int(r["entity_id"]) for r in rows if r["entity"] == "user" and (r["entity_id"] or "").isdigit()}
        found = session.execute(select(User.id, User.username).where(User.id.in_(ids))) if ids else []
        names = {user_id: username for user_id, username in found}
        for r in rows:
            if r["entity"] == "user" and (r["entity_id"] or "").isdigit():
                r["entity_name"] = names.get(int(r["entity_id"]))
        return rows, total


def filter_options(actor: Actor) -> dict[str, list[str]]:
    """The users, actions and entities that occur in the trail, for the filter menus."""
    check(actor, A.AUDIT_VIEW, entity="audit_log")
    with read_session() as session:

        def distinct(column) -> list[str]:
            return list(session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)))

        return {"user": distinct(AuditLog.actor_username), "action": distinct(AuditLog.action),
                "entity": distinct(AuditLog.entity)}  # fmt: skip


def export_csv(actor: Actor, f: AuditFilter = AuditFilter()) -> str:
    """Every matching row as CSV (UTC times, before/after as JSON); the export is itself audited."""
    rows, total = search(actor, f, limit=None)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({
            **row,
            "at_utc": row["at_utc"].isoformat(),
            "before": json.dumps(row["before"], sort_keys=True) if row["before"] is not None else "",
            "after": json.dumps(row["after"], sort_keys=True) if row["after"] is not None else "",
        })  # fmt: skip
    with unit_of_work() as session:
        record(session, actor, "audit.export", entity="audit_log", after={"filters": f.describe(), "rows": total})
    return out.getvalue()
