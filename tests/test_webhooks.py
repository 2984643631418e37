"""Webhook endpoints (secrets shown once, stored encrypted, never audited) and the deliveries
booking's events write in their own transaction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.errors import PermissionDenied, ValidationError
from core.scheduling import booking
from core.webhooks import endpoints
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import NOW, at, audit_rows, book, world

ALL_APPOINTMENT_EVENTS = "appointment.booked,appointment.rescheduled,appointment.cancelled,appointment.checked_in"


@pytest.fixture
def local_network(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_NETWORK", "1")
    reset_settings()


def _deliveries(**equals) -> list[WebhookDelivery]:
    with read_session() as s:
        q = select(WebhookDelivery).order_by(WebhookDelivery.id)
        for k, v in equals.items():
            q = q.where(getattr(WebhookDelivery, k) == v)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(db):
    w = world()
    view, secret = endpoints.add_endpoint(
        w.actors["admin"], "https://crm.example.com/hooks", "appointment.booked, appointment.cancelled",
        description="Our CRM", now=NOW,
    )  # fmt: skip
    assert secret.startswith("whsec_") and len(secret) > 40
    assert view.event_types == ("appointment.booked", "appointment.cancelled") and view.enabled
    with read_session() as s:
        row = s.get(WebhookEndpoint, view.id)
        assert secret not in row.secret_enc and secret[6:] not in row.secret_enc  # encrypted at rest
    listed = endpoints.list_endpoints(w.actors["admin"])
    assert [e.id for e in listed] == [view.id] and secret not in repr(listed)
    (row,) = audit_rows(entity="webhook_endpoint")
    assert secret[6:] not in json.dumps([row.before, row.after]) and row.after["url"] == "https://crm.example.com/hooks"


@pytest.mark.parametrize(
    ("url", "events", "sentence"),
    [
        ("ftp://crm.example.com/x", "appointment.booked", "is not a web address"),
        ("crm.example.com", "appointment.booked", "is not a web address"),
        ("http://crm.example.com/x", "appointment.booked", "https only"),
        ("https://10.0.0.5/x", "appointment.booked", "private or local address"),
        ("https://crm.example.com/x", "appointment.teleported", "Unknown event type 'appointment.teleported'"),
        ("https://crm.example.com/x", " , ", "at least one event type"),
    ],
)
def test_bad_endpoints_are_refused_with_one_sentence_and_nothing_written(sqlite_db, url, events, sentence):
    w = world()
    with pytest.raises(ValidationError, match=sentence):
        endpoints.add_endpoint(w.actors["admin"], url, events, now=NOW)
    with read_session() as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []
    assert audit_rows(entity="webhook_endpoint") == []


def test_only_admins_manage_webhooks(sqlite_db):
    w = world()
    for role in ("manager", "frontdesk", "analyst"):
        with pytest.raises(PermissionDenied):
            endpoints.add_endpoint(w.actors[role], "https://crm.example.com/x", "appointment.booked", now=NOW)
        with pytest.raises(PermissionDenied):
            endpoints.list_endpoints(w.actors[role])


def test_each_appointment_change_writes_one_delivery_per_subscribed_endpoint(db):
    w = world()
    admin = w.actors["admin"]
    crm, _ = endpoints.add_endpoint(admin, "https://crm.example.com/x", ALL_APPOINTMENT_EVENTS, now=NOW)
    only_cancel, _ = endpoints.add_endpoint(admin, "https://ops.example.com/x", "appointment.cancelled", now=NOW)
    off, _ = endpoints.add_endpoint(admin, "https://off.example.com/x", ALL_APPOINTMENT_EVENTS, now=NOW)
    endpoints.set_enabled(admin, off.id, False, now=NOW)
    appt = book(w, at(10)).appointment
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(11), now=NOW)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="customer called", now=NOW + timedelta(minutes=1))
    got = [(d.endpoint_id, d.event_type) for d in _deliveries()]
    assert got == [
        (crm.id, "appointment.booked"),
        (crm.id, "appointment.rescheduled"),
        (crm.id, "appointment.cancelled"),
        (only_cancel.id, "appointment.cancelled"),
    ]
    ids = [d.webhook_id for d in _deliveries()]
    assert len(set(ids)) == 4 and all(i.startswith("msg_") for i in ids)
    moved = json.loads(_deliveries(event_type="appointment.rescheduled")[0].body)
    assert moved["type"] == "appointment.rescheduled" and moved["version"] == 1
    assert moved["data"]["changes"]["start"]["from"]["utc"] == at(10).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert moved["data"]["appointment"]["start"]["local"] == "2030-01-07T11:00:00-05:00"
    cancelled = json.loads(_deliveries(endpoint_id=crm.id, event_type="appointment.cancelled")[0].body)
    assert cancelled["data"]["changes"]["status"] == {"from": "booked", "to": "cancelled"}
    assert cancelled["data"]["late"] is False and cancelled["data"]["by"] == "staff"


def test_a_refused_booking_writes_no_delivery(sqlite_db):
    w = world()
    endpoints.add_endpoint(w.actors["admin"], "https://crm.example.com/x", "appointment.booked", now=NOW)
    book(w, at(10))
    with pytest.raises(Exception):  # noqa: B017, PT011 - the overlap refusal; what matters is the outbox
        book(w, at(10), customer="alan")
    assert len(_deliveries()) == 1


@pytest.mark.parametrize(
    ("level", "customer"),
    [
        ("none", {"id": None}),
        ("names", {"id": None, "name": "Ada Lovelace"}),
        ("contacts", {"id": None, "name": "Ada Lovelace", "email": "ada@example.test", "phone": "+12125550100"}),
    ],
)
def test_a_payload_says_no_more_about_the_customer_than_the_endpoint_allows(sqlite_db, level, customer):
    w = world()
    endpoints.add_endpoint(
        w.actors["admin"], "https://crm.example.com/x", "appointment.booked", personal_data=level, now=NOW
    )
    book(w, at(10))
    body = json.loads(_deliveries()[0].body)
    assert body["data"]["appointment"]["customer"] == {**customer, "id": w.customers["ada"].id}
    assert body["data"]["appointment"]["provider"]["name"] == w.providers["rao"].name


def test_rotating_a_secret_is_audited_without_it(sqlite_db):
    w = world()
    view, first = endpoints.add_endpoint(w.actors["admin"], "https://crm.example.com/x", "appointment.booked", now=NOW)
    second = endpoints.rotate_secret(w.actors["admin"], view.id, now=NOW)
    assert second != first and second.startswith("whsec_")
    with read_session() as s:
        row = s.get(WebhookEndpoint, view.id)
        assert endpoints.signing_secrets(row, NOW) == [second, first]
        assert endpoints.signing_secrets(row, NOW + timedelta(hours=24, seconds=1)) == [second]
    text = json.dumps([(r.before, r.after, r.reason) for r in audit_rows(entity="webhook_endpoint")])
    assert first[6:] not in text and second[6:] not in text and "secret rotated" in text


def test_a_new_customer_is_sent_with_no_more_than_the_endpoint_allows(sqlite_db):
    from core.people import customers

    w = world()
    endpoints.add_endpoint(
        w.actors["admin"], "https://crm.example.com/x", "customer.created", personal_data="names", now=NOW
    )
    c = customers.create_customer(
        w.actors["frontdesk"], name="Grace Hopper", email="grace@example.test", location_id=w.locations["downtown"].id
    )
    (d,) = _deliveries()
    body = json.loads(d.body)
    assert body["type"] == "customer.created" and d.subject == f"customer:{c.id}"
    assert body["data"]["customer"] == {
        "id": c.id, "name": "Grace Hopper", "home_location": {"id": w.locations["downtown"].id, "name": "Downtown"},
    }  # fmt: skip


def test_a_customer_whose_details_change_is_sent_as_customer_updated_naming_what_changed(db):
    from core.people import customers

    w = world()
    endpoints.add_endpoint(
        w.actors["admin"], "https://crm.example.com/x", "customer.updated", personal_data="names", now=NOW
    )
    c = customers.create_customer(w.actors["frontdesk"], name="Grace Hopper", location_id=w.locations["downtown"].id)
    assert _deliveries() == []  # created: this endpoint did not ask for it
    customers.update_customer(w.actors["frontdesk"], c.id, name="Grace B. Hopper", phone="212 555 0142")
    customers.update_customer(w.actors["frontdesk"], c.id, name="Grace B. Hopper", phone="212 555 0142")  # no change
    (d,) = _deliveries()
    body = json.loads(d.body)
    assert body["type"] == "customer.updated" and d.subject == f"customer:{c.id}"
    assert body["data"]["changed"] == ["name", "phone"] and body["data"]["customer"]["name"] == "Grace B. Hopper"
    assert "phone" not in body["data"]["customer"]  # names only: the new number is not sent
    (row,) = audit_rows(action="customer.update")
    assert "0142" not in json.dumps(row.after)  # contacts masked in the audit log
    with pytest.raises(PermissionDenied):
        customers.update_customer(w.actors["analyst"], c.id, name="Someone Else")
