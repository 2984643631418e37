"""User-entered text is shown as typed: a customer whose name is Markdown for an image and a
link, and a note that fakes styling, draw no image, no link and no colour on the pages that
show them."""

from __future__ import annotations

import re

import pytest

from core.base.db import unit_of_work
from core.base.models import Customer
from core.scheduling import booking
from tests.e2e.conftest import sign_in, wait_for_app
from tests.e2e.test_today_e2e import _choose, _go_to, _next_monday, _seed
from tests.factories import PASSWORD

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
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    page.get_by_role("heading", name=re.compile(r"^Downtown · ")).wait_for()
    _go_to(page, day)
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
