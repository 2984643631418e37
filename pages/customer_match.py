"""Under a new customer's phone and email: who already has them, with a button to take that
record instead of adding a second one for the same person (core.people.customers.same_contact).
A warning, not a refusal: a family may share a phone."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.base.errors import DomainError
from core.people import customers
from core.people.customers import CustomerView
from core.security.access import A, Actor, can
from pages.safe import plain


def same_contact_warning(
    actor: Actor, *, phone: str | None, email: str | None, location_id: int, key: str,
    use: Callable[[CustomerView], None],
) -> None:  # fmt: skip
    if not ((phone or "").strip() or (email or "").strip()) or not can(actor, A.CUSTOMER_VIEW, location_id):
        return
    try:
        found = customers.same_contact(actor, phone=phone, email=email, location_id=location_id)
    except DomainError:
        return
    for customer in found:
        same_email = bool(email and customer.email and customer.email.lower() == email.strip().lower())
        what = "this email" if same_email else "this phone number"
        text_col, use_col = st.columns([4, 1.4], vertical_alignment="center")
        text_col.warning(f"Already on file with {what}: **{plain(customer.label)}**", icon=":material/person_search:")
        use_col.button(f"Use {plain(customer.name)}", key=f"{key}_{customer.id}", on_click=use, args=(customer,),
                       width="stretch")  # fmt: skip
