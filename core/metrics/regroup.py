"""The daily rollup (metric_daily and its lead histogram metric_lead) rebuilt inside the database:
one INSERT ... SELECT ... GROUP BY over the appointments of some locations of one time zone, the
counts `rollup.aggregate` works out in Python for the buckets a booking touches (docs/metrics.md).
A rebuild of an import's 110,000 rows read each row into Python for it, which cost more than the
import's own inserts.

The local date of an instant is the database's to work out: PostgreSQL's AT TIME ZONE; on SQLite,
which knows no zones, the instant moved by the zone's UTC offset, taken from a CASE over the
offsets the zone has (by zoneinfo) between the first and last instant counted."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from core.base.clock import utcnow
from core.base.models import Appointment, AppointmentHistory, AppointmentType
from core.base.tz import local_range_bounds, zone
from core.metrics.definitions import TOUCH_KINDS
from core.metrics.models import NONE_KEY, MetricDaily, MetricLead
from core.metrics.rollup import SEAT_MINUTES

ONE_DAY = 86_400
SUMMED = ("completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held", *SEAT_MINUTES)
_SCRATCH = ["location_id", "day", "provider_key", "type_key", "lead_days", "seats", "n", *SUMMED]


def _scratch() -> Table:
    """A temporary table of the appointments counted by bucket and lead, for this transaction."""
    return Table(
        "metric_regroup", MetaData(),
        *(Column(name, Date if name == "day" else Integer) for name in _SCRATCH), prefixes=["TEMPORARY"],
    )  # fmt: skip


def offsets(tz: str, first: datetime, last: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets from `first` to `last`, as (until, seconds) in order: the offset is
    `seconds` before the instant `until` (and after the previous one); the last has until None.
    Offsets are read once a day and each change found to the second between two readings."""
    z = zone(tz)

    def offset(t: int) -> int:
        return int(datetime.fromtimestamp(t, z).utcoffset().total_seconds())

    t, end = int(first.timestamp()) - ONE_DAY, int(last.timestamp()) + ONE_DAY
    found, current = [], offset(t)
    while t < end:
        following = min(t + ONE_DAY, end)
        if offset(following) != current:
            lo, hi = t, following  # the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            found.append((datetime.fromtimestamp(hi, UTC), current))
            current = offset(hi)
        t = following
    return [*found, (None, current)]


def sqlite_local_date(column, table: list[tuple[datetime | None, int]]):
    """SQLite: the local date of the instants in `column`, by the zone's `offsets` table."""
    moved = literal(f"{table[-1][1]:+d} seconds")
    if len(table) > 1:
        moved = case(
            *((column < until, literal(f"{seconds:+d} seconds")) for until, seconds in table[:-1]), else_=moved
        )
    return type_coerce(func.date(column, moved), Date)


class _Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, session: Session, tz: str, first: datetime, last: datetime):
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.tz = tz
        self.table = None if self.pg else offsets(tz, first, last)

    def local_date(self, column):
        if self.pg:
            return cast(func.timezone(literal(self.tz), column), Date)
        return sqlite_local_date(column, self.table)

    def minutes(self, start, end):
        """Whole minutes from start to end (rounded down), NULL without an end."""
        if self.pg:
            return cast(func.floor(extract("epoch", end - start) / 60), Integer)
        ms = cast(func.round((func.julianday(end) - func.julianday(start)) * 86_400_000), Integer)
        return ms.op("/")(60_000)

    def days_between(self, later, earlier):
        if self.pg:
            return later - earlier
        return cast(func.julianday(later) - func.julianday(earlier), Integer)

    def weekday(self, day):
        """0 = Monday, as date.weekday()."""
        if self.pg:
            return cast(extract("isodow", day), Integer) - 1
        return (cast(func.strftime("%w", day), Integer) + 6) % 7


def _rounded(total, seats):
    """total / seats rounded half to even, in integers (as Python's round of the exact quotient)."""
    q, r = total.op("/")(seats), total.op("%")(seats)
    return q + case((r * 2 > seats, 1), (r * 2 == seats, q.op("%")(2)), else_=0)


def rebuild_daily(session: Session, location_ids: list[int], tz: str, runs: list[tuple[date, date]] | None) -> int:
    """Delete and recount metric_daily and metric_lead of these locations (all in zone `tz`) on
    these runs of local days (default every day); how many appointments were counted."""
    a, t, h = Appointment, AppointmentType, AppointmentHistory
    where = [a.location_id.in_(location_ids)]
    if runs is not None:
        spans = [local_range_bounds(first, last, tz) for first, last in runs]
        where.append(or_(*((a.start_at >= lo) & (a.start_at < hi) for lo, hi in spans)))
    for model in (MetricDaily, MetricLead):
        stmt = delete(model).where(model.location_id.in_(location_ids))
        if runs is not None:
            stmt = stmt.where(or_(*(model.day.between(first, last) for first, last in runs)))
        session.execute(stmt)
    instants = (func.min(a.start_at), func.max(a.start_at), func.min(a.booked_at), func.max(a.booked_at))
    bounds = [at for at in session.execute(select(*instants).where(*where)).one() if at is not None]
    if not bounds:
        return 0
    sql = _Dialect(session, tz, min(bounds), max(bounds))
    day = sql.local_date(a.start_at)
    minutes = sql.minutes(a.start_at, a.end_at)
    usable = and_(a.provider_id.is_not(None), a.type_id.is_not(None), a.end_at.is_not(None))
    cancelled = a.status == "cancelled"

    def flag(condition):
        return case((condition, 1), else_=0)

    touches = (
        select(func.count())
        .where(h.appointment_id == a.id, h.manual.is_(True), h.kind.in_(TOUCH_KINDS))
        .scalar_subquery()
    )
    rows = (
        select(
            a.location_id.label("location_id"),
            day.label("day"),
            func.coalesce(a.provider_id, NONE_KEY).label("provider_key"),
            func.coalesce(a.type_id, NONE_KEY).label("type_key"),
            case((t.capacity > 1, t.capacity), else_=1).label("seats"),
            flag(cancelled).label("cancelled"),
            flag(cancelled & a.late_cancel).label("late_cancel"),
            flag(a.status == "completed").label("completed"),
            flag(a.status == "no_show").label("no_show"),
            flag(a.reschedule_count != 0).label("rescheduled"),
            touches.label("touches"),
            flag(~cancelled & usable).label("held"),
            case((~cancelled & usable, minutes), else_=0).label("booked_min"),
            case((usable & a.status.in_(("completed", "checked_in")), minutes), else_=0).label("attended_min"),
            case((usable & (a.status == "no_show"), minutes), else_=0).label("no_show_min"),
            case((usable & cancelled & a.late_cancel, minutes), else_=0).label("late_cancel_min"),
            sql.days_between(day, sql.local_date(a.booked_at)).label("lead_days"),
        )  # fmt: skip
        .outerjoin(t, t.id == a.type_id)
        .where(*where)
        .subquery()
    )
    # One pass over the appointments, grouped by bucket and lead: the daily rows are its sums.
    kept = [] if runs is None else [or_(*(rows.c.day.between(first, last) for first, last in runs))]
    keys = [rows.c.location_id, rows.c.day, rows.c.provider_key, rows.c.type_key, rows.c.lead_days]
    by_lead = select(*keys, func.max(rows.c.seats), func.count(), *(func.sum(rows.c[n]) for n in SUMMED))
    scratch = _scratch()
    connection = session.connection()
    scratch.create(connection)
    session.execute(insert(scratch).from_select(_SCRATCH, by_lead.where(*kept).group_by(*keys)))
    c = scratch.c
    keys = [c.location_id, c.day, c.provider_key, c.type_key]
    counts = {"appointments": func.sum(c.n), **{n: func.sum(c[n]) for n in SUMMED if n not in SEAT_MINUTES}}
    counts |= {n: _rounded(func.sum(c[n]), func.max(c.seats)) for n in SEAT_MINUTES}
    daily = select(*keys, sql.weekday(c.day), literal(utcnow(), MetricDaily.updated_at.type), *counts.values())
    columns = ["location_id", "day", "provider_key", "type_key", "weekday", "updated_at", *counts]
    session.execute(insert(MetricDaily).from_select(columns, daily.group_by(*keys)))
    lead = select(*keys, c.lead_days, c.n).where(c.lead_days.is_not(None))
    session.execute(insert(MetricLead).from_select([*columns[:4], "lead_days", "n"], lead))
    scratch.drop(connection)
    md = MetricDaily
    counted = select(func.sum(md.appointments)).where(md.location_id.in_(location_ids))
    if runs is not None:
        counted = counted.where(or_(*(md.day.between(first, last) for first, last in runs)))
    return int(session.scalar(counted) or 0)
