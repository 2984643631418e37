"""The customer's intake link in a real browser at a phone's width: a new patient opens the link
from their confirmation, answers the conditional questions, saves for later, comes back by the
same link, uploads an insurance card, signs the consent and finishes; the desk then sees the
intake complete in the appointment dialog, and the queue's "intake missing" never opens."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import Appointment, ConsentRecord, ExceptionItem, IntakeFile
from core.base.tz import local_to_utc, today_in
from core.queue import detect, kinds
from core.scheduling import booking
from core.security import door, links
from tests.e2e.conftest import on_a_phone, screenshot, sign_in_returning, wait_for_app
from tests.factories import world
from tests.intake_fixtures import PNG, publish

NY = "America/New_York"


def _next_monday() -> date:
    soon = today_in(NY) + timedelta(days=7)
    return soon + timedelta(days=(7 - soon.weekday()) % 7)


def _seed(day: date):
    def seed():
        w = world()
        publish(w)
        door.set_open(w.actors["admin"], True)
        appt = booking.book(
            w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
            customer_id=w.customers["ada"].id, start=local_to_utc(day, time(10), NY),
            provider_id=w.providers["rao"].id, intake={"reason": "check-up"},
        ).appointment  # fmt: skip
        return appt.id, appt.start_at, appt.end_at

    return seed


def _phone(page, url: str):
    """`page` at a phone's width, on the intake link."""
    on_a_phone(page)
    page.goto(url)
    page.get_by_role("heading", name="Before your visit").wait_for()
    wait_for_app(page)
    return page


@pytest.mark.e2e
def test_a_new_patient_fills_in_uploads_signs_comes_back_and_finishes_on_a_phone(app_server, page, other_page, tmp_path,
                                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setenv("AUTH_COOKIE_KEY", app_server.cookie_key)  # the server's key signs its links
    day = _next_monday()
    appt_id, start, end = app_server.seed(_seed(day))
    url = f"{app_server.url}/intake?t={links.intake_token(appt_id, end)}"

    first = _phone(other_page, url)  # the patient's phone
    expect(first.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(first.get_by_text("Downtown, 1 Main St")).to_be_visible()
    expect(first.get_by_label(re.compile("^Referred by"))).to_have_count(0)  # shown only with a referral
    first.get_by_label(re.compile("^Full name")).fill("Ada Lovelace")
    first.get_by_label(re.compile("^Age")).fill("36")
    first.get_by_label(re.compile("^Age")).press("Enter")
    wait_for_app(first)
    first.get_by_role("radiogroup", name=re.compile("^Do you have a referral")).get_by_text("Yes").click()
    wait_for_app(first)
    first.get_by_label(re.compile("^Referred by")).fill("Dr. Okafor")
    first.get_by_label(re.compile("^Referred by")).press("Enter")
    wait_for_app(first)
    screenshot(first, "intake-phone-part")
    first.get_by_role("button", name="Save for later").click()
    wait_for_app(first)
    expect(first.get_by_text(re.compile("Saved. Open the same link any time"))).to_be_visible()
    first.goto("about:blank")  # the patient puts the phone away

    later = _phone(other_page, url)  # another day, the same link on the same phone: what was saved is there
    expect(later.get_by_label(re.compile("^Full name"))).to_have_value("Ada Lovelace")
    expect(later.get_by_label(re.compile("^Referred by"))).to_have_value("Dr. Okafor")
    card = tmp_path / "insurance-card.png"
    card.write_bytes(PNG)
    later.locator("input[type=file]").set_input_files(str(card))
    wait_for_app(later)
    later.get_by_text("I have read this and agree").click()
    wait_for_app(later)
    later.get_by_label("Type your full name to sign").fill("Ada Lovelace")
    later.get_by_label("Type your full name to sign").press("Enter")
    wait_for_app(later)
    screenshot(later, "intake-phone-before-finish")
    later.get_by_role("button", name="Finish").click()
    wait_for_app(later)
    expect(later.get_by_text("Thank you: your intake form is complete. See you soon.")).to_be_visible()
    screenshot(later, "intake-phone-complete")
    later.goto("about:blank")

    with read_session() as s:
        assert s.get(Appointment, appt_id).intake_complete
        assert s.scalar(select(IntakeFile.name)) == "insurance-card.png"
        signature = s.scalar(select(ConsentRecord))
        assert signature.signed_name == "Ada Lovelace" and signature.signed_by_user_id is None
        assert "Chrome" in (signature.user_agent or "")
    detect.detect_all(start - timedelta(hours=20))  # inside the intake window: nothing to chase
    with read_session() as s:
        assert s.scalar(select(ExceptionItem).where(ExceptionItem.kind == kinds.INTAKE_MISSING)) is None

    sign_in_returning(page, app_server, "frontdesk", f"?date={day.isoformat()}")
    page.get_by_role("heading", name=f"Downtown · {day:%a} {day.day} {day:%b}").wait_for()
    wait_for_app(page)
    page.get_by_label("Appointment").click()
    page.get_by_role("option", name=re.compile("^10:00–10:30 · Ada Lovelace")).first.click()
    wait_for_app(page)
    page.get_by_role("button", name="Edit intake…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Intake: Complete")).to_be_visible()
    expect(dialog.get_by_role("button", name=re.compile("insurance-card.png"))).to_be_visible()
    expect(dialog.get_by_role("button", name="Print (PDF)")).to_be_visible()
    wait_for_app(page)
    screenshot(page, "intake-desk-dialog")
