"""Today's schedule page, driven with AppTest: every action goes through the page's own buttons
and dialogs, and the outcome is checked in the database."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.base import clock
from core.base.config import reset_settings
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, Customer
from core.base.tz import local_to_utc, to_local, today_in
from core.scheduling import booking, waitlist
from pages.safe import plain
from tests.factories import audit_rows, shown, world

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "today.py")
APP = str(Path(__file__).resolve().parent.parent / "app.py")
NY = "America/New_York"


def _next_monday() -> date:
    """A working Monday 1-2 weeks ahead: inside every type's horizon, outside cancellation windows."""
    soon = today_in(NY) + timedelta(days=7)
    return soon + timedelta(days=(7 - soon.weekday()) % 7)


@pytest.fixture
def w(sqlite_db):
    return world()


def _on_the_day(monkeypatch, day: date, at: time = time(8, 55)) -> None:
    """The page's and the services' clock on `day` at `at` in New York (check-in opens on the day)."""
    monkeypatch.setattr(clock, "utcnow", lambda: local_to_utc(day, at, NY))


def _book(w, day, at, *, provider="rao", customer="ada", location="downtown", type_="consult") -> int:
    tz = w.locations[location].timezone
    result = booking.book(
        w.actors["admin"],
        type_id=w.types[type_].id,
        location_id=w.locations[location].id,
        customer_id=w.customers[customer].id,
        start=local_to_utc(day, at, tz),
        provider_id=w.providers[provider].id,
        intake={"reason": "check-up"} if type_ == "consult" else None,
    )
    return result.appointment.id


def _insert(w, start: datetime, *, provider="rao", status="booked", customer="ada") -> int:
    """An appointment at any time, past ones included (booking refuses the past)."""
    with unit_of_work() as s:
        appt = Appointment(
            location_id=w.locations["downtown"].id,
            provider_id=w.providers[provider].id,
            type_id=w.types["consult"].id,
            customer_id=w.customers[customer].id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            block_start=start,
            block_end=start + timedelta(minutes=30),
            status=status,
        )
        s.add(appt)
        s.flush()
        return appt.id


def _page(w, user: str, day: date, location: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["user_id"] = w.users[user].id
    at.query_params["date"] = day.isoformat()
    if location:
        at.query_params["location"] = str(w.locations[location].id)
    at.run()
    assert not at.exception, at.exception
    return at


def _select(at: AppTest, appointment_id: int) -> AppTest:
    at.selectbox(key="today_selected").select(appointment_id).run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def _status(appointment_id: int) -> str:
    with read_session() as s:
        return s.scalar(select(Appointment.status).where(Appointment.id == appointment_id))


def _shown(markdown: str) -> str:
    """What a person reads: user text is sent as escaped Markdown (pages.safe.plain)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _said(at: AppTest) -> list[str]:
    """The page's outcome sentences: drawn over the appointment box (no toast over the timeline)."""
    return [_shown(t.value) for t in [*at.toast, *at.success, *at.info]]


def _errors(at: AppTest) -> list[str]:
    return [_shown(e.value) for e in at.error]


def test_front_desk_sees_the_days_list_timeline_and_counts(w, monkeypatch):
    day = _next_monday()
    first = _book(w, day, time(9))
    _book(w, day, time(9), provider="kim", customer="alan")
    _on_the_day(monkeypatch, day)
    at = _page(w, "frontdesk", day)
    assert at.title[0].value.startswith("Downtown · ")
    assert "2 appointments: 2 booked" in at.caption[0].value
    frame = at.dataframe[0].value
    assert list(frame["Customer"]) == ["Alan Turing", "Ada Lovelace"]  # same time: by provider name
    assert list(frame.columns) == ["Time", "Customer", "Type", "Provider", "Room", "Status", "Intake", "Flags"]
    assert frame["Time"].iloc[0] == "09:00–09:30" and frame["Flags"].iloc[0] == "unconfirmed"
    assert len(at.get("plotly_chart")) == 1
    assert at.selectbox(key="today_selected").options[1].startswith("09:00–09:30 · Ada Lovelace")
    _select(at, first)
    assert "Check in" in _labels(at) and "Cancel…" in _labels(at)


def test_an_empty_day_says_so_and_offers_to_book(w):
    day = _next_monday()
    at = _page(w, "frontdesk", day)
    assert any(f"No appointments at Downtown on {day:%a} {day.day} {day:%b}." in _shown(i.value) for i in at.info)
    assert "Book one" in _labels(at)


@pytest.mark.parametrize(
    ("location", "user", "provider", "type_", "shown"),
    [
        ("downtown", "frontdesk", "rao", "followup", "10:00–10:15"),
        ("harbor", "harbordesk", "lee", "class", "10:00–11:00"),
    ],
)
def test_the_page_renders_each_location_in_its_own_time_zone(w, location, user, provider, type_, shown):
    day = _next_monday()
    _book(w, day, time(10), provider=provider, customer="alan", location=location, type_=type_)
    at = _page(w, user, day)
    assert at.selectbox(key="today_location").value == w.locations[location].id
    assert at.dataframe[0].value["Time"].tolist() == [shown]  # local wall-clock time
    assert at.title[0].value.startswith(w.locations[location].name)


@pytest.mark.parametrize(
    ("location", "user", "shown"), [("downtown", "frontdesk", "09:00–09:30"), ("harbor", "harbordesk", "09:00–10:00")]
)
def test_the_app_opens_today_for_each_time_zone(w, monkeypatch, location, user, shown):
    """Through app.py's sign-in and navigation, as a signed-in desk lands on it."""
    monkeypatch.setenv("AUTH_COOKIE_KEY", "today-page-test-key-5Fq1Lm8Vb2KdW7zRt4NcYt9JxA3sEu6")
    monkeypatch.setenv("DEMO_MODE", "0")
    reset_settings()
    day = _next_monday()
    provider, type_ = ("rao", "consult") if location == "downtown" else ("lee", "class")
    _book(w, day, time(9), provider=provider, customer="alan", location=location, type_=type_)
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user_id"] = w.users[user].id
    at.query_params["date"] = day.isoformat()
    at.run()
    at.switch_page("pages/today.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith(w.locations[location].name)
    assert at.dataframe[0].value["Time"].tolist() == [shown]


def test_check_in_is_offered_only_on_the_day_then_complete(w, monkeypatch):
    day = _next_monday()
    appt = _book(w, day, time(9))
    ahead = _select(_page(w, "frontdesk", day), appt)
    assert "Check in" not in _labels(ahead) and "Confirm" in _labels(ahead)  # days ahead
    _on_the_day(monkeypatch, day)
    at = _select(_page(w, "frontdesk", day), appt)
    _click(at, f"act_check_in_{appt}")
    assert _status(appt) == "checked_in"
    assert any(t.startswith("Ada Lovelace checked in. You can undo it until") for t in _said(at))
    assert "Complete" in _labels(at) and "Check in" not in _labels(at)
    _click(at, f"act_complete_{appt}")
    assert _status(appt) == "completed"


def test_confirm_clears_the_unconfirmed_flag(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_confirm_{appt}")
    assert _status(appt) == "confirmed"
    assert at.dataframe[0].value["Flags"].tolist() == [""]


def test_mark_no_show_once_the_appointment_has_started(w):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    appt = _insert(w, started, status="confirmed")
    day = to_local(started, NY).date()
    at = _select(_page(w, "frontdesk", day), appt)
    assert "not arrived" in at.dataframe[0].value["Flags"].iloc[0]
    assert "Reschedule…" not in _labels(at)  # it has started
    _click(at, f"act_mark_no_show_{appt}")
    assert _status(appt) == "no_show"


def test_cancel_needs_a_reason_and_says_whether_it_is_late(w):
    day = _next_monday()
    appt = _book(w, day, time(11))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_cancel_{appt}")
    assert any("Not a late cancellation" in _shown(i.value) for i in at.info)
    _click(at, "dlg_cancel_confirm")
    assert "Give a reason for the cancellation." in _errors(at)
    assert _status(appt) == "booked"
    at.text_input(key="dlg_reason").input("Customer called").run()
    _click(at, "dlg_cancel_confirm")
    assert _status(appt) == "cancelled"
    assert any("Cancelled Ada Lovelace's 11:00–11:30 appointment" in t for t in _said(at))
    assert "dlg_cancel_confirm" not in [b.key for b in at.button]  # the dialog closed
    assert at.dataframe[0].value.empty  # cancelled ones are hidden until asked for
    at.toggle(key="today_show_cancelled").set_value(True).run()
    assert at.dataframe[0].value["Status"].tolist() == ["Cancelled"]


def test_a_late_cancellation_is_announced_before_confirming(w):
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    appt = _insert(w, soon)
    day = to_local(soon, NY).date()
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_cancel_{appt}")
    assert any("This is a late cancellation" in _shown(m.value) for m in at.warning)
    at.text_input(key="dlg_reason").input("Feeling unwell").run()
    at = _click(at, "dlg_cancel_confirm")
    assert any("(late cancellation)" in t for t in _said(at))
    with read_session() as s:
        assert s.scalar(select(Appointment.late_cancel).where(Appointment.id == appt))


def _slot_box(at: AppTest):
    return next(s for s in at.selectbox if s.key and s.key.startswith("dlg_slot_"))


def _pick_slot(at: AppTest, label_start: str) -> AppTest:
    box = _slot_box(at)
    labels = box.format_func.__self__  # the picker's {slot: label}: its values are slots, not positions
    box.set_value(next(slot for slot, label in labels.items() if label.startswith(label_start))).run()
    assert not at.exception, at.exception
    return at


def test_reschedule_through_the_dialog_moves_the_appointment(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_reschedule_{appt}")
    assert at.selectbox(key="dlg_provider").value == w.providers["rao"].id  # same provider by default
    _pick_slot(at, "14:30–15:00 · Dr. Rao")
    _click(at, "dlg_reschedule_confirm")
    with read_session() as s:
        moved = s.get(Appointment, appt)
        assert moved.start_at == local_to_utc(day, time(14, 30), NY) and moved.reschedule_count == 1
    assert any(t.startswith("Moved Ada Lovelace to") for t in _said(at))
    assert at.dataframe[0].value["Time"].tolist() == ["14:30–15:00"]


def test_reschedule_to_another_provider(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_reschedule_{appt}")
    at.selectbox(key="dlg_provider").set_value(w.providers["kim"].id).run()
    _pick_slot(at, "10:00–10:30 · Dr. Kim")
    _click(at, "dlg_reschedule_confirm")
    with read_session() as s:
        assert s.get(Appointment, appt).provider_id == w.providers["kim"].id


def _stale_slots(monkeypatch):
    """The free times as the desk saw them before another desk booked one: a true race."""
    from core.scheduling import availability

    real, seen = availability.find_slots, {}

    def stale(actor, **kwargs):
        key = tuple(sorted((k, v) for k, v in kwargs.items() if k != "now"))
        if key not in seen:
            seen[key] = real(actor, **kwargs)
        return seen[key]

    monkeypatch.setattr(availability, "find_slots", stale)


def test_a_slot_lost_in_a_race_is_a_plain_conflict_and_nothing_moves(w, monkeypatch):
    _stale_slots(monkeypatch)
    day = _next_monday()
    appt = _book(w, day, time(10))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_reschedule_{appt}")
    _pick_slot(at, "14:00–14:30 · Dr. Rao")
    _book(w, day, time(14), customer="alan")  # another desk takes 14:00 with Dr. Rao first
    _click(at, "dlg_reschedule_confirm")
    errors = _errors(at)
    assert errors and "Dr. Rao" in errors[0] and "Traceback" not in errors[0]
    assert "dlg_reschedule_confirm" in [b.key for b in at.button]  # the dialog stays open
    with read_session() as s:
        assert s.get(Appointment, appt).start_at == local_to_utc(day, time(10), NY)


def test_a_picked_time_taken_by_someone_else_is_pointed_out(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_reschedule_{appt}")
    _pick_slot(at, "14:00–14:30 · Dr. Rao")
    _book(w, day, time(14), customer="alan")
    at.run()  # any rerun of the dialog, e.g. the desk looking at another day
    assert any("14:00 with Dr. Rao was just taken" in _shown(m.value) for m in at.warning)


def test_notes_are_added_through_the_dialog(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_note_{appt}")
    at.text_area(key="dlg_note").input("Prefers mornings")  # a form: sent with the click
    _click(at, "dlg_note_save")
    with read_session() as s:
        assert s.get(Appointment, appt).notes == "Prefers mornings"
    assert any("Prefers mornings" in c.value for c in at.caption)


def test_book_a_new_customer_through_the_dialog(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types["consult"].id).run()
    at.radio(key="dlg_customer_mode").set_value("New customer").run()
    at.text_input(key="dlg_new_name").input("Grace Hopper")
    at.text_input(key="dlg_new_email").input("grace@navy.test")
    at.text_input(key="dlg_new_phone").input("(212) 555-0123").run()
    _pick_slot(at, "11:00–11:30 · any of Dr. Kim, Dr. Rao")  # any provider: one option per time
    at.text_input(key="dlg_intake_reason").input("First visit").run()
    _click(at, "dlg_book_confirm")
    assert not _errors(at), _errors(at)
    toast = _said(at)[0]
    assert toast.startswith("Booked Consultation on") and "at 11:00 (Dr." in toast  # with the routing reason
    with read_session() as s:
        grace = s.scalars(select(Customer).where(Customer.name == "Grace Hopper")).one()
        appt = s.scalars(select(Appointment).where(Appointment.customer_id == grace.id)).one()
        assert appt.start_at == local_to_utc(day, time(11), NY)
        assert appt.intake_answers == {"reason": "First visit"}
        assert grace.home_location_id == w.locations["downtown"].id and grace.phone == "+12125550123"
    assert "Grace Hopper" in at.dataframe[0].value["Customer"].tolist()


def test_a_new_customer_with_a_known_phone_is_offered_the_existing_one(w):
    """Issue 31 item 15, in the Book dialog: typing a new customer with Ada's phone warns and
    offers her record; taking it switches the picker to finding her."""
    at = _click(_page(w, "frontdesk", _next_monday()), "today_book")
    at.radio(key="dlg_customer_mode").set_value("New customer").run()
    at.text_input(key="dlg_new_name").input("Ada L.")
    at.text_input(key="dlg_new_phone").input("(212) 555-0100").run()
    assert any("Already on file with this phone number: **Ada Lovelace" in shown(x.value) for x in at.warning)
    _click(at, f"dlg_same_{w.customers['ada'].id}")
    assert at.radio(key="dlg_customer_mode").value == "Find"
    assert next(s for s in at.selectbox if s.label == "Matches").value == w.customers["ada"].id


def test_book_an_existing_customer_found_by_phone(w):
    day = _next_monday()
    _book(w, day + timedelta(days=7), time(9), customer="alan")  # Alan is booked here next week
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types["followup"].id).run()
    at.text_input(key="dlg_customer_query").input("7946").run()
    assert next(s for s in at.selectbox if s.label == "Matches").value == w.customers["alan"].id
    at.selectbox(key="dlg_provider").set_value(w.providers["rao"].id).run()
    _pick_slot(at, "13:00–13:15 · Dr. Rao")
    _click(at, "dlg_book_confirm")
    with read_session() as s:
        booked = s.scalars(
            select(Appointment).where(
                Appointment.customer_id == w.customers["alan"].id, Appointment.type_id == w.types["followup"].id
            )
        ).one()
        assert booked.start_at == local_to_utc(day, time(13), NY)


def test_a_refused_booking_adds_no_customer_and_the_retry_adds_one(w, monkeypatch):
    _stale_slots(monkeypatch)
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types["followup"].id).run()
    at.radio(key="dlg_customer_mode").set_value("New customer").run()
    at.text_input(key="dlg_new_name").input("Grace Hopper").run()
    at.selectbox(key="dlg_provider").set_value(w.providers["rao"].id).run()
    _pick_slot(at, "15:00–15:15 · Dr. Rao")
    _book(w, day, time(15), customer="alan")  # taken meanwhile
    _click(at, "dlg_book_confirm")
    assert _errors(at)
    with read_session() as s:  # nothing half-done: the customer came and went with the booking
        assert s.scalars(select(Customer).where(Customer.name == "Grace Hopper")).all() == []
    assert at.text_input(key="dlg_new_name").value == "Grace Hopper"  # what the desk typed is kept
    _pick_slot(at, "16:00–16:15 · Dr. Rao")
    _click(at, "dlg_book_confirm")
    with read_session() as s:
        assert len(s.scalars(select(Customer).where(Customer.name == "Grace Hopper")).all()) == 1


def test_a_waitlist_offer_is_booked_with_one_click(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    waitlist.add_entry(
        w.actors["frontdesk"],
        customer_id=w.customers["alan"].id,
        location_id=w.locations["downtown"].id,
        type_id=w.types["consult"].id,
        earliest_date=day,
        latest_date=day,
    )
    booking.cancel(w.actors["frontdesk"], appt, reason="Customer called")
    at = _page(w, "frontdesk", day)
    assert at.subheader[0].value == "Waitlist offers (1)"
    at.toggle(key="today_show_cancelled").set_value(True).run()
    assert at.dataframe[0].value["Flags"].tolist() == ["waitlist offer"]
    offer = waitlist.open_offers(w.actors["frontdesk"], location_id=w.locations["downtown"].id, day=day)[0]
    _click(at, f"offer_book_{offer.offer_id}")
    assert "Booked Alan Turing at 10:00." in _said(at)
    with read_session() as s:
        taken = s.scalars(select(Appointment).where(Appointment.customer_id == w.customers["alan"].id)).one()
        assert taken.start_at == local_to_utc(day, time(10), NY) and taken.status == "booked"


def test_a_provider_sees_only_their_own_day_and_can_complete_it(w):
    day = _next_monday()
    mine = _book(w, day, time(9), provider="rao")
    theirs = _book(w, day, time(9), provider="kim", customer="alan")
    booking.check_in(w.actors["frontdesk"], mine, now=local_to_utc(day, time(8, 55), NY))
    at = _page(w, "provider", day)
    assert at.title[0].value.startswith("My day")
    assert at.dataframe[0].value["Customer"].tolist() == ["Ada Lovelace"]
    options = at.selectbox(key="today_selected").options
    assert len(options) == 1 and "Alan" not in options[0]
    assert "Book" not in _labels(at)
    _select(at, mine)
    labels = _labels(at)
    assert "Complete" in labels and "Notes…" in labels
    assert not {"Cancel…", "Reschedule…", "Check in", "Confirm"} & set(labels)
    assert not at.subheader or "Waitlist" not in at.subheader[0].value
    _click(at, f"act_complete_{mine}")
    assert _status(mine) == "completed" and _status(theirs) == "booked"


def test_an_analyst_reads_without_actions_and_with_contacts_masked(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    at = _select(_page(w, "analyst", day), appt)
    assert "Book" not in _labels(at)
    assert not [key for key in (b.key for b in at.button) if key and key.startswith("act_")]
    assert any(plain("***-00") in m.value for m in at.markdown)  # drawn as text, not as Markdown emphasis
    assert not any("555 0100" in m.value for m in at.markdown)


def test_a_refused_action_shows_its_sentence_and_changes_nothing(w, monkeypatch):
    day = _next_monday()
    appt = _book(w, day, time(9))
    _on_the_day(monkeypatch, day)
    at = _select(_page(w, "frontdesk", day), appt)
    booking.cancel(w.actors["manager"], appt, reason="Clinic closed")  # someone else, meanwhile
    _click(at, f"act_check_in_{appt}")
    assert any("can be checked in" in e for e in _errors(at))
    assert _status(appt) == "cancelled"


def test_customer_search_finds_other_days_and_opens_them(w):
    day = _next_monday()
    later = day + timedelta(days=2)
    appt = _book(w, later, time(9), customer="alan")
    at = _page(w, "frontdesk", day)
    at.text_input(key="today_customer_query").input("turing").run()
    assert [e.label for e in at.expander][0].startswith("Alan Turing")
    _click(at, f"goto_{appt}")
    assert at.date_input(key="today_day").value == later
    assert at.selectbox(key="today_selected").value == appt


def test_next_and_previous_day_buttons(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_next")
    assert at.date_input(key="today_day").value == day + timedelta(days=1)
    _click(at, "today_previous")
    _click(at, "today_previous")
    assert at.date_input(key="today_day").value == day - timedelta(days=1)


def test_a_user_without_a_role_is_turned_away(w):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["user_id"] = w.users["norole"].id
    at.run()
    assert [e.value for e in at.error] == ["You do not have access to this page."]


def test_a_day_without_free_times_points_to_the_next_one(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_reschedule_{appt}")
    at.date_input(key="dlg_day").set_value(day - timedelta(days=2)).run()  # a Saturday: nobody works
    assert any(
        _shown(i.value).startswith("No free times with Dr. Rao on Sat") and "The next is Mon" in _shown(i.value)
        for i in at.info
    )
    _click(at, "dlg_next_free")
    assert at.date_input(key="dlg_day").value == day
    assert _slot_box(at).options[0].startswith("09:00–09:30 · Dr. Rao")


def test_a_slot_taken_by_another_desk_is_named_and_never_swapped_for_another(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types["followup"].id).run()
    at.text_input(key="dlg_customer_query").input("7946").run()
    at.selectbox(key="dlg_provider").set_value(w.providers["rao"].id).run()
    _pick_slot(at, "10:00–10:15 · Dr. Rao")
    _book(w, day, time(10), provider="rao", customer="ada", type_="followup")  # the other desk, meanwhile
    at.run()
    assert any("10:00 with Dr. Rao was just taken" in _shown(x.value) for x in at.warning), [
        _shown(x.value) for x in at.warning
    ]
    assert _slot_box(at).value is None, "the picker never moves to another time by itself"
    assert next(b for b in at.button if b.key == "dlg_book_confirm").disabled
    with read_session() as s:
        alan = s.scalars(select(Appointment).where(Appointment.customer_id == w.customers["alan"].id)).all()
    assert alan == []


# -- issue 10: intake, dialog errors, the Appointment box, undo, the URL, search, timeline ------


def _flat(node) -> list:
    """Every element under `node`, in the order the page draws them."""
    out = []
    for child in getattr(node, "children", {}).values():
        out.append(child)
        out.extend(_flat(child))
    return out


def _position(at: AppTest, match) -> int:
    return next(i for i, el in enumerate(_flat(at._tree)) if match(el))  # main, sidebar and dialogs


def _book_dialog_for_alan(w, day: date, type_: str = "consult") -> AppTest:
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types[type_].id).run()
    at.text_input(key="dlg_customer_query").input("7946").run()
    at.selectbox(key="dlg_provider").set_value(w.providers["rao"].id).run()
    return at


def test_a_required_intake_field_blocks_book_and_is_named(w):
    day = _next_monday()
    at = _pick_slot(_book_dialog_for_alan(w, day), "11:00–11:30 · Dr. Rao")
    assert any(shown(c.value) == "To book, fill Reason for visit." for c in at.caption), [c.value for c in at.caption]
    _click(at, "dlg_book_confirm")  # enabled, so a click never only blurs a box: an empty one is refused
    assert "To book, fill Reason for visit." in [shown(e.value) for e in at.error]
    with read_session() as s:
        assert not s.scalars(select(Appointment).where(Appointment.customer_id == w.customers["alan"].id)).all()
    at.text_input(key="dlg_intake_reason").input("Sore knee").run()
    _click(at, "dlg_book_confirm")
    with read_session() as s:
        appt = s.scalars(select(Appointment).where(Appointment.customer_id == w.customers["alan"].id)).one()
        assert appt.intake_complete and appt.intake_answers == {"reason": "Sore knee"}


def test_a_refused_booking_is_shown_at_the_top_of_the_dialog_with_the_picker_refreshed(w, monkeypatch):
    """The desk's list is stale until Book is refused (a true race); the run after the refusal
    reads the free times afresh, names the lost time and shows the refusal above the form."""
    from core.scheduling import availability

    real_find, real_book, seen, refused = availability.find_slots, booking.book, {}, []

    def stale(actor, **kwargs):
        key = tuple(sorted((k, v) for k, v in kwargs.items() if k != "now"))
        if refused or key not in seen:
            seen[key] = real_find(actor, **kwargs)
        return seen[key]

    def book(*args, **kwargs):
        try:
            return real_book(*args, **kwargs)
        except Exception:
            refused.append(True)
            raise

    monkeypatch.setattr(availability, "find_slots", stale)
    monkeypatch.setattr(booking, "book", book)
    day = _next_monday()
    at = _pick_slot(_book_dialog_for_alan(w, day, "followup"), "10:00–10:15 · Dr. Rao")
    _book(w, day, time(10), type_="followup")  # another desk takes 10:00 with Dr. Rao first
    _click(at, "dlg_book_confirm")
    assert refused, "the service itself refused"
    errors = _errors(at)
    assert errors and "Dr. Rao" in errors[0], errors
    error_at = _position(at, lambda el: el.type == "error" and "Dr. Rao" in _shown(el.value))
    assert error_at < _position(at, lambda el: getattr(el, "key", None) == "dlg_type")  # above the form
    assert any("10:00 with Dr. Rao was just taken" in _shown(x.value) for x in at.warning)
    assert _slot_box(at).value is None
    with read_session() as s:
        assert not s.scalars(select(Appointment).where(Appointment.customer_id == w.customers["alan"].id)).all()


def test_intake_is_shown_in_the_details_and_edited_from_the_box(w):
    day = _next_monday()
    appt = _book(w, day, time(10), type_="followup")
    missing = booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers["alan"].id, start=local_to_utc(day, time(11), NY), provider_id=w.providers["rao"].id,
    ).appointment.id  # fmt: skip
    at = _select(_page(w, "frontdesk", day), missing)
    assert any(_shown(c.value) == ":orange[Intake missing]: Reason for visit" for c in at.caption)
    _click(at, f"act_intake_{missing}")
    _click(at, "dlg_intake_save")  # enabled: an empty answer is refused on the click, not by a blur
    assert "To save, fill Reason for visit." in [_shown(e.value) for e in at.error]
    at.text_input(key="dlg_intake_reason").input("Knee *still* sore").run()
    _click(at, "dlg_intake_save")
    with read_session() as s:
        assert s.get(Appointment, missing).intake_answers == {"reason": "Knee *still* sore"}
    at = _select(_page(w, "provider", day), missing)  # Dr. Rao reads it too, as typed
    assert any(_shown(c.value) == "Intake: Reason for visit: Knee *still* sore" for c in at.caption)
    assert "act_intake_" + str(appt) not in [b.key for b in at.button]
    at = _select(_page(w, "analyst", day), missing)
    assert not any("Knee" in c.value for c in at.caption)  # answers may hold health details


def test_the_box_empties_when_its_appointment_leaves_the_page(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    at = _select(_page(w, "frontdesk", day), appt)
    booking.cancel(w.actors["manager"], appt, reason="Clinic closed")  # another desk, meanwhile
    at.run()
    assert at.selectbox(key="today_selected").value is None
    assert not [b.key for b in at.button if b.key and b.key.startswith("act_")]
    at.toggle(key="today_show_cancelled").set_value(True).run()
    options = at.selectbox(key="today_selected").options
    assert any(o.startswith("09:00–09:30 · Ada Lovelace") for o in options)  # listed again, not selected again
    assert at.selectbox(key="today_selected").value is None


def test_a_selection_is_cleared_when_the_day_changes_and_when_moved_to_another_day(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    _book(w, day + timedelta(days=1), time(9), customer="alan")
    _book(w, day, time(11), customer="mary", provider="kim")  # the day keeps a list after Ada leaves it
    at = _click(_select(_page(w, "frontdesk", day), appt), "today_next")
    assert at.selectbox(key="today_selected").value is None
    _click(at, "today_previous")
    _select(at, appt)
    booking.reschedule(w.actors["manager"], appt, new_start=local_to_utc(day + timedelta(days=1), time(10), NY))
    at.run()
    assert at.selectbox(key="today_selected").value is None
    assert not [b.key for b in at.button if b.key and b.key.startswith("act_")]


def test_the_last_status_change_is_undone_from_the_box(w):
    day = _next_monday()
    appt = _book(w, day, time(9))
    at = _click(_select(_page(w, "frontdesk", day), appt), f"act_confirm_{appt}")
    assert _status(appt) == "confirmed"
    assert any("Ada Lovelace confirmed. You can undo it until" in _shown(s.value) for s in at.success)
    _click(at, f"act_undo_{appt}")
    assert _status(appt) == "booked"
    assert any("Undone: Ada Lovelace is booked again." in t for t in _said(at))
    assert f"act_undo_{appt}" not in [b.key for b in at.button]
    assert [r.action for r in audit_rows(entity_id=str(appt), outcome="ok")][-1] == "appointment.undo"


def test_the_view_is_kept_in_the_url_and_read_back(w):
    day = _next_monday()
    at = _page(w, "frontdesk", day)
    at.toggle(key="today_show_cancelled").set_value(True).run()
    assert at.query_params["date"] == [day.isoformat()] or at.query_params["date"] == day.isoformat()
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["location"] == str(w.locations["downtown"].id) and params["cancelled"] == "1"
    fresh = AppTest.from_file(PAGE, default_timeout=30)  # a refresh or a shared link: a new session
    fresh.session_state["user_id"] = w.users["frontdesk"].id
    for key, value in {**params, "by": "room"}.items():
        fresh.query_params[key] = value
    fresh.run()
    assert fresh.date_input(key="today_day").value == day and fresh.toggle(key="today_show_cancelled").value
    assert fresh.session_state["today_by"] == "Room"


def test_the_heading_shows_the_year_only_when_it_is_not_this_one(w):
    today = today_in(NY)
    assert _page(w, "frontdesk", today).title[0].value == f"Downtown · {today:%a} {today.day} {today:%b} (today)"
    last_year = today_in(NY) - timedelta(days=366)
    at = _page(w, "frontdesk", last_year)
    assert at.title[0].value == f"Downtown · {last_year:%a} {last_year.day} {last_year:%b} {last_year.year}"


def test_customer_search_sits_above_the_schedule(w):
    day = _next_monday()
    _book(w, day, time(9))
    at = _page(w, "frontdesk", day)
    search = _position(at, lambda el: getattr(el, "key", None) == "today_customer_query")
    assert search < _position(at, lambda el: el.type == "dataframe")


def test_a_group_session_is_one_bar_with_its_member_count(w):
    day = _next_monday()
    for customer in ("mary", "ada", "alan"):
        _book(w, day, time(10), provider="lee", customer=customer, location="harbor", type_="class")
    at = _page(w, "admin", day, location="harbor")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    assert [text for t in bars for text in t["text"]] == ["3 booked"]


def test_back_and_forward_in_the_browser_show_the_day_of_the_url(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_next")
    assert at.query_params["date"] in (str(day + timedelta(days=1)), [str(day + timedelta(days=1))])
    at.query_params["date"] = day.isoformat()  # the back button: the browser's URL changes, the session stays
    at.run()
    assert at.date_input(key="today_day").value == day
    at.toggle(key="today_show_cancelled").set_value(True).run()  # the desk's own change is kept
    assert at.toggle(key="today_show_cancelled").value and at.date_input(key="today_day").value == day
