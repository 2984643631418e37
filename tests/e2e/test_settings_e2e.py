"""A manager adds time off in a real browser and sees the appointment it would leave uncovered
listed before confirming; confirming records the time off."""

from __future__ import annotations

from datetime import date, time, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import TimeOff
from core.base.tz import local_to_utc, today_in
from core.scheduling import booking
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app
from tests.factories import world

NY = "America/New_York"


def _next_tuesday() -> date:
    soon = today_in(NY) + timedelta(days=7)
    return soon + timedelta(days=(1 - soon.weekday()) % 7)


def _seed(day: date):
    w = world()
    booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers["ada"].id, start=local_to_utc(day, time(10), NY), provider_id=w.providers["rao"].id,
        intake={"reason": "check-up"},
    )  # fmt: skip
    return w


def _set_date(page, label: str, day: date) -> None:
    """Type the date into the picker's year, month and day fields, as a person would."""
    for part, value in (("year", f"{day.year}"), ("month", f"{day.month:02}"), ("day", f"{day.day:02}")):
        page.get_by_role("spinbutton", name=f"{part}, {label}").click()
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    wait_for_app(page)


def test_manager_sees_the_affected_appointments_before_confirming_time_off(app_server, page):
    day = _next_tuesday()
    w = app_server.seed(lambda: _seed(day))
    page.set_default_timeout(60_000)  # the page has a chart and a form; shared build machines are slow
    sign_in_returning(page, app_server, "manager")
    page.get_by_role("link", name="Providers").click()
    wait_for_app(page)
    page.get_by_label("Provider", exact=True).click()
    page.get_by_role("option", name="Dr. Rao").click()
    wait_for_app(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Time off", exact=True).click()
    wait_for_app(page)
    _set_date(page, "First day", day)
    _set_date(page, "Last day", day)
    page.get_by_label("Reason").fill("Conference")
    page.get_by_role("button", name="Preview time off").click()
    wait_for_app(page)
    expect(page.get_by_text("1 booked appointment would fall outside working time")).to_be_visible()
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).to_contain_text(f"{day:%a} {day.day} {day:%b} 10:00-10:30")
    screenshot(page, "settings_time_off_preview")
    with read_session() as s:
        assert s.scalars(select(TimeOff)).all() == []  # nothing recorded before confirming
    page.get_by_role("button", name="Confirm time off").click()
    wait_for_app(page)
    expect(page.get_by_text("Time off added; 1 appointment went to the exceptions queue.")).to_be_visible()
    with read_session() as s:
        (off,) = s.execute(select(TimeOff.provider_id, TimeOff.start_at, TimeOff.reason)).all()
    assert tuple(off) == (w.providers["rao"].id, local_to_utc(day, time(0), NY), "Conference")
