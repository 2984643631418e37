"""The intake part of the appointment types page: the type's pre-visit instructions and its
intake form, written as YAML beside a live preview that asks the questions as the customer will
see them (conditions included: answer the preview and the questions that depend on it appear).
Saving keeps a draft; publishing makes the next immutable version, which new intakes answer."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
import yaml

from core.base.errors import DomainError
from core.intake import forms, uploads
from core.intake.definition import QUESTION_KINDS, compact, is_required, missing, visible_questions
from core.security.access import Actor
from pages.intake_fields import UPLOAD_TYPES
from pages.safe import plain
from pages.settings_common import run

EXAMPLE = """questions:
  - key: has_referral
    label: Do you have a referral letter?
    kind: yes_no
    required: true
  - key: referral_letter
    label: Referral letter
    kind: file
    required: true
    show_if: {key: has_referral, op: eq, value: true}
  - key: age
    label: Age
    kind: number
    required: true
  - key: guardian_name
    label: Name of parent or guardian
    kind: short_text
    required_if: {key: age, op: lt, value: 18}
  - key: allergies
    label: Allergies
    kind: multiple_choice
    choices: [None, Penicillin, Latex, Other]
    sensitive: true
  - key: treatment_consent
    label: Consent to treatment
    kind: consent
    required: true
    consent_text: I agree to the examination and treatment my provider explains to me.
    valid_for: {months: 12}
"""
HOW_TO = (
    "Each question has a **key** (snake_case, unique), a **label**, a **kind** "
    f"({', '.join(QUESTION_KINDS)}), and optionally **help**, **required: true**, **sensitive: true** "
    "(analysts never see the answer), **choices** (single_choice, multiple_choice), **consent_text** and "
    "**valid_for** (consent: once, visit, or {months: 12}). **show_if** and **required_if** compare an earlier "
    "answer: `{key: age, op: lt, value: 18}` with op eq, ne, lt, le, gt, ge or in (a list); combine them "
    "with `{all: [...]}` or `{any: [...]}`."
)
VALID_FOR = {"once": "signed once, valid from then on", "visit": "signed again for every visit"}


def _yaml(definition: dict | None) -> str:
    return (
        ""
        if not definition or not definition["questions"]
        else yaml.safe_dump(compact(definition), sort_keys=False, allow_unicode=True, width=100)
    )


def _preview_key(type_id: int, key: str) -> str:
    return f"intake_preview_{type_id}_{key}"


def _preview_answers(type_id: int, definition: dict) -> tuple[dict, set[str]]:
    """What the preview's widgets hold, as answers of the form, and which consents have a name."""
    answers, signed = {}, set()
    for q in definition["questions"]:
        value = st.session_state.get(_preview_key(type_id, q["key"]))
        if q["kind"] == "consent":
            if isinstance(value, str) and value.strip():
                signed.add(q["key"])
        elif q["kind"] == "yes_no" and value in ("Yes", "No"):
            answers[q["key"]] = value == "Yes"
        elif isinstance(value, date):
            answers[q["key"]] = value.isoformat()
        elif value not in (None, "", []) and q["kind"] != "file":
            answers[q["key"]] = value
    return answers, signed


def _question(type_id: int, q: dict, required: bool) -> None:
    label = plain(q["label"]) + (" \\*" if required else "")
    key, help_ = _preview_key(type_id, q["key"]), plain(q["help"]) or None
    if q["sensitive"]:
        help_ = (help_ + "  \n" if help_ else "") + "Sensitive: analysts never see this answer."
    kind = q["kind"]
    if kind == "short_text":
        st.text_input(label, key=key, help=help_)
    elif kind == "long_text":
        st.text_area(label, key=key, help=help_, height=80)
    elif kind == "number":
        st.number_input(label, key=key, help=help_, value=None)
    elif kind == "date":
        st.date_input(label, key=key, help=help_, value=None, min_value=date(1900, 1, 1))
    elif kind == "yes_no":
        st.radio(label, ["Yes", "No"], key=key, help=help_, index=None, horizontal=True)
    elif kind == "single_choice":
        st.radio(label, q["choices"], key=key, help=help_, index=None, format_func=plain)
    elif kind == "multiple_choice":
        st.multiselect(label, q["choices"], key=key, help=help_, format_func=plain)
    elif kind == "file":
        st.file_uploader(
            label,
            key=key,
            help=help_ or f"PDF, JPEG, PNG or HEIC, up to {uploads.max_mb()} MB.",
            disabled=True,
            type=UPLOAD_TYPES,
            max_upload_size=uploads.max_mb(),
        )
    else:
        with st.container(border=True):
            st.markdown(f"**{label}**")
            st.markdown(plain(q["consent_text"]))
            months = q["valid_for"]["months"] if isinstance(q["valid_for"], dict) else None
            st.caption(
                f"Valid for {months} months once signed." if months else VALID_FOR[q["valid_for"]].capitalize() + "."
            )
            st.text_input("Type your full name to sign", key=key)


def _preview(type_id: int, definition: dict) -> None:
    if not definition["questions"]:
        st.info("No questions yet: write them on the left, or start from the example.", icon=":material/info:")
        return
    answers, signed = _preview_answers(type_id, definition)
    for q in visible_questions(definition, answers):
        _question(type_id, q, is_required(q, answers))
    todo = missing(definition, answers, set(), signed)
    if todo:
        st.caption("Still to do before this intake is complete: " + plain(", ".join(m["label"] for m in todo)) + ".")
    else:
        st.caption("Complete: every required question shown is answered.")


def _versions(state: forms.EditorState) -> None:
    if not state.versions:
        st.caption("Not published yet: customers of this type are asked no questions before their visit.")
        return
    latest = state.versions[0]
    by = f" by {plain(latest.published_by)}" if latest.published_by else ""
    st.caption(f"Customers answer version {latest.version}, published {latest.published_at:%Y-%m-%d %H:%M} UTC{by}. "
               "Intakes already begun keep the version they answered.")  # fmt: skip
    with st.expander(f"Published versions ({len(state.versions)})"):
        st.dataframe(
            pd.DataFrame(
                [{"Version": v.version, "Published (UTC)": f"{v.published_at:%Y-%m-%d %H:%M}",
                  "By": v.published_by or "", "Questions": v.questions} for v in state.versions]
            ),
            hide_index=True, width="stretch",
        )  # fmt: skip


def intake_section(actor: Actor, type_id: int, editable: bool) -> None:
    """The instructions and the form editor with its preview, for one type."""
    state = forms.editor_state(actor, type_id)
    st.subheader("Before the visit")
    with st.form(f"instructions_{type_id}"):
        text = st.text_area("Pre-visit instructions", value=state.instructions or "", height=90,
                            placeholder="Bring your insurance card and a photo ID; arrive 10 minutes early.",
                            help="Sent with the confirmation and shown on the customer's intake page.")  # fmt: skip
        if st.form_submit_button("Save instructions", disabled=not editable):
            run(
                lambda: forms.set_instructions(actor, type_id, text),
                f"The pre-visit instructions of {state.type_name} are saved.",
            )

    st.subheader("Intake form")
    _versions(state)
    saved = state.draft if state.draft is not None else (state.current[2] if state.current else None)
    editor_key = f"intake_yaml_{type_id}"
    if editor_key not in st.session_state:
        st.session_state[editor_key] = _yaml(saved)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Questions (YAML)**")
        if st.button("Start from the example", disabled=not editable or bool(st.session_state[editor_key].strip())):
            st.session_state[editor_key] = EXAMPLE
        source = st.text_area("Form definition", key=editor_key, height=460, label_visibility="collapsed",
                              disabled=not editable, placeholder="questions:\n  - key: ...")  # fmt: skip
        with st.expander("How to write a question"):
            st.markdown(HOW_TO)
    with right:
        st.markdown("**Preview** (as the customer sees it; try answering)")
        try:
            definition = forms.read_definition(source)
        except DomainError as err:
            definition = None
            st.error(plain(str(err)), icon=":material/error:")
        if definition is not None:
            _preview(type_id, definition)
    unsaved = definition is not None and definition != (saved or {"questions": []})
    if state.draft is not None:
        st.info(f"A draft is saved and not yet published (customers still answer "
                f"{'version ' + str(state.current[1]) if state.current else 'no form'}).", icon=":material/edit_note:")  # fmt: skip
    if unsaved:
        st.warning("The editor has changes that are not saved yet.", icon=":material/warning:")
    b1, b2, b3 = st.columns(3)
    if b1.button("Save draft", type="primary" if unsaved else "secondary", disabled=not editable or definition is None):
        run(lambda: forms.save_draft(actor, type_id, source), "The intake form draft is saved; publish it when ready.")
    next_version = (state.current[1] if state.current else 0) + 1
    if b2.button(f"Publish as version {next_version}", disabled=not editable or state.draft is None or unsaved,
                 help="Save the draft first." if unsaved else None):  # fmt: skip
        run(lambda: forms.publish_form(actor, type_id), lambda v: f"Version {v} of the intake form is published.")
    if b3.button("Discard draft", disabled=not editable or state.draft is None):
        st.session_state.pop(editor_key, None)
        run(lambda: forms.discard_draft(actor, type_id), "The draft is discarded.")
