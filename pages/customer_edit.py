"""A customer's details, in their panel: name, email and phone to correct (front desk, managers
and admins at the customer's home location). "Review changes" shows what will change, from the
service's own checks (a bad email or phone is its one sentence, here, nothing written); "Save
changes" then makes the one service call (audited; webhooks send customer.updated)."""

from __future__ import annotations

import streamlit as st

from core.base.errors import DomainError
from core.people import customers, phones
from core.people.customers import CustomerView
from core.security.access import A, Actor, can
from pages import kit
from pages.safe import plain
from pages.today_state import PAGE

LABELS = {"name": "Name", "email": "Email", "phone": "Phone"}


def _pending_key(customer_id: int) -> str:
    return f"cust_edit_pending_{customer_id}"


def _shown(field: str, value: str | None) -> str:
    if not value:
        return "(none)"
    return phones.display(value) if field == "phone" else value


def customer_details_form(actor: Actor, found: CustomerView) -> None:
    if not can(actor, A.CUSTOMER_MANAGE, found.home_location_id):
        return
    pending_key = _pending_key(found.id)
    st.markdown("**Details**")
    with st.form(f"cust_edit_{found.id}", border=False):
        name_col, email_col, phone_col = st.columns(3)
        typed = {
            "name": name_col.text_input("Name", value=found.name, key=f"cust_name_{found.id}", max_chars=200),
            "email": email_col.text_input("Email", value=found.email or "", key=f"cust_email_{found.id}"),
            "phone": phone_col.text_input(
                "Phone", value=phones.display(found.phone) or "", key=f"cust_phone_{found.id}"
            ),
        }
        if st.form_submit_button("Review changes"):
            st.session_state.pop(pending_key, None)
            try:
                changes = customers.update_preview(actor, found.id, **{f: v.strip() or None for f, v in typed.items()})
            except DomainError as exc:
                st.error(plain(str(exc)), icon=kit.ICONS["error"])
            else:
                if changes:
                    st.session_state[pending_key] = {"typed": typed, "changes": changes}
                else:
                    st.info("These are already the customer's details: nothing to change.", icon=kit.ICONS["info"])
    pending = st.session_state.get(pending_key)
    if not pending:
        return
    lines = [
        f"- {LABELS[f]}: {plain(_shown(f, old))} → **{plain(_shown(f, new))}**"
        for f, (old, new) in pending["changes"].items()
    ]
    st.markdown("Will change:\n" + "\n".join(lines))
    save_col, keep_col, _ = st.columns([1, 1, 3])
    if keep_col.button("Keep as it was", key=f"cust_keep_{found.id}", width="stretch"):
        st.session_state.pop(pending_key, None)
        st.rerun()
    if save_col.button("Save changes", key=f"cust_save_{found.id}", type="primary", width="stretch"):
        values = {f: v.strip() or None for f, v in pending["typed"].items()}
        st.session_state.pop(pending_key, None)
        if kit.act(
            lambda: customers.update_customer(actor, found.id, **values),
            lambda c: f"Saved {c.name}'s details.",
            page=PAGE,
            inline=True,
        ):
            st.rerun()
