"""The queue's own fixing actions (intake missing's are core.intake's and core.notifications'), each one call of an existing service (booking, waitlist), so
permissions, history (`appointment_history.manual`) and audit are the services' own."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.base.clock import require_aware
from core.base.errors import ValidationError
from core.queue import kinds
from core.queue.actions import SLOT, fixing_action
from core.queue.reads import ItemView
from core.scheduling import booking, waitlist
from core.scheduling.availability import Slot, find_slots
from core.security.access import A, Actor

SLOT_DAYS = 7


@fixing_action(kinds.NO_SHOW_RISK, "confirm", "Confirmed after a call", permission=A.APPOINTMENT_CONFIRM)
@fixing_action(kinds.UNCONFIRMED, "confirm", "Confirmed after a call", permission=A.APPOINTMENT_CONFIRM)
def _confirm(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    return booking.confirm(actor, item.appointment_id, now=now)


def _start(params: dict) -> datetime:
    start = params.get("start")
    if start is None:
        raise ValidationError("Pick a new time first.")
    return require_aware(start, "The new time")


def _rebook(actor: Actor, item: ItemView, *, now: datetime | None = None, **params) -> object:
    return booking.book(
        actor, type_id=item.type_id, location_id=item.location_id, customer_id=item.customer_id,
        start=_start(params), provider_id=params.get("provider_id"), source="queue", now=now,
    )  # fmt: skip


for _kind in (kinds.NO_SHOW_FOLLOWUP, kinds.REBOOK_CALL, kinds.LATE_CANCEL):
    fixing_action(_kind, "rebook", "Rebook…", permission=A.APPOINTMENT_BOOK, needs=SLOT)(_rebook)


def _move(actor: Actor, item: ItemView, *, now: datetime | None = None, **params) -> object:
    return booking.reschedule(
        actor, item.appointment_id, new_start=_start(params), provider_id=params.get("provider_id"), now=now
    )


for _kind in (kinds.CALENDAR_OVERLAP, kinds.OUTSIDE_HOURS):
    fixing_action(_kind, "move", "Move to a free time…", permission=A.APPOINTMENT_RESCHEDULE, needs=SLOT)(_move)


@fixing_action(
    kinds.OUTSIDE_HOURS, "cancel", "Cancel with notice", permission=A.APPOINTMENT_CANCEL,
    confirm="Cancel this appointment? It cannot take place as booked; the customer gets the cancellation notice "
            "(call them to offer another time).",
)  # fmt: skip
def _cancel_outside(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    reason = f"cannot take place: {item.details.get('reason') or 'outside working hours'}"
    return booking.cancel(actor, item.appointment_id, reason=reason, now=now)


@fixing_action(kinds.WAITLIST_OFFER, "book_offer", "Book from the waitlist", permission=A.APPOINTMENT_BOOK)
def _book_offer(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    return waitlist.book_offer(actor, item.subject, now=now)


@fixing_action(
    kinds.WAITLIST_OFFER, "dismiss_offer", "Dismiss offer", permission=A.WAITLIST_MANAGE,
    confirm="Dismiss this offer? The customer stays on the waitlist for other slots.",
)  # fmt: skip
def _dismiss_offer(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    return waitlist.dismiss_offer(actor, item.subject)


def slots_for(actor: Actor, item: ItemView, first_day: date, *, limit: int = 60) -> list[Slot]:
    """Free times for the item's appointment type at its location over SLOT_DAYS days, for the
    rebook or move picker (a move ignores the appointment's own hold)."""
    moving = item.kind in (kinds.CALENDAR_OVERLAP, kinds.OUTSIDE_HOURS)
    return find_slots(
        actor, type_id=item.type_id, location_id=item.location_id, date_from=first_day,
        date_to=first_day + timedelta(days=SLOT_DAYS - 1),
        exclude_appointment_id=item.appointment_id if moving else None, limit=limit,
    )  # fmt: skip
