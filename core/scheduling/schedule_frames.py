"""The day schedule as the tables a page draws: the appointment list and the timeline's bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.base.models import Status

if TYPE_CHECKING:
    from core.scheduling.schedule import DaySchedule

NO_ROOM = "No room"


def schedule_frame(schedule: DaySchedule, *, include_cancelled: bool = True) -> pd.DataFrame:
    """The list the page shows: one row per appointment, indexed by appointment id."""
    columns = ["Time", "Customer", "Type", "Provider", "Room", "Status", "Intake", "Flags"]
    records = [
        {
            "id": r.appointment_id,
            "Time": r.time_label,
            "Customer": r.customer_name,
            "Type": r.type_name,
            "Provider": r.provider_name,
            "Room": r.room_name or "—",
            "Status": "Late cancel" if r.late_cancel and r.status == Status.CANCELLED else r.status_label,
            "Intake": "Done" if r.intake_complete else "Missing",
            "Flags": ", ".join(r.flags),
        }
        for r in schedule.rows
        if include_cancelled or r.status != Status.CANCELLED
    ]
    return pd.DataFrame.from_records(records, columns=["id", *columns]).set_index("id")


def timeline_frame(schedule: DaySchedule, *, by: str = "provider") -> tuple[pd.DataFrame, list[str]]:
    """Bars for the day's timeline (cancelled appointments left out; a group session's members
    drawn as one bar with their count) and the lane names in order.
    `by` is "provider" or "room"; times are naive local wall-clock times of the location."""
    if by not in ("provider", "room"):
        raise ValueError(f"timeline by {by!r}: expected 'provider' or 'room'")
    # Imported history without a duration (or, by provider, without one) has no bar to draw.
    rows = [r for r in schedule.active_rows if r.local_end is not None and (by == "room" or r.provider_id is not None)]
    if by == "provider":
        lanes = [name for _, name in schedule.providers]
    else:
        lanes = [name for _, name in schedule.rooms]
        if any(r.room_id is None for r in rows):
            lanes.append(NO_ROOM)
        for r in rows:  # a room since deactivated still shows its appointments
            if r.room_name and r.room_name not in lanes:
                lanes.append(r.room_name)
    # A group session is one bar: its members share a group_key, a lane and a time.
    sessions: dict[tuple, list] = {}
    for r in rows:
        lane = r.provider_name if by == "provider" else (r.room_name or NO_ROOM)
        sessions.setdefault((r.group_key or r.appointment_id, lane, r.start), []).append(r)
    records = []
    for (_, lane, _), members in sessions.items():
        r = members[0]
        who = r.customer_name if len(members) == 1 else f"{len(members)} booked"
        records.append(
            {
                "id": r.appointment_id,
                "lane": lane,
                "start": r.local_start.replace(tzinfo=None),
                "end": r.local_end.replace(tzinfo=None),
                "status": r.status,
                "status_label": r.status_label,
                "label": f"{r.time_label} {who} · {r.type_name}",
                "customer": who,
                "type": r.type_name,
                "members": len(members),
            }
        )
    cols = ["id", "lane", "start", "end", "status", "status_label", "label", "customer", "type", "members"]
    return pd.DataFrame.from_records(records, columns=cols), lanes
