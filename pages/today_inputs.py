"""The inputs of the book and intake dialogs on today's schedule: the customer (found, or new
with a warning when the contact details are someone else's) and the plain intake fields."""

from __future__ import annotations

import streamlit as st

from core.base import limits
from core.people import customers
from core.people.customers import CustomerView
from core.security.access import Actor
from pages.customer_match import same_contact_warning
from pages.safe import plain


def _use_existing(customer: CustomerView) -> None:
    """The warning's "Use NAME": find that record instead of adding a second one."""
    st.session_state["dlg_customer_mode"] = "Find"
    st.session_state["dlg_customer_query"] = customer.email or customer.phone or customer.name


def customer_picker(actor: Actor, state: dict, location_id: int) -> tuple[int | None, dict | None]:
    """(existing customer id, None) or (None, new customer's fields)."""
    if state.get("customer_id"):
        found = customers.get_customer(actor, state["customer_id"])
        st.markdown(f"Customer: **{plain(found.label)}**")
        return found.id, None
    mode = st.radio("Customer", ["Find", "New customer"], horizontal=True, key="dlg_customer_mode")
    if mode == "Find":
        query = st.text_input("Name, phone or email", key="dlg_customer_query", max_chars=limits.SEARCH_MAX)
        matches = customers.search_customers(actor, query, limit=10) if query.strip() else []
        if query.strip() and not matches:
            st.caption("Nobody found: check the spelling, or add them as a new customer.")
        # No key: a new list of matches is a new widget, so a single match is picked at once.
        picked = st.selectbox(
            "Matches", [c.id for c in matches], index=0 if len(matches) == 1 else None, placeholder="Pick the customer",
            format_func={c.id: c.label for c in matches}.get, disabled=not matches,
        )  # fmt: skip
        return picked, None
    name = st.text_input("Name", key="dlg_new_name", max_chars=limits.NAME_MAX)
    email_col, phone_col = st.columns(2)
    email = email_col.text_input("Email", key="dlg_new_email", max_chars=limits.EMAIL_MAX)
    phone = phone_col.text_input("Phone", key="dlg_new_phone", max_chars=limits.PHONE_MAX)
    same_contact_warning(actor, phone=phone, email=email, location_id=location_id, key="dlg_same", use=_use_existing)
    return None, {"name": name, "email": email or None, "phone": phone or None}


def intake_inputs(fields: tuple[dict, ...], answers: dict) -> tuple[dict, list[str]]:
    """One input per intake field (required ones starred), prefilled with `answers`: (the
    answers typed, the labels of required fields left empty)."""
    typed, empty = {}, []
    for field in fields:
        label = field.get("label") or field["name"]
        key = f"dlg_intake_{field['name']}"
        st.session_state.setdefault(key, str(answers.get(field["name"], "")))
        typed[field["name"]] = st.text_input(label + (" *" if field.get("required") else ""), key=key,
                                             max_chars=limits.NOTE_MAX).strip()  # fmt: skip
        if field.get("required") and not typed[field["name"]]:
            empty.append(label)
    return typed, empty
