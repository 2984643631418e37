"""Dialogs and panels of today's schedule (pages/today.py): book, cancel, reschedule, notes,
the waitlist offers and the customer search. Every button is one core service call; a refused
action shows its sentence and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

import streamlit as st

from core import availability, booking, customers, schedule, waitlist
from core.access import A, Actor, can, can_act_on_appointment
from core.errors import DomainError
from core.schedule import LocationView, day_label
from core.tz import to_local

log = logging.getLogger(__name__)

DIALOG = "today_dialog"  # {"kind": ..., "appointment_id": ..., ...} while a dialog is open
TOAST = "today_toast"
FLASH = "today_flash"
DIALOG_ERROR = "today_dialog_error"
ANY = 0  # "any provider" in provider pickers


@st.cache_data(ttl=60, show_spinner=False)
def providers_at(_actor: Actor, scope: tuple, location_id: int) -> list[tuple[int, str]]:
    return schedule.location_providers(_actor, location_id)


@st.cache_data(ttl=60, show_spinner=False)
def types_for(_actor: Actor, scope: tuple) -> list[schedule.TypeView]:
    return schedule.appointment_types(_actor)


def scope_key(actor: Actor) -> tuple:
    """What cached lists depend on: the actor's role and scope, never only their id."""
    return (actor.role, tuple(sorted(actor.location_ids or ())), actor.all_locations, actor.provider_id)


def attempt(
    action: Callable[[], object], success: str | Callable[[object], str] | None, error_key: str = FLASH
) -> bool:
    """Run one service call: a toast on success (`success` may build it from the result), the
    refusal's own sentence (under `error_key`) on failure. The service runs in one transaction,
    so a refusal leaves nothing half-done."""
    try:
        result = action()
    except DomainError as exc:
        st.session_state[error_key] = str(exc)
        return False
    except Exception:  # noqa: BLE001 - the desk gets a sentence, the log gets the traceback
        log.exception("today: action failed")
        st.session_state[error_key] = "Something went wrong and nothing was changed. Try again, or reload the page."
        return False
    st.session_state.pop(error_key, None)
    if success:
        st.session_state[TOAST] = success(result) if callable(success) else success
    return True


def show_messages() -> None:
    """The pending toast, and the last refusal on the page (kept until the next action)."""
    if toast := st.session_state.pop(TOAST, None):
        st.toast(toast, icon=":material/check_circle:")
    if flash := st.session_state.get(FLASH):
        st.error(flash, icon=":material/error:")


def _dialog_error() -> None:
    if error := st.session_state.get(DIALOG_ERROR):
        st.error(error, icon=":material/error:")


def open_dialog(kind: str, **details) -> None:
    st.session_state.pop(DIALOG_ERROR, None)
    st.session_state[DIALOG] = {"kind": kind, **details}
    st.rerun(scope="app")  # dialogs live outside the refreshing fragment


def close_dialog() -> None:
    for key in [DIALOG, DIALOG_ERROR, *(k for k in st.session_state if str(k).startswith("dlg_"))]:
        st.session_state.pop(key, None)


def _finish() -> None:
    close_dialog()
    st.rerun(scope="app")


def _slot_label(slot, tz: str, *, with_day: bool = False, seats: bool = True) -> str:
    start, end = to_local(slot.start, tz), to_local(slot.end, tz)
    room = f" · {slot.room_name}" if slot.room_name else ""
    seats = f" · {slot.seats_left} places left" if seats and slot.seats_left > 1 else ""
    day = f"{day_label(start.date())} " if with_day else ""
    return f"{day}{start:%H:%M}–{end:%H:%M} · {slot.provider_name}{room}{seats}"


def slot_picker(actor: Actor, location: LocationView, *, type_id: int, default_provider: int | None, day: date,
                current: schedule.ScheduleRow | None = None, route: bool = False):  # fmt: skip
    """Provider (any or one), date, then a free time from the availability engine; the chosen Slot or None.
    With `route` and any provider, each time is offered once and the Slot comes back without a
    provider or room (None), for the booking service's routing to choose."""
    providers = providers_at(actor, scope_key(actor), location.id)
    ids = [ANY, *(pid for pid, _ in providers)]
    names = dict(providers)
    left, right = st.columns(2)
    provider_id = left.selectbox(
        "Provider", ids, index=ids.index(default_provider) if default_provider in ids else 0,
        format_func=lambda pid: names.get(pid, "Any provider"), key="dlg_provider",
    )  # fmt: skip
    st.session_state.setdefault("dlg_day", day)
    chosen_day = right.date_input("Day", key="dlg_day", format="YYYY-MM-DD")

    def search(first: date, last: date, limit: int | None = None) -> list:
        found = availability.find_slots(
            actor, type_id=type_id, location_id=location.id, date_from=first, date_to=last,
            provider_id=provider_id or None, exclude_appointment_id=current.appointment_id if current else None,
            limit=limit,
        )  # fmt: skip
        # Moving an appointment to where it already is is no move.
        return [s for s in found if not current or (s.start, s.provider_id) != (current.start, current.provider_id)]

    try:
        slots = search(chosen_day, chosen_day)
    except DomainError as exc:
        st.warning(str(exc))
        return None
    if not slots:
        _next_free(search, names.get(provider_id, "any provider"), chosen_day, location.timezone)
        return None
    if route and provider_id == ANY:
        slots, labels = _by_time(slots, location.timezone)
        keys = labels
    else:
        labels = [_slot_label(s, location.timezone) for s in slots]
        keys = [_slot_label(s, location.timezone, seats=False) for s in slots]  # places left change
    key = f"dlg_slot_{type_id}_{provider_id}_{chosen_day.isoformat()}"
    chosen = st.session_state.pop("dlg_chosen_slot", None)  # (picker key, label) picked on the last run
    if chosen and chosen[0] == key and chosen[1] not in keys:
        st.warning(f"{chosen[1]} was just taken by another booking: pick another time.")
    index = st.selectbox(
        f"Time ({len(slots)} free)", range(len(slots)), index=None, placeholder="Pick a time",
        format_func=labels.__getitem__, key=key,
    )  # fmt: skip
    if index is None:
        return None
    st.session_state["dlg_chosen_slot"] = (key, keys[index])
    return slots[index]


def _by_time(slots: list, tz: str) -> tuple[list, list[str]]:
    """One option per start time, for the booking service to route: (slots without provider, labels)."""
    grouped: dict = {}
    for slot in slots:
        grouped.setdefault(slot.start, []).append(slot)
    out, labels = [], []
    for group in grouped.values():
        first = group[0]
        names = sorted({s.provider_name for s in group})
        who = ", ".join(names) if len(names) <= 3 else f"{len(names)} providers"
        start, end = to_local(first.start, tz), to_local(first.end, tz)
        labels.append(f"{start:%H:%M}–{end:%H:%M} · " + (f"any of {who}" if len(names) > 1 else who))
        out.append(replace(first, provider_id=None, provider_name="", room_id=None, room_name=None))
    return out, labels


def _set_dialog_day(day: date) -> None:
    st.session_state["dlg_day"] = day


def _next_free(search: Callable[..., list], who: str, day: date, tz: str) -> None:
    """Nothing free that day: point to the next free time in the two weeks after it."""
    try:
        ahead = search(day + timedelta(days=1), day + timedelta(days=14), limit=2)
    except DomainError:
        ahead = []
    if not ahead:
        st.info(f"No free times with {who} on {day_label(day)} or in the two weeks after. Try another provider.")
        return
    first = ahead[0]
    first_day = to_local(first.start, tz).date()
    st.info(f"No free times with {who} on {day_label(day)}. The next is {_slot_label(first, tz, with_day=True)}.")
    st.button(f"Show {day_label(first_day)}", key="dlg_next_free", on_click=_set_dialog_day, args=(first_day,))


def _dismiss() -> None:
    close_dialog()


@st.dialog("Cancel appointment", on_dismiss=_dismiss)
def cancel_dialog(actor: Actor, row: schedule.ScheduleRow) -> None:
    st.markdown(f"**{row.customer_name}** · {row.type_name} · {row.time_label} with {row.provider_name}")
    try:
        preview = booking.cancel_preview(actor, row.appointment_id)
    except DomainError as exc:
        st.error(str(exc))
        return
    (st.warning if preview.late else st.info)(preview.message)
    reason = st.text_input("Reason", key="dlg_reason", placeholder="e.g. customer called, feeling unwell")
    keep, go = st.columns(2)
    if keep.button("Keep appointment", key="dlg_keep", width="stretch"):
        _finish()
    if go.button("Cancel appointment", type="primary", key="dlg_cancel_confirm", width="stretch"):
        late = " (late cancellation)" if preview.late else ""
        if not reason.strip():
            st.session_state[DIALOG_ERROR] = "Give a reason for the cancellation."
        elif attempt(
            lambda: booking.cancel(actor, row.appointment_id, reason=reason.strip()),
            f"Cancelled {row.customer_name}'s {row.time_label} appointment{late}.",
            DIALOG_ERROR,
        ):
            _finish()
    _dialog_error()


@st.dialog("Reschedule", width="medium", on_dismiss=_dismiss)
def reschedule_dialog(actor: Actor, location: LocationView, row: schedule.ScheduleRow) -> None:
    st.markdown(
        f"**{row.customer_name}** · {row.type_name}, now {day_label(row.local_start.date())} "
        f"{row.time_label} with {row.provider_name}"
    )
    slot = slot_picker(
        actor, location, type_id=row.type_id, default_provider=row.provider_id,
        day=row.local_start.date(), current=row,
    )  # fmt: skip
    if st.button("Move appointment", type="primary", key="dlg_reschedule_confirm", disabled=slot is None) and attempt(
        lambda: booking.reschedule(
            actor, row.appointment_id, new_start=slot.start, provider_id=slot.provider_id, room_id=slot.room_id
        ),
        f"Moved {row.customer_name} to {_slot_label(slot, location.timezone, with_day=True)}.",
        DIALOG_ERROR,
    ):
        _finish()
    _dialog_error()


@st.dialog("Notes", on_dismiss=_dismiss)
def notes_dialog(actor: Actor, row: schedule.ScheduleRow) -> None:
    st.markdown(f"**{row.customer_name}** · {row.type_name} · {row.time_label} with {row.provider_name}")
    if row.notes:
        st.text(row.notes)
    else:
        st.caption("No notes yet.")
    note = st.text_area("Add a note", key="dlg_note")
    if st.button("Save note", type="primary", key="dlg_note_save", disabled=not note.strip()) and attempt(
        lambda: booking.add_note(actor, row.appointment_id, note=note.strip()), "Note saved.", DIALOG_ERROR
    ):
        _finish()
    _dialog_error()


def _customer_picker(actor: Actor, state: dict) -> tuple[int | None, dict | None]:
    """(existing customer id, None) or (None, new customer's fields)."""
    if state.get("customer_id"):
        found = customers.get_customer(actor, state["customer_id"])
        st.markdown(f"Customer: **{found.label}**")
        return found.id, None
    mode = st.radio("Customer", ["Find", "New customer"], horizontal=True, key="dlg_customer_mode")
    if mode == "Find":
        query = st.text_input("Name, phone or email", key="dlg_customer_query")
        matches = customers.search_customers(actor, query, limit=10) if query.strip() else []
        if query.strip() and not matches:
            st.caption("Nobody found: check the spelling, or add them as a new customer.")
        # No key: a new list of matches is a new widget, so a single match is picked at once.
        picked = st.selectbox(
            "Matches", [c.id for c in matches], index=0 if len(matches) == 1 else None, placeholder="Pick the customer",
            format_func={c.id: c.label for c in matches}.get, disabled=not matches,
        )  # fmt: skip
        return picked, None
    name = st.text_input("Name", key="dlg_new_name")
    email_col, phone_col = st.columns(2)
    email = email_col.text_input("Email", key="dlg_new_email")
    phone = phone_col.text_input("Phone", key="dlg_new_phone")
    return None, {"name": name, "email": email or None, "phone": phone or None}


@st.dialog("Book an appointment", width="medium", on_dismiss=_dismiss)
def book_dialog(actor: Actor, location: LocationView, day: date) -> None:
    state = st.session_state[DIALOG]
    types = types_for(actor, scope_key(actor))
    by_id = {t.id: t for t in types}
    type_id = st.selectbox(
        "Appointment type", list(by_id), format_func=lambda t: f"{by_id[t].name} ({by_id[t].duration_min} min)",
        key="dlg_type", index=list(by_id).index(state["type_id"]) if state.get("type_id") in by_id else 0,
    )  # fmt: skip
    if type_id is None:
        st.info("There are no appointment types yet: a manager adds them under settings.")
        return
    customer_id, new_customer = _customer_picker(actor, state)
    slot = slot_picker(actor, location, type_id=type_id, default_provider=None, day=day, route=True)
    answers = {}
    for field in by_id[type_id].intake_fields:
        label = field.get("label") or field["name"]
        answers[field["name"]] = st.text_input(
            label + (" *" if field.get("required") else ""), key=f"dlg_intake_{field['name']}"
        )
    missing = [
        what
        for what, ok in (
            ("a customer", customer_id or (new_customer and new_customer["name"].strip())),
            ("a time", slot),
        )
        if not ok
    ]
    if missing:
        st.caption(f"Pick {' and '.join(missing)} to book.")
    if st.button("Book", type="primary", key="dlg_book_confirm", disabled=bool(missing)):
        if new_customer is not None:
            created = []
            if attempt(lambda: created.append(customers.create_customer(actor, location_id=location.id, **new_customer)),
                       None, DIALOG_ERROR):  # fmt: skip
                # Kept for a retry: if the booking below is refused, the desk picks another time
                # for this customer instead of adding them twice.
                state["customer_id"] = customer_id = created[0].id
        intake = {k: v.strip() for k, v in answers.items() if v and v.strip()}
        if customer_id is not None and attempt(
            lambda: booking.book(
                actor, type_id=type_id, location_id=location.id, customer_id=customer_id, start=slot.start,
                provider_id=slot.provider_id, room_id=slot.room_id, intake=intake or None,
            ),
            lambda result: _booked(by_id[type_id].name, result, location.timezone),
            DIALOG_ERROR,
        ):  # fmt: skip
            _finish()
    _dialog_error()


def _booked(type_name: str, result, tz: str) -> str:
    appt = result.appointment
    start = to_local(appt.start_at, tz)
    why = f" ({result.routing_reason})" if result.routing_reason else ""
    return f"Booked {type_name} on {day_label(start.date())} at {start:%H:%M}{why}."


def show_open_dialog(actor: Actor, location: LocationView, day: date) -> None:
    """Open the dialog the desk asked for (called outside the refreshing fragment), with the
    appointment read fresh."""
    state = st.session_state.get(DIALOG)
    if not state:
        return
    kind = state["kind"]
    row = schedule.appointment_row(actor, state["appointment_id"]) if state.get("appointment_id") else None
    if kind == "book":
        book_dialog(actor, location, day)
    elif row is None:
        close_dialog()  # no longer visible to this actor: nothing to open
    elif kind == "cancel":
        cancel_dialog(actor, row)
    elif kind == "reschedule":
        reschedule_dialog(actor, location, row)
    elif kind == "notes":
        notes_dialog(actor, row)


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
            f"**{start:%H:%M}–{end:%H:%M}** {offer.type_name} with {offer.provider_name} for **{offer.customer_name}**"
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
    st.divider()
    st.subheader("Find a customer")
    query = st.text_input("Name, phone or email", key="today_customer_query", placeholder="at least 2 characters")
    if len(query.strip()) < 2:
        return
    matches = customers.search_customers(actor, query, limit=20)
    if not matches:
        st.caption(f"No customer matching '{query.strip()}' at your locations.")
        return
    for found in matches:
        with st.expander(found.label):
            visits = schedule.customer_appointments(actor, found.id, limit=10)
            if not visits:
                st.caption("No appointments yet.")
            for visit in visits:
                text_col, go_col = st.columns([5, 1], vertical_alignment="center")
                text_col.write(
                    f"{visit['when']} · {visit['location']} · {visit['type']} with {visit['provider']} · {visit['status']}"
                )
                go_col.button(
                    "Open day", key=f"goto_{visit['appointment_id']}", on_click=_go_to,
                    args=(visit["location_id"], visit["day"], visit["appointment_id"]),
                )  # fmt: skip
            if can(actor, A.APPOINTMENT_BOOK, location.id) and st.button(
                f"Book at {location.name}", key=f"book_for_{found.id}"
            ):
                open_dialog("book", customer_id=found.id)


def row_actions(actor: Actor, row: schedule.ScheduleRow, now: datetime) -> list[tuple[str, str]]:
    """(action, button label) the actor may take on this appointment now, in the order shown;
    the service checks again."""
    status, waiting = row.status, row.status in ("booked", "confirmed")
    candidates = [
        (A.APPOINTMENT_CONFIRM, "Confirm", status == "booked" and now < row.start),
        (A.APPOINTMENT_CHECK_IN, "Check in", waiting),
        (A.APPOINTMENT_COMPLETE, "Complete", status == "checked_in"),
        (A.APPOINTMENT_NO_SHOW, "No-show", waiting and now >= row.start),
        (A.APPOINTMENT_RESCHEDULE, "Reschedule…", waiting and now < row.start),
        (A.APPOINTMENT_CANCEL, "Cancel…", row.is_open),
        (A.APPOINTMENT_NOTE, "Notes…", True),
    ]
    return [
        (action, label)
        for action, label, fits in candidates
        if fits and can_act_on_appointment(actor, action, row.location_id, row.provider_id)
    ]
