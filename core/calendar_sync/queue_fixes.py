"""The calendar conflicts' fixing actions, registered with the exceptions queue's registry
(core.queue.actions, from the queue branch): the page offers them on "Changed in Google" and
"Deleted in Google" items, and `core.queue.actions.fix` runs them and records the admin touch.

Listed in core.bootstrap once the queue's registry is merged (it imports core.queue.actions)."""

from __future__ import annotations

from datetime import datetime

from core.calendar_sync.conflicts import CHANGED, DELETED
from core.calendar_sync.fixes import accept_google_version, keep_ours
from core.queue.actions import fixing_action
from core.security.access import A, Actor


@fixing_action(
    CHANGED, "accept_google", "Accept Google's time", permission=A.APPOINTMENT_RESCHEDULE,
    help="Move the appointment to the event's start in Google (it keeps its own length).",
)  # fmt: skip
def _accept_move(actor: Actor, item, *, now: datetime | None = None) -> object:
    return accept_google_version(actor, item.appointment_id, now=now)


@fixing_action(
    DELETED, "accept_google", "Accept: cancel the appointment", permission=A.APPOINTMENT_CANCEL,
    confirm="Cancel this appointment because its event was deleted in Google Calendar?",
)  # fmt: skip
def _accept_deletion(actor: Actor, item, *, now: datetime | None = None) -> object:
    return accept_google_version(actor, item.appointment_id, now=now)


@fixing_action(CHANGED, "keep_ours", "Keep ours (push it back)", help="Put the event back at the appointment's time.")
def _keep_move(actor: Actor, item, *, now: datetime | None = None) -> object:
    return keep_ours(actor, item.appointment_id, now=now)


@fixing_action(DELETED, "keep_ours", "Keep ours (put it back)", help="Create the event in Google again.")
def _keep_deleted(actor: Actor, item, *, now: datetime | None = None) -> object:
    return keep_ours(actor, item.appointment_id, now=now)
