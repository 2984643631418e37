"""A customer's appointments across days, for the desk's customer search ("open that day")."""

from __future__ import annotations

from sqlalchemy import and_, select

from core.base.db import read_session
from core.base.models import Appointment, AppointmentType, Location, Provider
from core.base.tz import to_local
from core.scheduling.labels import STATUS_LABELS, UNKNOWN, day_label
from core.security import access
from core.security.access import A, Actor
from core.security.service import check


def customer_appointments(actor: Actor, customer_id: int, *, limit: int = 20) -> list[dict]:
    """A customer's appointments the actor may see, across days: the latest first. Each is a dict
    with its location, local start, type, provider and status, for jumping to that day."""
    check(actor, A.CUSTOMER_VIEW, entity="customer", entity_id=customer_id)
    with read_session() as session:
        query = (
            select(
                Appointment.id,
                Appointment.start_at,
                Appointment.status,
                Location.id,
                Location.name,
                Location.timezone,
                AppointmentType.name,
                Provider.name,
            )
            .join(Location, Appointment.location_id == Location.id)
            .outerjoin(AppointmentType, Appointment.type_id == AppointmentType.id)
            .outerjoin(Provider, Appointment.provider_id == Provider.id)
            .where(
                and_(
                    Appointment.customer_id == customer_id,
                    access.location_filter(actor, Appointment.location_id),
                    access.provider_filter(actor, Appointment.provider_id),
                )
            )
            .order_by(Appointment.start_at.desc())
            .limit(limit)
        )
        out = []
        for appt_id, start, status, loc_id, loc_name, tz, type_name, provider_name in session.execute(query):
            local = to_local(start, tz)
            out.append(
                {
                    "appointment_id": appt_id,
                    "location_id": loc_id,
                    "location": loc_name,
                    "day": local.date(),
                    "when": f"{day_label(local.date())} {local.year} {local:%H:%M}",
                    "type": type_name or UNKNOWN,
                    "provider": provider_name or UNKNOWN,
                    "status": STATUS_LABELS.get(status, status),
                }
            )
        return out
