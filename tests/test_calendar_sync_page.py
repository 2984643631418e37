"""The Calendar sync page (AppTest): status per provider, "Sync now" against the emulator,
disconnect with a confirmation; only admins open it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.models import CalendarSyncState
from core.calendar_sync import client
from pages.ui import USER_KEY
from tests.calendar_emulator import CalendarEmulator
from tests.factories import world
from tests.test_calendar_sync import at as ny
from tests.test_calendar_sync import book

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def setup(sqlite_db, monkeypatch):
    emulator = CalendarEmulator().start()
    monkeypatch.setenv("GOOGLE_CALENDAR_API_ENDPOINT", emulator.endpoint)
    monkeypatch.setattr(client, "RETRY_SCALE", 0.001)
    reset_settings()
    yield world(), emulator
    emulator.stop()


def _page(user_id: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[USER_KEY] = user_id
    at.run()
    return at.switch_page("pages/calendar_sync.py").run()


def test_sync_now_pushes_the_pending_appointments_and_the_table_shows_it(setup):
    w, emu = setup
    book(w, ny(9))
    at = _page(w.users["admin"].id)
    assert not at.exception
    assert [t.value for t in at.title] == ["Calendar sync"]
    assert not at.info  # configured: no "not connected" notice
    pending = {m.label: m.value for m in at.metric}
    assert pending["Pending pushes"] == "1"

    next(b for b in at.button if b.label == "Sync now").click().run()

    assert not at.exception
    assert "3/3 calendars synced, pushed 1" in at.success[0].value
    assert len(emu.live_events("rao@example.test")) == 1
    table = at.dataframe[0].value
    assert set(table["Status"]) == {"OK"} and table["Pending pushes"].sum() == 0


def test_disconnecting_asks_first_and_then_stops_syncing_that_calendar(setup):
    w, _ = setup
    at = _page(w.users["admin"].id)
    at.selectbox(key="connect_choice").select("Dr. Kim").run()
    next(b for b in at.button if b.label.startswith("Disconnect Dr. Kim")).click().run()
    assert any("Stop syncing" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Disconnect").click().run()
    assert not at.exception
    with read_session() as s:
        state = s.scalar(select(CalendarSyncState).where(CalendarSyncState.provider_id == w.providers["kim"].id))
        assert state.status == "disconnected"


def test_without_configuration_the_page_says_so_and_sync_now_is_disabled(sqlite_db, monkeypatch):
    monkeypatch.delenv("GOOGLE_CALENDAR_API_ENDPOINT", raising=False)
    monkeypatch.delenv("GOOGLE_CREDENTIALS_FILE", raising=False)
    reset_settings()
    w = world()
    at = _page(w.users["admin"].id)
    assert "not connected yet" in at.info[0].value
    assert next(b for b in at.button if b.label == "Sync now").disabled
