"""Inquiries received and converted per local-date bin: what the conversion KPI reads, from
the inquiry rollup (metric_inquiry_day and _month, kept by `core.metrics.rebuild`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from core.base.config import get_settings
from core.base.models import Inquiry
from core.base.tz import local_day_bounds
from core.metrics.models import MetricInquiryDay, MetricInquiryMonth
from core.metrics.sources import Filters, among, bins_of, lead_spans, ordered_bins, read_rows


def converted_clause(session: Session) -> ColumnElement[bool]:
    """An inquiry converted: booked (appointment linked) within `conversion_days` of receipt. A
    link written without its booking time (bulk demo rows, older data) counts as converted."""
    days = get_settings().conversion_days
    if session.get_bind().dialect.name == "sqlite":
        within = func.julianday(Inquiry.booked_at) - func.julianday(Inquiry.received_at) <= days
    else:
        within = Inquiry.booked_at - Inquiry.received_at <= timedelta(days=days)
    return and_(Inquiry.appointment_id.is_not(None), or_(Inquiry.booked_at.is_(None), within))


def _bin_case(column, zone_name: str, edges: list[date]):
    """A CASE giving the index of the local-date bin [edges[i], edges[i+1]) of an instant."""
    return ordered_bins(column, [local_day_bounds(d, zone_name)[0] for d in edges])


def inquiry_counts(
    session: Session, zones: dict[int, str], filters: Filters, edges: list[date], by: str | None = None
) -> pd.DataFrame:
    """(bin, group?, received, converted): inquiries received per local-date bin of the locations
    in `zones`. Read from their rollup unless types are filtered or asked for (then counted from
    the inquiries): the calendar months whole inside a bin from the monthly sums, the other days
    from the daily ones. Without groups summed per month or day in the database and binned here;
    per location, binned in the database, so that the rows returned do not grow with days x
    locations."""
    if filters.type_id is not None or by == "type":
        return _raw_inquiry_counts(session, zones, filters, edges, by)
    columns = ["bin", *(["group"] if by == "location" else []), "received", "converted"]
    if not zones:
        return pd.DataFrame(columns=columns)
    months, weeks, days = lead_spans(edges)
    days += [week + timedelta(days=i) for week in weeks for i in range(7)]
    rows = []
    for model, period, starts in (
        (MetricInquiryMonth, MetricInquiryMonth.month, months),
        (MetricInquiryDay, MetricInquiryDay.day, sorted(days)),
    ):
        if not starts:
            continue
        keys = [ordered_bins(period, edges), model.location_id] if by == "location" else [period]
        query = (
            select(*keys, func.sum(model.received), func.sum(model.converted))
            .where(among(session, model.location_id, zones), among(session, period, starts))
            .group_by(*keys)
        )
        rows += read_rows(session, query)
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    if by != "location":
        frame["bin"] = bins_of(frame["bin"], edges)
    return frame.groupby(columns[:-2], as_index=False)[["received", "converted"]].sum()


def _raw_inquiry_counts(
    session: Session, zones: dict[int, str], filters: Filters, edges: list[date], by: str | None = None
) -> pd.DataFrame:
    """inquiry_counts from the inquiries themselves, one query per time zone in scope (a type
    filter or grouping: the rollup has no types)."""
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
            select(*keys, func.count(), func.count(case((converted_clause(session), 1))))
            .where(Inquiry.location_id.in_(locs), Inquiry.received_at >= lo, Inquiry.received_at < hi)
            .group_by(*keys)
        )
        if filters.type_id is not None:
            query = query.where(Inquiry.type_id == filters.type_id)
        out.extend(read_rows(session, query))
    columns = ["bin"] + (["group"] if group_col is not None else []) + ["received", "converted"]
    return pd.DataFrame(out, columns=columns)
