"""The walk: each provider's local working day, block by block, filled towards the requested count."""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

from sqlalchemy import Connection

from core.base.models import Appointment
from core.base.tz import local_to_utc
from core.demo.appointments import Slot, add_appointment
from core.demo.bulk import to_epoch
from core.demo.catalogue import (
    AHEAD_DAYS,
    CHUNK,
    HALF_DAY_FROM,
    HISTORY_DAYS,
    MONTH_DEMAND,
    TYPES,
    WEEKDAY_DEMAND,
    TypeSpec,
    randint,
)
from core.demo.plans import LocationPlan, ProviderPlan
from core.demo.state import Builder


@dataclass
class Pace:
    """How the walk steers its fill rate towards the requested count."""

    remaining_weight: float  # weighted working minutes still ahead
    mean_block: float
    laid: int = 0  # blocks laid out
    walked: int = 0  # working minutes walked
    expected: float = 0.0  # appointments expected from the fill rates so far

    def fill(self, builder: Builder, weight: float) -> float:
        done = builder.counts["appointments"] + len(builder.appointment_rows)
        per_block = done / self.expected if self.expected > 200 else 1.15
        blocks_per_min = self.laid / self.walked if self.walked > 2000 else 1 / self.mean_block
        if self.remaining_weight <= 0:
            return 0.0
        fill = (builder.target - done) / (per_block * blocks_per_min * self.remaining_weight)
        return min(1.5, max(0.0, fill))


def day_anchor(builder: Builder, tz: str, day: date) -> int | None:
    """Epoch of local midnight for a day whose offset holds from 06:00 to 23:00 (true of every
    zone here: clocks change at night), or None when per-slot conversion is needed."""
    key = (tz, day)
    if key not in builder.day_anchors:
        six = local_to_utc(day, time(6), tz)
        late = local_to_utc(day, time(23), tz)
        builder.day_anchors[key] = to_epoch(six) - 6 * 3600 if late - six == timedelta(hours=17) else None
    return builder.day_anchors[key]


def day_factor(builder: Builder, day: date) -> float:
    if (day.month, day.day) in ((12, 25), (1, 1)):
        return 0.0
    f = WEEKDAY_DEMAND[day.weekday()] * MONTH_DEMAND[day.month - 1]
    f *= 0.92 + 0.16 * min(1.0, max(0.0, (day - builder.first_day).days / HISTORY_DAYS))  # the business grows
    ahead = (day - builder.today).days
    if ahead > 1:  # upcoming weeks are not fully booked yet
        f *= max(0.3, 1 - 0.7 * (ahead - 1) / (AHEAD_DAYS - 1))
    return f


def shifts(provider: ProviderPlan, day: date, segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The provider's working segments (local minutes) that day: none off, mornings on a half day."""
    if day in provider.off_days:
        return []
    half = day in provider.half_days
    return [(s, e) for s, e in segments if not (half and e > HALF_DAY_FROM)]


def working_weight(builder: Builder, day: date, factor: float) -> float:
    """The day's working minutes, weighted by demand."""
    if factor <= 0:
        return 0.0
    total = 0.0
    for loc in builder.locations:
        for provider, segments in loc.schedule[day.weekday()]:
            total += provider.demand * sum(e - s for s, e in shifts(provider, day, segments))
    return total * factor


def walk(builder: Builder, conn: Connection) -> None:
    """Lay out the year, day by day, every location, writing the appointments in chunks."""
    builder.next_appointment_id = builder.next_id(conn, Appointment)
    span = (builder.last_day - builder.first_day).days + 1
    days = [builder.first_day + timedelta(days=k) for k in range(span)]
    factors = [day_factor(builder, d) for d in days]
    weights = [working_weight(builder, d, f) for d, f in zip(days, factors, strict=True)]
    mean_block = sum(t.block * t.weight for t in TYPES) / sum(t.weight for t in TYPES)
    pace = Pace(remaining_weight=sum(weights), mean_block=mean_block)
    for day, factor, weight in zip(days, factors, weights, strict=True):
        if weight <= 0:
            continue
        fill = pace.fill(builder, weight)
        pace.remaining_weight -= weight
        for loc in builder.locations:
            walk_location_day(builder, loc, day, fill * factor, pace)
        if len(builder.appointment_rows) >= CHUNK:
            builder.flush(conn)
    builder.flush(conn)


def walk_location_day(builder: Builder, loc: LocationPlan, day: date, fill: float, pace: Pace) -> None:
    entries = loc.schedule[day.weekday()]
    if not entries:
        return
    anchor = day_anchor(builder, loc.tz, day)
    busy: dict[int, list[tuple[int, int]]] = {}  # shared room -> blocks taken that day
    for provider, segments in entries:
        chance = min(0.95, fill * provider.demand)
        for segment in shifts(provider, day, segments):
            walk_segment(builder, loc, provider, day, anchor, segment, chance, busy, pace)


def walk_segment(builder: Builder, loc: LocationPlan, provider: ProviderPlan, day: date, anchor: int | None,
                 segment: tuple[int, int], chance: float, busy: dict, pace: Pace) -> None:  # fmt: skip
    """Blocks of the provider's types, one after the other, each booked with `chance`."""
    rand = builder.rng.random
    top = provider.cum[-1]
    first, last = segment
    pace.walked += last - first
    minute = first
    while True:
        kind = provider.types[bisect(provider.cum, rand() * top)]
        end_minute = minute + kind.block
        if end_minute > last:
            break
        pace.laid += 1
        pace.expected += chance
        if rand() < chance:
            slot = place(builder, loc, provider, kind, day, anchor, (minute, end_minute), busy)
            if slot is not None:
                book_slot(builder, slot)
        minute = end_minute


def epoch_at(day: date, minute: int, tz: str, anchor: int | None) -> int:
    if anchor is not None:
        return anchor + minute * 60
    return to_epoch(local_to_utc(day, time(minute // 60, minute % 60), tz))


def place(builder: Builder, loc: LocationPlan, provider: ProviderPlan, kind: TypeSpec, day: date,
          anchor: int | None, minutes: tuple[int, int], busy: dict) -> Slot | None:  # fmt: skip
    """The slot for a block, with its room; None beyond the booking horizon or with no room free."""
    block_start, block_end = (epoch_at(day, m, loc.tz, anchor) for m in minutes)
    start = block_start + kind.before * 60
    if start - builder.now_epoch > kind.horizon * 86400:
        return None
    room = None
    if kind.room_kind == "exam":
        room = loc.exam_rooms[loc.providers.index(provider)]
    elif kind.room_kind is not None:
        room = free_room(loc.shared_rooms[kind.room_kind], busy, block_start, block_end)
        if room is None:
            return None
    end = start + kind.duration * 60
    return Slot(loc, provider, kind, room, block_start, start, end, block_end, day.weekday(), "")


def free_room(rooms: list[int], busy: dict, block_start: int, block_end: int) -> int | None:
    """The first shared room free for the block (taken for it), or None."""
    for room in rooms:
        taken = busy.setdefault(room, [])
        if all(b1 <= block_start or b0 >= block_end for b0, b1 in taken):
            taken.append((block_start, block_end))
            return room
    return None


def book_slot(builder: Builder, slot: Slot) -> None:
    """One appointment, or a group class of several sharing a group key."""
    rng = builder.rng
    group = replace(slot, group_key=f"{rng.getrandbits(128):032x}")
    if slot.kind.capacity > 1:
        for _ in range(randint(rng, 3, slot.kind.capacity)):
            add_appointment(builder, group, may_rebook=False)
    else:
        add_appointment(builder, group, may_rebook=True)
