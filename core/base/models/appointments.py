"""Customers, their appointments with the history of each, inquiries, and the waitlist."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.clock import utcnow
from core.base.models.common import Base, Status, new_key
from core.base.models.org import AppointmentType, Location, Provider, Room


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_name", "name"),
        Index("ix_customers_email", "email"),
        Index("uq_customers_external_id", "external_id", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Where the customer was first taken on; with their appointments, this decides which
    # locations' staff may find them.
    home_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    # The customer's id in the system an import came from (unique index uq_customers_external_id).
    external_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    """`block_start`/`block_end` are the time the provider and room are held: the appointment
    plus its type's buffers. The overlap rule is enforced on them by the database (an
    exclusion constraint on PostgreSQL, triggers on SQLite). Appointments of a group session
    share a `group_key` and may overlap each other; every other pair may not."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("block_start <= start_at AND block_end >= end_at", name="block_covers"),
        CheckConstraint(
            "status IN ('booked', 'confirmed', 'checked_in', 'completed', 'no_show', 'cancelled')",
            name="status_valid",
        ),
        Index("ix_appointments_location_start", "location_id", "start_at"),
        Index("ix_appointments_provider_block", "provider_id", "block_start"),
        Index("ix_appointments_room_block", "room_id", "block_start"),
        Index("ix_appointments_start", "start_at"),
        Index("ix_appointments_customer_history", "customer_id", "status", "start_at", "location_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    # Imported history may lack a provider, a type or a duration (end_at and the block NULL):
    # such rows count in rates and lead time, never in utilization, availability or overlaps.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    type_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_types.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    block_start: Mapped[datetime | None]
    block_end: Mapped[datetime | None]
    group_key: Mapped[str] = mapped_column(String(64), default=new_key)
    status: Mapped[str] = mapped_column(String(20), default=Status.BOOKED.value)
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    booked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(30), default="front_desk")
    intake_answers: Mapped[dict] = mapped_column(default=dict)
    intake_complete: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    late_cancel: Mapped[bool] = mapped_column(default=False)
    reschedule_count: Mapped[int] = mapped_column(default=0)
    calendar_event_id: Mapped[str | None] = mapped_column(String(255))
    calendar_etag: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    location: Mapped[Location] = relationship()
    provider: Mapped[Provider | None] = relationship()
    room: Mapped[Room | None] = relationship()
    type: Mapped[AppointmentType | None] = relationship()
    customer: Mapped[Customer] = relationship()


class AppointmentHistory(Base):
    """Every status change, reschedule and edit of an appointment, with old and new values."""

    __tablename__ = "appointment_history"
    __table_args__ = (Index("ix_appointment_history_appointment", "appointment_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))  # created | status | reschedule | edit | note
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    manual: Mapped[bool] = mapped_column(default=True)  # done by staff: counts as admin touch


CLOSE_REASONS = ("no_suitable_slot", "price", "went_elsewhere", "duplicate", "spam", "declined", "expired")
CLOSE_REASONS_SQL = "(" + ", ".join(f"'{r}'" for r in CLOSE_REASONS) + ")"


class Inquiry(Base):
    __tablename__ = "inquiries"
    # Covering: conversion is counted from the index alone.
    __table_args__ = (
        Index("ix_inquiries_location_received_counts", "location_id", "received_at", "appointment_id", "type_id"),
        # The link is this column alone (appointments do not point back); services link a fresh
        # appointment to one inquiry (core.inquiries.services.link_in).
        Index("ix_inquiries_appointment", "appointment_id"),
        Index("ix_inquiries_open", "location_id", "closed_at", "appointment_id", "received_at"),
        Index("ix_inquiries_customer_received", "customer_id", "received_at"),
        CheckConstraint(f"closed_reason IS NULL OR closed_reason IN {CLOSE_REASONS_SQL}", name="closed_reason_valid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    type_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_types.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(30), default="phone")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    preferred_times: Mapped[str | None] = mapped_column(String(200))
    booked_at: Mapped[datetime | None]  # when appointment_id was set: conversion counts N days from receipt
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(30))
    # A web request holding its (booked) slot until the desk confirms it; lapses by itself.
    held_until: Mapped[datetime | None]


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'cancelled', 'expired')",
            name="status_valid",
        ),
        CheckConstraint(
            "preferred_from IS NULL OR preferred_until IS NULL OR preferred_from < preferred_until",
            name="preferred_times_ordered",
        ),
        Index("ix_waitlist_location_status", "location_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    earliest_date: Mapped[date] = mapped_column(Date)
    latest_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # Preferences: weekdays (0 = Monday; None: any day) and a local time-of-day window for the start.
    preferred_weekdays: Mapped[list | None] = mapped_column(JSON)
    preferred_from: Mapped[time | None] = mapped_column(Time)
    preferred_until: Mapped[time | None] = mapped_column(Time)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    customer: Mapped[Customer] = relationship()
    type: Mapped[AppointmentType] = relationship()


class WaitlistOffer(Base):
    """A freed slot offered to a waitlist entry, for the front desk to book or dismiss."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'booked', 'dismissed', 'expired')", name="status_valid"),
        Index("ix_waitlist_offers_location_start", "location_id", "start_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    freed_by_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    booked_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[WaitlistEntry] = relationship()
