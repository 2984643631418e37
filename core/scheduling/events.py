"""What booking publishes. Subscribers (waitlist offers, the exceptions queue, the calendar
push outbox, notifications, metric rollups) handle these in the booking's own transaction
through `core.base.bus`; booking imports none of them.

Every change to an appointment is an `AppointmentChanged` (subscribe to it to see them all):
`before` is the appointment as it was (None for a new one) and `after` as it is now, so a
handler can undo what the old state counted and count the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.base.models import Appointment
from core.security.access import Actor


@dataclass(frozen=True)
class AppointmentState:
    status: str
    start: datetime
    end: datetime | None  # None: imported history without a duration
    location_id: int
    provider_id: int | None
    room_id: int | None
    type_id: int | None
    customer_id: int

    @classmethod
    def of(cls, appt: Appointment) -> AppointmentState:
        return cls(
            status=appt.status,
            start=appt.start_at,
            end=appt.end_at,
            location_id=appt.location_id,
            provider_id=appt.provider_id,
            room_id=appt.room_id,
            type_id=appt.type_id,
            customer_id=appt.customer_id,
        )


@dataclass(frozen=True, kw_only=True)
class AppointmentChanged:
    appointment_id: int
    before: AppointmentState | None
    after: AppointmentState
    actor: Actor | None
    at: datetime

    @property
    def manual(self) -> bool:
        """Done by a member of staff (an admin touch), not by the system or a sync."""
        return self.actor is not None and self.actor.user_id is not None


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(AppointmentChanged):
    pass


@dataclass(frozen=True, kw_only=True)
class AppointmentRescheduled(AppointmentChanged):
    pass


@dataclass(frozen=True, kw_only=True)
class AppointmentStatusChanged(AppointmentChanged):
    pass


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(AppointmentStatusChanged):
    late: bool


@dataclass(frozen=True, kw_only=True)
class AppointmentEdited(AppointmentChanged):
    """Notes, intake answers or other details changed; time, people and status did not."""

    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SlotFreed:
    """A future slot opened by a cancellation or a reschedule."""

    appointment_id: int
    location_id: int
    type_id: int | None
    provider_id: int | None
    start: datetime
    end: datetime
    at: datetime


@dataclass(frozen=True, kw_only=True)
class ProviderScheduleChanged:
    """A provider's working hours or time off changed (settings publishes it): appointments may
    now fall outside hours, which the exceptions queue re-checks in the same transaction."""

    provider_id: int
    location_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True, kw_only=True)
class LocationZoneChanged:
    """A location moved to another time zone (settings publishes it, only while it has no future
    appointments): its past appointments and inquiries fall on other local days now, so whatever
    keeps per-day figures rebuilds the location's."""

    location_id: int
    at: datetime


@dataclass(frozen=True, kw_only=True)
class AppointmentsImported:
    """An import wrote appointments directly (in bulk, without booking's per-appointment events).
    Whatever keeps per-day figures in step (metric rollups) rebuilds the touched local days:
    `days` maps each location to its first and last touched local date, the old dates of
    updated appointments included; `first_day`/`last_day` span them all."""

    location_ids: tuple[int, ...]
    first_day: date | None
    last_day: date | None
    days: dict[int, tuple[date, date]]
    at: datetime
    notify: bool = False  # the import asked for confirmations (rows it wrote carry `at` as updated_at)


@dataclass(frozen=True)
class DemoSeeded:
    """The demo seeder wrote its year of appointments in bulk (no per-appointment events), in the
    transaction this event is published in: capabilities that keep rows about appointments
    write their part of the demo's story (the outbox's sent and pending messages)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class IntakeCompleted:
    """An appointment's intake form became complete (core.intake publishes it in the answering
    transaction; webhooks send it as intake.completed). It lives here, below both, so that
    core.webhooks can name it without an arrow between the two capabilities. Not an
    AppointmentChanged: the appointment itself did not move. `how`: "customer_link" (the
    customer's own link), "desk" (staff answering), "paper" (staff marked it received on paper) or
    "booking" (the booking itself gave every required answer; published after the booking's own
    handlers, core.intake.announce)."""

    appointment_id: int
    state: AppointmentState
    form_id: int
    form_version: int
    completed_at: datetime
    how: str
    actor: Actor | None
    at: datetime
