"""User-entered text is shown as typed: a customer whose name is Markdown for an image and a
link, and a note that fakes styling, draw no image, no link and no colour on the pages that
show them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from core.base.db import unit_of_work
from core.base.models import Customer
from core.base.tz import local_to_utc
from core.scheduling import booking
from pages.ui import PAGES
from tests.e2e.conftest import sign_in_returning, wait_for_app
from tests.e2e.test_today_e2e import NY, _choose, _next_monday, _open_day, _seed

HOSTILE_NAME = "![t](https://attacker.example/t.png) [Click me](https://attacker.example/login)"
HOSTILE_NOTE = ":red[URGENT: call 555-0199] **now**"


def _hostile(day):
    w = _seed(day)
    with unit_of_work() as s:
        s.get(Customer, w.customers["ada"].id).name = HOSTILE_NAME
    appt_id = next(iter(_appointments(w)))
    booking.add_note(w.actors["frontdesk"], appt_id, note=HOSTILE_NOTE)


def _appointments(w):
    from sqlalchemy import select

    from core.base.db import read_session
    from core.base.models import Appointment

    with read_session() as s:
        return list(s.scalars(select(Appointment.id).where(Appointment.customer_id == w.customers["ada"].id)))


def _text(page) -> str:
    """What a person reads on the page (zero-width spaces that stop auto-linking are invisible)."""
    return page.locator("[data-testid='stMain']").inner_text().replace("\u200b", "")


def _assert_nothing_interpreted(page) -> None:
    assert page.locator("a[href*='attacker']").count() == 0
    assert page.locator("img[src*='attacker']").count() == 0
    assert page.locator("[style*='color'] >> text=URGENT").count() == 0
    assert page.locator("strong >> text=now").count() == 0


@pytest.mark.e2e
def test_hostile_names_and_notes_render_as_plain_text(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _hostile(day))
    _open_day(page, app_server, "frontdesk", day)
    wait_for_app(page)
    _choose(page, page, "Appointment", "10:00–10:30")
    page.get_by_text("Notes:", exact=False).first.wait_for()
    shown = _text(page)
    assert HOSTILE_NAME in shown and HOSTILE_NOTE in shown  # as typed, to the character
    _assert_nothing_interpreted(page)

    page.get_by_label("Name, phone or email").fill("attacker")
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_text("Find a customer").first.wait_for()
    page.locator("[data-testid='stExpander']").first.wait_for()  # the match, its name as the label
    _assert_nothing_interpreted(page)


HOSTILE = {
    "location": "[Downtown](https://attacker.example/location)",
    "provider": '<a href="https://attacker.example/provider">Dr. Rao</a> [Rao](https://attacker.example/p)',
    "type": ":red[Consultation] ![x](https://attacker.example/type.png)",
    "user": "[Admin](https://attacker.example/user) <img src=https://attacker.example/u.png>",
    "reason": "![off](https://attacker.example/off.png) :red[away]",
}
# A link or image source that points at the attacker (a heading's own "#slug" anchor does not).
ATTACKER_ATTRIBUTES = """() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
    .filter(a => /href|src/i.test(a.name) && a.value.includes('attacker') && !a.value.startsWith('#'))
    .map(a => e.outerHTML.slice(0, 200)))"""


def _hostile_everywhere(day):
    """Every kind of name a page shows is hostile, with a past week of history for the metrics
    pages, an open queue item and a time off for the settings pages."""
    from core.base.models import AppointmentType, Location, Provider, TimeOff, User

    w = _seed(day)
    with unit_of_work() as s:
        s.get(Customer, w.customers["ada"].id).name = HOSTILE_NAME
        s.get(Location, w.locations["downtown"].id).name = HOSTILE["location"]
        s.get(Location, w.locations["harbor"].id).name = "~Harbor"  # after it: the admin's first location
        s.get(Provider, w.providers["rao"].id).name = HOSTILE["provider"]
        s.get(AppointmentType, w.types["consult"].id).name = HOSTILE["type"]
        s.get(User, w.users["admin"].id).name = HOSTILE["user"]
        start = local_to_utc(day + timedelta(days=1), time(9), NY)
        s.add(TimeOff(provider_id=w.providers["rao"].id, start_at=start, end_at=start + timedelta(hours=1),
                      reason=HOSTILE["reason"]))  # fmt: skip
    appt_id = next(iter(_appointments(w)))
    booking.add_note(w.actors["frontdesk"], appt_id, note=HOSTILE_NOTE)
    last_monday = day - timedelta(days=14)  # a full week in the past: the KPI page's default week
    for hour, outcome in ((10, booking.complete), (11, booking.mark_no_show)):
        start = local_to_utc(last_monday, time(hour), NY)
        done = booking.book(w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
                            customer_id=w.customers["ada"].id, start=start, provider_id=w.providers["rao"].id,
                            intake={"reason": HOSTILE_NOTE}, now=start - timedelta(days=2))  # fmt: skip
        if outcome is booking.complete:
            booking.check_in(w.actors["frontdesk"], done.appointment.id, now=start)
        outcome(w.actors["frontdesk"], done.appointment.id, now=start + timedelta(minutes=40))
    from core.queue import detect

    detect.detect_all(now=datetime.now(UTC))


# Each page's own heading, where it is not the page's title in the navigation.
HEADINGS = {"queue": "Exceptions queue", "import": "Import history"}


@pytest.mark.e2e
def test_every_page_shows_hostile_names_as_text(app_server, page):
    day = _next_monday()
    app_server.seed(lambda: _hostile_everywhere(day))
    paths = [spec.url_path for spec in PAGES]  # an admin may open every one
    titles = {spec.url_path: spec.title for spec in PAGES}
    sign_in_returning(page, app_server, "admin", paths[0])
    nav = page.get_by_test_id("stSidebarNav")
    for n, path in enumerate(paths):
        if n:  # the first one is open already; the others through the navigation, as a person would
            link = nav.locator(f"a[href$='/{path}']")
            if not link.is_visible():  # past the first ten: behind the navigation's "View more"
                nav.get_by_role("button", name=re.compile("View .* more")).click()
            link.click()
            page.wait_for_url(f"**/{path}")
            wait_for_app(page)  # the new page's run has ended: the last page's elements are gone
            heading = page.get_by_test_id("stMain").locator("h1").first
            assert HEADINGS.get(path, titles[path]) in heading.inner_text(), path
        assert page.locator("[data-testid='stException']").count() == 0, path
        assert page.evaluate(ATTACKER_ATTRIBUTES) == [], path
        styled = page.locator("[data-testid='stMarkdownContainer'] [style*='color'] >> text=/URGENT|Consultation|away/")
        assert styled.count() == 0, (path, styled.first.evaluate("e => e.outerHTML"))
        assert page.locator("[data-testid='stMain'] strong >> text=now").count() == 0, path
