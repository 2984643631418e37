"""Dialogs of today's schedule: book, cancel, reschedule, notes (opened outside the refreshing
fragment so a refresh never loses one)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.base import limits
from core.base.errors import DomainError
from core.base.tz import to_local
from core.intake import reads as intake_reads
from core.scheduling import booking, schedule
from core.scheduling.labels import booked_line, clamp
from core.scheduling.schedule import LocationView, day_label
from core.security.access import A, Actor, can
from pages import intake_desk, kit
from pages.safe import plain
from pages.today_inputs import customer_picker, intake_inputs
from pages.today_slots import slot_picker
from pages.today_state import (
    DIALOGS,
    PAGE,
    go_to,
    intake_fields,
    open_dialog,
    scope_key,
    slot_label,
    types_for,
)
from pages.today_waitlist import waitlist_dialog


def _dismiss() -> None:
    DIALOGS.close()


def _submit(call, success, then=None) -> None:
    """The dialog's one service call: closed on success, its sentence shown above the
    appointment box (never a toast over the timeline); on a refusal the page runs again with
    the dialog open, so its lists are read fresh (a time just taken is named by the picker) and
    the refusal shows at the top of the dialog."""
    if kit.act(call, success, page=PAGE, dialog=DIALOGS, then=then):
        DIALOGS.finish()
    st.rerun(scope="app")


@st.dialog("Cancel appointment", on_dismiss=_dismiss)
def cancel_dialog(actor: Actor, row: schedule.ScheduleRow) -> None:
    top = st.container()
    st.markdown(plain(row.summary))
    try:
        preview = booking.cancel_preview(actor, row.appointment_id)
    except DomainError as exc:
        st.error(str(exc))
        return
    (st.warning if preview.late else st.info)(preview.message)
    reason = st.text_input("Reason", key="dlg_reason", placeholder="e.g. customer called, feeling unwell",
                           max_chars=limits.REASON_MAX)  # fmt: skip
    keep, go = st.columns(2)
    if keep.button("Keep appointment", key="dlg_keep", width="stretch"):
        DIALOGS.finish()
    if go.button("Cancel appointment", type="primary", key="dlg_cancel_confirm", width="stretch"):
        late = " (late cancellation)" if preview.late else ""
        if not reason.strip():
            DIALOGS.refuse("Give a reason for the cancellation.")
        else:
            _submit(
                lambda: booking.cancel(actor, row.appointment_id, reason=reason.strip()),
                f"Cancelled {row.customer_name}'s {row.time_label} appointment{late}.",
            )
    DIALOGS.error(top)


@st.dialog("Reschedule", width="medium", on_dismiss=_dismiss)
def reschedule_dialog(actor: Actor, location: LocationView, row: schedule.ScheduleRow) -> None:
    top = st.container()
    st.markdown(
        f"**{plain(row.customer_name)}** · {plain(row.type_name)}, now {day_label(row.local_start.date())} "
        f"{row.time_label} with {plain(row.provider_name)}"
    )
    slot = slot_picker(
        actor, location, type_id=row.type_id, default_provider=row.provider_id,
        day=row.local_start.date(), current=row,
    )  # fmt: skip
    if st.button("Move appointment", type="primary", key="dlg_reschedule_confirm", disabled=slot is None):
        _submit(
            lambda: booking.reschedule(
                actor, row.appointment_id, new_start=slot.start, provider_id=slot.provider_id, room_id=slot.room_id
            ),
            f"Moved {row.customer_name} to {slot_label(slot, location.timezone, with_day=True)}.",
        )
    DIALOGS.error(top)


@st.dialog("Notes", on_dismiss=_dismiss)
def notes_dialog(actor: Actor, row: schedule.ScheduleRow) -> None:
    top = st.container()
    st.markdown(plain(row.summary))
    if row.notes:
        with st.container(height=160 if clamp(row.notes) else "content"):  # long notes scroll here
            st.text(row.notes)
    else:
        st.caption("No notes yet.")
    # A form sends the text as typed with the click: the first click saves, with no blur first.
    with st.form("dlg_note_form", border=False):
        note = st.text_area("Add a note", key="dlg_note", max_chars=limits.NOTE_MAX)
        saved = st.form_submit_button("Save note", type="primary", key="dlg_note_save")
    if saved and not note.strip():
        DIALOGS.refuse("Write the note first.")
    elif saved:
        _submit(lambda: booking.add_note(actor, row.appointment_id, note=note.strip()),
                f"Note saved for {row.customer_name}.")  # fmt: skip
    DIALOGS.error(top)


@st.dialog("Book an appointment", width="medium", on_dismiss=_dismiss)
def book_dialog(actor: Actor, location: LocationView, day: date) -> None:
    top = st.container()  # a refusal shows here, in view, not below the button
    state = DIALOGS.current()
    types = types_for(actor, scope_key(actor))
    by_id = {t.id: t for t in types}
    type_id = st.selectbox(
        "Appointment type", list(by_id), format_func=lambda t: f"{by_id[t].name} ({by_id[t].duration_min} min)",
        key="dlg_type", index=list(by_id).index(state["type_id"]) if state.get("type_id") in by_id else 0,
    )  # fmt: skip
    if type_id is None:
        st.info("There are no appointment types yet: a manager adds them under settings.")
        return
    customer_id, new_customer = customer_picker(actor, state, location.id)
    slot = slot_picker(actor, location, type_id=type_id, default_provider=None, day=day, route=True,
                       customer_id=customer_id)  # fmt: skip
    intake, empty = intake_inputs(by_id[type_id].intake_fields, {})
    # Only picks (a listed customer, a time) hold Book back: a box still being typed in sends its
    # text with the click, so a field left empty is refused on the click, never by a disabled
    # button that the first click only blurs into enabling.
    missing = [what for what, ok in (("a customer", customer_id or new_customer), ("a time", slot)) if not ok]
    if new_customer and not new_customer["name"].strip():
        empty = ["the new customer's name", *empty]
    todo = (["pick " + " and ".join(missing)] if missing else []) + (["fill " + ", ".join(empty)] if empty else [])
    if todo:
        st.caption(plain(f"To book, {' and '.join(todo)}."))
    clicked = st.button("Book", type="primary", key="dlg_book_confirm", disabled=bool(missing))
    if clicked and empty:
        DIALOGS.refuse(f"To book, fill {', '.join(empty)}.")
    elif clicked:
        _submit(
            lambda: booking.book(
                actor, type_id=type_id, location_id=location.id, customer_id=customer_id, start=slot.start,
                provider_id=slot.provider_id, room_id=slot.room_id, intake=intake,
                new_customer=None if customer_id else new_customer,
            ),
            lambda result: booked_line(by_id[type_id].name, result.appointment.start_at, location.timezone,
                                       result.routing_reason),
            lambda result: _open_other_day(result, location, day),
        )  # fmt: skip
    if can(actor, A.WAITLIST_MANAGE, location.id) and st.button(
        "No suitable time? Add to waitlist", key="dlg_to_waitlist"
    ):
        open_dialog("waitlist", customer_id=customer_id, type_id=type_id)
    DIALOGS.error(top)


@st.dialog("Intake", on_dismiss=_dismiss)
def intake_dialog(actor: Actor, row: schedule.ScheduleRow) -> None:
    top = st.container()
    st.markdown(plain(row.summary))
    if (form := intake_reads.record(actor, row.appointment_id)) is not None:  # the type has a form
        intake_desk.section(actor, form, location_id=row.location_id, submit=_submit)
        DIALOGS.error(top)
        return
    fields = intake_fields(actor, row.type_id)
    if not fields:
        st.info("This appointment's type asks no intake questions.")
        return
    intake, empty = intake_inputs(fields, row.intake_answers)
    if empty:
        st.caption(plain(f"To save, fill {', '.join(empty)}."))
    clicked = st.button("Save intake", type="primary", key="dlg_intake_save")  # never disabled: no blur first
    if clicked and empty:
        DIALOGS.refuse(f"To save, fill {', '.join(empty)}.")
    elif clicked:
        _submit(
            lambda: booking.edit_intake(actor, row.appointment_id, intake), f"Intake saved for {row.customer_name}."
        )
    DIALOGS.error(top)


def _open_other_day(result, location: LocationView, day: date) -> kit.Then | None:
    """Booked on another day than the one shown: offer to open it, with the appointment picked."""
    booked_day = to_local(result.appointment.start_at, location.timezone).date()
    if booked_day == day:
        return None
    return kit.Then(f"Open {day_label(booked_day)}", go_to, (location.id, booked_day, result.appointment.id))


def show_open_dialog(actor: Actor, location: LocationView, day: date) -> None:
    """Open the dialog the desk asked for (called outside the refreshing fragment), with the
    appointment read fresh."""
    state = DIALOGS.current()
    if not state:
        return
    kind = state["kind"]
    row = schedule.appointment_row(actor, state["appointment_id"]) if state.get("appointment_id") else None
    if kind == "book":
        book_dialog(actor, location, day)
    elif kind == "waitlist":
        waitlist_dialog(actor, location, day)
    elif row is None:
        DIALOGS.close()  # no longer visible to this actor: nothing to open
    elif kind == "cancel":
        cancel_dialog(actor, row)
    elif kind == "reschedule":
        reschedule_dialog(actor, location, row)
    elif kind == "notes":
        notes_dialog(actor, row)
    elif kind == "intake":
        intake_dialog(actor, row)
