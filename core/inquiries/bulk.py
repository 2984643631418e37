"""Many inquiries in one transaction (the demo's year of calls, walk-ins and web requests): the
desk's rules for each (record_in, link_in, close_in: a known channel, a customer the actor may
find, an active type, text within limits, a repeat of an open inquiry within the hour merged,
one inquiry per appointment, a desk reason to close), checked for all before anything is
written; one audit row per location, and one `InquiriesRecorded` for the rollups. A row that
breaks a rule refuses the whole batch with one sentence naming it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import insert, select

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Inquiry, Location
from core.base.tz import zone
from core.inquiries.events import InquiriesRecorded
from core.inquiries.services import CHANNELS, DEDUPE_WINDOW, DESK_REASONS, PREFERRED_MAX, close_in, link_in, merge_in
from core.people.customers import scope_clause
from core.security.access import A, Actor
from core.security.service import Tx, service

CHUNK = 5000  # ids per IN (...) lookup


@dataclass(frozen=True, slots=True)
class NewInquiry:
    """One inquiry as the desk (or the request page) would have recorded it, with what came of it."""

    location_id: int
    channel: str
    customer_id: int
    received_at: datetime
    type_id: int | None = None
    preferred_times: str | None = None
    notes: str | None = None
    appointment_id: int | None = None  # booked from it, at booked_at
    booked_at: datetime | None = None
    closed_reason: str | None = None  # closed without a booking (one of DESK_REASONS), at closed_at
    closed_at: datetime | None = None

    def answered_by(self, moment: datetime) -> bool:
        return any(at is not None and at <= moment for at in (self.booked_at, self.closed_at))


@dataclass(frozen=True)
class BulkRecorded:
    recorded: int  # new inquiries written
    merged: int  # repeats within the hour, folded into the inquiry they repeat
    booked: int
    closed: int


def record_inquiries(
    actor: Actor | None, inquiries: Iterable[NewInquiry], *, now: datetime | None = None
) -> BulkRecorded:
    """Record many inquiries (and their bookings or closings) in one transaction."""
    now = resolve_now(now)
    with service(actor, A.INQUIRY_RECORD, entity="inquiry") as tx:
        return record_many_in(tx, inquiries, now=now)


def record_many_in(tx: Tx, inquiries: Iterable[NewInquiry], *, now: datetime) -> BulkRecorded:
    """`record_inquiries` inside the caller's transaction."""
    rows = [_cleaned(number, inq, now) for number, inq in enumerate(inquiries, 1)]
    zones = _locations(tx, rows)
    _check_references(tx, rows)
    kept = _fold_repeats(rows)
    kept = _into_stored(tx, kept)
    _insert(tx, kept)
    by_location: dict[int, list[NewInquiry]] = defaultdict(list)
    for inq in kept:
        by_location[inq.location_id].append(inq)
    for location_id, mine in sorted(by_location.items()):
        tx.audit(entity="inquiry", location_id=location_id, reason="recorded in bulk", after=_tally(mine))
    tx.publish(InquiriesRecorded(days=_days(kept, zones), count=len(kept), at=now))
    return BulkRecorded(len(kept), len(rows) - len(kept), sum(1 for inq in kept if inq.appointment_id),
                        sum(1 for inq in kept if inq.closed_reason))  # fmt: skip


def _cleaned(number: int, inq: NewInquiry, now: datetime) -> NewInquiry:
    """The row with its text trimmed, or one sentence naming what is wrong with it."""
    try:
        if inq.channel not in CHANNELS:
            raise ValidationError(f"choose how it came in: {', '.join(CHANNELS.values())}.")
        if inq.received_at > now:
            raise ValidationError("it cannot be received in the future.")
        if (inq.appointment_id is None) != (inq.booked_at is None):
            raise ValidationError("a booking needs both its appointment and when it was booked.")
        if (inq.closed_reason is None) != (inq.closed_at is None):
            raise ValidationError("a closing needs both its reason and when it was closed.")
        if inq.appointment_id is not None and inq.closed_reason is not None:
            raise ValidationError("it is either booked or closed, not both.")
        if inq.closed_reason is not None and inq.closed_reason not in DESK_REASONS:
            raise ValidationError(f"choose why it is closed: {', '.join(DESK_REASONS.values()).lower()}.")
        answered = inq.booked_at or inq.closed_at
        if answered is not None and not inq.received_at <= answered <= now:
            raise ValidationError("it is answered before it was received, or in the future.")
        preferred = limits.text(inq.preferred_times, "preferred times", PREFERRED_MAX)
        notes = limits.text(inq.notes, "note", limits.NOTE_MAX)
        if (preferred, notes) == (inq.preferred_times, inq.notes):
            return inq
        return replace(inq, preferred_times=preferred, notes=notes)
    except ValidationError as exc:
        raise ValidationError(f"Inquiry {number}: {exc}") from None


def _locations(tx: Tx, rows: Sequence[NewInquiry]) -> dict[int, str]:
    """The zone of each location named, once the actor may record inquiries there."""
    wanted = sorted({inq.location_id for inq in rows})
    zones = dict(tx.session.execute(select(Location.id, Location.timezone).where(Location.id.in_(wanted))).all())
    for location_id in wanted:
        tx.require(location_id, unknown=f"Unknown location #{location_id}.")
        if location_id not in zones:
            raise NotFound(f"Unknown location #{location_id}.")
    return zones


def _lookup(tx: Tx, query, column, ids: set[int]) -> list:
    ordered = sorted(ids)
    found = []
    for k in range(0, len(ordered), CHUNK):
        found += tx.session.execute(query.where(column.in_(ordered[k : k + CHUNK]))).all()
    return found


def _check_references(tx: Tx, rows: Sequence[NewInquiry]) -> None:
    """Customers the actor may find, active types, appointments of that customer at that
    location, each booked from one inquiry only."""
    customers = {r.id for r in _lookup(tx, select(Customer.id).where(scope_clause(tx.actor)), Customer.id,
                                       {inq.customer_id for inq in rows})}  # fmt: skip
    types = {r.id for r in _lookup(tx, select(AppointmentType.id).where(AppointmentType.active), AppointmentType.id,
                                   {inq.type_id for inq in rows if inq.type_id is not None})}  # fmt: skip
    booked = [inq.appointment_id for inq in rows if inq.appointment_id is not None]
    appointments = {r.id: r for r in _lookup(tx, select(Appointment.id, Appointment.location_id,
                    Appointment.customer_id), Appointment.id, set(booked))}  # fmt: skip
    linked = {r.appointment_id: r.id for r in _lookup(tx, select(Inquiry.id, Inquiry.appointment_id),
              Inquiry.appointment_id, set(booked))}  # fmt: skip
    seen: set[int] = set()
    for inq in rows:
        if inq.customer_id not in customers:
            raise NotFound(f"Unknown customer #{inq.customer_id}.")
        if inq.type_id is not None and inq.type_id not in types:
            raise NotFound(f"Unknown appointment type #{inq.type_id}.")
        if (appt_id := inq.appointment_id) is None:
            continue
        appt = appointments.get(appt_id)
        if appt is None or (appt.location_id, appt.customer_id) != (inq.location_id, inq.customer_id):
            raise NotFound(f"Unknown appointment #{appt_id} for this customer at this location.")
        if appt_id in linked or appt_id in seen:
            raise ConflictError(f"Appointment #{appt_id} was already booked from another inquiry.")
        seen.add(appt_id)


def _fold_repeats(rows: Sequence[NewInquiry]) -> list[NewInquiry]:
    """One inquiry per customer, type and location within DEDUPE_WINDOW of an open, unbooked one
    (as `record_in` merges a repeat): the repeat's notes and preferred times join the first, and
    its outcome, when the first has none. Against inquiries already stored too."""
    by_key: dict[tuple, list[NewInquiry]] = defaultdict(list)
    for inq in sorted(rows, key=lambda r: r.received_at):
        by_key[inq.customer_id, inq.location_id, inq.type_id].append(inq)
    kept = []
    for group in by_key.values():
        current: NewInquiry | None = None
        for inq in group:
            if (
                current is None
                or inq.received_at - current.received_at >= DEDUPE_WINDOW
                or current.answered_by(inq.received_at)
            ):
                if current is not None:
                    kept.append(current)
                current = inq
                continue
            current = _merged(current, inq)
        kept.append(current)
    return sorted(kept, key=lambda r: (r.received_at, r.location_id, r.customer_id))


def _merged(first: NewInquiry, repeat: NewInquiry) -> NewInquiry:
    if repeat.booked_at or repeat.closed_at:
        if first.booked_at or first.closed_at:
            raise ConflictError(
                f"Customer #{first.customer_id} asked twice within the hour and both inquiries have an outcome: "
                "record the repeat without one."
            )
        first = replace(first, appointment_id=repeat.appointment_id, booked_at=repeat.booked_at,
                        closed_reason=repeat.closed_reason, closed_at=repeat.closed_at)  # fmt: skip
    notes = "\n".join(n for n in (first.notes, repeat.notes) if n) or None
    return replace(first, notes=notes, preferred_times=repeat.preferred_times or first.preferred_times)


def _into_stored(tx: Tx, kept: list[NewInquiry]) -> list[NewInquiry]:
    """Repeats of open, unbooked inquiries already stored, merged into them as `record_in` does
    (and booked or closed with them); returns the rest, still to write."""
    earliest = min((inq.received_at for inq in kept), default=None)
    if earliest is None:
        return kept
    query = select(Inquiry).where(Inquiry.received_at > earliest - DEDUPE_WINDOW, Inquiry.closed_at.is_(None),
                                  Inquiry.appointment_id.is_(None)).with_for_update()  # fmt: skip
    stored: dict[tuple, list[Inquiry]] = defaultdict(list)
    for (twin,) in _lookup(tx, query, Inquiry.customer_id, {inq.customer_id for inq in kept}):
        stored[twin.customer_id, twin.location_id, twin.type_id].append(twin)
    rest = []
    for inq in kept:
        twins = [t for t in stored.get((inq.customer_id, inq.location_id, inq.type_id), ())
                 if t.received_at <= inq.received_at < t.received_at + DEDUPE_WINDOW]  # fmt: skip
        if not twins:
            rest.append(inq)
            continue
        _merge_stored(tx, max(twins, key=lambda t: t.received_at), inq)
    return rest


def _merge_stored(tx: Tx, twin: Inquiry, inq: NewInquiry) -> None:
    merge_in(tx, twin, inq.notes, inq.preferred_times, inq.channel)
    if inq.appointment_id is not None:
        link_in(tx, twin, tx.session.get(Appointment, inq.appointment_id), inq.booked_at)
    elif inq.closed_reason is not None:
        close_in(tx, twin, inq.closed_reason, inq.closed_at)


def _insert(tx: Tx, kept: Sequence[NewInquiry]) -> None:
    """Write the inquiries (Core executemany)."""
    created_by = tx.actor.user_id if tx.actor else None
    statement = insert(Inquiry.__table__)
    for k in range(0, len(kept), CHUNK):
        values = [
            {"location_id": inq.location_id, "type_id": inq.type_id, "customer_id": inq.customer_id,
             "channel": inq.channel, "received_at": inq.received_at, "appointment_id": inq.appointment_id,
             "booked_at": inq.booked_at, "closed_at": inq.closed_at, "closed_reason": inq.closed_reason,
             "notes": inq.notes, "preferred_times": inq.preferred_times, "created_by": created_by}
            for inq in kept[k : k + CHUNK]
        ]  # fmt: skip
        tx.session.execute(statement, values)


def _tally(mine: list[NewInquiry]) -> dict:
    """What the audit row says of a location's share: how many, booked, closed, by channel, when."""
    channels: dict[str, int] = defaultdict(int)
    for inq in mine:
        channels[inq.channel] += 1
    return {"recorded": len(mine), "booked": sum(1 for inq in mine if inq.appointment_id),
            "closed": sum(1 for inq in mine if inq.closed_reason), "channels": dict(sorted(channels.items())),
            "received_from": min(inq.received_at for inq in mine), "received_until": max(inq.received_at for inq in mine)}  # fmt: skip


def _days(kept: Sequence[NewInquiry], zones: dict[int, str]) -> dict[int, tuple[date, date]]:
    """Each location's first and last local day of receipt."""
    days: dict[int, tuple[date, date]] = {}
    for inq in kept:
        day = inq.received_at.astimezone(zone(zones[inq.location_id])).date()
        first, last = days.get(inq.location_id, (day, day))
        days[inq.location_id] = (min(first, day), max(last, day))
    return days
