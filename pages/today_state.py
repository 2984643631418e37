"""State and helpers shared by today's schedule and its dialogs and panels: the open dialog
(pages.kit.Dialogs), cached pick lists, and which actions a row offers. Every button is one
core service call through pages.kit.act; a refused action shows its sentence and changes
nothing."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.base.tz import to_local
from core.scheduling import schedule, transitions
from core.scheduling.schedule import day_label
from core.security.access import Actor, can_act_on_appointment
from pages import kit

PAGE = "today"  # the page's messages (pages.kit)
DIALOGS = kit.Dialogs("today_dialog", "dlg_", PAGE)  # {"kind": ..., "appointment_id": ..., ...} while one is open
UNDO = "today_undo"  # {"id", "until", "text"}: the desk's last status change, undoable until `until`
ANY = 0  # "any provider" in provider pickers


@st.cache_data(ttl=60, show_spinner=False)
def providers_at(_actor: Actor, scope: tuple, location_id: int) -> list[tuple[int, str]]:
    return schedule.location_providers(_actor, location_id)


@st.cache_data(ttl=60, show_spinner=False)
def types_for(_actor: Actor, scope: tuple) -> list[schedule.TypeView]:
    return schedule.appointment_types(_actor)


def scope_key(actor: Actor) -> tuple:
    """What cached lists depend on: the actor's role and scope, never only their id."""
    return (actor.role, tuple(sorted(actor.location_ids or ())), actor.all_locations, actor.provider_id)


def open_dialog(kind: str, **details) -> None:
    DIALOGS.open(kind, **details)
    st.rerun(scope="app")  # dialogs live outside the refreshing fragment


def slot_label(slot, tz: str, *, with_day: bool = False, seats: bool = True) -> str:
    start, end = to_local(slot.start, tz), to_local(slot.end, tz)
    room = f" · {slot.room_name}" if slot.room_name else ""
    seats = f" · {slot.seats_left} places left" if seats and slot.seats_left > 1 else ""
    day = f"{day_label(start.date())} " if with_day else ""
    return f"{day}{start:%H:%M}–{end:%H:%M} · {slot.provider_name}{room}{seats}"


def row_actions(actor: Actor, row: schedule.ScheduleRow, now: datetime) -> list[tuple[str, str]]:
    """(action, button label) the actor may take on this appointment now, in the order shown,
    from core's transition table; the service checks again."""
    return [
        (t.action, t.label)
        for t in transitions.available(row.status, row.local_start, now)
        if can_act_on_appointment(actor, t.action, row.location_id, row.provider_id)
    ]


def row_not_yet(actor: Actor, row: schedule.ScheduleRow, now: datetime) -> list[str]:
    """When the actions the clock still holds back open ("Check-in opens 12:50"), for the
    actor's own actions only."""
    return [
        when
        for t, when in transitions.not_yet(row.status, row.local_start, now)
        if can_act_on_appointment(actor, t.action, row.location_id, row.provider_id)
    ]


def go_to(location_id: int, day, appointment_id: int | None = None) -> None:
    """Show another day (and location), with one of its appointments picked (a button's callback)."""
    st.session_state["today_location"] = location_id
    st.session_state["today_day"] = day
    st.session_state["today_selected"] = appointment_id


# The view lives in the URL, so a refresh, the back button and a shared link show the same day.
URL_KEYS = ("location", "date", "cancelled", "by")
SHOWN_URL = "today_shown_url"  # the URL this session last wrote


def _url() -> dict:
    return {k: st.query_params.get(k) for k in URL_KEYS}


def view_from_url() -> None:
    """When the URL is not the one this session last wrote (a new session, a link, or the back
    and forward buttons), it says what to show: location and day are resolved afterwards with
    the locations the actor may see, the toggles are set here."""
    state, url = st.session_state, _url()
    if state.get(SHOWN_URL) == url:
        return  # our own URL: the widgets hold the view
    if SHOWN_URL in state:  # back or forward within the session
        state.pop("today_location", None)
        state.pop("today_day", None)
    state["today_show_cancelled"] = url["cancelled"] == "1"
    state["today_by"] = "Room" if url["by"] == "room" else "Provider"


def view_to_url(location_id: int, day, show_cancelled: bool, by: str) -> None:
    wanted = {"location": str(location_id), "date": day.isoformat(),
              "cancelled": "1" if show_cancelled else None, "by": by if by != "provider" else None}  # fmt: skip
    if _url() != wanted:
        for key, value in wanted.items():
            if value is None:
                st.query_params.pop(key, None)
            else:
                st.query_params[key] = value
    st.session_state[SHOWN_URL] = wanted


def intake_fields(actor: Actor, type_id: int | None) -> tuple[dict, ...]:
    """The intake questions of a type ({"name", "label", "required"}), in the type's order."""
    atype = next((t for t in types_for(actor, scope_key(actor)) if t.id == type_id), None)
    return tuple(atype.intake_fields) if atype else ()
