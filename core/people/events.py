"""What people publish (core.base.bus): handlers run in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.security.access import Actor


@dataclass(frozen=True, kw_only=True)
class CustomerCreated:
    """A new customer, whose home is `location_id` (created at the desk or with a booking)."""

    customer_id: int
    location_id: int
    actor: Actor | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class CustomerUpdated:
    """A customer's details changed: `changes` maps each changed field (name, email, phone) to
    its value before and after."""

    customer_id: int
    location_id: int
    changes: dict[str, tuple[str | None, str | None]]
    actor: Actor | None
    at: datetime
