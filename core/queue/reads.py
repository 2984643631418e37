"""What the queue page and the navigation read: the items in the actor's scope, sorted by
urgency, with filters; the open count; counts by kind. Scope is pushed into SQL: locations for
everyone, and providers see only items about their own appointments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from core.base.clock import resolve_now
from core.base.models import AppointmentType, Customer, ExceptionItem, Location, Provider, User
from core.base.tz import to_local
from core.queue import kinds, snoozes
from core.scheduling.labels import day_label
from core.scheduling.named import with_names
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading

ME, NOBODY = "me", "nobody"
LIST_LIMIT = 500  # the most items one list_items returns (the page says when it is reached)


@dataclass(frozen=True)
class ItemView:
    id: int
    kind: str
    dedupe_key: str
    status: str  # open | assigned | snoozed | resolved (a snooze that has run out reads as open)
    location_id: int | None
    location_name: str | None
    timezone: str | None
    appointment_id: int | None
    provider_id: int | None
    provider_name: str | None
    customer_id: int | None
    customer_name: str | None
    type_id: int | None
    type_name: str | None
    due_at: datetime | None
    detected_at: datetime
    assigned_to: int | None
    assignee_name: str | None
    snoozed_until: datetime | None
    resolution: str | None
    note: str | None
    details: dict

    @property
    def subject(self) -> int:
        """The id in the dedupe key: the appointment, offer, provider or outbox row."""
        return kinds.subject_id(self.dedupe_key)

    @property
    def who(self) -> str:
        """Whom the item is about, as a card's line names it: the customer, else the provider or place."""
        return self.customer_name or self.provider_name or self.location_name or f"Item #{self.id}"

    @property
    def label(self) -> str:
        return kinds.label(self.kind)

    @property
    def hint(self) -> str:
        return kinds.KINDS[self.kind].hint if self.kind in kinds.KINDS else ""

    def status_text(self) -> str:
        """'open', or 'snoozed until Mon 14 Dec 08:00' in the item's local time."""
        if self.status == "snoozed" and self.snoozed_until is not None:
            return f"snoozed until {snoozes.moment(self.snoozed_until, self.timezone)}"
        return self.status

    def age(self, now: datetime) -> str:
        """How long the item has been open, as a card says it: '3 d', or '5 h' within a day."""
        open_for = now - self.detected_at
        return f"{open_for.days} d" if open_for.days else f"{int(open_for.total_seconds() // 3600)} h"

    def snooze_choices(self, now: datetime) -> list[snoozes.Snooze]:
        """The snoozes this item offers now (core.queue.snoozes)."""
        return snoozes.choices(self.due_at, now)

    def when(self) -> str:
        if self.due_at is None:
            return ""
        local = to_local(self.due_at, self.timezone) if self.timezone else self.due_at
        return f"{day_label(local.date())} {local:%H:%M}"  # "Mon 7 Dec 10:00", as the schedule says it

    def describe(self) -> str:
        """One line: who, what, when, where, and the kind's own detail."""
        parts = [p for p in (self.customer_name, self.type_name, self.when()) if p]
        if self.provider_name:
            parts.append(f"with {self.provider_name}" if self.customer_name else self.provider_name)
        if self.location_name:
            parts.append(f"at {self.location_name}")
        text = " · ".join(parts)
        return f"{text} — {self.extra()}" if self.extra() else text

    def extra(self) -> str:
        """The kind's own detail: the reason, the Google event, what Google changed."""
        if self.kind == kinds.CALENDAR_OVERLAP and self.details.get("event"):
            return f"Google event “{self.details['event']}”"
        if self.kind == kinds.INTAKE_MISSING and self.details.get("missing"):
            return "missing: " + ", ".join(str(m) for m in self.details["missing"])
        return str(self.details.get("reason") or self.details.get("summary") or "")


def keep_places(drawn: list[int], shown: list[int], kept: set[int]) -> list[int]:
    """The cards' order: the items `shown` now, with each `kept` item (just acted on, gone from
    the list) back at the place it had when last `drawn`, so the next card never slides under
    the pointer."""
    order = list(shown)
    for index, item_id in enumerate(drawn):
        if item_id in kept and item_id not in shown:
            order.insert(min(index, len(order)), item_id)
    return order


def _base(actor: Actor | None):
    assignee = aliased(User)
    query = (
        select(
            ExceptionItem,
            Location.name,
            Location.timezone,
            Provider.name,
            Customer.id,
            Customer.name,
            AppointmentType.id,
            AppointmentType.name,
            assignee.name,
        )  # fmt: skip
        .outerjoin(assignee, assignee.id == ExceptionItem.assigned_to)
        .where(_scope(actor))
    )
    return with_names(
        query,
        appointment_id=ExceptionItem.appointment_id,
        location_id=ExceptionItem.location_id,
        provider_id=ExceptionItem.provider_id,
    )


def _scope(actor: Actor | None):
    location = access.location_filter(actor, ExceptionItem.location_id)
    if actor is not None and actor.all_locations and actor.role is not None:
        location = or_(location, ExceptionItem.location_id.is_(None))
    return and_(location, access.provider_filter(actor, ExceptionItem.provider_id))


def _awake(now: datetime):
    """Open, assigned, or snoozed until a time that has passed."""
    return or_(
        ExceptionItem.status.in_(("open", "assigned")),
        and_(ExceptionItem.status == "snoozed", ExceptionItem.snoozed_until <= now),
    )


def _view(row, now: datetime) -> ItemView:
    item, loc_name, tz, prov_name, cust_id, cust_name, type_id, type_name, assignee = row
    status = item.status
    if status == "snoozed" and item.snoozed_until is not None and item.snoozed_until <= now:
        status = "assigned" if item.assigned_to else "open"
    return ItemView(
        item.id, item.kind, item.dedupe_key, status, item.location_id, loc_name, tz, item.appointment_id, item.provider_id, prov_name,
        cust_id, cust_name, type_id, type_name, item.due_at, item.detected_at, item.assigned_to, assignee,
        item.snoozed_until, item.resolution, item.note, dict(item.details or {}),
    )  # fmt: skip


def list_items(
    actor: Actor | None,
    *,
    now: datetime | None = None,
    location_id: int | None = None,
    kinds_: Sequence[str] | None = None,
    assignee: int | str | None = None,
    older_than_hours: int | None = None,
    show: str = "open",
    limit: int = LIST_LIMIT,
) -> list[ItemView]:
    """Items in the actor's scope, most urgent first: those whose appointment (or offer) is still
    ahead, soonest first; then the rest, oldest first. `show`: open (awake), snoozed, resolved
    or all. `assignee`: a user id, ME or NOBODY."""
    now = resolve_now(now)
    with reading(actor, A.QUEUE_VIEW, location_id, entity="exception") as session:
        query = _base(actor)
        if show == "open":
            query = query.where(_awake(now))
        elif show == "snoozed":
            query = query.where(ExceptionItem.status == "snoozed", ExceptionItem.snoozed_until > now)
        elif show == "resolved":
            query = query.where(ExceptionItem.status == "resolved")
        if location_id is not None:
            query = query.where(ExceptionItem.location_id == location_id)
        if kinds_:
            query = query.where(ExceptionItem.kind.in_(list(kinds_)))
        if assignee == ME:
            query = query.where(ExceptionItem.assigned_to == (actor.user_id if actor else None))
        elif assignee == NOBODY:
            query = query.where(ExceptionItem.assigned_to.is_(None))
        elif assignee is not None:
            query = query.where(ExceptionItem.assigned_to == int(assignee))
        if older_than_hours:
            query = query.where(ExceptionItem.detected_at <= now - timedelta(hours=older_than_hours))
        ahead = and_(ExceptionItem.due_at.is_not(None), ExceptionItem.due_at >= now)
        if show == "resolved":
            query = query.order_by(ExceptionItem.resolved_at.desc(), ExceptionItem.id.desc())
        else:
            query = query.order_by(
                case((ahead, 0), else_=1),
                case((ahead, ExceptionItem.due_at), else_=None),
                ExceptionItem.detected_at,
                ExceptionItem.id,
            )
        return [_view(row, now) for row in session.execute(query.limit(limit))]


def get_item(actor: Actor | None, item_id: int, *, now: datetime | None = None) -> ItemView | None:
    """One item if the actor may see it, else None."""
    now = resolve_now(now)
    with reading(actor, A.QUEUE_VIEW, entity="exception", entity_id=item_id) as session:
        row = session.execute(_base(actor).where(ExceptionItem.id == item_id)).first()
        return _view(row, now) if row else None


def open_count(actor: Actor | None, *, now: datetime | None = None) -> int:
    """Open items in the actor's scope (0, and no denial recorded, for those who may not see
    the queue): the navigation badge and the today page's line."""
    if actor is None or A.QUEUE_VIEW not in access.allowed_actions(actor):
        return 0
    now = resolve_now(now)
    with reading(actor, A.QUEUE_VIEW, entity="exception") as session:
        query = select(func.count(ExceptionItem.id)).where(_awake(now), _scope(actor))
        return session.scalar(query) or 0


def counts_by_kind(actor: Actor | None, *, now: datetime | None = None, location_id: int | None = None) -> dict:
    now = resolve_now(now)
    with reading(actor, A.QUEUE_VIEW, location_id, entity="exception") as session:
        query = select(ExceptionItem.kind, func.count()).where(_awake(now), _scope(actor)).group_by(ExceptionItem.kind)
        if location_id is not None:
            query = query.where(ExceptionItem.location_id == location_id)
        return {kind: n for kind, n in session.execute(query)}


def frame(items: Sequence[ItemView], now: datetime | None = None) -> pd.DataFrame:
    """The table the page shows and exports, indexed by item id."""
    now = resolve_now(now)
    rows = [
        {
            "id": i.id,
            "Kind": i.label,
            "When": i.when(),
            "Customer": i.customer_name or "",
            "Type": i.type_name or "",
            "Provider": i.provider_name or "",
            "Location": i.location_name or "",
            "Status": i.status_text(),
            "Assigned to": i.assignee_name or "",
            "Age (h)": int((now - i.detected_at).total_seconds() // 3600),
            "Detail": i.extra(),
        }
        for i in items
    ]
    columns = ["Kind", "When", "Customer", "Type", "Provider", "Location", "Status", "Assigned to", "Age (h)", "Detail"]
    return pd.DataFrame(rows, columns=["id", *columns]).set_index("id")
