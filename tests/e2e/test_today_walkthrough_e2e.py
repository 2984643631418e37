"""The desk's walkthrough in a real browser (issue 31, items 10 and 14): a note typed and saved
with one click, with no blur first; a day of 18 appointments lists every row without scrolling
inside the list; the outcome is drawn under the timeline, with no toast over it."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.models import Appointment
from core.base.tz import local_to_utc
from tests.e2e.conftest import screenshot, wait_for_app
from tests.e2e.test_today_e2e import NY, _choose, _next_monday, _open_day
from tests.factories import world

ROWS = 18


def _seed_full_day(day) -> None:
    """18 half-hour appointments with two providers, written directly (the list is what is tested)."""
    w = world()
    with unit_of_work() as s:
        for i in range(ROWS):
            start = local_to_utc(day, time(9), NY) + timedelta(minutes=30 * (i // 2))
            s.add(Appointment(
                location_id=w.locations["downtown"].id, provider_id=w.providers[("rao", "kim")[i % 2]].id,
                type_id=w.types["consult"].id, customer_id=w.customers[("ada", "alan")[i % 2]].id,
                start_at=start, end_at=start + timedelta(minutes=30), block_start=start,
                block_end=start + timedelta(minutes=30), status="booked",
            ))  # fmt: skip


@pytest.mark.e2e
def test_a_note_saves_with_one_click_and_a_full_day_shows_every_row(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _seed_full_day(day))
    page.context.set_default_timeout(60_000)  # a loaded machine draws a full day slowly
    page.set_viewport_size({"width": 1400, "height": 1000})
    _open_day(page, app_server, "frontdesk", day)
    page.get_by_text(f"{ROWS} appointments").first.wait_for()

    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    hidden = page.evaluate(
        """() => { const el = document.querySelector("[data-testid='stDataFrame'] .dvn-scroller");
                   return el.scrollHeight - el.clientHeight; }"""
    )
    assert hidden <= 2, f"the list scrolls inside itself by {hidden}px"

    _choose(page, page, "Appointment", "13:00–13:30 · Alan Turing")
    page.get_by_role("button", name="Notes…").click()
    dialog = page.get_by_role("dialog")
    box = dialog.get_by_label("Add a note")
    box.click()
    page.keyboard.type("Prefers a call after 5pm")  # still focused: the click below is the first and only one
    dialog.get_by_role("button", name="Save note").click()
    dialog.wait_for(state="detached")
    page.get_by_text("Note saved for Alan Turing.").wait_for()
    expect(page.locator("[data-testid='stToast']")).to_have_count(0)
    wait_for_app(page)
    with read_session() as s:
        notes = s.scalars(select(Appointment.notes).where(Appointment.notes.is_not(None))).all()
    assert notes == ["Prefers a call after 5pm"]
    screenshot(page, "today_note_saved")
