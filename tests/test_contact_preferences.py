"""Contact preferences: every email carries a working one-click unsubscribe (RFC 8058 headers and
a visible link) that opts the customer out at once, audited as "public" with the client address;
an expired or tampered link is one sentence and writes nothing; staff see and change a
customer's preferences in scope, with the history of who changed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.errors import NotFound, PermissionDenied
from core.base.models import AuditLog
from core.notifications import preferences, sender
from core.notifications.models import ContactPreferenceChange, NotificationOptOut, NotificationOutbox
from core.scheduling import booking
from core.security.links import LinkError
from tests.factories import world
from tests.mail_servers import MailHandler, SmtpServer, free_port

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpServer(free_port(), MailHandler()).start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    monkeypatch.setenv("SMTP_TLS", "none")
    monkeypatch.setenv("SMTP_FROM", "Downtown Clinic <no-reply@clinic.test>")
    monkeypatch.delenv("SMS_WEBHOOK_URL", raising=False)
    reset_settings()
    yield server
    server.stop()


def _book(w, customer="ada", start=START):
    return booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, start=start, provider_id=w.providers["rao"].id,
        intake={"reason": "check-up"}, now=NOW,
    ).appointment  # fmt: skip


def _statuses(customer_id: int, channel: str = "email") -> dict[tuple, str]:
    with read_session() as s:
        rows = s.execute(
            select(NotificationOutbox.kind, NotificationOutbox.offset_min, NotificationOutbox.status).where(
                NotificationOutbox.customer_id == customer_id, NotificationOutbox.channel == channel
            )
        )
        return {(k, o): st for k, o, st in rows}


def _count(model, *where) -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_every_email_carries_one_click_unsubscribe_that_stops_pending_messages_at_once(db, smtp):
    w = world()
    _book(w)
    assert sender.send_due(NOW).get("sent") == 1
    (message,) = smtp.messages
    header = message["List-Unsubscribe"]
    assert header.startswith("<http://localhost:8501/unsubscribe?t=") and header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    assert f"To stop these emails: {url}" in message.get_content()
    token = parse_qs(urlparse(url).query)["t"][0]

    # What the one-click POST route (or the page) does with the token and the client's address.
    ada = w.customers["ada"].id
    said = preferences.unsubscribe(token, "203.0.113.9", now=NOW + timedelta(hours=1))
    assert said == "Done: we will send you no more emails about your appointments."
    assert _statuses(ada) == {
        ("confirmation", None): "sent",
        ("reminder", 2880): "skipped",
        ("reminder", 120): "skipped",
    }
    assert _statuses(ada, "sms")[("reminder", 120)] == "pending"  # only the channel the link was for
    with read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "customer.unsubscribe")).one()
        change = s.scalars(select(ContactPreferenceChange)).one()
        assert (entry.actor_username, entry.actor_id, entry.entity_id) == ("public", None, str(ada))
        assert entry.after == {"email": "opted out", "client_address": "203.0.113.9"}
        assert (change.actor_username, change.client_address, change.allowed) == ("public", "203.0.113.9", False)

    again = preferences.unsubscribe(token, "203.0.113.9", now=NOW + timedelta(hours=2))
    assert again == "You had already unsubscribed: we send you no emails about your appointments."
    assert _count(ContactPreferenceChange) == 1
    sender.send_due(START - timedelta(hours=2))
    assert len(smtp.messages) == 1  # the reminders never went


@pytest.mark.parametrize("spoil", ["tampered", "expired", "other purpose", "empty"])
def test_an_expired_or_tampered_link_is_one_sentence_and_writes_nothing(db, spoil):
    w = world()
    ada = w.customers["ada"].id
    url = preferences.unsubscribe_url(ada, "email", now=NOW)
    token = parse_qs(urlparse(url).query)["t"][0]
    at = NOW + timedelta(days=1)
    if spoil == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif spoil == "expired":
        at = NOW + preferences.LINK_LIFETIME + timedelta(seconds=1)
    elif spoil == "other purpose":
        from core.security import links

        token = links.sign("intake", {"c": ada, "ch": "email"}, expires_at=NOW + timedelta(days=9))
    else:
        token = ""
    with pytest.raises(LinkError) as caught:
        preferences.unsubscribe(token, "203.0.113.9", now=at)
    assert str(caught.value) in (
        "This link has expired. Ask the business for a new one.",
        "This link is not valid. Check that it was copied whole, or ask the business for a new one.",
    )
    assert _count(NotificationOptOut) == _count(ContactPreferenceChange) == _count(AuditLog) == 0


def test_staff_see_and_change_preferences_in_scope_with_the_history_of_who_changed_them(db):
    w = world()
    _book(w)
    ada = w.customers["ada"].id
    desk, manager = w.actors["frontdesk"], w.actors["manager"]
    assert preferences.preferences(desk, ada).allowed == {"email": True, "sms": True}

    assert preferences.set_preference(desk, ada, "sms", False, reason="asked at the desk", now=NOW) == (
        "Ada Lovelace will get no text messages from now on."
    )
    assert set(_statuses(ada, "sms").values()) == {"skipped"}
    assert preferences.set_preference(desk, ada, "sms", False, now=NOW) == "Ada Lovelace already gets no text messages."
    assert preferences.set_preference(manager, ada, "sms", True, now=NOW + timedelta(hours=1)) == (
        "Ada Lovelace will get text messages from now on."
    )
    # Back in: the reminders still ahead go out again; the confirmation's moment has passed.
    assert _statuses(ada, "sms") == {("confirmation", None): "skipped", ("reminder", 2880): "pending",
                                     ("reminder", 120): "pending"}  # fmt: skip

    seen = preferences.preferences(desk, ada)
    assert seen.allowed == {"email": True, "sms": True}
    assert [(h.by, h.channel, h.allowed, h.reason) for h in seen.history] == [
        ("manager", "sms", True, None), ("frontdesk", "sms", False, "asked at the desk"),
    ]  # fmt: skip
    with read_session() as s:
        actions = s.scalars(select(AuditLog.actor_username).where(AuditLog.action == "customer.contact_preference"))
        assert list(actions) == ["frontdesk", "manager"]

    with pytest.raises(NotFound):
        preferences.set_preference(w.actors["harbordesk"], ada, "email", False)
    with pytest.raises(NotFound):
        preferences.preferences(w.actors["harbordesk"], ada)
    with pytest.raises(PermissionDenied):
        preferences.set_preference(w.actors["analyst"], ada, "email", False)
    assert _count(NotificationOptOut) == 0
