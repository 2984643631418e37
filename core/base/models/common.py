"""The declarative base (naming convention, UTC instants, JSON columns) and the shared enums."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase

from core.base.db import UTCDateTime

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
