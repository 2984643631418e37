"""The KPI definitions, exactly (DESIGN.md's "Metric definitions", with issue 11's precisions).

Window: local dates [from, to] of appointment start, each appointment judged in its location's
time zone. The previous period has the same number of days and ends the day before `from`.

- appointments: every appointment starting in the window, whatever its status.
- no-show rate = no_show / (completed + no_show).
- late-cancel rate = cancelled appointments flagged late / appointments. A booking request the
  desk declined, or one that lapsed unanswered, is cancelled but never late (the customer did not
  cancel).
- reschedule rate = appointments rescheduled at least once (reschedule_count > 0) / appointments.
- lead time (days) = local date of start - local date of booking (both in the location's zone),
  over every appointment in the window; median and p90 are nearest-rank (PostgreSQL's
  percentile_disc: the smallest value with at least that share of appointments at or below it).
- utilization = booked minutes / available minutes. Booked minutes: appointments not cancelled
  that have a provider and a type, on provider-days with working hours. Available minutes: the
  provider's working hours at the location on that local day (shifts merged; DST days have the
  wall-clock length they really have) minus time off overlapping them. A provider-day without
  working hours adds no available minutes; its appointments are reported apart as "outside hours".
  With a type filter, utilization is that type's share of the providers' available minutes.
  Minutes are seat-minutes: an appointment of a type with capacity N (a group class) counts its
  minutes / N, so a class whose N places are all booked holds its slot once (100% of it), and
  half of them booked hold half of it: for a class, utilization = seats booked / seats available,
  weighted by time. The same seat-minutes count in the capacity leak (no-shows, late cancels).
  A figure can still pass 100% only where bookings sit in time that is not available (booked
  before the time off was added, overlapping a class): the pages say so beside such a figure.
- capacity leak, as shares of the window's available minutes: late_cancel = minutes of late-
  cancelled appointments on provider-days with hours, at most what no booking holds (a slot rebooked
  after a late cancel is not lost twice); no_show = minutes of no-shows; unbooked = available minus
  booked minus late_cancel. With `attended` (booked minutes that were or may still be kept) the
  three add up to the available minutes.
- inquiry-to-booked conversion = inquiries received in the window (local date of receipt at their
  location) that were booked (an appointment linked to them) within CONVERSION_DAYS (default 7)
  days of receipt / inquiries received. One per customer, type and location within 60 minutes: a
  repeat of an open, unbooked inquiry is merged into it when recorded, so it counts once. A
  declined or lapsed web request is unlinked (not booked). A type filter applies to the inquiry's
  type; inquiries have no provider, so with a provider filter it is null. See docs/inquiries.md.
- admin touch per 100 appointments = staff interventions on the window's appointments x 100 /
  appointments. An intervention is (a) an appointment_history row with manual = true whose kind is
  in TOUCH_KINDS (reschedules, edits, notes, overrides by staff: not booking itself and not the
  ordinary status steps such as check-in or completion), or (b) an exceptions-queue item resolved
  by a user (resolved_by set and resolution not "resolved by itself"): counted on its appointment
  when it has one, otherwise on the local day it was resolved at its location and provider.
- Appointments without a provider or type (imported history) count in every rate and in lead
  time and stay out of utilization and the capacity leak.
- A rate with no denominator is None (null in JSON), never 0. Rates are fractions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from core.base.errors import ValidationError

TOUCH_KINDS = ("reschedule", "edit", "note", "override")
MAX_WINDOW_DAYS = 3 * 366


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValidationError(f"The window ends ({self.last}) before it starts ({self.first}).")
        if self.days > MAX_WINDOW_DAYS:
            raise ValidationError(f"A window can be at most {MAX_WINDOW_DAYS} days (this one has {self.days}).")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Window:
        """Same length, immediately before, never overlapping."""
        return Window(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def last_full_week(today: date) -> Window:
    """The last Monday-to-Sunday week that has ended before `today`."""
    monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
    return Window(monday, monday + timedelta(days=6))


def monday(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    """The first day of the calendar month holding `day`."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the calendar month after the one holding `day`."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def day_runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive runs of sorted days, as (first, last)."""
    start = prev = days[0]
    for d in days[1:]:
        if d != prev + timedelta(days=1):
            yield start, prev
            start = d
        prev = d
    yield start, prev


def rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else float(numerator) / float(denominator)


def nearest_rank(histogram: Mapping[int, int], share: float) -> int | None:
    """The smallest value with at least `share` of the counts at or below it (percentile_disc)."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    need = max(1, math.ceil(share * total - 1e-9))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= need:
            return value
    return max(histogram)
