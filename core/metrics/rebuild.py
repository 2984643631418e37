"""Rebuilding the rollup from its sources, for writes that publish no per-appointment events.

A CSV import of history publishes `AppointmentsImported` and the days it touched are rebuilt in
its transaction; demo data and `python -m core rebuild-rollups` call `rebuild_rollups` for
everything. Inquiries are counted apart: `rebuild_inquiry_rollup`, on InquiryChanged (one
inquiry) and InquiriesRecorded (a bulk write), and which `rebuild_rollups` calls too. The available minutes come from working hours and time off, and are
recomputed by `capacity.refresh` when settings publishes ProviderScheduleChanged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Date, cast, delete, func, insert, literal_column, or_, select, type_coerce
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Appointment, Inquiry, Location, WorkingHours
from core.base.tz import local_range_bounds, zone
from core.inquiries.events import InquiriesRecorded, InquiryChanged
from core.metrics import capacity
from core.metrics.definitions import day_runs, monday, month_start, next_month
from core.metrics.inquiries import converted_clause
from core.metrics.models import (
    NONE_KEY,
    MetricCapacity,
    MetricDaily,
    MetricInquiryDay,
    MetricInquiryMonth,
    MetricLead,
    MetricLocationDay,
    MetricLocationMonth,
    MetricProviderDay,
    MetricProviderWeekday,
)
from core.metrics.regroup import rebuild_daily
from core.metrics.rollup import COARSE, COUNTERS, move_coarse, move_every
from core.scheduling.events import AppointmentsImported, LocationZoneChanged, ProviderScheduleChanged

_CHUNK = 5000


def rebuild_rollups(
    session: Session, location_ids: Iterable[int] | None = None, days: Iterable[date] | None = None
) -> int:
    """Recompute the rollup of these locations (default all) on these local days (default
    every day), inside the caller's transaction (for writers that publish no events, such as a
    bulk import). Returns how many appointments were counted."""
    zones = dict(session.execute(select(Location.id, Location.timezone)).all())
    wanted = sorted(set(location_ids)) if location_ids is not None else sorted(zones)
    day_list = sorted(set(days)) if days is not None else None
    counted = 0
    if location_ids is None and days is None:  # from nothing: the every-location sums too
        for model, every, _, _ in COARSE:
            session.execute(delete(every.__table__))
            session.execute(delete(model.__table__))
    overall: dict[str, Counter] = {column: Counter() for _, _, column, _ in COARSE}
    wanted = [location_id for location_id in wanted if location_id in zones]
    if wanted and day_list != []:
        runs = list(day_runs(day_list)) if day_list is not None else None
        by_zone: dict[str, list[int]] = defaultdict(list)
        for location_id in wanted:
            by_zone[zones[location_id]].append(location_id)
        for tz, ids in sorted(by_zone.items()):
            counted += rebuild_daily(session, ids, tz, runs)
        _rebuild_provider_days(session, wanted, runs)
        _rebuild_location_sums(session, wanted, day_list)
        _rebuild_coarse(session, wanted, day_list, overall)
    for _, every, column, _ in COARSE:
        move_every(session, every, column, overall[column])
    rebuild_inquiry_rollup(session, wanted, day_list)
    if location_ids is None and days is None:  # the available minutes come from hours, not appointments
        capacity.refresh(session)
    session.flush()
    return counted


def rollups_missing(session: Session) -> bool:
    """True when the derived tables are empty while their sources are not: a database migrated
    from before a rollup existed (migrations create the tables, never fill them), or one whose
    rollups were emptied. `python -m core init-db` then runs rebuild-rollups."""

    def has(model) -> bool:
        return session.scalar(select(literal_column("1")).select_from(model).limit(1)) is not None

    return (has(Appointment) and not has(MetricDaily)) or (has(WorkingHours) and not has(MetricCapacity))


def rebuild_inquiry_rollup(
    session: Session, location_ids: Iterable[int] | None = None, days: Iterable[date] | None = None
) -> None:
    """Recompute the inquiry counts of these locations (default all) on these local days (default
    every day), and of the months holding those days, from the inquiries, inside the caller's
    transaction: what a writer of inquiries calls for what it touched."""
    zones = dict(session.execute(select(Location.id, Location.timezone)).all())
    wanted = sorted(set(location_ids)) if location_ids is not None else sorted(zones)
    day_list = sorted(set(days)) if days is not None else None
    if day_list == []:
        return
    for location_id in (loc for loc in wanted if loc in zones):
        _rebuild_inquiry_days(session, location_id, zones[location_id], day_list)
        _rebuild_inquiry_months(session, location_id, day_list)
    session.flush()


def _rebuild_inquiry_days(session: Session, location_id: int, tz: str, days: list[date] | None) -> None:
    """Count the location's inquiries per local date of receipt (on these days, default all)."""
    table = MetricInquiryDay.__table__
    stmt = delete(table).where(table.c.location_id == location_id)
    query = select(Inquiry.received_at, converted_clause(session)).where(Inquiry.location_id == location_id)
    if days is not None:
        runs = list(day_runs(days))
        stmt = stmt.where(or_(*(table.c.day.between(a, b) for a, b in runs)))
        spans = [local_range_bounds(a, b, tz) for a, b in runs]
        query = query.where(or_(*((Inquiry.received_at >= lo) & (Inquiry.received_at < hi) for lo, hi in spans)))
    session.execute(stmt)
    local = zone(tz)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for received_at, converted in session.execute(query):
        day = counts[received_at.astimezone(local).date()]
        day[0] += 1
        day[1] += bool(converted)
    rows = [{"location_id": location_id, "day": day, "received": r, "converted": c}
            for day, (r, c) in sorted(counts.items())]  # fmt: skip
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(table), rows[i : i + _CHUNK])


def _rebuild_inquiry_months(session: Session, location_id: int, days: list[date] | None) -> None:
    """Sum the location's (rebuilt) inquiry days per month, of the months holding these days
    (default all)."""
    table, md = MetricInquiryMonth.__table__, MetricInquiryDay
    stmt = delete(table).where(table.c.location_id == location_id)
    month = _start_in_sql(session, "month", md.day)
    source = select(md.location_id, month, func.sum(md.received), func.sum(md.converted))
    source = source.where(md.location_id == location_id).group_by(md.location_id, month)
    if days is not None:
        starts = sorted({month_start(d) for d in days})
        stmt = stmt.where(table.c.month.in_(starts))
        source = source.where(or_(*(md.day.between(s, _period_end("month", s)) for s in starts)))
    session.execute(stmt)
    session.execute(insert(table).from_select(["location_id", "month", "received", "converted"], source))


def _rebuild_provider_days(session: Session, location_ids: list[int], runs: list[tuple[date, date]] | None) -> None:
    """Recompute the locations' provider-days (of these runs of days, default all) from their
    (rebuilt) daily rows."""
    table, md = MetricProviderDay.__table__, MetricDaily
    stmt = delete(table).where(table.c.location_id.in_(location_ids))
    keys = (md.location_id, md.day, md.provider_key)
    source = select(*keys, func.min(md.weekday), *(func.sum(getattr(md, name)) for name in COUNTERS))
    source = source.where(md.location_id.in_(location_ids)).group_by(*keys)
    if runs is not None:
        stmt = stmt.where(or_(*(table.c.day.between(a, b) for a, b in runs)))
        source = source.where(or_(*(md.day.between(a, b) for a, b in runs)))
    session.execute(stmt)
    columns = ["location_id", "day", "provider_key", "weekday", *COUNTERS]
    session.execute(insert(table).from_select(columns, source))


def _rebuild_location_sums(session: Session, location_ids: list[int], days: list[date] | None) -> None:
    """Recompute the locations' days (these, default all) and the months holding them from their
    (rebuilt) provider-days, and which (provider, weekday)s they have."""
    pd_, ld = MetricProviderDay, MetricLocationDay
    for table, source, period, start in (
        (ld.__table__, pd_, "day", pd_.day),
        (MetricLocationMonth.__table__, ld, "month", _start_in_sql(session, "month", ld.day)),
    ):
        stmt = delete(table).where(table.c.location_id.in_(location_ids))
        query = select(source.location_id, start, *(func.sum(getattr(source, name)) for name in COUNTERS))
        query = query.where(source.location_id.in_(location_ids)).group_by(source.location_id, start)
        if days is not None:
            covered = days if period == "day" else _covered("month", days)
            runs = list(day_runs(covered))
            stmt = stmt.where(or_(*(table.c[period].between(a, b) for a, b in runs)))
            query = query.where(or_(*(source.day.between(a, b) for a, b in runs)))
        session.execute(stmt)
        session.execute(insert(table).from_select(["location_id", period, *COUNTERS], query))
    seen = MetricProviderWeekday.__table__
    session.execute(delete(seen).where(seen.c.location_id.in_(location_ids)))
    weekdays = select(pd_.location_id, pd_.provider_key, pd_.weekday).distinct()
    weekdays = weekdays.where(pd_.location_id.in_(location_ids), pd_.provider_key != NONE_KEY)
    session.execute(insert(seen).from_select(["location_id", "provider_key", "weekday"], weekdays))


def _covered(column: str, days: list[date]) -> list[date]:
    """Every day of the weeks or months ("week" / "month") holding these days, in order."""
    starts = {(monday if column == "week" else month_start)(d) for d in days}
    return sorted({s + timedelta(days=i) for s in starts for i in range((_period_end(column, s) - s).days + 1)})


def _start_in_sql(session: Session, column: str, day):
    """`monday(day)` ("week") or `month_start(day)` ("month") in SQL, read as a date."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc(literal_column(f"'{column}'"), day), Date)
    if column == "week":
        return type_coerce(func.date(day, literal_column("'weekday 0'"), literal_column("'-6 days'")), Date)
    return type_coerce(func.date(day, literal_column("'start of month'")), Date)


def _rebuild_coarse(
    session: Session, location_ids: list[int], days: list[date] | None, overall: dict[str, Counter]
) -> None:
    """Recompute the locations' weekly and monthly histograms, of the weeks and months holding
    these days (default all), from their (rebuilt) daily ones: moved by the difference, as a
    booking moves them, which is added to `overall` (per period column) for the every-location
    tables."""
    ml = MetricLead
    for model, _, column, _ in COARSE:
        table = model.__table__
        start = _start_in_sql(session, column, ml.day)
        new = select(ml.location_id, start, ml.lead_days, func.sum(ml.n)).where(ml.location_id.in_(location_ids))
        new = new.group_by(ml.location_id, start, ml.lead_days)
        old = select(table.c.location_id, table.c[column], table.c.lead_days, table.c.n)
        old = old.where(table.c.location_id.in_(location_ids))
        if days is not None:
            runs = list(day_runs(_covered(column, days)))
            new = new.where(or_(*(ml.day.between(a, b) for a, b in runs)))
            old = old.where(or_(*(table.c[column].between(a, b) for a, b in runs)))
        deltas: dict[tuple[int, date, int], int] = defaultdict(int)
        for sign, query in ((1, new), (-1, old)):
            for location_id, period, lead, n in session.execute(query):
                deltas[(location_id, period, lead)] += sign * n
        overall[column].update(move_coarse(session, model, column, deltas))


def _period_end(column: str, start: date) -> date:
    """The last day of the week or month starting on `start`."""
    return start + timedelta(days=6) if column == "week" else next_month(start) - timedelta(days=1)


@subscribe(InquiryChanged)
def _on_inquiry_changed(session: Session, event: InquiryChanged) -> None:
    tz = session.scalar(select(Location.timezone).where(Location.id == event.location_id))
    if tz is not None:
        rebuild_inquiry_rollup(session, [event.location_id], [event.received_at.astimezone(zone(tz)).date()])


@subscribe(InquiriesRecorded)
def _on_inquiries_recorded(session: Session, event: InquiriesRecorded) -> None:
    """Many inquiries written at once: each location's counts over the days they span."""
    for location_id, days in event.days.items():
        rebuild_inquiry_rollup(session, [location_id], _span(days))


@subscribe(ProviderScheduleChanged)
def _on_schedule_changed(session: Session, event: ProviderScheduleChanged) -> None:
    """Hours, time off or a location's zone changed: the provider's available minutes with them."""
    capacity.refresh(session, [event.provider_id])


@subscribe(AppointmentsImported)
def _on_import(session: Session, event: AppointmentsImported) -> None:
    """An import writes history in bulk, without per-appointment events: rebuild the days it
    touched, in the import's own transaction: one rebuild for the locations that share a span
    of days (a file of many places over the same weeks is one pass, its sums moved once)."""
    by_span: dict[tuple[date, date], list[int]] = defaultdict(list)
    for location_id, span in event.days.items():
        by_span[span].append(location_id)
    for span, location_ids in sorted(by_span.items()):
        rebuild_rollups(session, location_ids, _span(span))


def _span(days: tuple[date, date]) -> list[date] | None:
    """The days from first to last, or None (every day) past 400 of them."""
    first, last = days
    span = (last - first).days + 1
    return [first + timedelta(days=n) for n in range(span)] if span <= 400 else None


@subscribe(LocationZoneChanged)
def _on_zone_changed(session: Session, event: LocationZoneChanged) -> None:
    """A location's appointments and inquiries fall on other local days in its new zone: rebuild
    its rollup, in the settings transaction."""
    rebuild_rollups(session, [event.location_id])
