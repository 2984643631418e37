"""Inquiries as webhooks: recorded at the desk, booked from and closed, each delivered once to a real
receiver on 127.0.0.1 that verifies the signature with `standardwebhooks`, at the endpoint's
personal-data level."""

from __future__ import annotations

import pytest

from core.base.config import reset_settings
from core.inquiries import services as inquiries
from core.webhooks import endpoints, sender
from tests.factories import NOW, at, world
from tests.webhook_receiver import Receiver

EVENTS = "inquiry.received,inquiry.booked,inquiry.closed"


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_NETWORK", "1")
    reset_settings()
    r = Receiver().start()
    yield r
    r.stop()


def _endpoint(w, receiver: Receiver, personal_data: str = "names") -> None:
    _, secret = endpoints.add_endpoint(w.actors["admin"], receiver.url, EVENTS, personal_data=personal_data, now=NOW)
    receiver.secrets.append(secret)


def _record(w, customer: str = "ada"):
    return inquiries.record_inquiry(
        w.actors["frontdesk"], location_id=w.locations["downtown"].id, channel="phone",
        customer_id=w.customers[customer].id, type_id=w.types["consult"].id, notes="private note", now=NOW,
    )  # fmt: skip


def test_recording_an_inquiry_delivers_inquiry_received_once_and_booking_from_it_inquiry_booked(db, receiver):
    w = world()
    _endpoint(w, receiver)
    done = _record(w)
    assert _record(w).merged  # a repeat within the hour is the same inquiry: nothing more is sent
    appt = inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(10), now=NOW)
    assert sender.deliver_due(NOW).get("delivered") == 2
    assert receiver.unverified == [] and all(r.verified_with for r in receiver.received)
    received, booked = (r.json for r in receiver.received)
    assert [received["type"], booked["type"]] == ["inquiry.received", "inquiry.booked"]
    assert received["version"] == booked["version"] == 1
    inq = booked["data"]["inquiry"]
    assert (inq["id"], inq["appointment_id"], inq["channel"]) == (done.inquiry_id, appt.id, "phone")
    assert inq["customer"] == {"id": w.customers["ada"].id, "name": w.customers["ada"].name}
    assert inq["location"]["id"] == w.locations["downtown"].id and inq["received_at"]["utc"].endswith("Z")
    assert received["data"]["inquiry"]["appointment_id"] is None
    assert b"private note" not in receiver.received[0].body  # free text is never sent
    assert sender.deliver_due(NOW).line() == "nothing due"


def test_closing_an_inquiry_delivers_inquiry_closed_with_no_more_personal_data_than_allowed(db, receiver):
    w = world()
    _endpoint(w, receiver, personal_data="none")
    done = _record(w)
    inquiries.close_inquiry(w.actors["frontdesk"], done.inquiry_id, reason="price", now=NOW)
    sender.deliver_due(NOW)
    assert [r.json["type"] for r in receiver.received] == ["inquiry.received", "inquiry.closed"]
    closed = receiver.received[1].json["data"]["inquiry"]
    assert closed["closed_reason"] == "price" and closed["customer"] == {"id": w.customers["ada"].id}
    assert receiver.unverified == []
