"""What an event says in Google Calendar. By default the appointment type and the customer's
first name, nothing more sensitive; GOOGLE_CALENDAR_EVENT_SUMMARY changes it with the fields
{type}, {first_name} and {location} (e.g. "{type}" for no customer detail at all)."""

from __future__ import annotations

import os
import string

from core.base.errors import ValidationError
from core.base.models import Appointment

DEFAULT_TEMPLATE = "{type} - {first_name}"
FIELDS = {"type", "first_name", "location"}


def template() -> str:
    value = os.environ.get("GOOGLE_CALENDAR_EVENT_SUMMARY", DEFAULT_TEMPLATE)
    names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    if not names <= FIELDS:
        unknown = ", ".join(sorted(names - FIELDS))
        raise ValidationError(
            f"GOOGLE_CALENDAR_EVENT_SUMMARY uses {unknown}; only {{type}}, {{first_name}} and {{location}} are allowed."
        )
    return value


def event_summary(appt: Appointment) -> str:
    first = (appt.customer.name or "").split()[0] if appt.customer and appt.customer.name else ""
    text = template().format(type=appt.type.name, first_name=first, location=appt.location.name)
    return text.strip(" -")[:250] or appt.type.name
