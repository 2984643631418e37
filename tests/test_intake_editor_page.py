"""The intake form editor on the appointment types page (AppTest): the live preview follows the
YAML and its conditions, a bad definition shows its sentence and saves nothing, a draft is saved
then published as a version, and the pre-visit instructions are kept."""

from __future__ import annotations

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.base.config import reset_settings
from core.base.db import read_session
from core.intake import forms
from core.intake.models import IntakeForm, IntakeFormDraft
from tests import test_settings_pages as settings_pages
from tests.factories import shown
from tests.test_settings_pages import _button, _page

FORM = """questions:
  - key: has_referral
    label: Do you have a referral?
    kind: yes_no
    required: true
  - key: referrer
    label: Who referred you?
    kind: short_text
    required: true
    show_if: {key: has_referral, op: eq, value: true}
  - key: consent
    label: Treatment consent
    kind: consent
    required: true
    consent_text: I agree to the treatment.
"""

w = settings_pages.w  # the settings pages' world, as a fixture here too


def _types_page(w, user: str = "admin") -> AppTest:
    at = _page("pages/settings_types.py", w.users[user].id)
    at.selectbox(key="type_choice").set_value(w.types["consult"].id).run()
    assert not at.exception
    return at


def _labels(at: AppTest) -> list[str]:
    """The preview's questions, in order."""
    keys = [e for e in at.main if str(getattr(e, "key", "") or "").startswith("intake_preview_")]
    return [shown(e.label) for e in keys]


def test_the_preview_follows_the_form_and_its_conditions(w):
    at = _types_page(w)
    consult = w.types["consult"].id
    assert "Not published yet" in " ".join(c.value for c in at.caption)
    at.text_area(key=f"intake_yaml_{consult}").input(FORM).run()
    assert _labels(at) == ["Do you have a referral? *", "Type your full name to sign"]
    at.radio(key=f"intake_preview_{consult}_has_referral").set_value("Yes").run()
    assert _labels(at) == ["Do you have a referral? *", "Who referred you? *", "Type your full name to sign"]
    assert "Still to do before this intake is complete: Who referred you?, Treatment consent." in [
        shown(c.value) for c in at.caption
    ]
    at.radio(key=f"intake_preview_{consult}_has_referral").set_value("No").run()
    assert _labels(at) == ["Do you have a referral? *", "Type your full name to sign"]
    assert [shown(w.value) for w in at.warning] == ["The editor has changes that are not saved yet."]


def test_a_bad_definition_shows_its_sentence_and_nothing_is_saved(w):
    at = _types_page(w)
    consult = w.types["consult"].id
    at.text_area(key=f"intake_yaml_{consult}").input(FORM.replace("kind: yes_no", "kind: colour")).run()
    assert [shown(e.value) for e in at.error] == [
        "Question 1 ('Do you have a referral?'): its kind must be one of short_text, long_text, number, date, "
        "single_choice, multiple_choice, yes_no, file, consent."
    ]
    assert _button(at, "Save draft").disabled
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(IntakeFormDraft)) == 0


def test_save_then_publish_makes_version_one_and_the_editor_says_so(w):
    at = _types_page(w)
    consult = w.types["consult"].id
    at.text_area(key=f"intake_yaml_{consult}").input(FORM).run()
    assert _button(at, "Publish as version 1").disabled  # not saved yet
    _button(at, "Save draft").click().run()
    assert not at.exception
    assert "The intake form draft is saved; publish it when ready." in [shown(s.value) for s in at.success]
    _button(at, "Publish as version 1").click().run()
    assert "Version 1 of the intake form is published." in [shown(s.value) for s in at.success]
    assert any("Customers answer version 1" in c.value for c in at.caption)
    with read_session() as s:
        assert s.scalars(select(IntakeForm.version)).all() == [1]
        assert [q["key"] for q in forms.current_form(s, consult)[2]["questions"]] == [
            "has_referral",
            "referrer",
            "consent",
        ]
    assert _button(at, "Publish as version 2").disabled


def test_pre_visit_instructions_are_saved_from_the_types_page(w):
    at = _types_page(w)
    next(t for t in at.text_area if t.label == "Pre-visit instructions").input("Bring your insurance card.")
    _button(at, "Save instructions").click().run()
    assert "The pre-visit instructions of Consultation are saved." in [shown(s.value) for s in at.success]
    assert forms.editor_state(w.actors["admin"], w.types["consult"].id).instructions == "Bring your insurance card."


def test_a_manager_sees_a_type_offered_everywhere_but_cannot_change_its_form(w):
    at = _types_page(w, "manager")
    consult = w.types["consult"].id
    assert at.text_area(key=f"intake_yaml_{consult}").disabled
    assert _button(at, "Save draft").disabled and _button(at, "Save instructions").disabled


def test_the_preview_upload_box_says_the_intake_limit_not_streamlits(w, monkeypatch):
    monkeypatch.setenv("INTAKE_UPLOAD_MAX_MB", "7")
    reset_settings()
    at = _types_page(w)
    consult = w.types["consult"].id
    at.text_area(key=f"intake_yaml_{consult}").input(
        "questions:\n  - key: referral\n    label: Referral letter\n    kind: file\n"
    ).run()
    boxes = [e for e in at.main if getattr(e, "type", "") == "file_uploader"]
    assert [b.proto.max_upload_size_mb for b in boxes] == [7]
    assert [b.proto.help for b in boxes] == ["PDF, JPEG, PNG or HEIC, up to 7 MB."]
