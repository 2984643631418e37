"""Panels under today's schedule: the waitlist (offers for the day, everyone waiting) and the customer search."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.base import limits
from core.base.errors import DomainError
from core.base.tz import to_local
from core.people import customers, phones
from core.scheduling import schedule, waitlist
from core.scheduling.schedule import LocationView, day_label
from core.security.access import A, Actor, can
from pages import kit
from pages.customer_edit import customer_details_form
from pages.customer_preferences import contact_preferences
from pages.safe import plain
from pages.today_state import PAGE, go_to, open_dialog


def waitlist_panel(actor: Actor, location: LocationView, day: date) -> None:
    """Offers of freed slots for the day (book or dismiss), then everyone waiting at the location
    (add, remove with a reason). Analysts see the list with contacts masked; providers their day only."""
    if schedule.is_provider_view(actor) or not can(actor, A.APPOINTMENT_VIEW, location.id):
        return
    manage = can(actor, A.WAITLIST_MANAGE, location.id)
    try:
        entries = waitlist.waiting_entries(actor, location_id=location.id)
        offers = waitlist.open_offers(actor, location_id=location.id, day=day) if manage else []
    except DomainError as exc:
        st.warning(str(exc))
        return
    st.subheader(f"Waitlist offers ({len(offers)})" if offers else "Waitlist offers")
    if not offers:
        st.caption(f"No open offers for {day_label(day)}. Freed slots are offered here to people waiting.")
    for offer in offers:
        _offer_row(actor, location, offer)
    head_col, add_col = st.columns([6, 2], vertical_alignment="bottom")
    head_col.subheader(f"Waiting ({len(entries)})")
    if manage and add_col.button("Add to waitlist", key="waitlist_add", icon=":material/playlist_add:"):
        open_dialog("waitlist")
    if not entries:
        st.caption(f"Nobody is waiting at {plain(location.name)}.")
    for entry in entries:
        _entry_row(actor, entry, manage)


def _offer_row(actor: Actor, location: LocationView, offer: waitlist.OfferView) -> None:
    start, end = to_local(offer.start, location.timezone), to_local(offer.end, location.timezone)
    text_col, book_col, dismiss_col = st.columns([6, 1, 1], vertical_alignment="center")
    text_col.markdown(
        f"**{start:%H:%M}–{end:%H:%M}** {plain(offer.type_name)} with {plain(offer.provider_name)} "
        f"for **{plain(offer.customer_name)}** · {plain(phones.display(offer.phone) or 'no phone')}"
    )
    text_col.caption(plain(" · ".join(p for p in (f"prefers {offer.preferences}", offer.notes) if p)))
    book_col.button(
        "Book", key=f"offer_book_{offer.offer_id}", type="primary", on_click=kit.act, kwargs={"page": PAGE},
        args=(lambda o=offer: waitlist.book_offer(actor, o.offer_id), f"Booked {offer.customer_name} at {start:%H:%M}."),
    )  # fmt: skip
    dismiss_col.button(
        "Dismiss", key=f"offer_dismiss_{offer.offer_id}", on_click=kit.act, kwargs={"page": PAGE},
        args=(lambda o=offer: waitlist.dismiss_offer(actor, o.offer_id), "Offer dismissed."),
    )  # fmt: skip


def _entry_row(actor: Actor, entry: waitlist.EntryView, manage: bool) -> None:
    text_col, remove_col = st.columns([6, 2], vertical_alignment="center")
    who = entry.provider_name or "any provider"
    offered = " · offered a slot" if entry.status == "offered" else ""
    text_col.markdown(
        f"**{plain(entry.customer_name)}** · {plain(entry.type_name)} with {plain(who)} · {entry.waiting}{offered}"
    )
    details = [
        entry.dates,
        entry.preferences.text(),
        phones.display(entry.phone) or "no phone",
        entry.email,
        entry.notes,
    ]
    text_col.caption(plain(" · ".join(d for d in details if d)))
    if not manage:
        return
    reason_key = f"waitlist_reason_{entry.entry_id}"
    with remove_col.popover("Remove", icon=":material/playlist_remove:"), st.form(f"waitlist_form_{entry.entry_id}"):
        # A form sends the reason as typed with the click (no blur first); the service refuses an empty one.
        st.text_input("Reason", key=reason_key, placeholder="e.g. booked elsewhere", max_chars=limits.REASON_MAX)
        st.form_submit_button(  # the callback reads the reason as typed when clicked, not as it was drawn
            "Remove from waitlist", key=f"waitlist_remove_{entry.entry_id}", type="primary",
            on_click=kit.act, kwargs={"page": PAGE},
            args=(lambda e=entry: waitlist.remove_entry(actor, e.entry_id, reason=st.session_state[reason_key]),
                  f"Removed {entry.customer_name} from the waitlist."),
        )  # fmt: skip


def customer_search_panel(actor: Actor, location: LocationView) -> None:
    if not can(actor, A.CUSTOMER_VIEW):
        return
    query = st.text_input(
        "Find a customer by name, phone or email",
        key="today_customer_query",
        placeholder="at least 2 characters",
        max_chars=limits.SEARCH_MAX,
    )
    if len(query.strip()) < 2:
        return
    matches = customers.search_customers(actor, query, limit=20)
    if not matches:
        st.caption(f"No customer matching '{plain(query.strip())}' at your locations.")
        return
    history = schedule.appointments_by_customer(actor, [c.id for c in matches], limit=10)
    for found in matches:
        with st.expander(plain(found.label)):
            visits = history[found.id]
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
                    "Open day", key=f"goto_{visit['appointment_id']}", on_click=go_to,
                    args=(visit["location_id"], visit["day"], visit["appointment_id"]),
                )  # fmt: skip
            customer_details_form(actor, found)
            contact_preferences(actor, found.id, location.timezone)
            if can(actor, A.APPOINTMENT_BOOK, location.id) and st.button(
                f"Book at {plain(location.name)}", key=f"book_for_{found.id}"
            ):
                open_dialog("book", customer_id=found.id)
