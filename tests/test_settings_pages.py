"""The settings pages with AppTest: each draws its list with exports, saves through its service,
and shows the refusal's sentence for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.models import AppointmentType, Location, Room
from core.people import users
from pages.ui import USER_KEY
from tests.factories import shown, world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def w(sqlite_db, monkeypatch):
    monkeypatch.setenv("AUTH_COOKIE_KEY", "settings-page-test-key-3Gq8Lm2Vb7KdW4zRt1NcYs6JxA9sEu0")
    monkeypatch.setattr(users, "PASSWORD_ROUNDS", 4)
    reset_settings()
    return world()


def _page(file: str, user_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / file), default_timeout=60)
    at.session_state[USER_KEY] = user_id
    at.session_state["_auth_cookie_checked"] = True
    return at.run()


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_locations_page_adds_a_location_and_a_room(w):
    at = _page("pages/settings_locations.py", w.users["admin"].id)
    assert not at.exception
    assert [t.value for t in at.title] == ["Locations"]
    assert {b.label for b in at.get("download_button")} >= {"CSV (2 rows)", "Excel"}
    at.text_input[1].input("Uptown")  # [0] is the search box
    at.selectbox[1].select("America/Chicago")
    _button(at, "Save location").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Uptown is saved."]
    at.selectbox[0].select(next(o for o in at.selectbox[0].options if o == "Uptown")).run()
    room_name = next(t for t in at.text_input if t.label == "New room name")
    room_name.input("Exam A")
    next(t for t in at.text_input if t.label == "Kind").input("exam")
    _button(at, "Add room").click().run()
    with read_session() as s:
        tz = s.scalar(select(Location.timezone).where(Location.name == "Uptown"))
        room = s.execute(select(Room.name, Room.kind).join(Location).where(Location.name == "Uptown")).one()
    assert (tz, tuple(room)) == ("America/Chicago", ("Exam A", "exam"))


def test_locations_page_says_why_a_duplicate_is_refused(w):
    at = _page("pages/settings_locations.py", w.users["admin"].id)
    at.text_input[1].input("Harbor")
    _button(at, "Save location").click().run()
    assert [shown(e.value) for e in at.error] == ["There is already a location named Harbor."]


def test_providers_page_lists_the_managers_providers_and_saves_a_new_one(w):
    at = _page("pages/settings_providers.py", w.users["manager"].id)
    assert not at.exception
    assert [t.value for t in at.title] == ["Providers"]
    assert "CSV (2 rows)" in {b.label for b in at.get("download_button")}  # Sam Lee works at Harbor
    form = {t.label: t for t in at.text_input}
    form["Name"].input("Dr. Park")
    form["Email"].input("park@example.test")
    form["Skills (comma separated)"].input("general")
    at.multiselect[0].select(w.locations["downtown"].id)
    _button(at, "Save provider").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Dr. Park is saved."]
    assert "CSV (3 rows)" in {b.label for b in at.get("download_button")}


def test_types_page_shows_the_validation_sentence_and_changes_nothing(w):
    at = _page("pages/settings_types.py", w.users["admin"].id)
    assert not at.exception
    assert [t.value for t in at.title] == ["Appointment types"]
    next(t for t in at.text_input if t.label == "Name").input("Diet plan")
    next(n for n in at.number_input if n.label == "Buffer after (min)").set_value(-5)
    _button(at, "Save appointment type").click().run()
    assert [shown(e.value) for e in at.error] == ["Buffer after cannot be negative."]
    with read_session() as s:
        assert s.scalar(select(AppointmentType.id).where(AppointmentType.name == "Diet plan")) is None


def test_time_off_says_it_was_added_beside_the_form_and_empties_the_form(w):
    from datetime import date, timedelta

    at = _page("pages/settings_providers.py", w.users["manager"].id)
    at.selectbox(key="provider_choice").set_value(w.providers["kim"].id).run()
    next(s for s in at.get("button_group")).set_value("Time off").run()
    day = date.today() + timedelta(days=30)
    at.date_input(key="off_first").set_value(day).run()
    at.text_input(key="off_reason").input("Conference").run()
    _button(at, "Preview time off").click().run()
    _button(at, "Confirm time off").click().run()
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["Time off added; no booked appointment was affected."]
    assert at.text_input(key="off_reason").value == "" and at.date_input(key="off_first").value == date.today()
    assert "Conference" in at.dataframe[-1].value["Reason"].tolist()


def test_the_type_form_names_the_routing_in_words(w):
    at = _page("pages/settings_types.py", w.users["admin"].id)
    routing = next(s for s in at.selectbox if s.label == "Routing")
    assert routing.options == ["Take turns (round robin)", "Least booked that week"]
