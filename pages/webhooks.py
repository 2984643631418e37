"""Admin -> Webhooks: the endpoints other systems receive events at (add, on/off, rotate the
secret), and below them the delivery log with replays (pages/webhooks_log.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.security.access import A
from core.webhooks import endpoints
from core.webhooks.payloads import EVENT_TYPES
from pages import kit, ui, webhooks_log
from pages.safe import plain
from pages.settings_common import PAGE, run, show_notice

SECRET = "webhooks_new_secret"  # (endpoint id, secret, what happened): shown until dismissed, then gone
LEVELS = {"none": "None (customer id only)", "names": "Names", "contacts": "Names and contacts"}

actor = ui.require_page(A.WEBHOOKS_MANAGE)
st.title("Webhooks")
st.caption(
    "Other systems (a CRM, a data warehouse) hear what happens to appointments: each event is posted to "
    "the endpoints that want it, signed (Standard Webhooks), retried for three days, and logged. "
    "Payloads and verification: docs/webhooks.md."
)
show_notice()

if shown := st.session_state.get(SECRET):
    endpoint_id, secret, what = shown
    with st.container(border=True):
        st.success(f"{what} Copy the signing secret now: it is not shown again.", icon=":material/key:")
        st.code(secret, language=None)
        if st.button("I have copied it", key="secret_done"):
            st.session_state.pop(SECRET, None)
            st.rerun()

rows = endpoints.list_endpoints(actor)
st.subheader("Endpoints")
if not rows:
    st.info("No endpoints yet. Add the address your CRM gave you for webhooks below.")
else:
    frame = pd.DataFrame(
        [
            {
                "ID": e.id,
                "On": e.enabled,
                "URL": e.url,
                "Description": e.description,
                "Events": ", ".join(e.event_types),
                "Personal data": LEVELS[e.personal_data],
                "Note": e.disabled_reason
                or (f"failing since {e.failing_since:%Y-%m-%d %H:%M} UTC" if e.failing_since else "")
                or (
                    f"old secret valid until {e.previous_valid_until:%Y-%m-%d %H:%M} UTC"
                    if e.previous_valid_until
                    else ""
                ),  # fmt: skip
            }
            for e in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")

with st.expander("Add an endpoint", expanded=not rows, icon=":material/add_link:"), st.form("add_endpoint"):
    url = st.text_input("URL", placeholder="https://crm.example.com/webhooks")
    chosen = st.multiselect(
        "Events",
        list(EVENT_TYPES),
        default=["appointment.booked", "appointment.rescheduled", "appointment.cancelled"],
        format_func=lambda k: f"{k}: {EVENT_TYPES[k]}",
    )
    description = st.text_input("Description", placeholder="Our CRM")
    level = st.radio("Personal data in payloads", list(LEVELS), format_func=LEVELS.get, horizontal=True)
    if st.form_submit_button("Add endpoint", type="primary"):
        made: list = []  # the new endpoint and its secret, shown once in the secret's box
        add = endpoints.add_endpoint
        if kit.act(lambda: made.append(add(actor, url, chosen, description=description, personal_data=level)),
                   page=PAGE, inline=True):  # fmt: skip
            endpoint, secret = made[0]
            st.session_state[SECRET] = (endpoint.id, secret, f"Endpoint {endpoint.id} added.")
            st.rerun()

if rows:
    by_label = {f"#{e.id} {e.description or e.url}": e for e in rows}
    left, mid, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    picked = by_label[left.selectbox("Change endpoint", list(by_label), key="manage_endpoint")]
    if mid.button("Switch off" if picked.enabled else "Switch on", width="stretch"):
        run(lambda: endpoints.set_enabled(actor, picked.id, not picked.enabled),
            f"Endpoint {picked.id} is {'off' if picked.enabled else 'on'}.")  # fmt: skip
    if right.button("Rotate secret…", width="stretch"):
        st.session_state["rotate_endpoint"] = picked.id

    @st.dialog("Rotate the signing secret")
    def confirm_rotate(endpoint: endpoints.EndpointView) -> None:
        st.write(
            f"Make a new secret for **{plain(endpoint.url)}**? For 24 hours both the old and the new one "
            "sign every delivery, so the receiver can switch over without losing a message."
        )
        yes, no = st.columns(2)
        if yes.button("Rotate", type="primary", width="stretch"):
            st.session_state.pop("rotate_endpoint", None)
            made: list = []
            if kit.act(lambda: made.append(endpoints.rotate_secret(actor, endpoint.id)), page=PAGE, inline=True):
                st.session_state[SECRET] = (endpoint.id, made[0], f"Endpoint {endpoint.id} has a new secret.")
                st.rerun()
        if no.button("Cancel", width="stretch"):
            st.session_state.pop("rotate_endpoint", None)
            st.rerun()

    if st.session_state.get("rotate_endpoint") == picked.id:
        confirm_rotate(picked)

webhooks_log.section(actor, rows)
