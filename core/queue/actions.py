"""Fixing actions: the button on a queue item that removes its cause, per kind. A registry, like
the worker's jobs: a capability registers its actions where it lives, and the queue never
imports it (calendar sync registers "accept Google's version" and "keep ours"):

    from core.queue import kinds
    from core.queue.actions import fixing_action

    @fixing_action(kinds.CALENDAR_CHANGED, "accept_google", "Accept Google's version")
    def _accept(actor, item, *, now=None, **params):   # item: core.queue.reads.ItemView
        return accept_google_version(actor, item.appointment_id, now=now)

The module is listed in `core.bootstrap.FIXING_ACTIONS`; the marks of unlisted modules count for nothing.
`fix` runs the action's own service (its permission, transaction and audit), then records on
the item that this user fixed it ("Fixed: <label>": an admin touch), in a second transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, ValidationError
from core.base.registry import Registry
from core.queue import lifecycle, reads
from core.security import access
from core.security.access import A, Actor

SLOT = "slot"  # the page asks for a new time first: params start=..., provider_id=...


@dataclass(frozen=True)
class FixingAction:
    kind: str
    name: str
    label: str
    run: Callable[..., object]
    permission: str = A.QUEUE_RESOLVE  # what the action's own service checks, besides queue.resolve
    needs: str | None = None  # SLOT, or None for a plain button
    confirm: str | None = None  # a sentence to confirm first (destructive actions)
    help: str | None = None
    resolves: bool = True  # False: the item stays open until its cause goes (e.g. a link sent again)


ACTIONS: Registry[FixingAction] = Registry("fixing action")


def fixing_action(
    kind: str,
    name: str,
    label: str,
    *,
    permission: str = A.QUEUE_RESOLVE,
    needs: str | None = None,
    confirm: str | None = None,
    help: str | None = None,
    resolves: bool = True,
) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def mark(fn: Callable[..., object]) -> Callable[..., object]:
        return ACTIONS.mark(fn, FixingAction(kind, name, label, fn, permission, needs, confirm, help, resolves))

    return mark


def install(modules: list[ModuleType]) -> None:
    ACTIONS.install(modules)


def actions_for(kind: str) -> list[FixingAction]:
    by_name = {a.name: a for a in ACTIONS.entries() if a.kind == kind}  # a later mark of a name wins, as before
    return list(by_name.values())


def available(actor: Actor | None, item: reads.ItemView) -> list[FixingAction]:
    """The fixing actions this actor may take on this item (the services check again)."""
    if item.status == "resolved" or not access.can(actor, A.QUEUE_RESOLVE, item.location_id):
        return []
    return [a for a in actions_for(item.kind) if access.can(actor, a.permission, item.location_id)]


def fix(actor: Actor | None, item_id: int, name: str, *, now: datetime | None = None, **params) -> str:
    """Take fixing action `name` on the item; returns a sentence for the toast."""
    item = reads.get_item(actor, item_id, now=now)
    if item is None:
        lifecycle.refuse_unseen(actor, item_id)
    action = next((a for a in actions_for(item.kind) if a.name == name), None)
    if action is None:
        raise ValidationError(f"'{name}' is not an action for {item.label.lower()} items.")
    if item.status == "resolved":
        raise InvalidTransition(f"{item.label} #{item.id} is already resolved.")
    since = resolve_now(now)
    action.run(actor, item, now=now, **params)
    if not action.resolves:
        return f"{action.label.rstrip('…')}: done. The item stays open until its cause is gone."
    lifecycle.record_fix(actor, item.id, action.label.rstrip("…"), since=since, now=now)
    return f"{action.label.rstrip('…')}: done."
