"""Correcting a customer's details in their panel on the today page, driven with AppTest: the
change is shown before it is saved, saving goes through update_customer (audited, customer.updated
queued), a bad email or phone is one sentence with nothing written, and only roles that may manage
customers get the form."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.base.db import read_session
from core.base.models import Customer
from core.base.tz import today_in
from tests.factories import at as ny
from tests.factories import audit_rows, book, world

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "today.py")


@pytest.fixture
def w(db):
    return world()


def _open(w, user: str, query: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["user_id"] = w.users[user].id
    at.query_params["date"] = (today_in("America/New_York") + timedelta(days=7)).isoformat()
    at.run()
    at.text_input(key="today_customer_query").input(query).run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _text(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def _customer(customer_id: int) -> Customer:
    with read_session() as s:
        c = s.get(Customer, customer_id)
        s.expunge_all()
        return c


def test_front_desk_reviews_then_saves_a_customers_new_email_and_phone(w):
    ada = w.customers["ada"]
    at = _open(w, "frontdesk", "ada")
    at.text_input(key=f"cust_email_{ada.id}").input("ada.king@example.test")
    at.text_input(key=f"cust_phone_{ada.id}").input("(212) 555-0199")
    _button(at, "Review changes").click().run()
    shown = " ".join(_text(m.value) for m in at.markdown)
    assert "Email:" in shown and "→ **ada.king@example.test**" in shown and "+1 212-555-0199" in shown
    assert "Name:" not in shown  # only what changes is listed
    assert _customer(ada.id).email == ada.email  # nothing written before Save
    _button(at, "Save changes").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = _customer(ada.id)
    assert (saved.email, saved.phone, saved.name) == ("ada.king@example.test", "+12125550199", ada.name)
    assert any("Saved" in _text(s.value) for s in at.success)
    assert audit_rows(entity="customer", entity_id=str(ada.id), action="customer.update")


def test_a_bad_email_or_phone_is_one_sentence_and_nothing_is_written(w):
    ada = w.customers["ada"]
    at = _open(w, "manager", "ada")
    at.text_input(key=f"cust_email_{ada.id}").input("ada-at-example")
    _button(at, "Review changes").click().run()
    assert [_text(e.value) for e in at.error] == [
        "'ada-at-example' does not look like an email address (like name@example.com)."
    ]
    assert not any(b.label == "Save changes" for b in at.button)
    at.text_input(key=f"cust_email_{ada.id}").input(ada.email or "")
    at.text_input(key=f"cust_phone_{ada.id}").input("call me")
    _button(at, "Review changes").click().run()
    assert "is not a phone number" in _text(at.error[0].value)
    assert _customer(ada.id).phone == ada.phone and _customer(ada.id).email == ada.email


def test_unchanged_details_say_so_and_a_provider_gets_no_form(w):
    ada = w.customers["ada"]
    at = _open(w, "frontdesk", "ada")
    _button(at, "Review changes").click().run()
    assert any("nothing to change" in _text(i.value) for i in at.info)
    book(w, ny(10))  # Ada with Dr. Rao: the provider finds her, and may see her details
    at = _open(w, "provider", "ada")
    assert any(ada.name in e.label for e in at.expander)
    assert not any(b.label == "Review changes" for b in at.button)
    assert f"cust_name_{ada.id}" not in [t.key for t in at.text_input]


def test_the_preview_refuses_an_analyst_as_the_service_does(w):
    from core.base.errors import PermissionDenied
    from core.people import customers

    with pytest.raises(PermissionDenied):
        customers.update_preview(w.actors["analyst"], w.customers["ada"].id, name="Someone Else")
