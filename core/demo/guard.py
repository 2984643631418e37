"""When demo data may be added: only in demo mode, and only to a database with no users and no
locations, so demo accounts with published passwords never reach a real installation."""

from __future__ import annotations

from sqlalchemy import exists, select

from core.base.config import get_settings
from core.base.db import read_session
from core.base.models import Appointment, Location, User


def refusal() -> str | None:
    """Why demo data may not be added here, or None when it may."""
    if not get_settings().demo_mode:
        return "Demo data is added only in demo mode (DEMO_MODE=1); this database is treated as a real installation."
    with read_session() as session:
        taken = any(session.scalar(select(exists().select_from(model))) for model in (User, Location, Appointment))
    if taken:
        return "Demo data goes only into an empty database: this one already has users or locations."
    return None
