"""The availability engine: one appointment type at one location, over one session.

Six prepared queries per search (type, location, providers with their hours, rooms, then every
block held by those providers or rooms in the window through the (provider_id, block_start) and
(room_id, block_start) indexes, bounded below by the window start less one day, and time off
with busy blocks), then interval math in integer seconds, jumping past a clash rather than
testing every step. `Engine` also serves the booking services inside their own transaction, so
booking and availability apply exactly the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy.orm import Session

from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.tz import local_day_bounds, local_range_bounds, local_to_utc, to_local, today_in
from core.scheduling.availability.index import NO_INTERVALS, IntervalIndex, epoch_ceil, epoch_floor, from_epoch
from core.scheduling.availability.messages import (
    describe_clash,
    describe_room_clash,
    fmt_day,
    fmt_span,
    skills_text,
)
from core.scheduling.availability.rules import STEP_MIN, DomainProblem, Fit, Slot, group_key_for
from core.scheduling.availability.sql import statements


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
        self.sql = statements(session.get_bind().dialect.name)
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
                    f"{provider.name} does not have the skill {skills_text(missing)} that {self.type.name} requires."
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
        self.loaded = (epoch_floor(ws), epoch_ceil(we))
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
                per_provider[pid].append((epoch_floor(start_at), epoch_ceil(end_at), None, payload))
        self.busy: dict[int, IntervalIndex] = {pid: IntervalIndex(items) for pid, items in per_provider.items()}
        self.room_busy: dict[int, IntervalIndex] = {rid: IntervalIndex(items) for rid, items in per_room.items()}

    # -- the rules ---------------------------------------------------------------------------

    def _shifts(self, provider: _Provider, day: date) -> list[tuple[int, int]]:
        """The provider's shifts on a local date as UTC seconds; back-to-back shifts merge."""
        merged: list[list[int]] = []
        for st, et in provider.shifts.get(day.weekday(), ()):  # sorted by start time
            s0, s1 = epoch_floor(local_to_utc(day, st, self.tz)), epoch_floor(local_to_utc(day, et, self.tz))
            if merged and s0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], s1)
            else:
                merged.append([s0, s1])
        return [(a, b) for a, b in merged]

    def _key(self, provider_id: int, start_ts: int) -> str | None:
        if self.capacity <= 1:
            return None
        return group_key_for(self.type.id, provider_id, from_epoch(start_ts))

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
            clash = self.room_busy.get(room.id, NO_INTERVALS).clash(bs, be, key)
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
        earliest = epoch_floor(now) + self.type.min_notice_min * 60
        last_day = min(last, today_in(self.tz, now) + timedelta(days=self.type.horizon_days))
        dur, before, after, step = self.duration, self.before, self.after, self.step
        group, needs_room = self.capacity > 1, self.needs_room
        raw: list[tuple] = []
        days = [first + timedelta(days=i) for i in range((last_day - first).days + 1)]
        for provider in self.providers:
            busy = self.busy.get(provider.id, NO_INTERVALS)
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
                start = cache[t] = from_epoch(t)
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
        t = epoch_floor(start)
        end_t = t + self.duration
        end = start + timedelta(seconds=self.duration)
        local = to_local(start, tz)
        shifts = self._shifts(provider, local.date())
        if not any(s0 <= t and end_t <= s1 for s0, s1 in shifts):
            hours = ", ".join(f"{st:%H:%M}–{et:%H:%M}" for st, et in provider.shifts.get(local.weekday(), ()))
            when = f"{fmt_day(local.date())}"
            detail = f" ({hours})" if hours else " (not working that day)"
            return DomainProblem(
                ValidationError,
                f"{fmt_span(start, end, tz)} is outside {provider.name}'s working hours at {loc.name} on {when}{detail}.",
            )
        bs, be = t - self.before, end_t + self.after
        key = self._key(provider.id, t)
        clash = self.busy.get(provider.id, NO_INTERVALS).clash(bs, be, key)
        if clash is not None:
            return DomainProblem(ConflictError, describe_clash(self.session, self.tz, provider.name, clash))
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
                return DomainProblem(ConflictError, describe_room_clash(self.session, self.rooms[0].name, room_clash))
            kind = self.type.room_kind or "suitable"
            return DomainProblem(
                ConflictError,
                f"No {kind} room is free {fmt_span(from_epoch(bs), from_epoch(be), tz)} at {loc.name}.",
            )
        return Fit(
            provider.id,
            provider.name,
            start,
            end,
            from_epoch(bs),
            from_epoch(be),
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
