"""Every module that handles domain events (core.base.events) or registers a periodic job
(core.base.jobs), imported once when either is first used. A capability that subscribes or
registers adds its module here: this is the one place that knows them all."""

from core.metrics import rollup  # noqa: F401 - keeps the daily metric rollup in step with appointments
from core.scheduling import waitlist  # noqa: F401 - offers freed slots, withdraws taken offers
