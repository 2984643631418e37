"""The organisation: locations and their rooms, providers with their weekly hours and time off,
and the appointment types they offer."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.models.common import Base

provider_locations = Table(
    "provider_locations",
    Base.metadata,
    Column("provider_id", ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)

# Where an appointment type is offered; a type with no rows here is offered at every location.
type_locations = Table(
    "appointment_type_locations",
    Base.metadata,
    Column("type_id", ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Business minutes an inquiry may wait for an answer here (5 to 1,440; migration 0030's CHECK).
    inquiry_answer_minutes: Mapped[int] = mapped_column(default=60, server_default="60")

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
    # The public request page offers it (off by default); instant books at once, otherwise the
    # slot is held as a request for online_hold_minutes until the desk confirms or declines it.
    bookable_online: Mapped[bool] = mapped_column(default=False, server_default=false())
    online_instant: Mapped[bool] = mapped_column(default=False, server_default=false())
    online_hold_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    # Shown with the confirmation and on the intake page ("Bring your insurance card; arrive 10 min early").
    pre_visit_instructions: Mapped[str | None] = mapped_column(Text)

    # Where it is offered; empty: at every location.
    locations: Mapped[list[Location]] = relationship(secondary=type_locations, order_by="Location.name")
