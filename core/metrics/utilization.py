"""The utilization explorer's reads: utilization over time by location, provider or type (from
the rollup and available minutes), and the weekday x hour heatmap of one location (from that
location's appointments and shifts in the window: a few thousand rows at most)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import select

from core.base.models import Appointment, AppointmentType, Location
from core.base.tz import local_range_bounds, zone
from core.metrics import capacity, sources
from core.metrics.definitions import Window, rate
from core.metrics.sources import Filters
from core.scheduling.hours import stored_absences, stored_shifts, working_stretches
from core.security.access import A, Actor
from core.security.service import reading

MAX_HEATMAP_DAYS = 92
# A heatmap cell (one weekday-hour of the window) with less available time than this per week of
# the window rests on too little to read: half an hour a week, both times booked, would be the
# darkest cell of the map. Such cells are marked `thin` and drawn apart (docs/metrics.md).
THIN_MIN_PER_WEEK = 60


def thin_below(window: Window) -> float:
    """The available minutes under which a heatmap cell of `window` is too thin to read."""
    return THIN_MIN_PER_WEEK * max(min(window.days, MAX_HEATMAP_DAYS), 7) / 7


def periods(window: Window, freq: str) -> list[Window]:
    """The window cut into days ("D") or Monday-to-Sunday weeks ("W", the ends may be partial)."""
    out, first = [], window.first
    while first <= window.last:
        last = first if freq == "D" else min(first + timedelta(days=6 - first.weekday()), window.last)
        out.append(Window(first, last))
        first = last + timedelta(days=1)
    return out


def over_time(
    actor: Actor | None, window: Window, by: str, filters: Filters = Filters(), freq: str = "W"
) -> pd.DataFrame:
    """(period, group, booked_min, available_min, utilization) per week ("W") or day ("D"). A
    type's utilization is its share of the providers' available minutes. Booked minutes are
    seat-minutes (a group class's minutes / its places; docs/metrics.md), so no figure passes
    100% unless appointments overlap (over_full says why)."""
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        column = sources.GROUPS[by]
        bins = periods(window, freq)
        edges = [p.first for p in bins] + [window.last + timedelta(days=1)]
        zones = sources.scoped_locations(session, actor, filters)
        cap = capacity.Capacity(session, zones, window.first, window.last, filters.provider_id, by=by)
        sums = sources.binned_sums(session, actor, filters, edges, by=by, computed_days_off=cap.computed_days_off())
    rows = []
    for i, period in enumerate(bins):
        available = cap.total(period.first, period.last)
        booked = sums[sums["bin"] == i].groupby(column)["booked_in"].sum() if not sums.empty else pd.Series(dtype=int)
        keys = set(booked.index) | (set(available.index) if cap.by else set())
        for key in sorted(keys):
            if by == "type" and key == 0:
                continue
            avail = int(available.get(key, 0)) if cap.by else int(available)
            b = int(booked.get(key, 0))
            rows.append((period.first, int(key), b, avail, rate(b, avail)))
    return pd.DataFrame(rows, columns=["period", by, "booked_min", "available_min", "utilization"])


def _hour_pieces(lo: datetime, hi: datetime, tz) -> list[tuple[int, int, float]]:
    """(weekday, hour, minutes) of [lo, hi) in local time."""
    out = []
    cur = lo
    while cur < hi:
        local = cur.astimezone(tz)
        nxt = min(hi, cur + timedelta(minutes=60 - local.minute, seconds=-local.second))
        out.append((local.weekday(), local.hour, (nxt - cur).total_seconds() / 60))
        cur = nxt
    return out


def heatmap(actor: Actor | None, window: Window, location_id: int, provider_id: int | None = None) -> pd.DataFrame:
    """(weekday, hour, available_min, booked_min, unbooked_min, no_show_min, utilization, thin)
    for one location: which hours of the week have capacity, how much of it is used, and whether
    the cell's available time is too little to read (`thin_below`)."""
    with reading(actor, A.METRICS_VIEW, location_id, entity="metrics") as session:
        if window.days > MAX_HEATMAP_DAYS:
            window = Window(window.last - timedelta(days=MAX_HEATMAP_DAYS - 1), window.last)
        avail: dict[tuple[int, int], float] = defaultdict(float)
        booked: dict[tuple[int, int], float] = defaultdict(float)
        no_show: dict[tuple[int, int], float] = defaultdict(float)
        tz_name = session.get(Location, location_id).timezone
        tz = zone(tz_name)
        lo, hi = local_range_bounds(window.first, window.last, tz_name)
        seats = select(AppointmentType.capacity).where(AppointmentType.id == Appointment.type_id).scalar_subquery()
        query = select(
            Appointment.provider_id, Appointment.start_at, Appointment.end_at, Appointment.status, seats
        ).where(
            Appointment.location_id == location_id,
            Appointment.start_at >= lo,
            Appointment.start_at < hi,
            Appointment.status != "cancelled",
            Appointment.provider_id.is_not(None),
            Appointment.type_id.is_not(None),
        )
        if provider_id is not None:
            query = query.where(Appointment.provider_id == provider_id)
        appts = session.execute(query).all()
        providers = {p for p, *_ in appts}
        providers |= set(capacity.available_minutes(session, [location_id], window.first, window.last, provider_id)
                         ["provider_id"])  # fmt: skip
        worked: set[tuple[int, date]] = set()
        for prov in providers:
            shifts = stored_shifts(session, prov)
            offs = stored_absences(session, prov, lo)
            day = window.first
            while day <= window.last:
                for s_lo, s_hi in working_stretches(shifts, location_id, day, tz_name):
                    for piece in _minus(s_lo, s_hi, [(a.start, a.end) for a in offs]):
                        worked.add((prov, day))
                        for wd, hour, minutes in _hour_pieces(*piece, tz):
                            avail[(wd, hour)] += minutes
                day += timedelta(days=1)
    for prov, start, end, status, places in appts:
        if (prov, start.astimezone(tz).date()) not in worked:
            continue  # a provider-day without hours: reported as outside hours, not here
        for wd, hour, minutes in _hour_pieces(start, end, tz):
            share = minutes / max(places or 1, 1)  # seat-minutes: a group class's slot counts once when full
            booked[(wd, hour)] += share
            if status == "no_show":
                no_show[(wd, hour)] += share
    rows = []
    thin = thin_below(window)
    for key in sorted(set(avail) | set(booked)):
        a, b = avail.get(key, 0.0), booked.get(key, 0.0)
        rows.append((*key, a, b, max(a - b, 0.0), no_show.get(key, 0.0), rate(b, a), 0 < a < thin))
    columns = ["weekday", "hour", "available_min", "booked_min", "unbooked_min", "no_show_min", "utilization", "thin"]
    return pd.DataFrame(rows, columns=columns)


def _minus(lo: datetime, hi: datetime, offs: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    pieces = [(lo, hi)]
    for o_lo, o_hi in offs:
        nxt = []
        for p_lo, p_hi in pieces:
            if o_hi <= p_lo or o_lo >= p_hi:
                nxt.append((p_lo, p_hi))
                continue
            if p_lo < o_lo:
                nxt.append((p_lo, o_lo))
            if o_hi < p_hi:
                nxt.append((o_hi, p_hi))
        pieces = nxt
    return pieces
