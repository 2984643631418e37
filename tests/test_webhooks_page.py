"""The Webhooks page (AppTest): add an endpoint and see its secret once, switch it off, rotate
with a confirmation, the delivery log with one delivery's payload and a confirmed replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core.base.db import unit_of_work
from core.webhooks import endpoints, log
from core.webhooks.models import WebhookDelivery
from pages import ui
from pages.ui import USER_KEY
from tests.factories import NOW, at, book, world

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _page(user_id: int) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[USER_KEY] = user_id
    app.run()
    return app.switch_page("pages/webhooks.py").run()


def _button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def test_adding_an_endpoint_shows_its_secret_once(sqlite_db):
    w = world()
    app = _page(w.users["admin"].id)
    assert not app.exception and [t.value for t in app.title] == ["Webhooks"]
    assert "No endpoints yet" in app.info[0].value
    app.text_input[0].input("https://crm.example.com/hooks")
    app.text_input[1].input("Our CRM")
    next(b for b in app.button if b.label == "Add endpoint").click().run()
    assert not app.exception
    (shown,) = [c.value for c in app.code]
    assert shown.startswith("whsec_")
    table = app.dataframe[0].value
    assert list(table["URL"]) == ["https://crm.example.com/hooks"] and shown not in table.to_csv()
    _button(app, "I have copied it").click().run()
    assert not app.code  # gone for good


def test_switching_off_and_rotating_ask_nothing_or_confirm_first(sqlite_db):
    w = world()
    _, first = endpoints.add_endpoint(w.actors["admin"], "https://crm.example.com/x", "appointment.booked", now=NOW)
    app = _page(w.users["admin"].id)
    _button(app, "Switch off").click().run()
    assert not app.exception and not endpoints.list_endpoints(w.actors["admin"])[0].enabled
    _button(app, "Rotate secret…").click().run()
    assert not app.code  # nothing rotated before the confirmation
    _button(app, "Rotate").click().run()
    assert not app.exception
    (shown,) = [c.value for c in app.code]
    assert shown.startswith("whsec_") and shown != first


def test_the_log_shows_a_delivery_and_replays_it_after_a_confirmation(sqlite_db):
    w = world()
    endpoints.add_endpoint(w.actors["admin"], "https://crm.example.com/x", "appointment.booked", now=NOW)
    book(w, at(10))
    with unit_of_work() as s:  # as if every retry had failed
        s.execute(update(WebhookDelivery).values(status="exhausted", attempts=10))
    app = _page(w.users["admin"].id)
    assert not app.exception
    assert list(app.dataframe[1].value["Event"]) == ["appointment.booked"]
    assert app.json and '"appointment.booked"' in str(app.json[0].value)  # the payload
    _button(app, "Replay this delivery…").click().run()
    assert log.deliveries(w.actors["admin"])[0].status == "exhausted"  # asked first
    _button(app, "Replay").click().run()
    assert not app.exception
    (d,) = log.deliveries(w.actors["admin"])
    assert d.status == "pending" and d.attempts == 0


@pytest.mark.parametrize("role", ["manager", "frontdesk", "analyst"])
def test_only_admins_have_the_page(sqlite_db, role):
    w = world()
    assert "Webhooks" not in [p.title for p in ui.allowed_pages(w.actors[role])]
    assert "Webhooks" in [p.title for p in ui.allowed_pages(w.actors["admin"])]
