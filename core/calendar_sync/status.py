"""What the admin page shows and does: per-provider sync status, connect/disconnect, sync now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from core.base.errors import InvalidTransition
from core.base.models import BusyBlock, CalendarSyncState, ExceptionItem, Provider
from core.calendar_sync import conflicts
from core.calendar_sync.client import sync_enabled
from core.calendar_sync.models import CalendarPush, CalendarSyncHealth
from core.calendar_sync.sync import Progress, Summary, ensure_states, sync_pass
from core.queue.items import OPEN_STATES
from core.security.access import A, Actor
from core.security.service import reading, service


@dataclass(frozen=True)
class CalendarStatus:
    provider_id: int
    provider: str
    calendar_id: str
    status: str  # ok | error | disconnected | never synced
    last_success: datetime | None
    last_error: str | None
    failures: int
    pending_pushes: int
    open_conflicts: int
    busy_blocks: int
    syncing_now: bool


def configured() -> bool:
    return sync_enabled()


def calendar_status(actor: Actor | None, *, now: datetime) -> list[CalendarStatus]:
    with reading(actor, A.CALENDAR_MANAGE, entity="calendar") as s:

        def counts(query) -> dict[int, int]:
            return dict(s.execute(query).all())

        pending = counts(select(CalendarPush.provider_id, func.count()).group_by(CalendarPush.provider_id))
        busy = counts(select(BusyBlock.provider_id, func.count()).group_by(BusyBlock.provider_id))
        open_conflicts = counts(
            select(ExceptionItem.provider_id, func.count())
            .where(
                ExceptionItem.kind.in_([conflicts.CHANGED, conflicts.DELETED]),
                ExceptionItem.status.in_(OPEN_STATES),
            )
            .group_by(ExceptionItem.provider_id)
        )
        rows = s.execute(
            select(Provider, CalendarSyncState, CalendarSyncHealth.consecutive_failures)
            .outerjoin(CalendarSyncState, CalendarSyncState.provider_id == Provider.id)
            .outerjoin(CalendarSyncHealth, CalendarSyncHealth.provider_id == Provider.id)
            .where(Provider.active.is_(True))
            .order_by(Provider.name)
        ).all()
        out = []
        for p, st, failures in rows:
            status = st.status if st is not None else "never synced"
            if st is not None and st.status == "ok" and st.last_synced_at is None:
                status = "never synced"
            out.append(
                CalendarStatus(
                    provider_id=p.id, provider=p.name, calendar_id=st.calendar_id if st else p.calendar,
                    status=status, last_success=st.last_synced_at if st else None,
                    last_error=st.last_error if st else None, failures=failures or 0,
                    pending_pushes=pending.get(p.id, 0), open_conflicts=open_conflicts.get(p.id, 0),
                    busy_blocks=busy.get(p.id, 0),
                    syncing_now=bool(st and st.lease_until and st.lease_until > now),
                )
            )  # fmt: skip
        return out


def set_connected(actor: Actor | None, provider_id: int, connected: bool) -> None:
    """Connect (sync from the next pass) or disconnect (leave alone) a provider's calendar."""
    ensure_states()
    with service(actor, A.CALENDAR_MANAGE, entity="calendar", entity_id=provider_id, location_id=None) as tx:
        state = tx.session.scalar(
            select(CalendarSyncState).where(CalendarSyncState.provider_id == provider_id).with_for_update()
        )
        if state is None:
            raise InvalidTransition("This provider is not active; activate them before connecting a calendar.")
        before = {"status": state.status}
        if connected == (state.status != "disconnected"):
            return
        state.status = "ok" if connected else "disconnected"
        if connected:
            state.sync_token, state.last_error = None, None  # a fresh full pass
        tx.audit(before=before, after={"status": state.status}, reason="connected" if connected else "disconnected")


def sync_now(
    actor: Actor | None, *, provider_email: str | None = None, full: bool = False, progress: Progress | None = None
) -> Summary:
    """The admin's "Sync now": the worker's pass, at once (recorded in the audit log)."""
    with service(actor, A.CALENDAR_MANAGE, entity="calendar", location_id=None) as tx:
        tx.audit(action="calendar.sync_now", after={"provider": provider_email, "full": full})
    return sync_pass(provider_email=provider_email, full=full, progress=progress)
