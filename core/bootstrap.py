"""The composition root: which event handlers, worker jobs, fixing actions and CLI commands exist,
in order. app.py, the CLI (`python -m core`), tests/conftest.py and bench call `bootstrap()` once
at start (the worker starts through the CLI); the registries in core/base and core.queue.actions
are filled from here and refuse to answer before (`core.base.registry.NotBootstrapped`).

How to add one (one line here, in the list it belongs to):

- an event handler: mark it `@subscribe(EventClass)` (core.base.bus) in your capability's module
  and put that module in HANDLERS. Handlers of one event run in the order of this list (within a
  module, in the order they are defined); put yours where what it needs has already run.
- a worker job: mark it `@job("name", every=timedelta(...))` (core.base.jobs) and put its module
  in JOBS.
- a fixing action on a queue item: mark it `@fixing_action(kind, name, label)`
  (core.queue.actions) and put its module in FIXING_ACTIONS.
- a CLI command: write `register(subparsers)` in your capability's `commands.py` and put that
  module in COMMANDS (`--help` lists them in this order).

A marked function in a module missing from its list never runs: tests/test_bootstrap.py fails
on it, naming the module.
"""

from __future__ import annotations

import threading
from types import ModuleType

from core import worker
from core.base import bus, jobs
from core.calendar_sync import commands as calendar_commands
from core.calendar_sync import fixes as calendar_fixes
from core.calendar_sync import push as calendar_push
from core.calendar_sync import queue_fixes as calendar_queue_fixes
from core.calendar_sync import sync as calendar_sync
from core.imports import commands as import_commands
from core.inquiries import holds as inquiry_holds
from core.intake import announce as intake_announce
from core.intake import demo as intake_demo
from core.intake import events as intake_events
from core.intake import queue_fixes as intake_queue_fixes
from core.metrics import commands as metrics_commands
from core.metrics import prune as metrics_prune
from core.metrics import rebuild as metrics_rebuild
from core.metrics import rollup as metrics_rollup
from core.noshow import commands as noshow_commands
from core.noshow import jobs as noshow_jobs
from core.notifications import commands as notification_commands
from core.notifications import demo as notification_demo
from core.notifications import enqueue as notification_enqueue
from core.notifications import intake_link as notification_intake_link
from core.notifications import reconcile as notification_reconcile
from core.notifications import sender as notification_sender
from core.people import commands as people_commands
from core.queue import actions
from core.queue import commands as queue_commands
from core.queue import fixes as queue_fixes
from core.queue import subscribers as queue_subscribers
from core.scheduling.waitlist import offers as waitlist_offers
from core.security import commands as security_commands
from core.settings import commands as settings_commands
from core.webhooks import commands as webhook_commands
from core.webhooks import enqueue as webhook_enqueue
from core.webhooks import sender as webhook_sender

HANDLERS: tuple[ModuleType, ...] = (
    calendar_push,  # an appointment change queues its calendar push
    calendar_fixes,  # a change settles an open calendar conflict
    metrics_rollup,  # the metric rollup follows each appointment change
    metrics_rebuild,  # ... and imports, working hours, a location's zone
    intake_events,  # a booking of a type with a form: pinned to its version, intake complete or not
    notification_enqueue,  # confirmations and reminders into the outbox
    notification_reconcile,  # import --notify: confirmations and reminders for what an import wrote
    intake_demo,  # a seeded demo's intakes in every state (before its outbox: confirmations carry the link)
    notification_demo,  # a seeded demo's outbox: its history and what is due
    waitlist_offers,  # a freed slot offered to the waitlist; a taken offer withdrawn
    webhook_enqueue,  # appointment, customer and inquiry events into the webhook deliveries
    intake_announce,  # an intake complete when booked: intake.completed, after the booking's own webhook
    queue_subscribers,  # the exceptions queue last: it sees the offers a freed slot made
)

JOBS: tuple[ModuleType, ...] = (
    calendar_sync,  # calendar-sync
    queue_subscribers,  # detect-exceptions
    notification_sender,  # send-notifications
    metrics_prune,  # prune-metrics
    webhook_sender,  # deliver-webhooks, purge-webhook-log
    inquiry_holds,  # expire-booking-requests
    noshow_jobs,  # train-no-show (weekly), score-no-show (hourly)
)

FIXING_ACTIONS: tuple[ModuleType, ...] = (
    calendar_queue_fixes,  # accept Google's version / keep ours
    queue_fixes,  # confirm, rebook, move, book or dismiss an offer
    inquiry_holds,  # confirm / decline a held booking request
    intake_queue_fixes,  # intake missing: mark received on paper
    notification_intake_link,  # intake missing: send the link again
)

COMMANDS: tuple[ModuleType, ...] = (
    notification_commands,
    settings_commands,
    queue_commands,
    worker,
    calendar_commands,
    import_commands,
    metrics_commands,
    people_commands,
    webhook_commands,
    security_commands,
    noshow_commands,
)

_lock = threading.Lock()  # Streamlit runs app.py in a thread per session
_done = False


def bootstrap() -> None:
    """Fill the registries from the lists above; later calls do nothing."""
    global _done
    with _lock:
        if _done:
            return
        bus.install(list(HANDLERS))
        jobs.install(list(JOBS))
        actions.install(list(FIXING_ACTIONS))
        _done = True
