"""An admin adds a CRM endpoint in a real browser, copies the secret shown once, and reads the
delivery log with one delivery's attempts."""

from __future__ import annotations

from datetime import time, timedelta

from playwright.sync_api import expect

from core.base.clock import utcnow
from core.base.tz import local_to_utc, today_in
from core.scheduling import booking
from core.webhooks import endpoints, sender
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app
from tests.factories import world
from tests.webhook_receiver import Receiver

NY = "America/New_York"


def _seed(receiver: Receiver):
    w = world()
    _, secret = endpoints.add_endpoint(w.actors["admin"], receiver.url, "appointment.booked", description="Local CRM")
    receiver.secrets.append(secret)
    soon = today_in(NY) + timedelta(days=7)
    day = soon + timedelta(days=(1 - soon.weekday()) % 7)  # a Tuesday
    booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers["ada"].id, start=local_to_utc(day, time(10), NY), provider_id=w.providers["rao"].id,
        intake={"reason": "check-up"},
    )  # fmt: skip
    sender.deliver_due(utcnow())
    return w


def test_an_admin_adds_an_endpoint_and_reads_the_delivery_log(app_server, page, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_NETWORK", "1")
    receiver = Receiver().start()
    try:
        app_server.seed(lambda: _seed(receiver))
        assert len(receiver.received) == 1 and receiver.unverified == []
        sign_in_returning(page, app_server, "admin", "webhooks")
        expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
        page.get_by_text("Add an endpoint").click()
        page.get_by_label("URL").fill("https://crm.example.com/hooks")
        page.get_by_label("Description").fill("Our CRM")
        page.get_by_role("button", name="Add endpoint").click()
        wait_for_app(page)
        expect(page.get_by_text("Copy the signing secret now")).to_be_visible()
        expect(page.get_by_text("whsec_")).to_be_visible()
        screenshot(page, "webhooks")
        page.get_by_role("button", name="I have copied it").click()
        wait_for_app(page)
        expect(page.get_by_text("whsec_")).to_have_count(0)
        page.get_by_text("Show delivery").scroll_into_view_if_needed()
        expect(page.get_by_text("appointment.booked · delivered · to")).to_be_visible()  # one delivery's detail
        page.get_by_role("heading", name="Delivery log").scroll_into_view_if_needed()
        screenshot(page, "webhooks-log")
    finally:
        receiver.stop()
