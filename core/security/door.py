"""The customer-facing door: pages a customer reaches without signing in (a booking request per
location, an unsubscribe link; later an appointment's intake link), and what every one of them
shares. The unsubscribe link and its one-click POST pass neither the switch nor the rate limit:
an opt-out from an email already sent always works, and its signed token is its own guard. The door is off until an admin turns it on (`set_open`, audited); whoever passes it acts
as the `public` actor, whose client address goes into every audit row; each client address may
submit `door_requests_per_minute` forms a minute (counted in the database, so every replica
agrees); a form carries a honeypot field that people never see and bots fill in.

A public service starts with `enter(client, now=..., honeypot=...)`: refused while the door is
closed, over the rate or with the honeypot filled, each with one sentence and nothing written
but the count. The actor it returns may book and record inquiries only, and the public services
choose the location themselves (from the URL's location, an appointment a signed link names): it
reads nothing through the staff reads, which it has no permission for."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from core.base.clock import resolve_now
from core.base.config import get_settings
from core.base.db import read_session, unit_of_work
from core.base.errors import DomainError, ValidationError
from core.security.access import PUBLIC, A, Actor
from core.security.models import DoorRate, DoorSetting
from core.security.service import service

OPEN_KEY = "open"
CLOSED = "Online requests are not available at the moment. Please call us instead."
TOO_MANY = "Too many requests from your connection: try again in a minute."
HONEYPOT = "This request could not be sent. Please call us instead."
HONEYPOT_FIELD = "website"  # the form's hidden field: a person never fills it in


class DoorClosed(DomainError):
    """The door is off: the page says so and offers nothing."""


class TooManyRequests(DomainError):
    """Over the rate for this client address: nothing written."""


def public_actor(client: str) -> Actor:
    """The actor of a customer at the door. `location_ids=None`: a public service names the one
    location it acts at (it has no read permission anywhere)."""
    return Actor(user_id=None, username="public", role=PUBLIC, location_ids=None, name="Customer",
                 client_address=(client or "unknown")[:200])  # fmt: skip


def is_open() -> bool:
    with read_session() as session:
        row = session.get(DoorSetting, OPEN_KEY)
        return bool(row is not None and row.value.get("on"))


def set_open(actor: Actor | None, on: bool, *, now: datetime | None = None) -> bool:
    """Turn the customer-facing pages on or off (admins)."""
    now = resolve_now(now)
    with service(actor, A.DOOR_MANAGE, entity="door", entity_id=OPEN_KEY, location_id=None) as tx:
        row = tx.session.get(DoorSetting, OPEN_KEY, with_for_update=True)
        before = bool(row is not None and row.value.get("on"))
        if before == on:
            return on
        if row is None:
            row = DoorSetting(key=OPEN_KEY, value={})
            tx.session.add(row)
        row.value = {"on": bool(on)}
        row.updated_at, row.updated_by = now, actor.user_id if actor else None
        tx.audit(
            before={"open": before},
            after={"open": on},
            reason="customer-facing pages turned " + ("on" if on else "off"),
        )
    return on


def count_request(client: str, *, now: datetime | None = None) -> int:
    """Count one request of `client` and its requests of the last 60 seconds (its own
    transaction, so a refused request is counted too); TooManyRequests past the setting."""
    now = resolve_now(now)
    since = now - timedelta(minutes=1)
    limit = get_settings().door_requests_per_minute
    key = (client or "unknown")[:200]
    with unit_of_work() as session:
        dialect = sqlite if session.bind.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(DoorRate).values(client=key, at=now, hits=1)
        session.execute(stmt.on_conflict_do_update(index_elements=["client", "at"], set_={"hits": DoorRate.hits + 1}))
        session.execute(DoorRate.__table__.delete().where(DoorRate.at <= since, DoorRate.client == key))
        hits = session.scalar(select(func.sum(DoorRate.hits)).where(DoorRate.client == key))
    if hits > limit:
        raise TooManyRequests(TOO_MANY)
    return hits


def enter(client: str, *, honeypot: str | None = None, now: datetime | None = None) -> Actor:
    """The public actor for one form submission, or the sentence why not (nothing written)."""
    if not is_open():
        raise DoorClosed(CLOSED)
    count_request(client, now=now)
    if honeypot:
        raise ValidationError(HONEYPOT)
    return public_actor(client)


def slug(name: str) -> str:
    """A location's name as it appears in its public URL: "Downtown Clinic" -> "downtown-clinic"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def rate_rows(client: str) -> list[tuple[datetime, int]]:
    with read_session() as session:
        return [(r.at, r.hits) for r in session.scalars(select(DoorRate).where(DoorRate.client == client))]
