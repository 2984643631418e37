"""The desk's inquiries: record one in a few clicks (channel, customer, type if known), see the
open ones at the location, book from one (the appointment is linked to it) or close it with a
reason. Used by the today page, and Record by the queue page; every button is one core.inquiries
service call."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.base.tz import to_local
from core.inquiries import reads
from core.inquiries import services as inquiries
from core.people import customers
from core.scheduling.labels import booked_line
from core.scheduling.schedule import LocationView, day_label
from core.security.access import A, Actor, can
from pages import kit
from pages.customer_match import same_contact_warning
from pages.safe import plain
from pages.today_slots import slot_picker
from pages.today_state import PAGE, scope_key, types_for

DIALOGS = kit.Dialogs("inquiry_dialog", "inq_", PAGE)  # {"kind": "record" | "book" | "close", "inquiry_id": ...}
QUEUE_DIALOGS = kit.Dialogs("queue_inquiry_dialog", "inq_", "queue")  # the queue page's Record inquiry


def _open(kind: str, dialogs: kit.Dialogs = DIALOGS, **details) -> None:
    dialogs.open(kind, **details)
    st.rerun(scope="app")


def _submit(call, success, dialogs: kit.Dialogs = DIALOGS) -> None:
    # On the today page the outcome shows over the box, not over the timeline; elsewhere a toast.
    if kit.act(call, success, page=dialogs.page, toast=dialogs.page != PAGE, dialog=dialogs):
        dialogs.finish()
    st.rerun(scope="app")


def _find_instead(customer) -> None:
    """'Use <name>': back to Find, with the existing customer found by their email or phone."""
    st.session_state["inq_mode"], st.session_state["inq_query"] = "Find", customer.email or customer.phone


def _customer(actor: Actor, location: LocationView) -> tuple[int | None, dict | None]:
    mode = st.segmented_control("Customer", ["Find", "New contact"], default="Find", key="inq_mode")
    if mode != "New contact":
        query = st.text_input("Name, phone or email", key="inq_query")
        matches = customers.search_customers(actor, query, limit=10) if query.strip() else []
        picked = st.selectbox("Matches", [c.id for c in matches], index=0 if len(matches) == 1 else None,
                              placeholder="Pick the customer", format_func={c.id: c.label for c in matches}.get,
                              disabled=not matches)  # fmt: skip
        return picked, None
    name = st.text_input("Name", key="inq_name")
    phone_col, email_col = st.columns(2)
    phone, email = phone_col.text_input("Phone", key="inq_phone"), email_col.text_input("Email", key="inq_email")
    same_contact_warning(actor, phone=phone, email=email, location_id=location.id, key="inq_same", use=_find_instead)
    return None, {"name": name, "phone": phone or None, "email": email or None}


@st.dialog("Record inquiry", width="medium", on_dismiss=DIALOGS.close)
def record_dialog(actor: Actor, location: LocationView) -> None:
    _record(actor, [location], DIALOGS)


@st.dialog("Record inquiry", width="medium", on_dismiss=QUEUE_DIALOGS.close)
def _queue_record_dialog(actor: Actor, locations: list[LocationView]) -> None:
    _record(actor, locations, QUEUE_DIALOGS)


def _record(actor: Actor, locations: list[LocationView], dialogs: kit.Dialogs) -> None:
    top = st.container()
    location = locations[0]
    if len(locations) > 1:
        names = {loc.id: loc for loc in locations}
        location = names[st.selectbox("Location", list(names), format_func=lambda i: names[i].name, key="inq_location")]
    channel = st.segmented_control("How", list(inquiries.CHANNELS), default="phone", key="inq_channel",
                                   format_func=inquiries.CHANNELS.get)  # fmt: skip
    customer_id, new_customer = _customer(actor, location)
    types = {t.id: t.name for t in types_for(actor, scope_key(actor))}
    type_id = st.selectbox("Appointment type (if known)", list(types), index=None, format_func=types.get,
                           placeholder="Not known yet", key="inq_type")  # fmt: skip
    preferred = st.text_input("Preferred times", placeholder="e.g. mornings, not Fridays", key="inq_preferred")
    notes = st.text_area("Notes", key="inq_notes", height=80)
    ready = channel and (customer_id or (new_customer and new_customer["name"].strip()))
    if st.button("Record", type="primary", key="inq_record", disabled=not ready):
        _submit(lambda: inquiries.record_inquiry(
            actor, location_id=location.id, channel=channel, customer_id=customer_id,
            new_customer=None if customer_id else new_customer, type_id=type_id, preferred_times=preferred,
            notes=notes,
        ), lambda r: "Added to the inquiry already open from the last hour." if r.merged else "Inquiry recorded.",
           dialogs)  # fmt: skip
    dialogs.error(top)


def queue_record_button(actor: Actor, locations: list[LocationView]) -> None:
    """The queue page's "Record inquiry" (a call can come in while the desk works the queue),
    in the locations where the actor may record one, the page's chosen location first."""
    allowed = [loc for loc in locations if can(actor, A.INQUIRY_RECORD, loc.id)]
    if not allowed:
        return
    if QUEUE_DIALOGS.current():
        _queue_record_dialog(actor, allowed)
    if st.button("Record inquiry", icon=":material/add_call:", key="queue_inq_open_record"):
        _open("record", QUEUE_DIALOGS)


@st.dialog("Book from inquiry", width="medium", on_dismiss=DIALOGS.close)
def book_dialog(actor: Actor, location: LocationView, day: date, row: reads.InquiryRow) -> None:
    top = st.container()
    st.markdown(f"**{plain(row.customer)}** · {plain(row.channel)}"
                + (f" · prefers {plain(row.preferred_times)}" if row.preferred_times else ""))  # fmt: skip
    types = {t.id: t for t in types_for(actor, scope_key(actor))}
    ids = list(types)
    type_id = st.selectbox("Appointment type", ids, index=ids.index(row.type_id) if row.type_id in types else 0,
                           format_func=lambda t: types[t].name, key="inq_book_type")  # fmt: skip
    slot = slot_picker(actor, location, type_id=type_id, default_provider=None, day=day, route=True)
    intake = {}
    for field in types[type_id].intake_fields if type_id in types else ():
        label = (field.get("label") or field["name"]) + (" *" if field.get("required") else "")
        intake[field["name"]] = st.text_input(label, key=f"inq_intake_{field['name']}").strip()
    if st.button("Book", type="primary", key="inq_book", disabled=slot is None):
        _submit(lambda: inquiries.book_from_inquiry(
            actor, row.id, start=slot.start, type_id=type_id, provider_id=slot.provider_id,
            intake={k: v for k, v in intake.items() if v} if intake else None,
        ), lambda appt: booked_line(types[type_id].name, appt.start_at, location.timezone, "from the inquiry"))  # fmt: skip
    DIALOGS.error(top)


@st.dialog("Close inquiry", on_dismiss=DIALOGS.close)
def close_dialog(actor: Actor, row: reads.InquiryRow) -> None:
    top = st.container()
    st.markdown(f"**{plain(row.customer)}** · {plain(row.channel)}")
    reason = st.radio("Why, without a booking?", list(inquiries.DESK_REASONS), format_func=inquiries.DESK_REASONS.get,
                      index=None, key="inq_reason")  # fmt: skip
    note = st.text_input("Note (optional)", key="inq_close_note")
    if st.button("Close inquiry", type="primary", key="inq_close", disabled=reason is None):
        _submit(lambda: inquiries.close_inquiry(actor, row.id, reason=reason, note=note), "Inquiry closed.")
    DIALOGS.error(top)


def panel(actor: Actor, location: LocationView, day: date) -> None:
    """The location's open inquiries, oldest first, with Record / Book / Close; opens the dialog asked for."""
    if not can(actor, A.INQUIRY_VIEW, location.id):
        return
    rows = reads.open_inquiries(actor, location.id)
    by_id = {r.id: r for r in rows}
    state = DIALOGS.current() or {}
    if state.get("kind") == "record":
        record_dialog(actor, location)
    elif state.get("inquiry_id") in by_id:
        (book_dialog(actor, location, day, by_id[state["inquiry_id"]]) if state["kind"] == "book"
         else close_dialog(actor, by_id[state["inquiry_id"]]))  # fmt: skip
    elif state:
        DIALOGS.close()
    may = can(actor, A.INQUIRY_RECORD, location.id)
    box_col, record_col = st.columns([5, 1.2], vertical_alignment="top")
    if may and record_col.button("Record inquiry", icon=":material/add_call:", key="inq_open_record", width="stretch"):
        _open("record")
    with box_col.expander(
        f"Inquiries waiting for an answer ({len(rows)})", expanded=bool(rows), icon=":material/call:"
    ):
        if not rows:
            st.caption("No open inquiries here: every call and request has been booked or closed.")
        for r in rows:
            text, book_col, close_col = st.columns([6, 1, 1], vertical_alignment="center")
            received = to_local(r.received_at, location.timezone)
            text.markdown(
                f"**{plain(r.customer)}** · {plain(r.channel)} · {plain(r.type_name or 'type not known')} · "
                f"{day_label(received.date())} {received:%H:%M} ({r.waiting_minutes} min ago)"
                + (f"  \n{plain(r.contact)}" if r.contact else "")
                + (f" · prefers {plain(r.preferred_times)}" if r.preferred_times else "")
            )  # fmt: skip
            if may and book_col.button("Book…", key=f"inq_b_{r.id}"):
                _open("book", inquiry_id=r.id)
            if may and close_col.button("Close…", key=f"inq_c_{r.id}"):
                _open("close", inquiry_id=r.id)
