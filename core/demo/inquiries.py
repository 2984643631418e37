"""Inquiries that led nowhere, and the waitlist."""

from __future__ import annotations

from bisect import bisect
from datetime import time, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert

from core.base.models import (
    Inquiry,
    WaitlistEntry,
)
from core.demo.bulk import (
    INQ_COLS,
    aware,
)
from core.demo.catalogue import (
    CHUNK,
    INQUIRY_LOST,
    TYPES,
    choice,
    randint,
    randrange,
)
from core.demo.people import pick_customer

if TYPE_CHECKING:
    from core.demo.builder import Builder


def add_lost_inquiries(b: Builder, conn: Connection) -> None:
    rng = b.rng
    converted = b.counts["inquiries_converted"]
    lost = round(converted * (0.45 + 0.15 * rng.random()))  # 62-69% of inquiries convert
    weights = list(accumulate(max(1, len(loc.providers)) for loc in b.locs))
    channels = ("phone", "web", "google", "email", "walk_in")
    channel_cum = list(accumulate((0.4, 0.3, 0.15, 0.1, 0.05)))
    rows = []
    for _ in range(lost):
        loc = b.locs[bisect(weights, rng.random() * weights[-1])]
        received = randint(rng, b.ps_e, b.now_e)
        t = TYPES[randrange(rng, len(TYPES))]
        customer = pick_customer(b, loc, received) if rng.random() < 0.55 else None
        rows.append(
            (
                loc.id,
                b.type_ids[t.name] if rng.random() < 0.8 else None,
                customer,
                channels[bisect(channel_cum, rng.random())],
                b.ts(received),
                None,
                choice(rng, INQUIRY_LOST),
            )
        )
    for k in range(0, len(rows), CHUNK):
        b.bulk(conn, Inquiry.__table__, INQ_COLS, rows[k : k + CHUNK])
    b.counts["inquiries"] += len(rows)


def add_waitlist(b: Builder, conn: Connection) -> None:
    rng = b.rng
    rows = []
    statuses = ("waiting", "waiting", "waiting", "waiting", "booked", "expired", "cancelled")
    notes = (None, None, "Prefers mornings", "Any provider is fine", "After school hours only", "Short notice OK")
    windows = {"Prefers mornings": (None, time(12)), "After school hours only": (time(15), None)}  # start times
    per_location = max(2, min(12, 3 + b.target // 20_000))
    for loc in b.locs:
        kinds = [t for t in TYPES if any(t in p.types for p in loc.providers)] or list(TYPES)
        for _ in range(per_location):
            t = kinds[randrange(rng, len(kinds))]
            status = statuses[randrange(rng, len(statuses))]
            created = b.now_e - randint(rng, 3600, 20 * 86400)
            earliest = b.today + timedelta(days=randint(rng, -7 if status != "waiting" else 0, 10))
            providers = [p for p in loc.providers if t in p.types]
            customer = pick_customer(b, loc, created)
            provider = providers[0].id if providers and rng.random() < 0.3 else None
            note = choice(rng, notes)
            start_from, start_until = windows.get(note, (None, None))
            rows.append(
                {
                    "customer_id": customer,
                    "location_id": loc.id,
                    "type_id": b.type_ids[t.name],
                    "provider_id": provider,
                    "earliest_date": earliest,
                    "latest_date": earliest + timedelta(days=randint(rng, 3, 21)),
                    "notes": note,
                    "preferred_from": start_from,
                    "preferred_until": start_until,
                    "status": status,
                    "created_at": aware(created),
                    "created_by": b.desk_user if loc is b.first_loc else None,
                }
            )
    if rows:
        conn.execute(insert(WaitlistEntry), rows)
    b.counts["waitlist"] = len(rows)
