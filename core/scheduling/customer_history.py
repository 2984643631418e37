"""A customer's appointments across days, for the desk's customer search ("open that day")."""

from __future__ import annotations

from sqlalchemy import func, select

from core.base.models import Appointment, AppointmentType, Location, Provider
from core.base.tz import to_local
from core.scheduling.labels import STATUS_LABELS, UNKNOWN, day_label
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading


def customer_appointments(actor: Actor, customer_id: int, *, limit: int = 20) -> list[dict]:
    """A customer's appointments the actor may see, across days: the latest first. Each is a dict
    with its location, local start, type, provider and status, for jumping to that day."""
    return appointments_by_customer(actor, [customer_id], limit=limit)[customer_id]


def appointments_by_customer(actor: Actor, customer_ids: list[int], *, limit: int = 20) -> dict[int, list[dict]]:
    """`customer_appointments` of several customers (a search's matches) in one query: up to
    `limit` each, numbered per customer in the database."""
    one = customer_ids[0] if len(customer_ids) == 1 else None  # the denial names one customer, or none
    with reading(actor, A.CUSTOMER_VIEW, entity="customer", entity_id=one) as session:
        out: dict[int, list[dict]] = {c: [] for c in customer_ids}
        if not customer_ids:
            return out
        latest = (
            func.row_number()
            .over(partition_by=Appointment.customer_id, order_by=(Appointment.start_at.desc(), Appointment.id.desc()))
            .label("n")
        )
        ranked = (
            select(
                Appointment.customer_id,
                Appointment.id,
                Appointment.start_at,
                Appointment.status,
                Location.id.label("location_id"),
                Location.name.label("location"),
                Location.timezone,
                AppointmentType.name.label("type"),
                Provider.name.label("provider"),
                latest,
            )
            .join(Location, Appointment.location_id == Location.id)
            .outerjoin(AppointmentType, Appointment.type_id == AppointmentType.id)
            .outerjoin(Provider, Appointment.provider_id == Provider.id)
            .where(
                Appointment.customer_id.in_(customer_ids),
                access.location_filter(actor, Appointment.location_id),
                access.provider_filter(actor, Appointment.provider_id),
            )
            .subquery()
        )
        query = select(ranked).where(ranked.c.n <= limit).order_by(ranked.c.customer_id, ranked.c.n)
        for cust, appt_id, start, status, loc_id, loc_name, tz, type_name, provider_name, _ in session.execute(query):
            local = to_local(start, tz)
            out[cust].append(
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
