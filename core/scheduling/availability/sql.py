"""The prepared statements behind a search.

Built once per dialect with bind parameters: building SQLAlchemy statements costs more than
running these small indexed queries. Appointment blocks come back as epoch seconds computed
by the database, so no datetime is parsed for the (many) rows of a busy week.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from core.base.models import (
    Appointment,
    AppointmentType,
    BusyBlock,
    Location,
    Provider,
    Room,
    Status,
    TimeOff,
    WorkingHours,
    provider_locations,
    type_locations,
)

_APPT = Appointment.__table__
_HOURS = WorkingHours.__table__
_PROV = Provider.__table__
_ROOM = Room.__table__
_OFF = TimeOff.__table__
_BUSY = BusyBlock.__table__


def _epoch(col, dialect: str, *, ceil: bool = False):
    if dialect == "sqlite":
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); round a fractional second outwards
        whole = cast(func.strftime("%s", col), BigInteger)
        return whole + case((cast(func.substr(col, 21), Integer) > 0, 1), else_=0) if ceil else whole
    seconds = extract("epoch", col)
    return cast(func.ceil(seconds) if ceil else func.floor(seconds), BigInteger)


@lru_cache(maxsize=4)
def statements(dialect: str) -> dict[str, Select]:
    a = _APPT.c

    def blocks(where):
        return select(
            a.id,
            a.provider_id,
            a.room_id,
            _epoch(a.block_start, dialect),
            _epoch(a.block_end, dialect, ceil=True),
            a.group_key,
        ).where(
            where,
            # Blocks are at most one day long (database rule): the index range stays bounded.
            a.block_start >= bindparam("lo"),
            a.block_start < bindparam("hi"),
            a.block_end > bindparam("ws"),
            a.status != Status.CANCELLED.value,
            a.id != bindparam("exclude"),
        )

    pids, rids = bindparam("pids", expanding=True), bindparam("rids", expanding=True)
    off = select(
        literal_column("'time_off'").label("kind"),
        _OFF.c.provider_id,
        _OFF.c.start_at,
        _OFF.c.end_at,
        _OFF.c.reason,
        cast(null(), Date).label("day_from"),
        cast(null(), Date).label("day_to"),
    ).where(_OFF.c.provider_id.in_(pids), _OFF.c.start_at < bindparam("we"), _OFF.c.end_at > bindparam("ws"))
    # all-day blocks are re-anchored to the location's local days: look a day further each way
    busy = select(
        literal_column("'busy'"),
        _BUSY.c.provider_id,
        _BUSY.c.start_at,
        _BUSY.c.end_at,
        cast(null(), String),
        _BUSY.c.all_day_start,
        _BUSY.c.all_day_end,
    ).where(_BUSY.c.provider_id.in_(pids), _BUSY.c.start_at < bindparam("bwe"), _BUSY.c.end_at > bindparam("bws"))

    by_id = bindparam("id")
    here = (
        select(provider_locations.c.provider_id)
        .where(
            provider_locations.c.provider_id == _PROV.c.id,
            provider_locations.c.location_id == bindparam("location_id"),
        )
        .exists()
    )
    return {
        "type": select(AppointmentType.__table__).where(AppointmentType.__table__.c.id == by_id),
        "location": select(Location.__table__).where(Location.__table__.c.id == by_id),
        "offered_at": select(type_locations.c.location_id).where(type_locations.c.type_id == by_id),
        "room": select(_ROOM).where(_ROOM.c.id == by_id),
        "provider": select(_PROV.c.id, _PROV.c.name, _PROV.c.skills, _PROV.c.active, here.label("here")).where(
            _PROV.c.id == by_id
        ),
        # providers at the location with their hours there (one row per shift, or one without)
        "providers": select(
            _PROV.c.id, _PROV.c.name, _PROV.c.skills, _HOURS.c.weekday, _HOURS.c.start_time, _HOURS.c.end_time
        )
        .join(provider_locations, provider_locations.c.provider_id == _PROV.c.id)
        .outerjoin(_HOURS, and_(_HOURS.c.provider_id == _PROV.c.id, _HOURS.c.location_id == bindparam("location_id")))
        .where(provider_locations.c.location_id == bindparam("location_id"), _PROV.c.active.is_(True))
        .order_by(_PROV.c.name, _PROV.c.id, _HOURS.c.start_time),
        "hours": select(_HOURS.c.provider_id, _HOURS.c.weekday, _HOURS.c.start_time, _HOURS.c.end_time)
        .where(
            _HOURS.c.provider_id == bindparam("id"),
            _HOURS.c.location_id == bindparam("location_id"),
        )
        .order_by(_HOURS.c.start_time),
        "rooms": select(_ROOM.c.id, _ROOM.c.name, _ROOM.c.kind)
        .where(
            _ROOM.c.location_id == bindparam("location_id"),
            _ROOM.c.kind == bindparam("kind"),
            _ROOM.c.active.is_(True),
        )
        .order_by(_ROOM.c.name, _ROOM.c.id),
        "provider_blocks": blocks(a.provider_id.in_(pids)),
        "room_blocks": blocks(a.room_id.in_(rids)),
        "all_blocks": blocks(or_(a.provider_id.in_(pids), a.room_id.in_(rids))),
        "off_and_busy": union_all(off, busy),
    }
