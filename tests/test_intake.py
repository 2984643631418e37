"""Editing an appointment's intake: required fields named when missing, the answers replaced
and the intake complete, with history, audit and scope like every edit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.errors import NotFound, PermissionDenied, ValidationError
from core.base.models import Appointment, AppointmentHistory, AppointmentType
from core.scheduling import booking
from tests.factories import at, audit_rows, book, world


def _intake(appointment_id: int) -> tuple[dict, bool]:
    with read_session() as s:
        appt = s.get(Appointment, appointment_id)
        return appt.intake_answers, appt.intake_complete


def test_editing_the_intake_completes_it_with_history_and_audit(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    assert _intake(appt_id) == ({}, False)
    booking.edit_intake(w.actors["frontdesk"], appt_id, {"reason": " knee pain "})
    assert _intake(appt_id) == ({"reason": "knee pain"}, True)
    (row,) = audit_rows(action="appointment.note", entity_id=str(appt_id))
    assert row.before == {"intake_answers": {}, "intake_complete": False}
    assert row.after == {"intake_answers": {"reason": "knee pain"}, "intake_complete": True}
    with read_session() as s:
        kinds = list(
            s.scalars(
                select(AppointmentHistory.kind)
                .where(AppointmentHistory.appointment_id == appt_id)
                .order_by(AppointmentHistory.id)
            )
        )
    assert kinds == ["created", "edit"]


def test_a_missing_required_answer_is_named_and_nothing_changes(db):
    w = world()
    with unit_of_work() as s:
        s.get(AppointmentType, w.types["consult"].id).intake_fields = [
            {"name": "reason", "label": "Reason for visit", "required": True},
            {"name": "meds", "label": "Current medication", "required": True},
            {"name": "ref", "label": "Referred by", "required": False},
        ]
    appt_id = book(w, at(10)).appointment.id
    with pytest.raises(ValidationError, match="^Reason for visit and Current medication are required for Consultation"):
        booking.edit_intake(w.actors["frontdesk"], appt_id, {"ref": "Dr. Who"})
    with pytest.raises(ValidationError, match="^Current medication is required"):
        booking.edit_intake(w.actors["frontdesk"], appt_id, {"reason": "knee", "meds": "   "})
    assert _intake(appt_id) == ({}, False) and not audit_rows(action="appointment.note")


def test_the_same_answers_again_are_refused(db):
    w = world()
    appt_id = book(w, at(10), intake={"reason": "knee"}).appointment.id
    with pytest.raises(ValidationError, match="already the intake answers"):
        booking.edit_intake(w.actors["frontdesk"], appt_id, {"reason": "knee"})


def test_intake_edits_follow_scope(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    kims = book(w, at(10), provider="kim", customer="alan").appointment.id
    booking.edit_intake(w.actors["provider"], appt_id, {"reason": "knee"})  # Dr. Rao's own appointment
    with pytest.raises(NotFound, match=f"Unknown appointment #{kims}."):
        booking.edit_intake(w.actors["provider"], kims, {"reason": "knee"})
    with pytest.raises(NotFound, match=f"Unknown appointment #{appt_id}."):
        booking.edit_intake(w.actors["harbordesk"], appt_id, {"reason": "back"})
    with pytest.raises(PermissionDenied):
        booking.edit_intake(w.actors["analyst"], appt_id, {"reason": "back"})
    assert _intake(kims) == ({}, False)
