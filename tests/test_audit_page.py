"""The audit log page, driven with AppTest: rows read with names beside ids and times in the
viewer's zone, UTC beside them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.scheduling import booking
from tests.factories import NOW, at, book, world

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "audit_log.py")


@pytest.fixture
def w(sqlite_db, fast_passwords):
    return world()


def _page(w) -> AppTest:
    page = AppTest.from_file(PAGE, default_timeout=30)
    page.session_state["user_id"] = w.users["admin"].id
    page.run()
    assert not page.exception, page.exception
    return page


def test_rows_show_names_beside_ids_and_local_times_beside_utc(w):
    appt = book(w, at(10)).appointment
    booking.cancel(w.actors["frontdesk"], appt.id, reason="Customer called", now=NOW)
    page = _page(w)
    frame = page.dataframe[0].value
    assert list(frame.columns) == [
        "Time (America/New_York)", "User", "Role", "Action", "Outcome", "About", "Location", "Before", "After",
        "Reason", "UTC",
    ]  # fmt: skip
    cancel = frame[frame["Action"] == "appointment.cancel"].iloc[0]
    assert cancel["About"] == f"appointment #{appt.id} · Ada Lovelace · Consultation · Dr. Rao · Mon 7 Jan 2030 10:00"
    assert f"customer: Ada Lovelace (#{w.customers['ada'].id})" in cancel["Before"]
    assert "status: booked" in cancel["Before"] and "status: cancelled" in cancel["After"]
    assert cancel["Time (America/New_York)"] != cancel["UTC"]  # New York is never at UTC
    page.selectbox(key="audit_zone").set_value("Europe/London").run()
    assert "Time (Europe/London)" in page.dataframe[0].value.columns
