"""Available minutes per (location, provider, local day): working hours minus time off.

Weekly shifts are local wall-clock times, so most days have the same minutes as their weekday;
only days on which the zone changes its offset (DST) and days touched by time off are worked out
exactly from UTC instants (`core.scheduling.hours.working_stretches`). The cost is one row per
provider-day with hours, whatever the number of appointments.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Location, TimeOff, WorkingHours
from core.base.tz import local_range_bounds, zone
from core.scheduling.hours import Shift, working_stretches

FRAME_COLUMNS = ["location_id", "provider_id", "day", "available_min"]


def _merged_minutes(spans: list[tuple[int, int]]) -> int:
    total, end = 0, -1
    for lo, hi in sorted(spans):
        if lo > end:
            total += hi - lo
            end = hi
        elif hi > end:
            total += hi - end
            end = hi
    return total


@lru_cache(maxsize=256)
def _offset_change_days(tz: str, first: date, last: date) -> frozenset[date]:
    z = zone(tz)
    found = set()
    day = first
    # Offsets change at most a few times a year: test each day's start against the next day's.
    while day <= last:
        a = datetime.combine(day, datetime.min.time(), tzinfo=z).utcoffset()
        b = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=z).utcoffset()
        if a != b:
            found.add(day)
        day += timedelta(days=1)
    return frozenset(found)


def _merged_spans(shifts: list[Shift], weekday: int) -> list[tuple[int, int]]:
    """The weekday's shifts as seconds after local midnight, those that touch or overlap joined."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(
        (
            s.start.hour * 3600 + s.start.minute * 60 + s.start.second,
            s.end.hour * 3600 + s.end.minute * 60 + s.end.second,
        )
        for s in shifts
        if s.weekday == weekday
    ):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _seconds(moment: datetime) -> float:
    """A local wall-clock time as seconds on one scale with `day.toordinal() * 86400` (its
    offset ignored)."""
    return (
        moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    )


def _minutes_between(spans: list[tuple[int, int]], day: date, offs: list[tuple[float, float]]) -> int:
    """`_minutes_on` for a day whose zone keeps one UTC offset all day, in local wall-clock time:
    there it is a plain shift of the UTC instants, so no instant needs converting (the time off
    is given as local wall-clock times, in `_seconds`)."""
    midnight = day.toordinal() * 86400
    total = sum(hi - lo for lo, hi in spans)
    for off_lo, off_hi in offs:
        a, b = off_lo - midnight, off_hi - midnight
        if b <= 0 or a >= 86400:
            continue
        for lo, hi in spans:
            overlap = min(hi, b) - max(lo, a)
            if overlap > 0:
                total -= overlap
    return int(total // 60)


def _minutes_on(shifts: list[Shift], location_id: int, day: date, tz: str, offs: list[tuple]) -> int:
    stretches = working_stretches(shifts, location_id, day, tz)
    total = sum((hi - lo).total_seconds() for lo, hi in stretches)
    for off_lo, off_hi in offs:
        for lo, hi in stretches:
            overlap = (min(hi, off_hi) - max(lo, off_lo)).total_seconds()
            if overlap > 0:
                total -= overlap
    return int(total // 60)


def _plan(
    session: Session, location_ids: list[int], first: date, last: date, provider_id: int | None
) -> tuple[pd.DataFrame, dict[tuple[int, int, date], int]]:
    """Weekly minutes per (location, provider, weekday) and the exact minutes of the days that
    differ from their weekday (DST changes, time off)."""
    weekly_columns = ["location_id", "provider_id", "weekday", "available_min"]
    if not location_ids:
        return pd.DataFrame(columns=weekly_columns), {}
    zones = dict(session.execute(select(Location.id, Location.timezone).where(Location.id.in_(location_ids))).all())
    query = select(
        WorkingHours.provider_id, WorkingHours.location_id, WorkingHours.weekday, WorkingHours.start_time,
        WorkingHours.end_time,
    ).where(WorkingHours.location_id.in_(list(zones)))  # fmt: skip
    if provider_id is not None:
        query = query.where(WorkingHours.provider_id == provider_id)
    shifts: dict[tuple[int, int], list[Shift]] = defaultdict(list)
    for prov, loc, weekday, start, end in session.execute(query):
        shifts[(loc, prov)].append(Shift(loc, weekday, start, end))
    weekly = []
    for (loc, prov), items in shifts.items():
        for wd in range(7):
            spans = [
                (s.start.hour * 60 + s.start.minute, s.end.hour * 60 + s.end.minute) for s in items if s.weekday == wd
            ]
            if spans:
                weekly.append((loc, prov, wd, _merged_minutes(spans)))
    exact: dict[tuple[int, int, date], int] = {}
    if not shifts:
        return pd.DataFrame(weekly, columns=weekly_columns), exact
    providers = sorted({prov for _, prov in shifts})
    absences: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    lo_all = min(local_range_bounds(first, last, tz)[0] for tz in zones.values())
    hi_all = max(local_range_bounds(first, last, tz)[1] for tz in zones.values())
    for prov, off_lo, off_hi in session.execute(
        select(TimeOff.provider_id, TimeOff.start_at, TimeOff.end_at).where(
            TimeOff.provider_id.in_(providers), TimeOff.end_at > lo_all, TimeOff.start_at < hi_all
        )
    ):
        absences[prov].append((off_lo, off_hi))
    has_day = {(loc, prov, wd) for loc, prov, wd, _ in weekly}
    for (loc, prov), items in shifts.items():
        tz = zones[loc]
        for day in _offset_change_days(tz, first, last):
            if (loc, prov, day.weekday()) in has_day:
                exact[(loc, prov, day)] = _minutes_on(items, loc, day, tz, absences.get(prov, []))
    for (loc, prov), items in shifts.items():
        offs = absences.get(prov, [])
        if not offs:
            continue
        tz = zone(zones[loc])
        local = [(lo.astimezone(tz), hi.astimezone(tz)) for lo, hi in offs]
        days = set()
        for off_lo, off_hi in local:
            start, end = max(off_lo.date() - timedelta(days=1), first), min(off_hi.date(), last)
            days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
        spans = {wd: _merged_spans(items, wd) for wd in range(7) if (loc, prov, wd) in has_day}
        seconds = [(_seconds(lo), _seconds(hi)) for lo, hi in local]
        for day in days:
            key = (loc, prov, day)
            if day.weekday() in spans and key not in exact:  # DST days are done above
                exact[key] = _minutes_between(spans[day.weekday()], day, seconds)
    return pd.DataFrame(weekly, columns=weekly_columns), exact


def available_minutes(
    session: Session, location_ids: list[int], first: date, last: date, provider_id: int | None = None
) -> pd.DataFrame:
    """One row per (location, provider, day) with available minutes > 0, for days first..last."""
    weekly_df, exact = _plan(session, location_ids, first, last, provider_id)
    if weekly_df.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    days = pd.DataFrame({"day": pd.date_range(first, last, freq="D").date})
    days["weekday"] = [d.weekday() for d in days["day"]]
    frame = days.merge(weekly_df, on="weekday")[FRAME_COLUMNS]
    if exact:
        fix = pd.DataFrame(
            [(loc, prov, day, m) for (loc, prov, day), m in exact.items()],
            columns=["location_id", "provider_id", "day", "exact_min"],
        )
        frame = frame.merge(fix, on=["location_id", "provider_id", "day"], how="left")
        frame["available_min"] = frame["exact_min"].fillna(frame["available_min"]).astype(int)
        frame = frame.drop(columns="exact_min")
    return frame[frame["available_min"] > 0].reset_index(drop=True)


class Capacity:
    """Available minutes of any window inside first..last without a row per provider-day: each
    weekday's minutes times how often that weekday occurs, plus the exact days' differences."""

    def __init__(self, session: Session, location_ids: list[int], first: date, last: date, provider_id=None):
        self.weekly, exact = _plan(session, location_ids, first, last, provider_id)
        w = self.weekly
        base = dict(zip(zip(w["location_id"], w["provider_id"], w["weekday"], strict=True), w["available_min"],
                        strict=True))  # fmt: skip
        self._per_weekday = {int(wd): int(m) for wd, m in w.groupby("weekday")["available_min"].sum().items()}
        self.fixes = pd.DataFrame(
            [(loc, prov, day, m - base[(loc, prov, day.weekday())], m) for (loc, prov, day), m in exact.items()],
            columns=["location_id", "provider_id", "day", "delta", "exact_min"],
        )

    def total(self, first: date, last: date, by: str | None = None):
        """Available minutes in first..last: an int, or a Series by "location_id" / "provider_id"."""
        counts = [0] * 7
        for offset in range((last - first).days + 1):
            counts[(first + timedelta(days=offset)).weekday()] += 1
        fixes = (
            self.fixes[(self.fixes["day"] >= first) & (self.fixes["day"] <= last)]
            if not self.fixes.empty
            else self.fixes
        )
        if by is None:
            weekly_min = sum(counts[wd] * m for wd, m in self._per_weekday.items())
            return int(weekly_min + (fixes["delta"].sum() if not fixes.empty else 0))
        weekly = self.weekly.assign(m=self.weekly["available_min"] * self.weekly["weekday"].map(lambda d: counts[d]))
        series = weekly.groupby(by)["m"].sum()
        if not fixes.empty:
            series = series.add(fixes.groupby(by)["delta"].sum(), fill_value=0)
        return series.astype("int64")

    def days_without_hours(self) -> list[tuple[int, int, date]]:
        """Provider-days whose weekday has hours but that have none (all time off)."""
        if self.fixes.empty:
            return []
        zero = self.fixes[self.fixes["exact_min"] <= 0]
        return [(int(r.location_id), int(r.provider_id), r.day) for r in zero.itertuples()]
