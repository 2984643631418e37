"""The two fixing actions of a calendar conflict, offered on its queue item:

- accept Google's version: a move in Google becomes a reschedule of the appointment to Google's
  start (the appointment keeps its type's length; the event is then given that length back); a
  deletion in Google becomes a cancellation. Both are the booking services themselves, so the
  usual rules, history, audit and events apply; the item resolves itself in that transaction.
- keep ours (push it back): the event is overwritten with the appointment (If-Match of the
  Google version the person saw, so a newer change in Google opens a new conflict instead of
  being lost) or, after a deletion, inserted again as a new event. The push is queued in the
  same audited transaction; the item resolves itself when the push lands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound
from core.base.models import Appointment, Status
from core.calendar_sync import conflicts
from core.calendar_sync.client import event_id_for
from core.calendar_sync.models import CalendarLink
from core.calendar_sync.push import queue_push
from core.scheduling import booking
from core.scheduling.events import AppointmentChanged
from core.security.access import A, Actor
from core.security.service import check, reading, service

DELETED_REASON = "Deleted in Google Calendar"


def _conflict(actor: Actor | None, appointment_id: int) -> CalendarLink:
    with reading(actor, A.QUEUE_VIEW, entity="appointment", entity_id=appointment_id) as s:
        appt = s.get(Appointment, appointment_id)
        link = s.get(CalendarLink, appointment_id)
        if appt is None:
            raise NotFound(f"Unknown appointment #{appointment_id}.")
        check(actor, A.QUEUE_RESOLVE, appt.location_id, entity="appointment", entity_id=appointment_id)
        if link is None or link.state == "synced":
            raise InvalidTransition("Google Calendar and this appointment agree now; there is nothing to fix.")
        s.expunge(link)
        return link


def accept_google_version(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    """Take Google's side: reschedule to the event's start, or cancel when it was deleted."""
    now = resolve_now(now)
    link = _conflict(actor, appointment_id)
    if link.state == "deleted":
        return booking.cancel(actor, appointment_id, reason=DELETED_REASON, now=now)
    if link.google_start is None:
        raise InvalidTransition("Google's event is now an all-day event; move it in Google or keep ours.")
    return booking.reschedule(actor, appointment_id, new_start=link.google_start, now=now)


def keep_ours(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> None:
    """Push the appointment back over Google's version (or re-create a deleted event)."""
    now = resolve_now(now)
    with service(actor, A.QUEUE_RESOLVE, entity="appointment", entity_id=appointment_id) as tx:
        appt = tx.get(Appointment, appointment_id, what="appointment")
        tx.require(appt.location_id, entity_id=appt.id)
        link = tx.session.get(CalendarLink, appointment_id, with_for_update=True)
        if link is None or link.state == "synced":
            raise InvalidTransition("Google Calendar and this appointment agree now; there is nothing to fix.")
        before = {"state": link.state, "event_id": link.event_id, "google_start": link.google_start}
        if link.state == "deleted":
            link.generation += 1
            link.event_id = event_id_for(appointment_id, link.generation)
            link.etag = link.pushed_start = link.pushed_end = link.pushed_summary = None
        else:
            link.etag = link.google_etag
            link.pushed_start, link.pushed_end = link.google_start, link.google_end
        link.state = "synced"
        link.google_etag = link.google_start = link.google_end = None
        queue_push(tx.session, appointment_id, appt.provider_id, now, resolves_conflict=True)
        tx.audit(
            before=before,
            after={"state": "synced", "event_id": link.event_id, "start": appt.start_at},
            reason="Kept our version: pushing it back to Google Calendar",
        )


@subscribe(AppointmentChanged)
def _settle_on_change(session: Session, event: AppointmentChanged) -> None:
    """A staff change that agrees with Google (a reschedule to Google's start, a cancellation
    of an event deleted in Google) ends the conflict in the same transaction."""
    link = session.get(CalendarLink, event.appointment_id)
    if link is None or link.state == "synced":
        return
    appt = session.get(Appointment, event.appointment_id)
    if link.state == "deleted" and event.after.status == Status.CANCELLED.value:
        session.delete(link)
        appt.calendar_event_id = appt.calendar_etag = None
        conflicts.clear(session, appt.id, now=event.at)
    elif link.state == "changed" and link.google_start is not None and event.after.start == link.google_start:
        conflicts.settle(session, appt, link, link.google_etag, event.at)
