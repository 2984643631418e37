"""Every module that handles domain events (core.base.events) or registers a periodic job
(core.base.jobs), imported once when either is first used. A capability that subscribes or
registers adds its module here: this is the one place that knows them all. Handlers of one event
run in import order: the queue comes after the waitlist, so it sees the offers a freed slot made."""

from core.calendar_sync import fixes, push, sync  # noqa: F401 - calendar push outbox, conflict settling, sync job
from core.metrics import rebuild, rollup  # noqa: F401 - keep the metric rollup in step with appointments, imports, hours
from core.noshow import jobs as noshow_jobs  # noqa: F401 - retrain the no-show model weekly, rescore hourly
from core.notifications import enqueue, sender  # noqa: F401 - writes the outbox; sends what is due
from core.scheduling import waitlist  # noqa: F401 - offers freed slots, withdraws taken offers

# isort: split
from core.calendar_sync import queue_fixes  # noqa: F401 - accept Google's version / keep ours, in the queue
from core.queue import subscribers as queue_subscribers  # noqa: F401 - queue detection and its job
