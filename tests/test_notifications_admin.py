"""The services behind the Notifications page: templates checked on save and used when
sending, schedules, previews, resending, opt-outs, scope, audit; and the no-show rate split by
whether a reminder was sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.base.db import read_session, unit_of_work
from core.base.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.base.models import AuditLog, Customer
from core.notifications import admin, sender, stats, template_admin
from core.notifications.models import NotificationOutbox
from core.scheduling import booking
from tests.factories import world

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 9 March 10:00 EDT


@pytest.fixture(autouse=True)
def no_channels(monkeypatch):
    for name in ("SMTP_HOST", "SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def _book(w, start=START, customer="ada", provider="rao", location="downtown", type_="consult", now=NOW):
    return booking.book(
        w.actors["admin"], type_id=w.types[type_].id, location_id=w.locations[location].id,
        customer_id=w.customers[customer].id, start=start, provider_id=w.providers[provider].id, now=now,
    ).appointment  # fmt: skip


def _rows(**where) -> list[NotificationOutbox]:
    with read_session() as s:
        q = select(NotificationOutbox).filter_by(**where).order_by(NotificationOutbox.id)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Hello {{ first_name }", "mistake on line 1"),
        ("Hello {{ custmer_name }}", "'custmer_name' is undefined"),
        ("{{ start.__class__.__mro__ }}", "unsafe"),
        ("{% for x in range(10**9) %}{% endfor %}", "Range too big"),
    ],
)
def test_a_broken_template_is_refused_on_save_with_a_sentence(sqlite_db, body, says):
    w = world()
    with pytest.raises(ValidationError, match=says):
        template_admin.save_template(
            w.actors["manager"], w.types["consult"].id, "confirmation", "sms", subject=None, body=body
        )
    with read_session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "notification_template")) is None


def test_a_saved_template_is_used_when_sending_and_the_change_is_audited(db):
    w = world()
    template_admin.save_template(
        w.actors["manager"], w.types["consult"].id, "confirmation", "email",
        subject="See you {{ date }}", body="Dear {{ customer_name }}, {{ type }} at {{ time }} ({{ tz }}).",
    )  # fmt: skip
    appt = _book(w)
    sender.send_due(NOW)
    email = _rows(appointment_id=appt.id, kind="confirmation", channel="email")[0]
    assert email.subject == "See you Mon 9 March 2026"
    wording, foot = email.body.split("\n\n--\n")  # every email ends with its unsubscribe link
    assert wording == "Dear Ada Lovelace, Consultation at 10:00 (EDT)."
    assert foot.startswith("To stop these emails: http://localhost:8501/unsubscribe?t=")
    with read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "notification_template")).one()
        assert entry.actor_username == "manager" and entry.after["body"].startswith("Dear")
    assert template_admin.reset_template(w.actors["manager"], w.types["consult"].id, "confirmation", "email")
    assert template_admin.wording(w.actors["manager"], w.types["consult"].id, "confirmation", "email").is_default


def test_a_switched_off_message_is_not_queued_and_a_custom_schedule_sets_the_reminders(sqlite_db):
    w = world()
    m, consult = w.actors["manager"], w.types["consult"].id
    template_admin.save_template(m, consult, "confirmation", "sms", subject=None, body="x", enabled=False)
    template_admin.save_schedule(m, consult, reminder_hours=[24, 1.5], follow_up_hours=24)
    appt = _book(w)
    got = {(r.kind, r.channel, r.offset_min) for r in _rows(appointment_id=appt.id)}
    assert got == {("confirmation", "email", None), ("reminder", "email", 1440), ("reminder", "sms", 1440),
                   ("reminder", "email", 90), ("reminder", "sms", 90)}  # fmt: skip
    with pytest.raises(ValidationError, match="above 0"):
        template_admin.save_schedule(m, consult, reminder_hours=[-2], follow_up_hours=1)


def test_preview_renders_against_a_real_appointment_in_its_locations_zone(sqlite_db):
    w = world()
    appt = _book(w, start=datetime(2026, 3, 30, 9, 0, tzinfo=UTC), customer="alan", provider="lee",
                 location="harbor", type_="class")  # fmt: skip
    choices = template_admin.preview_appointments(w.actors["admin"], w.types["class"].id)
    assert choices == [(appt.id, "Mon 30 Mar 2026 10:00 · Alan Turing")]
    p = template_admin.preview(w.actors["admin"], appt.id, "reminder", "email", subject="{{ type }} {{ lead }}",
                               body="{{ first_name }}: {{ when }}", offset_min=1440)  # fmt: skip
    assert (p.subject, p.body) == ("Group class tomorrow", "Alan: Mon 30 March 2026 at 10:00 BST")
    for ident in (appt.id, 99999):  # a Downtown manager learns nothing of a Harbor appointment
        with pytest.raises(NotFound, match=f"^Unknown appointment #{ident}.$"):
            template_admin.preview(w.actors["manager"], ident, "reminder", "email", subject="x", body="y")
    with pytest.raises(PermissionDenied):  # a role that may not preview at all is told so
        template_admin.preview(w.actors["frontdesk"], appt.id, "reminder", "email", subject="x", body="y")
    with read_session() as s:
        denied = s.scalars(select(AuditLog.actor_username).where(AuditLog.outcome == "denied")).all()
    assert denied == ["manager", "frontdesk"]  # the out-of-scope attempt is still recorded


def test_customers_without_an_address_or_who_opted_out_are_skipped_with_the_reason(sqlite_db):
    w = world()
    with unit_of_work() as s:
        s.get(Customer, w.customers["alan"].id).email = None
    ada, alan = _book(w), _book(w, customer="alan", provider="kim")  # now customers of Downtown
    assert admin.set_opt_out(w.actors["frontdesk"], w.customers["ada"].id, "sms", opted_out=True, reason="asked")
    assert not admin.set_opt_out(w.actors["frontdesk"], w.customers["ada"].id, "sms", opted_out=True)
    assert admin.opt_outs(w.actors["frontdesk"], w.customers["ada"].id) == {"sms"}
    sender.send_due(NOW)
    ada_sms = _rows(appointment_id=ada.id, kind="confirmation", channel="sms")[0]
    alan_email = _rows(appointment_id=alan.id, kind="confirmation", channel="email")[0]
    assert (ada_sms.status, ada_sms.last_error) == ("skipped", "skipped: Ada Lovelace opted out of sms messages")
    assert (alan_email.status, alan_email.last_error) == ("skipped", "skipped: Alan Turing has no email address")
    with pytest.raises(PermissionDenied):  # Harbor's desk does not serve Ada
        admin.set_opt_out(w.actors["harbordesk"], w.customers["ada"].id, "email", opted_out=True)


def test_resend_puts_a_failed_or_flagged_message_back_in_line_within_scope_only(db):
    w = world()
    appt = _book(w)
    row = _rows(appointment_id=appt.id, kind="confirmation", channel="email")[0]
    with pytest.raises(InvalidTransition, match="Only a failed or flagged message"):
        admin.resend(w.actors["manager"], row.id, now=NOW)
    with unit_of_work() as s:
        s.execute(update(NotificationOutbox).where(NotificationOutbox.id == row.id)
                  .values(status="flagged", attempts=1, last_error="flagged: never confirmed"))  # fmt: skip
    for who in ("frontdesk", "harbordesk", "analyst"):
        with pytest.raises(PermissionDenied):
            admin.resend(w.actors[who], row.id, now=NOW)
    harbor = _book(w, customer="mary", provider="lee", location="harbor", type_="class")
    theirs = _rows(appointment_id=harbor.id, kind="confirmation", channel="email")[0]
    with unit_of_work() as s:
        s.execute(update(NotificationOutbox).where(NotificationOutbox.id == theirs.id).values(status="failed"))
    for ident in (theirs.id, 99999):  # another location's message answers like a missing one
        with pytest.raises(NotFound, match=f"^Unknown message #{ident}.$"):
            admin.resend(w.actors["manager"], ident, now=NOW)
    assert _rows(id=theirs.id)[0].status == "failed"
    admin.resend(w.actors["manager"], row.id, now=NOW + timedelta(minutes=3))
    again = _rows(id=row.id)[0]
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, NOW + timedelta(minutes=3))
    assert again.idempotency_key == row.idempotency_key
    with read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "notification", AuditLog.outcome == "ok")).one()
        refused = s.scalars(
            select(AuditLog.entity_id).where(AuditLog.actor_username == "manager", AuditLog.outcome == "denied")
        ).all()
        assert refused == [str(theirs.id)]  # the out-of-scope attempt is recorded
        assert (entry.before["status"], entry.after["status"]) == ("flagged", "pending")
    assert sender.send_due(NOW + timedelta(minutes=3)).get("not_sent") >= 1


def test_the_outbox_shows_each_manager_their_own_locations(sqlite_db):
    w = world()
    _book(w)
    _book(w, start=datetime(2026, 3, 30, 9, 0, tzinfo=UTC), customer="alan", provider="lee", location="harbor",
          type_="class")  # fmt: skip
    assert {r.location for r in admin.outbox(w.actors["admin"], view="due")} == {"Downtown", "Harbor"}
    assert {r.location for r in admin.outbox(w.actors["manager"], view="due")} == {"Downtown"}
    assert admin.counts(w.actors["manager"])["due"] == 6
    with pytest.raises(PermissionDenied):
        admin.outbox(w.actors["frontdesk"])


def test_no_show_rate_is_split_by_whether_a_reminder_was_sent(db):
    w = world()
    fd = w.actors["frontdesk"]
    a = _book(w)  # reminded, then no-show
    b = _book(w, customer="alan", provider="kim")  # not reminded, no-show
    c = _book(w, start=START + timedelta(hours=1))  # reminded, completed
    _book(w, start=START + timedelta(hours=2))  # reminded, still booked: not counted
    with unit_of_work() as s:
        s.execute(update(NotificationOutbox)
                  .where(NotificationOutbox.appointment_id.in_([a.id, c.id]), NotificationOutbox.kind == "reminder",
                         NotificationOutbox.offset_min == 120, NotificationOutbox.channel == "sms")
                  .values(status="sent"))  # fmt: skip
    after = START + timedelta(hours=1, minutes=20)
    booking.mark_no_show(fd, a.id, now=after)
    booking.mark_no_show(fd, b.id, now=after)
    booking.check_in(fd, c.id, now=after)
    booking.complete(fd, c.id, now=after + timedelta(minutes=30))
    split = stats.no_show_by_reminder(w.actors["manager"], date(2026, 3, 9), date(2026, 3, 9))
    assert (split.with_reminder.no_show, split.with_reminder.completed) == (1, 1)
    assert split.with_reminder.rate == 0.5
    assert (split.without_reminder.no_show, split.without_reminder.completed, split.without_reminder.rate) == (
        1,
        0,
        1.0,
    )
    empty = stats.no_show_by_reminder(w.actors["manager"], date(2026, 3, 10), date(2026, 3, 10))
    assert empty.with_reminder.rate is None  # no denominator: null, never 0
    assert stats.delivery_flags([a.id, b.id]) == {a.id: (False, True), b.id: (False, False)}
    with pytest.raises(PermissionDenied):
        stats.no_show_by_reminder(fd, date(2026, 3, 9), date(2026, 3, 9))
