"""What a walkthrough at the desk found on today's page (issue 31, items 5, 6, 9, 10, 11, 14),
driven with AppTest through the page's own widgets; outcomes are checked in the database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.base import limits
from core.base.db import read_session
from core.base.errors import ValidationError
from core.base.models import Appointment
from core.base.tz import local_to_utc, to_local
from core.people import customers
from core.scheduling import availability, booking, transitions
from core.scheduling.labels import day_label
from tests.factories import shown, world
from tests.test_today_page import (
    NY,
    _book,
    _book_dialog_for_alan,
    _click,
    _insert,
    _next_monday,
    _on_the_day,
    _page,
    _pick_slot,
    _position,
    _said,
    _select,
    _slot_box,
    _status,
)


@pytest.fixture
def w(sqlite_db):
    return world()


def _slot_labels(at: AppTest) -> list[str]:
    return list(_slot_box(at).format_func.__self__.values())


# -- item 5: the customer's own other appointments -----------------------------------------


def test_the_book_dialog_leaves_out_times_the_customer_is_booked_elsewhere(w):
    day = _next_monday()
    _book(w, day, time(11), customer="alan", provider="kim")
    at = _book_dialog_for_alan(w, day)  # Dr. Rao, who is free at 11:00
    labels = _slot_labels(at)
    assert not any(label.startswith(("10:45", "11:00", "11:15")) for label in labels), labels
    assert any(label.startswith("10:30–11:00") for label in labels) and any(
        label.startswith("11:30") for label in labels
    )
    assert any(
        shown(c.value) == "Left out, as the customer is already booked then: 11:00–11:30 with Dr. Kim."
        for c in at.caption
    )


def test_free_times_for_a_customer_skip_their_appointments_and_a_move_skips_only_the_others(w):
    day = _next_monday()
    first = _book(w, day, time(10), customer="ada", provider="rao")
    _book(w, day, time(14), customer="ada", provider="kim")
    ask = dict(type_id=w.types["consult"].id, location_id=w.locations["downtown"].id, date_from=day, date_to=day,
               provider_id=w.providers["rao"].id)  # fmt: skip
    starts = {to_local(s.start, NY).time() for s in availability.find_slots(w.actors["frontdesk"], **ask)}
    mine = {
        to_local(s.start, NY).time()
        for s in availability.find_slots(
            w.actors["frontdesk"], **ask, customer_id=w.customers["ada"].id, exclude_appointment_id=first
        )  # fmt: skip
    }
    assert time(14) in starts and time(14) not in mine and time(13, 45) not in mine and time(14, 30) in mine
    assert time(10, 15) in mine  # the appointment being moved does not hold its own customer


# -- item 6: actions that open later say when; no-show is undoable ----------------------------


def test_check_in_and_no_show_say_when_they_open(w, monkeypatch):
    day = _next_monday()
    appt = _book(w, day, time(11))
    _on_the_day(monkeypatch, day, time(9))
    at = _select(_page(w, "frontdesk", day), appt)
    assert "Check in" not in [b.label for b in at.button]
    opens = (datetime.combine(day, time(11)) - transitions.check_in_lead()).time()
    assert f"Check-in opens {opens:%H:%M} · No-show from 11:00" in [shown(c.value) for c in at.caption]


def test_a_no_show_is_undone_from_the_box_and_the_line_says_until_when(w):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    appt = _insert(w, started, status="confirmed")
    at = _click(_select(_page(w, "frontdesk", to_local(started, NY).date()), appt), f"act_mark_no_show_{appt}")
    assert _status(appt) == "no_show"
    assert any(t.startswith("Ada Lovelace marked as no-show. You can undo it until") for t in _said(at)), _said(at)
    _click(at, f"act_undo_{appt}")
    assert _status(appt) == "confirmed"
    assert "Undone: Ada Lovelace is confirmed again." in _said(at)


# -- item 9: limits on the inputs, labels in refusals, long notes clamped ----------------------


def test_inputs_carry_their_length_limits(w):
    day = _next_monday()
    appt = _book(w, day, time(11))
    at = _page(w, "frontdesk", day)
    assert at.text_input(key="today_customer_query").proto.max_chars == limits.SEARCH_MAX
    _click(_select(at, appt), f"act_note_{appt}")
    assert at.text_area(key="dlg_note").proto.max_chars == limits.NOTE_MAX
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_cancel_{appt}")
    assert at.text_input(key="dlg_reason").proto.max_chars == limits.REASON_MAX
    at = _book_dialog_for_alan(w, day)
    assert at.text_input(key="dlg_intake_reason").proto.max_chars == limits.NOTE_MAX


def test_a_too_long_intake_answer_is_refused_by_its_label(w):
    with pytest.raises(ValidationError, match=r"^The answer to 'Reason for visit' can be at most 2000 characters"):
        booking.book(
            w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
            customer_id=w.customers["ada"].id, start=local_to_utc(_next_monday(), time(10), NY),
            provider_id=w.providers["rao"].id, intake={"reason": "y" * 2001},
        )  # fmt: skip


def test_a_long_note_is_clamped_with_show_more(w):
    day = _next_monday()
    appt = _book(w, day, time(11))
    long_note = " ".join(["The customer asked about parking and the ramp at the side door."] * 12)
    booking.add_note(w.actors["frontdesk"], appt, note=long_note)
    at = _select(_page(w, "frontdesk", day), appt)
    notes = next(shown(c.value) for c in at.caption if shown(c.value).startswith("Notes: "))
    assert notes.endswith("…") and len(notes) < 260
    buttons = [b.label for b in at.button]
    assert "Show more" in buttons
    _click(at, f"today_more_{appt}")
    assert any(long_note in shown(c.value) for c in at.caption)
    assert "Show less" in [b.label for b in at.button]


# -- item 10: the note form saves on the first click -------------------------------------------


def test_the_note_is_a_form_saved_by_its_first_click(w):
    day = _next_monday()
    appt = _book(w, day, time(11))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_note_{appt}")
    save = next(b for b in at.button if b.label == "Save note")
    assert not save.disabled  # nothing to blur first: the form sends the text with the click
    at.text_area(key="dlg_note").input("Prefers a call after 5pm")
    save.click().run()
    with read_session() as s:
        assert "Prefers a call after 5pm" in s.scalar(select(Appointment.notes).where(Appointment.id == appt))
    assert "Note saved for Ada Lovelace." in _said(at)


# -- item 11: booked for another day --------------------------------------------------------


def test_a_booking_for_another_day_offers_to_open_it(w):
    day = _next_monday()
    at = _book_dialog_for_alan(w, day)
    at.date_input(key="dlg_day").set_value(day + timedelta(days=1)).run()
    _pick_slot(at, "11:00–11:30 · Dr. Rao")
    at.text_input(key="dlg_intake_reason").input("Sore knee").run()
    _click(at, "dlg_book_confirm")
    follow = next(b for b in at.button if b.key == "kit_then")
    assert follow.label == f"Open {day_label(day + timedelta(days=1))}"
    assert any(t.startswith(f"Booked Consultation on {day_label(day + timedelta(days=1))} at 11:00") for t in _said(at))
    _click(at, "kit_then")
    assert at.date_input(key="today_day").value == day + timedelta(days=1)
    with read_session() as s:
        booked = s.scalar(select(Appointment.id).where(Appointment.customer_id == w.customers["alan"].id))
    assert at.selectbox(key="today_selected").value == booked


def test_a_booking_on_the_day_shown_offers_nothing_more(w):
    day = _next_monday()
    at = _pick_slot(_book_dialog_for_alan(w, day), "11:00–11:30 · Dr. Rao")
    at.text_input(key="dlg_intake_reason").input("Sore knee").run()
    _click(at, "dlg_book_confirm")
    assert "kit_then" not in [b.key for b in at.button]


# -- item 14: formats and layout --------------------------------------------------------------


def test_phones_are_shown_formatted_in_search_and_in_the_box(w):
    found = customers.search_customers(w.actors["frontdesk"], "Lovelace")
    assert [c.label for c in found] == ["Ada Lovelace · ada@example.test · +1 212-555-0100"]
    day = _next_monday()
    appt = _book(w, day, time(11))
    at = _select(_page(w, "frontdesk", day), appt)
    assert any("+1 212-555-0100" in shown(m.value) for m in at.markdown)
    assert not any("+12125550100" in m.value for m in at.markdown)


def test_outcomes_are_drawn_under_the_timeline_not_as_toasts(w):
    day = _next_monday()
    _book(w, day, time(9), customer="alan")  # the day keeps its timeline
    appt = _book(w, day, time(11))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_cancel_{appt}")
    at.text_input(key="dlg_reason").input("Customer called").run()
    _click(at, "dlg_cancel_confirm")
    assert not at.toast
    said = _position(at, lambda el: el.type == "success" and "Cancelled Ada Lovelace" in str(el.value))
    assert _position(at, lambda el: el.type == "plotly_chart") < said
    assert said < _position(at, lambda el: getattr(el, "key", None) == "today_selected")
