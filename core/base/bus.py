"""In-transaction domain events.

A service publishes what happened (`publish(session, event)`) and every handler subscribed to the
event's class (or one of its base classes) runs at once, in the same session and so in the same
transaction: a refused booking rolls back its waitlist offers, queue items and outbox rows with it.
The publisher knows none of its subscribers.

Handlers are marked with `@subscribe(EventClass)` in their own capability; `core.bootstrap` lists
the modules that hold them, in the order their handlers run, and installs them once at start.
For one event, the handlers of its own class run first, then those of its base classes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.base.registry import Registry

E = TypeVar("E")
Handler = Callable[[Session, Any], None]

HANDLERS: Registry[tuple[type, Handler]] = Registry("event handler")
_index: dict[type, list[Handler]] = {}
_index_version = -1


def subscribe(event_type: type[E]) -> Callable[[Callable[[Session, E], None]], Callable[[Session, E], None]]:
    """Decorator: mark the handler for every published event of `event_type` (subclasses too)."""

    def mark(handler: Callable[[Session, E], None]) -> Callable[[Session, E], None]:
        return HANDLERS.mark(handler, (event_type, handler))

    return mark


def install(modules: list[ModuleType]) -> None:
    HANDLERS.install(modules)


def handlers_for(event_type: type) -> list[Handler]:
    global _index, _index_version
    if _index_version != HANDLERS.version or not HANDLERS.installed:
        index: dict[type, list[Handler]] = {}
        for klass, handler in HANDLERS.entries():
            if handler not in index.setdefault(klass, []):
                index[klass].append(handler)
        _index, _index_version = index, HANDLERS.version
    found: list[Handler] = []
    for klass in event_type.__mro__:
        found.extend(_index.get(klass, ()))
    return found


def publish(session: Session, event: object) -> None:
    """Run every handler of `event` now, inside the caller's transaction."""
    for handler in handlers_for(type(event)):
        handler(session, event)
