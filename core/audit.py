"""Append-only audit trail. `record` adds the row to the caller's session, so it commits or
rolls back with the change itself; denied attempts get their own transaction, since the
change they guard never happens."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import access
from core.access import A, Actor
from core.db import read_session
from core.errors import ValidationError
from core.models import AuditLog, Location, User

log = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    """Make before/after values JSON-safe: datetimes as ISO strings, sets as sorted lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    entity: str | None = None,
    entity_id: object = None,
    location_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    outcome: str = "ok",
) -> AuditLog:
    row = AuditLog(
        actor_id=actor.user_id if actor else None,
        actor_username=actor.username if actor else None,
        role=actor.role if actor else None,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        location_id=location_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        reason=reason,
        outcome=outcome,
    )
    session.add(row)
    return row


def write_denial(denial: dict) -> None:
    """Record a denied attempt in a transaction of its own."""
    from core.db import unit_of_work

    try:
        with unit_of_work() as session:
            record(
                session,
                denial["actor"],
                denial["action"],
                entity=denial.get("entity"),
                entity_id=denial.get("entity_id"),
                location_id=denial.get("location_id"),
                reason=denial.get("reason"),
                outcome="denied",
            )
    except Exception:  # a failed denial record must never hide the denial itself
        log.exception("could not record denied attempt %s", denial.get("action"))


# --- reading the trail (the audit log page) ------------------------------------------------

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
    access.require(actor, A.AUDIT_VIEW, entity="audit_log")
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
    access.require(actor, A.AUDIT_VIEW, entity="audit_log")
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
    from core.db import unit_of_work

    with unit_of_work() as session:
        record(session, actor, "audit.export", entity="audit_log", after={"filters": f.describe(), "rows": total})
    return out.getvalue()
