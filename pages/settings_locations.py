"""Locations and rooms (admins): add, change, deactivate and restore; close a location for a day."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from core.base.tz import today_in
from core.security.access import A
from core.settings import bulk, locations
from pages import ui
from pages.downloads import download_buttons
from pages.safe import plain
from pages.settings_common import list_controls, run, show_notice

actor = ui.require_page(A.LOCATIONS_MANAGE)
st.title("Locations")
st.caption("Where the business works, in which time zone, and its rooms. Nothing is deleted: deactivate instead.")
show_notice()

search, inactive = list_controls("loc", "Name, address or time zone")
rows = locations.list_locations(actor, search=search, include_inactive=inactive)
table = pd.DataFrame(
    [{"Name": r.name, "Time zone": r.timezone, "Address": r.address or "", "Rooms": r.rooms,
      "Upcoming appointments": r.upcoming, "Answer inquiries within (min)": r.answer_minutes,
      "Status": "Active" if r.active else "Inactive"} for r in rows],
    columns=["Name", "Time zone", "Address", "Rooms", "Upcoming appointments", "Answer inquiries within (min)",
             "Status"],
)  # fmt: skip
if table.empty:
    st.info("No locations match. Add the first one below." if not search else "No locations match the search.")
else:
    st.dataframe(table, hide_index=True, width="stretch")
    download_buttons(actor, table, "locations", what="settings.locations")

everything = locations.list_locations(actor, include_inactive=True)
by_id = {r.id: r for r in everything}
ZONES = sorted(available_timezones())

st.subheader("Add or change a location")
choice = st.selectbox("Location", [None, *by_id], format_func=lambda i: "New location" if i is None else by_id[i].name)
current = by_id.get(choice)
with st.form("location_form", clear_on_submit=False):
    name = st.text_input("Name", value=current.name if current else "")
    default_tz = current.timezone if current else "America/New_York"
    tz = st.selectbox("Time zone", ZONES, index=ZONES.index(default_tz) if default_tz in ZONES else 0)
    address = st.text_input("Address", value=(current.address or "") if current else "")
    low, high = locations.ANSWER_MINUTES
    answer = st.number_input(
        "Answer an inquiry within (business minutes)", min_value=low, max_value=high, step=5,
        value=current.answer_minutes if current else 60,
        help="After this many minutes of the location's opening hours, an inquiry nobody has booked or "
        "closed goes to the exceptions queue as 'Inquiry not answered'.",
    )  # fmt: skip
    if st.form_submit_button("Save location", type="primary"):
        run(lambda: locations.save_location(actor, location_id=choice, name=name, timezone=tz, address=address,
                                            inquiry_answer_minutes=int(answer)),
            f"{name.strip() or 'The location'} is saved.")  # fmt: skip


@st.dialog("Deactivate location")
def confirm_deactivate(loc: locations.LocationView) -> None:
    st.write(f"Deactivate **{plain(loc.name)}**? Nobody can book there until it is reactivated; its history stays.")
    if st.button("Deactivate", type="primary"):
        run(lambda: locations.set_location_active(actor, loc.id, False), f"{loc.name} is deactivated.")


if current is not None:
    if current.active:
        if st.button(f"Deactivate {plain(current.name)}…", icon=":material/block:"):
            confirm_deactivate(current)
    elif st.button(f"Reactivate {plain(current.name)}", icon=":material/restore:"):
        run(lambda: locations.set_location_active(actor, current.id, True), f"{current.name} is active again.")

    st.subheader(f"Rooms at {plain(current.name)}")
    rooms = locations.list_rooms(actor, location_id=current.id, include_inactive=inactive)
    room_table = pd.DataFrame([{"Room": r.name, "Kind": r.kind, "Status": "Active" if r.active else "Inactive"}
                               for r in rooms], columns=["Room", "Kind", "Status"])  # fmt: skip
    if room_table.empty:
        st.info(f"{plain(current.name)} has no rooms yet.")
    else:
        st.dataframe(room_table, hide_index=True, width="stretch")
        download_buttons(actor, room_table, f"rooms-{plain(current.name)}", what="settings.rooms")
    with st.form("room_form", clear_on_submit=True):
        c1, c2 = st.columns(2)
        room_name, kind = c1.text_input("New room name"), c2.text_input("Kind", placeholder="exam, studio, consult")
        if st.form_submit_button("Add room"):
            run(lambda: locations.save_room(actor, location_id=current.id, name=room_name, kind=kind),
                f"{room_name.strip()} is added to {current.name}.")  # fmt: skip
    if rooms:
        pick = st.selectbox("Room", rooms, format_func=lambda r: f"{r.name} ({'active' if r.active else 'inactive'})")
        label = "Deactivate room" if pick.active else "Reactivate room"
        if st.button(label, key="room_toggle"):
            run(lambda: locations.set_room_active(actor, pick.id, not pick.active),
                f"{pick.name} is {'deactivated' if pick.active else 'active again'}.")  # fmt: skip

    st.subheader(f"Close {plain(current.name)} for a day")
    today = today_in(current.timezone)
    c1, c2 = st.columns(2)
    day = c1.date_input("Day", value=today + timedelta(days=1), min_value=today, key="close_day")
    reason = c2.text_input("Reason", placeholder="Public holiday", key="close_reason")
    if st.button("Preview closure"):
        st.session_state["closure"] = bulk.close_location_preview(actor, current.id, day)
    preview = st.session_state.get("closure")
    if preview is not None and preview.location == current.name and preview.day == day:
        st.write(
            f"Closing on {day:%A %d %B}: hours become time off for {plain(', '.join(preview.providers)) or 'nobody'}."
        )
        if preview.appointments:
            st.warning(f"{len(preview.appointments)} appointments will be cancelled, each with a rebook call queued.")
            st.dataframe(pd.DataFrame([{"When": i.when, "Customer": i.customer, "Type": i.type}
                                       for i in preview.appointments]), hide_index=True)  # fmt: skip
        if st.button("Confirm closure", type="primary"):
            st.session_state.pop("closure", None)
            run(lambda: bulk.close_location(actor, current.id, day, reason=reason, preview=preview),
                f"{current.name} is closed on {day:%A %d %B}.")  # fmt: skip
