"""Providers (managers at their locations, admins): profile, locations, weekly hours, time off,
and the bulk changes "out sick today" and "copy hours to others"."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.security.access import A
from core.settings import locations, providers
from pages import ui
from pages.downloads import download_buttons
from pages.safe import chart_text, plain
from pages.settings_common import list_controls, run, show_notice
from pages.settings_schedule import copy_hours_panel, hours_panel, out_sick_panel, time_off_panel

actor = ui.require_page(A.SETTINGS_MANAGE)
st.title("Providers")
st.caption("Who delivers appointments, where, and when. Changes to hours and time off show the appointments "
           "they would affect before you confirm.")  # fmt: skip
show_notice()

search, inactive = list_controls("prov", "Name, email, skill or location")
rows = providers.list_providers(actor, search=search, include_inactive=inactive)
table = pd.DataFrame(
    [{"Name": p.name, "Email": p.email, "Skills": ", ".join(p.skills), "Locations": ", ".join(p.locations),
      "Hours a week": p.weekly_hours, "Calendar": p.calendar_id or "", "Status": "Active" if p.active else "Inactive"}
     for p in rows],
    columns=["Name", "Email", "Skills", "Locations", "Hours a week", "Calendar", "Status"],
)  # fmt: skip
if table.empty:
    st.info("No providers match." if search else "No providers yet. Add the first one below.")
else:
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(table, hide_index=True, width="stretch")
        download_buttons(actor, table, "providers", what="settings.providers")
    with right:
        fig = px.bar(table.assign(Name=table["Name"].map(chart_text)), x="Hours a week", y="Name", orientation="h", height=80 + 28 * len(table),
                     title="Scheduled hours a week")  # fmt: skip
        fig.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0}, yaxis_title=None)
        st.plotly_chart(fig, width="stretch")

everyone = {p.id: p for p in providers.list_providers(actor, include_inactive=True)}
my_locations = {loc.id: loc for loc in locations.list_locations(actor)}
choice = st.selectbox(
    "Provider", [None, *everyone], key="provider_choice",
    format_func=lambda i: "New provider" if i is None else f"{everyone[i].name}{'' if everyone[i].active else ' (inactive)'}",
)  # fmt: skip
current = everyone.get(choice)

SECTIONS = ["Profile", "Weekly hours", "Time off", "Out sick today", "Copy hours"] if current else ["Profile"]
section = st.segmented_control("Section", SECTIONS, default="Profile", key=f"provider_section_{choice}",
                               label_visibility="collapsed") or "Profile"  # fmt: skip
if section == "Profile":
    with st.form("provider_form"):
        name = st.text_input("Name", value=current.name if current else "")
        email = st.text_input("Email", value=current.email if current else "")
        skills = st.text_input("Skills (comma separated)", value=", ".join(current.skills) if current else "")
        calendar = st.text_input("Calendar id (blank: the email)", value=(current.calendar_id or "") if current else "")
        names = {i: loc.name for i, loc in my_locations.items()}
        if current:
            names |= dict(zip(current.location_ids, current.locations, strict=True))
        where = st.multiselect("Works at", list(names), default=list(current.location_ids) if current else [],
                               format_func=names.get)  # fmt: skip
        if st.form_submit_button("Save provider", type="primary"):
            run(lambda: providers.save_provider(actor, provider_id=choice, name=name, email=email, skills=skills,
                                                calendar_id=calendar, location_ids=where),
                f"{name.strip() or 'The provider'} is saved.")  # fmt: skip
    if (
        current is not None
        and current.active
        and st.button(f"Deactivate {plain(current.name)}", icon=":material/block:")
    ):
        run(lambda: providers.set_provider_active(actor, current.id, False), f"{current.name} is deactivated.")
    if (
        current is not None
        and not current.active
        and st.button(f"Reactivate {plain(current.name)}", icon=":material/restore:")
    ):
        run(lambda: providers.set_provider_active(actor, current.id, True), f"{current.name} is active again.")
else:
    here = [i for i in current.location_ids if i in my_locations] or list(current.location_ids)
    loc_names = dict(zip(current.location_ids, current.locations, strict=True))
    if section == "Weekly hours":
        hours_panel(actor, current, here, loc_names)
    elif section == "Time off":
        time_off_panel(actor, current)
    elif section == "Out sick today":
        out_sick_panel(actor, current)
    else:
        copy_hours_panel(actor, current, here, loc_names, everyone)
