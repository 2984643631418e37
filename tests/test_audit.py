"""The audit trail: one row per change, written in the change's own transaction (a rolled-back
change leaves none), append-only in the database itself, and readable with filters and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied, ValidationError
from core.base.models import AuditLog, Location, User
from core.people import users
from core.reports import audit_log
from core.reports.audit_log import AuditFilter
from core.scheduling import booking
from core.security import audit
from core.security.access import SYSTEM
from tests.factories import NOW, at, audit_rows, book, world


@pytest.fixture
def w(db, fast_passwords):
    return world()


def _count(outcome: str | None = None) -> int:
    return len(audit_rows(**({"outcome": outcome} if outcome else {})))


def test_n_mutations_write_n_audit_rows(w):
    admin = w.actors["admin"]
    fd = w.users["frontdesk"].id
    mutations = [
        lambda: users.add_user(admin, username="temp1", name="Temp", email=None, password="a-good-password",
                               role=None, location_names=[], all_locations=False),
        lambda: users.set_role_and_locations(admin, fd, role="manager", location_names=["Downtown"]),
        lambda: users.reset_password(admin, fd, "brand-new-pass"),
        lambda: users.deactivate_user(admin, fd),
        lambda: users.reactivate_user(admin, fd),
        lambda: users.change_own_password(w.actors["harbordesk"], "correct-horse-42", "changed-pass-1"),
    ]  # fmt: skip
    for n, mutate in enumerate(mutations, start=1):
        mutate()
        assert _count() == n
    with read_session() as s:
        actions = list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["user.create", "user.set_role", "user.reset_password", "user.deactivate", "user.reactivate",
                       "user.change_password"]  # fmt: skip


def test_a_failed_mutation_leaves_no_audit_row_and_no_change(w):
    with pytest.raises(ValidationError):
        users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "short")
    with pytest.raises(ValidationError):
        users.set_role_and_locations(w.actors["admin"], w.users["admin"].id, role=None, location_names=[])
    assert _count() == 0


def test_a_rolled_back_change_takes_its_audit_row_with_it(w):
    with pytest.raises(RuntimeError), unit_of_work() as s:
        s.add(Location(name="Uptown", timezone="UTC"))
        audit.record(s, w.actors["admin"], "location.create", entity="location", after={"name": "Uptown"})
        s.flush()
        raise RuntimeError("something later in the same change failed")
    assert _count() == 0
    with read_session() as s:
        assert s.scalar(select(Location).where(Location.name == "Uptown")) is None


def test_a_row_has_time_actor_role_entity_location_and_values(w):
    before = datetime.now(UTC)
    with unit_of_work() as s:
        audit.record(s, w.actors["frontdesk"], "appointment.cancel", entity="appointment", entity_id=42,
                     location_id=w.locations["downtown"].id, before={"status": "booked"},
                     after={"status": "cancelled", "at": datetime(2030, 1, 1, tzinfo=UTC)}, reason="customer called")  # fmt: skip
    with read_session() as s:
        row = s.scalar(select(AuditLog))
        assert row.at.tzinfo is not None and before - timedelta(seconds=5) <= row.at
        assert (row.actor_id, row.actor_username, row.role) == (w.users["frontdesk"].id, "frontdesk", "front_desk")
        assert (row.action, row.entity, row.entity_id, row.location_id) == (
            "appointment.cancel", "appointment", "42", w.locations["downtown"].id,
        )  # fmt: skip
        assert row.before == {"status": "booked"}
        assert row.after == {"status": "cancelled", "at": "2030-01-01T00:00:00+00:00"}
        assert (row.reason, row.outcome) == ("customer called", "ok")


def test_the_database_refuses_to_update_or_delete_audit_rows(w):
    users.deactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    for statement in ("UPDATE audit_log SET action = 'nothing happened'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as s:
            s.execute(text(statement))
    with read_session() as s:
        assert list(s.scalars(select(AuditLog.action))) == ["user.deactivate"]


def test_the_orm_cannot_edit_an_audit_row_either(w):
    users.deactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as s:
        s.scalar(select(AuditLog)).reason = "rewritten history"


def test_a_denied_attempt_is_recorded_even_though_the_change_rolls_back(w):
    with pytest.raises(PermissionDenied):
        users.deactivate_user(w.actors["frontdesk"], w.users["manager"].id)
    assert (_count("ok"), _count("denied")) == (0, 1)
    with read_session() as s:
        assert s.get(User, w.users["manager"].id).active


def test_jsonable_makes_values_json_safe():
    class Colour(Enum):
        RED = "red"

    value = {"when": date(2030, 1, 2), "at": time(9, 30), "ids": {3, 1}, "c": Colour.RED, "n": Decimal("1.5"),
             "nested": [(1, 2)]}  # fmt: skip
    assert audit.jsonable(value) == {"when": "2030-01-02", "at": "09:30:00", "ids": [1, 3], "c": "red", "n": 1.5,
                                     "nested": [[1, 2]]}  # fmt: skip


# --- reading the trail ----------------------------------------------------------------------


def _history(w) -> None:
    """Three changes by two admins-to-be, and one refusal."""
    admin = w.actors["admin"]
    users.deactivate_user(admin, w.users["frontdesk"].id)
    users.reactivate_user(admin, w.users["frontdesk"].id)
    users.set_role_and_locations(SYSTEM, w.users["manager"].id, role="analyst", location_names=[])
    with pytest.raises(PermissionDenied):
        users.list_users(w.actors["harbordesk"])


def test_search_filters_by_user_action_entity_outcome_and_date(w):
    _history(w)
    admin = w.actors["admin"]
    rows, total = audit_log.search(admin)
    assert total == 4 and [r["action"] for r in rows][0] == "users.manage"  # newest first
    assert audit_log.search(admin, AuditFilter(username="system"))[1] == 1
    assert [r["action"] for r in audit_log.search(admin, AuditFilter(action="user.deactivate"))[0]] == [
        "user.deactivate"
    ]
    assert audit_log.search(admin, AuditFilter(entity="user"))[1] == 4
    assert audit_log.search(admin, AuditFilter(outcome="denied"))[0][0]["user"] == "harbordesk"
    today = datetime.now(UTC).date()
    assert audit_log.search(admin, AuditFilter(date_from=today, date_to=today))[1] == 4
    assert audit_log.search(admin, AuditFilter(date_from=today + timedelta(days=1)))[1] == 0
    assert audit_log.search(admin, AuditFilter(date_to=today - timedelta(days=1)))[1] == 0
    with pytest.raises(ValidationError, match="before the start date"):
        audit_log.search(admin, AuditFilter(date_from=today, date_to=today - timedelta(days=1)))


def test_search_names_the_users_rows_are_about(w):
    _history(w)
    rows, _ = audit_log.search(w.actors["admin"], AuditFilter(action="user.deactivate"))
    assert rows[0]["entity_name"] == "frontdesk"


def test_search_pages_but_counts_everything(w):
    _history(w)
    rows, total = audit_log.search(w.actors["admin"], limit=2)
    assert (len(rows), total) == (2, 4)


def test_filter_menus_list_what_occurs(w):
    _history(w)
    options = audit_log.filter_options(w.actors["admin"])
    assert options["user"] == ["admin", "harbordesk", "system"]
    assert options["action"] == ["user.deactivate", "user.reactivate", "user.set_role", "users.manage"]
    assert options["entity"] == ["user"]


@pytest.mark.parametrize("who", ["frontdesk", "provider", "manager", "analyst", "norole"])
def test_only_admins_read_the_audit_log(w, who):
    with pytest.raises(PermissionDenied):
        audit_log.search(w.actors[who])
    with pytest.raises(PermissionDenied):
        audit_log.export_csv(w.actors[who])
    assert _count("denied") == 2


def test_csv_export_has_every_matching_row_and_is_itself_audited(w):
    _history(w)
    data = audit_log.export_csv(w.actors["admin"], AuditFilter(outcome="ok"))
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [r["action"] for r in rows] == ["user.set_role", "user.reactivate", "user.deactivate"]
    assert list(rows[0]) == audit_log.EXPORT_COLUMNS
    assert rows[2]["before"] == '{"active": true}' and rows[2]["entity_name"] == "frontdesk"
    assert datetime.fromisoformat(rows[0]["at_utc"]).tzinfo is not None
    (export,) = audit_log.search(w.actors["admin"], AuditFilter(action="audit.export"))[0]
    assert export["after"] == {"filters": {"outcome": "ok"}, "rows": 3} and export["user"] == "admin"


def test_filters_describe_only_what_is_set():
    f = AuditFilter(username="admin", date_from=date(2030, 1, 1))
    assert f.describe() == {"username": "admin", "date_from": date(2030, 1, 1)}


def test_rows_name_what_they_are_about_and_show_times_in_the_viewers_zone(w):
    appt = book(w, at(10)).appointment
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(14), now=NOW)
    ids = {"ada": w.customers["ada"].id, "consult": w.types["consult"].id, "rao": w.providers["rao"].id}
    [row] = audit_log.search(w.actors["admin"], AuditFilter(action="appointment.reschedule"))[0]
    assert row["entity_name"] == "Ada Lovelace · Consultation · Dr. Rao · Mon 7 Jan 2030 14:00"  # its local time
    assert f"customer: Ada Lovelace (#{ids['ada']})" in row["before_named"]
    assert f"provider: Dr. Rao (#{ids['rao']})" in row["before_named"]
    assert "start: Mon 7 Jan 2030 10:00" in row["before_named"] and "start: Mon 7 Jan 2030 14:00" in row["after_named"]
    assert f"type: Consultation (#{ids['consult']})" in row["after_named"]
    # The admin works across locations: the first location's zone (New York), UTC kept beside it.
    assert row["time_zone"] == "America/New_York" and str(row["at_local"].tzinfo) == "America/New_York"
    assert row["at_local"] == row["at_utc"]  # the same instant
    [london] = audit_log.search(w.actors["admin"], AuditFilter(action="appointment.reschedule"), zone="Europe/London")[
        0
    ]
    assert str(london["at_local"].tzinfo) == london["time_zone"] == "Europe/London"
    with pytest.raises(ValidationError, match="Unknown time zone 'Mars/Olympus'"):
        audit_log.search(w.actors["admin"], zone="Mars/Olympus")


def test_the_csv_has_local_and_utc_times_and_names(w):
    appt = book(w, at(10)).appointment
    data = audit_log.export_csv(w.actors["admin"], AuditFilter(action="appointment.book"), zone="Europe/London")
    [row] = list(csv.DictReader(io.StringIO(data)))
    assert row["entity_id"] == str(appt.id) and row["entity_name"].startswith("Ada Lovelace · Consultation · Dr. Rao")
    assert datetime.fromisoformat(row["at_local"]) == datetime.fromisoformat(row["at_utc"])
    local = datetime.fromisoformat(row["at_local"])
    assert (
        local.utcoffset() == ZoneInfo("Europe/London").utcoffset(local.replace(tzinfo=None))
        and row["time_zone"] == "Europe/London"
    )
    assert "customer: Ada Lovelace (#" in row["after_named"] and '"customer_id"' in row["after"]
