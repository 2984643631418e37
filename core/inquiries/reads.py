"""What the desk sees of inquiries: the open ones at a location (no booking, no closing reason),
oldest first. Providers see only the inquiries behind their own appointments (open ones have
none); contact details are masked for roles that may not see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.models import Appointment, AppointmentType, Customer, Inquiry, Role
from core.inquiries.services import channel_label
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading


@dataclass(frozen=True)
class InquiryRow:
    id: int
    received_at: datetime
    channel: str
    customer_id: int | None
    customer: str
    contact: str
    type_id: int | None
    type_name: str | None
    preferred_times: str | None
    notes: str | None
    waiting_minutes: int


def open_inquiries(
    actor: Actor | None, location_id: int, *, now: datetime | None = None, limit: int = 200
) -> list[InquiryRow]:
    now = resolve_now(now)
    with reading(actor, A.INQUIRY_VIEW, location_id, entity="inquiry") as session:
        query = (
            select(Inquiry, Customer.name, Customer.email, Customer.phone, AppointmentType.name)
            .outerjoin(Customer, Customer.id == Inquiry.customer_id)
            .outerjoin(AppointmentType, AppointmentType.id == Inquiry.type_id)
            .where(Inquiry.location_id == location_id, Inquiry.appointment_id.is_(None), Inquiry.closed_at.is_(None))
            .order_by(Inquiry.received_at)
            .limit(limit)
        )
        if actor is not None and actor.role == Role.PROVIDER:
            query = query.where(Inquiry.appointment_id.in_(select(Appointment.id).where(
                access.provider_filter(actor, Appointment.provider_id))))  # fmt: skip
        contacts = access.can(actor, A.CONTACTS_VIEW, location_id)
        rows = []
        for inq, name, email, phone, type_name in session.execute(query):
            if not contacts:
                email, phone = access.mask_email(email), access.mask_phone(phone)
            rows.append(InquiryRow(
                inq.id, inq.received_at, channel_label(inq.channel), inq.customer_id, name or "(no name)",
                " · ".join(x for x in (phone, email) if x), inq.type_id, type_name, inq.preferred_times, inq.notes,
                int((now - inq.received_at).total_seconds() // 60),
            ))  # fmt: skip
        return rows
