"""The exceptions queue in a real browser: a front-desk user sees the open count in the
navigation, fixes an item with its inline action, and sees the count go down."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, ExceptionItem
from core.base.tz import local_to_utc, today_in
from core.queue import kinds
from core.queue.items import raise_item
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app
from tests.factories import world


def _seed() -> dict:
    w = world()
    ids = {}
    monday = today_in("America/New_York") + timedelta(days=1)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    with unit_of_work() as s:
        for n, customer in enumerate(("ada", "alan")):
            start = local_to_utc(monday, time(10 + n), "America/New_York")  # inside Dr. Rao's hours
            appt = Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                               type_id=w.types["consult"].id, customer_id=w.customers[customer].id, start_at=start,
                               end_at=start + timedelta(minutes=30), block_start=start,
                               block_end=start + timedelta(minutes=30))  # fmt: skip
            s.add(appt)
            s.flush()
            item, _ = raise_item(s, kind=kinds.UNCONFIRMED, dedupe_key=kinds.key(kinds.UNCONFIRMED, appt.id),
                                 now=datetime.now(UTC), location_id=appt.location_id, appointment_id=appt.id,
                                 provider_id=appt.provider_id)  # fmt: skip
            ids[customer] = (appt.id, item.id)
    return ids


@pytest.mark.e2e
def test_front_desk_fixes_an_item_and_the_count_goes_down(app_server, page):
    ids = app_server.seed(_seed)
    sign_in_returning(page, app_server, "frontdesk")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=re.compile(r"^Queue \(2\)")).click()
    page.get_by_role("heading", name="Exceptions queue").wait_for()
    page.get_by_text("Unconfirmed · Ada Lovelace").wait_for()  # most urgent first: Ada's is the sooner
    # The chart above draws last and moves the cards down; the click waits for them to settle.
    page.get_by_role("button", name="Confirmed after a call").first.click(timeout=90_000)
    expect(nav.get_by_role("link", name=re.compile(r"^Queue \(1\)"))).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Ada Lovelace · confirmed after a call.")).to_be_visible(timeout=30_000)  # the toast
    expect(page.get_by_role("button", name="Undo")).to_be_visible()  # her card's place keeps its line
    screenshot(page, "queue-after-fix")
    appt_id, item_id = ids["ada"]
    with read_session() as s:
        assert s.get(Appointment, appt_id).status == "confirmed"
        item = s.get(ExceptionItem, item_id)
        assert (item.status, item.resolution) == ("resolved", "Fixed: Confirmed after a call")


@pytest.mark.e2e
def test_the_navigation_count_is_current_right_after_resolve(app_server, page):
    """Issue 31 item 7: the dialog's Resolve ends in the same run as the count the navigation
    shows, with no other click needed."""
    app_server.seed(_seed)
    sign_in_returning(page, app_server, "frontdesk")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=re.compile(r"^Queue \(2\)")).click()
    page.get_by_text("Unconfirmed · Ada Lovelace").wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Resolve…").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Handled outside the app").click()
    dialog.get_by_role("button", name="Resolve", exact=True).click()
    dialog.wait_for(state="detached")
    expect(page.get_by_text("Resolved: Ada Lovelace.")).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile(r"^Queue \(1\)"))).to_be_visible()


@pytest.mark.e2e
def test_the_navigation_count_follows_a_confirm_on_the_today_page(app_server, page):
    """Issue 31 item 7: confirming on the today page (an action inside its refreshing fragment)
    clears the unconfirmed item, and the navigation and the page's queue line say so at once."""
    app_server.seed(_seed)
    monday = today_in("America/New_York") + timedelta(days=1)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    sign_in_returning(page, app_server, "frontdesk", f"?date={monday.isoformat()}")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=re.compile(r"^Queue \(2\)")).wait_for()
    page.get_by_role("heading", name=f"Downtown · {monday:%a} {monday.day} {monday:%b}").wait_for()
    wait_for_app(page)
    page.get_by_label("Appointment").click()
    page.get_by_role("option", name=re.compile(r"^10:00–10:30 · Ada Lovelace")).click()
    wait_for_app(page)
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_text("Ada Lovelace confirmed.").first).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile(r"^Queue \(1\)"))).to_be_visible()
    expect(page.get_by_text("Exceptions queue: 1 open item")).to_be_visible()
