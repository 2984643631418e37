"""Correcting a customer's details in a real browser: the front desk finds Ada, changes her email
in her panel, reads what will change, saves, and the database has it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import Customer
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app
from tests.factories import world


@pytest.mark.e2e
def test_front_desk_corrects_a_customers_email_after_reviewing_the_change(app_server, page):
    w = app_server.seed(world)
    ada_id = w.customers["ada"].id
    sign_in_returning(page, app_server, "frontdesk")
    page.get_by_role("heading", name=re.compile(r"^Downtown · ")).wait_for()
    page.get_by_label("Find a customer by name, phone or email").fill("ada")
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.locator("[data-testid='stExpander']").first.click()
    wait_for_app(page)
    email = page.get_by_label("Email", exact=True)
    email.fill("ada.king@example.test")
    page.get_by_role("button", name="Review changes").click()
    wait_for_app(page)
    expect(page.get_by_text("Will change:")).to_be_visible()
    page.get_by_role("button", name="Save changes").scroll_into_view_if_needed()
    screenshot(page, "customer_edit_review")
    page.get_by_role("button", name="Save changes").click()
    wait_for_app(page)
    page.get_by_text(re.compile(r"Saved .*'s details\.")).wait_for()
    with read_session() as s:
        assert s.scalar(select(Customer.email).where(Customer.id == ada_id)) == "ada.king@example.test"
