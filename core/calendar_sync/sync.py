"""One sync pass over every connected calendar: push what the outbox holds, then pull.

A calendar is synced by one process at a time: its CalendarSyncState row is the lease, claimed
with SELECT ... FOR UPDATE SKIP LOCKED and held (lease_owner, lease_until) for the calendar's
turn, so several workers on PostgreSQL share the calendars without syncing one twice. A lease
whose owner died on this machine (SIGKILL) is taken over at once; elsewhere it lapses after
LEASE. One calendar's failure does not stop the others: it is recorded on its state, an auth
failure (or FAILURES_BEFORE_BROKEN failed passes in a row) raises "calendar connection broken".
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

import httplib2
from googleapiclient.errors import HttpError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.base.clock import resolve_now, utcnow
from core.base.db import read_session, unit_of_work
from core.base.errors import NotFound
from core.base.jobs import job
from core.base.models import CalendarSyncState, Location, Provider, provider_locations
from core.calendar_sync import conflicts
from core.calendar_sync.client import AuthFailed, CalendarApi, NotConfigured, status_of, sync_enabled
from core.calendar_sync.models import CalendarSyncHealth
from core.calendar_sync.pull import Target, pull
from core.calendar_sync.push import load_many, note_failure, pending_for, push_appointment
from core.queue.items import clear_item, raise_item
from core.security.access import SYSTEM
from core.security.audit import record

LEASE = timedelta(minutes=15)
FAILURES_BEFORE_BROKEN = 3
LOAD_CHUNK = 200  # appointments read per query before their pushes
Progress = Callable[[int, int, str], None]


@dataclass
class Summary:
    calendars: int = 0
    synced: int = 0
    skipped: int = 0  # another worker holds the lease
    pushed: int = 0
    pulled: int = 0
    busy_blocks: int = 0
    conflicts: int = 0
    errors: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.synced}/{self.calendars} calendars synced, pushed {self.pushed}, pulled {self.pulled}, "
            f"busy blocks {self.busy_blocks}, conflicts {self.conflicts}, errors {self.errors}, "
            f"{self.requests} requests" + (f", {self.skipped} busy elsewhere" if self.skipped else "")
        )


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead(owner: str | None) -> bool:
    """The lease holder was a process on this machine that no longer exists."""
    try:
        host, pid, _ = (owner or "").split(":")
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
    except (ValueError, PermissionError):
        return False
    except ProcessLookupError:
        return True
    return False


def ensure_states(provider_email: str | None = None) -> list[Target]:
    """A sync state for every active provider (calendar: theirs, or their email); the targets
    that are not disconnected."""
    with unit_of_work() as s:
        query = select(Provider).where(Provider.active.is_(True)).order_by(Provider.id)
        if provider_email:
            query = query.where(func.lower(Provider.email) == provider_email.strip().lower())
        providers = list(s.scalars(query))
        if provider_email and not providers:
            raise NotFound(f"No active provider has the email {provider_email}.")
        known = set(s.scalars(select(CalendarSyncState.provider_id)))
        missing = [
            {"provider_id": p.id, "calendar_id": p.calendar, "status": "ok"} for p in providers if p.id not in known
        ]
        if missing:  # two workers starting at once both see them missing: the second inserts nothing
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            s.execute(insert(CalendarSyncState).values(missing).on_conflict_do_nothing(index_elements=["provider_id"]))
        states = {st.provider_id: st for st in s.scalars(select(CalendarSyncState))}
        zones = dict(
            s.execute(
                select(provider_locations.c.provider_id, func.min(Location.timezone))
                .join(Location, Location.id == provider_locations.c.location_id)
                .group_by(provider_locations.c.provider_id)
            ).all()
        )
        targets = []
        for p in providers:
            st = states[p.id]
            if st.calendar_id != p.calendar:  # a new calendar: start over
                s.execute(
                    update(CalendarSyncState)
                    .where(CalendarSyncState.provider_id == p.id)
                    .values(calendar_id=p.calendar, sync_token=None)
                )
            if st.status != "disconnected":
                targets.append(Target(p.id, p.calendar, zones.get(p.id) or "UTC", st.sync_token))
        return targets


def claim(provider_id: int, owner: str) -> bool:
    now = utcnow()
    with unit_of_work() as s:
        state = s.scalar(
            select(CalendarSyncState)
            .where(CalendarSyncState.provider_id == provider_id)
            .with_for_update(skip_locked=True)
        )
        if state is None:
            return False
        held = state.lease_until is not None and state.lease_until > now and state.lease_owner != owner
        if held and not _dead(state.lease_owner):
            return False
        state.lease_owner, state.lease_until = owner, now + LEASE
        return True


class LeaseLost(Exception):
    """Another worker holds this calendar now (our lease ran out): stop, it carries on."""


def renew(provider_id: int, owner: str) -> None:
    """Extend our lease during a long pass; LeaseLost if it is no longer ours."""
    with unit_of_work() as s:
        done = s.execute(
            update(CalendarSyncState)
            .where(CalendarSyncState.provider_id == provider_id, CalendarSyncState.lease_owner == owner)
            .values(lease_until=utcnow() + LEASE)
        )
    if done.rowcount != 1:
        raise LeaseLost(f"the lease on provider {provider_id}'s calendar passed to another worker")


def release(provider_id: int, owner: str) -> None:
    with unit_of_work() as s:
        s.execute(
            update(CalendarSyncState)
            .where(CalendarSyncState.provider_id == provider_id, CalendarSyncState.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


def sync_pass(
    now: datetime | None = None,
    *,
    provider_email: str | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Sync every connected calendar (or one provider's) once."""
    if not sync_enabled():
        raise NotConfigured(
            "Google Calendar is not configured: set GOOGLE_CREDENTIALS_FILE (see docs/google-calendar.md)."
        )
    now = resolve_now(now)
    owner = owner_id()
    targets = ensure_states(provider_email)
    with read_session() as s:
        emails = dict(s.execute(select(Provider.calendar_id, Provider.email)).all())
        emails |= {e: e for (e,) in s.execute(select(Provider.email))}
    summary = Summary(calendars=len(targets))
    for i, target in enumerate(targets):
        if progress:
            progress(i, len(targets), target.calendar_id)
        if not claim(target.provider_id, owner):
            summary.skipped += 1
            continue
        apis: dict[str, CalendarApi] = {}
        try:
            _sync_calendar(target, apis, emails, now, full, summary, partial(renew, target.provider_id, owner))
            summary.synced += 1
        except LeaseLost:
            summary.skipped += 1  # the worker that took it over finishes the calendar
        except Exception as exc:  # noqa: BLE001 - one calendar's failure must not stop the others
            summary.errors += 1
            summary.failures.append(f"{target.calendar_id}: {_reason(exc)}")
            _failed(target, _reason(exc), isinstance(exc, AuthFailed), now)
        finally:
            summary.requests += sum(a.requests for a in apis.values())
            release(target.provider_id, owner)
    if progress:
        progress(len(targets), len(targets), "done")
    return summary


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return f"Google answered {status_of(exc)}: {exc.reason or 'error'}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sync_calendar(
    target: Target, apis: dict, emails: dict, now: datetime, full: bool, summary: Summary, keep_lease: Callable
) -> None:
    def api_for(calendar_id: str) -> CalendarApi:
        if calendar_id not in apis:
            apis[calendar_id] = CalendarApi(calendar_id, subject=emails.get(calendar_id, calendar_id))
        return apis[calendar_id]

    api = api_for(target.calendar_id)
    with read_session() as s:
        pending = pending_for(s, target.provider_id, now)
        token = s.scalar(
            select(CalendarSyncState.sync_token).where(CalendarSyncState.provider_id == target.provider_id)
        )
    target = replace(target, sync_token=token)  # as the last pass (maybe another worker's) left it
    pushed = conflicts_found = 0
    loaded: dict = {}
    for n, appointment_id in enumerate(pending):
        if appointment_id not in loaded:
            if n:
                keep_lease()
            loaded = load_many(pending[n : n + LOAD_CHUNK])
        try:
            outcome = push_appointment(api_for, appointment_id, now, loaded[appointment_id])
        except HttpError as exc:
            if status_of(exc) >= 500 or status_of(exc) == 429:
                raise  # retries exhausted: Google is down for this calendar; try again next pass
            note_failure(appointment_id, _reason(exc))  # this one event is refused; the rest go on
            summary.errors += 1
            continue
        except (OSError, httplib2.HttpLib2Error) as exc:
            note_failure(appointment_id, _reason(exc))
            raise
        pushed += outcome in ("inserted", "updated", "deleted")
        conflicts_found += outcome == "conflict"
    result = pull(api, target, now, full=full, on_page=keep_lease)
    summary.pushed += pushed
    summary.pulled += result.pulled
    summary.busy_blocks += result.busy_blocks
    summary.conflicts += conflicts_found + result.conflicts
    figures = {
        "pushed": pushed, "pulled": result.pulled, "busy_blocks": result.busy_blocks,
        "conflicts": conflicts_found + result.conflicts, "full": result.full,
        "requests": sum(a.requests for a in apis.values()),
    }  # fmt: skip
    with unit_of_work() as s:
        health = _health(s, target.provider_id)
        health.consecutive_failures, health.last_attempt_at, health.last_summary = 0, now, figures
        clear_item(s, conflicts.key(conflicts.BROKEN, target.provider_id), now=now)
        if pushed or result.busy_blocks or figures["conflicts"]:
            record(s, SYSTEM, "calendar.sync", entity="calendar", entity_id=target.provider_id, after=figures)


def _health(s, provider_id: int) -> CalendarSyncHealth:
    health = s.get(CalendarSyncHealth, provider_id, with_for_update=True)
    if health is None:
        health = CalendarSyncHealth(provider_id=provider_id, consecutive_failures=0, last_summary={})
        s.add(health)
    return health


def _failed(target: Target, reason: str, auth: bool, now: datetime) -> None:
    with unit_of_work() as s:
        state = s.scalar(
            select(CalendarSyncState).where(CalendarSyncState.provider_id == target.provider_id).with_for_update()
        )
        state.status, state.last_error = "error", reason[:2000]
        health = _health(s, target.provider_id)
        health.consecutive_failures += 1
        health.last_attempt_at = now
        health.last_summary = {"error": reason}
        if auth or health.consecutive_failures >= FAILURES_BEFORE_BROKEN:
            location = s.scalar(
                select(func.min(provider_locations.c.location_id)).where(
                    provider_locations.c.provider_id == target.provider_id
                )
            )
            raise_item(
                s,
                kind=conflicts.BROKEN,
                dedupe_key=conflicts.key(conflicts.BROKEN, target.provider_id),
                now=now,
                location_id=location,
                provider_id=target.provider_id,
                details={
                    "calendar_id": target.calendar_id, "error": reason,
                    "failures": health.consecutive_failures, "auth": auth,
                },
            )  # fmt: skip
        record(
            s, SYSTEM, "calendar.sync", entity="calendar", entity_id=target.provider_id,
            outcome="error", reason=reason[:2000],
        )  # fmt: skip


@job("calendar-sync", every=timedelta(minutes=5))
def run(now: datetime) -> str:
    if not sync_enabled():
        return "Google Calendar not configured; nothing to sync"
    return sync_pass(now).line()
