"""The day's timeline: one lane per provider (or room), one bar per appointment or group
session, coloured by status, with the customer's short name where it fits; clicking a bar
selects its appointment in the Appointment box."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from core.base.tz import to_local
from core.scheduling import schedule
from core.scheduling.schedule import STATUS_LABELS, DaySchedule

STATUS_COLORS = {
    "booked": "#9aa5b1", "confirmed": "#3b82f6", "checked_in": "#f59e0b",
    "completed": "#16a34a", "no_show": "#dc2626", "cancelled": "#e5e7eb",
}  # fmt: skip


def short_name(name: str) -> str:
    """ "Amelia Ali" -> "Amelia A.": what fits in a half-hour bar."""
    parts = name.split()
    return name if len(parts) < 2 else f"{parts[0]} {parts[-1][0]}."


def _select_from_chart(key: str) -> None:
    points = st.session_state[key].selection.points
    if points and points[0].get("customdata"):
        st.session_state["today_selected"] = int(points[0]["customdata"][0])


def timeline(day_schedule: DaySchedule, by: str, now: datetime) -> None:
    """Bars per lane coloured by status. Built from plain lists: plotly validates them far faster
    than DataFrame columns, which keeps a 300-appointment day quick to redraw."""
    bars, lanes = schedule.timeline_frame(day_schedule, by=by)
    if not lanes:
        return
    start = datetime.combine(day_schedule.day, datetime.min.time())
    lo, hi = start + timedelta(hours=7), start + timedelta(hours=20)
    if len(bars):
        lo, hi = min(lo, bars["start"].min().floor("h")), max(hi, bars["end"].max().ceil("h"))
    # An invisible point per lane keeps a provider with a free day on the chart.
    traces = [{"type": "scatter", "x": [lo.isoformat()] * len(lanes), "y": lanes, "mode": "markers",
               "marker": {"opacity": 0}, "showlegend": False, "hoverinfo": "skip"}]  # fmt: skip
    groups: dict[str, list[dict]] = {}
    for bar in bars.to_dict("records"):
        groups.setdefault(bar["status"], []).append(bar)
    for status in (s for s in STATUS_COLORS if s in groups):
        group = groups[status]
        traces.append({
            "type": "bar", "orientation": "h", "name": STATUS_LABELS.get(status, status),
            "y": [b["lane"] for b in group], "base": [b["start"].isoformat() for b in group],
            "x": [(b["end"] - b["start"]).total_seconds() * 1000 for b in group],
            "marker": {"color": STATUS_COLORS[status]}, "customdata": [[b["id"], b["label"]] for b in group],
            "text": [b["customer"] if b["members"] > 1 else short_name(b["customer"]) for b in group],
            "textposition": "inside", "insidetextanchor": "start", "textangle": 0, "cliponaxis": True,
            "hovertemplate": "%{customdata[1]}<br>" + STATUS_LABELS.get(status, status) + "<extra></extra>",
        })  # fmt: skip
    shapes = []
    local_now = to_local(now, day_schedule.location.timezone).replace(tzinfo=None)
    if lo <= local_now <= hi:
        shapes.append({"type": "line", "x0": local_now.isoformat(), "x1": local_now.isoformat(), "y0": 0, "y1": 1,
                       "yref": "paper", "line": {"color": "#dc2626"}})  # fmt: skip
    layout = {
        "barmode": "overlay", "height": 90 + 44 * len(lanes), "uniformtext": {"minsize": 8, "mode": "hide"},
        "margin": {"l": 0, "r": 0, "t": 8, "b": 0}, "shapes": shapes, "clickmode": "event+select",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, "dragmode": False,
        "xaxis": {"type": "date", "range": [lo.isoformat(), hi.isoformat()], "tickformat": "%H:%M"},
        "yaxis": {"categoryorder": "array", "categoryarray": lanes[::-1]},
    }  # fmt: skip
    # A new day or a changed list is a new chart: an old click never selects another appointment.
    key = f"today_timeline_{hash((day_schedule.day, tuple(bars['id']), by))}"
    st.plotly_chart({"data": traces, "layout": layout}, key=key, width="stretch", on_select=lambda: _select_from_chart(key),
                    selection_mode="points", config={"displayModeBar": False})  # fmt: skip
