"""How the schedule names things for people: statuses, dates, and what imported history lacks."""

from __future__ import annotations

from datetime import date

from core.base.models import Status

STATUS_LABELS = {
    Status.BOOKED: "Booked",
    Status.CONFIRMED: "Confirmed",
    Status.CHECKED_IN: "Checked in",
    Status.COMPLETED: "Completed",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancelled",
}

UNKNOWN = "—"  # imported history without a provider or type


def day_label(day: date) -> str:
    """'Tue 3 Mar', the way the desk says a date."""
    return f"{day:%a} {day.day} {day:%b}"
