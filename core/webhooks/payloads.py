"""What a webhook says: the event types and the versioned JSON body (docs/webhooks.md).

A body follows the Standard Webhooks shape, `{"type", "timestamp", "data"}`, plus `version`
(bumped only when a field changes meaning or goes away; new fields may appear in any version).
Times are given in UTC and in the location's local time. What it says about the customer depends
on the endpoint's `personal_data`: none (the id only), names, or names and contacts."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from core.base.models import AppointmentType, Customer, Inquiry, Location, Provider, Status
from core.base.tz import to_local
from core.inquiries.events import InquiryChanged
from core.people.events import CustomerCreated, CustomerUpdated
from core.scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentRescheduled,
    AppointmentState,
    AppointmentStatusChanged,
    IntakeCompleted,
)

VERSION = 1
EVENT_TYPES: dict[str, str] = {
    "appointment.booked": "a new appointment",
    "appointment.rescheduled": "moved to another time, provider or room",
    "appointment.confirmed": "the customer confirmed",
    "appointment.checked_in": "the customer arrived",
    "appointment.no_show": "the customer did not come",
    "appointment.completed": "the appointment took place",
    "appointment.cancelled": "cancelled (late or not)",
    "appointment.status_changed": "any other status change, e.g. an undone check-in",
    "intake.completed": "an intake form's required answers are all in (by the customer's link, at the desk or at booking)",
    "customer.created": "a new customer (at the desk or with a booking)",
    "customer.updated": "a customer's name, email or phone was corrected",
    "inquiry.received": "a new inquiry (a call, walk-in, email or web request; not a merged repeat)",
    "inquiry.booked": "an appointment was booked from an inquiry",
    "inquiry.closed": "an inquiry closed without a booking, with its reason",
}
_BY_STATUS = {
    Status.CONFIRMED: "appointment.confirmed",
    Status.CHECKED_IN: "appointment.checked_in",
    Status.NO_SHOW: "appointment.no_show",
    Status.COMPLETED: "appointment.completed",
    Status.CANCELLED: "appointment.cancelled",
}
_COMPARED = ("status", "start", "end", "location_id", "provider_id", "room_id", "type_id")


def event_type(event: AppointmentChanged) -> str | None:
    """The webhook event type of a booking event, or None when it is not one."""
    if isinstance(event, AppointmentBooked):
        return "appointment.booked"
    if isinstance(event, AppointmentRescheduled):
        return "appointment.rescheduled"
    if isinstance(event, AppointmentStatusChanged):
        if event.before is not None and event.before.status == event.after.status:
            return None
        return _BY_STATUS.get(event.after.status, "appointment.status_changed")
    return None


def _time(instant: datetime | None, tz: str) -> dict | None:
    if instant is None:
        return None
    return {"utc": instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "local": to_local(instant, tz).isoformat()}


def _plain(field: str, value: object, tz: str) -> object:
    return _time(value, tz) if field in ("start", "end") else value


def changes(before: AppointmentState | None, after: AppointmentState, tz: str) -> dict:
    if before is None:
        return {}
    return {
        f: {"from": _plain(f, getattr(before, f), tz), "to": _plain(f, getattr(after, f), tz)}
        for f in _COMPARED
        if getattr(before, f) != getattr(after, f)
    }


def customer_part(c: Customer, level: str) -> dict:
    part: dict = {"id": c.id}
    if level in ("names", "contacts"):
        part["name"] = c.name
    if level == "contacts":
        part["email"], part["phone"] = c.email, c.phone
    return part


def _dump(kind: str, at: datetime, data: dict) -> str:
    payload = {"type": kind, "version": VERSION, "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def customer_body(session: Session, event: CustomerCreated | CustomerUpdated, level: str) -> str:
    """customer.created, or customer.updated with `changed`: the names of the fields that changed
    (their values only as the endpoint's personal-data level allows, in `customer`)."""
    customer, location = session.get(Customer, event.customer_id), session.get(Location, event.location_id)
    data = {
        "customer": {**customer_part(customer, level), "home_location": {"id": location.id, "name": location.name}},
        "by": "staff" if event.actor is not None and event.actor.user_id is not None else "system",
    }
    if isinstance(event, CustomerUpdated):
        data["changed"] = sorted(event.changes)
        return _dump("customer.updated", event.at, data)
    return _dump("customer.created", event.at, data)


def inquiry_at(inq: Inquiry, what: str) -> datetime:
    """When `inquiry.<what>` happened: its received_at, booked_at or closed_at."""
    return getattr(inq, f"{what}_at")


def inquiry_body(session: Session, event: InquiryChanged, level: str) -> str:
    """The body of `inquiry.<event.what>`. The inquiry's notes and preferred
    times are free text a person typed, so they are never sent."""
    inq, location = session.get(Inquiry, event.inquiry_id), session.get(Location, event.location_id)
    atype = session.get(AppointmentType, inq.type_id) if inq.type_id else None
    customer = session.get(Customer, inq.customer_id) if inq.customer_id else None
    tz = location.timezone
    data = {
        "inquiry": {
            "id": inq.id,
            "channel": inq.channel,
            "received_at": _time(inq.received_at, tz),
            "timezone": tz,
            "location": {"id": location.id, "name": location.name},
            "type": {"id": atype.id, "name": atype.name} if atype else None,
            "customer": customer_part(customer, level) if customer else None,
            "appointment_id": inq.appointment_id,
            "booked_at": _time(inq.booked_at, tz),
            "closed_at": _time(inq.closed_at, tz),
            "closed_reason": inq.closed_reason,
        },
    }
    return _dump(f"inquiry.{event.what}", inquiry_at(inq, event.what), data)


class Facts:
    """The rows a body names, read once per event (shared by every endpoint it goes to)."""

    def __init__(self, session: Session, appointment_id: int, state: AppointmentState):
        self.appointment_id, self.state = appointment_id, state
        self.location = session.get(Location, state.location_id)
        self.type = session.get(AppointmentType, state.type_id) if state.type_id else None
        self.provider = session.get(Provider, state.provider_id) if state.provider_id else None
        self.customer = session.get(Customer, state.customer_id)

    def appointment(self, level: str) -> dict:
        s, tz = self.state, self.location.timezone
        return {
            "id": self.appointment_id,
            "status": str(s.status),
            "start": _time(s.start, tz),
            "end": _time(s.end, tz),
            "timezone": tz,
            "location": {"id": self.location.id, "name": self.location.name},
            "type": {"id": self.type.id, "name": self.type.name} if self.type else None,
            "provider": {"id": self.provider.id, "name": self.provider.name} if self.provider else None,
            "room_id": s.room_id,
            "customer": customer_part(self.customer, level),
        }

    def body(self, e: AppointmentChanged, kind: str, level: str) -> str:
        data = {
            "appointment": self.appointment(level),
            "changes": changes(e.before, e.after, self.location.timezone),
            "by": "staff" if e.manual else "system",
        }
        if isinstance(e, AppointmentCancelled):
            data["late"] = e.late
        return _dump(kind, e.at, data)

    def intake_body(self, e: IntakeCompleted, level: str) -> str:
        """intake.completed: the appointment, which form version, when and how; never the answers."""
        intake = {
            "form": {"id": e.form_id, "version": e.form_version},
            "completed_at": _time(e.completed_at, self.location.timezone),
            "how": e.how,
        }
        return _dump("intake.completed", e.at, {"appointment": self.appointment(level), "intake": intake})
