"""intake.completed as a webhook: a customer finishing their form by the link, or the desk marking it
received on paper, delivers it once to a real receiver on 127.0.0.1 that verifies the signature
with `standardwebhooks`; it names the form version and how, never the answers, and the customer
only as the endpoint's personal-data level allows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.base.db import read_session
from core.base.models import Appointment
from core.intake import answers, public
from core.intake.answers import Upload
from core.security import links
from core.webhooks import endpoints, sender
from tests.intake_fixtures import LATE, PNG, START, book, open_door_world, publish
from tests.webhook_receiver import Receiver

CLIENT = "203.0.113.9"
ALL = {"full_name": "Ada Lovelace", "age": 36, "has_referral": True, "referral_from": "Dr. Who",
       "allergies": "penicillin"}  # fmt: skip


@pytest.fixture
def w(db, tmp_path, monkeypatch):
    return open_door_world(tmp_path, monkeypatch, WEBHOOK_ALLOW_LOCAL_NETWORK="1")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _endpoint(w, receiver: Receiver, personal_data: str, events: str = "intake.completed") -> None:
    _, secret = endpoints.add_endpoint(w.actors["admin"], receiver.url, events, personal_data=personal_data, now=LATE)
    receiver.secrets.append(secret)


def test_the_customer_finishing_by_the_link_delivers_intake_completed_once_without_the_answers(w, receiver):
    publish(w)
    appt = book(w)
    _endpoint(w, receiver, "names", events="intake.completed,appointment.booked")
    token = links.intake_token(appt.id, appt.end_at)
    public.submit(token, CLIENT, answers={"full_name": "Ada Lovelace", "age": 36}, now=LATE)  # part: not complete
    assert sender.deliver_due(LATE).line() == "nothing due"
    public.submit(
        token, CLIENT, answers=ALL, uploads=[Upload("insurance_card", "card.png", PNG)],
        signatures={"treatment": "Ada Lovelace"}, finish=True, now=LATE,
    )  # fmt: skip
    assert sender.deliver_due(LATE).get("delivered") == 1
    (got,) = receiver.received
    assert receiver.unverified == [] and got.verified_with
    body = got.json
    assert (body["type"], body["version"]) == ("intake.completed", 1)
    data = body["data"]
    assert data["intake"]["form"]["version"] == 1 and data["intake"]["how"] == "customer_link"
    assert data["intake"]["completed_at"]["utc"] == LATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["intake"]["completed_at"]["local"].endswith("-05:00")  # New York in winter
    assert data["appointment"]["id"] == appt.id and data["appointment"]["status"] == "booked"
    assert data["appointment"]["customer"] == {"id": w.customers["ada"].id, "name": w.customers["ada"].name}
    for secret_answer in (b"penicillin", b"Dr. Who", b"card.png", b"36"):
        assert secret_answer not in got.body  # the answers themselves are never sent
    answers.submit(w.actors["frontdesk"], appt.id, answers={"allergies": "none"}, now=LATE)  # still complete
    assert sender.deliver_due(LATE).line() == "nothing due"  # sent once, not on every later edit


def test_the_desk_marking_it_received_on_paper_delivers_it_with_no_personal_data_at_level_none(w, receiver):
    form_id = publish(w)
    appt = book(w)
    _endpoint(w, receiver, "none")
    answers.mark_received_on_paper(w.actors["frontdesk"], appt.id, now=LATE)
    assert sender.deliver_due(LATE).get("delivered") == 1
    (got,) = receiver.received
    assert receiver.unverified == []
    data = got.json["data"]
    with read_session() as s:
        assert s.get(Appointment, appt.id).intake_complete
    assert data["intake"]["how"] == "paper" and data["intake"]["form"]["id"] == form_id
    assert data["appointment"]["customer"] == {"id": w.customers["ada"].id}
    assert w.customers["ada"].name.encode() not in got.body


SHORT = {"questions": [{"key": "full_name", "label": "Full name", "kind": "short_text", "required": True},
                       {"key": "age", "label": "Age", "kind": "number", "required": True}]}  # fmt: skip


def test_an_intake_complete_when_booked_is_delivered_after_the_booking_and_a_part_answer_sends_none(w, receiver):
    publish(w, SHORT)
    _endpoint(w, receiver, "names", events="intake.completed,appointment.booked")
    part = book(w, intake={"reason": "Check-up", "full_name": "Ada Lovelace"})
    done = book(
        w, start=START + timedelta(hours=1), intake={"reason": "Check-up", "full_name": "Ada Lovelace", "age": 36}
    )
    assert sender.deliver_due(LATE).get("delivered") == 3
    assert receiver.unverified == []
    got = [(r.json["type"], r.json["data"]["appointment"]["id"]) for r in receiver.received]
    assert got == [("appointment.booked", part.id), ("appointment.booked", done.id), ("intake.completed", done.id)]
    intake = receiver.received[-1].json["data"]["intake"]
    assert intake["how"] == "booking" and intake["form"]["version"] == 1
    assert intake["completed_at"]["utc"] == LATE.strftime("%Y-%m-%dT%H:%M:%SZ")
