"""Inquiries, as the desk and the request page record them (core.inquiries.bulk): those that
led to a booking, those that led nowhere; and the waitlist."""

from __future__ import annotations

import random
from bisect import bisect
from datetime import time, timedelta
from itertools import accumulate

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from core.base.models import WaitlistEntry
from core.demo.bulk import aware
from core.demo.catalogue import (
    INQUIRY_CHANNELS,
    INQUIRY_LOST,
    INQUIRY_SHARE,
    LOST_CHANNELS,
    MORE_INQUIRY_SHARE,
    PREFERRED_TIMES,
    TYPES,
    choice,
    randint,
    randrange,
)
from core.demo.people import pick_customer
from core.demo.plans import LocationPlan
from core.demo.state import Builder
from core.inquiries.bulk import NewInquiry, record_many_in
from core.inquiries.services import DEDUPE_WINDOW
from core.security.access import SYSTEM, A
from core.security.service import Tx


def channel_of(rng: random.Random, shares: tuple[tuple[str, float], ...]) -> str:
    u = rng.random()
    return next((channel for channel, upto in shares if u < upto), shares[-1][0])


def booked_inquiry(builder: Builder, loc: LocationPlan, type_id: int, customer: int, source: str,
                   appointment_id: int, booked: int) -> None:  # fmt: skip
    """Some bookings began as an inquiry (a call, a walk-in, a web request) shortly before."""
    rng = builder.inquiry_rng
    if builder.rng.random() < INQUIRY_SHARE[source]:
        received = booked - randint(builder.rng, 300, 2 * 86400)
    elif rng.random() < MORE_INQUIRY_SHARE[source]:
        received = booked - randint(rng, 300, 2 * 86400)
    else:
        return
    preferred = choice(rng, PREFERRED_TIMES) if rng.random() < 0.2 else None
    builder.inquiries.append(NewInquiry(loc.id, channel_of(rng, INQUIRY_CHANNELS[source]), customer, aware(received),
                                        type_id, preferred, appointment_id=appointment_id, booked_at=aware(booked)))  # fmt: skip


def lost_inquiry(builder: Builder) -> NewInquiry:
    """An inquiry that led nowhere: closed with a reason a while after, or (the last two days'
    ones, now and then) still waiting for an answer."""
    rng = builder.inquiry_rng
    loc = builder.locations[bisect(builder.location_weights, rng.random() * builder.location_weights[-1])]
    received = randint(rng, builder.history_start, builder.now_epoch - 600)
    kind = TYPES[randrange(rng, len(TYPES))]
    customer = pick_customer(builder, loc, received, rng)
    type_id = builder.type_ids[kind.name] if rng.random() < 0.8 else None
    note, reason = choice(rng, INQUIRY_LOST)
    preferred = choice(rng, PREFERRED_TIMES) if rng.random() < 0.3 else None
    channel = channel_of(rng, LOST_CHANNELS)
    if builder.now_epoch - received < 2 * 86400 and rng.random() < 0.6:
        return NewInquiry(loc.id, channel, customer, aware(received), type_id, preferred, note)
    closed = min(received + randint(rng, 600, 3 * 86400), builder.now_epoch)
    return NewInquiry(loc.id, channel, customer, aware(received), type_id, preferred, note,
                      closed_reason=reason, closed_at=aware(closed))  # fmt: skip


def without_impossible_repeats(inquiries: list[NewInquiry]) -> list[NewInquiry]:
    """The dice can give one customer two inquiries for the same type and place within the hour,
    both with an outcome: the desk would have merged them into one, so the later one is left out."""
    kept, last = [], {}
    for inq in sorted(inquiries, key=lambda i: i.received_at):
        key = (inq.customer_id, inq.location_id, inq.type_id)
        first = last.get(key)
        if (
            first is not None
            and inq.received_at - first.received_at < DEDUPE_WINDOW
            and not first.answered_by(inq.received_at)
        ):
            continue
        last[key] = inq
        kept.append(inq)
    return kept


def add_inquiries(builder: Builder, conn: Connection) -> None:
    """The year's inquiries, through core.inquiries' bulk path (the desk's rules, audited, the
    rollup told), as the system at every location."""
    rng = builder.inquiry_rng
    converted = len(builder.inquiries)
    builder.location_weights = list(accumulate(max(1, len(loc.providers)) for loc in builder.locations))
    lost = [lost_inquiry(builder) for _ in range(round(converted * (0.45 + 0.15 * rng.random())))]
    with Session(bind=conn) as session:
        tx = Tx(session, SYSTEM, A.INQUIRY_RECORD, entity="inquiry")
        done = record_many_in(tx, without_impossible_repeats(builder.inquiries + lost), now=builder.now)
        session.flush()
        builder.audit_ids += [row.id for row in tx.audited]
    builder.inquiries = []
    builder.counts["inquiries"] = done.recorded
    builder.counts["inquiries_converted"] = done.booked


def add_waitlist(builder: Builder, conn: Connection) -> None:
    rng = builder.rng
    rows = []
    statuses = ("waiting", "waiting", "waiting", "waiting", "booked", "expired", "cancelled")
    notes = (None, None, "Prefers mornings", "Any provider is fine", "After school hours only", "Short notice OK")
    windows = {"Prefers mornings": (None, time(12)), "After school hours only": (time(15), None)}  # start times
    per_location = max(2, min(12, 3 + builder.target // 20_000))
    for loc in builder.locations:
        kinds = [t for t in TYPES if any(t in p.types for p in loc.providers)] or list(TYPES)
        for _ in range(per_location):
            t = kinds[randrange(rng, len(kinds))]
            status = statuses[randrange(rng, len(statuses))]
            created = builder.now_epoch - randint(rng, 3600, 20 * 86400)
            earliest = builder.today + timedelta(days=randint(rng, -7 if status != "waiting" else 0, 10))
            providers = [p for p in loc.providers if t in p.types]
            customer = pick_customer(builder, loc, created)
            provider = providers[0].id if providers and rng.random() < 0.3 else None
            note = choice(rng, notes)
            start_from, start_until = windows.get(note, (None, None))
            rows.append(
                {
                    "customer_id": customer,
                    "location_id": loc.id,
                    "type_id": builder.type_ids[t.name],
                    "provider_id": provider,
                    "earliest_date": earliest,
                    "latest_date": earliest + timedelta(days=randint(rng, 3, 21)),
                    "notes": note,
                    "preferred_from": start_from,
                    "preferred_until": start_until,
                    "status": status,
                    "created_at": aware(created),
                    "created_by": builder.desk_user if loc is builder.first_location else None,
                }
            )
    if rows:
        conn.execute(insert(WaitlistEntry), rows)
    builder.counts["waitlist"] = len(rows)
