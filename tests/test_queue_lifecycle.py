"""Working the queue: who sees and resolves what (scope and permissions for every role),
bulk assign / snooze / resolve / reopen with their audit rows, and fixing actions recorded as
admin touch; the open count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.base.models import AppointmentHistory, AuditLog, ExceptionItem, Status
from core.queue import actions, detect, kinds, lifecycle, reads
from core.queue.items import raise_item
from core.scheduling import booking
from tests.factories import world
from tests.test_queue_rules import FAR, LATE, SOON, at, book


@pytest.fixture
def w(db):
    return world()


def _item_id(kind: str, subject: int) -> int:
    with read_session() as s:
        return s.scalar(select(ExceptionItem.id).where(ExceptionItem.dedupe_key == kinds.key(kind, subject)))


def _harbor_item(w) -> int:
    with unit_of_work() as s:
        item, _ = raise_item(s, kind=kinds.CALENDAR_BROKEN, dedupe_key=kinds.key(kinds.CALENDAR_BROKEN, 99), now=FAR,
                             location_id=w.locations["harbor"].id, provider_id=w.providers["lee"].id)  # fmt: skip
        return item.id


def test_each_role_sees_the_items_in_its_scope(w):
    rao_appt = book(w, now=SOON)
    kim_appt = book(w, now=SOON, provider="kim", customer="alan")
    harbor = _harbor_item(w)
    seen = {
        user: {i.id for i in reads.list_items(w.actors[user], now=SOON)}
        for user in ("frontdesk", "manager", "provider", "analyst", "admin", "harbordesk")
    }
    rao, kim = _item_id(kinds.UNCONFIRMED, rao_appt.id), _item_id(kinds.UNCONFIRMED, kim_appt.id)
    assert seen["frontdesk"] == seen["manager"] == {rao, kim}
    assert seen["provider"] == {rao}  # only their own appointments
    assert seen["analyst"] == seen["admin"] == {rao, kim, harbor}
    assert seen["harbordesk"] == {harbor}
    assert reads.open_count(w.actors["frontdesk"], now=SOON) == 2
    assert reads.open_count(w.actors["norole"], now=SOON) == 0
    with pytest.raises(PermissionDenied):
        reads.list_items(w.actors["norole"], now=SOON)


def test_analysts_read_but_may_not_resolve_and_desks_only_in_their_locations(w):
    harbor = _harbor_item(w)
    with pytest.raises(PermissionDenied):
        lifecycle.resolve(w.actors["analyst"], [harbor], resolution="Fixed")
    with pytest.raises(NotFound, match=rf"^Unknown queue item #{harbor}\.$"):  # as if it did not exist
        lifecycle.resolve(w.actors["frontdesk"], [harbor], resolution="Fixed")
    with read_session() as s:
        assert s.get(ExceptionItem, harbor).status == "open"
        denied = s.scalars(select(AuditLog.actor_username).where(AuditLog.outcome == "denied")).all()
    assert sorted(denied) == ["analyst", "frontdesk"]
    assert lifecycle.resolve(w.actors["harbordesk"], [harbor], resolution="Fixed") == 1


def test_bulk_assign_snooze_resolve_and_reopen_are_audited_per_item(w):
    a, b = book(w, now=SOON), book(w, now=SOON, provider="kim", customer="alan")
    ids = [_item_id(kinds.UNCONFIRMED, a.id), _item_id(kinds.UNCONFIRMED, b.id)]
    desk = w.actors["frontdesk"]
    assert lifecycle.assign(desk, ids, w.users["manager"].id) == 2
    mine = reads.list_items(w.actors["manager"], now=SOON, assignee=reads.ME)
    assert {i.id for i in mine} == set(ids) and {i.status for i in mine} == {"assigned"}
    with pytest.raises(ValidationError, match="may not resolve"):
        lifecycle.assign(desk, ids, w.users["analyst"].id)
    lifecycle.snooze(desk, ids[:1], SOON + timedelta(hours=2), now=SOON)
    assert [i.id for i in reads.list_items(desk, now=SOON)] == ids[1:]
    assert [i.status for i in reads.list_items(desk, now=SOON + timedelta(hours=3))] == ["assigned", "assigned"]
    assert lifecycle.resolve(desk, ids, resolution="Fixed", note="called both", now=SOON) == 2
    assert reads.open_count(desk, now=SOON) == 0
    with pytest.raises(InvalidTransition, match="already resolved"):
        lifecycle.resolve(desk, ids, resolution="Fixed")
    lifecycle.reopen(desk, ids[0], note="no answer after all", now=SOON)
    with read_session() as s:
        item = s.get(ExceptionItem, ids[0])
        assert (item.status, item.reopen_count, item.note) == ("assigned", 1, "no answer after all")
        reasons = s.scalars(
            select(AuditLog.reason).where(AuditLog.entity == "exception", AuditLog.entity_id == str(ids[0]))
        )
        assert list(reasons) == ["assigned", "snoozed", "Fixed", "reopened"]


def test_bad_input_is_refused_with_a_sentence_and_changes_nothing(w):
    appt = book(w, now=SOON)
    item = _item_id(kinds.UNCONFIRMED, appt.id)
    desk = w.actors["frontdesk"]
    for call, message in [
        (lambda: lifecycle.resolve(desk, [], resolution="Fixed"), "at least one"),
        (lambda: lifecycle.resolve(desk, [item], resolution=" "), "how the item was resolved"),
        (lambda: lifecycle.snooze(desk, [item], SOON - timedelta(hours=1), now=SOON), "future"),
        (lambda: lifecycle.snooze(desk, [item], SOON + timedelta(days=40), now=SOON), "at most 30 days"),
        (lambda: lifecycle.resolve(desk, [item], resolution="Fixed", note="x" * 3000), "at most 2000"),
    ]:
        with pytest.raises(ValidationError, match=message):
            call()
    with read_session() as s:
        assert s.get(ExceptionItem, item).status == "open"


def test_a_fixing_action_resolves_the_item_as_an_admin_touch(w):
    appt = book(w, now=SOON)
    item = _item_id(kinds.UNCONFIRMED, appt.id)
    view = reads.get_item(w.actors["frontdesk"], item, now=SOON)
    assert [a.name for a in actions.available(w.actors["frontdesk"], view)] == ["confirm"]
    assert actions.available(w.actors["analyst"], view) == []
    actions.fix(w.actors["frontdesk"], item, "confirm", now=SOON)
    with read_session() as s:
        row = s.get(ExceptionItem, item)
        assert (row.status, row.resolution, row.resolved_by) == (
            "resolved", "Fixed: Confirmed after a call", w.users["frontdesk"].id,
        )  # fmt: skip
        history = s.scalars(select(AppointmentHistory).where(AppointmentHistory.kind == "status")).one()
        assert history.manual and history.new == {"status": Status.CONFIRMED.value}


def test_a_no_show_is_rebooked_from_the_queue(w):
    appt = book(w, now=FAR)
    booking_time = at(10) + timedelta(minutes=20)
    booking.mark_no_show(w.actors["frontdesk"], appt.id, now=booking_time)
    item = _item_id(kinds.NO_SHOW_FOLLOWUP, appt.id)
    with pytest.raises(ValidationError, match="Pick a new time"):
        actions.fix(w.actors["frontdesk"], item, "rebook", now=booking_time)
    actions.fix(
        w.actors["frontdesk"], item, "rebook", now=booking_time, start=at(11, day=at(10).date() + timedelta(days=1))
    )
    with read_session() as s:
        assert s.get(ExceptionItem, item).resolution == "Fixed: Rebook"


def test_detection_after_a_fix_keeps_it_resolved(w):
    appt = book(w, now=FAR)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=LATE)
    item = _item_id(kinds.LATE_CANCEL, appt.id)
    actions.fix(w.actors["frontdesk"], item, "rebook", now=LATE, start=at(14))
    detect.detect_all(LATE)
    with read_session() as s:
        assert s.get(ExceptionItem, item).status == "resolved"


def test_a_snooze_never_ends_after_the_appointment_starts(w):
    """Issue 31 item 8: "Snooze 1 day" could hide an item until after its visit had begun."""
    appt = book(w, now=LATE)  # starts at 10:00, 20 hours from LATE
    item = _item_id(kinds.INTAKE_MISSING, book(w, now=LATE, customer="alan", provider="kim", intake=False).id)
    unconfirmed = _item_id(kinds.UNCONFIRMED, appt.id)
    desk = w.actors["frontdesk"]
    with pytest.raises(ValidationError, match=r"^Unconfirmed #\d+ is due Mon \d+ \w+ 10:00: snooze it until before"):
        lifecycle.snooze(desk, [unconfirmed, item], LATE + timedelta(days=1), now=LATE)
    with read_session() as s:
        assert {s.get(ExceptionItem, i).status for i in (unconfirmed, item)} == {"open"}  # nothing half-done
    view = reads.get_item(desk, unconfirmed, now=LATE)
    choice = {c.label: c.until for c in view.snooze_choices(LATE)}
    assert choice["Until 2 hours before"] == at(8)
    assert lifecycle.snooze(desk, [unconfirmed], choice["Until 2 hours before"], now=LATE) == 1
    snoozed = reads.list_items(desk, now=LATE, show="snoozed")
    assert [(i.id, i.status_text()) for i in snoozed] == [(unconfirmed, "snoozed until Mon 7 Jan 08:00")]


def test_an_appointment_moved_before_its_snooze_wakes_the_item(w):
    """Detection raises the item again with the new start (raise_item); a snooze chosen against
    the old start would now end after the new one, so the item is back at once."""
    appt = book(w, now=SOON)
    item = _item_id(kinds.UNCONFIRMED, appt.id)
    lifecycle.snooze(w.actors["frontdesk"], [item], at(8), now=SOON)
    with unit_of_work() as s:
        raise_item(s, kind=kinds.UNCONFIRMED, dedupe_key=kinds.key(kinds.UNCONFIRMED, appt.id), now=SOON,
                   location_id=appt.location_id, appointment_id=appt.id, due_at=at(7))  # fmt: skip
    with read_session() as s:
        row = s.get(ExceptionItem, item)
        assert (row.status, row.snoozed_until, row.due_at) == ("open", None, at(7))
