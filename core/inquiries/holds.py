"""Held booking requests: the desk confirms one (the appointment stays, the hold ends) or declines
it (the appointment is cancelled, the inquiry closed "declined" and unlinked, so conversion does
not count it); one nobody answered lapses by itself (`expire_requests`, a worker job) and frees
its slot. Each clears its "booking request" queue item."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound
from core.base.jobs import job
from core.base.models import Appointment, Inquiry
from core.inquiries.services import close_in, snapshot
from core.queue import kinds
from core.queue.actions import fixing_action
from core.queue.items import clear_item
from core.queue.reads import ItemView
from core.scheduling.booking import cancel_in
from core.security.access import SYSTEM, A, Actor
from core.security.service import Tx, service

EXPIRE_EVERY = timedelta(minutes=1)


def _held(tx: Tx, appointment_id: int, action: str) -> Inquiry:
    inq = tx.session.scalar(select(Inquiry).where(Inquiry.appointment_id == appointment_id).with_for_update())
    if inq is None or inq.held_until is None:
        raise InvalidTransition(f"Appointment #{appointment_id} is not a booking request waiting for an answer.")
    tx.require(inq.location_id, action=action, entity_id=inq.id)
    return inq


def confirm_request(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> None:
    """Accept a held web request: the booking stands."""
    now = resolve_now(now)
    with service(actor, A.APPOINTMENT_BOOK, entity="inquiry") as tx:
        inq = _held(tx, appointment_id, A.APPOINTMENT_BOOK)
        before = snapshot(inq)
        inq.held_until = None
        tx.audit(before=before, after=snapshot(inq), reason="booking request confirmed")
        clear_item(tx.session, kinds.key(kinds.BOOKING_REQUEST, appointment_id), now=now)


def _release(tx: Tx, inq: Inquiry, reason: str, now: datetime) -> None:
    appt = tx.get(Appointment, inq.appointment_id, what="appointment")
    appointment_id = appt.id
    inq.appointment_id, inq.booked_at = None, None
    tx.session.flush()
    cancel_in(tx, appt, now=now, reason="booking request " + ("declined" if reason == "declined" else "lapsed"),
              by_customer=False)  # fmt: skip
    close_in(tx, inq, reason, now)
    clear_item(tx.session, kinds.key(kinds.BOOKING_REQUEST, appointment_id), now=now)


def decline_request(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> None:
    """Refuse a held web request: its slot is freed and the inquiry closed as declined."""
    now = resolve_now(now)
    with service(actor, A.APPOINTMENT_CANCEL, entity="inquiry", audited=False) as tx:
        _release(tx, _held(tx, appointment_id, A.APPOINTMENT_CANCEL), "declined", now)


@job("expire-booking-requests", every=EXPIRE_EVERY)
def expire_requests(now: datetime | None = None) -> str:
    """Release every held request whose time is up (SKIP LOCKED: safe on several workers)."""
    now = resolve_now(now)
    released = 0
    while True:
        with service(SYSTEM, A.APPOINTMENT_CANCEL, entity="inquiry", audited=False) as tx:
            inq = tx.session.scalar(
                select(Inquiry).where(Inquiry.held_until.is_not(None), Inquiry.held_until <= now)
                .order_by(Inquiry.held_until).limit(1).with_for_update(skip_locked=True)
            )  # fmt: skip
            if inq is None:
                break
            _release(tx, inq, "expired", now)
            released += 1
    return f"{released} booking request(s) lapsed"


@fixing_action(kinds.BOOKING_REQUEST, "confirm_request", "Confirm the request", permission=A.APPOINTMENT_BOOK)
def _confirm(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    if item.appointment_id is None:
        raise NotFound("This booking request has no appointment.")
    return confirm_request(actor, item.appointment_id, now=now)


@fixing_action(kinds.BOOKING_REQUEST, "decline_request", "Decline and free the slot",
               permission=A.APPOINTMENT_CANCEL, confirm="Decline this request and free its slot?")  # fmt: skip
def _decline(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    if item.appointment_id is None:
        raise NotFound("This booking request has no appointment.")
    return decline_request(actor, item.appointment_id, now=now)
