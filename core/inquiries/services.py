"""The desk's inquiry services: record (merging a repeat within DEDUPE_WINDOW), book from, close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import ConflictError, InvalidTransition, NotFound, ValidationError
from core.base.models import CLOSE_REASONS, Appointment, AppointmentType, Inquiry
from core.inquiries.events import InquiryChanged
from core.people.customers import add_customer_in
from core.queue import kinds
from core.queue.items import clear_item
from core.scheduling.booking import book_in, customer_in_scope, loaded
from core.scheduling.conflicts import Attempt, run_booking
from core.security.access import A, Actor
from core.security.service import Tx, service

CHANNELS = {"phone": "Phone", "walk_in": "Walk-in", "email": "Email", "web": "Web", "other": "Other"}
LEGACY_CHANNELS = {"google": "Google"}  # older demo data
DESK_REASONS = {
    "no_suitable_slot": "No slot that suits", "price": "Price", "went_elsewhere": "Went elsewhere",
    "duplicate": "Duplicate", "spam": "Spam",
}  # fmt: skip
REASON_LABELS = DESK_REASONS | {"declined": "Request declined", "expired": "Request lapsed"}
DEDUPE_WINDOW = timedelta(minutes=60)
PREFERRED_MAX = 200
assert set(REASON_LABELS) == set(CLOSE_REASONS)


@dataclass(frozen=True)
class Recorded:
    inquiry_id: int
    merged: bool  # True: a repeat within the hour, added to the open inquiry instead


def channel_label(channel: str) -> str:
    return (CHANNELS | LEGACY_CHANNELS).get(channel, channel)


def snapshot(inq: Inquiry) -> dict:
    return {"location_id": inq.location_id, "type_id": inq.type_id, "customer_id": inq.customer_id,
            "channel": inq.channel, "received_at": inq.received_at, "appointment_id": inq.appointment_id,
            "closed_reason": inq.closed_reason, "held_until": inq.held_until}  # fmt: skip


def changed(tx: Tx, inq: Inquiry, what: str) -> None:
    tx.publish(InquiryChanged(inquiry_id=inq.id, location_id=inq.location_id, received_at=inq.received_at, what=what))
    if inq.appointment_id is not None or inq.closed_at is not None:  # answered: its queue item resolves itself
        clear_item(tx.session, kinds.key(kinds.INQUIRY_UNANSWERED, inq.id), now=resolve_now(None))


def _type(tx: Tx, type_id: int | None) -> AppointmentType | None:
    if type_id is None:
        return None
    atype = tx.session.get(AppointmentType, type_id)
    if atype is None or not atype.active:
        raise NotFound(f"Unknown appointment type #{type_id}.")
    return atype


def record_in(
    tx: Tx,
    *,
    location_id: int,
    channel: str,
    now: datetime,
    customer_id: int | None = None,
    new_customer: dict | None = None,
    type_id: int | None = None,
    preferred_times: str | None = None,
    notes: str | None = None,
) -> Recorded:
    """Record inside the caller's transaction (permission at `location_id` already checked). The
    same customer, type and location within DEDUPE_WINDOW of an open, unbooked inquiry is that
    inquiry (merged: conversion counts it once); after a booking, a new request is a new one."""
    if channel not in CHANNELS:
        raise ValidationError(f"Choose how the inquiry came in: {', '.join(CHANNELS.values())}.")
    if (customer_id is None) == (new_customer is None):
        raise ValidationError("Choose an existing customer or enter a new contact (not both).")
    preferred = limits.text(preferred_times, "preferred times", PREFERRED_MAX)
    notes = limits.text(notes, "note", limits.NOTE_MAX)
    _type(tx, type_id)
    if new_customer is not None:
        customer_id = add_customer_in(tx, location_id=location_id, **new_customer).id
    else:
        customer_in_scope(tx, customer_id)
    twin = tx.session.scalar(
        select(Inquiry)
        .where(Inquiry.customer_id == customer_id, Inquiry.location_id == location_id,
               Inquiry.type_id.is_(None) if type_id is None else Inquiry.type_id == type_id,
               Inquiry.received_at > now - DEDUPE_WINDOW, Inquiry.closed_at.is_(None),
               Inquiry.appointment_id.is_(None))
        .order_by(Inquiry.received_at.desc()).limit(1).with_for_update()
    )  # fmt: skip
    if twin is not None:
        merge_in(tx, twin, notes, preferred, channel)
        return Recorded(twin.id, True)
    inq = Inquiry(location_id=location_id, type_id=type_id, customer_id=customer_id, channel=channel,
                  received_at=now, notes=notes, preferred_times=preferred,
                  created_by=tx.actor.user_id if tx.actor else None)  # fmt: skip
    tx.session.add(inq)
    tx.session.flush()
    tx.audit(entity="inquiry", entity_id=inq.id, location_id=location_id, after=snapshot(inq))
    changed(tx, inq, "received")
    return Recorded(inq.id, False)


def merge_in(tx: Tx, twin: Inquiry, notes: str | None, preferred: str | None, channel: str) -> None:
    """A repeat within the hour joins the open inquiry it repeats (its notes, its preferred times)."""
    before = snapshot(twin)
    twin.notes = "\n".join(n for n in (twin.notes, notes) if n) or None
    twin.preferred_times = preferred or twin.preferred_times
    tx.session.flush()
    tx.audit(entity="inquiry", entity_id=twin.id, location_id=twin.location_id, before=before,
             after=snapshot(twin) | {"channel": channel}, reason="repeat within the hour: merged")  # fmt: skip


def record_inquiry(actor: Actor | None, *, location_id: int, channel: str, now: datetime | None = None,
                   **fields) -> Recorded:  # fmt: skip
    """Record a call, walk-in, email or web inquiry at a location (customer_id or new_customer
    {name, email, phone}; type_id, preferred_times, notes optional)."""
    now = resolve_now(now)
    with service(actor, A.INQUIRY_RECORD, entity="inquiry", location_id=location_id,
                 unknown=f"Unknown location #{location_id}.") as tx:  # fmt: skip
        return record_in(tx, location_id=location_id, channel=channel, now=now, **fields)


def link_in(tx: Tx, inq: Inquiry, appt: Appointment, now: datetime) -> None:
    """The appointment was booked from the inquiry: one inquiry per appointment, one appointment
    per inquiry."""
    if inq.appointment_id is not None:
        raise ConflictError(f"Inquiry #{inq.id} is already booked (appointment #{inq.appointment_id}).")
    other = tx.session.scalar(select(Inquiry.id).where(Inquiry.appointment_id == appt.id, Inquiry.id != inq.id))
    if other is not None:
        raise ConflictError(f"Appointment #{appt.id} was already booked from inquiry #{other}.")
    before = snapshot(inq)
    inq.appointment_id, inq.booked_at = appt.id, now
    tx.session.flush()
    tx.audit(entity="inquiry", entity_id=inq.id, location_id=inq.location_id, before=before, after=snapshot(inq),
             reason=f"booked as appointment #{appt.id}", action=A.INQUIRY_RECORD)  # fmt: skip
    changed(tx, inq, "booked")


def open_inquiry(tx: Tx, inquiry_id: int) -> Inquiry:
    inq = tx.get_in_scope(Inquiry, inquiry_id, what="inquiry", action=A.INQUIRY_RECORD)
    if inq.appointment_id is not None:
        raise ConflictError(f"Inquiry #{inq.id} is already booked (appointment #{inq.appointment_id}).")
    if inq.closed_at is not None:
        raise InvalidTransition(f"Inquiry #{inq.id} was closed ({REASON_LABELS[inq.closed_reason].lower()}).")
    return inq


def book_from_inquiry(
    actor: Actor | None,
    inquiry_id: int,
    *,
    start: datetime,
    type_id: int | None = None,
    provider_id: int | None = None,
    intake: dict | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book the inquiry's customer (its type unless another is given) and link the appointment to it."""
    now = resolve_now(now)
    attempt = Attempt()

    def run() -> Appointment:
        with service(actor, A.APPOINTMENT_BOOK, entity="inquiry", entity_id=inquiry_id) as tx:
            inq = open_inquiry(tx, inquiry_id)
            tx.require(inq.location_id, action=A.APPOINTMENT_BOOK, entity_id=inquiry_id)
            chosen = type_id or inq.type_id
            if chosen is None:
                raise ValidationError("Choose the appointment type to book.")
            appt, _, _ = book_in(tx, type_id=chosen, location_id=inq.location_id, customer_id=inq.customer_id,
                                 start=start, now=now, attempt=attempt, provider_id=provider_id, intake=intake,
                                 source="inquiry", notes=limits.text(notes, "note", limits.NOTE_MAX))  # fmt: skip
            link_in(tx, inq, appt, now)
            return loaded(appt)

    return run_booking(run, attempt)


def close_in(tx: Tx, inq: Inquiry, reason: str, now: datetime, note: str | None = None) -> None:
    before = snapshot(inq)
    inq.closed_at, inq.closed_reason, inq.held_until = now, reason, None
    if note:
        inq.notes = "\n".join(n for n in (inq.notes, note) if n)
    tx.session.flush()
    tx.audit(entity="inquiry", entity_id=inq.id, location_id=inq.location_id, before=before, after=snapshot(inq),
             reason=REASON_LABELS[reason], action=A.INQUIRY_RECORD)  # fmt: skip
    changed(tx, inq, "closed")


def close_inquiry(actor: Actor | None, inquiry_id: int, *, reason: str, note: str | None = None,
                  now: datetime | None = None) -> None:  # fmt: skip
    """Close an open inquiry without a booking, with one of DESK_REASONS."""
    now = resolve_now(now)
    if reason not in DESK_REASONS:
        raise ValidationError(f"Choose why it is closed: {', '.join(DESK_REASONS.values()).lower()}.")
    note = limits.text(note, "note", limits.NOTE_MAX)
    with service(actor, A.INQUIRY_RECORD, entity="inquiry", entity_id=inquiry_id) as tx:
        close_in(tx, open_inquiry(tx, inquiry_id), reason, now, note)
