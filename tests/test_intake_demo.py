"""The demo's intakes: on DemoSeeded, the coming appointments of a type with a form get an intake
in every state (not started, in part, completed by the customer, by the desk, on paper), each one
consistent with what the services would have written (the flag, what is missing, real files)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.config import reset_settings
from core.base.db import get_engine, read_session
from core.base.models import Appointment, ConsentRecord, IntakeAnswers, IntakeFile
from core.intake import demo, uploads
from core.scheduling.events import DemoSeeded
from tests.factories import world
from tests.intake_fixtures import LATE, START, book, publish


def test_demo_intakes_come_in_every_state(db, tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_UPLOADS_DIR", str(tmp_path / "uploads"))
    reset_settings()
    w = world()
    publish(w)
    ids = [book(w, start=START + timedelta(hours=h), now=LATE - timedelta(days=2)).id for h in range(5)]
    with get_engine().begin() as conn, Session(bind=conn) as session:
        demo.on_demo_seeded(session, DemoSeeded(at=LATE - timedelta(days=1)))  # the outbox's part is its own
        session.flush()
    with read_session() as s:
        rows = {r.appointment_id: r for r in s.scalars(select(IntakeAnswers))}
        complete = {a.id: a.intake_complete for a in s.scalars(select(Appointment).where(Appointment.id.in_(ids)))}
        files = s.scalars(select(IntakeFile)).all()
        signed_by = sorted(str(c.signed_by_user_id is None) for c in s.scalars(select(ConsentRecord)))
        states = [rows[i] for i in ids]
        assert [bool(r.answers) for r in states] == [False, True, True, True, False]
        assert [complete[i] for i in ids] == [False, False, True, True, True]
        assert states[1].missing and not states[2].missing and states[4].received_on_paper_at is not None
        assert len(files) == 2 and all(uploads.load(f.sha256) for f in files)
    assert signed_by == ["False", "True"]  # one by the customer, one by the desk on their behalf
