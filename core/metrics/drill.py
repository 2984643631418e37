"""The appointments behind a figure (the pages' drill-down), and a cheap data version for the
pages' caches."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from sqlalchemy import and_, func, or_, select

from core.base.db import read_session
from core.base.models import Appointment, AppointmentType, AuditLog, ExceptionItem, Inquiry, Location, Provider
from core.base.tz import local_range_bounds, zone
from core.metrics import sources
from core.metrics.definitions import Window
from core.metrics.models import MetricDaily
from core.metrics.sources import Filters
from core.scheduling.named import with_names
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading

# figure -> which appointments of the window are behind it
FIGURES = {
    "appointments": "every appointment",
    "completed": "completed",
    "no_show": "no-shows",
    "late_cancel": "late cancellations",
    "cancelled": "cancellations",
    "rescheduled": "rescheduled at least once",
}
DRILL_LIMIT = 2000


def _figure_filter(figure: str):
    if figure == "appointments":
        return None
    if figure == "late_cancel":
        return and_(Appointment.status == "cancelled", Appointment.late_cancel.is_(True))
    if figure == "rescheduled":
        return Appointment.reschedule_count > 0
    return Appointment.status == figure


def appointments_behind(
    actor: Actor | None, window: Window, figure: str, filters: Filters = Filters(), limit: int = DRILL_LIMIT
) -> pd.DataFrame:
    """The window's appointments behind `figure` (FIGURES), newest first, in the actor's scope;
    no customer details (analysts read these too)."""
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}")
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        zones = sources.scoped_locations(session, actor, filters)
        by_zone: dict[str, list[int]] = defaultdict(list)
        for loc, tz in zones.items():
            by_zone[tz].append(loc)
        spans = []
        for tz, locs in by_zone.items():
            lo, hi = local_range_bounds(window.first, window.last, tz)
            spans.append(and_(Appointment.location_id.in_(locs), Appointment.start_at >= lo, Appointment.start_at < hi))
        columns = ["id", "start", "location", "provider", "type", "status", "late_cancel", "reschedules", "lead_days"]
        if not spans:
            return pd.DataFrame(columns=columns)
        query = (
            select(
                Appointment.id,
                Appointment.start_at,
                Appointment.booked_at,
                Location.name,
                Location.timezone,
                Provider.name,
                AppointmentType.name,
                Appointment.status,
                Appointment.late_cancel,
                Appointment.reschedule_count,
            )  # fmt: skip
            .where(or_(*spans))
            .order_by(Appointment.start_at.desc())
            .limit(limit)
        )
        query = with_names(query, customer_id=None, inner=True)
        if (cond := _figure_filter(figure)) is not None:
            query = query.where(cond)
        if filters.provider_id is not None:
            query = query.where(Appointment.provider_id == filters.provider_id)
        if filters.type_id is not None:
            query = query.where(Appointment.type_id == filters.type_id)
        rows = []
        for aid, start, booked, loc, tz, prov, typ, status, late, resched in session.execute(query):
            local = start.astimezone(zone(tz))
            lead = (local.date() - booked.astimezone(zone(tz)).date()).days if booked else None
            rows.append((aid, local.strftime("%Y-%m-%d %H:%M"), loc, prov or "-", typ or "-", status,
                         bool(late), resched or 0, lead))  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def data_version() -> tuple:
    """Changes whenever what the pages show may have changed (cheap: indexed maxima). The
    available minutes move with working hours, time off and a location's zone, which change
    nothing else the pages read; every such change is audited, so the audit log's newest row
    stands for them (it moves with other audited changes too, which only costs a recompute)."""
    with read_session() as session:
        return (
            session.scalar(select(func.max(MetricDaily.updated_at))),
            session.scalar(select(func.max(Inquiry.id))),
            session.scalar(select(func.max(ExceptionItem.resolved_at))),
            session.scalar(select(func.max(AuditLog.id))),
        )


def choices(actor: Actor | None) -> dict[str, dict[int, str]]:
    """Names for the filters and tables: locations in the actor's scope, the providers working
    there, and appointment types (id -> name), each sorted by name."""
    with reading(actor, A.METRICS_VIEW, None, entity="metrics") as session:
        locations = dict(
            session.execute(
                select(Location.id, Location.name)
                .where(access.location_filter(actor, Location.id))
                .order_by(Location.name)
            ).all()
        )
        providers = dict(
            session.execute(
                select(Provider.id, Provider.name)
                .where(Provider.locations.any(Location.id.in_(list(locations))))
                .order_by(Provider.name)
            ).all()
        )
        types = dict(
            session.execute(select(AppointmentType.id, AppointmentType.name).order_by(AppointmentType.name)).all()
        )
    return {"location": locations, "provider": providers, "type": types}
