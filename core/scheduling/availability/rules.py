"""What availability answers with: slots, fits, routing decisions and the problems that stop a booking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

STEP_MIN = 15  # slot step for individual types; group types step by their duration
MAX_RANGE_DAYS = 92  # one find_slots call covers at most this many local dates
ROUND_ROBIN_LOOKBACK = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime
    provider_id: int
    provider_name: str
    room_id: int | None
    room_name: str | None
    location_id: int
    seats_left: int = 1  # group types: remaining capacity


@dataclass(frozen=True)
class Routing:
    """The provider (and room) picked for a start time, and why."""

    provider_id: int
    provider_name: str
    room_id: int | None
    room_name: str | None
    reason: str
    group_key: str | None = None
    seats_left: int = 1


@dataclass(frozen=True)
class Fit:
    """A provider and room that can take an appointment of the type at `start`."""

    provider_id: int
    provider_name: str
    start: datetime
    end: datetime
    block_start: datetime
    block_end: datetime
    room_id: int | None
    room_name: str | None
    group_key: str | None  # group types: the session's key; None: a fresh key per appointment
    seats_left: int = 1


@dataclass(frozen=True)
class DomainProblem:
    """Why a provider cannot take a booking, as the error it would raise (not raised yet)."""

    kind: type
    message: str

    def error(self) -> Exception:
        return self.kind(self.message)


def group_key_for(type_id: int, provider_id: int, start: datetime) -> str:
    """The shared key of a group session: one per type, provider and start."""
    return f"g:{type_id}:{provider_id}:{start.astimezone(UTC).isoformat()}"
