"""The demo's intake forms: every definition is what parse_definition makes of it, the seeder
publishes them (the new patient form in two versions) with each type's pre-visit instructions,
and the new patient form asks what the issue asks for (a condition, an insurance card upload, a
treatment consent valid 12 months)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.base.models import AppointmentType
from core.demo.intake_forms import FORMS, INSTRUCTIONS, NEW_PATIENT_V2
from core.intake import forms
from core.intake.definition import missing, parse_definition, visible_questions
from core.intake.models import IntakeForm
from tests.test_demo import NOW, seed


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_demo_form_is_a_valid_normalised_definition(name):
    for definition in FORMS[name]:
        assert parse_definition(definition) == definition


@pytest.mark.unit
def test_the_new_patient_form_has_a_condition_an_insurance_card_and_a_yearly_consent():
    by_key = {q["key"]: q for q in NEW_PATIENT_V2["questions"]}
    assert by_key["insurance_card"]["kind"] == "file" and by_key["treatment_consent"]["valid_for"] == {"months": 12}
    insured = {"has_referral": False, "insurance": "Insurance", "age": 34}
    assert "insurance_card" in {q["key"] for q in visible_questions(NEW_PATIENT_V2, insured)}
    assert "insurance_card" not in {
        q["key"] for q in visible_questions(NEW_PATIENT_V2, {**insured, "insurance": "Self-pay"})
    }
    todo = {m["key"] for m in missing(NEW_PATIENT_V2, {**insured, "age": 15}, set(), set())}
    assert {"guardian_name", "insurance_card", "treatment_consent", "date_of_birth"} <= todo
    assert "referral_letter" not in todo


def test_seeding_publishes_the_forms_and_the_instructions(sqlite_db):
    seed(300)
    with read_session() as s:
        types = dict(s.execute(select(AppointmentType.name, AppointmentType.id)).all())
        versions = {name: forms.current_form(s, types[name])[1] for name in FORMS}
        instructions = dict(s.execute(select(AppointmentType.name, AppointmentType.pre_visit_instructions)).all())
        assert forms.current_form(s, types["New patient consultation"])[2] == NEW_PATIENT_V2
        assert forms.current_form(s, types["Follow-up visit"]) is None
        when = s.scalars(
            select(IntakeForm.published_at)
            .where(IntakeForm.appointment_type_id == types["New patient consultation"])
            .order_by(IntakeForm.version)
        ).all()
    assert when == [NOW - timedelta(days=300), NOW - timedelta(days=21)]
    assert versions["New patient consultation"] == 2 and set(versions.values()) == {1, 2}
    assert instructions == INSTRUCTIONS
