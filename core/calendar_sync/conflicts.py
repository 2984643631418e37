"""Conflicts with Google: an app-owned event moved, retitled or deleted in Google Calendar.

Whose fields are whose (docs/google-calendar.md): the start, the end and the title are ours; a
change to any of them in Google is a conflict. Everything else on the event (description,
location, attendees, colour, reminders...) is Google's: we never send it, so it stays as edited.

Local data is never changed because of what Google says alone: the link goes to state `changed`
or `deleted` (no push goes over it), and the exceptions queue gets an item carrying both
versions, for a person to pick one (core.calendar_sync.fixes). When Google's event comes back to
our time, the item resolves itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.base.db import unit_of_work
from core.base.models import Appointment
from core.calendar_sync.client import google_times, rfc3339
from core.calendar_sync.models import CalendarLink
from core.queue.items import clear_item, raise_item

CHANGED, DELETED, BROKEN = "calendar_changed", "calendar_deleted", "calendar_broken"


def key(kind: str, subject_id: int) -> str:
    return f"{kind}:{subject_id}"


def details(appt: Appointment, link: CalendarLink, ev: dict, deleted: bool) -> dict:
    g_start, g_end = google_times(ev) if not deleted else (None, None)
    return {
        "calendar_id": link.calendar_id,
        "event_id": link.event_id,
        "deleted_in_google": deleted,
        "google_start": rfc3339(g_start) if g_start else None,
        "google_end": rfc3339(g_end) if g_end else None,
        "google_summary": ev.get("summary"),
        "ours_summary": link.pushed_summary,
        "google_all_day": "date" in (ev.get("start") or {}),
        "ours_start": rfc3339(appt.start_at),
        "ours_end": rfc3339(appt.end_at),
        "timezone": appt.location.timezone,
    }


def mark_conflict(session: Session, appt: Appointment, link: CalendarLink, ev: dict, *, deleted: bool, now: datetime):
    """In the caller's transaction: hold the link and raise (or refresh) the queue item."""
    link.state = "deleted" if deleted else "changed"
    link.google_etag = ev.get("etag")
    link.google_start, link.google_end = google_times(ev) if not deleted else (None, None)
    title = ev.get("summary")
    link.google_summary = None if deleted or title == link.pushed_summary else (title or "")[:255]
    kind = DELETED if deleted else CHANGED
    other = CHANGED if deleted else DELETED
    clear_item(session, key(other, appt.id), now=now)
    raise_item(
        session,
        kind=kind,
        dedupe_key=key(kind, appt.id),
        now=now,
        location_id=appt.location_id,
        appointment_id=appt.id,
        provider_id=appt.provider_id,
        details=details(appt, link, ev, deleted),
    )


def record_conflict(appointment_id: int, link: CalendarLink, ev: dict, *, deleted: bool, now: datetime) -> None:
    """`mark_conflict` in a transaction of its own (for the push side, which holds no session)."""
    with unit_of_work() as s:
        appt = s.get(Appointment, appointment_id, with_for_update=True)
        if appt is None:
            return
        row = s.get(CalendarLink, appointment_id, with_for_update=True)
        if row is None:
            row = CalendarLink(
                appointment_id=appointment_id, provider_id=link.provider_id, calendar_id=link.calendar_id,
                event_id=link.event_id, generation=link.generation, etag=link.etag,
            )  # fmt: skip
            s.add(row)
        mark_conflict(s, appt, row, ev, deleted=deleted, now=now)


def title_is_ours(link: CalendarLink, ev: dict) -> bool:
    """The event's title is the one we pushed, or one a person kept from Google."""
    title = ev.get("summary")
    kept = link.state == "synced" and link.google_summary is not None
    return title == link.pushed_summary or (kept and title == link.google_summary)


def settle(
    session: Session, appt: Appointment, link: CalendarLink, etag: str | None, now: datetime, *, title: object = ...
) -> None:
    """Google agrees with us again: the link is synced at this ETag and open items clear. With
    `title` (the event's title now): Google's title is forgotten once it is ours again."""
    if title is not ... and title == link.pushed_summary:
        link.google_summary = None
    link.state, link.etag = "synced", etag or link.etag
    link.pushed_start, link.pushed_end = link.google_start or appt.start_at, link.google_end or appt.end_at
    link.google_etag = link.google_start = link.google_end = None
    appt.calendar_etag = link.etag
    clear_item(session, key(CHANGED, appt.id), now=now)
    clear_item(session, key(DELETED, appt.id), now=now)


def clear(session: Session, appointment_id: int, *, now: datetime) -> None:
    clear_item(session, key(CHANGED, appointment_id), now=now)
    clear_item(session, key(DELETED, appointment_id), now=now)
