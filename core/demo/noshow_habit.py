"""What makes a demo customer miss an appointment beyond the booking itself: the hour of day and
their own habit. Real no-shows cluster on a few customers and on early and late hours; without
this the demo's risk score could only learn the booking's lead time and weekday.

The habit is drawn from the customer's id (a hash, not the seeder's random stream), so adding it
changes no other demo figure: a lognormal multiplier with mean 1 (most customers a little under
1, a few several times more likely to miss)."""

from __future__ import annotations

import math
from datetime import datetime

from core.base.tz import zone

HABIT_SIGMA = 1.0
# Local hour -> multiplier: first and last hours of the day are missed more.
HOUR_NO_SHOW = {7: 1.35, 8: 1.25, 9: 0.95, 10: 0.85, 11: 0.85, 12: 1.0, 13: 1.05, 14: 0.95, 15: 1.0, 16: 1.15,
                17: 1.3, 18: 1.4, 19: 1.45}  # fmt: skip
MAX_P = 0.9


def habit(customer_id: int) -> float:
    """The customer's own multiplier, the same on every run."""
    h = (customer_id * 2654435761 + 97) % 2**32
    u1 = (h & 0xFFFF) / 65536 + 1 / 131072
    u2 = (h >> 16) / 65536 + 1 / 131072
    normal = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    return math.exp(HABIT_SIGMA * normal - HABIT_SIGMA**2 / 2)


def factor(customer_id: int, start: int, tz: str) -> float:
    """Hour-of-day times habit, for an appointment starting at epoch `start` in zone `tz`."""
    hour = datetime.fromtimestamp(start, zone(tz)).hour
    return HOUR_NO_SHOW.get(hour, 1.2) * habit(customer_id)


def capped(p: float) -> float:
    return min(MAX_P, p)
