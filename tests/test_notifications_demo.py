"""The demo's outbox tells its story: weeks of sent confirmations and reminders (some failed with
their queue item, some skipped for missing contacts) and reminders due in the next hours, so
the first send pass against an SMTP server sends the due ones, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core import demo
from core.base.config import reset_settings
from core.base.db import read_session
from core.base.models import ExceptionItem
from core.notifications import sender
from core.notifications.models import NotificationOutbox
from tests.mail_servers import MailHandler, SmtpServer, free_port

NOW = datetime(2026, 3, 20, 14, 30, tzinfo=UTC)


def _outbox() -> dict[str, tuple]:
    with read_session() as s:
        rows = s.execute(select(NotificationOutbox.idempotency_key, NotificationOutbox.status,
                                NotificationOutbox.due_at))  # fmt: skip
        return {k: (st, due) for k, st, due in rows}


def test_seeded_demo_has_a_realistic_outbox_and_one_pass_sends_what_is_due_once(db, monkeypatch):
    demo.seed_demo(3000, seed=5, now=NOW, password_rounds=4)
    seeded = _outbox()
    statuses = {(k.split(".")[1].rstrip("0123456789"), st) for k, (st, _) in seeded.items()}
    for kind in ("confirmation", "reminder"):
        assert {(kind, "sent"), (kind, "skipped")} <= statuses, kind
    assert ("reminder", "failed") in statuses or ("confirmation", "failed") in statuses
    assert all(due < NOW for st, due in seeded.values() if st not in ("pending", "cancelled"))
    pending = {k: due for k, (st, due) in seeded.items() if st == "pending"}
    due_now = {k for k, due in pending.items() if due <= NOW + timedelta(minutes=1)}
    assert due_now and len(pending) > len(due_now)  # some due at once, more over the next hours
    with read_session() as s:
        failed = s.scalar(select(func.count()).where(NotificationOutbox.status == "failed"))
        items = s.scalar(
            select(func.count()).select_from(ExceptionItem).where(ExceptionItem.kind == "notification_failed")
        )
    assert failed == items > 0

    server = SmtpServer(free_port(), MailHandler()).start()
    try:
        for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_TLS": "none",
                            "SMTP_FROM": "Demo Clinics <no-reply@demo.example>"}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SMS_WEBHOOK_URL", raising=False)
        reset_settings()
        first = sender.send_due(NOW + timedelta(minutes=1))
        after_first = _outbox()
        second = sender.send_due(NOW + timedelta(minutes=1))
    finally:
        server.stop()
    emails = {k for k in due_now if ".email." in k}
    sent = {k for k, (st, _) in after_first.items() if st == "sent" and seeded[k][0] == "pending"}
    assert sent and sent <= emails and first.get("sent") == len(sent) == len(server.messages)
    assert {m["Message-ID"].strip("<>").split("@")[0] for m in server.messages} == sent
    assert all(after_first[k][0] != "pending" for k in due_now)  # each one due was dealt with
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in server.messages)
    assert second.line() == "nothing due"
    assert _outbox() == after_first  # run twice: the same outbox
