"""Your account: who you are, what you may do, your password, sign out."""

from __future__ import annotations

import streamlit as st

from core.base.errors import DomainError
from core.people import users
from core.security.access import ROLE_LABELS
from pages import auth_widgets, kit, ui
from pages.safe import plain

actor = ui.current_actor()
if actor is None or actor.role is None:
    st.error("You do not have access to this page.")
    st.stop()


@st.dialog("Sign out everywhere")
def confirm_everywhere() -> None:
    st.write(
        "Sign out on every browser and device, this one included? Any copy of your sign-in cookie stops "
        "working too. Use it if you signed in on a shared computer or think someone else has your session."
    )
    left, right = st.columns(2)
    if left.button("Sign out everywhere", type="primary", width="stretch"):
        auth_widgets.sign_out_everywhere(actor)
    if right.button("Cancel", width="stretch"):
        st.rerun()


PAGE = "account"
st.title("Account")
notice = st.empty()
kit.show(PAGE, notice)  # a success stays until the next action here
where = "every location" if actor.all_locations else ", ".join(users.location_names(actor)) or "no location yet"
st.markdown(
    f"**{plain(actor.name or actor.username)}** ({plain(actor.username)}) · {ROLE_LABELS.get(actor.role, actor.role)}"
    f" · {plain(where)}"
)
st.caption("An admin sets your role and locations. Ask one if something is missing.")

with st.form("change_password", clear_on_submit=True):
    st.subheader("Change your password")
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input("New password", type="password", autocomplete="new-password", help="At least 8 characters.")
    again = st.text_input("New password again", type="password", autocomplete="new-password")
    if st.form_submit_button("Change password", type="primary"):
        kit.clear(PAGE, where=notice)
        if new != again:
            st.error("The two new passwords differ.")
        else:
            try:
                version = users.change_own_password(actor, current, new)
            except DomainError as exc:
                st.error(plain(exc))
            else:
                kit.say("Your password is changed. Other devices are signed out; this one stays signed in.", page=PAGE)
                auth_widgets.renew_sign_in(version)
                st.rerun()

st.subheader("Sign out")
left, right = st.columns(2)
if left.button("Sign out of this browser", icon=":material/logout:", width="stretch"):
    kit.clear(PAGE, where=notice)
    auth_widgets.sign_out()
if right.button("Sign out everywhere…", icon=":material/devices_off:", width="stretch"):
    kit.clear(PAGE, where=notice)
    confirm_everywhere()
