"""Pull: what changed in a provider's Google Calendar since the last pass.

Incremental with the stored syncToken, following nextPageToken to the end; each page is applied
in a transaction of its own (applying a page twice changes nothing), and the new token is stored
only in the transaction that ends the pass, so a pass killed half way is simply done again. With
no token, with --full, or when Google answers 410 to the token, a full pass replaces the local
copy: busy blocks not in it are removed at the end.

- Google-only events become busy blocks (transparent and cancelled ones do not; all-day events
  cover the provider's local days [start date, end date), the end date being exclusive).
- App-owned events (ours: `extendedProperties.private.appointment_id`) are compared with the
  appointment; a move, a new title or a deletion in Google becomes a queue item
  (core.calendar_sync.conflicts), never a change to the appointment. Other edits (description,
  location, attendees...) touch fields we do not own: they are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from googleapiclient.errors import HttpError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.base.db import unit_of_work
from core.base.models import OPEN_STATUSES, Appointment, BusyBlock, CalendarSyncState, Status
from core.base.tz import local_day_bounds
from core.calendar_sync import conflicts
from core.calendar_sync.client import CalendarApi, appointment_id_of, event_id_for, event_times, google_times, status_of
from core.calendar_sync.models import CalendarLink

FULL_SYNC_PAST = timedelta(days=7)  # a full pass lists events ending after now minus this
ACTIVE = {s.value for s in OPEN_STATUSES}


@dataclass
class PullResult:
    pulled: int = 0
    busy_blocks: int = 0
    conflicts: int = 0
    full: bool = False
    seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Target:
    provider_id: int
    calendar_id: str
    timezone: str
    sync_token: str | None


def pull(
    api: CalendarApi, target: Target, now: datetime, *, full: bool = False, on_page: Callable[[], None] | None = None
) -> PullResult:
    """`on_page` runs between pages (the caller renews its lease there)."""
    token = None if full else target.sync_token
    try:
        return _pass(api, target, token, now, on_page)
    except HttpError as exc:
        if token is None or status_of(exc) != 410:
            raise
    return _pass(api, target, None, now, on_page)  # the token expired: a full resync


def _pass(api: CalendarApi, target: Target, token: str | None, now: datetime, on_page) -> PullResult:
    result = PullResult(full=token is None)
    next_token = None
    for n, page in enumerate(api.pages(token, now - FULL_SYNC_PAST)):
        if n and on_page is not None:
            on_page()
        items = page.get("items", [])
        if items:
            with unit_of_work() as s:
                apply_page(s, target, items, now, result)
        next_token = page.get("nextSyncToken") or next_token
    with unit_of_work() as s:
        if result.full:
            result.busy_blocks += _drop_unseen(s, target, result.seen)
        state = s.scalar(
            select(CalendarSyncState).where(CalendarSyncState.provider_id == target.provider_id).with_for_update()
        )
        state.sync_token, state.last_synced_at = next_token, now
        state.status, state.last_error = "ok", None
    return result


def apply_page(s: Session, target: Target, items: list[dict], now: datetime, result: PullResult) -> None:
    ids = [ev["id"] for ev in items]
    links = {
        link.event_id: link
        for link in s.scalars(
            select(CalendarLink)
            .where(CalendarLink.calendar_id == target.calendar_id, CalendarLink.event_id.in_(ids))
            .with_for_update()
        )
    }
    blocks = {
        b.google_event_id: b
        for b in s.scalars(
            select(BusyBlock).where(BusyBlock.calendar_id == target.calendar_id, BusyBlock.google_event_id.in_(ids))
        )
    }
    for ev in items:
        result.pulled += 1
        result.seen.add(ev["id"])
        link = links.get(ev["id"])
        if link is not None:
            result.conflicts += _app_event(s, link, ev, now)
        elif appointment_id_of(ev) is not None and _looks_ours(ev):
            _unrecorded(s, target, ev)
        else:
            result.busy_blocks += _busy(s, target, ev, blocks.get(ev["id"]))


def _looks_ours(ev: dict) -> bool:
    """An event id we could have made for its appointment (any generation up to a sane bound)."""
    appt_id = appointment_id_of(ev)
    return any(ev["id"] == event_id_for(appt_id, g) for g in range(64))


def _unrecorded(s: Session, target: Target, ev: dict) -> None:
    """Our own event whose insert was never recorded (the push was killed after Google committed
    it): adopt it when its appointment has no event yet; the next push brings it in line."""
    appt_id = appointment_id_of(ev)
    if ev.get("status") == "cancelled" or s.get(CalendarLink, appt_id) is not None:
        return
    appt = s.get(Appointment, appt_id, with_for_update=True)
    if appt is None or appt.provider_id != target.provider_id or appt.status not in ACTIVE:
        return
    start, end = google_times(ev)
    generation = next(g for g in range(64) if ev["id"] == event_id_for(appt_id, g))
    s.add(
        CalendarLink(
            appointment_id=appt_id, provider_id=target.provider_id, calendar_id=target.calendar_id,
            event_id=ev["id"], generation=generation, etag=ev.get("etag"), state="synced",
            pushed_start=start, pushed_end=end, pushed_summary=ev.get("summary"),
        )
    )  # fmt: skip
    appt.calendar_event_id, appt.calendar_etag = ev["id"], ev.get("etag")
    s.flush()


def _app_event(s: Session, link: CalendarLink, ev: dict, now: datetime) -> int:
    """Compare one of our events with its appointment; 1 when a conflict was raised."""
    if ev.get("etag") and ev.get("etag") == link.etag:
        return 0  # the echo of our own write
    appt = s.get(Appointment, link.appointment_id, with_for_update=True)
    ahead = appt.status in ACTIVE and appt.end_at > now
    if ev.get("status") == "cancelled":
        if appt.status == Status.CANCELLED.value:
            s.delete(link)  # we wanted it gone too
            appt.calendar_event_id = appt.calendar_etag = None
            return 0
        if ahead and not (link.state == "deleted" and link.google_etag == ev.get("etag")):
            conflicts.mark_conflict(s, appt, link, ev, deleted=True, now=now)
            return 1
        return 0
    times = google_times(ev)
    if not ahead:
        link.etag = appt.calendar_etag = ev.get("etag")  # history, or a deletion of ours still to come
        return 0
    if link.state == "changed" and link.google_etag == ev.get("etag"):
        return 0  # the conflict already waiting in the queue
    ours = conflicts.title_is_ours(link, ev)
    if times == (appt.start_at, appt.end_at) and ours:
        conflicts.settle(s, appt, link, ev.get("etag"), now, title=ev.get("summary"))
        return 0
    if link.state == "synced" and times == (link.pushed_start, link.pushed_end) and ours:
        link.etag = appt.calendar_etag = ev.get("etag")  # Google changed what we do not own
        return 0
    conflicts.mark_conflict(s, appt, link, ev, deleted=False, now=now)
    return 1


def _busy(s: Session, target: Target, ev: dict, block: BusyBlock | None) -> int:
    times = event_times(ev)
    keep = ev.get("status") != "cancelled" and ev.get("transparency") != "transparent" and times is not None
    if not keep:
        if block is not None:
            s.delete(block)
            return 1
        return 0
    start, end, first, last = times
    if first is not None:
        start, end = local_day_bounds(first, target.timezone)[0], local_day_bounds(last, target.timezone)[0]
    if end <= start:
        if block is not None:
            s.delete(block)
            return 1
        return 0
    if block is None:
        block = BusyBlock(provider_id=target.provider_id, calendar_id=target.calendar_id, google_event_id=ev["id"])
        s.add(block)
    elif block.etag == ev.get("etag"):
        return 0
    block.start_at, block.end_at, block.all_day_start, block.all_day_end = start, end, first, last
    block.summary = (ev.get("summary") or "")[:255] or None
    block.etag = ev.get("etag")
    return 1


def _drop_unseen(s: Session, target: Target, seen: set[str]) -> int:
    rows = s.execute(
        select(BusyBlock.id, BusyBlock.google_event_id).where(BusyBlock.calendar_id == target.calendar_id)
    ).all()
    gone = [r.id for r in rows if r.google_event_id not in seen]
    for i in range(0, len(gone), 500):
        s.execute(delete(BusyBlock).where(BusyBlock.id.in_(gone[i : i + 500])))
    return len(gone)
