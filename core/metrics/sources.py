"""What the KPIs are computed from, each read aggregated in the database with the actor's
location scope in the WHERE clause: the rollup's sums, its lead-time histogram and exceptions
resolved by staff (inquiries: `core.metrics.inquiries`)."""

from __future__ import annotations

import bisect
import itertools
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import ARRAY, Date, Integer, and_, any_, bindparam, case, func, literal, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.base.models import Appointment, ExceptionItem, Location, WorkingHours
from core.base.tz import local_day_bounds, zone
from core.metrics.definitions import monday, next_month
from core.metrics.models import (
    COUNTS,
    NONE_KEY,
    MetricCapacityDay,
    MetricDaily,
    MetricLead,
    MetricLeadMonth,
    MetricLeadMonthAll,
    MetricLeadWeek,
    MetricLeadWeekAll,
    MetricLocationDay,
    MetricLocationMonth,
    MetricProviderDay,
    MetricProviderWeekday,
)
from core.queue.items import RESOLVED_BY_ITSELF
from core.security import access
from core.security.access import Actor

SUMS = COUNTS
GROUPS = {"location": "location_id", "provider": "provider_key", "type": "type_key"}


def read_rows(session: Session, query) -> list[tuple]:
    """A read's rows as plain tuples, through the session's connection. The ORM's processing of
    each row cost a year's dashboard about 50 ms on a fresh engine, and pandas probes each
    SQLAlchemy row it is given; tuples it takes as they are."""
    return [tuple(r) for r in session.connection().execute(query).all()]


def among(session: Session, column, values) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(array)`, the array one bound value. An IN
    list binds, renders and parses a parameter per value: a year's dashboard sent about a
    thousand (days, and a chain's locations), which cost more than some of its reads took."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


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
    return dict(read_rows(session, query))


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


HOURS_SUMS = ("booked_in", "no_show_in", "late_in", "out_held", "out_min")
# The sums that move from inside hours to outside them: all zero on rows without a provider, a
# type or a duration (imported history), which are in neither.
_MOVED = ("booked_min", "no_show_min", "late_cancel_min", "held")


def ordered_bins(value, bounds: list) -> case:
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
    computed_days_off: list[tuple[int, int, date]] = (),
) -> pd.DataFrame:
    """Rollup sums per bin of local dates [edges[i], edges[i+1]) (and per `by` group), with the
    minutes split by whether the provider worked that day (a working_hours row for that weekday,
    unless the whole day was time off: the stored days without minutes in metric_capacity_day,
    and `computed_days_off`, DST days worked out on read): the sums of the rows outside hours
    (few) are read beside every sum, and inside hours is the difference. Without groups the
    database sums per day and the days are binned here; with groups it sums per bin, so that
    the rows returned do not grow with days x groups."""
    groups = [GROUPS[by]] if by else []
    columns = ["bin", *groups]
    if filters.provider_id is None and filters.type_id is None and by in (None, "location"):
        md = MetricProviderDay
        rows = _sums_by_location(session, actor, filters, edges, groups)
    else:
        # Summed over types already, unless types are asked for.
        md = MetricDaily if filters.type_id is not None or by == "type" else MetricProviderDay
        where = _rollup_where(md, actor, filters, edges[0], edges[-1] - timedelta(days=1))
        read = _sums_in_one_pass if session.get_bind().dialect.name == "postgresql" else _sums_in_passes
        rows = read(session, md, actor, filters, where, _keys(md, md.day, edges, groups))
    rows += _days_off_sums(session, md, actor, filters, _keys(md, md.day, edges, groups), edges, computed_days_off)
    frame = pd.DataFrame(rows, columns=[*columns, *SUMS, *(f"out_{c}" for c in _MOVED)])
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in [*columns, *SUMS, *HOURS_SUMS]})
    if not groups:
        frame["bin"] = bins_of(frame["bin"], edges)
    frame = frame.fillna(0).astype("int64").groupby(columns, as_index=False).sum()
    frame["booked_in"] = frame["booked_min"] - frame["out_booked_min"]
    frame["no_show_in"] = frame["no_show_min"] - frame["out_no_show_min"]
    frame["late_in"] = frame["late_cancel_min"] - frame["out_late_cancel_min"]
    frame["out_min"] = frame["out_booked_min"]
    frame = frame[[*columns, *SUMS, *HOURS_SUMS]]
    return frame[frame["bin"] >= 0].reset_index(drop=True)


def _keys(model, period, edges: list[date], groups: list[str]) -> list:
    """What a read groups by: the period (binned here) or, with groups, its bin and the groups."""
    return [ordered_bins(period, edges) if groups else period, *(getattr(model, g) for g in groups)]


def _hours():
    return select(WorkingHours.location_id, WorkingHours.provider_id, WorkingHours.weekday)


def _sums_by_location(session: Session, actor, filters: Filters, edges: list[date], groups: list[str]) -> list:
    """A window without a provider or type filter: the totals from the location-months (whole
    months) and location-days (the rest); the minutes outside hours from the provider-days of
    the few (location, provider, weekday)s without hours. Rows of the window are never each
    checked against the hours."""
    months, weeks, days = lead_spans(edges)
    days = sorted(days + [w + timedelta(days=i) for w in weeks for i in range(7)])
    rows = []
    for model, period, starts in (
        (MetricLocationMonth, MetricLocationMonth.month, months),
        (MetricLocationDay, MetricLocationDay.day, days),
    ):
        if starts:
            keys = _keys(model, period, edges, groups)
            sums = [func.sum(getattr(model, name)) for name in SUMS]
            query = select(*keys, *sums, *([literal(0)] * len(_MOVED))).where(
                *_scope(model, actor, filters), among(session, period, starts)
            )
            rows += read_rows(session, query.group_by(*keys))
    md, seen = MetricProviderDay, MetricProviderWeekday
    keys = _keys(md, md.day, edges, groups)
    triple = (seen.location_id, seen.provider_key, seen.weekday)
    no_hours = (
        select(*triple)
        .where(*_scope(seen, actor, filters), seen.provider_key != NONE_KEY, tuple_(*triple).not_in(_hours()))
        .subquery("no_hours")
    )
    on = and_(md.location_id == no_hours.c.location_id, md.provider_key == no_hours.c.provider_key,
              md.weekday == no_hours.c.weekday)  # fmt: skip
    moved = _outside_sums(md, keys)
    query = select(*moved).select_from(no_hours).join(md, on).where(md.day >= edges[0], md.day < edges[-1])
    return rows + read_rows(session, query.group_by(*keys))


def _sums_in_one_pass(session: Session, md, actor, filters: Filters, where: list, keys: list) -> list:
    """PostgreSQL: one pass over the window, joined by hash to the (location, provider, weekday)
    triples with working hours; the sums outside hours are FILTERed sums."""
    hours = _hours().distinct().subquery("hours")
    on = and_(hours.c.location_id == md.location_id, hours.c.provider_id == md.provider_key,
              hours.c.weekday == md.weekday)  # fmt: skip
    outside = and_(md.provider_key != NONE_KEY, hours.c.location_id.is_(None))
    sums = [func.sum(getattr(md, name)) for name in SUMS]
    moved = [func.sum(getattr(md, name)).filter(outside) for name in _MOVED]
    query = select(*keys, *sums, *moved).select_from(md.__table__.outerjoin(hours, on)).where(*where)
    return read_rows(session, query.group_by(*keys))


def _days_off_sums(session: Session, md, actor, filters: Filters, keys: list, edges: list[date],
                   computed: list) -> list:  # fmt: skip
    """The sums of the rows of the window's days off, each found through the bucket index: the
    stored days without minutes (metric_capacity_day) and the computed ones (few, often none).
    These days' weekdays have hours, so no row is also among those outside them."""
    moved = _outside_sums(md, keys)
    off = MetricCapacityDay
    stored = (
        select(*moved)
        .select_from(off)
        .join(md, _on_day(md, off.location_id, off.provider_id, off.day))
        .where(off.minutes <= 0, off.day >= edges[0], off.day < edges[-1], *_scope(md, actor, filters))
    )
    rows = read_rows(session, stored.group_by(*keys))
    if computed:
        listed = _day_list(session, sorted(computed))
        query = select(*moved).select_from(listed).join(md, _on_day(md, *listed.c)).where(*_scope(md, actor, filters))
        rows += read_rows(session, query.group_by(*keys))
    return rows


def _sums_in_passes(session: Session, md, actor, filters: Filters, where: list, keys: list) -> list:
    """SQLite: every sum in one pass over the window in the covering index's order (no sort);
    then the rows whose weekday has no hours (an uncorrelated subquery, built into an index once,
    looked up per row). A join or a FILTER per sum would look the hours up for every row, several
    times."""
    zeros = [literal(0)] * len(_MOVED)
    rows = read_rows(session, select(*keys, *(func.sum(getattr(md, n)) for n in SUMS), *zeros).where(*where)
                     .group_by(*keys))  # fmt: skip
    moved = _outside_sums(md, keys)
    no_hours = and_(md.provider_key != NONE_KEY, tuple_(md.location_id, md.provider_key, md.weekday).not_in(_hours()))
    return rows + read_rows(session, select(*moved).where(*where, no_hours).group_by(*keys))


def _outside_sums(md, keys: list) -> list:
    """The columns of a read of rows outside hours: its keys, zeros for the totals, the sums that
    move from inside hours to outside."""
    return [*keys, *([literal(0)] * len(SUMS)), *(func.sum(getattr(md, c)) for c in _MOVED)]


def _on_day(md, location_id, provider_id, day):
    return and_(md.location_id == location_id, md.provider_key == provider_id, md.day == day)


def _day_list(session: Session, days: list[tuple[int, int, date]]):
    """(location, provider, day) rows to join the rollup to, each then found through the bucket
    index instead of being checked against every row read. Passed as one value (a bound value
    per item cost more to compile than the query took to run): arrays on PostgreSQL, JSON on
    SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        arrays = [
            bindparam(f"days_off_{i}", list(values), type_=ARRAY(kind))
            for i, (values, kind) in enumerate(zip(zip(*days, strict=True), (Integer, Integer, Date), strict=True))
        ]
        return func.unnest(*arrays).table_valued("location_id", "provider_id", "day").render_derived("days_off")
    each = func.json_each(bindparam("days_off", json.dumps([[loc, prov, str(day)] for loc, prov, day in days])))
    items = each.table_valued("value")
    return select(
        *(
            func.json_extract(items.c.value, f"$[{i}]").label(n)
            for i, n in enumerate(("location_id", "provider_id", "day"))
        )
    ).subquery("days_off")


def bins_of(days, edges: list[date]) -> list[int]:
    """The bin [edges[i], edges[i+1]) of each day."""
    return [bisect.bisect_right(edges, day) - 1 for day in days]


def binned_lead(
    session: Session, actor: Actor | None, filters: Filters, edges: list[date], by: str | None = None
) -> pd.DataFrame:
    """(bin, group?, lead_days, n): the lead-time histogram per bin of local dates. Without a
    provider or type filter or grouping, the calendar months and ISO weeks that lie whole in one
    bin are read from the monthly and weekly histograms (summed over every location already when
    the window covers them all), and only the other days from the daily one. Summed per month,
    week or day in the database and binned here: a CASE per row cost more than binning the sums."""
    group = [GROUPS[by]] if by else []
    coarse = filters.provider_id is None and filters.type_id is None and by in (None, "location")
    days = [edges[0] + timedelta(days=i) for i in range((edges[-1] - edges[0]).days)]
    months, weeks, rest = lead_spans(edges) if coarse else ([], [], days)
    every = coarse and not group and filters.location_id is None and access.sees_every_location(actor)
    month, week = (MetricLeadMonthAll, MetricLeadWeekAll) if every else (MetricLeadMonth, MetricLeadWeek)
    rows = []
    for model, period, starts in (
        (month, month.month, months),
        (week, week.week, weeks),
        (MetricLead, MetricLead.day, rest),
    ):
        if not starts:
            continue
        keys = [period, *(getattr(model, g) for g in group)]
        # An IN list of the periods' first days: one index seek each (an OR of ranges was a
        # whole-table scan on SQLite).
        scope = _scope(model, actor, filters) if not every or model is MetricLead else []
        query = select(*keys, model.lead_days, func.sum(model.n)).where(*scope, among(session, period, starts))
        rows += read_rows(session, query.group_by(*keys, model.lead_days))
    frame = pd.DataFrame(rows, columns=["day", *group, "lead_days", "n"])
    columns = ["bin", *group, "lead_days", "n"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["bin"] = bins_of(frame["day"], edges)
    return frame.groupby(columns[:-1], as_index=False)["n"].sum()[columns]


def lead_spans(edges: list[date]) -> tuple[list[date], list[date], list[date]]:
    """What tiles [edges[0], edges[-1]) with no piece split by an edge, read coarsest first: the
    calendar months (their first days) whole inside a bin, then the ISO weeks (their Mondays)
    whole inside what is left of it, then the days left."""
    months: list[date] = []
    weeks: list[date] = []
    days: list[date] = []
    for lo, hi in itertools.pairwise(edges):
        month = first_month = lo if lo.day == 1 else next_month(lo)
        while next_month(month) <= hi:
            months.append(month)
            month = next_month(month)
        for a, b in [(lo, hi)] if month == first_month else [(lo, first_month), (month, hi)]:
            week = first_week = monday(a + timedelta(days=6))  # the first Monday on or after a
            while week + timedelta(days=7) <= b:
                weeks.append(week)
                week += timedelta(days=7)
            loose = [(a, b)] if week == first_week else [(a, first_week), (week, b)]
            days += [x + timedelta(days=i) for x, y in loose for i in range((y - x).days)]
    return months, weeks, days


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
            among(session, func.coalesce(Appointment.location_id, ExceptionItem.location_id), zones),
            func.coalesce(Appointment.start_at, ExceptionItem.resolved_at) >= lo,
            func.coalesce(Appointment.start_at, ExceptionItem.resolved_at) < hi,
        )
    )
    rows = []
    for loc, prov, type_id, at in read_rows(session, query):
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
