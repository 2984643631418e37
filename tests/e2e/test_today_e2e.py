"""The front desk's working screen in a real browser: sign in, reschedule through the dialog and
see the appointment at its new time; two screens stay in step; a refresh keeps an open dialog."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlalchemy import select

import core.demo.builder
from core import demo
from core.base.db import read_session
from core.base.models import Appointment
from core.base.tz import local_to_utc, today_in
from core.scheduling import booking
from core.security.passwords import hash_password
from tests.e2e.conftest import new_context, screenshot, sign_in, wait_for_app
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
    """Open a selectbox by its label and pick the option whose text starts with `option`. The
    schedule's periodic refresh can redraw the page while the list is open and close it: then
    the list is opened again (at most three times)."""
    wanted = page.get_by_role("option", name=re.compile("^" + re.escape(option))).first
    for attempt in range(3):
        scope.get_by_label(label).click()
        page.keyboard.type(option.split(" · ")[0])  # the list is long and drawn lazily: filter it first
        try:
            wanted.click(timeout=8_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_for_app(page)


# The schedule refreshes every 2 s instead of 30: an app server of its own, started with it.
fast_refresh = pytest.mark.app_env(TODAY_REFRESH_SECONDS="2")


def _go_to(page, day: date) -> None:
    """Step to `day` with the next-day button, as the desk would."""
    shown = today_in(NY)
    while shown < day:
        page.get_by_role("button", name="▶", exact=True).click()
        shown += timedelta(days=1)
        page.get_by_role("heading", name=f"Downtown · {shown:%a} {shown.day} {shown:%b}").wait_for()
        wait_for_app(page)  # a click while the page is still drawing could land on a button being replaced


def _updated_at(page) -> str:
    return page.get_by_text(re.compile(r"updated \d\d:\d\d:\d\d")).inner_text()


@pytest.mark.e2e
def test_front_desk_reschedules_an_appointment_through_the_dialog(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    page.get_by_role("heading", name=re.compile(r"^Downtown · ")).wait_for()
    _go_to(page, day)

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


@pytest.mark.e2e
@fast_refresh
def test_two_desks_stay_in_step_and_a_refresh_keeps_an_open_dialog(app_server, browser, page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    _go_to(page, day)
    other = new_context(browser).new_page()
    try:
        sign_in(other, app_server.url, "frontdesk", PASSWORD)
        _go_to(other, day)
        _choose(other, other, "Appointment", "10:00–10:30 · Ada Lovelace")
        other.get_by_role("button", name="Confirm").click()  # a day ahead: confirming, not checking in
        other.get_by_text("1 confirmed").wait_for()
    finally:
        other.context.close()
    page.get_by_text("1 confirmed").wait_for()  # the first screen catches up by itself

    _choose(page, page, "Appointment", "10:00–10:30 · Ada Lovelace")
    page.get_by_role("button", name="Cancel…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("Customer called")
    before = _updated_at(page)
    page.wait_for_function(
        "before => ![...document.querySelectorAll('p')].some(p => p.innerText.includes(before))", arg=before
    )  # the schedule behind the dialog has refreshed
    expect(dialog.get_by_label("Reason")).to_have_value("Customer called")
    dialog.get_by_role("button", name="Cancel appointment").click()
    dialog.wait_for(state="detached")
    page.get_by_text(re.compile(r"Cancelled Ada Lovelace's 10:00–10:30 appointment")).wait_for()
    # Cancelled while "Show cancelled" is off: it left the list, and the box in the browser is empty.
    expect(page.get_by_role("combobox", name="Appointment")).to_have_value("")
    expect(page.get_by_role("button", name="Cancel…")).to_have_count(0)


def _open_book_dialog(page, customer_query: str, time_label: str):
    """Open Book, pick a 15-minute follow-up for the one customer found, Dr. Rao and a time."""
    page.get_by_role("button", name="Book", exact=True).click()
    dialog = page.get_by_role("dialog")
    _choose(page, dialog, "Appointment type", "Follow-up (15 min)")
    wait_for_app(page)
    dialog.get_by_label("Name, phone or email").fill(customer_query)
    dialog.get_by_label("Name, phone or email").press("Enter")
    wait_for_app(page)
    _choose(page, dialog, "Provider", "Dr. Rao")
    wait_for_app(page)
    _choose(page, dialog, re.compile(r"^Time \(\d+ free\)"), time_label)
    wait_for_app(page)
    return dialog


@pytest.mark.e2e
def test_two_desks_book_the_same_slot_and_the_second_is_told_it_was_just_taken(app_server, browser, page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    _go_to(page, day)
    other = new_context(browser).new_page()
    other.context.set_default_timeout(20_000)
    try:
        sign_in(other, app_server.url, "manager", PASSWORD)
        _go_to(other, day)
        first = _open_book_dialog(page, "Turing", "11:00–11:15 · Dr. Rao")
        second = _open_book_dialog(other, "Lovelace", "11:00–11:15 · Dr. Rao")
        screenshot(other, "book_dialog_before")

        first.get_by_role("button", name="Book", exact=True).click()
        first.wait_for(state="detached")
        page.get_by_text(re.compile(r"Booked Follow-up on .* at 11:00")).wait_for()

        second.get_by_role("button", name="Book", exact=True).click()
        second.get_by_text("11:00 with Dr. Rao was just taken: pick another time.").wait_for()
        expect(second.get_by_role("combobox", name=re.compile(r"^Time \(\d+ free\)"))).to_have_value("")
        expect(second.get_by_role("button", name="Book", exact=True)).to_be_disabled()
        screenshot(other, "book_dialog_taken")
    finally:
        other.context.close()
    with read_session() as s:
        booked = s.scalars(select(Appointment).where(Appointment.start_at == local_to_utc(day, time(11), NY))).all()
        assert [a.customer.name for a in booked] == ["Alan Turing"]


@pytest.mark.e2e
def test_the_today_page_on_demo_data_selects_from_the_timeline(app_server, page, monkeypatch):
    monkeypatch.setattr(core.demo.builder, "hash_password", lambda pw, rounds=12: hash_password(pw, rounds=4))
    app_server.seed(lambda: demo.seed_demo(appointments=3000, seed=11, progress=False))
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in(page, app_server.url, "frontdesk", "frontdesk-demo-1")
    day = today_in(NY) + timedelta(days=1)
    while day.weekday() >= 5:  # a working day, opened by a link that names it
        day += timedelta(days=1)
    page.goto(f"{app_server.url}/?date={day.isoformat()}")
    page.get_by_role("heading", name=re.compile(f"{day:%a} {day.day} {day:%b}")).wait_for()
    page.locator(".js-plotly-plot .barlayer .point").first.wait_for()
    wait_for_app(page)
    box = page.get_by_role("combobox", name="Appointment")
    expect(box).to_have_value("")
    bar = page.locator(".js-plotly-plot .barlayer .point").first.bounding_box()
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)  # plotly listens above the bars
    wait_for_app(page)
    expect(box).not_to_have_value("")  # the bar's appointment, picked by a click
    assert re.match(r"^\d\d:\d\d–\d\d:\d\d · ", box.input_value())
    customer = box.input_value().split(" · ")[1]
    page.mouse.move(0, 0)  # no hover label in the picture
    page.set_viewport_size({"width": 1400, "height": 1400})  # the page scrolls inside: show the list too
    wait_for_app(page)
    screenshot(page, "today")
    page.set_viewport_size({"width": 1400, "height": 1000})

    heading = f"Downtown · {day:%a} {day.day} {day:%b}"
    page.get_by_role("button", name="▶", exact=True).click()
    page.get_by_role("heading", name=heading).wait_for(state="detached")
    wait_for_app(page)
    page.go_back()  # the browser's back button returns to the day before
    page.get_by_role("heading", name=heading).wait_for()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(f"date={day.isoformat()}"))

    page.get_by_role("button", name="Book", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name, phone or email").fill(customer)
    dialog.get_by_label("Name, phone or email").press("Enter")
    wait_for_app(page)
    dialog.get_by_label(re.compile(r"^Time \(\d+ free\)")).click()
    page.get_by_role("option").first.click()
    wait_for_app(page)
    fields = dialog.get_by_role("textbox", name=re.compile(r" \*$"))  # required intake questions
    if fields.count():
        expect(dialog.get_by_text(re.compile(r"^To book, fill "))).to_be_visible()
        expect(dialog.get_by_role("button", name="Book", exact=True)).to_be_disabled()
    screenshot(page, "book_dialog")
