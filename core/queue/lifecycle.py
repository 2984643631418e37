"""The life of a queue item: open -> assigned (to a user) -> snoozed until a time -> resolved
(with a resolution and a note); reopened by hand, or by detection when its cause comes back.

Every service here is one transaction over one or more items (bulk actions from the page), checks
A.QUEUE_RESOLVE in each item's location, and writes one audit row per item. A resolution by a
user (`resolved_by` set, resolution other than "resolved by itself") is an admin touch; so is a
fixing action taken from the queue (`record_fix`), whose resolution reads "Fixed: <action>".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound, ValidationError
from core.base.models import ExceptionItem, Location, User
from core.queue import kinds, snoozes
from core.queue.items import OPEN_STATES, RESOLVED_BY_ITSELF
from core.security import access, audit
from core.security.access import A, Actor
from core.security.service import Tx, reading, service

RESOLUTIONS = ("Fixed", "No action needed", "Handled outside the app")
NOTE_MAX = 2000
MAX_SNOOZE = timedelta(days=30)
FIXED = "Fixed: "


def snapshot(item: ExceptionItem) -> dict:
    return audit.jsonable(
        {
            "kind": item.kind, "status": item.status, "assigned_to": item.assigned_to,
            "snoozed_until": item.snoozed_until, "resolution": item.resolution, "note": item.note,
        }
    )  # fmt: skip


def _ids(item_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise ValidationError("Pick at least one item.")
    return ids  # locked in id order: two bulk actions never deadlock


def _each(tx: Tx, item_ids: Iterable[int]):
    for item_id in _ids(item_ids):
        item = tx.get(ExceptionItem, item_id, what="queue item")
        tx.require(item.location_id, entity_id=item.id)
        yield item


def refuse_unseen(actor: Actor | None, item_id: int) -> None:
    """An item the actor cannot see: "Unknown queue item #id." whether it is missing or at
    another location (that attempt recorded as a denial, as for any service)."""
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        item = tx.get(ExceptionItem, item_id, what="queue item", lock=False)
        tx.require(item.location_id, entity_id=item.id, action=A.QUEUE_VIEW)
    raise NotFound(f"Unknown queue item #{item_id}.")


def _still_open(item: ExceptionItem) -> None:
    if item.status not in OPEN_STATES:
        raise InvalidTransition(f"{kinds.label(item.kind)} #{item.id} is already resolved: reopen it first.")


def _note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"A note can be at most {NOTE_MAX} characters (this one has {len(note)}).")
    return note or None


def assign(actor: Actor | None, item_ids: Iterable[int], user_id: int | None, *, now: datetime | None = None) -> int:
    """Give the items to a user who may resolve them there (None: unassign). Returns how many."""
    item_ids = _ids(item_ids)
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        assignee = None
        if user_id is not None:
            user = tx.session.get(User, user_id)
            if user is None or not user.active:
                raise NotFound(f"Unknown or inactive user #{user_id}.")
            assignee = access.actor_for(user)
        for item in _each(tx, item_ids):
            _still_open(item)
            if assignee is not None and not access.can(assignee, A.QUEUE_RESOLVE, item.location_id):
                raise ValidationError(
                    f"{assignee.name or assignee.username} may not resolve queue items there; pick someone else."
                )
            before = snapshot(item)
            item.assigned_to = user_id
            if item.status != "snoozed":
                item.status = "assigned" if user_id is not None else "open"
            tx.audit(before=before, after=snapshot(item), entity_id=item.id, location_id=item.location_id,
                     reason="assigned" if user_id is not None else "unassigned")  # fmt: skip
        return len(item_ids)


def snooze(actor: Actor | None, item_ids: Iterable[int], until: datetime, *, now: datetime | None = None) -> int:
    """Hide the items until `until` (at most 30 days ahead, and never past the time an item is
    due while that is ahead: its appointment's start); detection wakes them."""
    now = resolve_now(now)
    if until.tzinfo is None:
        raise ValidationError("The snooze time needs a time zone.")
    if until <= now:
        raise ValidationError("Snooze until a time in the future.")
    if until - now > MAX_SNOOZE:
        raise ValidationError(f"Snooze for at most {MAX_SNOOZE.days} days.")
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        count = 0
        for item in _each(tx, item_ids):
            _still_open(item)
            latest = snoozes.latest(item.due_at, now)
            if latest is not None and until > latest:
                zone = tx.session.get(Location, item.location_id).timezone if item.location_id else None
                raise ValidationError(
                    f"{kinds.label(item.kind)} #{item.id} is due {snoozes.moment(latest, zone)}: "
                    "snooze it until before then."
                )
            before = snapshot(item)
            item.status, item.snoozed_until = "snoozed", until
            tx.audit(before=before, after=snapshot(item), entity_id=item.id, location_id=item.location_id,
                     reason="snoozed")  # fmt: skip
            count += 1
        return count


def resolve(
    actor: Actor | None,
    item_ids: Iterable[int],
    *,
    resolution: str,
    note: str | None = None,
    now: datetime | None = None,
) -> int:
    """Resolve the items by hand (an admin touch). The item stays resolved while its cause
    lasts; if the cause goes away and comes back, detection reopens it."""
    now = resolve_now(now)
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError("Say how the item was resolved.")
    if len(resolution) > 200 or resolution == RESOLVED_BY_ITSELF:
        raise ValidationError("Pick one of the resolutions offered.")
    note = _note(note)
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        count = 0
        for item in _each(tx, item_ids):
            _still_open(item)
            before = snapshot(item)
            _close(item, tx, resolution, note, now)
            tx.audit(before=before, after=snapshot(item), entity_id=item.id, location_id=item.location_id,
                     reason=resolution)  # fmt: skip
            count += 1
        return count


def _close(item: ExceptionItem, tx: Tx, resolution: str, note: str | None, now: datetime) -> None:
    item.status, item.resolved_at, item.resolution, item.note = "resolved", now, resolution, note
    item.resolved_by = tx.actor.user_id if tx.actor else None
    item.snoozed_until = None


def reopen(actor: Actor | None, item_id: int, *, note: str | None = None, now: datetime | None = None) -> None:
    """Open a resolved item again (it was resolved by mistake, or the fix did not hold)."""
    now = resolve_now(now)
    note = _note(note)
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        (item,) = list(_each(tx, [item_id]))
        if item.status in OPEN_STATES:
            raise InvalidTransition(f"{kinds.label(item.kind)} #{item.id} is not resolved.")
        before = snapshot(item)
        item.status = "assigned" if item.assigned_to else "open"
        item.resolved_at = item.resolved_by = item.resolution = None
        item.note, item.cause_active, item.detected_at = note, True, now
        item.reopen_count += 1
        tx.audit(before=before, after=snapshot(item), entity_id=item.id, location_id=item.location_id,
                 reason="reopened")  # fmt: skip


def record_fix(actor: Actor | None, item_id: int, label: str, *, since: datetime, now: datetime | None = None) -> bool:
    """A fixing action taken from the queue succeeded: the item is resolved by this user with
    "Fixed: <label>" (an admin touch), also when the fix already made it resolve itself (at or
    after `since`, in the fix's own transaction). False when someone else had resolved it."""
    now = resolve_now(now)
    with service(actor, A.QUEUE_RESOLVE, entity="exception") as tx:
        (item,) = list(_each(tx, [item_id]))
        by_the_fix = (
            item.resolution == RESOLVED_BY_ITSELF and item.resolved_at is not None and item.resolved_at >= since
        )
        if item.status not in OPEN_STATES and not by_the_fix:
            return False
        before = snapshot(item)
        _close(item, tx, FIXED + label, item.note, item.resolved_at if by_the_fix else now)
        tx.audit(before=before, after=snapshot(item), entity_id=item.id, location_id=item.location_id,
                 reason=FIXED + label)  # fmt: skip
        return True


def assignable_users(actor: Actor | None, location_id: int | None) -> list[tuple[int, str]]:
    """Active users who may resolve items at `location_id`, for the assign picker."""
    with reading(actor, A.QUEUE_RESOLVE, location_id) as session:
        users = session.scalars(select(User).where(User.active.is_(True), User.role.is_not(None)).order_by(User.name))
        return [
            (u.id, u.name or u.username) for u in users if access.can(access.actor_for(u), A.QUEUE_RESOLVE, location_id)
        ]
