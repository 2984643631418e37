"""Push: every active appointment from now on (and any in progress) is one event on its
provider's calendar.

Every appointment change queues a push in the change's own transaction (`_queue_push`, a
subscriber of AppointmentChanged), so a crash between the commit and the push loses nothing.
The sender (`push_appointment`, run under the calendar's lease) brings the event in line with
the appointment as it is *now*, so a push is idempotent and any number of queued changes cost
one request:
- insert with a deterministic client id (409: read the event that is there and adopt it);
- patch with If-Match of the ETag we last wrote; 412 means Google changed it: we read it, and
  if its time is neither ours nor what we last pushed, we open a "changed in Google" item and
  push nothing over it (the link waits in state `changed` until someone picks a version);
- a cancellation deletes the event (404/410: done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from googleapiclient.errors import HttpError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.base.db import read_session, unit_of_work, utcnow
from core.base.events import subscribe
from core.base.models import OPEN_STATUSES, Appointment, Status
from core.calendar_sync import conflicts
from core.calendar_sync.client import CalendarApi, appointment_id_of, event_id_for, google_times, rfc3339, status_of
from core.calendar_sync.models import CalendarLink, CalendarPush
from core.calendar_sync.summary import event_summary
from core.scheduling.events import AppointmentChanged

ACTIVE = {s.value for s in OPEN_STATUSES}


@subscribe(AppointmentChanged)
def _queue_push(session: Session, event: AppointmentChanged) -> None:
    """Queue a push in the booking's transaction (one outbox row per appointment)."""
    past = event.after.end <= event.at and event.after.status != Status.CANCELLED.value
    if past and session.get(CalendarLink, event.appointment_id) is None:
        return  # a past appointment without an event: nothing to show in Google
    queue_push(session, event.appointment_id, event.after.provider_id, event.at)


def queue_push(session: Session, appointment_id: int, provider_id: int, now: datetime) -> None:
    row = session.get(CalendarPush, appointment_id, with_for_update=True)
    if row is None:
        session.add(CalendarPush(appointment_id=appointment_id, provider_id=provider_id, version=1, queued_at=now))
    else:
        row.provider_id, row.version, row.queued_at = provider_id, row.version + 1, now
    session.flush()


@dataclass(frozen=True)
class Wanted:
    calendar_id: str
    start: datetime
    end: datetime
    summary: str
    timezone: str


def wanted(appt: Appointment, now: datetime) -> Wanted | None | bool:
    """The event the appointment should have; None: no event (cancelled); True: leave the
    event as it is (over, completed, no-show: history stays in the calendar)."""
    if appt.status == Status.CANCELLED.value:
        return None
    if appt.status not in ACTIVE or appt.end_at <= now:
        return True
    return Wanted(appt.provider.calendar, appt.start_at, appt.end_at, event_summary(appt), appt.location.timezone)


def event_body(appt_id: int, w: Wanted) -> dict:
    return {
        "summary": w.summary,
        "start": {"dateTime": rfc3339(w.start), "timeZone": w.timezone},
        "end": {"dateTime": rfc3339(w.end), "timeZone": w.timezone},
        "extendedProperties": {"private": {"appointment_id": str(appt_id)}},
    }


def _load(appointment_id: int):
    with read_session() as s:
        appt = s.scalar(
            select(Appointment)
            .where(Appointment.id == appointment_id)
            .options(
                joinedload(Appointment.provider),
                joinedload(Appointment.location),
                joinedload(Appointment.type),
                joinedload(Appointment.customer),
            )
        )
        link = s.get(CalendarLink, appointment_id)
        version = s.scalar(select(CalendarPush.version).where(CalendarPush.appointment_id == appointment_id))
        s.expunge_all()  # keep the loaded values past the read session's rollback
        return appt, link, version


def push_appointment(api_for, appointment_id: int, now: datetime) -> str:
    """Bring one appointment's event in line with it. `api_for(calendar_id)` gives the client
    for a calendar. Returns what happened: inserted, updated, deleted, unchanged, held, conflict."""
    appt, link, version = _load(appointment_id)
    if appt is None:
        _done(appointment_id, version)
        return "unchanged"
    if link is not None and link.state != "synced":
        _done(appointment_id, version)  # the queue item's fixing action queues a new push
        return "held"
    want = wanted(appt, now)
    if want is True:
        _done(appointment_id, version)
        return "unchanged"
    if want is None:
        if link is not None and link.etag is not None:
            api_for(link.calendar_id).delete(link.event_id)
        _record(appointment_id, version, drop_link=link is not None)
        return "deleted" if link is not None and link.etag is not None else "unchanged"
    generation = link.generation if link is not None else 0
    if link is not None and link.etag is not None and link.calendar_id != want.calendar_id:
        api_for(link.calendar_id).delete(link.event_id)  # moved to another provider's calendar
        link, generation = None, generation + 1
    if link is None or link.etag is None:
        return _insert(api_for(want.calendar_id), appt, want, generation, version, now)
    if (link.pushed_start, link.pushed_end, link.pushed_summary) == (want.start, want.end, want.summary):
        _done(appointment_id, version)
        return "unchanged"
    return _patch(api_for(want.calendar_id), appt, want, link, version, now)


def _insert(
    api: CalendarApi, appt: Appointment, want: Wanted, generation: int, version: int | None, now: datetime
) -> str:
    event_id = event_id_for(appt.id, generation)
    body = event_body(appt.id, want) | {"id": event_id}
    try:
        ev = api.insert(body)
    except HttpError as exc:
        if status_of(exc) != 409:
            raise
        ev = api.get(event_id)  # a retried insert: the event is there already
        if appointment_id_of(ev) != appt.id:
            raise RuntimeError(f"event {event_id} on {api.calendar_id} belongs to something else") from exc
        link = CalendarLink(
            appointment_id=appt.id, provider_id=appt.provider_id, calendar_id=api.calendar_id,
            event_id=event_id, generation=generation, etag=ev.get("etag"), state="synced",
        )  # fmt: skip
        if ev.get("status") == "cancelled":
            conflicts.record_conflict(appt.id, link, ev, deleted=True, now=now)
            _done(appt.id, version)
            return "conflict"
        if google_times(ev) != (want.start, want.end) or ev.get("summary") != want.summary:
            ev = api.patch(event_id, event_body(appt.id, want), ev.get("etag"))
    _record(appt.id, version, api.calendar_id, event_id, generation, ev.get("etag"), want, appt.provider_id)
    return "inserted"


def _patch(
    api: CalendarApi, appt: Appointment, want: Wanted, link: CalendarLink, version: int | None, now: datetime
) -> str:
    body = event_body(appt.id, want)
    try:
        ev = api.patch(link.event_id, body, link.etag)
    except HttpError as exc:
        if status_of(exc) in (404, 410):
            conflicts.record_conflict(appt.id, link, {"status": "cancelled"}, deleted=True, now=now)
            _done(appt.id, version)
            return "conflict"
        if status_of(exc) != 412:
            raise
        ev = api.get(link.event_id)
        times = google_times(ev)
        if ev.get("status") == "cancelled" or times not in (
            (want.start, want.end),
            (link.pushed_start, link.pushed_end),
        ):
            conflicts.record_conflict(appt.id, link, ev, deleted=ev.get("status") == "cancelled", now=now)
            _done(appt.id, version)
            return "conflict"
        if times != (want.start, want.end) or ev.get("summary") != want.summary:
            # Google changed something we do not own (or our own earlier patch landed unrecorded).
            ev = api.patch(link.event_id, body, ev.get("etag"))
    _record(appt.id, version, link.calendar_id, link.event_id, link.generation, ev.get("etag"), want, appt.provider_id)
    return "updated"


def _done(appointment_id: int, version: int | None) -> None:
    _record(appointment_id, version)


def _record(
    appointment_id: int,
    version: int | None,
    calendar_id: str | None = None,
    event_id: str | None = None,
    generation: int = 0,
    etag: str | None = None,
    want: Wanted | None = None,
    provider_id: int | None = None,
    *,
    drop_link: bool = False,
) -> None:
    """Write what the push achieved, and take the outbox row off unless it changed meanwhile."""
    with unit_of_work() as s:
        appt = s.get(Appointment, appointment_id, with_for_update=True)
        if etag is not None and appt is not None:
            link = s.get(CalendarLink, appointment_id, with_for_update=True)
            if link is None:
                link = CalendarLink(appointment_id=appointment_id)
                s.add(link)
            link.provider_id, link.calendar_id, link.event_id = provider_id, calendar_id, event_id
            link.generation, link.etag, link.state = generation, etag, "synced"
            link.pushed_start, link.pushed_end, link.pushed_summary = want.start, want.end, want.summary
            link.google_etag = link.google_start = link.google_end = None
            appt.calendar_event_id, appt.calendar_etag = event_id, etag
            conflicts.clear(s, appointment_id, now=utcnow())  # a "keep ours" push has landed
        elif drop_link:
            link = s.get(CalendarLink, appointment_id, with_for_update=True)
            if link is not None:
                s.delete(link)
            if appt is not None:
                appt.calendar_event_id = appt.calendar_etag = None
        if version is not None:
            push = s.get(CalendarPush, appointment_id, with_for_update=True)
            if push is not None and push.version == version:
                s.delete(push)


def note_failure(appointment_id: int, error: str) -> None:
    with unit_of_work() as s:
        push = s.get(CalendarPush, appointment_id, with_for_update=True)
        if push is not None:
            push.attempts += 1
            push.last_error = error[:2000]


def pending_for(session: Session, provider_id: int, now: datetime, limit: int | None = None) -> list[int]:
    """Appointments to push for a provider: the outbox, then active appointments from now on that
    have no event yet (booked before the calendar was connected, or by an import)."""
    queued = list(
        session.scalars(
            select(CalendarPush.appointment_id)
            .where(CalendarPush.provider_id == provider_id)
            .order_by(CalendarPush.queued_at, CalendarPush.appointment_id)
            .limit(limit)
        )
    )
    missing = session.scalars(
        select(Appointment.id)
        .outerjoin(CalendarLink, CalendarLink.appointment_id == Appointment.id)
        .where(
            Appointment.provider_id == provider_id,
            Appointment.status.in_(sorted(ACTIVE)),
            Appointment.end_at > now,
            CalendarLink.appointment_id.is_(None),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(limit)
    )
    seen = set(queued)
    return queued + [a for a in missing if a not in seen]
