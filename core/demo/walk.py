"""The walk: each provider's local working day, block by block, filled towards the requested count."""

from __future__ import annotations

from bisect import bisect
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from core.base.tz import local_to_utc
from core.demo.appointments import add_appointment
from core.demo.bulk import to_epoch
from core.demo.catalogue import (
    AHEAD_DAYS,
    CHUNK,
    HALF_DAY_FROM,
    HISTORY_DAYS,
    MONTH_DEMAND,
    TYPES,
    WEEKDAY_DEMAND,
    randint,
)

if TYPE_CHECKING:
    from core.demo.builder import Builder


def day_anchor(b: Builder, tz: str, day: date) -> int | None:
    """Epoch of local midnight for a day whose offset holds from 06:00 to 23:00 (true of every
    zone here: clocks change at night), or None when per-slot conversion is needed."""
    key = (tz, day)
    if key not in b.anchors:
        six = local_to_utc(day, time(6), tz)
        late = local_to_utc(day, time(23), tz)
        b.anchors[key] = to_epoch(six) - 6 * 3600 if late - six == timedelta(hours=17) else None
    return b.anchors[key]


def day_factor(b: Builder, day: date) -> float:
    if (day.month, day.day) in ((12, 25), (1, 1)):
        return 0.0
    f = WEEKDAY_DEMAND[day.weekday()] * MONTH_DEMAND[day.month - 1]
    f *= 0.92 + 0.16 * min(1.0, max(0.0, (day - b.first_day).days / HISTORY_DAYS))  # the business grows
    ahead = (day - b.today).days
    if ahead > 1:  # upcoming weeks are not fully booked yet
        f *= max(0.3, 1 - 0.7 * (ahead - 1) / (AHEAD_DAYS - 1))
    return f


def walk(b: Builder, conn: Connection) -> None:
    rng = b.rng
    rand = rng.random
    days = [b.first_day + timedelta(days=k) for k in range((b.last_day - b.first_day).days + 1)]
    factors = [day_factor(b, d) for d in days]

    # Weighted working minutes per day, to steer the fill rate towards the requested count.
    weighted = []
    for day, fac in zip(days, factors, strict=True):
        wd = day.weekday()
        total = 0.0
        if fac > 0:
            for loc in b.locs:
                for p, segments in loc.schedule[wd]:
                    if day in p.off_days:
                        continue
                    half = day in p.half_days
                    total += p.demand * sum(e - s for s, e in segments if not (half and e > HALF_DAY_FROM))
        weighted.append(total * fac)
    remaining_w = sum(weighted)
    mean_block = sum(t.block * t.weight for t in TYPES) / sum(t.weight for t in TYPES)
    laid = 0
    walked = 0
    expected = 0.0
    now = b.now_e

    for day, fac, w in zip(days, factors, weighted, strict=True):
        if w <= 0:
            continue
        done = b.counts["appointments"] + len(b.appt_buf)
        per_block = done / expected if expected > 200 else 1.15
        blocks_per_min = laid / walked if walked > 2000 else 1 / mean_block
        fill = (b.target - done) / (per_block * blocks_per_min * remaining_w) if remaining_w > 0 else 0.0
        fill = min(1.5, max(0.0, fill))
        remaining_w -= w
        wd = day.weekday()
        for loc in b.locs:
            entries = loc.schedule[wd]
            if not entries:
                continue
            anchor = day_anchor(b, loc.tz, day)
            busy: dict[int, list[tuple[int, int]]] = {}
            for p, segments in entries:
                if day in p.off_days:
                    continue
                half = day in p.half_days
                prob = min(0.95, fill * fac * p.demand)
                types, cum = p.types, p.cum
                top = cum[-1]
                exam = loc.exam_rooms[loc.providers.index(p)]
                for s, e in segments:
                    if half and e > HALF_DAY_FROM:
                        continue
                    walked += e - s
                    cur = s
                    while True:
                        t = types[bisect(cum, rand() * top)]
                        end_min = cur + t.block
                        if end_min > e:
                            break
                        laid += 1
                        expected += prob
                        if rand() < prob:
                            if anchor is not None:
                                bs = anchor + cur * 60
                                be = anchor + end_min * 60
                            else:
                                bs = to_epoch(local_to_utc(day, time(cur // 60, cur % 60), loc.tz))
                                be = to_epoch(local_to_utc(day, time(end_min // 60, end_min % 60), loc.tz))
                            start = bs + t.before * 60
                            if start - now > t.horizon * 86400:
                                cur = end_min
                                continue  # beyond the booking horizon
                            room = None
                            kind = t.room_kind
                            if kind == "exam":
                                room = exam
                            elif kind is not None:
                                for r in loc.shared_rooms[kind]:
                                    taken = busy.setdefault(r, [])
                                    if all(b1 <= bs or b0 >= be for b0, b1 in taken):
                                        taken.append((bs, be))
                                        room = r
                                        break
                                else:
                                    cur = end_min
                                    continue  # no free room: the slot stays empty
                            end = start + t.duration * 60
                            if t.capacity > 1:
                                key = f"{rng.getrandbits(128):032x}"
                                for _ in range(randint(rng, 3, t.capacity)):
                                    add_appointment(b, loc, p, t, room, bs, start, end, be, wd, key, False)
                            else:
                                key = f"{rng.getrandbits(128):032x}"
                                add_appointment(b, loc, p, t, room, bs, start, end, be, wd, key, True)
                        cur = end_min
        if len(b.appt_buf) >= CHUNK:
            b.flush(conn)
