"""Free-slot engine and provider routing.

Rules, in the location's local time:
- A slot is [start, start + duration) inside one of the provider's weekly shifts (WorkingHours)
  on that local date; shifts are built per local date and converted with `core.base.tz.local_to_utc`,
  so DST days (23/25 hours) come out right. Slots step through a shift from its start in real
  (UTC) minutes: every 15 minutes for individual types, every `duration` minutes for group types
  (so that people converge on the same sessions).
- The time held is the block [start - buffer_before, end + buffer_after]. It must not overlap
  another active appointment's block (same rule the database enforces, per provider and per
  room; members of one group session share a block), the provider's time off, or a busy block
  imported from Google Calendar (all-day blocks cover whole local days at the location).
  Buffers may fall outside working hours; the appointment itself may not.
- Minimum notice: start >= now + min_notice. Horizon: the local date of the start is at most
  `horizon_days` after today's local date. Capacity: a group session (capacity > 1) takes members
  until it is full.
- Required skills: the provider has every skill the type lists. Required room kind: some active
  room of that kind at the location is free for the whole block (or the room asked for).

Performance: six prepared queries per search (type, location, providers with their hours,
rooms, then every block held by those providers or rooms in the window through the
(provider_id, block_start) and (room_id, block_start) indexes, bounded below by the window start
less one day, and time off with busy blocks), then interval math in integer seconds, jumping past
a clash rather than testing every step. `Engine` also serves the booking services inside their
own transaction, so booking and availability apply exactly the same rules.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace

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
from sqlalchemy.orm import Session

from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, ValidationError
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
from core.base.tz import local_day_bounds, local_range_bounds, local_to_utc, to_local, today_in
from core.security.access import A, Actor
from core.security.service import check

STEP_MIN = 15  # slot step for individual types; group types step by their duration
MAX_RANGE_DAYS = 92  # one find_slots call covers at most this many local dates
ROUND_ROBIN_LOOKBACK = timedelta(days=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime
    provider_id: int
    provider_name: str
    room_id: int | None
    room_name: str | None
    location_id: int
    seats_left: int = 1  # group types: remaining capacity


@dataclass(frozen=True)
class Routing:
    """The provider (and room) picked for a start time, and why."""

    provider_id: int
    provider_name: str
    room_id: int | None
    room_name: str | None
    reason: str
    group_key: str | None = None
    seats_left: int = 1


@dataclass(frozen=True)
class Fit:
    """A provider and room that can take an appointment of the type at `start`."""

    provider_id: int
    provider_name: str
    start: datetime
    end: datetime
    block_start: datetime
    block_end: datetime
    room_id: int | None
    room_name: str | None
    group_key: str | None  # group types: the session's key; None: a fresh key per appointment
    seats_left: int = 1


# -- small helpers ---------------------------------------------------------------------------


def _ts(dt: datetime) -> int:
    return math.floor(dt.timestamp())


def _ts_end(dt: datetime) -> int:
    return math.ceil(dt.timestamp())


def _dt(ts: int) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


def fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def fmt_span(start: datetime, end: datetime, tz: str) -> str:
    return f"{to_local(start, tz):%H:%M}-{to_local(end, tz):%H:%M}"


def group_key_for(type_id: int, provider_id: int, start: datetime) -> str:
    """The shared key of a group session: one per type, provider and start."""
    return f"g:{type_id}:{provider_id}:{start.astimezone(UTC).isoformat()}"


def require_aware(value: datetime, what: str = "The start time") -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a date and time.")
    if value.tzinfo is None:
        raise ValidationError(f"{what} must carry a time zone (got {value:%Y-%m-%d %H:%M} without one).")
    return value.astimezone(UTC)


def _skills_text(skills: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in skills)


class _Busy:
    """Intervals [s, e) in epoch seconds with a key (group sessions share one) and a payload.
    `clash` finds one overlapping a block in O(log n + overlaps) using a running max of ends."""

    __slots__ = ("items", "starts", "maxend")

    def __init__(self, items: list[tuple]):
        items.sort(key=lambda it: it[0])
        self.items = items
        self.starts = [it[0] for it in items]
        self.maxend = []
        m = -(2**62)
        for it in items:
            m = max(m, it[1])
            self.maxend.append(m)

    def clash(self, s: int, e: int, key: str | None = None) -> tuple | None:
        j = bisect_left(self.starts, e) - 1
        items, maxend = self.items, self.maxend
        while j >= 0 and maxend[j] > s:
            it = items[j]
            if it[1] > s and (key is None or it[2] != key):
                return it
            j -= 1
        return None


_EMPTY = _Busy([])


@dataclass
class _Provider:
    id: int
    name: str
    skills: list
    shifts: dict[int, list[tuple[time, time]]]  # weekday -> [(start, end)] local


@dataclass
class _Room:
    id: int
    name: str
    kind: str


# -- prepared statements ---------------------------------------------------------------------
# Built once per dialect with bind parameters: building SQLAlchemy statements costs more than
# running these small indexed queries. Appointment blocks come back as epoch seconds computed
# by the database, so no datetime is parsed for the (many) rows of a busy week.

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
def _statements(dialect: str) -> dict[str, Select]:
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


# -- the engine ------------------------------------------------------------------------------


class Engine:
    """Availability rules for one appointment type at one location, over one session.

    `Engine(session, type_id, location_id, provider_id=..., room_id=...)` validates the ids and
    loads providers, hours and rooms; `load(first, last)` loads what holds time in that window;
    then `slots(...)`, `fits_at(...)` and `check(...)` answer questions without more queries.
    """

    def __init__(
        self,
        session: Session,
        type_id: int,
        location_id: int,
        *,
        provider_id: int | None = None,
        room_id: int | None = None,
    ):
        self.session = session
        self.sql = _statements(session.get_bind().dialect.name)
        atype = self._record("type", type_id)
        if atype is None or not atype.active:
            raise NotFound(f"Unknown appointment type #{type_id}.")
        location = self._record("location", location_id)
        if location is None or not location.active:
            raise NotFound(f"Unknown location #{location_id}.")
        offered = session.execute(self.sql["offered_at"], {"id": type_id}).scalars().all()
        if offered and location_id not in offered:
            raise ValidationError(f"{atype.name} is not offered at {location.name}.")
        self.type = atype
        self.location = location
        self.tz = location.timezone
        self.duration = atype.duration_min * 60
        self.before = atype.buffer_before_min * 60
        self.after = atype.buffer_after_min * 60
        self.capacity = atype.capacity
        self.step = (atype.duration_min if atype.capacity > 1 else STEP_MIN) * 60
        self.required_skills = list(atype.required_skills or [])
        self.providers = self._load_providers(provider_id)
        self.rooms = self._load_rooms(room_id)
        self.needs_room = bool(atype.room_kind) or bool(self.rooms)
        self.loaded: tuple[int, int] | None = None

    # -- static data -----------------------------------------------------------------------

    def _record(self, what: str, ident: int) -> SimpleNamespace | None:
        """A row as a read-only attribute bag (cheaper than an ORM object; same attribute names)."""
        row = self.session.execute(self.sql[what], {"id": ident}).first()
        return SimpleNamespace(**row._mapping) if row is not None else None

    def _load_providers(self, provider_id: int | None) -> list[_Provider]:
        s, loc = self.session, self.location
        if provider_id is not None:
            provider = s.execute(self.sql["provider"], {"id": provider_id, "location_id": loc.id}).first()
            if provider is None or not provider.active:
                raise NotFound(f"Unknown provider #{provider_id}.")
            if not provider.here:
                raise ValidationError(f"{provider.name} does not work at {loc.name}.")
            missing = [k for k in self.required_skills if k not in (provider.skills or [])]
            if missing:
                raise ValidationError(
                    f"{provider.name} does not have the skill {_skills_text(missing)} that {self.type.name} requires."
                )
            hours = s.execute(self.sql["hours"], {"id": provider_id, "location_id": loc.id}).all()
            rows = [(provider.id, provider.name, provider.skills, *h[1:]) for h in hours] or [
                (provider.id, provider.name, provider.skills, None, None, None)
            ]
        else:
            rows = s.execute(self.sql["providers"], {"location_id": loc.id}).all()
        providers: dict[int, _Provider] = {}
        required = self.required_skills
        for pid, name, skills, wd, st, et in rows:
            p = providers.get(pid)
            if p is None:
                if not all(k in (skills or []) for k in required):
                    continue
                p = providers[pid] = _Provider(pid, name, list(skills or []), defaultdict(list))
            if wd is not None:
                p.shifts[wd].append((st, et))
        return list(providers.values())

    def _load_rooms(self, room_id: int | None) -> list[_Room]:
        s, loc, kind = self.session, self.location, self.type.room_kind
        if room_id is not None:
            room = self._record("room", room_id)
            if room is None or not room.active:
                raise NotFound(f"Unknown room #{room_id}.")
            if room.location_id != loc.id:
                raise ValidationError(f"{room.name} is not at {loc.name}.")
            if kind and room.kind != kind:
                raise ValidationError(f"{room.name} is a '{room.kind}' room; {self.type.name} needs a '{kind}' room.")
            return [_Room(room.id, room.name, room.kind)]
        if not kind:
            return []
        rows = s.execute(self.sql["rooms"], {"location_id": loc.id, "kind": kind}).all()
        return [_Room(*r) for r in rows]

    # -- what holds time in a window ---------------------------------------------------------

    def load(self, first: date, last: date, *, exclude_appointment_id: int | None = None) -> None:
        """Load appointments, time off and busy blocks touching local dates first..last."""
        ws, we = local_range_bounds(first, last, self.tz)
        ws -= timedelta(seconds=self.before)
        we += timedelta(seconds=self.after)
        self.loaded = (_ts(ws), _ts_end(we))
        self.exclude_appointment_id = exclude_appointment_id
        s = self.session
        pids, rids = [p.id for p in self.providers], [r.id for r in self.rooms]
        self.sessions: dict[str, list] = {}  # group key -> [members, room_id]
        per_provider: dict[int, list] = defaultdict(list)
        per_room: dict[int, list] = defaultdict(list)
        group_prefix = f"g:{self.type.id}:"
        # One query for every block held by these providers or in these rooms.
        params = {"lo": ws - timedelta(days=1), "hi": we, "ws": ws, "exclude": exclude_appointment_id or -1}
        if pids and rids:
            stmt, params = self.sql["all_blocks"], params | {"pids": pids, "rids": rids}
        elif pids:
            stmt, params = self.sql["provider_blocks"], params | {"pids": pids}
        else:
            stmt, params = self.sql["room_blocks"], params | {"rids": rids}
        pid_set, rid_set = set(pids), set(rids)
        if pids or rids:
            for aid, pid, rid, bs, be, key in s.execute(stmt, params).all():
                if pid in pid_set:
                    per_provider[pid].append((bs, be, key, aid))
                    if key.startswith(group_prefix):
                        entry = self.sessions.setdefault(key, [0, rid])
                        entry[0] += 1
                if rid in rid_set:
                    per_room[rid].append((bs, be, key, aid))
        if pids:  # one query for their time off and calendar busy blocks
            margin = timedelta(days=1)
            window = {"pids": pids, "ws": ws, "we": we, "bws": ws - margin, "bwe": we + margin}
            for kind, pid, start_at, end_at, reason, d0, d1 in s.execute(self.sql["off_and_busy"], window).all():
                if kind == "time_off":
                    payload = ("time_off", start_at, end_at, reason)
                else:
                    if d0 is not None:
                        end_day = d1 if d1 is not None and d1 > d0 else d0 + timedelta(days=1)
                        start_at = local_day_bounds(d0, self.tz)[0]
                        end_at = local_day_bounds(end_day, self.tz)[0]
                    payload = ("busy", start_at, end_at, d0)
                per_provider[pid].append((_ts(start_at), _ts_end(end_at), None, payload))
        self.busy: dict[int, _Busy] = {pid: _Busy(items) for pid, items in per_provider.items()}
        self.room_busy: dict[int, _Busy] = {rid: _Busy(items) for rid, items in per_room.items()}

    # -- the rules ---------------------------------------------------------------------------

    def _shifts(self, provider: _Provider, day: date) -> list[tuple[int, int]]:
        """The provider's shifts on a local date as UTC seconds; back-to-back shifts merge."""
        merged: list[list[int]] = []
        for st, et in provider.shifts.get(day.weekday(), ()):  # sorted by start time
            s0, s1 = _ts(local_to_utc(day, st, self.tz)), _ts(local_to_utc(day, et, self.tz))
            if merged and s0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], s1)
            else:
                merged.append([s0, s1])
        return [(a, b) for a, b in merged]

    def _key(self, provider_id: int, start_ts: int) -> str | None:
        if self.capacity <= 1:
            return None
        return group_key_for(self.type.id, provider_id, _dt(start_ts))

    def _pick_room(
        self, bs: int, be: int, key: str | None, prefer: int | None = None
    ) -> tuple[_Room | None, tuple | None]:
        """A free room for the block (a group session's own room first, then `prefer`, then by
        name), or (None, the clash that blocked the last room tried)."""
        if not self.needs_room:
            return None, None
        preferred = prefer
        if key is not None and key in self.sessions:
            preferred = self.sessions[key][1]
        rooms = sorted(self.rooms, key=lambda r: r.id != preferred) if preferred is not None else self.rooms
        first_clash = None
        for room in rooms:
            clash = self.room_busy.get(room.id, _EMPTY).clash(bs, be, key)
            if clash is None:
                return room, None
            first_clash = first_clash or clash
        return None, first_clash

    def _seats_left(self, key: str | None) -> int:
        if key is None:
            return 1
        taken = self.sessions.get(key, (0,))[0]
        return self.capacity - taken

    def slots(self, first: date, last: date, *, now: datetime) -> list[Slot]:
        """Every free slot on local dates first..last, sorted by start, then provider."""
        earliest = _ts(now) + self.type.min_notice_min * 60
        last_day = min(last, today_in(self.tz, now) + timedelta(days=self.type.horizon_days))
        dur, before, after, step = self.duration, self.before, self.after, self.step
        group, needs_room = self.capacity > 1, self.needs_room
        raw: list[tuple] = []
        days = [first + timedelta(days=i) for i in range((last_day - first).days + 1)]
        for provider in self.providers:
            busy = self.busy.get(provider.id, _EMPTY)
            for day in days:
                for s0, s1 in self._shifts(provider, day):
                    t = s0
                    if t < earliest:  # jump to the first step at or after the earliest start
                        t += -(-(earliest - t) // step) * step
                    while t + dur <= s1:
                        bs, be = t - before, t + dur + after
                        key = self._key(provider.id, t) if group else None
                        clash = busy.clash(bs, be, key)
                        if clash is not None:
                            if not group:  # every step whose block starts before the clash ends clashes too
                                t += max(1, -(-(clash[1] - bs) // step)) * step
                                continue
                        else:
                            seats = self._seats_left(key) if key else 1
                            if seats > 0:
                                room, _ = self._pick_room(bs, be, key) if needs_room else (None, None)
                                if room is not None or not needs_room:
                                    raw.append((t, provider.name, provider.id, room, seats))
                        t += step
        raw.sort(key=lambda r: (r[0], r[1], r[2]))
        cache: dict[int, datetime] = {}
        out = []
        loc_id = self.location.id
        for t, name, pid, room, seats in raw:
            start = cache.get(t)
            if start is None:
                start = cache[t] = _dt(t)
            out.append(
                Slot(
                    start,
                    start + timedelta(seconds=dur),
                    pid,
                    name,
                    room.id if room else None,
                    room.name if room else None,
                    loc_id,
                    seats,
                )
            )
        return out

    def check_time_rules(self, start: datetime, now: datetime) -> None:
        """Rules that do not depend on the provider: past, minimum notice, horizon."""
        tz, name = self.tz, self.type.name
        if start < now:
            raise ValidationError(
                f"{fmt_day(to_local(start, tz).date())} {to_local(start, tz):%H:%M} is in the past; choose a later time."
            )
        notice = self.type.min_notice_min
        if notice and start < now + timedelta(minutes=notice):
            first = to_local(now + timedelta(minutes=notice), tz)
            raise ValidationError(
                f"{name} needs at least {notice} minutes' notice: the earliest start is "
                f"{fmt_day(first.date())} {first:%H:%M}."
            )
        last_day = today_in(tz, now) + timedelta(days=self.type.horizon_days)
        if to_local(start, tz).date() > last_day:
            raise ValidationError(
                f"{name} can be booked at most {self.type.horizon_days} days ahead (until {fmt_day(last_day)})."
            )

    def _provider(self, provider_id: int) -> _Provider:
        for p in self.providers:
            if p.id == provider_id:
                return p
        raise ValidationError(f"Provider #{provider_id} cannot take {self.type.name} at {self.location.name}.")

    def fit(self, provider_id: int, start: datetime, *, prefer_room_id: int | None = None) -> Fit | DomainProblem:
        """Whether this provider can take the type at `start`: a Fit, or the problem (not raised)."""
        provider = self._provider(provider_id)
        tz, loc = self.tz, self.location
        t = _ts(start)
        end_t = t + self.duration
        end = start + timedelta(seconds=self.duration)
        local = to_local(start, tz)
        shifts = self._shifts(provider, local.date())
        if not any(s0 <= t and end_t <= s1 for s0, s1 in shifts):
            hours = ", ".join(f"{st:%H:%M}-{et:%H:%M}" for st, et in provider.shifts.get(local.weekday(), ()))
            when = f"{fmt_day(local.date())}"
            detail = f" ({hours})" if hours else " (not working that day)"
            return DomainProblem(
                ValidationError,
                f"{fmt_span(start, end, tz)} is outside {provider.name}'s working hours at {loc.name} on {when}{detail}.",
            )
        bs, be = t - self.before, end_t + self.after
        key = self._key(provider.id, t)
        clash = self.busy.get(provider.id, _EMPTY).clash(bs, be, key)
        if clash is not None:
            return DomainProblem(ConflictError, self.describe_clash(provider.name, clash))
        seats = self._seats_left(key)
        if seats <= 0:
            return DomainProblem(
                ConflictError,
                f"The {self.type.name} session with {provider.name} at {local:%H:%M} on {fmt_day(local.date())} "
                f"is full ({self.capacity} of {self.capacity} places taken).",
            )
        room, room_clash = self._pick_room(bs, be, key, prefer_room_id)
        if self.needs_room and room is None:
            if not self.rooms:
                return DomainProblem(
                    ValidationError, f"{loc.name} has no {self.type.room_kind} room for {self.type.name}."
                )
            if len(self.rooms) == 1 and room_clash is not None:
                return DomainProblem(ConflictError, self.describe_room_clash(self.rooms[0].name, room_clash))
            kind = self.type.room_kind or "suitable"
            return DomainProblem(
                ConflictError,
                f"No {kind} room is free {fmt_span(_dt(bs), _dt(be), tz)} at {loc.name}.",
            )
        return Fit(
            provider.id,
            provider.name,
            start,
            end,
            _dt(bs),
            _dt(be),
            room.id if room else None,
            room.name if room else None,
            key,
            seats,
        )

    def check(self, provider_id: int, start: datetime, now: datetime, *, prefer_room_id: int | None = None) -> Fit:
        """Raise the specific error that stops this booking, or return where it fits."""
        self.check_time_rules(start, now)
        result = self.fit(provider_id, start, prefer_room_id=prefer_room_id)
        if isinstance(result, DomainProblem):
            raise result.error()
        return result

    def fits_at(self, start: datetime) -> tuple[list[Fit], list[DomainProblem]]:
        fits, problems = [], []
        for p in self.providers:
            result = self.fit(p.id, start)
            (problems if isinstance(result, DomainProblem) else fits).append(result)
        return fits, problems

    # -- messages ----------------------------------------------------------------------------

    def describe_clash(self, provider_name: str, clash: tuple) -> str:
        payload = clash[3]
        if isinstance(payload, int):  # an appointment's id
            return describe_appointment(self.session, payload, provider_name=provider_name)
        kind = payload[0]
        if kind == "time_off":
            _, s, e, reason = payload
            why = f" ({reason})" if reason else ""
            return f"{provider_name} is off {self._span_text(s, e)}{why}."
        _, s, e, all_day = payload
        if all_day is not None:
            return f"{provider_name} is busy all day on {fmt_day(all_day)} in their calendar."
        return f"{provider_name} is busy {self._span_text(s, e)} in their calendar."

    def describe_room_clash(self, room_name: str, clash: tuple) -> str:
        return describe_appointment(self.session, clash[3], room_name=room_name)

    def _span_text(self, s: datetime, e: datetime) -> str:
        ls, le = to_local(s, self.tz), to_local(e, self.tz)
        if ls.date() == le.date():
            return f"{ls:%H:%M}-{le:%H:%M} on {fmt_day(ls.date())}"
        return f"from {fmt_day(ls.date())} {ls:%H:%M} to {fmt_day(le.date())} {le:%H:%M}"


@dataclass(frozen=True)
class DomainProblem:
    kind: type
    message: str

    def error(self) -> Exception:
        return self.kind(self.message)


def describe_appointment(
    session: Session, appointment_id: int, *, provider_name: str | None = None, room_name: str | None = None
) -> str:
    """'Dr. Rao is already booked 10:00-10:30 at Downtown' (or 'Exam 1 is already in use ...'),
    in the conflicting appointment's own location time."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        who = provider_name or room_name or "That provider"
        return f"{who} was just booked at that time; choose another slot."
    location = session.get(Location, appt.location_id)
    span = fmt_span(appt.start_at, appt.end_at, location.timezone)
    if room_name is not None:
        return f"{room_name} is already in use {span} at {location.name}"
    name = provider_name or session.get(Provider, appt.provider_id).name
    return f"{name} is already booked {span} at {location.name}"


# -- routing ---------------------------------------------------------------------------------


def route(engine: Engine, fits: list[Fit], *, now: datetime) -> tuple[Fit, str]:
    """Pick one of the providers free at a start by the type's routing policy; say why."""
    if not fits:
        raise ValidationError("No provider is free at that time.")
    s, atype = engine.session, engine.type
    start = fits[0].start
    # A group session that already has members is joined before a new one is opened.
    joinable = [f for f in fits if f.group_key is not None and f.group_key in engine.sessions]
    if joinable:
        f = joinable[0]
        return f, f"{f.provider_name}: joins the existing {atype.name} session ({f.seats_left} places left)"
    if len(fits) == 1:
        f = fits[0]
        return f, f"{f.provider_name}: the only eligible provider free at that time"
    ids = [f.provider_id for f in fits]
    if atype.routing_policy == "least_booked":
        day = to_local(start, engine.tz).date()
        monday = day - timedelta(days=day.weekday())
        ws, we = local_range_bounds(monday, monday + timedelta(days=6), engine.tz)
        counts = dict(
            s.execute(
                select(Appointment.provider_id, func.count())
                .where(
                    Appointment.provider_id.in_(ids),
                    Appointment.block_start >= ws - timedelta(days=1),
                    Appointment.block_start < we,
                    Appointment.start_at >= ws,
                    Appointment.start_at < we,
                    Appointment.status != Status.CANCELLED.value,
                )
                .group_by(Appointment.provider_id)
            ).all()
        )
        best = min(fits, key=lambda f: (counts.get(f.provider_id, 0), f.provider_name, f.provider_id))
        n = counts.get(best.provider_id, 0)
        return best, f"{best.provider_name}: least booked this week ({n} appointment{'s' if n != 1 else ''})"
    last = dict(
        s.execute(
            select(Appointment.provider_id, func.max(Appointment.id))
            .where(
                Appointment.provider_id.in_(ids),
                Appointment.block_start >= now - ROUND_ROBIN_LOOKBACK,
                Appointment.type_id == atype.id,
                Appointment.location_id == engine.location.id,
            )
            .group_by(Appointment.provider_id)
        ).all()
    )
    best = min(fits, key=lambda f: (last.get(f.provider_id, 0), f.provider_name, f.provider_id))
    if best.provider_id not in last:
        why = f"round robin, next in turn (no recent {atype.name} here yet)"
    else:
        why = f"round robin, next in turn (longest since their last {atype.name} here)"
    return best, f"{best.provider_name}: {why}"


# -- public read services --------------------------------------------------------------------


def resolve_now(now: datetime | None) -> datetime:
    """The clock services use: `now` when a caller (a test, a replay) pins it, else the real one."""
    return require_aware(now, "`now`") if now is not None else datetime.now(UTC)


def find_slots(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    date_from: date,
    date_to: date,
    provider_id: int | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots for a type at a location on local dates date_from..date_to, sorted by start
    then provider. `exclude_appointment_id` ignores that appointment's own hold (reschedule)."""
    now = resolve_now(now)
    check(actor, A.APPOINTMENT_VIEW, location_id, entity="availability")
    if date_to < date_from:
        raise ValidationError(f"The end date {fmt_day(date_to)} is before the start date {fmt_day(date_from)}.")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"Choose at most {MAX_RANGE_DAYS} days at a time.")
    with read_session() as session:
        engine = Engine(session, type_id, location_id, provider_id=provider_id, room_id=room_id)
        engine.load(date_from, date_to, exclude_appointment_id=exclude_appointment_id)
        slots = engine.slots(date_from, date_to, now=now)
    return slots[:limit] if limit is not None else slots


def choose_provider(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    start: datetime,
    room_id: int | None = None,
    now: datetime | None = None,
) -> Routing:
    """Which provider would take a booking at `start` (no provider chosen), and why."""
    now = resolve_now(now)
    start = require_aware(start)
    check(actor, A.APPOINTMENT_VIEW, location_id, entity="availability")
    with read_session() as session:
        engine = Engine(session, type_id, location_id, room_id=room_id)
        return routing_for(engine, start, now=now)


def pick(
    engine: Engine, start: datetime, *, now: datetime, exclude_appointment_id: int | None = None
) -> tuple[Fit, str]:
    """Check the time rules, find every provider free at `start`, pick one by policy."""
    if not engine.providers:
        raise ValidationError(
            f"No provider at {engine.location.name} has the skills {engine.type.name} requires "
            f"({_skills_text(engine.required_skills)})."
        )
    engine.check_time_rules(start, now)
    day = to_local(start, engine.tz).date()
    engine.load(day, day, exclude_appointment_id=exclude_appointment_id)
    fits, problems = engine.fits_at(start)
    if not fits:
        if len(problems) == 1:
            raise problems[0].error()
        kind = ConflictError if all(p.kind is ConflictError for p in problems) else ValidationError
        local = to_local(start, engine.tz)
        reasons = "; ".join(p.message.rstrip(".") for p in problems)
        raise kind(
            f"No provider is free for {engine.type.name} at {local:%H:%M} on {fmt_day(local.date())} "
            f"at {engine.location.name}: {reasons}."
        )
    return route(engine, fits, now=now)


def routing_for(
    engine: Engine, start: datetime, *, now: datetime, exclude_appointment_id: int | None = None
) -> Routing:
    fit, reason = pick(engine, start, now=now, exclude_appointment_id=exclude_appointment_id)
    if fit.room_name:
        reason += f"; room {fit.room_name}"
    return Routing(
        fit.provider_id, fit.provider_name, fit.room_id, fit.room_name, reason, fit.group_key, fit.seats_left
    )
