"""The waitlist panel and dialog of today's page, driven with AppTest: who is waiting, adding
someone (from the panel and from the Book dialog), removing with a reason, and what each role sees."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import AuditLog, WaitlistEntry
from core.scheduling import booking, waitlist
from pages.safe import ZWSP
from tests.factories import world
from tests.test_today_page import _book, _click, _next_monday, _page, _said, _shown


@pytest.fixture
def w(sqlite_db):
    return world()


def _wait(w, day, customer="alan", **kw) -> int:
    return waitlist.add_entry(
        w.actors["frontdesk"], customer_id=w.customers[customer].id, location_id=w.locations["downtown"].id,
        type_id=w.types["consult"].id, earliest_date=day, latest_date=day + timedelta(days=7), **kw,
    ).id  # fmt: skip


def _texts(at) -> list[str]:
    """What a person reads in the page's text and captions (bold marks and link breakers aside)."""
    raw = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return [_shown(t.replace("**", "")).replace(ZWSP, "") for t in raw]  # escaped asterisks are text


def _entries() -> list[dict]:
    with read_session() as s:
        table = WaitlistEntry.__table__
        return [dict(r._mapping) for r in s.execute(select(table).order_by(table.c.id))]


def test_the_desk_sees_who_is_waiting_with_preferences_and_contacts(w):
    day = _next_monday()
    _wait(w, day, provider_id=w.providers["rao"].id, notes="Mornings only",
          preferences=waitlist.Preferences(weekdays=(0, 2), start_until=time(12)))  # fmt: skip
    at = _page(w, "frontdesk", day)
    assert "Waiting (1)" in [h.value for h in at.subheader]
    texts = _texts(at)
    assert any("Alan Turing · Consultation with Dr. Rao · waiting since today" in t for t in texts)
    assert any("Mon, Wed · opening–12:00 · +44 20 7946 0000 · alan@example.test · Mornings only" in t for t in texts)


def test_an_analyst_sees_the_list_masked_and_without_buttons(w):
    day = _next_monday()
    _wait(w, day, notes="Call her on the mobile")
    at = _page(w, "analyst", day)
    texts = _texts(at)
    assert any("***-00 · a***@example.test" in t for t in texts)
    assert not any("7946" in t or "mobile" in t for t in texts)
    assert "Add to waitlist" not in [b.label for b in at.button]
    assert not any(k.startswith("waitlist_remove_") for k in (b.key for b in at.button))


def test_remove_needs_a_reason_and_the_reason_is_audited(w):
    day = _next_monday()
    entry_id = _wait(w, day)
    at = _page(w, "frontdesk", day)
    _click(at, f"waitlist_remove_{entry_id}")  # a form: the click sends what is typed, and none is refused
    assert "Give a reason for removing the customer from the waitlist." in [_shown(e.value) for e in at.error]
    assert [e["status"] for e in _entries()] == ["waiting"]
    at.text_input(key=f"waitlist_reason_{entry_id}").input("Booked at another clinic")  # sent with the click
    _click(at, f"waitlist_remove_{entry_id}")
    assert "Removed Alan Turing from the waitlist." in _said(at)
    assert [e["status"] for e in _entries()] == ["cancelled"]
    with read_session() as s:
        reason = s.scalar(
            select(AuditLog.reason).where(AuditLog.entity == "waitlist_entry").order_by(AuditLog.id.desc())
        )
    assert reason == "Booked at another clinic"
    assert "Waiting (0)" in [h.value for h in at.subheader]


def test_add_to_waitlist_from_the_panel(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "waitlist_add")
    at.text_input(key="dlg_wl_query").input("Lovelace").run()
    at.selectbox(key="dlg_wl_provider").set_value(w.providers["kim"].id)
    at.text_area(key="dlg_wl_note").input("Prefers afternoons")
    at.time_input(key="dlg_wl_after").set_value(time(13)).run()
    _click(at, "dlg_wl_confirm")
    [entry] = _entries()
    assert (entry["customer_id"], entry["provider_id"], entry["status"]) == (
        w.customers["ada"].id,
        w.providers["kim"].id,
        "waiting",
    )
    assert (entry["preferred_from"], entry["preferred_until"], entry["notes"]) == (time(13), None, "Prefers afternoons")
    assert (entry["earliest_date"], entry["latest_date"]) == (day, day + timedelta(days=14))
    assert any(t.startswith("Added to the waitlist at Downtown") for t in _said(at))


def test_add_to_waitlist_from_the_book_dialog_keeps_the_customer_and_type(w):
    day = _next_monday()
    at = _click(_page(w, "frontdesk", day), "today_book")
    at.selectbox(key="dlg_type").set_value(w.types["followup"].id).run()
    at.text_input(key="dlg_customer_query").input("Turing").run()
    _click(at, "dlg_to_waitlist")
    assert any("Customer: Alan Turing" in t for t in _texts(at))
    assert at.selectbox(key="dlg_wl_type").value == w.types["followup"].id
    _click(at, "dlg_wl_confirm")
    [entry] = _entries()
    assert (entry["customer_id"], entry["type_id"]) == (w.customers["alan"].id, w.types["followup"].id)


def test_an_offer_shows_the_phone_and_the_preference_note(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    _wait(w, day, notes="Any morning is fine")
    booking.cancel(w.actors["frontdesk"], appt, reason="Customer called")
    texts = _texts(_page(w, "frontdesk", day))
    assert any("for Alan Turing · +44 20 7946 0000" in t for t in texts)
    assert any("prefers any time · Any morning is fine" in t for t in texts)
