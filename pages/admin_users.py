"""Users: who may sign in, with which role, at which locations. Every change is audited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.people import users
from core.security.access import GLOBAL_ROLES, ROLE_LABELS, A
from pages import kit, ui
from pages.downloads import download_buttons

actor = ui.require_page(A.USERS_MANAGE)
st.title("Users")
st.caption("Who may sign in, with which role and at which locations. Every change here goes to the audit log.")
kit.show()

everyone = users.list_users(actor)
by_id = {u.id: u for u in everyone}
locations = users.location_names(actor)
providers = users.provider_choices(actor)
ROLE_CHOICES = [None, *users.ROLES]


def role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role, role) if role else "No role (sees nothing)"


def provider_label(provider_id: int | None) -> str:
    return providers.get(provider_id, "Not linked") if provider_id is not None else "Not linked"


def status(u: users.UserView) -> str:
    if not u.active:
        return "Deactivated"
    if u.locked():
        return f"Sign-ins wait until {u.locked_until:%H:%M:%S} UTC"
    return "Active"


PICK, CREATED = "users_pick", "users_created"


def run(service, success: str, *args, **kwargs) -> None:
    """One service call for this admin (pages.kit.act): `success` after the rerun, otherwise
    the refusal's sentence here, where the button is."""

    def done(result) -> str:
        if service is users.add_user:
            st.session_state[CREATED] = result.id  # select them next, not the first user
        return success

    kit.act(lambda: service(actor, *args, **kwargs), done, page=None, inline=True, rerun=True)


@st.dialog("Deactivate user")
def confirm_deactivate(u: users.UserView) -> None:
    st.write(
        f"Deactivate **{u.name}** ({u.username})? They lose access on their next click, on every device. "
        "Their history stays, and you can reactivate them later."
    )
    reason = st.text_input("Reason (kept in the audit log)", key="deactivate_reason")
    left, right = st.columns(2)
    if left.button("Deactivate", type="primary", width="stretch"):
        run(users.deactivate_user, f"{u.name} is deactivated.", u.id, reason=reason or None)
    if right.button("Cancel", width="stretch"):
        st.rerun()


table = pd.DataFrame(
    [
        {
            "Username": u.username,
            "Name": u.name,
            "Email": u.email or "",
            "Role": role_label(u.role) if u.role else "No role",
            "Locations": "Every location" if u.all_locations or u.role in GLOBAL_ROLES else ", ".join(u.locations),
            "Status": status(u),
            "Last sign-in (UTC)": u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never",
        }
        for u in everyone
    ]
)
st.dataframe(table, hide_index=True)
download_buttons(actor, table, "users", what="users")

change_tab, add_tab = st.tabs(["Change a user", "Add a user"])

with change_tab:
    if not everyone:
        st.info("No users yet: add the first one in the next tab.")
    else:
        if (created := st.session_state.pop(CREATED, None)) in by_id:
            st.session_state[PICK] = created
        pick = st.selectbox(
            "User", list(by_id), format_func=lambda i: f"{by_id[i].name} ({by_id[i].username})", key=PICK
        )
        u = by_id[pick]
        st.caption(f"Status: {status(u)} · failed sign-ins in a row: {u.failed_attempts}")
        with st.form(f"role_{u.id}"):
            st.subheader("Role and locations")
            role = st.selectbox("Role", ROLE_CHOICES, index=ROLE_CHOICES.index(u.role), format_func=role_label)
            locs = st.multiselect("Locations", locations, default=[n for n in u.locations if n in locations])
            everywhere = st.checkbox("Every location", value=u.all_locations, help="Admins and analysts always have.")
            provider_ids = [None, *providers]
            provider = st.selectbox(
                "Provider record (for the provider role: whose appointments they see)",
                provider_ids,
                index=provider_ids.index(u.provider_id) if u.provider_id in provider_ids else 0,
                format_func=provider_label,
            )
            reason = st.text_input("Reason (kept in the audit log)")
            if st.form_submit_button("Save role and locations", type="primary"):
                run(users.set_role_and_locations, f"Saved {u.name}'s role and locations.", u.id, role=role,
                    location_names=locs, all_locations=everywhere, provider_id=provider, reason=reason or None)  # fmt: skip
        with st.form(f"password_{u.id}", clear_on_submit=True):
            st.subheader("Reset password")
            st.caption("Also lifts a lockout, and signs the user out on every device.")
            new_password = st.text_input("New password", type="password", autocomplete="new-password")
            if st.form_submit_button("Reset password"):
                run(users.reset_password, f"New password set for {u.name}.", u.id, new_password)
        st.subheader("Access")
        unlock, end = st.columns(2)
        if unlock.button("Unlock sign-in", icon=":material/lock_open:", disabled=not u.failed_attempts,
                         help="Forget their failed sign-ins, so their next attempt is checked at once."):  # fmt: skip
            run(users.unlock_user, f"{u.name} can sign in again at once.", u.id)
        if end.button("Sign out everywhere", icon=":material/devices_off:",
                      help="End every session of theirs, on every device; copied cookies stop working too."):  # fmt: skip
            run(users.end_sessions, f"{u.name} is signed out everywhere.", u.id)
        if u.active:
            if st.button("Deactivate…", icon=":material/person_off:"):
                confirm_deactivate(u)
        elif st.button("Reactivate", icon=":material/person_check:"):
            run(users.reactivate_user, f"{u.name} is active again.", u.id)

with add_tab, st.form("add_user"):
    left, right = st.columns(2)
    username = left.text_input("Username", help="Lower-case letters, digits and . _ - @")
    name = right.text_input("Full name")
    email = left.text_input("Email", help="Needed for 'Sign in with Google'.")
    password = right.text_input("First password", type="password", autocomplete="new-password",
                                help="At least 8 characters. They can change it under Account.")  # fmt: skip
    role = left.selectbox("Role", ROLE_CHOICES, format_func=role_label, key="add_role")
    provider = right.selectbox("Provider record", [None, *providers], format_func=provider_label, key="add_provider")
    locs = st.multiselect("Locations", locations, key="add_locations")
    everywhere = st.checkbox("Every location", key="add_everywhere")
    if st.form_submit_button("Add user", type="primary"):
        run(users.add_user, f"Added {name or username}.", username=username, name=name, email=email,
            password=password, role=role, location_names=locs, all_locations=everywhere, provider_id=provider)  # fmt: skip
