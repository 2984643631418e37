"""Panels under today's schedule: waitlist offers for the day and the customer search."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.base.errors import DomainError
from core.base.tz import to_local
from core.people import customers
from core.scheduling import schedule, waitlist
from core.scheduling.schedule import LocationView, day_label
from core.security.access import A, Actor, can
from pages.safe import plain
from pages.today_state import attempt, open_dialog


def waitlist_panel(actor: Actor, location: LocationView, day: date) -> None:
    if not can(actor, A.WAITLIST_MANAGE, location.id):
        return
    try:
        offers = waitlist.open_offers(actor, location_id=location.id, day=day)
    except DomainError as exc:
        st.warning(str(exc))
        return
    st.subheader(f"Waitlist offers ({len(offers)})" if offers else "Waitlist offers")
    if not offers:
        st.caption(f"No open offers for {day_label(day)}. Freed slots are offered here to people waiting.")
        return
    for offer in offers:
        start, end = to_local(offer.start, location.timezone), to_local(offer.end, location.timezone)
        text_col, book_col, dismiss_col = st.columns([6, 1, 1], vertical_alignment="center")
        text_col.markdown(
            f"**{start:%H:%M}–{end:%H:%M}** {plain(offer.type_name)} with {plain(offer.provider_name)} "
            f"for **{plain(offer.customer_name)}**"
        )
        book_col.button(
            "Book", key=f"offer_book_{offer.offer_id}", type="primary", on_click=attempt,
            args=(lambda o=offer: waitlist.book_offer(actor, o.offer_id), f"Booked {offer.customer_name} at {start:%H:%M}."),
        )  # fmt: skip
        dismiss_col.button(
            "Dismiss", key=f"offer_dismiss_{offer.offer_id}", on_click=attempt,
            args=(lambda o=offer: waitlist.dismiss_offer(actor, o.offer_id), "Offer dismissed."),
        )  # fmt: skip


def _go_to(location_id: int, day: date, appointment_id: int) -> None:
    st.session_state["today_location"] = location_id
    st.session_state["today_day"] = day
    st.session_state["today_selected"] = appointment_id


def customer_search_panel(actor: Actor, location: LocationView) -> None:
    if not can(actor, A.CUSTOMER_VIEW):
        return
    query = st.text_input(
        "Find a customer by name, phone or email", key="today_customer_query", placeholder="at least 2 characters"
    )
    if len(query.strip()) < 2:
        return
    matches = customers.search_customers(actor, query, limit=20)
    if not matches:
        st.caption(f"No customer matching '{plain(query.strip())}' at your locations.")
        return
    for found in matches:
        with st.expander(plain(found.label)):
            visits = schedule.customer_appointments(actor, found.id, limit=10)
            if not visits:
                st.caption("No appointments yet.")
            for visit in visits:
                text_col, go_col = st.columns([5, 1], vertical_alignment="center")
                text_col.markdown(
                    plain(
                        f"{visit['when']} · {visit['location']} · {visit['type']} with {visit['provider']} · {visit['status']}"
                    )
                )
                go_col.button(
                    "Open day", key=f"goto_{visit['appointment_id']}", on_click=_go_to,
                    args=(visit["location_id"], visit["day"], visit["appointment_id"]),
                )  # fmt: skip
            if can(actor, A.APPOINTMENT_BOOK, location.id) and st.button(
                f"Book at {plain(location.name)}", key=f"book_for_{found.id}"
            ):
                open_dialog("book", customer_id=found.id)
