"""What an event says in Google Calendar. By default the appointment type and the customer's
first name, nothing more sensitive; GOOGLE_CALENDAR_EVENT_SUMMARY changes it with the fields
{type}, {first_name} and {location} (e.g. "{type}" for no customer detail at all)."""

from __future__ import annotations

import os
import string

from core.base.errors import ValidationError

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


def summary_for(type_name: str, customer_name: str | None, location_name: str) -> str:
    first = customer_name.split()[0] if customer_name and customer_name.split() else ""
    text = template().format(type=type_name, first_name=first, location=location_name)
    return text.strip(" -")[:250] or type_name
