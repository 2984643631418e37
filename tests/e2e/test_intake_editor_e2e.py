"""An admin opens a type's intake form on the appointment types page in a real browser: the
published version is in the editor, and answering the live preview shows the question that
depends on the answer."""

from __future__ import annotations

from playwright.sync_api import expect

from core.intake import forms
from pages.settings_intake import EXAMPLE
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app
from tests.factories import world


def _seed():
    w = world()
    forms.save_draft(w.actors["admin"], w.types["consult"].id, EXAMPLE)
    forms.publish_form(w.actors["admin"], w.types["consult"].id)
    forms.set_instructions(
        w.actors["admin"], w.types["consult"].id, "Bring your insurance card; arrive 10 minutes early."
    )
    return w


def test_the_preview_asks_the_conditional_question_once_it_applies(app_server, page):
    app_server.seed(_seed)
    page.set_default_timeout(60_000)
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in_returning(page, app_server, "admin")
    page.get_by_role("link", name="Appointment types").click()
    wait_for_app(page)
    page.get_by_label("Appointment type", exact=True).click()
    page.get_by_role("option", name="Consultation").click()
    wait_for_app(page)
    expect(page.get_by_text("Customers answer version 1")).to_be_visible()
    expect(page.get_by_role("textbox", name="Pre-visit instructions")).to_have_value(
        "Bring your insurance card; arrive 10 minutes early."
    )
    uploader = page.get_by_test_id("stFileUploader")
    expect(uploader).to_have_count(0)
    page.get_by_test_id("stRadio").filter(has_text="Do you have a referral letter?").get_by_text("Yes").click()
    wait_for_app(page)
    expect(uploader).to_contain_text("Referral letter")
    expect(page.get_by_text("Still to do before this intake is complete")).to_contain_text("Referral letter")
    screenshot(page, "intake_editor_preview")
    page.get_by_role("button", name="Save draft").scroll_into_view_if_needed()
    screenshot(page, "intake_editor_buttons")
