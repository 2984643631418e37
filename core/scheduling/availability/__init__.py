"""Free-slot engine and provider routing.

Rules, in the location's local time:
- A slot is [start, start + duration) inside one of the provider's weekly shifts (WorkingHours)
  on that local date; shifts are built per local date and converted with `core.base.tz.local_to_utc`,
  so DST days (23/25 hours) come out right. Slots step through a shift from its start in real
  (UTC) minutes: every 15 minutes for individual types, every `duration` minutes for group types
  (so that people converge on the same sessions).
- The time held is the block [start - buffer_before, end + buffer_after]. It must not overlap
  another active appointment's block (same rule the database enforces, per provider and per
  room; members of one group session share a block), the provider's time off, or a busy block
  imported from Google Calendar (all-day blocks cover whole local days at the location).
  Buffers may fall outside working hours; the appointment itself may not.
- Minimum notice: start >= now + min_notice. Horizon: the local date of the start is at most
  `horizon_days` after today's local date. Capacity: a group session (capacity > 1) takes members
  until it is full.
- Required skills: the provider has every skill the type lists. Required room kind: some active
  room of that kind at the location is free for the whole block (or the room asked for).

The package, by job: `rules` (what a search answers with), `messages` (the sentences of a
refusal), `index` (the interval index in epoch seconds), `sql` (the prepared statements),
`engine` (the rules applied over one session), `routing` (which free provider takes a booking)
and `services` (the public reads: `find_slots`, `choose_provider`). The service clock
(`resolve_now`, `require_aware`) is `core.base.clock`.
"""

from core.scheduling.availability.engine import Engine
from core.scheduling.availability.index import IntervalIndex
from core.scheduling.availability.messages import describe_appointment, fmt_day, fmt_span
from core.scheduling.availability.routing import pick, route, routing_for
from core.scheduling.availability.rules import (
    MAX_RANGE_DAYS,
    ROUND_ROBIN_LOOKBACK,
    STEP_MIN,
    DomainProblem,
    Fit,
    Routing,
    Slot,
    group_key_for,
)
from core.scheduling.availability.services import choose_provider, customer_elsewhere, find_slots

__all__ = [
    "MAX_RANGE_DAYS",
    "ROUND_ROBIN_LOOKBACK",
    "STEP_MIN",
    "DomainProblem",
    "Engine",
    "Fit",
    "IntervalIndex",
    "Routing",
    "Slot",
    "choose_provider",
    "customer_elsewhere",
    "describe_appointment",
    "find_slots",
    "fmt_day",
    "fmt_span",
    "group_key_for",
    "pick",
    "route",
    "routing_for",
]
