"""Customer search and creation stay inside the actor's locations."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select

from core.base import migrate
from core.base.db import read_session, unit_of_work
from core.base.errors import ConflictError, PermissionDenied, ValidationError
from core.base.models import Appointment, AuditLog, Customer
from core.people import phones
from core.people.customers import create_customer, get_customer, same_contact, search_customers
from tests.factories import world

T0 = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def _customer(name, email=None, phone=None, home=None) -> int:
    with unit_of_work() as s:
        c = Customer(name=name, email=email, phone=phone, home_location_id=home)
        s.add(c)
        s.flush()
        return c.id


def _appointment(w, customer_id, *, location="downtown", provider="rao", start=T0) -> None:
    with unit_of_work() as s:
        s.add(
            Appointment(
                location_id=w.locations[location].id,
                provider_id=w.providers[provider].id,
                type_id=w.types["consult"].id,
                customer_id=customer_id,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                block_start=start,
                block_end=start + timedelta(minutes=30),
            )
        )


def _names(found) -> list[str]:
    return [c.name for c in found]


def test_front_desk_finds_customers_at_home_in_their_location_only(db):
    w = world()
    _customer("Grace Hopper", home=w.locations["downtown"].id)
    _customer("Grace Harbor", home=w.locations["harbor"].id)
    assert _names(search_customers(w.actors["frontdesk"], "grace")) == ["Grace Hopper"]
    assert _names(search_customers(w.actors["harbordesk"], "grace")) == ["Grace Harbor"]
    assert _names(search_customers(w.actors["admin"], "grace")) == ["Grace Harbor", "Grace Hopper"]


def test_a_customer_with_an_appointment_at_the_location_is_found_there(db):
    w = world()
    emmy = _customer("Emmy Noether")
    assert search_customers(w.actors["frontdesk"], "Emmy") == []  # no home, no appointment yet
    _appointment(w, emmy)
    assert _names(search_customers(w.actors["frontdesk"], "Emmy")) == ["Emmy Noether"]
    assert search_customers(w.actors["harbordesk"], "Emmy") == []


def test_search_matches_name_email_and_phone_digits(db):
    w = world()
    home = w.locations["downtown"].id
    _customer("Grace Hopper", email="grace@navy.test", phone="+12125550147", home=home)
    fd = w.actors["frontdesk"]
    assert _names(search_customers(fd, "HOPP")) == ["Grace Hopper"]
    assert _names(search_customers(fd, "navy.test")) == ["Grace Hopper"]
    assert _names(search_customers(fd, "+1 212 555 0147")) == ["Grace Hopper"]
    assert _names(search_customers(fd, "(212) 555-0147")) == ["Grace Hopper"]
    assert _names(search_customers(fd, "555-014")) == ["Grace Hopper"]
    assert search_customers(fd, "g") == []
    assert search_customers(fd, "  ") == []
    assert search_customers(fd, "%") == []  # a wildcard character is matched literally


def test_email_text_never_matches_phone_digits(db):
    w = world()
    home = w.locations["downtown"].id
    _customer("Amelia Ali", email="amelia.ali607@example.com", phone="+12125550999", home=home)
    for n in range(3):
        _customer(f"Stranger {n}", email=f"s{n}@example.com", phone=f"+1212555{n}607", home=home)
    fd = w.actors["frontdesk"]
    assert _names(search_customers(fd, "amelia.ali607")) == ["Amelia Ali"]
    assert _names(search_customers(fd, "607")) == ["Amelia Ali"]  # three digits: email text only, no phones
    assert _names(search_customers(fd, "0607")) == ["Stranger 0"]


def test_a_national_number_finds_the_stored_international_one_in_the_locations_country(db):
    w = world()
    _customer("Mary Quay", phone="+442079460123", home=w.locations["harbor"].id)
    assert _names(search_customers(w.actors["harbordesk"], "020 7946 0123")) == ["Mary Quay"]


def test_search_respects_the_limit(db):
    w = world()
    for i in range(5):
        _customer(f"Twin {i}", home=w.locations["downtown"].id)
    assert len(search_customers(w.actors["frontdesk"], "twin", limit=3)) == 3


def test_a_provider_finds_only_their_own_customers(db):
    w = world()
    mine = _customer("Mine Customer", home=w.locations["downtown"].id)
    theirs = _customer("Theirs Customer", home=w.locations["downtown"].id)
    _appointment(w, mine, provider="rao")
    _appointment(w, theirs, provider="kim")
    assert _names(search_customers(w.actors["provider"], "customer")) == ["Mine Customer"]


def test_an_analyst_may_not_search_customers_and_the_attempt_is_audited(db):
    w = world()
    with pytest.raises(PermissionDenied):
        search_customers(w.actors["analyst"], "Ada")
    with read_session() as s:
        row = s.execute(select(AuditLog.action, AuditLog.actor_username).where(AuditLog.outcome == "denied")).one()
    assert tuple(row) == ("customer.view", "analyst")


def test_create_customer_saves_and_audits(db):
    w = world()
    created = create_customer(
        w.actors["frontdesk"],
        name="  Grace Hopper ",
        email="grace@navy.test",
        phone="(212) 555-0147",
        location_id=w.locations["downtown"].id,
    )
    assert created.id and created.name == "Grace Hopper" and created.phone == "+12125550147"
    with read_session() as s:
        home = s.scalar(select(Customer.home_location_id).where(Customer.id == created.id))
        audit_row = s.execute(
            select(AuditLog.entity_id, AuditLog.actor_username).where(AuditLog.action == "customer.create")
        ).one()
    assert home == w.locations["downtown"].id
    assert tuple(audit_row) == (str(created.id), "frontdesk")
    assert _names(search_customers(w.actors["frontdesk"], "hopper")) == ["Grace Hopper"]
    assert get_customer(w.actors["frontdesk"], created.id).email == "grace@navy.test"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "name"),
        ({"name": "Grace", "email": "grace-at-navy"}, "email address"),
        ({"name": "Grace", "phone": "555-CALL-NOW"}, "phone number"),
        ({"name": "Grace", "phone": "12345"}, "phone number"),
        ({"name": "Grace", "phone": "555 0100"}, "'555 0100' is not a phone number: type a US number, or"),
    ],
)
def test_create_customer_refuses_bad_input_and_writes_nothing(sqlite_db, fields, message):
    w = world()
    with pytest.raises(ValidationError, match=message):
        create_customer(w.actors["frontdesk"], location_id=w.locations["downtown"].id, **fields)
    with read_session() as s:
        assert s.scalar(select(Customer.id).where(Customer.name == "Grace")) is None


def test_create_customer_outside_the_actors_locations_is_denied(db):
    w = world()
    with pytest.raises(PermissionDenied):
        create_customer(w.actors["frontdesk"], name="Grace", location_id=w.locations["harbor"].id)
    with pytest.raises(PermissionDenied):
        create_customer(w.actors["analyst"], name="Grace", location_id=w.locations["downtown"].id)
    with read_session() as s:
        assert s.scalar(select(Customer.id).where(Customer.name == "Grace")) is None
        denied = s.scalars(select(AuditLog.action).where(AuditLog.outcome == "denied")).all()
    assert denied == ["customer.manage", "customer.manage"]


def test_an_email_already_on_file_is_a_conflict_naming_only_visible_customers_and_confirming_no_other(db):
    w = world()
    _customer("Grace Hopper", email="grace@navy.test", home=w.locations["downtown"].id)
    with pytest.raises(ConflictError, match="Grace Hopper"):
        create_customer(
            w.actors["frontdesk"], name="G H", email="GRACE@navy.test", location_id=w.locations["downtown"].id
        )
    with pytest.raises(
        ConflictError, match="^A new customer cannot be added with grace@navy.test: search your locations"
    ):
        create_customer(
            w.actors["harbordesk"], name="G H", email="grace@navy.test", location_id=w.locations["harbor"].id
        )


@pytest.mark.parametrize(
    ("location", "typed", "stored"),
    [
        ("downtown", "(212) 555-0147", "+12125550147"),
        ("downtown", "+1 212 555 0147", "+12125550147"),
        ("downtown", "+44 20 7946 0123", "+442079460123"),  # a country code wins over the location's
        ("harbor", "020 7946 0123", "+442079460123"),
    ],
)
def test_phones_are_stored_as_e164_read_in_the_locations_country(db, location, typed, stored):
    w = world()
    actor = w.actors["admin"]
    created = create_customer(actor, name="Grace Hopper", phone=typed, location_id=w.locations[location].id)
    assert get_customer(actor, created.id).phone == stored


def test_the_migration_normalises_stored_phones_and_keeps_unreadable_ones_as_typed(db, caplog):
    w = world()
    typed = {
        "New Yorker": ("(212) 555-0147", w.locations["downtown"].id, "+12125550147"),
        "Londoner": ("020 7946 0123", w.locations["harbor"].id, "+442079460123"),
        "Traveller": ("+44 20 7946 0124", w.locations["downtown"].id, "+442079460124"),
        "Homeless": ("+1 212 555 0148", None, "+12125550148"),
        "Unreadable": ("555 0100", w.locations["downtown"].id, "555 0100"),
    }
    ids = {name: _customer(name, phone=phone, home=home) for name, (phone, home, _) in typed.items()}
    cfg = migrate.alembic_config()
    for step, target in ((command.downgrade, "0013-1"), (command.upgrade, "head")):  # 0013: phones_e164
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)
    with read_session() as s:
        stored = {name: s.get(Customer, ident).phone for name, ident in ids.items()}
    assert stored == {name: expected for name, (_, _, expected) in typed.items()}
    assert f"1 did not read as phone numbers and were kept as typed (customer ids {ids['Unreadable']})" in caplog.text


def test_stored_phones_are_shown_the_way_people_read_them_and_masks_as_they_are():
    assert phones.display("+12125550147") == "+1 212-555-0147"
    assert phones.display("+442079460123") == "+44 20 7946 0123"
    assert [phones.display(t) for t in ("***-47", "555 0100", None)] == ["***-47", "555 0100", None]


def test_a_new_customers_phone_or_email_finds_the_customer_who_has_it(db):
    """Issue 31 item 15: the desk is offered the existing record before adding a second one."""
    w = world()
    downtown = w.locations["downtown"].id
    owen = _customer("Owen Moore", email="owen@example.test", phone="+12125550147", home=downtown)
    fd = w.actors["frontdesk"]

    def found(**typed):
        return [c.id for c in same_contact(fd, location_id=downtown, now=T0, **typed)]

    assert found(phone="(212) 555-0147", email=None) == [owen]  # typed as the desk types it, read in the US
    assert found(phone=None, email="  OWEN@example.test ") == [owen]
    assert found(phone="212 555 01", email="owen@") == []  # half-typed: nobody yet
    assert same_contact(w.actors["harbordesk"], phone="+1 212 555 0147", email=None,
                        location_id=w.locations["harbor"].id) == []  # fmt: skip  # not in their scope
    _appointment(w, owen, start=T0 - timedelta(days=7))
    (match,) = same_contact(fd, phone="+1 212 555 0147", email=None, location_id=downtown, now=T0)
    assert match.label == "Owen Moore · owen@example.test · +1 212-555-0147 · last visit Mon 31 Dec 2029"


def test_namesakes_in_search_are_told_apart_by_contact_and_last_visit(db):
    w = world()
    downtown = w.locations["downtown"].id
    first = _customer("Owen Moore", phone="+12125550147", home=downtown)
    _customer("Owen Moore", home=downtown)
    _customer("Owena Smith", home=downtown)
    _appointment(w, first, start=T0 - timedelta(days=1))
    _appointment(w, first, start=T0 + timedelta(days=1))  # ahead: not a visit yet
    labels = [c.label for c in search_customers(w.actors["frontdesk"], "Owen", now=T0)]
    assert labels == [
        "Owen Moore · +1 212-555-0147 · last visit Sun 6 Jan",
        "Owen Moore · no visits yet",
        "Owena Smith",
    ]
