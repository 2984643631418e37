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
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.clock import utcnow
from core.base.db import read_session, unit_of_work
from core.base.models import OPEN_STATUSES, Appointment, AppointmentType, Customer, Location, Provider, Status
from core.calendar_sync import conflicts
from core.calendar_sync.client import CalendarApi, appointment_id_of, event_id_for, google_times, rfc3339, status_of
from core.calendar_sync.models import CalendarLink, CalendarPush
from core.calendar_sync.summary import summary_for
from core.scheduling.events import AppointmentChanged

ACTIVE = {s.value for s in OPEN_STATUSES}


@subscribe(AppointmentChanged)
def _queue_push(session: Session, event: AppointmentChanged) -> None:
    """Queue a push in the booking's transaction (one outbox row per appointment)."""
    past = event.after.end <= event.at and event.after.status != Status.CANCELLED.value
    if past and session.get(CalendarLink, event.appointment_id) is None:
        return  # a past appointment without an event: nothing to show in Google
    queue_push(session, event.appointment_id, event.after.provider_id, event.at)


def queue_push(
    session: Session, appointment_id: int, provider_id: int, now: datetime, *, resolves_conflict: bool = False
) -> None:
    row = session.get(CalendarPush, appointment_id, with_for_update=True)
    if row is None:
        row = CalendarPush(appointment_id=appointment_id, provider_id=provider_id, version=1, queued_at=now)
        row.resolves_conflict = resolves_conflict
        session.add(row)
    else:
        row.provider_id, row.version, row.queued_at = provider_id, row.version + 1, now
        row.resolves_conflict = row.resolves_conflict or resolves_conflict
    session.flush()


@dataclass(frozen=True)
class Wanted:
    calendar_id: str
    start: datetime
    end: datetime
    summary: str
    timezone: str


@dataclass(frozen=True)
class AppointmentView:
    """What a push needs of an appointment, read in one query for many at once."""

    id: int
    status: str
    start_at: datetime
    end_at: datetime
    provider_id: int
    calendar_id: str
    summary: str
    timezone: str


@dataclass(frozen=True)
class Loaded:
    appt: AppointmentView | None
    link: CalendarLink | None
    version: int | None
    resolves_conflict: bool = False


def wanted(appt: AppointmentView, now: datetime) -> Wanted | None | bool:
    """The event the appointment should have; None: no event (cancelled); True: leave the
    event as it is (over, completed, no-show: history stays in the calendar)."""
    if appt.status == Status.CANCELLED.value:
        return None
    if appt.status not in ACTIVE or appt.end_at <= now:
        return True
    return Wanted(appt.calendar_id, appt.start_at, appt.end_at, appt.summary, appt.timezone)


def event_body(appt_id: int, w: Wanted) -> dict:
    return {
        "summary": w.summary,
        "start": {"dateTime": rfc3339(w.start), "timeZone": w.timezone},
        "end": {"dateTime": rfc3339(w.end), "timeZone": w.timezone},
        "extendedProperties": {"private": {"appointment_id": str(appt_id)}},
    }


def load_many(appointment_ids: list[int]) -> dict[int, Loaded]:
    """Appointments, their links and outbox rows, in three queries."""
    if not appointment_ids:
        return {}
    with read_session() as s:
        rows = s.execute(
            select(
                Appointment.id,
                Appointment.status,
                Appointment.start_at,
                Appointment.end_at,
                Appointment.provider_id,
                Provider.calendar_id,
                Provider.email,
                Location.timezone,
                Location.name.label("location"),
                AppointmentType.name.label("type"),
                Customer.name.label("customer"),
            )  # fmt: skip
            .join(Provider, Provider.id == Appointment.provider_id)
            .join(Location, Location.id == Appointment.location_id)
            .join(AppointmentType, AppointmentType.id == Appointment.type_id)
            .outerjoin(Customer, Customer.id == Appointment.customer_id)
            .where(Appointment.id.in_(appointment_ids))
        ).all()
        links = {
            link.appointment_id: link
            for link in s.scalars(select(CalendarLink).where(CalendarLink.appointment_id.in_(appointment_ids)))
        }
        pushes = {
            r.appointment_id: r
            for r in s.execute(
                select(CalendarPush.appointment_id, CalendarPush.version, CalendarPush.resolves_conflict).where(
                    CalendarPush.appointment_id.in_(appointment_ids)
                )
            )
        }
        s.expunge_all()  # keep the links' values past the read session's rollback
    views = {
        r.id: AppointmentView(
            r.id,
            r.status,
            r.start_at,
            r.end_at,
            r.provider_id,
            r.calendar_id or r.email,
            summary_for(r.type, r.customer, r.location),
            r.timezone,
        )  # fmt: skip
        for r in rows
    }
    return {
        i: Loaded(
            views.get(i),
            links.get(i),
            pushes[i].version if i in pushes else None,
            bool(pushes[i].resolves_conflict) if i in pushes else False,
        )  # fmt: skip
        for i in appointment_ids
    }


def push_appointment(api_for, appointment_id: int, now: datetime, loaded: Loaded | None = None) -> str:
    """Bring one appointment's event in line with it. `api_for(calendar_id)` gives the client
    for a calendar. Returns what happened: inserted, updated, deleted, unchanged, held, conflict."""
    loaded = loaded or load_many([appointment_id])[appointment_id]
    appt, link, version = loaded.appt, loaded.link, loaded.version
    done = Outcome(appointment_id, version, loaded.resolves_conflict)
    if appt is None:
        _record(done)
        return "unchanged"
    if link is not None and link.state != "synced":
        _record(done)  # the queue item's fixing action queues a new push
        return "held"
    want = wanted(appt, now)
    if want is True:
        _record(done)
        return "unchanged"
    if want is None:
        if link is not None and link.etag is not None:
            api_for(link.calendar_id).delete(link.event_id)
        _record(done, drop_link=link is not None)
        return "deleted" if link is not None and link.etag is not None else "unchanged"
    generation = link.generation if link is not None else 0
    if link is not None and link.etag is not None and link.calendar_id != want.calendar_id:
        api_for(link.calendar_id).delete(link.event_id)  # moved to another provider's calendar
        link, generation = None, generation + 1
    if link is None or link.etag is None:
        return _insert(api_for(want.calendar_id), appt, want, generation, done, now)
    if (link.pushed_start, link.pushed_end, link.pushed_summary) == (want.start, want.end, want.summary):
        _record(done)
        return "unchanged"
    return _patch(api_for(want.calendar_id), appt, want, link, done, now)


@dataclass(frozen=True)
class Outcome:
    appointment_id: int
    version: int | None
    resolves_conflict: bool


def _insert(
    api: CalendarApi, appt: AppointmentView, want: Wanted, generation: int, done: Outcome, now: datetime
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
            _record(done)
            return "conflict"
        if google_times(ev) != (want.start, want.end) or ev.get("summary") != want.summary:
            ev = api.patch(event_id, event_body(appt.id, want), ev.get("etag"))
    _record(done, Written(api.calendar_id, event_id, generation, ev.get("etag"), want, appt.provider_id))
    return "inserted"


def _patch(
    api: CalendarApi, appt: AppointmentView, want: Wanted, link: CalendarLink, done: Outcome, now: datetime
) -> str:
    body = event_body(appt.id, want)
    try:
        ev = api.patch(link.event_id, body, link.etag)
    except HttpError as exc:
        if status_of(exc) in (404, 410):
            conflicts.record_conflict(appt.id, link, {"status": "cancelled"}, deleted=True, now=now)
            _record(done)
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
            _record(done)
            return "conflict"
        if times != (want.start, want.end) or ev.get("summary") != want.summary:
            # Google changed something we do not own (or our own earlier patch landed unrecorded).
            ev = api.patch(link.event_id, body, ev.get("etag"))
    _record(done, Written(link.calendar_id, link.event_id, link.generation, ev.get("etag"), want, appt.provider_id))
    return "updated"


@dataclass(frozen=True)
class Written:
    calendar_id: str
    event_id: str
    generation: int
    etag: str
    want: Wanted
    provider_id: int


def _record(done: Outcome, written: Written | None = None, *, drop_link: bool = False) -> None:
    """Write what the push achieved, and take the outbox row off unless it changed meanwhile
    (plain statements: this runs once per pushed appointment)."""
    aid = done.appointment_id
    with unit_of_work() as s:
        if written is not None:
            w = written.want
            values = {
                "provider_id": written.provider_id, "calendar_id": written.calendar_id,
                "event_id": written.event_id, "generation": written.generation, "etag": written.etag,
                "state": "synced", "pushed_start": w.start, "pushed_end": w.end, "pushed_summary": w.summary,
                "google_etag": None, "google_start": None, "google_end": None, "updated_at": utcnow(),
            }  # fmt: skip
            changed = s.execute(update(CalendarLink).where(CalendarLink.appointment_id == aid).values(**values))
            if changed.rowcount == 0:
                s.execute(insert(CalendarLink).values(appointment_id=aid, **values))
            s.execute(
                update(Appointment)
                .where(Appointment.id == aid)
                .values(calendar_event_id=written.event_id, calendar_etag=written.etag)
            )
            if done.resolves_conflict:
                conflicts.clear(s, aid, now=utcnow())  # a "keep ours" push has landed
        elif drop_link:
            s.execute(delete(CalendarLink).where(CalendarLink.appointment_id == aid))
            s.execute(
                update(Appointment).where(Appointment.id == aid).values(calendar_event_id=None, calendar_etag=None)
            )
        if done.version is not None:
            s.execute(
                delete(CalendarPush).where(CalendarPush.appointment_id == aid, CalendarPush.version == done.version)
            )


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
