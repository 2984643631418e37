"""Where the desk works: which of a day's appointments sit where their provider is off or
outside working hours ("Dr. Jones is off: Conference"), and the time off to shade on the
day's timeline. The same check (core.scheduling.hours.why_outside) raises the queue's
"outside working hours" item, so the list, the timeline and the queue agree."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from core.scheduling.hours import hours_and_absences, why_outside


@dataclass(frozen=True)
class Away:
    provider_id: int
    start: datetime  # aware UTC, cut to the day
    end: datetime
    reason: str | None


def away_text(provider_name: str, why: str) -> str:
    """ "Dr. Jones is off: Conference", "Dr. Jones is off", "Dr. Jones is outside working hours"."""
    if why.startswith("on time off"):
        reason = why.removeprefix("on time off").strip(" ()")
        return f"{provider_name} is off" + (f": {reason}" if reason else "")
    return f"{provider_name} is {why}"


def flag_rows(
    session: Session, rows: list, location_id: int, tz: str, lo: datetime, hi: datetime, lanes: list[int] = ()
):
    """The rows with the away flag added to every open appointment that cannot take place as
    booked, and the day's time off of the rows' providers and of the timeline's `lanes`:
    (rows, [Away])."""
    providers = sorted({r.provider_id for r in rows if r.provider_id is not None} | set(lanes))
    shifts, absences = hours_and_absences(session, providers, lo)
    flagged = []
    for row in rows:
        why = None
        if row.is_open and row.provider_id is not None and row.end is not None:
            why = why_outside(row.start, row.end, location_id, tz, shifts[row.provider_id], absences[row.provider_id])
        flagged.append(replace(row, flags=(*row.flags, away_text(row.provider_name, why))) if why else row)
    spans = [
        Away(p, max(a.start, lo), min(a.end, hi), a.reason)
        for p in providers
        for a in absences[p]
        if a.start < hi and a.end > lo
    ]
    return flagged, spans
