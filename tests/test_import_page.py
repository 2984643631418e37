"""The Import page with AppTest: upload, the guessed mapping and status words, the preview of
parsed values, the dry run's rejection summary, then the import through its confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.base.db import read_session
from core.base.models import Appointment, AuditLog
from tests.factories import shown, world

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "import.py")
CSV = (
    b"Visit,Patient,Clinic,Start,Booked,Outcome\n"
    b"V1,Jane Roe,Downtown,2016-04-28T09:00,2016-04-01,Seen\n"
    b"V2,Bob Poe,Downtown,2016-04-28T10:00,2016-04-02,DNA\n"
    b"V3,Cy Doe,Uptown,2016-04-29T10:00,2016-04-02,Seen\n"
)


@pytest.fixture
def w(sqlite_db):
    return world()


def _page(w, user: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_id"] = w.users[user].id
    return at.run()


def _count() -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(Appointment))


def test_an_admin_uploads_maps_checks_and_imports(w):
    at = _page(w, "admin")
    assert not at.exception and "Upload a CSV file" in at.info[0].value
    at.file_uploader(key="import_file").set_value(("history.csv", CSV, "text/csv")).run()
    assert not at.exception
    # Guessed from the header: Visit -> external id, Patient -> customer name, Clinic -> location, ...
    by_label = {s.label: s for s in at.selectbox}
    assert by_label["external id *"].value == "Visit" and by_label["status *"].value == "Outcome"
    assert by_label["customer name"].value == "Patient" and by_label["location *"].value == "Clinic"
    by_label["“Seen”"].set_value("completed")
    by_label["“DNA”"].set_value("no_show")
    at.run()
    preview = at.dataframe[1].value
    assert list(preview["start (local)"])[:2] == ["2016-04-28 09:00", "2016-04-28 10:00"]
    assert "unknown location 'Uptown'" in list(preview["problem"])[2]
    next(b for b in at.button if b.label.startswith("Dry run")).click().run()
    assert [m.value for m in at.metric] == ["2", "0", "0", "1"]
    assert any("unknown location" in t.value for t in at.text)
    assert _count() == 0
    next(b for b in at.button if b.label == "Import…").click().run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert _count() == 2
    with read_session() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "import.appointments")) == 1
    assert any("Imported history.csv: 2 new" in shown(m.value) for m in at.success)


def test_a_file_that_is_not_utf8_is_one_message_and_a_manager_cannot_open_the_page(w):
    at = _page(w, "admin")
    at.file_uploader(key="import_file").set_value(("bad.csv", "a,b\nZoë,1\n".encode("latin-1"), "text/csv")).run()
    assert "not UTF-8 text" in shown(at.error[0].value) and not at.exception
    at = _page(w, "manager")
    assert at.error[0].value == "You do not have access to this page."
