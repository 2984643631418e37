"""The no-show risk on today's schedule: a badge in the appointment box (low / medium / high, the
percentage and the reasons on hover), a column in the list, and a line saying why there is none.
Reads stored scores only (core.noshow.reads): never loads the model."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.noshow import reads
from core.scheduling.schedule import DaySchedule, ScheduleRow
from core.security.access import Actor

COLORS = {"low": "green", "medium": "orange", "high": "red"}
UPCOMING = ("booked", "confirmed")


def _risks(actor: Actor, day_schedule: DaySchedule) -> dict[int, reads.Risk]:
    ids = [r.appointment_id for r in day_schedule.rows if r.status in UPCOMING]
    return reads.risks(actor, day_schedule.location.id, ids)


def badge(actor: Actor, row: ScheduleRow) -> None:
    """The selected appointment's badge, with its reasons in words under it."""
    if row.status not in UPCOMING:
        return
    risk = reads.risks(actor, row.location_id, [row.appointment_id]).get(row.appointment_id)
    if risk is None:
        return
    reasons = f" · {'; '.join(risk.reasons)}" if risk.reasons else ""
    st.markdown(f":{COLORS[risk.band]}-badge[{risk.label}]{reasons}", help=risk.hover)


def with_risk(actor: Actor, day_schedule: DaySchedule, frame: pd.DataFrame) -> pd.DataFrame:
    """The list with a "No-show risk" column (empty where there is no score), and a caption when
    there are no scores at all, saying why."""
    risks = _risks(actor, day_schedule)
    if not risks and (why := reads.why_none()):
        st.caption(why)
    if not risks:
        return frame
    out = frame.copy()
    out["No-show risk"] = [
        f"{risks[i].band.capitalize()} {risks[i].risk:.0%}" if i in risks else "" for i in frame.index
    ]
    return out
