"""Available minutes per (location, provider, local day): working hours minus time off.

Weekly shifts are local wall-clock times, so most days have the same minutes as their weekday;
only days on which the zone changes its offset (DST) and days touched by time off differ. Those
change only with hours, time off or a location's zone, so `refresh` keeps them in tables when
they do (ProviderScheduleChanged): each weekday's minutes, and the exact minutes of every day
time off touches (worked out in local wall-clock seconds, or from UTC instants on a DST day). A
read sums the stored rows and works out only the DST days without time off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from core.base.models import Location, TimeOff, WorkingHours
from core.base.tz import zone
from core.metrics.models import MetricCapacity, MetricCapacityDay
from core.metrics.sources import among, read_rows
from core.scheduling.hours import Shift, working_stretches

FRAME_COLUMNS = ["location_id", "provider_id", "day", "available_min"]


@lru_cache(maxsize=256)
def _offset_change_days(tz: str, first: date, last: date) -> frozenset[date]:
    """The days first..last whose local midnight and the next day's have different UTC offsets."""
    z = zone(tz)
    found = set()
    day = first
    # Offsets change at most a few times a year: test each day's start against the next day's.
    offset = datetime.combine(day, time(), tzinfo=z).utcoffset()
    while day <= last:
        following = datetime.combine(day + timedelta(days=1), time(), tzinfo=z).utcoffset()
        if following != offset:
            found.add(day)
        day, offset = day + timedelta(days=1), following
    return frozenset(found)


def _minutes_on(shifts: list[Shift], location_id: int, day: date, tz: str, offs: list[tuple]) -> int:
    stretches = working_stretches(shifts, location_id, day, tz)
    total = sum((hi - lo).total_seconds() for lo, hi in stretches)
    for off_lo, off_hi in offs:
        for lo, hi in stretches:
            overlap = (min(hi, off_hi) - max(lo, off_lo)).total_seconds()
            if overlap > 0:
                total -= overlap
    return int(total // 60)


EXACT_COLUMNS = ["location_id", "provider_id", "day", "exact_min"]
_KEYS = ["location_id", "provider_id", "weekday"]
_EPOCH = pd.Timestamp("1970-01-01")
_SECOND = pd.Timedelta(seconds=1)
_CHUNK = 5000


_SHIFTS = select(
    WorkingHours.location_id, WorkingHours.provider_id, WorkingHours.weekday, WorkingHours.start_time,
    WorkingHours.end_time,
)  # fmt: skip


def refresh(session: Session, provider_ids: Iterable[int] | None = None) -> None:
    """Recompute the stored available minutes of these providers (default all) from their
    working hours and time off, inside the caller's transaction: each weekday's minutes
    (metric_capacity) and the exact minutes of every day their time off touches
    (metric_capacity_day). The settings services lock the provider's row first, so two changes
    of one provider's schedule refresh one after the other, the second seeing the first."""
    wanted = None if provider_ids is None else sorted(set(provider_ids))
    for table in (MetricCapacity.__table__, MetricCapacityDay.__table__):
        session.execute(_of(delete(table), table.c.provider_id, wanted))
    hours = _hours(session, _of(_SHIFTS, WorkingHours.provider_id, wanted))
    if hours.empty:
        return
    minutes = _merged(hours.assign(lo=hours["lo"] // 60, hi=hours["hi"] // 60))
    weekly = minutes.assign(minutes=minutes["hi"] - minutes["lo"]).groupby(_KEYS, as_index=False)["minutes"].sum()
    _insert(session, MetricCapacity, weekly)
    zones = dict(session.execute(select(Location.id, Location.timezone)).all())
    query = _of(select(TimeOff.provider_id, TimeOff.start_at, TimeOff.end_at), TimeOff.provider_id, wanted)
    offs = pd.DataFrame(read_rows(session, query), columns=["provider_id", "start_at", "end_at"])
    touched = touched_days(offs, hours, zones)
    if touched.empty:
        return
    dst = pd.DataFrame(
        [
            (loc, day)
            for loc, group in touched.groupby("location_id")
            for day in _offset_change_days(zones[loc], min(group["day"]), max(group["day"]))
        ],
        columns=["location_id", "day"],
    )
    on_dst = (touched.merge(dst, on=["location_id", "day"], how="left", indicator=True)["_merge"] == "both").to_numpy()
    touching: dict[tuple, list] = defaultdict(list)
    columns = ["location_id", "provider_id", "day", "start_at", "end_at"]
    for loc, prov, day, lo, hi in touched.loc[on_dst, columns].itertuples(index=False):
        touching[(loc, prov, day)].append((lo, hi))
    days_on_dst = pd.DataFrame(
        [(loc, prov, day, day.weekday()) for loc, prov, day in touching], columns=[*columns[:3], "weekday"]
    )
    # A day that keeps its weekday's minutes (the time off missed its shifts) is left out, but
    # not on a DST day: there the read would work out the minutes as if no time off touched it.
    plain = _time_off_days(_merged(hours), touched.loc[~on_dst])
    if not plain.empty:
        plain = plain.assign(weekday=[d.weekday() for d in plain["day"]]).merge(weekly, on=_KEYS)
        plain = plain.loc[plain["exact_min"] != plain["minutes"], EXACT_COLUMNS]
    exact = pd.concat([plain, _dst_minutes(hours, days_on_dst, touching, zones)])
    exact["weekday"] = [d.weekday() for d in exact["day"]]
    _insert(session, MetricCapacityDay, exact.rename(columns={"exact_min": "minutes"}))


def _hours(session: Session, query) -> pd.DataFrame:
    """Working-hours rows (`_SHIFTS`) with start and end as seconds after local midnight (lo, hi)."""
    return shift_frame(read_rows(session, query))


def _of(query, column, wanted: list[int] | None):
    return query if wanted is None else query.where(column.in_(wanted))


def _insert(session: Session, model, frame: pd.DataFrame) -> None:
    columns = [c.name for c in model.__table__.columns]
    rows = [dict(zip(columns, map(_plain, r), strict=True)) for r in frame[columns].itertuples(index=False)]
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(model.__table__), rows[i : i + _CHUNK])


def _plain(value):
    """numpy's integers as Python ints, which every driver takes."""
    return int(value) if isinstance(value, np.integer) else value


def _plan(
    session: Session, zones: dict[int, str], first: date, last: date, provider_id: int | None, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[int, int, date]]]:
    """The available minutes at these locations (id -> time zone) summed by `keys` (some of
    location_id, provider_id; none for the totals): the weekly minutes per weekday, and by day (in order) the days that differ from
    their weekday, with their `exact_min` and their `delta` from the weekday's: the stored days
    touched by time off, and the days on which a zone changes its offset (DST), worked out here
    once per (zone, day, shifts). Also the DST days that have no minutes at all, by provider."""
    weekly_columns = [*keys, "weekday", "available_min"]
    nothing = pd.DataFrame(columns=weekly_columns), pd.DataFrame(columns=[*keys, "day", "exact_min", "delta"]), []
    if not zones:
        return nothing
    mc, md = MetricCapacity, MetricCapacityDay
    of = [among(session, mc.location_id, zones)] + ([mc.provider_id == provider_id] if provider_id is not None else [])
    group = [getattr(mc, k) for k in keys]
    weekly = select(*group, mc.weekday, func.sum(mc.minutes)).where(*of).group_by(*group, mc.weekday)
    weekly = pd.DataFrame(read_rows(session, weekly), columns=weekly_columns)
    if weekly.empty:
        return nothing
    on = and_(mc.location_id == md.location_id, mc.provider_id == md.provider_id, mc.weekday == md.weekday)
    days = (
        select(*group, md.day, func.sum(md.minutes), func.sum(md.minutes - mc.minutes))
        .join(mc, on)
        .where(*of, md.day >= first, md.day <= last)
        .group_by(*group, md.day)
        .order_by(md.day)
    )
    exact = pd.DataFrame(read_rows(session, days), columns=[*keys, "day", "exact_min", "delta"])
    found = _unbroken_dst_days(session, zones, provider_id, first, last)
    if found.empty:
        return weekly, exact, []
    summed = found.groupby([*keys, "day"], as_index=False)[["exact_min", "delta"]].sum()
    exact = pd.concat([exact, summed]).sort_values("day", kind="stable", ignore_index=True)
    off = found[found["exact_min"] <= 0]
    return weekly, exact, list(zip(off["location_id"], off["provider_id"], off["day"], strict=True))


def _unbroken_dst_days(
    session: Session, zones: dict[int, str], provider_id: int | None, first: date, last: date
) -> pd.DataFrame:
    """(location, provider, day, exact_min, delta) of the days first..last on which a zone
    changes its offset, for each provider with hours that weekday and no time off that day (a
    day with time off is stored). Read by weekday and day only, and matched to the locations
    here: a list of a chain's locations, checked against every row, cost more than the read."""
    columns = ["location_id", "provider_id", "day", "exact_min", "delta"]
    dst = [(loc, day, day.weekday()) for loc, tz in zones.items() for day in _offset_change_days(tz, first, last)]
    if not dst:
        return pd.DataFrame(columns=columns)
    mc, md = MetricCapacity, MetricCapacityDay
    weekly = select(mc.location_id, mc.provider_id, mc.weekday, mc.minutes).where(
        mc.weekday.in_(sorted({wd for _, _, wd in dst}))
    )
    if provider_id is not None:
        weekly = weekly.where(mc.provider_id == provider_id)
    weekly = pd.DataFrame(read_rows(session, weekly), columns=[*_KEYS, "available_min"])
    days = pd.DataFrame(dst, columns=["location_id", "day", "weekday"])
    candidates = weekly.merge(days, on=["location_id", "weekday"])
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    stored = select(md.location_id, md.provider_id, md.day).where(
        among(session, md.day, sorted({day for _, day, _ in dst}))
    )
    stored = pd.DataFrame(read_rows(session, stored), columns=["location_id", "provider_id", "day"])
    candidates = candidates.merge(stored, on=["location_id", "provider_id", "day"], how="left", indicator=True)
    candidates = candidates[candidates["_merge"] == "left_only"]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    query = _SHIFTS.where(
        WorkingHours.location_id.in_(sorted(set(candidates["location_id"].tolist()))),
        WorkingHours.weekday.in_(sorted(set(candidates["weekday"].tolist()))),
    )
    hours = _hours(session, query)
    found = _dst_minutes(hours, candidates[["location_id", "provider_id", "day", "weekday"]], {}, zones)
    found = found.merge(candidates[["location_id", "provider_id", "day", "available_min"]])
    return found.assign(delta=found["exact_min"] - found["available_min"])[columns]


def shift_frame(rows: list[tuple]) -> pd.DataFrame:
    """(location, provider, weekday, start, end) rows, with start and end as seconds after local
    midnight (lo, hi)."""
    hours = pd.DataFrame(rows, columns=[*_KEYS, "start", "end"])
    hours["lo"] = [t.hour * 3600 + t.minute * 60 + t.second for t in hours["start"]]
    hours["hi"] = [t.hour * 3600 + t.minute * 60 + t.second for t in hours["end"]]
    return hours


def _merged(shifts: pd.DataFrame) -> pd.DataFrame:
    """Each (location, provider, weekday)'s shifts [lo, hi) with those that touch or overlap
    joined."""
    f = shifts.sort_values([*_KEYS, "lo"], ignore_index=True)
    reach = f.groupby(_KEYS)["hi"].cummax()
    before = reach.groupby([f[k] for k in _KEYS]).shift()
    run = (before.isna() | (f["lo"] > before)).cumsum()
    return f.groupby(run).agg(**{k: (k, "first") for k in _KEYS}, lo=("lo", "min"), hi=("hi", "max"))


def touched_days(
    offs: pd.DataFrame, hours: pd.DataFrame, zones: dict[int, str], first: date | None = None, last: date | None = None
) -> pd.DataFrame:
    """(location, provider, day, weekday, start_at, end_at, lo, hi, midnight): each local day
    (first..last, default all) that a provider's time off (provider_id, start_at, end_at)
    touches at each location where they have hours, with the time off as UTC instants and as
    local wall-clock seconds since 1970 (lo, hi; midnight: the day's start on that scale)."""
    pairs = hours[["location_id", "provider_id"]].drop_duplicates()
    offs = offs.merge(pairs, on="provider_id")
    if offs.empty:
        return pd.DataFrame(columns=["location_id", "provider_id", "day", "weekday", "start_at", "end_at", "lo",
                                     "hi", "midnight"])  # fmt: skip
    local = pd.DataFrame(index=offs.index, columns=["lo", "hi"], dtype="datetime64[ns]")
    for tz, group in offs.groupby(offs["location_id"].map(zones)):
        for side, column in (("lo", "start_at"), ("hi", "end_at")):
            instants = pd.to_datetime(group[column], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
            local.loc[group.index, side] = instants
    start = local["lo"].dt.normalize() - pd.Timedelta(days=1)
    end = local["hi"].dt.normalize()
    if first is not None:
        start, end = start.clip(lower=pd.Timestamp(first)), end.clip(upper=pd.Timestamp(last))
    count = ((end - start).dt.days + 1).clip(lower=0).to_numpy()
    each = offs.index.repeat(count)
    out = offs.loc[each, ["location_id", "provider_id", "start_at", "end_at"]].reset_index(drop=True)
    step = np.arange(len(out)) - np.repeat(np.cumsum(count) - count, count)
    days = start.loc[each].reset_index(drop=True) + pd.to_timedelta(step, unit="D")
    out["day"] = days.dt.date
    out["weekday"] = days.dt.day_of_week
    out["lo"] = ((local["lo"].loc[each] - _EPOCH) / _SECOND).to_numpy()
    out["hi"] = ((local["hi"].loc[each] - _EPOCH) / _SECOND).to_numpy()
    out["midnight"] = ((days - _EPOCH) / _SECOND).to_numpy()
    return out


def _time_off_days(spans: pd.DataFrame, offs: pd.DataFrame) -> pd.DataFrame:
    """The minutes of the days touched by time off, on days that keep one UTC offset: there a
    local wall-clock time is a plain shift of the UTC instant, so the overlaps of each shift
    with each time off are worked out on local seconds, all at once."""
    day_keys = ["location_id", "provider_id", "day"]
    hit = offs.merge(spans, on=_KEYS, suffixes=("_off", ""))
    if hit.empty:
        return pd.DataFrame(columns=EXACT_COLUMNS)
    hit["lost"] = (
        np.minimum(hit["hi"] + hit["midnight"], hit["hi_off"]) - np.maximum(hit["lo"] + hit["midnight"], hit["lo_off"])
    ).clip(lower=0)
    lost = hit.groupby([*day_keys, "weekday"], as_index=False)["lost"].sum()
    worked = spans.assign(worked=spans["hi"] - spans["lo"]).groupby(_KEYS, as_index=False)["worked"].sum()
    days = lost.merge(worked, on=_KEYS)
    days["exact_min"] = np.floor_divide(days["worked"] - days["lost"], 60).astype("int64")
    return days[EXACT_COLUMNS]


def _dst_minutes(hours: pd.DataFrame, days: pd.DataFrame, touching: dict, zones: dict[int, str]) -> pd.DataFrame:
    """The exact minutes of these (location, provider, day, weekday)s, days on which the zone
    changes its offset, worked out from UTC instants with their time off (`touching`, by
    (location, provider, day)); a day without time off once per (zone, day, shifts)."""
    on = hours.merge(days, on=_KEYS)
    rows = []
    for (loc, prov, day), group in on.groupby(["location_id", "provider_id", "day"]):
        pattern = tuple(sorted(zip(group["start"], group["end"], strict=True)))
        tz, offs = zones[loc], touching.get((loc, prov, day))
        minutes = (
            _minutes_on([Shift(loc, day.weekday(), a, b) for a, b in pattern], loc, day, tz, offs)
            if offs
            else _unbroken_minutes(tz, day, pattern)
        )
        rows.append((loc, prov, day, minutes))
    return pd.DataFrame(rows, columns=EXACT_COLUMNS)


@lru_cache(maxsize=4096)
def _unbroken_minutes(tz: str, day: date, pattern: tuple[tuple[time, time], ...]) -> int:
    """The minutes of these shifts on a day without time off (exact on a DST day)."""
    return _minutes_on([Shift(0, day.weekday(), a, b) for a, b in pattern], 0, day, tz, [])


def available_minutes(
    session: Session, location_ids: list[int], first: date, last: date, provider_id: int | None = None
) -> pd.DataFrame:
    """One row per (location, provider, day) with available minutes > 0, for days first..last."""
    zones = dict(read_rows(session, select(Location.id, Location.timezone).where(Location.id.in_(location_ids))))
    weekly_df, exact, _ = _plan(session, zones, first, last, provider_id, ["location_id", "provider_id"])
    if weekly_df.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    days = pd.DataFrame({"day": pd.date_range(first, last, freq="D").date})
    days["weekday"] = [d.weekday() for d in days["day"]]
    frame = days.merge(weekly_df, on="weekday")[FRAME_COLUMNS]
    if not exact.empty:
        frame = frame.merge(exact[EXACT_COLUMNS], on=["location_id", "provider_id", "day"], how="left")
        frame["available_min"] = frame["exact_min"].fillna(frame["available_min"]).astype(int)
        frame = frame.drop(columns="exact_min")
    return frame[frame["available_min"] > 0].reset_index(drop=True)


# The breakdowns available minutes can be grouped by, and their column (a type has none).
GROUPS = {"location": "location_id", "provider": "provider_id"}


class Capacity:
    """Available minutes of any window inside first..last, in total or by location or provider,
    without a row per provider-day: each weekday's minutes times how often that weekday occurs,
    plus the differences of the days that differ."""

    def __init__(self, session: Session, zones: dict[int, str], first: date, last: date, provider_id=None, by=None):
        """`zones`: the locations in scope (id -> time zone); `by`: a breakdown ("location",
        "provider"; any other, such as "type", gives the totals). `self.by` is its column, or None."""
        by = self.by = GROUPS.get(by)
        self.weekly, self.fixes, self._days_off = _plan(session, zones, first, last, provider_id, [by] if by else [])
        per_weekday = self.weekly.groupby("weekday")["available_min"].sum()
        self._per_weekday = {int(wd): int(m) for wd, m in per_weekday.items()}
        # The fixes by day: a window's are a slice, its total delta a difference of running sums.
        self._days = np.array([d.toordinal() for d in self.fixes["day"]], dtype="int64")
        self._running = np.concatenate([[0], np.cumsum(self.fixes["delta"].to_numpy(dtype="int64"))])

    def total(self, first: date, last: date):
        """Available minutes in first..last: an int, or a Series by `by`."""
        counts = [0] * 7
        for offset in range((last - first).days + 1):
            counts[(first + timedelta(days=offset)).weekday()] += 1
        lo, hi = np.searchsorted(self._days, [first.toordinal(), last.toordinal() + 1])
        if self.by is None:
            weekly_min = sum(counts[wd] * m for wd, m in self._per_weekday.items())
            return int(weekly_min + self._running[hi] - self._running[lo])
        fixes = self.fixes.iloc[lo:hi]
        weekly = self.weekly.assign(m=self.weekly["available_min"] * self.weekly["weekday"].map(lambda d: counts[d]))
        series = weekly.groupby(self.by)["m"].sum()
        if not fixes.empty:
            series = series.add(fixes.groupby(self.by)["delta"].sum(), fill_value=0)
        return series.astype("int64")

    def computed_days_off(self) -> list[tuple[int, int, date]]:
        """Provider-days whose weekday has hours but that have none, among the DST days worked
        out on read (the stored ones are found in the database, in metric_capacity_day)."""
        return [(int(loc), int(prov), day) for loc, prov, day in self._days_off]
