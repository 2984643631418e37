"""When the database refuses a booking: name the appointment that holds the time, and retry
what PostgreSQL asks to retry.

The database's overlap rules are the guarantee against double booking. A write that slipped
past the check in code (two writers at once on PostgreSQL) fails with an IntegrityError naming
the rule; `run_booking` turns it into a ConflictError that says who holds the time, and runs a
unit of work again after a deadlock or serialization failure.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.base.db import constraint_name, read_session
from core.base.errors import ConflictError
from core.base.models import Appointment, Provider, Room, Status
from core.scheduling.availability import describe_appointment

PROVIDER_RULE = "ex_appointments_provider_overlap"
ROOM_RULE = "ex_appointments_room_overlap"
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure: try again
MAX_ATTEMPTS = 3
MAX_REROUTES = 5  # routed bookings that lost a race on the provider or room they were given
BACKOFF_S = 0.05  # the first retry waits up to this long, each next one up to twice as long
BUSY = "Others were changing this schedule at the same moment and nothing was saved: try again."

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """What an insert or update tried to hold, to name the clash if the database refuses it."""

    provider_id: int | None = None
    room_id: int | None = None
    block_start: datetime | None = None
    block_end: datetime | None = None
    group_key: str | None = None
    appointment_id: int | None = None

    def holds(self, appt: Appointment) -> None:
        self.provider_id, self.room_id = appt.provider_id, appt.room_id
        self.block_start, self.block_end, self.group_key = appt.block_start, appt.block_end, appt.group_key


def overlap_error(exc: IntegrityError, attempt: Attempt) -> ConflictError | None:
    """The database refused an overlap: name the appointment that holds the time."""
    rule = constraint_name(exc)
    if rule not in (PROVIDER_RULE, ROOM_RULE) or attempt.block_start is None:
        return None
    with read_session() as s:
        column, value = (
            (Appointment.provider_id, attempt.provider_id)
            if rule == PROVIDER_RULE
            else (Appointment.room_id, attempt.room_id)
        )
        q = select(Appointment.id).where(
            column == value,
            Appointment.status != Status.CANCELLED.value,
            Appointment.group_key != (attempt.group_key or ""),
            Appointment.block_start >= attempt.block_start - timedelta(days=1),
            Appointment.block_start < attempt.block_end,
            Appointment.block_end > attempt.block_start,
        )
        if attempt.appointment_id is not None:
            q = q.where(Appointment.id != attempt.appointment_id)
        clash_id = s.scalar(q.order_by(Appointment.block_start).limit(1))
        if rule == PROVIDER_RULE:
            name = s.get(Provider, attempt.provider_id).name
            if clash_id is None:
                return ConflictError(f"{name} was just booked at that time by someone else; choose another slot.")
            return ConflictError(describe_appointment(s, clash_id, provider_name=name))
        room = s.get(Room, attempt.room_id).name
        if clash_id is None:
            return ConflictError(f"{room} was just taken at that time by someone else; choose another slot.")
        return ConflictError(describe_appointment(s, clash_id, room_name=room))


def run_booking(fn: Callable[[], T], attempt: Attempt, *, reroute: bool = False) -> T:
    """Run one unit of work; translate overlap violations, retry deadlocks after a jittered
    backoff. `reroute`: routing (not the desk) chose the provider or room, so a clash on it runs
    the booking again, to route among those still free (the lost race is not the user's)."""
    for n in range(MAX_ATTEMPTS + (MAX_REROUTES if reroute else 0)):
        try:
            return fn()
        except IntegrityError as exc:
            err = overlap_error(exc, attempt)
            if err is None:
                raise
            if not reroute or n == MAX_ATTEMPTS + MAX_REROUTES - 1:
                raise err from None
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES:
                raise
            diag = getattr(exc.orig, "diag", None)
            log.warning("booking retried after %s: %s", exc.orig.sqlstate, getattr(diag, "message_detail", None))
            if n >= MAX_ATTEMPTS - 1:  # still colliding with other desks: nothing was written
                raise ConflictError(BUSY) from None
            time.sleep(random.uniform(0, BACKOFF_S * 2**n))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")  # pragma: no cover
