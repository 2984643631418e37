"""In-transaction domain events.

A service publishes what happened (`publish(session, event)`) and every handler subscribed to the
event's class (or one of its base classes) runs at once, in the same session and so in the same
transaction: a refused booking rolls back its waitlist offers, queue items and outbox rows with it.
The publisher knows none of its subscribers.

Handlers register with `@subscribe(EventClass)` in their own capability. `core.bootstrap`
imports every module that subscribes; it is loaded on the first publish, so no entry point (page,
CLI, worker, test) can forget it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E")
Handler = Callable[[Session, Any], None]

_handlers: dict[type, list[Handler]] = {}
_loaded = False


def subscribe(event_type: type[E]) -> Callable[[Callable[[Session, E], None]], Callable[[Session, E], None]]:
    """Decorator: run the handler for every published event of `event_type` (subclasses too)."""

    def register(handler: Callable[[Session, E], None]) -> Callable[[Session, E], None]:
        handlers = _handlers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)
        return handler

    return register


def handlers_for(event_type: type) -> list[Handler]:
    _load_subscribers()
    found: list[Handler] = []
    for klass in event_type.__mro__:
        found.extend(_handlers.get(klass, ()))
    return found


def publish(session: Session, event: object) -> None:
    """Run every handler of `event` now, inside the caller's transaction."""
    for handler in handlers_for(type(event)):
        handler(session, event)


def _load_subscribers() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("core.bootstrap")
