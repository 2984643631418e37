"""The utilization explorer's reads: utilization over time by location, provider or type (from
the rollup and available minutes), and the weekday x hour heatmap of one location (from that
location's appointments and shifts in the window: a few thousand rows at most)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import Appointment, Location
from core.base.tz import local_range_bounds, zone
from core.metrics import capacity, sources
from core.metrics.definitions import Window, rate
from core.metrics.sources import Filters
from core.scheduling.hours import stored_absences, stored_shifts, working_stretches
from core.security.access import A, Actor
from core.security.service import check

MAX_HEATMAP_DAYS = 92


def over_time(
    actor: Actor | None, window: Window, by: str, filters: Filters = Filters(), freq: str = "W"
) -> pd.DataFrame:
    """(period, group, booked_min, available_min, utilization) per week ("W") or day ("D")."""
    check(actor, A.METRICS_VIEW, filters.location_id, entity="metrics")
    column = sources.GROUPS[by]
    with read_session() as session:
        zones = sources.scoped_locations(session, actor, filters)
        days = sources.provider_days(session, actor, filters, window.first, window.last, by_type=by == "type")
        avail = capacity.available_minutes(session, list(zones), window.first, window.last, filters.provider_id)
    columns = ["period", by, "booked_min", "available_min", "utilization"]
    if days.empty and avail.empty:
        return pd.DataFrame(columns=columns)
    avail = avail.rename(columns={"provider_id": "provider_key"})
    keys = ["location_id", "provider_key", "day"]
    has_hours = set(map(tuple, avail[keys].itertuples(index=False))) if not avail.empty else set()
    if not days.empty:
        inside = [(r.location_id, r.provider_key, r.day) in has_hours for r in days[keys].itertuples(index=False)]
        days = days[inside]
    period = _period(freq)
    booked = days.assign(period=days["day"].map(period)).groupby(["period", column])["booked_min"].sum()
    if by == "type":  # a type's share of everyone's available minutes
        total = avail.assign(period=avail["day"].map(period)).groupby("period")["available_min"].sum()
        frame = booked.reset_index().merge(total.reset_index(), on="period", how="left")
    else:
        available = avail.assign(period=avail["day"].map(period)).groupby(["period", column])["available_min"].sum()
        frame = pd.concat([booked, available], axis=1).fillna(0).reset_index()
    frame = frame.rename(columns={column: by}).fillna(0)
    frame["utilization"] = [rate(b, a) for b, a in zip(frame["booked_min"], frame["available_min"], strict=True)]
    return frame[columns].sort_values(["period", by]).reset_index(drop=True)


def _period(freq: str):
    if freq == "D":
        return lambda d: d
    return lambda d: d - timedelta(days=d.weekday())


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
    """(weekday, hour, available_min, booked_min, unbooked_min, no_show_min, utilization) for one
    location: which hours of the week have capacity, and how much of it is used."""
    check(actor, A.METRICS_VIEW, location_id, entity="metrics")
    if window.days > MAX_HEATMAP_DAYS:
        window = Window(window.last - timedelta(days=MAX_HEATMAP_DAYS - 1), window.last)
    avail: dict[tuple[int, int], float] = defaultdict(float)
    booked: dict[tuple[int, int], float] = defaultdict(float)
    no_show: dict[tuple[int, int], float] = defaultdict(float)
    with read_session() as session:
        tz_name = session.get(Location, location_id).timezone
        tz = zone(tz_name)
        lo, hi = local_range_bounds(window.first, window.last, tz_name)
        query = select(Appointment.provider_id, Appointment.start_at, Appointment.end_at, Appointment.status).where(
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
    for prov, start, end, status in appts:
        if (prov, start.astimezone(tz).date()) not in worked:
            continue  # a provider-day without hours: reported as outside hours, not here
        for wd, hour, minutes in _hour_pieces(start, end, tz):
            booked[(wd, hour)] += minutes
            if status == "no_show":
                no_show[(wd, hour)] += minutes
    rows = []
    for key in sorted(set(avail) | set(booked)):
        a, b = avail.get(key, 0.0), booked.get(key, 0.0)
        rows.append((*key, a, b, max(a - b, 0.0), no_show.get(key, 0.0), rate(b, a)))
    return pd.DataFrame(
        rows, columns=["weekday", "hour", "available_min", "booked_min", "unbooked_min", "no_show_min", "utilization"]
    )


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
