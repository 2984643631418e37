"""The front desk's working screen in a real browser: sign in, reschedule through the dialog,
see the appointment at its new time."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect

from core import booking
from core.tz import local_to_utc, today_in
from tests.e2e.conftest import screenshot, sign_in, wait_for_app
from tests.factories import PASSWORD, world

NY = "America/New_York"


def _next_monday() -> date:
    soon = today_in(NY) + timedelta(days=7)
    return soon + timedelta(days=(7 - soon.weekday()) % 7)


def _seed(day: date):
    w = world()
    booking.book(
        w.actors["frontdesk"],
        type_id=w.types["consult"].id,
        location_id=w.locations["downtown"].id,
        customer_id=w.customers["ada"].id,
        start=local_to_utc(day, time(10), NY),
        provider_id=w.providers["rao"].id,
        intake={"reason": "check-up"},
    )
    return w


def _choose(page, scope, label: str, option: str) -> None:
    """Open a selectbox by its label and pick the option whose text starts with `option`."""
    scope.get_by_label(label).click()
    page.keyboard.type(option.split(" · ")[0])  # the list is long and drawn lazily: filter it first
    page.get_by_role("option", name=re.compile("^" + re.escape(option))).first.click()


@pytest.mark.e2e
def test_front_desk_reschedules_an_appointment_through_the_dialog(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    page.get_by_role("heading", name=re.compile(r"^Downtown · ")).wait_for()
    shown = today_in(NY)
    while shown < day:  # day by day, as the desk would
        page.get_by_role("button", name="▶", exact=True).click()
        shown += timedelta(days=1)
        page.get_by_role("heading", name=f"Downtown · {shown:%a} {shown.day} {shown:%b}").wait_for()
        wait_for_app(page)  # a click while the page is still drawing could land on a button being replaced

    _choose(page, page, "Appointment", "10:00–10:30 · Ada Lovelace")
    page.get_by_role("button", name="Reschedule…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Ada Lovelace").first.wait_for()
    _choose(page, dialog, re.compile(r"^Time \(\d+ free\)"), "14:30–15:00 · Dr. Rao")
    dialog.get_by_role("button", name="Move appointment").click()

    dialog.wait_for(state="detached")
    wait_for_app(page)
    page.get_by_text(re.compile(r"Moved Ada Lovelace to .* 14:30–15:00")).wait_for()
    # The selected appointment, now at its new time (the list itself is drawn on a canvas).
    expect(page.get_by_role("combobox", name="Appointment")).to_have_value(
        "14:30–15:00 · Ada Lovelace · Consultation · Dr. Rao"
    )
    screenshot(page, "today_reschedule")
