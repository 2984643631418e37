"""The interval index: what holds a provider's or a room's time, in integer epoch seconds."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_floor(dt: datetime) -> int:
    return math.floor(dt.timestamp())


def epoch_ceil(dt: datetime) -> int:
    return math.ceil(dt.timestamp())


def from_epoch(ts: int) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


class IntervalIndex:
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


NO_INTERVALS = IntervalIndex([])
