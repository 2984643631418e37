"""Every module that handles domain events (core.base.events) or registers a periodic job
(core.base.jobs), imported once when either is first used. A capability that subscribes or
registers adds its module here: this is the one place that knows them all."""

from core.notifications import enqueue, sender  # noqa: F401 - writes the outbox; sends what is due
from core.scheduling import waitlist  # noqa: F401 - offers freed slots, withdraws taken offers
