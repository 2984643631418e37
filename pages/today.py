"""Today's schedule: the front desk's working screen (for a provider, their own day).

The schedule, its actions and the waitlist refresh themselves every REFRESH_SECONDS inside a
fragment; dialogs open outside it, so a refresh never closes one. `?date=YYYY-MM-DD` and
`?location=<id>` pick the first day and location shown."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import streamlit as st

from core.base import clock, limits
from core.base.errors import DomainError
from core.base.tz import to_local
from core.scheduling import booking, schedule
from core.scheduling.schedule import STATUS_LABELS, DaySchedule, LocationView, day_label
from core.security.access import A, Actor, can
from pages import today_dialogs, today_panels, today_state
from pages.downloads import download_buttons
from pages.queue_parts import queue_line
from pages.safe import plain
from pages.ui import current_actor, require_page

REFRESH_SECONDS = float(os.environ.get("TODAY_REFRESH_SECONDS", "30"))  # browser tests shorten it
STATUS_COLORS = {
    "booked": "#9aa5b1", "confirmed": "#3b82f6", "checked_in": "#f59e0b",
    "completed": "#16a34a", "no_show": "#dc2626", "cancelled": "#e5e7eb",
}  # fmt: skip
QUICK_ACTIONS = {
    A.APPOINTMENT_CONFIRM: (booking.confirm, "confirmed"),
    A.APPOINTMENT_CHECK_IN: (booking.check_in, "checked in"),
    A.APPOINTMENT_COMPLETE: (booking.complete, "completed"),
    A.APPOINTMENT_NO_SHOW: (booking.mark_no_show, "marked as no-show"),
}
DIALOG_ACTIONS = {A.APPOINTMENT_RESCHEDULE: "reschedule", A.APPOINTMENT_CANCEL: "cancel", A.APPOINTMENT_NOTE: "notes"}


@st.cache_data(ttl=60, show_spinner=False)
def _locations(_actor: Actor, scope: tuple) -> list[LocationView]:
    return schedule.visible_locations(_actor)


def _shift_day(days: int | None) -> None:
    location = st.session_state["today_location_view"]
    current = st.session_state.get("today_day") or schedule.default_day(location)
    st.session_state["today_day"] = schedule.default_day(location) if days is None else current + timedelta(days=days)


def resolve_location_and_day(actor: Actor) -> tuple[dict[int, LocationView], LocationView, date]:
    """The location and day to show: as picked, else from the URL, else the actor's own today."""
    locations = {loc.id: loc for loc in _locations(actor, today_state.scope_key(actor))}
    if not locations:
        st.info("You have no locations yet: ask an admin to add you to one.")
        st.stop()
    state, params = st.session_state, st.query_params
    if state.get("today_location") not in locations:
        wanted = int(params["location"]) if params.get("location", "").isdigit() else None
        fallback = schedule.default_location(actor, list(locations.values()))
        state["today_location"] = wanted if wanted in locations else fallback.id
    location = state["today_location_view"] = locations[state["today_location"]]
    if not isinstance(state.get("today_day"), date):
        try:
            state["today_day"] = limits.day_in_reach(date.fromisoformat(params.get("date", "")))
        except ValueError:  # no date, not a date, or out of reach: today, saying so when one was asked for
            state["today_day"] = schedule.default_day(location)
            if params.get("date"):
                state[today_state.FLASH] = f"'{params['date']}' is not a day the schedule can show; showing today."
    return locations, location, state["today_day"]


def controls(actor: Actor, locations: dict[int, LocationView], location: LocationView) -> None:
    cols = st.columns([2.3, 1.8, 0.6, 1.0, 0.6, 1.9, 1.3], vertical_alignment="bottom")
    cols[0].selectbox("Location", list(locations), format_func=lambda i: locations[i].name, key="today_location")
    cols[1].date_input("Date", key="today_day", format="YYYY-MM-DD")
    for col, (label, shift, hint) in zip(
        cols[2:5],
        [("◀", -1, "Previous day"), ("Today", None, "Back to today"), ("▶", 1, "Next day")],
        strict=True,
    ):
        col.button(
            label,
            key=f"today_{hint.split()[0].lower()}",
            help=hint,
            on_click=_shift_day,
            args=(shift,),
            width="stretch",
        )
    cols[5].segmented_control("Timeline by", ["Provider", "Room"], key="today_by", default="Provider")
    if can(actor, A.APPOINTMENT_BOOK, location.id) and cols[6].button("Book", icon=":material/add:", type="primary",
                                                                       key="today_book", width="stretch"):  # fmt: skip
        today_state.open_dialog("book")


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
            "text": [b["customer"] for b in group], "textposition": "inside", "insidetextanchor": "start",
            "textangle": 0, "hovertemplate": "%{customdata[1]}<br>" + STATUS_LABELS.get(status, status) + "<extra></extra>",
        })  # fmt: skip
    shapes = []
    local_now = to_local(now, day_schedule.location.timezone).replace(tzinfo=None)
    if lo <= local_now <= hi:
        shapes.append({"type": "line", "x0": local_now.isoformat(), "x1": local_now.isoformat(), "y0": 0, "y1": 1,
                       "yref": "paper", "line": {"color": "#dc2626"}})  # fmt: skip
    layout = {
        "barmode": "overlay", "height": 90 + 44 * len(lanes), "uniformtext": {"minsize": 9, "mode": "hide"},
        "margin": {"l": 0, "r": 0, "t": 8, "b": 0}, "shapes": shapes,
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "range": [lo.isoformat(), hi.isoformat()], "tickformat": "%H:%M"},
        "yaxis": {"categoryorder": "array", "categoryarray": lanes[::-1]},
    }  # fmt: skip
    st.plotly_chart({"data": traces, "layout": layout}, key="today_timeline", width="stretch",
                    config={"displayModeBar": False})  # fmt: skip


def _select_from_table() -> None:
    rows = st.session_state["today_table"].selection.rows
    if rows:
        st.session_state["today_selected"] = st.session_state["today_table_ids"][rows[0]]


def appointment_panel(actor: Actor, day_schedule: DaySchedule, show_cancelled: bool, now: datetime) -> None:
    rows = [r for r in day_schedule.rows if show_cancelled or r.status != "cancelled"]
    ids = [r.appointment_id for r in rows]
    if st.session_state.get("today_selected") not in ids:
        st.session_state.pop("today_selected", None)
    labels = {r.appointment_id: f"{r.time_label} · {r.customer_name} · {r.type_name} · {r.provider_name}" for r in rows}
    current = st.session_state.get("today_selected")
    if current in labels and st.session_state.get("today_selected_label") != labels[current]:
        st.session_state["today_selected"] = current  # moved or changed: send the browser the new label
    selected = st.selectbox("Appointment", ids, index=None, format_func=labels.get, key="today_selected",
                            placeholder="Pick an appointment, or click its row in the list")  # fmt: skip
    st.session_state["today_selected_label"] = labels.get(selected)
    row = day_schedule.row(selected) if selected else None
    if row is not None:
        contact = " · ".join(c for c in (row.customer_phone, row.customer_email) if c)
        flags = f" · :orange[{', '.join(row.flags)}]" if row.flags else ""
        st.markdown(f"**{plain(row.customer_name)}** {plain(contact)} — **{row.status_label}**{flags}")
        if row.notes:
            st.caption(f"Notes: {plain(row.notes)}")
        actions = today_state.row_actions(actor, row, now)
        for col, (action, label) in zip(st.columns(max(len(actions), 5)), actions, strict=False):
            key = f"act_{action.split('.')[-1]}_{row.appointment_id}"
            if action in QUICK_ACTIONS:
                service, done = QUICK_ACTIONS[action]
                col.button(label, key=key, width="stretch", on_click=today_state.attempt,
                           type="primary" if action == A.APPOINTMENT_CHECK_IN else "secondary",
                           args=(lambda s=service: s(actor, row.appointment_id), f"{row.customer_name} {done}."))  # fmt: skip
            elif col.button(label, key=key, width="stretch"):
                today_state.open_dialog(DIALOG_ACTIONS[action], appointment_id=row.appointment_id)
    frame = schedule.schedule_frame(day_schedule, include_cancelled=show_cancelled)
    st.session_state["today_table_ids"] = list(frame.index)
    widths = {"Time": 100, "Room": 90, "Status": 95, "Intake": 70, "Flags": 150}
    st.dataframe(frame, key="today_table", hide_index=True, width="stretch", on_select=_select_from_table,
                 selection_mode="single-row", height=min(38 + 35 * len(frame), 640),
                 column_config={name: st.column_config.TextColumn(width=w) for name, w in widths.items()})  # fmt: skip
    where = {"location": day_schedule.location.name, "day": day_schedule.day.isoformat()}
    download_buttons(actor, frame, f"schedule-{where['location']}-{where['day']}", what="schedule", filters=where)


@st.fragment(run_every=REFRESH_SECONDS)
def live_schedule(location: LocationView, day: date, by: str, show_cancelled: bool) -> None:
    actor = current_actor()  # re-read on every refresh: a revoked role stops the refreshes
    if actor is None or not can(actor, A.APPOINTMENT_VIEW, location.id):
        st.rerun(scope="app")
    today_state.show_messages()
    now = clock.utcnow()  # the services' clock, so the buttons offered are the ones they accept
    try:
        day_schedule = schedule.day_schedule(actor, location.id, day, now=now)
    except DomainError as exc:
        st.error(str(exc))
        return
    st.caption(f"{day_schedule.summary()} — updated {to_local(now, location.timezone):%H:%M:%S}")
    if not day_schedule.rows:
        whose = "You have no" if schedule.is_provider_view(actor) else "No"
        st.info(
            f"{whose} appointments at {plain(location.name)} on {day_label(day)}.", icon=":material/event_available:"
        )
        if can(actor, A.APPOINTMENT_BOOK, location.id) and st.button("Book one", key="today_book_empty"):
            today_state.open_dialog("book")
    else:
        timeline(day_schedule, by, now)
        appointment_panel(actor, day_schedule, show_cancelled, now)
    today_panels.waitlist_panel(actor, location, day)


actor = require_page(A.APPOINTMENT_VIEW)
locations, location, day = resolve_location_and_day(actor)
title = "My day" if schedule.is_provider_view(actor) else location.name
st.title(f"{plain(title)} · {day_label(day)}" + (" (today)" if day == schedule.default_day(location) else ""))
queue_line(actor)  # "Exceptions queue: 3 open items", linking to the queue
controls(actor, locations, location)
today_dialogs.show_open_dialog(actor, location, day)
show_cancelled = st.toggle("Show cancelled", key="today_show_cancelled")
live_schedule(location, day, (st.session_state.get("today_by") or "Provider").lower(), show_cancelled)
today_panels.customer_search_panel(actor, location)
