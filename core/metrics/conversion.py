"""Inquiry-to-booked conversion from the inquiries themselves: split by channel, and the inquiries
behind the figure (the drill-down). The same definition as the rollup (`inquiries.converted_clause`):
an inquiry is received on the local date of receipt at its location; a repeat by the same customer
for the same type and location within the hour was merged into it when recorded, so it counts
once; it converted when booked within CONVERSION_DAYS days of receipt."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from sqlalchemy import case, func, or_, select

from core.base.models import AppointmentType, Customer, Inquiry, Location
from core.base.tz import local_range_bounds, to_local
from core.metrics import sources
from core.metrics.definitions import Window
from core.metrics.inquiries import converted_clause
from core.metrics.sources import Filters
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading


def _window_clause(zones: dict[int, str], window: Window):
    by_zone: dict[str, list[int]] = defaultdict(list)
    for loc, tz in zones.items():
        by_zone[tz].append(loc)
    parts = []
    for tz, locs in by_zone.items():
        lo, hi = local_range_bounds(window.first, window.last, tz)
        parts.append(Inquiry.location_id.in_(locs) & (Inquiry.received_at >= lo) & (Inquiry.received_at < hi))
    return or_(*parts)


def by_channel(actor: Actor | None, window: Window, filters: Filters = Filters()) -> dict[str, dict]:
    """{channel: {"inquiries", "booked", "rate"}} for the window (rate None without inquiries)."""
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        zones = sources.scoped_locations(session, actor, filters)
        if not zones:
            return {}
        query = (
            select(Inquiry.channel, func.count(), func.count(case((converted_clause(session), 1))))
            .where(_window_clause(zones, window))
            .group_by(Inquiry.channel)
        )
        if filters.type_id is not None:
            query = query.where(Inquiry.type_id == filters.type_id)
        rows = session.execute(query).all()
    return {ch: {"inquiries": n, "booked": b, "rate": b / n if n else None} for ch, n, b in sorted(rows)}


def inquiries_behind(
    actor: Actor | None, window: Window, filters: Filters = Filters(), *, channel: str | None = None,
    booked: bool | None = None, limit: int = 5000,
) -> pd.DataFrame:  # fmt: skip
    """The inquiries counted in the window (optionally of one channel, booked or not): when, where,
    channel, type, outcome; the customer's name only for roles that see customers (analysts get
    counts and channels, no contact details)."""
    names = access.can(actor, A.CUSTOMER_VIEW)
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        zones = sources.scoped_locations(session, actor, filters)
        columns = ["inquiry", "received", "location", "channel", "type", "customer", "outcome", "appointment"]
        if not zones:
            return pd.DataFrame(columns=columns)
        converted = converted_clause(session).label("converted")
        query = (
            select(Inquiry.id, Inquiry.received_at, Inquiry.location_id, Location.name, Inquiry.channel,
                   AppointmentType.name, Customer.name, Inquiry.closed_reason, Inquiry.appointment_id,
                   Inquiry.held_until, converted)
            .join(Location, Location.id == Inquiry.location_id)
            .outerjoin(AppointmentType, AppointmentType.id == Inquiry.type_id)
            .outerjoin(Customer, Customer.id == Inquiry.customer_id)
            .where(_window_clause(zones, window))
            .order_by(Inquiry.received_at, Inquiry.id)
            .limit(limit)
        )  # fmt: skip
        if filters.type_id is not None:
            query = query.where(Inquiry.type_id == filters.type_id)
        if channel is not None:
            query = query.where(Inquiry.channel == channel)
        if booked is not None:
            query = query.where(converted if booked else ~converted)
        rows = session.execute(query).all()
    out = []
    for r in rows:
        if r.converted:
            outcome = "booked"
        elif r.appointment_id is not None:
            outcome = "booked later than the conversion window"
        elif r.closed_reason:
            outcome = f"closed: {r.closed_reason.replace('_', ' ')}"
        else:
            outcome = "open"
        out.append([r.id, to_local(r.received_at, zones[r.location_id]).replace(tzinfo=None), r[3], r.channel,
                    r[5], r[6] if names else None, outcome, r.appointment_id])  # fmt: skip
    return pd.DataFrame(out, columns=columns)
