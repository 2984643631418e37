"""Intake form versions (core/intake/forms.py): drafts, immutable published versions, the
pre-visit instructions; permission, scope and audit; the database refusing to rewrite a version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied, ValidationError
from core.base.models import AppointmentType, AuditLog
from core.intake import forms
from core.intake.models import IntakeForm, IntakeFormDraft
from tests.factories import audit_rows, world

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
FORM_YAML = """
questions:
  - key: has_referral
    label: Do you have a referral?
    kind: yes_no
    required: true
  - key: referral
    label: Referral letter
    kind: file
    required: true
    show_if: {key: has_referral, op: eq, value: true}
"""


def _count(model) -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_publishing_makes_numbered_versions_and_earlier_ones_stay_as_they_were(db):
    w = world()
    admin, consult = w.actors["admin"], w.types["consult"].id
    draft = forms.save_draft(admin, consult, FORM_YAML, now=NOW)
    assert [q["key"] for q in draft["questions"]] == ["has_referral", "referral"]
    assert forms.publish_form(admin, consult, now=NOW) == 1
    with read_session() as s:
        first_id, version, first = forms.current_form(s, consult)
    assert version == 1 and first == draft
    changed = {"questions": [*draft["questions"], {"key": "age", "label": "Age", "kind": "number"}]}
    forms.save_draft(admin, consult, changed, now=NOW)
    assert forms.publish_form(admin, consult, now=NOW) == 2
    with read_session() as s:
        assert forms.current_form(s, consult)[1:] == (2, forms.parse_definition(changed))
        assert forms.form_by_id(s, first_id) == (first_id, 1, first)
        assert forms.current_form(s, w.types["followup"].id) is None
    assert _count(IntakeFormDraft) == 0
    state = forms.editor_state(admin, consult)
    assert [(v.version, v.published_by, v.questions) for v in state.versions] == [(2, "admin", 3), (1, "admin", 2)]
    assert state.draft is None and state.current[1] == 2
    reasons = audit_rows(AuditLog.entity == "intake_form", fields=["reason"])
    assert reasons == [
        ("intake form draft of Consultation saved",),
        ("intake form of Consultation published as version 1",),
        ("intake form draft of Consultation saved",),
        ("intake form of Consultation published as version 2",),
    ]


def test_the_database_refuses_to_change_or_delete_a_published_version(db):
    w = world()
    forms.save_draft(w.actors["admin"], w.types["consult"].id, FORM_YAML, now=NOW)
    forms.publish_form(w.actors["admin"], w.types["consult"].id, now=NOW)
    for statement in ("UPDATE intake_forms SET version = 7", "DELETE FROM intake_forms"):
        with pytest.raises(DBAPIError) as err, unit_of_work() as s:
            s.execute(text(statement))
        assert "intake_forms is immutable" in str(err.value)
    with read_session() as s:
        assert s.scalars(select(IntakeForm.version)).all() == [1]


def test_a_bad_definition_is_refused_in_one_sentence_and_writes_nothing(db):
    w = world()
    admin, consult = w.actors["admin"], w.types["consult"].id
    with pytest.raises(ValidationError) as err:
        forms.save_draft(
            admin, consult, {"questions": [{"key": "a", "label": "Allergies", "kind": "single_choice", "choices": []}]}
        )
    assert str(err.value) == "Question 1 ('Allergies') has an empty choice list: add at least one choice."
    with pytest.raises(ValidationError) as err:
        forms.save_draft(admin, consult, "questions:\n  - key: a\n   label: x")
    assert str(err.value) == "The form is not readable YAML at line 3: check the indentation and the colons."
    with pytest.raises(ValidationError) as err:
        forms.publish_form(admin, consult)
    assert str(err.value) == "Consultation has no draft intake form to publish: save one first."
    assert _count(IntakeFormDraft) == _count(IntakeForm) == 0
    assert audit_rows(AuditLog.entity == "intake_form") == []


def test_publishing_what_is_already_published_or_saving_it_again_is_refused(db):
    w = world()
    admin, consult = w.actors["admin"], w.types["consult"].id
    forms.save_draft(admin, consult, FORM_YAML)
    with pytest.raises(ValidationError, match="already the intake form of Consultation"):
        forms.save_draft(admin, consult, FORM_YAML)
    forms.publish_form(admin, consult)
    with pytest.raises(ValidationError, match="already the intake form of Consultation"):
        forms.save_draft(admin, consult, FORM_YAML)
    forms.save_draft(admin, consult, FORM_YAML.replace("Referral letter", "Referral"))
    forms.discard_draft(admin, consult)
    assert forms.editor_state(admin, consult).draft is None


def test_only_settings_managers_at_every_location_of_the_type_change_its_form(db):
    w = world()
    consult = w.types["consult"].id
    for role in ("frontdesk", "analyst", "provider"):
        with pytest.raises(PermissionDenied):
            forms.save_draft(w.actors[role], consult, FORM_YAML)
    with pytest.raises(PermissionDenied, match="offered at every location"):
        forms.save_draft(w.actors["manager"], consult, FORM_YAML)  # the world's types are offered everywhere
    with unit_of_work() as s:
        s.get(AppointmentType, consult).locations = [s.merge(w.locations["downtown"])]
        s.get(AppointmentType, w.types["class"].id).locations = [s.merge(w.locations["harbor"])]
    forms.save_draft(w.actors["manager"], consult, FORM_YAML)
    assert forms.publish_form(w.actors["manager"], consult) == 1
    with pytest.raises(ValidationError, match="Unknown appointment type"):  # elsewhere: as if it did not exist
        forms.save_draft(w.actors["manager"], w.types["class"].id, FORM_YAML)
    with pytest.raises(ValidationError, match="Unknown appointment type"):
        forms.editor_state(w.actors["manager"], w.types["class"].id)
    assert _count(IntakeForm) == 1


def test_pre_visit_instructions_are_kept_cleared_and_audited(db):
    w = world()
    admin, consult = w.actors["admin"], w.types["consult"].id
    forms.set_instructions(admin, consult, "  Bring your insurance card.  ")
    assert forms.editor_state(admin, consult).instructions == "Bring your insurance card."
    with pytest.raises(ValidationError, match="already the pre-visit instructions"):
        forms.set_instructions(admin, consult, "Bring your insurance card.")
    with pytest.raises(ValidationError, match="at most 4000 characters"):
        forms.set_instructions(admin, consult, "x" * 4001)
    forms.set_instructions(admin, consult, "")
    assert forms.editor_state(admin, consult).instructions is None
    rows = audit_rows(AuditLog.entity == "appointment_type", fields=["before", "after"])
    assert rows == [
        ({"pre_visit_instructions": None}, {"pre_visit_instructions": "Bring your insurance card."}),
        ({"pre_visit_instructions": "Bring your insurance card."}, {"pre_visit_instructions": None}),
    ]


def test_yes_and_no_in_yaml_stay_text_and_only_true_false_are_booleans():
    definition = forms.read_definition(
        "questions:\n  - key: sure\n    label: No\n    kind: single_choice\n    choices: [Yes, No, Not sure]\n"
        "    required: true\n  - key: why\n    label: Why?\n    kind: short_text\n"
        "    show_if: {key: sure, op: eq, value: Yes}\n"
    )
    first, second = definition["questions"]
    assert (first["label"], first["choices"], first["required"]) == ("No", ["Yes", "No", "Not sure"], True)
    assert second["show_if"] == {"key": "sure", "op": "eq", "value": "Yes"}
