"""Delivering webhooks to a real receiver on 127.0.0.1 that verifies each one with the
`standardwebhooks` package: retries, Retry-After, 410, timeouts, a killed sender, two senders
at once, rotation, replay and the refusal of private addresses."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.base.clock import utcnow
from core.base.config import ROOT, reset_settings
from core.base.db import read_session, unit_of_work
from core.base.models import ExceptionItem
from core.cli import main
from core.scheduling import booking
from core.webhooks import endpoints, log, net, sender
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import MONDAY, NOW, at, audit_rows, book, world
from tests.webhook_receiver import Receiver

EVENTS = "appointment.booked,appointment.rescheduled,appointment.cancelled"


@pytest.fixture
def local_network(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_NETWORK", "1")
    reset_settings()


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _endpoint(w, receiver: Receiver, events: str = EVENTS):
    view, secret = endpoints.add_endpoint(w.actors["admin"], receiver.url, events, personal_data="names", now=NOW)
    receiver.secrets.append(secret)
    return view


def _rows(model=WebhookDelivery):
    with read_session() as s:
        rows = list(s.scalars(select(model).order_by(model.id)))
        s.expunge_all()
        return rows


def _book_day(w, n: int, now):
    """n back-to-back appointments with Dr. Rao, 16 a day from Monday."""
    return [
        book(w, at(9, day=MONDAY + timedelta(days=i // 16)) + timedelta(minutes=30 * (i % 16)), now=now).appointment
        for i in range(n)
    ]


def test_the_receiver_gets_each_event_once_signed_and_in_order(db, local_network, receiver):
    w = world()
    _endpoint(w, receiver)
    appt = book(w, at(10)).appointment
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(11), now=NOW)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="called", now=NOW)
    assert sender.deliver_due(NOW).get("delivered") == 3  # each claimed only once the one before is done
    assert [r.json["type"] for r in receiver.received] == [
        "appointment.booked", "appointment.rescheduled", "appointment.cancelled",
    ]  # fmt: skip
    assert receiver.unverified == [] and all(r.verified_with for r in receiver.received)
    assert [d.status for d in _rows()] == ["delivered"] * 3
    assert sender.deliver_due(NOW).line() == "nothing due"
    (attempt, *_) = _rows(WebhookAttempt)
    assert attempt.status_code == 200 and attempt.response_excerpt == '{"ok":true}'


def test_a_failing_receiver_is_retried_with_backoff_then_exhausted_raises_an_item_and_replays(
    db, local_network, receiver, monkeypatch
):
    monkeypatch.setattr(sender.random, "uniform", lambda low, high: low)  # the shortest waits the jitter allows
    w = world()
    endpoint = _endpoint(w, receiver)
    book(w, at(10))
    receiver.status = 500
    now = NOW
    assert sender.deliver_due(now).get("retried") == 1
    (d,) = _rows()
    assert timedelta(seconds=5) <= d.next_attempt_at - now <= timedelta(seconds=5.5)  # 5 s, stretched by up to 10 %
    for _ in range(sender.MAX_ATTEMPTS - 1):
        now = _rows()[0].next_attempt_at
        sender.deliver_due(now)
    (d,) = _rows()
    assert d.status == "exhausted" and d.attempts == sender.MAX_ATTEMPTS
    assert now - NOW >= timedelta(hours=72)
    assert len(receiver.received) == sender.MAX_ATTEMPTS and len(set(receiver.ids)) == 1  # one webhook-id
    with read_session() as s:
        item = s.scalar(select(ExceptionItem).where(ExceptionItem.kind == "webhook_failing"))
        assert item.status == "open" and item.details["endpoint_id"] == endpoint.id
    receiver.status = 200
    since = (NOW - timedelta(hours=1)).isoformat()
    assert main(["webhooks", "replay", "--endpoint", str(endpoint.id), "--since", since]) == 0
    assert sender.deliver_due(now).get("delivered") == 1
    assert receiver.received[-1].webhook_id == receiver.ids[0] and receiver.unverified == []
    with read_session() as s:
        assert s.scalar(select(ExceptionItem.status).where(ExceptionItem.kind == "webhook_failing")) == "resolved"
    assert audit_rows(entity="webhook_endpoint", reason="replayed 1 failed deliveries")


def test_retry_after_is_honoured_and_410_switches_the_endpoint_off(sqlite_db, local_network, receiver):
    w = world()
    endpoint = _endpoint(w, receiver)
    book(w, at(10))
    receiver.statuses, receiver.retry_after = [429], "120"
    sender.deliver_due(NOW)
    (d,) = _rows()
    assert d.status == "pending" and d.next_attempt_at == NOW + timedelta(seconds=120)
    receiver.statuses, receiver.retry_after = [410], None
    assert sender.deliver_due(d.next_attempt_at).get("gone") == 1
    (e,) = _rows(WebhookEndpoint)
    assert not e.enabled and "410 Gone" in e.disabled_reason
    assert audit_rows(
        entity="webhook_endpoint", entity_id=str(endpoint.id), reason="switched off: the receiver answered 410 Gone"
    )
    book(w, at(11))
    assert len(_rows()) == 1  # nothing new is queued for a switched-off endpoint


def test_a_slow_receiver_times_out_without_holding_up_another_endpoint(sqlite_db, local_network, monkeypatch):
    monkeypatch.setattr(net, "TIMEOUT_S", 0.5)
    slow, fast = Receiver(hold_from=1).start(), Receiver().start()
    try:
        w = world()
        _endpoint(w, slow)
        _endpoint(w, fast)
        _book_day(w, 3, NOW)
        summary = sender.deliver_due(NOW)
        assert summary.get("delivered") == 3 and summary.get("retried") == 1
        assert len(fast.received) == 3 and len(slow.received) == 1  # the slow one was tried once this pass
        failed = [a for a in _rows(WebhookAttempt) if a.outcome == "failed"]
        assert len(failed) == 1 and "no answer within 0.5 s" in failed[0].error
    finally:
        slow.stop()
        fast.stop()


def test_a_quick_endpoint_is_sent_to_in_the_passs_own_thread_a_slower_one_several_at_once(
    sqlite_db, local_network, monkeypatch
):
    quick, slower = Receiver().start(), Receiver().start()
    threads: dict[str, list[str]] = {quick.url: [], slower.url: []}
    real_post = net.post

    def post(http, url, headers, body, now):  # the real POST, with the answer time the test says
        threads[url].append(threading.current_thread().name)
        answer = real_post(http, url, headers, body, now)
        return dataclasses.replace(answer, latency_ms=0 if url == quick.url else 30)

    monkeypatch.setattr(net, "post", post)
    try:
        w = world()
        _endpoint(w, quick)
        _endpoint(w, slower)
        _book_day(w, 6, NOW)
        assert sender.deliver_due(NOW).get("delivered") == 12
        main_thread = threading.current_thread().name
        assert threads[quick.url][0] != main_thread  # the first, before it has answered: in a thread
        assert threads[quick.url][1:] == [main_thread] * 5
        assert main_thread not in threads[slower.url] and len(slower.received) == 6
        assert quick.unverified == slower.unverified == []
    finally:
        quick.stop()
        slower.stop()


def test_garbage_and_redirects_count_as_failures(sqlite_db, local_network, receiver):
    w = world()
    _endpoint(w, receiver)
    book(w, at(10))
    receiver.statuses, receiver.answer_body = [302], b"\xff\xfe not json at all" * 200
    sender.deliver_due(NOW)
    (attempt,) = _rows(WebhookAttempt)
    assert attempt.status_code == 302 and attempt.outcome == "failed" and len(attempt.response_excerpt) <= 2048
    assert len(receiver.received) == 1  # the redirect was not followed


def test_after_a_rotation_both_signatures_are_sent_for_a_day(sqlite_db, local_network, receiver):
    w = world()
    endpoint = _endpoint(w, receiver)
    old = receiver.secrets[0]
    new = endpoints.rotate_secret(w.actors["admin"], endpoint.id, now=NOW)
    receiver.secrets.append(new)
    book(w, at(10))
    sender.deliver_due(NOW)
    assert receiver.received[0].verified_with == (old, new)
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2
    booking.cancel(w.actors["frontdesk"], _rows()[0].appointment_id, reason="x", now=NOW + timedelta(hours=25))
    sender.deliver_due(NOW + timedelta(hours=25))
    assert receiver.received[1].verified_with == (new,)


def test_private_addresses_are_refused_at_send_time(sqlite_db, local_network, receiver, monkeypatch):
    w = world()
    name_url = receiver.url.replace("127.0.0.1", "localhost")  # a name; only resolving it shows where it goes
    view, _ = endpoints.add_endpoint(w.actors["admin"], name_url, EVENTS, now=NOW)
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_NETWORK", "0")
    reset_settings()
    book(w, at(10))
    assert sender.deliver_due(NOW).get("refused") == 1
    assert receiver.received == []
    (attempt,) = _rows(WebhookAttempt)
    assert attempt.outcome == "refused" and "a private or local address" in attempt.error
    assert _rows()[0].status == "exhausted"


def test_a_sender_killed_mid_pass_resends_only_what_it_had_not_marked(sqlite_db, local_network, receiver):
    w = world()
    _endpoint(w, receiver)
    n = sender.BATCH + 2  # the first batch is recorded, the second (two deliveries) is in flight
    _book_day(w, n, NOW)
    now = utcnow()
    with unit_of_work() as s:  # the subprocess runs on the real clock: make them due on it
        s.execute(update(WebhookDelivery).values(next_attempt_at=now))
    receiver.hold_from = n
    env = {**os.environ, "DATABASE_URL": sqlite_db.url, "WEBHOOK_ALLOW_LOCAL_NETWORK": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "core", "deliver-webhooks", "--once"], cwd=ROOT, env=env)
    try:
        assert receiver.arrived.wait(60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        receiver.release.set()
    statuses = [d.status for d in _rows()]
    assert statuses.count("delivered") == sender.BATCH and statuses.count("sending") == 2
    summary = sender.deliver_due(now + sender.STALE_AFTER + timedelta(minutes=1))
    assert summary.get("flagged") == 2 and summary.get("delivered") == 2
    assert {d.status for d in _rows()} == {"delivered"}
    assert len(set(receiver.ids)) == n and len(receiver.ids) == n + 2  # the two in flight came twice, same ids
    assert [a.outcome for a in _rows(WebhookAttempt)].count("unknown") == 2
    assert receiver.unverified == []


def test_two_senders_on_postgresql_never_send_one_delivery_twice(pg_db, local_network, receiver):
    w = world()
    _endpoint(w, receiver)
    _book_day(w, 14, NOW)
    start = threading.Barrier(2)
    results = []

    def run(name):
        start.wait()
        results.append(sender.deliver_due(NOW, sender=name, batch=3))

    threads = [threading.Thread(target=run, args=(f"s{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(receiver.ids) == sorted(set(receiver.ids)) and len(receiver.ids) == 14
    assert sum(r.get("delivered") for r in results) == 14 and receiver.unverified == []


def test_the_log_lists_filters_shows_one_delivery_and_forgets_after_its_days(sqlite_db, local_network, receiver):
    w = world()
    endpoint = _endpoint(w, receiver)
    appt = book(w, at(10)).appointment
    sender.deliver_due(NOW)
    admin = w.actors["admin"]
    (listed,) = log.deliveries(admin, endpoint_id=endpoint.id, status="delivered")
    assert log.deliveries(admin, status="exhausted") == []
    detail = log.delivery(admin, listed.id)
    assert detail.delivery.appointment_id == appt.id and detail.attempts[0].status_code == 200
    assert '"type":"appointment.booked"' in detail.body
    log.replay(admin, listed.id, now=NOW)
    sender.deliver_due(NOW)
    assert receiver.ids[0] == receiver.ids[1]
    assert "webhook_id" in log.deliveries_csv(log.deliveries(admin))
    assert sender.purge_log(NOW + timedelta(days=31), 30) == 1 and _rows() == []
