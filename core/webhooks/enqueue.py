"""Writing deliveries as appointments, customers and inquiries change, inside the booking's own transaction (the outbox):
a booking that rolls back takes its deliveries with it, and one that commits has them.

One row per event and endpoint. Its webhook-id (`msg_<event>_<endpoint>`) is unique, made once
here and sent unchanged on every retry and replay, so a receiver dedupes by it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Inquiry
from core.inquiries.events import InquiryChanged
from core.people.events import CustomerCreated, CustomerUpdated
from core.scheduling.events import AppointmentChanged, IntakeCompleted
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from core.webhooks.payloads import Facts, customer_body, event_type, inquiry_at, inquiry_body


def webhook_id(event_key: str, endpoint_id: int) -> str:
    return f"msg_{event_key}_{endpoint_id}"


def _subscribed(session: Session, kind: str) -> list[WebhookEndpoint]:
    return [e for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled)) if kind in e.event_types]


def _write(session: Session, kind: str, endpoints, body, *, subject: str, at, appointment_id=None, location_id=None):
    """One delivery per endpoint; `body(level)` is built once per personal-data level."""
    bodies: dict[str, str] = {}
    key = uuid.uuid4().hex
    for endpoint in endpoints:
        level = endpoint.personal_data
        if level not in bodies:
            bodies[level] = body(level)
        session.add(
            WebhookDelivery(
                webhook_id=webhook_id(key, endpoint.id),
                endpoint_id=endpoint.id,
                event_type=kind,
                subject=subject,
                appointment_id=appointment_id,
                location_id=location_id,
                body=bodies[level],
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
        )


@subscribe(AppointmentChanged)
def on_appointment_changed(session: Session, event: AppointmentChanged) -> None:
    kind = event_type(event)
    if kind is None or not (endpoints := _subscribed(session, kind)):
        return
    facts = Facts(session, event.appointment_id, event.after)
    _write(
        session, kind, endpoints, lambda level: facts.body(event, kind, level), subject=f"appointment:{event.appointment_id}",
        at=event.at, appointment_id=event.appointment_id, location_id=event.after.location_id,
    )  # fmt: skip


@subscribe(IntakeCompleted)
def on_intake_completed(session: Session, event: IntakeCompleted) -> None:
    if not (endpoints := _subscribed(session, "intake.completed")):
        return
    facts = Facts(session, event.appointment_id, event.state)
    _write(
        session, "intake.completed", endpoints, lambda level: facts.intake_body(event, level),
        subject=f"appointment:{event.appointment_id}", at=event.at, appointment_id=event.appointment_id,
        location_id=event.state.location_id,
    )  # fmt: skip


@subscribe(CustomerCreated)
@subscribe(CustomerUpdated)
def on_customer_changed(session: Session, event: CustomerCreated | CustomerUpdated) -> None:
    kind = "customer.updated" if isinstance(event, CustomerUpdated) else "customer.created"
    if not (endpoints := _subscribed(session, kind)):
        return
    _write(
        session, kind, endpoints, lambda level: customer_body(session, event, level),
        subject=f"customer:{event.customer_id}", at=event.at, location_id=event.location_id,
    )  # fmt: skip


@subscribe(InquiryChanged)
def on_inquiry_changed(session: Session, event: InquiryChanged) -> None:
    kind = f"inquiry.{event.what}"
    if not (endpoints := _subscribed(session, kind)):
        return
    inq = session.get(Inquiry, event.inquiry_id)
    _write(
        session, kind, endpoints, lambda level: inquiry_body(session, event, level),
        subject=f"inquiry:{event.inquiry_id}", at=inquiry_at(inq, event.what), appointment_id=inq.appointment_id,
        location_id=event.location_id,
    )  # fmt: skip
