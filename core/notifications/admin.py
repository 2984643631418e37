"""The outbox as the Notifications page shows it, resending a failed or flagged message, and
customers' opt-outs. Managers and admins (SETTINGS_MANAGE) within their locations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Location
from core.notifications.models import CHANNELS, NotificationOptOut, NotificationOutbox
from core.notifications.templates import KIND_LABELS
from core.people.customers import scope_clause
from core.scheduling.named import with_names
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading, service

# What each view of the outbox holds.
VIEWS = {
    "due": ("pending", "sending"),
    "sent": ("sent",),
    "failed": ("failed",),
    "flagged": ("flagged",),
    "not sent": ("not_sent", "skipped"),
    "stopped": ("cancelled", "superseded"),
}
RESENDABLE = ("failed", "flagged")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str
    kind: str
    channel: str
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    appointment_id: int | None
    appointment_start: datetime | None
    location: str | None
    timezone: str | None
    customer: str | None
    type_name: str | None
    recipient: str | None
    subject: str | None
    body: str | None
    reason: str | None
    key: str

    @property
    def kind_label(self) -> str:
        label = KIND_LABELS.get(self.kind, self.kind)
        return label


def counts(actor: Actor | None, *, location_id: int | None = None) -> dict[str, int]:
    """Messages per view, within the actor's locations."""
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="notification") as s:
        q = select(NotificationOutbox.status, func.count()).where(
            access.location_filter(actor, NotificationOutbox.location_id)
        )
        if location_id is not None:
            q = q.where(NotificationOutbox.location_id == location_id)
        by_status = dict(s.execute(q.group_by(NotificationOutbox.status)).all())
    return {view: sum(by_status.get(st, 0) for st in statuses) for view, statuses in VIEWS.items()}


def outbox(
    actor: Actor | None, *, view: str = "due", location_id: int | None = None, search: str = "", limit: int = 500
) -> list[OutboxRow]:
    """One view of the outbox, within the actor's locations: due soonest first, the rest newest first."""
    if view not in VIEWS:
        raise ValidationError(f"Unknown outbox view '{view}': choose one of {', '.join(VIEWS)}.")
    o = NotificationOutbox
    q = (
        select(o, Appointment.start_at, Location.name, Location.timezone, Customer.name, AppointmentType.name)
        .where(o.status.in_(VIEWS[view]), access.location_filter(actor, o.location_id))
        .order_by(o.next_attempt_at if view == "due" else o.updated_at.desc(), o.id)
        .limit(limit)
    )
    q = with_names(q, appointment_id=o.appointment_id, customer_id=o.customer_id, location_id=o.location_id,
                   provider_id=None)  # fmt: skip
    if location_id is not None:
        q = q.where(o.location_id == location_id)
    if search := (search or "").strip():
        like = f"%{search.lower()}%"
        q = q.where(or_(func.lower(Customer.name).like(like), func.lower(o.recipient).like(like)))
    unmasked = access.can(actor, A.CONTACTS_VIEW, location_id)
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="notification") as s:
        return [
            OutboxRow(
                id=r.id, status=r.status, kind=r.kind, channel=r.channel, due_at=r.next_attempt_at, sent_at=r.sent_at,
                attempts=r.attempts, appointment_id=r.appointment_id, appointment_start=start, location=loc, timezone=tz,
                customer=customer, type_name=type_name,
                recipient=r.recipient if unmasked else (access.mask_email if r.channel == "email" else access.mask_phone)(
                    r.recipient
                ),
                subject=r.subject, body=r.body, reason=r.last_error, key=r.idempotency_key,
            )
            for r, start, loc, tz, customer, type_name in s.execute(q)
        ]  # fmt: skip


def _audit_row(row: NotificationOutbox) -> dict:
    return {
        "status": row.status,
        "kind": row.kind,
        "channel": row.channel,
        "attempts": row.attempts,
        "appointment_id": row.appointment_id,
        "key": row.idempotency_key,
        "last_error": row.last_error,
    }


def resend(actor: Actor | None, outbox_id: int, *, now: datetime | None = None) -> NotificationOutbox:
    """Put a failed or flagged message back in line, now. It keeps its idempotency key (the
    Message-ID and Idempotency-Key stay the same, so a provider that saw it can tell), and the
    sender re-checks the appointment before it goes."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="notification", entity_id=outbox_id) as tx:
        row = tx.get_in_scope(NotificationOutbox, outbox_id, what="message")  # another location's: "Unknown"
        if row.status not in RESENDABLE:
            raise InvalidTransition(
                f"Only a failed or flagged message can be resent; this one is {row.status.replace('_', ' ')}."
            )
        before = _audit_row(row)
        row.status, row.next_attempt_at, row.attempts = "pending", now, 0
        row.lease_until = row.claimed_by = row.sending_at = None
        row.payload = {
            **(row.payload or {}),
            "resent_by": actor.username if actor else None,
            "resent_at": now.isoformat(),
        }
        tx.audit(before=before, after=_audit_row(row), reason="resend")
    return row


def _customer_in_scope(session, actor: Actor | None, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Unknown customer #{customer_id}.")
    if session.scalar(select(Customer.id).where(Customer.id == customer_id, scope_clause(actor))) is None:
        access.deny(actor, A.CUSTOMER_MANAGE, "You may not change this customer's messages: they are not a "
                    "customer of your locations.", entity="customer", entity_id=customer_id)  # fmt: skip
    return customer


def set_opt_out(
    actor: Actor | None, customer_id: int, channel: str, *, opted_out: bool, reason: str | None = None
) -> bool:
    """Record (or withdraw) a customer's wish not to get messages on a channel. True if it changed."""
    if channel not in CHANNELS:
        raise ValidationError(f"Unknown channel '{channel}': choose email or sms.")
    with service(actor, A.CUSTOMER_MANAGE, entity="customer", entity_id=customer_id) as tx:
        tx.require(None)
        customer = _customer_in_scope(tx.session, actor, customer_id)
        row = tx.session.get(NotificationOptOut, (customer.id, channel))
        if opted_out == (row is not None):
            return False
        if opted_out:
            tx.session.add(
                NotificationOptOut(
                    customer_id=customer.id, channel=channel, reason=(reason or "").strip() or None,
                    created_by=actor.user_id if actor else None,
                )
            )  # fmt: skip
        else:
            tx.session.delete(row)
        tx.session.flush()
        tx.audit(
            before={"opted_out": not opted_out, "channel": channel},
            after={"opted_out": opted_out, "channel": channel},
            reason=reason or ("opted out" if opted_out else "opted back in"),
        )
    return True


def opt_outs(actor: Actor | None, customer_id: int) -> set[str]:
    with reading(actor, A.CUSTOMER_VIEW, None, entity="customer", entity_id=customer_id) as s:
        return set(s.scalars(select(NotificationOptOut.channel).where(NotificationOptOut.customer_id == customer_id)))


def daily(
    actor: Actor | None, first: date, last: date, *, location_id: int | None = None
) -> list[tuple[date, str, int]]:
    """(UTC day the message was due, view, count) for days first..last, for the page's chart."""
    o = NotificationOutbox
    day = func.date(o.due_at)
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    q = (
        select(day, o.status, func.count())
        .where(o.due_at >= start, o.due_at < end, access.location_filter(actor, o.location_id))
        .group_by(day, o.status)
    )
    if location_id is not None:
        q = q.where(o.location_id == location_id)
    view_of = {st: view for view, statuses in VIEWS.items() for st in statuses}
    totals: dict[tuple[date, str], int] = {}
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="notification") as s:
        for d, status, n in s.execute(q):
            d = d if isinstance(d, date) else date.fromisoformat(str(d)[:10])
            key = (d, view_of[status])
            totals[key] = totals.get(key, 0) + n
    return [(d, v, n) for (d, v), n in sorted(totals.items())]
