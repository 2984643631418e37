"""Keeping the daily rollup in step with the appointments.

A bucket is (location, local day of start, provider or 0, type or 0). Every appointment change
(booking's `AppointmentChanged`, in the booking's transaction) recomputes the bucket the
appointment left and the one it is now in, from the appointments themselves: exact whatever the
change was (a reschedule across days or zones, a cancel, a note). The bucket row is locked first
(inserted if missing, then SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transaction is
already exclusive), so two bookings into one bucket recompute one after the other and the second
sees the first.

Writes that publish no events (CSV import of history, demo data) call `rebuild_rollups(session,
location_ids, days)` for what they touched; `python -m core rebuild-rollups` rebuilds it all.
Inquiries are counted apart (no event changes them): `rebuild_inquiry_rollup`, which
`rebuild_rollups` calls too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, cast, delete, func, insert, literal_column, or_, select
from sqlalchemy.orm import Session

from core.base.db import utcnow
from core.base.events import subscribe
from core.base.models import Appointment, AppointmentHistory, Inquiry, Location
from core.base.tz import local_range_bounds, zone
from core.metrics import capacity
from core.metrics.definitions import TOUCH_KINDS, day_runs, monday, month_start, next_month
from core.metrics.models import (
    COUNTS,
    NONE_KEY,
    MetricDaily,
    MetricInquiryDay,
    MetricInquiryMonth,
    MetricLead,
    MetricLeadMonth,
    MetricLeadWeek,
    MetricLocationDay,
    MetricLocationMonth,
    MetricProviderDay,
    MetricProviderWeekday,
)
from core.scheduling.events import AppointmentChanged, AppointmentsImported, ProviderScheduleChanged

Key = tuple[int, date, int, int]  # location, local day, provider_key, type_key
COUNTERS = COUNTS
_CHUNK = 5000
# The coarser lead histograms, each (model, its period column, the period start of a day).
COARSE = ((MetricLeadWeek, "week", monday), (MetricLeadMonth, "month", month_start))

_COLUMNS = (
    Appointment.id,
    Appointment.location_id,
    Appointment.provider_id,
    Appointment.type_id,
    Appointment.start_at,
    Appointment.end_at,
    Appointment.booked_at,
    Appointment.status,
    Appointment.late_cancel,
    Appointment.reschedule_count,
)


@dataclass
class Bucket:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    lead: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _add(bucket: Bucket, row, start_local: datetime, tz, touches: int) -> None:
    _id, _loc, provider_id, type_id, start, end, booked_at, status, late, resched, *_ = row
    c = bucket.counts
    c["appointments"] += 1
    c["touches"] += touches
    if resched:
        c["rescheduled"] += 1
    if booked_at is not None:
        bucket.lead[(start_local.date() - booked_at.astimezone(tz).date()).days] += 1
    minutes = int((end - start).total_seconds() // 60) if end is not None else None
    usable = provider_id is not None and type_id is not None and minutes is not None
    if status == "cancelled":
        c["cancelled"] += 1
        if late:
            c["late_cancel"] += 1
            if usable:
                c["late_cancel_min"] += minutes
        return
    if status == "completed":
        c["completed"] += 1
    elif status == "no_show":
        c["no_show"] += 1
    if not usable:
        return
    c["held"] += 1
    c["booked_min"] += minutes
    if status in ("completed", "checked_in"):
        c["attended_min"] += minutes
    elif status == "no_show":
        c["no_show_min"] += minutes


def _touches(session: Session, appointment_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for i in range(0, len(appointment_ids), _CHUNK):
        chunk = appointment_ids[i : i + _CHUNK]
        rows = session.execute(
            select(AppointmentHistory.appointment_id, func.count())
            .where(
                AppointmentHistory.appointment_id.in_(chunk),
                AppointmentHistory.manual.is_(True),
                AppointmentHistory.kind.in_(TOUCH_KINDS),
            )
            .group_by(AppointmentHistory.appointment_id)
        )
        found.update(dict(rows.all()))
    return found


def aggregate(session: Session, rows: Iterable, zones: dict[int, str]) -> dict[Key, Bucket]:
    """Buckets of the given appointment rows (`_COLUMNS`), touches included."""
    rows = list(rows)
    touches = _touches(session, [r[0] for r in rows]) if rows else {}
    tzs = {loc: zone(name) for loc, name in zones.items()}
    buckets: dict[Key, Bucket] = defaultdict(Bucket)
    for row in rows:
        tz = tzs[row[1]]
        start_local = row[4].astimezone(tz)
        key = (row[1], start_local.date(), row[2] or NONE_KEY, row[3] or NONE_KEY)
        _add(buckets[key], row, start_local, tz, touches.get(row[0], 0))
    return buckets


def _bucket_rows(session: Session, key: Key, tz: str) -> list:
    location_id, day, provider_key, type_key = key
    lo, hi = local_range_bounds(day, day, tz)
    query = select(*_COLUMNS).where(
        Appointment.location_id == location_id, Appointment.start_at >= lo, Appointment.start_at < hi
    )
    query = query.where(
        Appointment.provider_id.is_(None) if provider_key == NONE_KEY else Appointment.provider_id == provider_key,
        Appointment.type_id.is_(None) if type_key == NONE_KEY else Appointment.type_id == type_key,
    )
    return list(session.execute(query))


def _upsert(session: Session, model):
    """INSERT ... ON CONFLICT in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def _lock_bucket(session: Session, key: Key) -> MetricDaily:
    location_id, day, provider_key, type_key = key
    where = (
        MetricDaily.location_id == location_id,
        MetricDaily.day == day,
        MetricDaily.provider_key == provider_key,
        MetricDaily.type_key == type_key,
    )
    values = {"location_id": location_id, "day": day, "weekday": day.weekday(), "provider_key": provider_key,
              "type_key": type_key}  # fmt: skip
    session.execute(
        _upsert(session, MetricDaily)
        .values(**values, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["location_id", "day", "provider_key", "type_key"])
    )
    return session.scalars(select(MetricDaily).where(*where).with_for_update()).one()


def refresh_buckets(session: Session, keys: Iterable[Key]) -> None:
    """Recompute these buckets from the appointments, inside the caller's transaction, and
    move their weeks' and months' histograms by the difference."""
    moved: dict[tuple[int, date, int], int] = defaultdict(int)  # (location, day, lead) -> difference
    summed: dict[tuple[int, date, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two refreshes
        tz = session.get(Location, key[0]).timezone
        row = _lock_bucket(session, key)
        bucket = aggregate(session, _bucket_rows(session, key, tz), {key[0]: tz}).get(key, Bucket())
        for name, value in bucket.counts.items():
            summed[(key[0], key[1], key[2])][name] += value - getattr(row, name)
            setattr(row, name, value)
        row.updated_at = utcnow()
        for lead, n in session.execute(select(MetricLead.lead_days, MetricLead.n).where(*_lead_where(key))):
            moved[(key[0], key[1], lead)] -= n
        for lead, n in bucket.lead.items():
            moved[(key[0], key[1], lead)] += n
        session.execute(delete(MetricLead).where(*_lead_where(key)))
        if bucket.lead:
            session.execute(insert(MetricLead), _lead_rows(key, bucket))
    for model, column, start_of in COARSE:
        deltas: dict[tuple[int, date, int], int] = defaultdict(int)
        for (loc, day, lead), n in moved.items():
            deltas[(loc, start_of(day), lead)] += n
        _move_coarse(session, model.__table__, column, {k: n for k, n in deltas.items() if n})
    _move_sums(session, {k: d for k, d in summed.items() if any(d.values())})
    session.flush()


def _move_sums(session: Session, deltas: dict[tuple[int, date, int], dict[str, int]]) -> None:
    """Add the daily buckets' differences to the provider-days, location-days and location-months
    that hold them, and note each provider-day's (location, provider, weekday)."""
    if not deltas:
        return
    by_day: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    by_month: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for (loc, day, _prov), d in deltas.items():
        for name, value in d.items():
            by_day[(loc, day)][name] += value
            by_month[(loc, month_start(day))][name] += value
    _add_sums(session, MetricProviderDay.__table__, ["location_id", "day", "provider_key"], [
        {"location_id": loc, "day": day, "weekday": day.weekday(), "provider_key": prov, **d}
        for (loc, day, prov), d in sorted(deltas.items())
    ])  # fmt: skip
    _add_sums(session, MetricLocationDay.__table__, ["location_id", "day"],
              [{"location_id": loc, "day": day, **d} for (loc, day), d in sorted(by_day.items())])  # fmt: skip
    _add_sums(session, MetricLocationMonth.__table__, ["location_id", "month"],
              [{"location_id": loc, "month": month, **d} for (loc, month), d in sorted(by_month.items())])  # fmt: skip
    seen = sorted({(loc, prov, day.weekday()) for loc, day, prov in deltas if prov != NONE_KEY})
    if seen:
        stmt = _upsert(session, MetricProviderWeekday).on_conflict_do_nothing()
        session.execute(stmt, [{"location_id": loc, "provider_key": prov, "weekday": wd} for loc, prov, wd in seen])


def _add_sums(session: Session, table, key: list[str], rows: list[dict]) -> None:
    """Add these differences to the rows with these keys (an upsert that adds, row by row in one
    order: two bookings of other types or providers on one day add up; recomputing the sum from
    metric_daily would miss the other's uncommitted change)."""
    stmt = _upsert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=key, set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS}
    )
    session.execute(stmt, rows)


def _move_coarse(session: Session, table, column: str, deltas: dict[tuple[int, date, int], int]) -> None:
    """Add these differences to metric_lead_week or _month (an upsert: concurrent bookings in one
    week add up, row by row, in one order), then drop the rows they brought to zero."""
    if not deltas:
        return
    stmt = _upsert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["location_id", column, "lead_days"], set_={"n": table.c.n + stmt.excluded.n}
    )
    rows = [{"location_id": loc, column: start, "lead_days": lead, "n": n}
            for (loc, start, lead), n in sorted(deltas.items())]  # fmt: skip
    session.execute(stmt, rows)
    for loc, start in sorted({k[:2] for k, n in deltas.items() if n < 0}):
        session.execute(delete(table).where(table.c.location_id == loc, table.c[column] == start, table.c.n == 0))


def _lead_where(key: Key) -> tuple:
    location_id, day, provider_key, type_key = key
    return (
        MetricLead.location_id == location_id,
        MetricLead.day == day,
        MetricLead.provider_key == provider_key,
        MetricLead.type_key == type_key,
    )


def _lead_rows(key: Key, bucket: Bucket) -> list[dict]:
    location_id, day, provider_key, type_key = key
    return [
        {"location_id": location_id, "day": day, "provider_key": provider_key, "type_key": type_key,
         "lead_days": lead, "n": n}
        for lead, n in bucket.lead.items()
    ]  # fmt: skip


def bucket_key(session: Session, state) -> Key:
    tz = session.get(Location, state.location_id).timezone
    day = state.start.astimezone(zone(tz)).date()
    return (state.location_id, day, state.provider_id or NONE_KEY, state.type_id or NONE_KEY)


@subscribe(AppointmentChanged)
def _on_appointment_changed(session: Session, event: AppointmentChanged) -> None:
    keys = {bucket_key(session, s) for s in (event.before, event.after) if s is not None}
    refresh_buckets(session, keys)


# -- rebuilding ------------------------------------------------------------------------------


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
    for location_id in wanted:
        if location_id not in zones:
            continue
        daily, lead = (MetricDaily, MetricLead)
        stmt_d = delete(daily).where(daily.location_id == location_id)
        stmt_l = delete(lead).where(lead.location_id == location_id)
        query = select(*_COLUMNS).where(Appointment.location_id == location_id)
        if day_list is not None:
            if not day_list:
                continue
            runs = list(day_runs(day_list))
            stmt_d = stmt_d.where(or_(*(daily.day.between(a, b) for a, b in runs)))
            stmt_l = stmt_l.where(or_(*(lead.day.between(a, b) for a, b in runs)))
            spans = [local_range_bounds(a, b, zones[location_id]) for a, b in runs]
            query = query.where(or_(*((Appointment.start_at >= lo) & (Appointment.start_at < hi) for lo, hi in spans)))
        session.execute(stmt_d)
        session.execute(stmt_l)
        buckets = aggregate(session, session.execute(query), {location_id: zones[location_id]})
        if day_list is not None:
            keep = set(day_list)
            buckets = {k: b for k, b in buckets.items() if k[1] in keep}
        _write(session, buckets)
        _rebuild_provider_days(session, location_id, runs if day_list is not None else None)
        _rebuild_location_sums(session, location_id, day_list)
        _rebuild_coarse(session, location_id, day_list)
        counted += sum(b.counts["appointments"] for b in buckets.values())
    rebuild_inquiry_rollup(session, wanted, day_list)
    if location_ids is None and days is None:  # the available minutes come from hours, not appointments
        capacity.refresh(session)
    session.flush()
    return counted


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
    query = select(Inquiry.received_at, Inquiry.appointment_id.is_not(None)).where(Inquiry.location_id == location_id)
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


def _rebuild_provider_days(session: Session, location_id: int, runs: list[tuple[date, date]] | None) -> None:
    """Recompute the location's provider-days (of these runs of days, default all) from its
    (rebuilt) daily rows."""
    table, md = MetricProviderDay.__table__, MetricDaily
    stmt = delete(table).where(table.c.location_id == location_id)
    keys = (md.location_id, md.day, md.provider_key)
    source = select(*keys, func.min(md.weekday), *(func.sum(getattr(md, name)) for name in COUNTERS))
    source = source.where(md.location_id == location_id).group_by(*keys)
    if runs is not None:
        stmt = stmt.where(or_(*(table.c.day.between(a, b) for a, b in runs)))
        source = source.where(or_(*(md.day.between(a, b) for a, b in runs)))
    session.execute(stmt)
    columns = ["location_id", "day", "provider_key", "weekday", *COUNTERS]
    session.execute(insert(table).from_select(columns, source))


def _rebuild_location_sums(session: Session, location_id: int, days: list[date] | None) -> None:
    """Recompute the location's days (these, default all) and the months holding them from its
    (rebuilt) provider-days, and which (provider, weekday)s it has."""
    pd_, ld = MetricProviderDay, MetricLocationDay
    for table, source, period, start in (
        (ld.__table__, pd_, "day", pd_.day),
        (MetricLocationMonth.__table__, ld, "month", _start_in_sql(session, "month", ld.day)),
    ):
        stmt = delete(table).where(table.c.location_id == location_id)
        query = select(source.location_id, start, *(func.sum(getattr(source, name)) for name in COUNTERS))
        query = query.where(source.location_id == location_id).group_by(source.location_id, start)
        if days is not None:
            covered = days if period == "day" else _covered("month", days)
            runs = list(day_runs(covered))
            stmt = stmt.where(or_(*(table.c[period].between(a, b) for a, b in runs)))
            query = query.where(or_(*(source.day.between(a, b) for a, b in runs)))
        session.execute(stmt)
        session.execute(insert(table).from_select(["location_id", period, *COUNTERS], query))
    seen = MetricProviderWeekday.__table__
    session.execute(delete(seen).where(seen.c.location_id == location_id))
    weekdays = select(pd_.location_id, pd_.provider_key, pd_.weekday).distinct()
    weekdays = weekdays.where(pd_.location_id == location_id, pd_.provider_key != NONE_KEY)
    session.execute(insert(seen).from_select(["location_id", "provider_key", "weekday"], weekdays))


def _covered(column: str, days: list[date]) -> list[date]:
    """Every day of the weeks or months ("week" / "month") holding these days, in order."""
    starts = {(monday if column == "week" else month_start)(d) for d in days}
    return sorted({s + timedelta(days=i) for s in starts for i in range((_period_end(column, s) - s).days + 1)})


def _start_in_sql(session: Session, column: str, day):
    """`monday(day)` ("week") or `month_start(day)` ("month") in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc(literal_column(f"'{column}'"), day), Date)
    if column == "week":
        return func.date(day, literal_column("'weekday 0'"), literal_column("'-6 days'"))
    return func.date(day, literal_column("'start of month'"))


def _rebuild_coarse(session: Session, location_id: int, days: list[date] | None) -> None:
    """Recompute the location's weekly and monthly histograms, of the weeks and months holding
    these days (default all), from its (rebuilt) daily one."""
    ml = MetricLead
    for model, column, _ in COARSE:
        table = model.__table__
        stmt = delete(table).where(table.c.location_id == location_id)
        start = _start_in_sql(session, column, ml.day)
        source = select(ml.location_id, start, ml.lead_days, func.sum(ml.n))
        source = source.where(ml.location_id == location_id).group_by(ml.location_id, start, ml.lead_days)
        if days is not None:
            runs = list(day_runs(_covered(column, days)))
            stmt = stmt.where(or_(*(table.c[column].between(a, b) for a, b in runs)))
            source = source.where(or_(*(ml.day.between(a, b) for a, b in runs)))
        session.execute(stmt)
        session.execute(insert(table).from_select(["location_id", column, "lead_days", "n"], source))


def _period_end(column: str, start: date) -> date:
    """The last day of the week or month starting on `start`."""
    return start + timedelta(days=6) if column == "week" else next_month(start) - timedelta(days=1)


def _write(session: Session, buckets: dict[Key, Bucket]) -> None:
    now = utcnow()
    daily_rows, lead_rows = [], []
    for key, bucket in buckets.items():
        location_id, day, provider_key, type_key = key
        daily_rows.append(
            {"location_id": location_id, "day": day, "weekday": day.weekday(), "provider_key": provider_key,
             "type_key": type_key, "updated_at": now, **bucket.counts}
        )  # fmt: skip
        lead_rows.extend(_lead_rows(key, bucket))
    for rows, model in ((daily_rows, MetricDaily), (lead_rows, MetricLead)):
        for i in range(0, len(rows), _CHUNK):  # Core inserts: the ORM's bulk path costs more than the write
            session.execute(insert(model.__table__), rows[i : i + _CHUNK])


@subscribe(ProviderScheduleChanged)
def _on_schedule_changed(session: Session, event: ProviderScheduleChanged) -> None:
    """Hours, time off or a location's zone changed: the provider's available minutes with them."""
    capacity.refresh(session, [event.provider_id])


@subscribe(AppointmentsImported)
def _on_import(session: Session, event: AppointmentsImported) -> None:
    """An import writes history in bulk, without per-appointment events: rebuild the days it
    touched, per location, in the import's own transaction."""
    for location_id, (first, last) in event.days.items():
        span = (last - first).days + 1
        days = [first + timedelta(days=n) for n in range(span)] if span <= 400 else None
        rebuild_rollups(session, [location_id], days)
