"""The front desk's working screen in a real browser: sign in, reschedule through the dialog and
see the appointment at its new time; two screens stay in step; a refresh keeps an open dialog."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlalchemy import select

from core import demo
from core.base.db import read_session
from core.base.models import Appointment, User
from core.base.tz import local_to_utc, today_in
from core.scheduling import availability, booking, schedule
from core.security.access import actor_for
from tests.e2e.conftest import screenshot, sign_in, sign_in_returning, wait_for_app
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


def _go_to(page, base_url: str, day: date) -> None:
    """Open `day` by the link that names it (as a bookmark or the back button does). Stepping there
    with the next-day button took 7 to 13 clicks, as many as the weekday of today asked for, each
    waiting for the page to settle; the button itself is driven in the timeline test."""
    page.goto(f"{base_url}/?date={day.isoformat()}")
    page.get_by_role("heading", name=f"Downtown · {day:%a} {day.day} {day:%b}").wait_for()
    wait_for_app(page)


def _open_day(page, app_server, username: str, day: date) -> None:
    """`_go_to` as a returning user: signed in by an earlier visit's cookie, straight to `day`."""
    sign_in_returning(page, app_server, username, f"?date={day.isoformat()}")
    page.get_by_role("heading", name=f"Downtown · {day:%a} {day.day} {day:%b}").wait_for()


def _updated_at(page) -> str:
    return page.get_by_text(re.compile(r"updated \d\d:\d\d:\d\d")).inner_text()


@pytest.mark.e2e
def test_front_desk_reschedules_an_appointment_through_the_dialog(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    page.get_by_role("heading", name=re.compile(r"^Downtown · ")).wait_for()
    _go_to(page, app_server.url, day)

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
def test_two_desks_stay_in_step_and_a_refresh_keeps_an_open_dialog(app_server, page, other_page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    _open_day(page, app_server, "frontdesk", day)
    other = other_page
    _open_day(other, app_server, "frontdesk", day)
    _choose(other, other, "Appointment", "10:00–10:30 · Ada Lovelace")
    other.get_by_role("button", name="Confirm").click()  # a day ahead: confirming, not checking in
    other.get_by_text("1 confirmed").wait_for()
    other.goto("about:blank")  # the other desk leaves
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
def test_two_desks_book_the_same_slot_and_the_second_is_told_it_was_just_taken(app_server, page, other_page):
    day = _next_monday()
    app_server.seed(lambda: _seed(day))
    _open_day(page, app_server, "frontdesk", day)
    other = other_page
    _open_day(other, app_server, "manager", day)
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
    with read_session() as s:
        booked = s.scalars(select(Appointment).where(Appointment.start_at == local_to_utc(day, time(11), NY))).all()
        assert [a.customer.name for a in booked] == ["Alan Turing"]


def _a_day_to_book_on_demo_data() -> tuple[date, list[str]]:
    """The first day after today whose timeline at the demo front desk's location has appointments
    and whose Book dialog, as it opens (the first type, any provider), offers free times, read
    through core as that desk; with the labels of that type's required intake questions. The demo
    fills the days close to its `now` (the real today) unevenly, so a fixed "tomorrow" is full on
    some dates."""
    with read_session() as s:
        actor = actor_for(s.scalars(select(User).where(User.username == "frontdesk")).one())
    location = schedule.default_location(actor, schedule.visible_locations(actor))
    first_type = schedule.appointment_types(actor)[0]
    day = today_in(location.timezone) + timedelta(days=1)
    for _ in range(21):
        if schedule.day_schedule(actor, location.id, day).active_rows and availability.find_slots(
            actor, type_id=first_type.id, location_id=location.id, date_from=day, date_to=day, limit=1
        ):
            required = [f.get("label") or f["name"] for f in first_type.intake_fields if f.get("required")]
            return day, required
        day += timedelta(days=1)
    pytest.fail(f"The demo data has no day with appointments and a free {first_type.name} in the three weeks ahead.")


@pytest.mark.e2e
def test_the_today_page_on_demo_data_selects_from_the_timeline(app_server, page):
    app_server.seed(lambda: demo.seed_demo(appointments=3000, seed=11, progress=False, password_rounds=4))
    day, required = _a_day_to_book_on_demo_data()
    assert required, "the check of the required intake needs a first type that asks for some"
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in_returning(page, app_server, "frontdesk", f"?date={day.isoformat()}")
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
    # The type's required intake questions are starred and named while empty.
    expect(dialog.get_by_role("textbox", name=re.compile(r" \*$"))).to_have_count(len(required))
    for label in required:
        expect(dialog.get_by_role("textbox", name=f"{label} *")).to_be_visible()
    expect(dialog.get_by_text(f"To book, fill {', '.join(required)}.")).to_be_visible()
    screenshot(page, "book_dialog")
    # Typed into and clicked at once, with no blur first: the one click books (issue 31 item 10).
    for label in required:
        dialog.get_by_role("textbox", name=f"{label} *").fill("None")
    dialog.get_by_role("button", name="Book", exact=True).click()
    dialog.wait_for(state="detached")
    page.get_by_text(re.compile(r"^Booked ")).first.wait_for()
