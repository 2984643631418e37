"""Appointment types (managers for their locations, admins for all): what can be booked, for
how long, by whom, where, and what to ask. Deactivating shows what it leaves behind first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.security.access import A
from core.settings import locations, types
from pages import ui
from pages.downloads import download_buttons
from pages.safe import plain
from pages.settings_common import list_controls, run, show_notice
from pages.settings_intake import intake_section

actor = ui.require_page(A.SETTINGS_MANAGE)
st.title("Appointment types")
st.caption("Durations, buffers, booking rules, skills, rooms and intake questions. Managers change the types "
           "offered only at their locations; types offered everywhere are for admins.")  # fmt: skip
show_notice()
ROUTING_LABELS = {"round_robin": "Take turns (round robin)", "least_booked": "Least booked that week"}

search, inactive = list_controls("types", "Name")
rows = types.list_types(actor, search=search, include_inactive=inactive)
table = pd.DataFrame(
    [{"Name": t.data.name, "Minutes": t.data.duration_min,
      "Buffers before / after": f"{t.data.buffer_before_min} / {t.data.buffer_after_min}", "Capacity": t.data.capacity,
      "Skills": ", ".join(t.data.required_skills), "Room": t.data.room_kind or "",
      "Offered at": ", ".join(t.locations) or "Every location", "Status": "Active" if t.active else "Inactive"}
     for t in rows],
    columns=["Name", "Minutes", "Buffers before / after", "Capacity", "Skills", "Room", "Offered at", "Status"],
)  # fmt: skip
if table.empty:
    st.info("No appointment types match." if search else "No appointment types yet. Add the first one below.")
else:
    st.dataframe(table, hide_index=True, width="stretch")
    download_buttons(actor, table, "appointment-types", what="settings.types")

every = {t.id: t for t in types.list_types(actor, include_inactive=True)}
places = {loc.id: loc.name for loc in locations.list_locations(actor)}
choice = st.selectbox("Appointment type", [None, *every], key="type_choice",
                      format_func=lambda i: "New appointment type" if i is None else every[i].data.name)  # fmt: skip
view = every.get(choice)
d = view.data if view else types.TypeInput(name="", duration_min=30)
editable = view is None or types.can_change(actor, view)
if view is not None and not editable:
    st.info(f"{plain(d.name)} is offered at locations outside yours (or everywhere): ask an admin to change it.")

with st.form("type_form"):
    name = st.text_input("Name", value=d.name)
    c1, c2, c3, c4 = st.columns(4)
    duration = c1.number_input("Duration (min)", value=d.duration_min, step=5)
    before = c2.number_input("Buffer before (min)", value=d.buffer_before_min, step=5)
    after = c3.number_input("Buffer after (min)", value=d.buffer_after_min, step=5)
    capacity = c4.number_input("Capacity", value=d.capacity, step=1, help="More than 1: a group session")
    c1, c2, c3, c4 = st.columns(4)
    notice = c1.number_input("Minimum notice (min)", value=d.min_notice_min, step=15)
    horizon = c2.number_input("Booking horizon (days)", value=d.horizon_days, step=1)
    window = c3.number_input("Cancellation window (h)", value=d.cancellation_window_hours, step=1)
    resched = c4.number_input("Reschedule notice (h)", value=d.reschedule_notice_hours, step=1)
    c1, c2, c3 = st.columns(3)
    skills = c1.text_input("Required skills (comma separated)", value=", ".join(d.required_skills))
    room_kind = c2.text_input("Room kind (blank: no room)", value=d.room_kind or "")
    routing = c3.selectbox("Routing", types.ROUTING, index=types.ROUTING.index(d.routing_policy),
                           format_func=ROUTING_LABELS.get, help="Who gets a booking made without a provider.")  # fmt: skip
    offered = {**places, **{i: n for i, n in zip(d.location_ids, view.locations if view else (), strict=False)}}
    where = st.multiselect("Offered at (none: every location)", list(offered), default=d.location_ids,
                           format_func=offered.get)  # fmt: skip
    st.caption("Intake questions asked when booking")
    intake = st.data_editor(
        pd.DataFrame(d.intake_fields or [], columns=["label", "kind", "required"]), num_rows="dynamic",
        hide_index=True, key=f"intake_{choice}",
        column_config={"label": "Question", "kind": st.column_config.SelectboxColumn("Kind", options=types.INTAKE_KINDS),
                       "required": st.column_config.CheckboxColumn("Required")},
    )  # fmt: skip
    if st.form_submit_button("Save appointment type", type="primary", disabled=not editable):
        data = types.TypeInput(
            name=name, duration_min=int(duration), buffer_before_min=int(before), buffer_after_min=int(after),
            min_notice_min=int(notice), horizon_days=int(horizon), cancellation_window_hours=int(window),
            reschedule_notice_hours=int(resched), capacity=int(capacity), required_skills=skills, room_kind=room_kind,
            routing_policy=routing, color=d.color, location_ids=where,
            intake_fields=[{"label": r["label"], "kind": r["kind"] or "text", "required": bool(r["required"])}
                           for r in intake.to_dict("records") if isinstance(r["label"], str) and r["label"].strip()],
        )  # fmt: skip
        run(lambda: types.save_type(actor, data, type_id=choice), f"{name.strip() or 'The type'} is saved.")


@st.dialog("Deactivate appointment type")
def confirm_deactivate(type_id: int) -> None:
    preview = types.deactivate_type_preview(actor, type_id)
    st.write(preview.message)
    if st.button("Deactivate", type="primary"):
        run(lambda: types.set_type_active(actor, type_id, False), "The type is deactivated.")


if view is not None and editable:
    if view.active and st.button(f"Deactivate {plain(d.name)}…", icon=":material/block:"):
        confirm_deactivate(view.id)
    if not view.active and st.button(f"Reactivate {plain(d.name)}", icon=":material/restore:"):
        run(lambda: types.set_type_active(actor, view.id, True), f"{d.name} is active again.")

if view is not None:
    st.divider()
    intake_section(actor, view.id, editable)
