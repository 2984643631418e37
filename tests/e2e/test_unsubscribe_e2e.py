"""The unsubscribe link of a real email in a real browser at a phone's width: the customer opens
the URL from the List-Unsubscribe header of a composed confirmation, presses "Unsubscribe" and
reads the sentence; no staff navigation, and it works while the door is switched off. A tampered
link is one sentence, with no button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.base.db import read_session
from core.notifications.models import NotificationOptOut
from core.security import door
from core.security.links import INVALID
from tests.e2e.conftest import on_a_phone, screenshot, wait_for_app
from tests.factories import world
from tests.mail_servers import unsubscribe_header


@pytest.mark.e2e
def test_a_customer_unsubscribes_from_a_real_emails_link_on_a_phone(app_server, page, monkeypatch):
    monkeypatch.setenv("AUTH_COOKIE_KEY", app_server.cookie_key)  # the server's key signs its links
    w = app_server.seed(world)
    assert not door.is_open()
    url = unsubscribe_header(monkeypatch, w, app_server.url)
    on_a_phone(page)

    page.goto(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    expect(page.get_by_text(INVALID)).to_be_visible()
    expect(page.get_by_role("button", name="Unsubscribe")).to_have_count(0)

    page.goto(url)
    page.get_by_role("heading", name="Unsubscribe").wait_for()
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    screenshot(page, "unsubscribe-phone")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("Done: we will send you no more emails about your appointments.")).to_be_visible()
    screenshot(page, "unsubscribe-phone-done")
    with read_session() as s:
        assert s.get(NotificationOptOut, (w.customers["ada"].id, "email")) is not None
