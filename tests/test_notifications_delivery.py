"""Sending for real: a local SMTP server (aiosmtpd) and a local HTTP receiver get exactly the
expected messages, once, with times in the location's zone across a DST change; an SMTP server
that is down is retried later; a crash between send and mark-sent leaves the message flagged,
never resent; two senders at once on PostgreSQL send each message once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.jobs import PassSummary
from core.base.models import ExceptionItem
from core.notifications import sender
from core.notifications.models import NotificationOutbox
from core.scheduling import booking
from tests.factories import world
from tests.mail_servers import MailHandler, SmtpServer, WebhookServer, free_port

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 2 March: New York on EST, London on GMT
NY_START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 9 March 10:00 EDT (DST began 8 March)
LONDON_START = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Mon 30 March 10:00 BST (DST began 29 March)


@pytest.fixture
def smtp():
    server = SmtpServer(free_port(), MailHandler()).start()
    yield server
    server.stop()


@pytest.fixture
def webhook():
    server = WebhookServer().start()
    yield server
    server.stop()


def _configure(monkeypatch, smtp_port: int, webhook: WebhookServer | None = None) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("SMTP_TLS", "none")
    monkeypatch.setenv("SMTP_FROM", "Downtown Clinic <no-reply@clinic.test>")
    if webhook is not None:
        monkeypatch.setenv("SMS_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("SMS_WEBHOOK_TOKEN", webhook.token)
    else:
        monkeypatch.delenv("SMS_WEBHOOK_URL", raising=False)
    reset_settings()


def _book_ny(w, start=NY_START, customer="ada", provider="rao", now=NOW):
    return booking.book(
        w.actors["admin"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, start=start, provider_id=w.providers[provider].id, now=now,
    ).appointment  # fmt: skip


def _row(appointment_id: int, kind: str, channel: str, offset: int | None = None) -> NotificationOutbox:
    with read_session() as s:
        row = s.scalars(
            select(NotificationOutbox).where(
                NotificationOutbox.appointment_id == appointment_id, NotificationOutbox.kind == kind,
                NotificationOutbox.channel == channel, NotificationOutbox.offset_min.is_(offset)
                if offset is None else NotificationOutbox.offset_min == offset,
            )
        ).one()  # fmt: skip
        s.expunge(row)
        return row


def test_smtp_and_webhook_get_exactly_the_expected_messages_in_local_time_across_dst(db, monkeypatch, smtp, webhook):
    _configure(monkeypatch, smtp.port, webhook)
    w = world()
    ny = _book_ny(w)
    london = booking.book(
        w.actors["admin"], type_id=w.types["class"].id, location_id=w.locations["harbor"].id,
        customer_id=w.customers["alan"].id, start=LONDON_START, provider_id=w.providers["lee"].id, now=NOW,
    ).appointment  # fmt: skip

    assert sender.send_due(NOW + timedelta(minutes=1)).get("sent") == 4  # two confirmations, two channels
    mails = {m["To"]: m for m in smtp.messages}
    assert set(mails) == {"ada@example.test", "alan@example.test"}
    ada, alan = mails["ada@example.test"], mails["alan@example.test"]
    assert ada["Subject"] == "Booked: Consultation on Mon 9 March 2026 at 10:00"
    assert "Mon 9 March 2026 at 10:00 EDT" in ada.get_content()  # booked on EST, shown in EDT
    assert "Mon 30 March 2026 at 10:00 BST" in alan.get_content()
    assert ada["Message-ID"] == f"<{_row(ny.id, 'confirmation', 'email').idempotency_key}@clinic.test>"
    assert ada["From"] == "Downtown Clinic <no-reply@clinic.test>"
    sms = {body["to"]: (headers, body) for headers, body in webhook.requests}
    assert set(sms) == {"+12125550100", "+442079460000"}
    headers, body = sms["+12125550100"]
    key = _row(ny.id, "confirmation", "sms").idempotency_key
    assert body["key"] == key and headers["Idempotency-Key"] == key
    assert headers["Authorization"] == f"Bearer {webhook.token}"
    assert "10:00 EDT" in body["body"]
    assert _row(ny.id, "confirmation", "sms").payload["message_id"] in {"sms-1", "sms-2"}  # the provider's id

    # 48 hours before the New York start (Saturday 09:00 EST): its first reminder, nothing else.
    due = NY_START - timedelta(hours=48)
    assert sender.send_due(due - timedelta(minutes=1)).line() == "nothing due"
    assert sender.send_due(due).get("sent") == 2
    reminder = smtp.messages[-1]
    assert reminder["Subject"] == "Reminder: Consultation in 2 days, Mon 9 March 2026 at 10:00"
    assert "in 2 days, on Mon 9 March 2026 at 10:00 EDT" in reminder.get_content()
    assert "10:00 EDT" in webhook.requests[-1][1]["body"]
    # Passes again at the same time send nothing more: each message exactly once.
    assert sender.send_due(due + timedelta(minutes=1)).line() == "nothing due"
    assert len(smtp.messages) == 3 and len(webhook.requests) == 3
    assert _row(london.id, "reminder", "email", 2880).status == "pending"  # its time has not come


def test_smtp_down_is_retried_later_and_nothing_is_lost(db, monkeypatch):
    port = free_port()  # nothing listens here yet
    _configure(monkeypatch, port)
    w = world()
    appt = _book_ny(w)
    first = sender.send_due(NOW)
    assert first.get("retried") == 1 and first.get("not_sent") == 1  # SMS: no channel configured
    row = _row(appt.id, "confirmation", "email")
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + timedelta(minutes=1))
    assert "cannot reach the SMTP server at 127.0.0.1" in row.last_error
    assert sender.send_due(NOW + timedelta(seconds=30)).line() == "nothing due"  # backing off
    server = SmtpServer(port, MailHandler()).start()
    try:
        assert sender.send_due(NOW + timedelta(minutes=1)).get("sent") == 1
        assert [m["To"] for m in server.messages] == ["ada@example.test"]
    finally:
        server.stop()
    row = _row(appt.id, "confirmation", "email")
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_the_last_failed_attempt_opens_a_queue_item_and_a_refused_address_fails_at_once(db, monkeypatch, smtp):
    _configure(monkeypatch, free_port())  # down
    w = world()
    appt = _book_ny(w)
    at = NOW
    for attempt in range(1, sender.MAX_ATTEMPTS + 1):
        outcome = sender.send_due(at)
        assert outcome.get("failed" if attempt == sender.MAX_ATTEMPTS else "retried") == 1, (attempt, outcome)
        at = _row(appt.id, "confirmation", "email").next_attempt_at
    row = _row(appt.id, "confirmation", "email")
    assert row.status == "failed" and row.last_error.startswith("gave up after 5 attempts")
    with read_session() as s:
        item = s.scalars(select(ExceptionItem)).one()
        s.expunge(item)
    assert (item.kind, item.dedupe_key, item.status) == ("notification_failed", f"notification_failed:{row.id}", "open")
    assert item.appointment_id == appt.id and item.location_id == w.locations["downtown"].id

    _configure(monkeypatch, smtp.port)
    smtp.handler.refuse_rcpt = "550 5.1.1 No such user"
    other = _book_ny(w, start=NY_START + timedelta(hours=1), customer="alan")
    assert sender.send_due(NOW + timedelta(minutes=1)).get("failed") == 1
    row = _row(other.id, "confirmation", "email")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "refused alan@example.test: 550" in row.last_error


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


def test_a_crash_between_send_and_mark_sent_leaves_the_message_flagged_never_resent(db, monkeypatch, smtp):
    _configure(monkeypatch, smtp.port)
    w = world()
    appt = _book_ny(w)
    real_finish = sender.finish_all

    def crash_after_send(results, now):
        raise Crash()

    monkeypatch.setattr(sender, "finish_all", crash_after_send)
    with pytest.raises(Crash):
        sender.send_due(NOW, limit=1)
    monkeypatch.setattr(sender, "finish_all", real_finish)
    assert len(smtp.messages) == 1  # it went out; the sender died before recording it
    assert _row(appt.id, "confirmation", "email").status == "sending"

    sender.send_due(NOW + timedelta(minutes=5))  # another pass soon after: the row is left alone
    assert _row(appt.id, "confirmation", "email").status == "sending"
    summary = sender.send_due(NOW + sender.STALE_AFTER + timedelta(minutes=1))
    assert summary.get("flagged") == 1
    row = _row(appt.id, "confirmation", "email")
    assert row.status == "flagged" and "never confirmed" in row.last_error
    sender.send_due(NOW + timedelta(hours=1))
    assert len(smtp.messages) == 1  # never sent again blindly


def test_two_senders_at_once_on_postgresql_send_each_message_once(pg_db, monkeypatch, smtp, webhook):
    _configure(monkeypatch, smtp.port, webhook)
    w = world()
    for day in range(4):
        for hour, (customer, provider) in enumerate([("ada", "rao"), ("alan", "kim")]):
            start = NY_START + timedelta(days=day, hours=hour)
            _book_ny(w, start=start, customer=customer, provider=provider)
    barrier = threading.Barrier(2)
    results: dict[str, PassSummary] = {}

    def run(name: str) -> None:
        barrier.wait()
        results[name] = sender.send_due(NOW + timedelta(minutes=1), sender=name, batch=2)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("sender-a", "sender-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m["Message-ID"] for m in smtp.messages]
    keys = [body["key"] for _, body in webhook.requests]
    assert len(ids) == len(set(ids)) == 8
    assert len(keys) == len(set(keys)) == 8
    assert sum(r.get("sent") for r in results.values()) == 16
    with read_session() as s:
        statuses = s.scalars(select(NotificationOutbox.status).where(NotificationOutbox.kind == "confirmation")).all()
    assert statuses == ["sent"] * 16
