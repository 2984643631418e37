"""The customer-facing booking-request page in a real browser at a phone's width: a customer books
an instant type without signing in and sees no staff navigation; a held request is confirmed from
the desk's queue; a time taken in the meantime is one sentence; a burst is refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, AppointmentType, ExceptionItem, Inquiry
from core.queue import kinds
from core.security import door
from tests.e2e.conftest import on_a_phone, screenshot, sign_in_returning, wait_for_app
from tests.factories import world


def _seed(instant: bool = True):
    def seed():
        w = world()
        with unit_of_work() as s:
            t = s.get(AppointmentType, w.types["consult"].id)
            t.bookable_online, t.online_instant, t.online_hold_minutes = True, instant, 30
        door.set_open(w.actors["admin"], True)
        return w

    return seed


def _phone_page(page, url: str):
    """`page` at a phone's width, on the request page."""
    on_a_phone(page)
    page.goto(f"{url}/request?location=downtown")
    page.get_by_role("heading", name="Request an appointment").wait_for()
    wait_for_app(page)
    return page


def _fill(page, email: str = "grace@example.test") -> str:
    """Pick the first free time of the second day offered and fill the form; returns the time's
    label. Not the first day: on today, the first free time can pass while the test runs."""
    page.get_by_role("combobox", name="Day").click()
    page.get_by_role("option").nth(1).click()
    wait_for_app(page)
    time_button = page.get_by_role("radiogroup", name="Time").get_by_role("radio").first
    label = time_button.inner_text()
    time_button.click()
    wait_for_app(page)
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Reason for visit").fill("check-up")
    return label


@pytest.mark.e2e
def test_a_customer_books_an_instant_type_on_a_phone_without_signing_in(app_server, page):
    app_server.seed(_seed(instant=True))
    _phone_page(page, app_server.url)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_have_count(0)
    label = _fill(page)
    screenshot(page, "public-request-phone-form")
    page.get_by_role("button", name="Book", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"You are booked: Consultation on .* at " + label))).to_be_visible()
    screenshot(page, "public-request-phone-booked")
    with read_session() as s:
        inq = s.scalars(select(Inquiry)).one()
        assert inq.channel == "web" and s.get(Appointment, inq.appointment_id).source == "web"


NOT_IN_A_TOAST = ":not([data-testid='stToastText'] *)"


@pytest.mark.e2e
def test_a_held_request_is_confirmed_from_the_desk_queue(app_server, page, other_page):
    app_server.seed(_seed(instant=False))
    customer = _phone_page(other_page, app_server.url)
    _fill(customer)
    customer.get_by_role("button", name="Send request").click()
    wait_for_app(customer)
    expect(customer.get_by_text(re.compile(r"is held for you until"))).to_be_visible()
    customer.goto("about:blank")  # the customer leaves
    sign_in_returning(page, app_server, "frontdesk")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(r"^Queue")).click()
    page.get_by_text(re.compile(r"Booking request · Grace Hopper")).wait_for()
    page.get_by_role("button", name="Confirm the request").first.click(timeout=90_000)
    in_place = page.get_by_text("Grace Hopper · confirm the request").and_(page.locator(NOT_IN_A_TOAST))
    expect(in_place).to_be_visible(timeout=30_000)  # its place (the toast says it too)
    screenshot(page, "queue-booking-request-confirmed")
    with read_session() as s:
        assert s.scalars(select(Inquiry)).one().held_until is None
        item = s.scalar(select(ExceptionItem).where(ExceptionItem.kind == kinds.BOOKING_REQUEST))
        assert item.status == "resolved"


@pytest.mark.e2e
def test_a_time_taken_meanwhile_is_one_sentence_and_a_burst_is_refused(app_server, page, other_page):
    app_server.seed(_seed(instant=True))
    _phone_page(page, app_server.url)
    _fill(page)
    other = _phone_page(other_page, app_server.url)  # another customer takes the same first time, twice
    for email in ("one@example.test", "two@example.test"):
        _fill(other, email)
        other.get_by_role("button", name="Book", exact=True).click()
        wait_for_app(other)
        other.get_by_role("button", name="Request another appointment").click()
        wait_for_app(other)
    page.get_by_role("button", name="Book", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("Sorry, that time was taken a moment ago. Please choose another time.")).to_be_visible()
    screenshot(page, "public-request-slot-gone")
    for _ in range(3):  # 3 + the 2 above + this page's 1: the 6th request in the minute from 127.0.0.1
        page.get_by_role("button", name="Book", exact=True).click()
        wait_for_app(page)
    expect(page.get_by_text("Too many requests from your connection: try again in a minute.")).to_be_visible()
    with read_session() as s:
        assert len(s.scalars(select(Inquiry)).all()) == 2
