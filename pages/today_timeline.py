"""The day's timeline: one lane per provider (or room), one bar per appointment or group
session, coloured by status, with the customer's short name (or initials) where it fits; clicking a bar
selects its appointment in the Appointment box."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from core.base.tz import to_local
from core.scheduling import schedule
from core.scheduling.schedule import STATUS_LABELS, DaySchedule
from pages.safe import chart_text

STATUS_COLORS = {
    "booked": "#9aa5b1", "confirmed": "#3b82f6", "checked_in": "#f59e0b",
    "completed": "#16a34a", "no_show": "#dc2626", "cancelled": "#e5e7eb",
}  # fmt: skip


PLOT_PX = 800  # about the width of the chart's plot area on a desk's screen
CHAR_PX = 7  # about one character of a bar's label
MIN_HOURS = 6


def bar_text(name: str, minutes: float, span_minutes: float) -> str:
    """What fits in a bar `minutes` long on a chart `span_minutes` wide: "Amelia A.", else
    the initials "AA", else nothing (the hover and the list still name it)."""
    parts = name.split()
    short = name if len(parts) < 2 else f"{parts[0]} {parts[-1][0]}."
    width = minutes * PLOT_PX / span_minutes
    if width >= CHAR_PX * len(short) + 8:
        return short
    initials = "".join(p[0] for p in parts[:3])
    return initials if width >= CHAR_PX * len(initials) + 8 else ""


def _select_from_chart(key: str) -> None:
    points = st.session_state[key].selection.points
    if points and points[0].get("customdata"):
        st.session_state["today_selected"] = int(points[0]["customdata"][0])


def _time_off(day_schedule: DaySchedule, lanes: list[str], by: str) -> list[dict]:
    """A grey band over each provider's time off in their lane (lanes run bottom-up on the
    axis), under the bars: an appointment drawn on one cannot take place as booked."""
    names = dict(day_schedule.providers)
    tz = day_schedule.location.timezone
    shapes = []
    for off in day_schedule.time_off:
        name = chart_text(names.get(off.provider_id, ""))
        if name not in lanes:
            continue
        pos = len(lanes) - 1 - lanes.index(name)
        shapes.append({"type": "rect", "xref": "x", "yref": "y", "layer": "below", "line": {"width": 0},
                       "x0": to_local(off.start, tz).replace(tzinfo=None).isoformat(),
                       "x1": to_local(off.end, tz).replace(tzinfo=None).isoformat(),
                       "y0": pos - 0.45, "y1": pos + 0.45, "fillcolor": "rgba(100, 116, 139, 0.25)",
                       "label": {"text": chart_text(f"Off: {off.reason}" if off.reason else "Off"),
                                 "textposition": "top left", "font": {"size": 10, "color": "#475569"}}})  # fmt: skip
    return shapes


def timeline(day_schedule: DaySchedule, by: str, now: datetime) -> None:
    """Bars per lane coloured by status. Built from plain lists: plotly validates them far faster
    than DataFrame columns, which keeps a 300-appointment day quick to redraw."""
    bars, names = schedule.timeline_frame(day_schedule, by=by)
    lanes = [chart_text(name) for name in names]  # plotly reads HTML in names: shown as typed
    if not lanes:
        return
    # The day's appointments, at least MIN_HOURS wide: the widest bars for names to fit in.
    start = datetime.combine(day_schedule.day, datetime.min.time())
    lo, hi = start + timedelta(hours=8), start + timedelta(hours=17)
    if len(bars):
        lo, hi = (
            bars["start"].min().floor("h").to_pydatetime(),
            (bars["end"].max() + timedelta(minutes=30)).ceil("h").to_pydatetime(),
        )
        hi = max(hi, lo + timedelta(hours=MIN_HOURS))
    span = (hi - lo).total_seconds() / 60
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
            "y": [chart_text(b["lane"]) for b in group], "base": [b["start"].isoformat() for b in group],
            "x": [(b["end"] - b["start"]).total_seconds() * 1000 for b in group],
            "marker": {"color": STATUS_COLORS[status]}, "customdata": [[b["id"], chart_text(b["label"])] for b in group],
            "text": [chart_text(b["customer"] if b["members"] > 1 else
                     bar_text(b["customer"], (b["end"] - b["start"]).total_seconds() / 60, span)) for b in group],
            "textposition": "inside", "insidetextanchor": "start", "textfont": {"size": 12, "color": "white"},
            "textangle": 0, "cliponaxis": True,
            "hovertemplate": "%{customdata[1]}<br>" + STATUS_LABELS.get(status, status) + "<extra></extra>",
        })  # fmt: skip
    shapes = _time_off(day_schedule, lanes, by) if by == "provider" else []
    local_now = to_local(now, day_schedule.location.timezone).replace(tzinfo=None)
    if lo <= local_now <= hi:
        shapes.append({"type": "line", "x0": local_now.isoformat(), "x1": local_now.isoformat(), "y0": 0, "y1": 1,
                       "yref": "paper", "line": {"color": "#dc2626"}})  # fmt: skip
    layout = {
        "barmode": "overlay", "height": 90 + 44 * len(lanes), "uniformtext": {"minsize": 9, "mode": "hide"},
        "margin": {"l": 0, "r": 0, "t": 8, "b": 0}, "shapes": shapes, "clickmode": "event+select",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, "dragmode": False,
        "xaxis": {"type": "date", "range": [lo.isoformat(), hi.isoformat()], "tickformat": "%H:%M"},
        "yaxis": {"categoryorder": "array", "categoryarray": lanes[::-1]},
    }  # fmt: skip
    # A new day, a changed list or a new pick is a new chart: an old click never selects another
    # appointment, and a picked bar is not left highlighted with the others dimmed.
    picked = st.session_state.get("today_selected")
    key = f"today_timeline_{hash((day_schedule.day, tuple(bars['id']), by, picked))}"
    st.plotly_chart({"data": traces, "layout": layout}, key=key, width="stretch", on_select=lambda: _select_from_chart(key),
                    selection_mode="points", config={"displayModeBar": False})  # fmt: skip
