"""How the schedule names things for people: statuses, dates, and what imported history lacks."""

from __future__ import annotations

from datetime import date, datetime

from core.base.models import Status
from core.base.tz import to_local

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


def booked_line(type_name: str, start_at: datetime, timezone: str, why: str | None = None) -> str:
    """'Booked Consultation on Tue 3 Mar at 10:00 (why).', in the location's local time."""
    start = to_local(start_at, timezone)
    return f"Booked {type_name} on {day_label(start.date())} at {start:%H:%M}" + (f" ({why})" if why else "") + "."


SHORT_CHARS = 200  # how much of a long note the box shows before "Show more"
SHORT_LINES = 3


def clamp(text: str, chars: int = SHORT_CHARS, lines: int = SHORT_LINES) -> str | None:
    """The start of a long text, cut at a word and ended with '…', to show before "Show more";
    None when the text fits whole."""
    kept = text.splitlines()[:lines]
    head = "\n".join(kept)
    if len(head) <= chars and len(kept) == len(text.splitlines()):
        return None
    head = head[:chars]
    cut = head.rsplit(maxsplit=1)[0] if " " in head.strip() and len(head) == chars else head
    return cut.rstrip(" ,;:.-–") + "…"
