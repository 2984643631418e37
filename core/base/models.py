"""ORM models. Instants are UTC (UTCDateTime); local times (working hours) are naive `time`
values interpreted in the location's IANA time zone."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.base.db import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class Role(enum.StrEnum):
    FRONT_DESK = "front_desk"
    PROVIDER = "provider"
    MANAGER = "manager"
    ANALYST = "analyst"
    ADMIN = "admin"


class Status(enum.StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


OPEN_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN)
# Every status but cancelled holds its time: the overlap rule ignores only cancelled ones.
BLOCKING_STATUSES = tuple(s for s in Status if s is not Status.CANCELLED)


def new_key() -> str:
    return uuid.uuid4().hex


provider_locations = Table(
    "provider_locations",
    Base.metadata,
    Column("provider_id", ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)

user_locations = Table(
    "user_locations",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)

    rooms: Mapped[list[Room]] = relationship(back_populates="location", order_by="Room.name")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("location_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(default=True)

    location: Mapped[Location] = relationship(back_populates="rooms")


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    skills: Mapped[list] = mapped_column(default=list)
    calendar_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)

    locations: Mapped[list[Location]] = relationship(secondary=provider_locations, order_by="Location.name")
    working_hours: Mapped[list[WorkingHours]] = relationship(back_populates="provider", cascade="all, delete-orphan")

    @property
    def calendar(self) -> str:
        return self.calendar_id or self.email


class WorkingHours(Base):
    """A weekly shift in the location's local time; weekday 0 = Monday."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        Index(
            "ix_working_hours_provider_location",
            "provider_id",
            "location_id",
            "weekday",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    provider: Mapped[Provider] = relationship(back_populates="working_hours")


class TimeOff(Base):
    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_time_off_provider_start", "provider_id", "start_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(255))


class AppointmentType(Base):
    __tablename__ = "appointment_types"
    __table_args__ = (
        CheckConstraint("duration_min > 0", name="duration_positive"),
        CheckConstraint(
            "buffer_before_min >= 0 AND buffer_after_min >= 0",
            name="buffers_non_negative",
        ),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("routing_policy IN ('round_robin', 'least_booked')", name="routing_policy"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    duration_min: Mapped[int]
    buffer_before_min: Mapped[int] = mapped_column(default=0)
    buffer_after_min: Mapped[int] = mapped_column(default=0)
    min_notice_min: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=60)
    cancellation_window_hours: Mapped[int] = mapped_column(default=24)
    reschedule_notice_hours: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[int] = mapped_column(default=1)
    required_skills: Mapped[list] = mapped_column(default=list)
    room_kind: Mapped[str | None] = mapped_column(String(60))
    # [{"name": "reason", "label": "Reason for visit", "required": true}, ...]
    intake_fields: Mapped[list] = mapped_column(default=list)
    routing_policy: Mapped[str] = mapped_column(String(20), default="round_robin")
    color: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_name", "name"),
        Index("ix_customers_email", "email"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Where the customer was first taken on; with their appointments, this decides which
    # locations' staff may find them.
    home_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
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
        Index("ix_appointments_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    block_start: Mapped[datetime]
    block_end: Mapped[datetime]
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
    provider: Mapped[Provider] = relationship()
    room: Mapped[Room | None] = relationship()
    type: Mapped[AppointmentType] = relationship()
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


class Inquiry(Base):
    __tablename__ = "inquiries"
    __table_args__ = (Index("ix_inquiries_location_received", "location_id", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    type_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_types.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(30), default="phone")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    notes: Mapped[str | None] = mapped_column(Text)


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'cancelled', 'expired')",
            name="status_valid",
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


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(20))  # None: no role, sees nothing
    all_locations: Mapped[bool] = mapped_column(default=False)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every sign-in cookie carries it (in its signing key): bumping it ends every session.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    locations: Mapped[list[Location]] = relationship(secondary=user_locations, order_by="Location.name")


class AuditLog(Base):
    """Append-only. Written in the same transaction as the change it records."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_actor", "actor_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str | None] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok | denied
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class ExceptionItem(Base):
    """An item of the exceptions queue; `dedupe_key` makes detection idempotent."""

    __tablename__ = "exceptions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'assigned', 'snoozed', 'resolved')", name="status_valid"),
        Index("ix_exceptions_location_status", "location_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snoozed_until: Mapped[datetime | None]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(default=dict)


class CalendarSyncState(Base):
    __tablename__ = "calendar_sync_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), unique=True)
    calendar_id: Mapped[str] = mapped_column(String(255))
    sync_token: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok | error | disconnected
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(120))


class BusyBlock(Base):
    """Time a provider is busy in Google Calendar outside this app. All-day blocks cover the
    local day(s) [all_day_start, all_day_end) with the exclusive end date Google uses."""

    __tablename__ = "busy_blocks"
    __table_args__ = (
        UniqueConstraint("calendar_id", "google_event_id"),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_busy_blocks_provider_start", "provider_id", "start_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    calendar_id: Mapped[str] = mapped_column(String(255))
    google_event_id: Mapped[str] = mapped_column(String(255))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    all_day_start: Mapped[date | None] = mapped_column(Date)
    all_day_end: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(String(255))
    etag: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationOutbox(Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))  # email | sms
    kind: Mapped[str] = mapped_column(String(30))  # confirmation | reminder | follow_up | cancellation
    recipient: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
