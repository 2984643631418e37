"""Today's schedule: the front desk's working screen (for a provider, their own day).

The schedule, its actions and the waitlist refresh themselves every REFRESH_SECONDS inside a
fragment; dialogs open outside it, so a refresh never closes one. The view is kept in the URL
(`?location=<id>&date=YYYY-MM-DD&cancelled=1&by=room`), so a refresh, the back button and a
shared link show the same day."""

from __future__ import annotations

import os
from datetime import date, timedelta

import streamlit as st

from core.base import clock, limits
from core.base.errors import DomainError
from core.base.tz import to_local
from core.scheduling import schedule
from core.scheduling.schedule import LocationView, day_label
from core.security.access import A, Actor, can
from pages import inquiry_dialogs, kit, today_box, today_dialogs, today_panels, today_state, today_timeline
from pages.queue_parts import queue_line
from pages.safe import plain
from pages.today_state import PAGE
from pages.ui import current_actor, keep_navigation_current, require_page

REFRESH_SECONDS = float(os.environ.get("TODAY_REFRESH_SECONDS", "30"))  # browser tests shorten it


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
                kit.say(f"'{params['date']}' is not a day the schedule can show; showing today.", "error", page=PAGE)
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
    cols[5].segmented_control("Timeline by", ["Provider", "Room"], key="today_by")  # set from the URL
    if can(actor, A.APPOINTMENT_BOOK, location.id) and cols[6].button("Book", icon=":material/add:", type="primary",
                                                                       key="today_book", width="stretch"):  # fmt: skip
        today_state.open_dialog("book")


@st.fragment(run_every=REFRESH_SECONDS)
def live_schedule(location: LocationView, day: date, by: str, show_cancelled: bool) -> None:
    actor = current_actor()  # re-read on every refresh: a revoked role stops the refreshes
    if actor is None or not can(actor, A.APPOINTMENT_VIEW, location.id):
        st.rerun(scope="app")
    keep_navigation_current(actor)  # the queue's count in the navigation, after an action here
    now = clock.utcnow()  # the services' clock, so the buttons offered are the ones they accept
    try:
        day_schedule = schedule.day_schedule(actor, location.id, day, now=now)
    except DomainError as exc:
        kit.show(PAGE)
        st.error(str(exc))
        return
    st.caption(f"{day_schedule.summary()} — updated {to_local(now, location.timezone):%H:%M:%S}")
    if not day_schedule.rows:
        whose = "You have no" if schedule.is_provider_view(actor) else "No"
        st.info(
            f"{whose} appointments at {plain(location.name)} on {day_label(day)}.", icon=":material/event_available:"
        )
        kit.show(PAGE)
        if can(actor, A.APPOINTMENT_BOOK, location.id) and st.button("Book one", key="today_book_empty"):
            today_state.open_dialog("book")
    else:
        today_timeline.timeline(day_schedule, by, now)
        # The page's messages sit under the timeline, over the box: no toast covers the timeline.
        kit.show(PAGE)
        today_box.appointment_panel(actor, day_schedule, show_cancelled, now)
    today_panels.waitlist_panel(actor, location, day)


actor = require_page(A.APPOINTMENT_VIEW)
today_state.view_from_url()
locations, location, day = resolve_location_and_day(actor)
title = "My day" if schedule.is_provider_view(actor) else location.name
today = schedule.default_day(location)
when = day_label(day) + (f" {day.year}" if day.year != today.year else "") + (" (today)" if day == today else "")
st.title(f"{plain(title)} · {when}")
queue_line(actor)  # "Exceptions queue: 3 open items", linking to the queue
controls(actor, locations, location)
today_dialogs.show_open_dialog(actor, location, day)
search_col, toggle_col = st.columns([4, 1], vertical_alignment="center")
with search_col:
    today_panels.customer_search_panel(actor, location)  # in reach, above a busy day's list
show_cancelled = toggle_col.toggle("Show cancelled", key="today_show_cancelled")
by = (st.session_state.get("today_by") or "Provider").lower()
today_state.view_to_url(location.id, day, show_cancelled, by)
live_schedule(location, day, by, show_cancelled)
inquiry_dialogs.panel(actor, location, day)
