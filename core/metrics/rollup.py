"""Keeping the daily rollup in step with the appointments.

A bucket is (location, local day of start, provider or 0, type or 0). Every appointment change
(booking's `AppointmentChanged`, in the booking's transaction) recomputes the bucket the
appointment left and the one it is now in, from the appointments themselves: exact whatever the
change was (a reschedule across days or zones, a cancel, a note). The bucket row is locked first
(inserted if missing, then SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transaction is
already exclusive), so two bookings into one bucket recompute one after the other and the second
sees the first.

Rebuilding from the appointments, for writes that publish no per-appointment events, is
`core.metrics.rebuild` (its counting, the same as `aggregate`'s, in SQL: `core.metrics.regroup`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.clock import utcnow
from core.base.models import Appointment, AppointmentHistory, AppointmentType, Location
from core.base.tz import local_range_bounds, zone
from core.metrics import prune
from core.metrics.definitions import TOUCH_KINDS, monday, month_start
from core.metrics.models import (
    COUNTS,
    NONE_KEY,
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
from core.scheduling.events import AppointmentChanged

Key = tuple[int, date, int, int]  # location, local day, provider_key, type_key
COUNTERS = COUNTS
_CHUNK = 5000
# The coarser lead histograms, each (model, the same summed over every location, its period
# column, the period start of a day).
COARSE = (
    (MetricLeadWeek, MetricLeadWeekAll, "week", monday),
    (MetricLeadMonth, MetricLeadMonthAll, "month", month_start),
)

COLUMNS = (
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
    # The type's places: a group class's minutes are shared by its seats (see docs/metrics.md).
    select(AppointmentType.capacity).where(AppointmentType.id == Appointment.type_id).scalar_subquery(),
)
# The minute counters, counted in seat-minutes: an appointment's minutes / its type's capacity.
SEAT_MINUTES = ("booked_min", "attended_min", "no_show_min", "late_cancel_min")


@dataclass
class Bucket:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    lead: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _add(bucket: Bucket, row, start_local: datetime, tz, touches: int) -> None:
    _id, _loc, provider_id, type_id, start, end, booked_at, status, late, resched, seats, *_ = row
    c = bucket.counts
    c["appointments"] += 1
    c["touches"] += touches
    if resched:
        c["rescheduled"] += 1
    if booked_at is not None:
        bucket.lead[(start_local.date() - booked_at.astimezone(tz).date()).days] += 1
    # one seat's share of the slot: a class of 8 fully booked holds its minutes once, not 8 times
    # (exact, rounded once per bucket as `regroup` rounds the sums in SQL)
    minutes = Fraction(int((end - start).total_seconds() // 60), max(seats or 1, 1)) if end is not None else None
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
    """Buckets of the given appointment rows (`COLUMNS`), touches included."""
    rows = list(rows)
    touches = _touches(session, [r[0] for r in rows]) if rows else {}
    tzs = {loc: zone(name) for loc, name in zones.items()}
    buckets: dict[Key, Bucket] = defaultdict(Bucket)
    for row in rows:
        tz = tzs[row[1]]
        start_local = row[4].astimezone(tz)
        key = (row[1], start_local.date(), row[2] or NONE_KEY, row[3] or NONE_KEY)
        _add(buckets[key], row, start_local, tz, touches.get(row[0], 0))
    for bucket in buckets.values():  # one type per bucket: its seat-minutes add up to whole minutes
        for name in SEAT_MINUTES:
            bucket.counts[name] = round(bucket.counts[name])  # half to even
    return buckets


def _bucket_rows(session: Session, key: Key, tz: str) -> list:
    location_id, day, provider_key, type_key = key
    lo, hi = local_range_bounds(day, day, tz)
    query = select(*COLUMNS).where(
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
    keys = sorted(set(keys))  # one order everywhere: no deadlock between two refreshes
    for location_id in sorted({key[0] for key in keys}):
        prune.hold_location(session, location_id)  # before any row lock there (see core.metrics.prune)
    for key in keys:
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
            session.execute(insert(MetricLead), lead_rows(key, bucket))
    for model, every, column, start_of in COARSE:
        deltas: dict[tuple[int, date, int], int] = defaultdict(int)
        for (loc, day, lead), n in moved.items():
            deltas[(loc, start_of(day), lead)] += n
        move_every(session, every, column, move_coarse(session, model, column, deltas))
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


def move_coarse(session: Session, model, column: str, deltas: dict[tuple[int, date, int], int]) -> Counter:
    """Add these differences ((location, period start, lead) -> n) to a weekly or monthly
    histogram; return them summed over locations ((period start, lead) -> n), what its
    every-location table moves by (`move_every`). Adding is the only way either changes, so that
    concurrent writers add up."""
    _add_counts(session, model.__table__, ["location_id", column, "lead_days"], deltas)
    overall: Counter = Counter()
    for (_loc, start, lead), n in deltas.items():
        overall[(start, lead)] += n
    return overall


def move_every(session: Session, every, column: str, deltas: Counter) -> None:
    """Add these differences ((period start, lead) -> n) to an every-location histogram. A
    rebuild of many locations adds theirs once: each addition to a row in one transaction
    lengthens the chain of versions the next one walks."""
    _add_counts(session, every.__table__, [column, "lead_days"], deltas)


def _add_counts(session: Session, table, key: list[str], deltas: dict[tuple, int]) -> None:
    """Add these differences to the `n` of the rows with these keys (an upsert: concurrent
    bookings in one week add up, row by row, in one order), then drop the rows they brought to
    zero."""
    deltas = {k: n for k, n in deltas.items() if n}
    if not deltas:
        return
    stmt = _upsert(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=key, set_={"n": table.c.n + stmt.excluded.n})
    session.execute(stmt, [{**dict(zip(key, k, strict=True)), "n": n} for k, n in sorted(deltas.items())])
    for start in sorted({k[:-1] for k, n in deltas.items() if n < 0}):
        session.execute(
            delete(table).where(*(table.c[c] == v for c, v in zip(key[:-1], start, strict=True)), table.c.n == 0)
        )


def _lead_where(key: Key) -> tuple:
    location_id, day, provider_key, type_key = key
    return (
        MetricLead.location_id == location_id,
        MetricLead.day == day,
        MetricLead.provider_key == provider_key,
        MetricLead.type_key == type_key,
    )


def lead_rows(key: Key, bucket: Bucket) -> list[dict]:
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
