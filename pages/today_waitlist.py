"""The "Add to waitlist" dialog of today's page: who, for what, with whom, and when they could
come (dates, weekdays, a time-of-day window), with a note. Opened from the waitlist panel and
from the Book dialog (with its customer and type)."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from core.base import limits
from core.people import customers
from core.scheduling import waitlist
from core.scheduling.schedule import LocationView, day_label
from core.security.access import Actor
from pages import kit
from pages.safe import plain
from pages.today_state import (
    ANY,
    DIALOGS,
    PAGE,
    providers_at,
    scope_key,
    types_for,
)

DEFAULT_SPAN = timedelta(days=14)  # how far ahead an entry waits unless the desk says otherwise


def _customer(actor: Actor, state: dict) -> int | None:
    if state.get("customer_id"):
        found = customers.get_customer(actor, state["customer_id"])
        st.markdown(f"Customer: **{plain(found.label)}**")
        return found.id
    query = st.text_input(
        "Customer", key="dlg_wl_query", placeholder="name, phone or email", max_chars=limits.SEARCH_MAX
    )
    matches = customers.search_customers(actor, query, limit=10) if query.strip() else []
    if query.strip() and not matches:
        st.caption("Nobody found: add the customer by booking them, or check the spelling.")
    return st.selectbox(
        "Matches", [c.id for c in matches], index=0 if len(matches) == 1 else None, placeholder="Pick the customer",
        format_func={c.id: c.label for c in matches}.get, disabled=not matches,
    )  # fmt: skip


@st.dialog("Add to waitlist", width="medium", on_dismiss=DIALOGS.close)
def waitlist_dialog(actor: Actor, location: LocationView, day: date) -> None:
    state = DIALOGS.current()
    st.caption(f"{plain(location.name)}: freed slots that suit the customer are offered to them, oldest entry first.")
    customer_id = _customer(actor, state)
    types = {t.id: t for t in types_for(actor, scope_key(actor))}
    type_id = st.selectbox(
        "Appointment type", list(types), format_func=lambda t: types[t].name, key="dlg_wl_type",
        index=list(types).index(state["type_id"]) if state.get("type_id") in types else 0,
    )  # fmt: skip
    providers = dict([(ANY, "Any provider"), *providers_at(actor, scope_key(actor), location.id)])
    provider_id = st.selectbox("Preferred provider", list(providers), format_func=providers.get, key="dlg_wl_provider")
    first_col, last_col = st.columns(2)
    earliest = first_col.date_input("From", value=day, key="dlg_wl_from", format="YYYY-MM-DD")
    latest = last_col.date_input("Until", value=day + DEFAULT_SPAN, key="dlg_wl_until", format="YYYY-MM-DD")
    weekdays = st.pills(
        "Preferred days (none: any day)", list(range(7)), format_func=lambda d: waitlist.WEEKDAYS[d],
        selection_mode="multi", key="dlg_wl_days",
    )  # fmt: skip
    after_col, before_col = st.columns(2)
    start_from = after_col.time_input("Start no earlier than", value=None, key="dlg_wl_after", step=900)
    start_until = before_col.time_input("Start no later than", value=None, key="dlg_wl_before", step=900)
    note = st.text_area("Note", key="dlg_wl_note", placeholder="e.g. mornings only, call on the mobile first",
                        max_chars=limits.NOTE_MAX)  # fmt: skip
    missing = [what for what, ok in (("a customer", customer_id), ("a type", type_id)) if not ok]
    if missing:
        st.caption(f"Pick {' and '.join(missing)} to add them.")
    if st.button("Add to waitlist", type="primary", key="dlg_wl_confirm", disabled=bool(missing)) and kit.act(
        lambda: waitlist.add_entry(
            actor, customer_id=customer_id, location_id=location.id, type_id=type_id,
            provider_id=provider_id or None, earliest_date=earliest, latest_date=latest, notes=note,
            preferences=waitlist.Preferences(tuple(weekdays or ()), start_from, start_until),
        ),
        f"Added to the waitlist at {location.name} until {day_label(latest)}.",
        page=PAGE, dialog=DIALOGS,
    ):  # fmt: skip
        DIALOGS.finish()
    DIALOGS.error()
