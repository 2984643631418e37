"""Writing deliveries as appointments change, inside the booking's own transaction (the outbox):
a booking that rolls back takes its deliveries with it, and one that commits has them.

One row per event and endpoint. Its webhook-id (`msg_<event>_<endpoint>`) is unique, made once
here and sent unchanged on every retry and replay, so a receiver dedupes by it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.events import subscribe
from core.scheduling.events import AppointmentChanged
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from core.webhooks.payloads import Facts, event_type


def webhook_id(event_key: str, endpoint_id: int) -> str:
    return f"msg_{event_key}_{endpoint_id}"


@subscribe(AppointmentChanged)
def on_appointment_changed(session: Session, event: AppointmentChanged) -> None:
    kind = event_type(event, session)
    if kind is None:
        return
    endpoints = [
        e for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled)) if kind in e.event_types
    ]
    if not endpoints:
        return
    facts, bodies = Facts(session, event), {}
    key = uuid.uuid4().hex
    for endpoint in endpoints:
        level = endpoint.personal_data
        if level not in bodies:
            bodies[level] = facts.body(kind, level)
        session.add(
            WebhookDelivery(
                webhook_id=webhook_id(key, endpoint.id),
                endpoint_id=endpoint.id,
                event_type=kind,
                subject=f"appointment:{event.appointment_id}",
                appointment_id=event.appointment_id,
                location_id=event.after.location_id,
                body=bodies[level],
                status="pending",
                attempts=0,
                next_attempt_at=event.at,
                created_at=event.at,
                updated_at=event.at,
            )
        )
