"""The Weekly KPIs and Utilization pages in a real browser on demo data, as a manager (one
location) and as an analyst (every location): the figures, the charts, the scope, a screenshot
of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import core.demo.builder
from core import demo
from core.base.db import unit_of_work
from core.metrics.rebuild import rebuild_rollups
from core.security.passwords import hash_password
from tests.e2e.conftest import screenshot, sign_in_returning, wait_for_app


def _seed() -> None:
    demo.seed_demo(appointments=3000, seed=11, progress=False)
    with unit_of_work() as session:
        rebuild_rollups(session)


@pytest.fixture
def demo_app(app_server, monkeypatch):
    monkeypatch.setattr(core.demo.builder, "hash_password", lambda pw, rounds=12: hash_password(pw, rounds=4))
    app_server.seed(_seed)
    return app_server


def _open(page, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_text("Signed in as").wait_for()
    wait_for_app(page)


@pytest.mark.e2e
@pytest.mark.parametrize("username", ["manager", "analyst"])
def test_insights_pages_in_the_browser(demo_app, page, username):
    page.set_viewport_size({"width": 1400, "height": 2300})
    page.set_default_timeout(90_000)
    sign_in_returning(page, demo_app, username, "kpis")
    expect(page.get_by_role("heading", name="Weekly KPIs")).to_be_visible()
    expect(page.locator("[data-testid='stMetric']", has_text="No-show rate")).to_be_visible()
    expect(page.get_by_text("Last 12 weeks")).to_be_visible()
    page.locator(".js-plotly-plot").first.wait_for()
    page.get_by_role("tab", name="By location").click()
    screenshot(page, f"kpis_{username}")

    _open(page, demo_app.url, "utilization")
    expect(page.get_by_role("heading", name="Utilization", exact=True)).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    location = page.get_by_role("combobox", name="Location")
    location.click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    if username == "manager":
        assert options == ["Downtown"]  # the demo manager's one location
    else:
        assert len(options) > 1
    wait_for_app(page)
    screenshot(page, f"utilization_{username}")
