"""An appointment with the names a person reads: customer, type, provider, location and its zone.

The queue, the audit log's names, the KPI drill-down and the outbox each show appointments by
these names; they all join them here, so a name means the same row everywhere. Callers select
the columns they show (Customer.name, AppointmentType.name, Provider.name, Location.name,
Location.timezone, or the labelled NAMES) from the query this returns."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from core.base.models import Appointment, AppointmentType, Customer, Location, Provider

# The names, labelled, for a caller that wants all of them.
NAMES = (
    Customer.name.label("customer"),
    AppointmentType.name.label("type"),
    Provider.name.label("provider"),
    Location.name.label("location"),
    Location.timezone.label("timezone"),
)


def with_names(
    query: Select,
    *,
    appointment_id: InstrumentedAttribute | None = None,
    customer_id: InstrumentedAttribute | None = Appointment.customer_id,
    location_id: InstrumentedAttribute | None = Appointment.location_id,
    provider_id: InstrumentedAttribute | None = Appointment.provider_id,
    inner: bool = False,
) -> Select:
    """`query` joined to the appointment's names (outer joins unless `inner`: an appointment
    without a type or provider keeps its row). With `appointment_id` (a column of the query's
    own table, such as ExceptionItem.appointment_id), the appointment is joined first; the
    customer, location and provider may come from that table instead (`customer_id=` ...), or
    be left out with None."""
    if appointment_id is not None:
        query = query.outerjoin(Appointment, Appointment.id == appointment_id)
    if customer_id is not None:
        query = (query.join if inner else query.outerjoin)(Customer, Customer.id == customer_id)
    if location_id is not None:
        query = (query.join if inner else query.outerjoin)(Location, Location.id == location_id)
    query = query.outerjoin(AppointmentType, AppointmentType.id == Appointment.type_id)
    if provider_id is not None:
        query = query.outerjoin(Provider, Provider.id == provider_id)
    return query
