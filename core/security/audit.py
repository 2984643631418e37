"""Append-only audit trail. `record` adds the row to the caller's session, so it commits or
rolls back with the change itself; denied attempts get their own transaction, since the
change they guard never happens."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from core.base.db import unit_of_work
from core.base.models import AuditLog, Location
from core.security import audit_chain  # noqa: F401 - links each audit row into the chain at commit
from core.security.access import Actor

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
        client_address=actor.client_address if actor else None,
    )
    session.add(row)
    return row


def write_denial(denial: dict) -> None:
    """Record a denied attempt in a transaction of its own. An attempt that names a location
    that does not exist is recorded without it (the reason keeps the id)."""
    location_id = denial.get("location_id")
    reason = denial.get("reason")
    try:
        with unit_of_work() as session:
            if location_id is not None and session.get(Location, location_id) is None:
                reason, location_id = f"{reason} (unknown location #{location_id})", None
            record(
                session,
                denial["actor"],
                denial["action"],
                entity=denial.get("entity"),
                entity_id=denial.get("entity_id"),
                location_id=location_id,
                reason=reason,
                outcome="denied",
            )
    except Exception:  # a failed denial record must never hide the denial itself
        log.exception("could not record denied attempt %s", denial.get("action"))
