"""What the KPIs are computed from, each read aggregated in the database with the actor's
location scope in the WHERE clause: the rollup by provider-day, its lead-time histogram,
inquiries counted per window, and exceptions resolved by staff."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from core.base.models import Appointment, ExceptionItem, Inquiry, Location, WorkingHours
from core.base.tz import local_day_bounds, zone
from core.metrics.definitions import day_runs, monday
from core.metrics.models import COUNTS, MetricDaily, MetricLead, MetricLeadWeek
from core.queue.items import RESOLVED_BY_ITSELF
from core.security import access
from core.security.access import Actor

SUMS = COUNTS
GROUPS = {"location": "location_id", "provider": "provider_key", "type": "type_key"}


@dataclass(frozen=True)
class Filters:
    location_id: int | None = None
    provider_id: int | None = None
    type_id: int | None = None


def scoped_locations(session: Session, actor: Actor | None, filters: Filters) -> dict[int, str]:
    """Locations (id -> time zone) the actor may see, narrowed by the location filter."""
    query = select(Location.id, Location.timezone).where(access.location_filter(actor, Location.id))
    if filters.location_id is not None:
        query = query.where(Location.id == filters.location_id)
    return dict(session.execute(query).all())


def _rollup_where(model, actor: Actor | None, filters: Filters, first: date, last: date) -> list:
    return [*_scope(model, actor, filters), model.day >= first, model.day <= last]


def _scope(model, actor: Actor | None, filters: Filters) -> list:
    conds = [access.location_filter(actor, model.location_id)]
    if filters.location_id is not None:
        conds.append(model.location_id == filters.location_id)
    if filters.provider_id is not None:
        conds.append(model.provider_key == filters.provider_id)
    if filters.type_id is not None:
        conds.append(model.type_key == filters.type_id)
    return conds


_DAYS_PER_QUERY = 5_000
_PAIRS_PER_QUERY = 500
HOURS_SUMS = ("booked_in", "no_show_in", "late_in", "out_held", "out_min")


def _weekday(session: Session, day):
    """Monday = 0, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("isodow", day), Integer) - 1
    return (cast(func.strftime("%w", day), Integer) + 6) % 7


def _ordered_bins(value, bounds: list) -> case:
    """A CASE giving the index i of the bin [bounds[i], bounds[i+1]) that holds `value`, or -1:
    one comparison per bound, tried in order (the first that holds decides)."""
    whens = [(value < bounds[0], literal(-1))]
    whens += [(value < bounds[i + 1], literal(i)) for i in range(len(bounds) - 1)]
    return case(*whens, else_=literal(-1))


def binned_sums(
    session: Session,
    actor: Actor | None,
    filters: Filters,
    edges: list[date],
    by: str | None = None,
    days_without_hours: list[tuple[int, int, date]] = (),
) -> pd.DataFrame:
    """Rollup sums per bin of local dates [edges[i], edges[i+1]) (and per `by` group), with the
    minutes split by whether the provider worked that day (a working_hours row for that weekday,
    unless the whole day was time off). Without groups the database sums per day and the days
    are binned here (a CASE per row cost more than the binning); with groups it sums per bin, so
    that the rows returned do not grow with days x groups."""
    md = MetricDaily
    has_hours = (
        select(WorkingHours.id)
        .where(
            WorkingHours.provider_id == md.provider_key,
            WorkingHours.location_id == md.location_id,
            WorkingHours.weekday == _weekday(session, md.day),
        )
        .exists()
    )
    where = _rollup_where(md, actor, filters, edges[0], edges[-1] - timedelta(days=1))
    # Grouped by the hours flag and split here, so its lookup runs once per row (the flag of a
    # subquery used in five conditional sums is copied into each of them, lookup and all).
    groups = [GROUPS[by]] if by else []
    period = _ordered_bins(md.day, edges) if groups else md.day
    keys = [period, case((has_hours, 1), else_=0), md.provider_key != 0, *(getattr(md, g) for g in groups)]
    query = select(*keys, *(func.sum(getattr(md, name)) for name in SUMS)).where(*where)
    columns = ["bin", "hours", "with_provider", *groups, *SUMS]
    parts = pd.DataFrame(session.execute(query.group_by(*keys)).all(), columns=columns)
    if not groups:
        parts["bin"] = _bins_of(parts["bin"], edges)
    parts[columns] = parts[columns].fillna(0).astype("int64")
    inside, outside = parts["hours"] == 1, (parts["hours"] == 0) & (parts["with_provider"] == 1)
    parts["booked_in"] = parts["booked_min"].where(inside, 0)
    parts["no_show_in"] = parts["no_show_min"].where(inside, 0)
    parts["late_in"] = parts["late_cancel_min"].where(inside, 0)
    parts["out_held"] = parts["held"].where(outside, 0)
    parts["out_min"] = parts["booked_min"].where(outside, 0)
    frame = parts.groupby(["bin", *groups], as_index=False)[[*SUMS, *HOURS_SUMS]].sum()
    frame = frame[frame["bin"] >= 0]
    if days_without_hours and not frame.empty:
        frame = _move_outside(session, frame, where, edges, days_without_hours, groups)
    return frame


def _bins_of(days, edges: list[date]) -> list[int]:
    """The bin [edges[i], edges[i+1]) of each day."""
    return [bisect.bisect_right(edges, day) - 1 for day in days]


_MOVED = ("booked_min", "no_show_min", "late_cancel_min", "held")


def _matching_days(session: Session, days: list[tuple[int, int, date]]):
    """Conditions, in chunks, matching rollup rows of these (location, provider, day). SQLite
    checks a row-value IN list quickly during its scan of the window; PostgreSQL checks such a
    list row by row, item by item, but seeks an OR of (location, provider, days) terms in the
    (provider, day) index."""
    md = MetricDaily
    if session.get_bind().dialect.name != "postgresql":
        for i in range(0, len(days), _DAYS_PER_QUERY):
            yield tuple_(md.location_id, md.provider_key, md.day).in_(days[i : i + _DAYS_PER_QUERY])
        return
    by_pair: dict[tuple[int, int], list[date]] = defaultdict(list)
    for loc, prov, day in days:
        by_pair[(loc, prov)].append(day)
    pairs = sorted(by_pair.items())
    for i in range(0, len(pairs), _PAIRS_PER_QUERY):
        yield or_(*(and_(md.location_id == loc, md.provider_key == prov, md.day.in_(ds))
                    for (loc, prov), ds in pairs[i : i + _PAIRS_PER_QUERY]))  # fmt: skip


def _move_outside(
    session: Session, frame: pd.DataFrame, where: list, edges: list[date], days: list[tuple], groups: list[str]
) -> pd.DataFrame:
    """Provider-days whose weekday has hours but which were all time off: their minutes count
    as outside hours. Their rollup rows are read by matching the list of them, in chunks (one
    bound value per column and provider-day)."""
    md = MetricDaily
    rows = []
    query = select(md.day, *(getattr(md, g) for g in groups), *(getattr(md, c) for c in _MOVED)).where(*where)
    for match in _matching_days(session, days):
        rows += session.execute(query.where(match)).all()
    if not rows:
        return frame
    moved = pd.DataFrame(rows, columns=["day", *groups, *_MOVED])
    moved["bin"] = _bins_of(moved["day"], edges)
    keys = ["bin", *groups]
    delta = moved.groupby(keys)[list(_MOVED)].sum()
    frame = frame.set_index(keys)
    for key, d in delta.iterrows():
        frame.loc[key, "booked_in"] -= d["booked_min"]
        frame.loc[key, "no_show_in"] -= d["no_show_min"]
        frame.loc[key, "late_in"] -= d["late_cancel_min"]
        frame.loc[key, "out_held"] += d["held"]
        frame.loc[key, "out_min"] += d["booked_min"]
    return frame.reset_index()


def binned_lead(
    session: Session, actor: Actor | None, filters: Filters, edges: list[date], by: str | None = None
) -> pd.DataFrame:
    """(bin, group?, lead_days, n): the lead-time histogram per bin of local dates. Without a
    provider or type filter or grouping, the ISO weeks that lie whole in one bin are read from
    the weekly histogram and only the other days from the daily one. Summed per week or day in
    the database and binned here: a CASE per row cost more than binning the sums."""
    group = [GROUPS[by]] if by else []
    coarse = filters.provider_id is None and filters.type_id is None and by in (None, "location")
    weeks = whole_weeks(edges) if coarse else []
    covered = {week + timedelta(days=i) for week in weeks for i in range(7)}
    days = [edges[0] + timedelta(days=i) for i in range((edges[-1] - edges[0]).days)]
    rows = []
    for model, column, span in (
        (MetricLeadWeek, MetricLeadWeek.week, sorted(covered)),
        (MetricLead, MetricLead.day, [d for d in days if d not in covered]),
    ):
        if not span:
            continue
        keys = [column, *(getattr(model, g) for g in group)]
        query = (
            select(*keys, model.lead_days, func.sum(model.n))
            .where(*_scope(model, actor, filters), or_(*(column.between(a, b) for a, b in day_runs(span))))
            .group_by(*keys, model.lead_days)
        )
        rows += session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["day", *group, "lead_days", "n"])
    columns = ["bin", *group, "lead_days", "n"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["bin"] = _bins_of(frame["day"], edges)
    return frame.groupby(columns[:-1], as_index=False)["n"].sum()[columns]


def whole_weeks(edges: list[date]) -> list[date]:
    """The Mondays of the ISO weeks inside [edges[0], edges[-1]) that no edge splits."""
    week = monday(edges[0] + timedelta(days=6))  # the first Monday on or after edges[0]
    found = []
    while week + timedelta(days=7) <= edges[-1]:
        following = edges[bisect.bisect_right(edges, week)]  # the first edge after the Monday
        if following >= week + timedelta(days=7):
            found.append(week)
        week += timedelta(days=7)
    return found


def _bin_case(column, zone_name: str, edges: list[date]):
    """A CASE giving the index of the local-date bin [edges[i], edges[i+1]) of an instant."""
    return _ordered_bins(column, [local_day_bounds(d, zone_name)[0] for d in edges])


def inquiry_counts(
    session: Session, zones: dict[int, str], filters: Filters, edges: list[date], by: str | None = None
) -> pd.DataFrame:
    """(bin, group?, received, converted): inquiries received per local-date bin, counted in the
    database, one query per time zone in scope."""
    out = []
    by_zone: dict[str, list[int]] = defaultdict(list)
    for loc, tz in zones.items():
        by_zone[tz].append(loc)
    group_col = {"location": Inquiry.location_id, "type": Inquiry.type_id}.get(by) if by else None
    for tz, locs in by_zone.items():
        lo = local_day_bounds(edges[0], tz)[0]
        hi = local_day_bounds(edges[-1], tz)[0]
        bin_col = _bin_case(Inquiry.received_at, tz, edges).label("bin")
        keys = [bin_col] + ([group_col] if group_col is not None else [])
        query = (
            select(*keys, func.count(), func.count(Inquiry.appointment_id))
            .where(Inquiry.location_id.in_(locs), Inquiry.received_at >= lo, Inquiry.received_at < hi)
            .group_by(*keys)
        )
        if filters.type_id is not None:
            query = query.where(Inquiry.type_id == filters.type_id)
        out.extend(session.execute(query).all())
    columns = ["bin"] + (["group"] if group_col is not None else []) + ["received", "converted"]
    return pd.DataFrame(out, columns=columns)


def resolved_exceptions(
    session: Session, zones: dict[int, str], filters: Filters, first: date, last: date
) -> pd.DataFrame:
    """Exceptions resolved by a member of staff, placed like the rollup: (location, provider,
    type, day) of their appointment, or of the local day they were resolved when they have none."""
    lo = min(local_day_bounds(first, tz)[0] for tz in zones.values()) - timedelta(days=1) if zones else None
    hi = max(local_day_bounds(last, tz)[1] for tz in zones.values()) + timedelta(days=1) if zones else None
    columns = ["location_id", "provider_key", "type_key", "day"]
    if not zones:
        return pd.DataFrame(columns=columns)
    query = (
        select(
            func.coalesce(Appointment.location_id, ExceptionItem.location_id),
            func.coalesce(Appointment.provider_id, ExceptionItem.provider_id),
            Appointment.type_id,
            func.coalesce(Appointment.start_at, ExceptionItem.resolved_at),
        )
        .select_from(ExceptionItem)
        .outerjoin(Appointment, Appointment.id == ExceptionItem.appointment_id)
        .where(
            ExceptionItem.resolved_by.is_not(None),
            func.coalesce(ExceptionItem.resolution, "") != RESOLVED_BY_ITSELF,
            func.coalesce(Appointment.location_id, ExceptionItem.location_id).in_(list(zones)),
            func.coalesce(Appointment.start_at, ExceptionItem.resolved_at) >= lo,
            func.coalesce(Appointment.start_at, ExceptionItem.resolved_at) < hi,
        )
    )
    rows = []
    for loc, prov, type_id, at in session.execute(query):
        if isinstance(at, str):  # coalesce() loses the column type on SQLite
            at = datetime.fromisoformat(at).replace(tzinfo=zone("UTC"))
        day = at.astimezone(zone(zones[loc])).date()
        if first <= day <= last:
            rows.append((loc, prov or 0, type_id or 0, day))
    frame = pd.DataFrame(rows, columns=columns)
    if filters.provider_id is not None:
        frame = frame[frame["provider_key"] == filters.provider_id]
    if filters.type_id is not None:
        frame = frame[frame["type_key"] == filters.type_id]
    return frame
