"""Intake form definitions (core/intake/definition.py): the condition evaluator's properties
(a question hidden by its condition is never required, nor asked for), the refusals of a bad
definition naming the question, and answers checked by kind. No database."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.base.errors import ValidationError
from core.intake.definition import (
    QUESTION_KINDS,
    clean_answers,
    compact,
    consent_sha256,
    is_required,
    missing,
    parse_definition,
    sensitive_keys,
    visible_questions,
)

pytestmark = pytest.mark.unit

CHOICES = ["red", "green", "blue"]
ANSWER_KINDS = ("short_text", "number", "date", "single_choice", "multiple_choice", "yes_no")
VALUE = {
    "short_text": st.sampled_from(["a", "b", "c"]),
    "number": st.integers(min_value=0, max_value=30),
    "date": st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 1, 5)).map(date.isoformat),
    "single_choice": st.sampled_from(CHOICES),
    "multiple_choice": st.sampled_from(CHOICES),  # a condition's value: one choice
    "yes_no": st.booleans(),
}
OPS_FOR = {
    "short_text": ["eq", "ne", "in"], "number": ["eq", "ne", "lt", "le", "gt", "ge", "in"],
    "date": ["eq", "ne", "lt", "le", "gt", "ge", "in"], "single_choice": ["eq", "ne", "in"],
    "multiple_choice": ["eq", "ne", "in"], "yes_no": ["eq", "ne"],
}  # fmt: skip


def comparison(draw, earlier: list[dict]) -> dict:
    target = draw(st.sampled_from(earlier))
    op = draw(st.sampled_from(OPS_FOR[target["kind"]]))
    value = draw(st.lists(VALUE[target["kind"]], min_size=1, max_size=3)) if op == "in" else draw(VALUE[target["kind"]])
    return {"key": target["key"], "op": op, "value": value}


def condition(draw, earlier: list[dict], depth: int = 0) -> dict:
    if depth < 2 and draw(st.booleans()):
        group = draw(st.sampled_from(["all", "any"]))
        return {group: [condition(draw, earlier, depth + 1) for _ in range(draw(st.integers(1, 3)))]}
    return comparison(draw, earlier)


@st.composite
def definitions(draw) -> dict:
    questions: list[dict] = []
    for n in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(ANSWER_KINDS + ("file", "consent")))
        q = {"key": f"q{n}", "label": f"Question {n}", "kind": kind, "required": draw(st.booleans())}
        if kind in ("single_choice", "multiple_choice"):
            q["choices"] = CHOICES
        if kind == "consent":
            q["consent_text"] = "I agree."
        answerable = [e for e in questions if e["kind"] in ANSWER_KINDS]
        if answerable and draw(st.booleans()):
            q["show_if"] = condition(draw, answerable)
        if answerable and draw(st.booleans()):
            q["required_if"] = condition(draw, answerable)
        questions.append(q)
    return {"questions": questions}


@st.composite
def answers_for(draw, definition: dict) -> dict:
    out = {}
    for q in definition["questions"]:
        if q["kind"] in ANSWER_KINDS and draw(st.booleans()):
            value = draw(VALUE[q["kind"]])
            out[q["key"]] = [value] if q["kind"] == "multiple_choice" else value
    return out


@st.composite
def cases(draw):
    definition = parse_definition(draw(definitions()))
    keys = {q["key"] for q in definition["questions"]}
    return (
        definition,
        draw(answers_for(definition)),
        draw(st.sets(st.sampled_from(sorted(keys)))),
        draw(st.sets(st.sampled_from(sorted(keys)))),
    )


@settings(max_examples=150, deadline=None)
@given(cases())
def test_a_question_hidden_by_its_condition_is_never_required_nor_missing(case):
    definition, answers, files, consents = case
    shown = {q["key"] for q in visible_questions(definition, answers)}
    stored = clean_answers(definition, answers)
    missing_keys = {m["key"] for m in missing(definition, answers, files, consents)}
    for q in definition["questions"]:
        if q["key"] not in shown:
            assert not is_required(q, stored)
            assert q["key"] not in missing_keys
            assert q["key"] not in stored
    assert missing_keys <= shown
    assert all(is_required(q, stored) for q in definition["questions"] if q["key"] in missing_keys)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_stored_answers_are_the_visible_ones_and_mean_the_same(case):
    definition, answers, files, consents = case
    stored = clean_answers(definition, answers)
    kinds = {q["key"]: q["kind"] for q in definition["questions"]}
    assert all(kinds[k] not in ("file", "consent") for k in stored)
    assert visible_questions(definition, stored) == visible_questions(definition, answers)
    assert clean_answers(definition, stored) == stored
    assert missing(definition, stored, files, consents) == missing(definition, answers, files, consents)


@settings(max_examples=100, deadline=None)
@given(definitions())
def test_a_form_answered_everywhere_it_shows_is_complete(raw):
    definition = parse_definition(raw)
    assert parse_definition(definition) == definition == parse_definition(compact(definition))
    fill = {"short_text": "a", "number": 1, "date": "2000-01-01", "single_choice": "red", "yes_no": True}
    fill["multiple_choice"] = ["red"]
    answers = {q["key"]: fill.get(q["kind"]) for q in definition["questions"]}
    keys = set(answers)
    assert missing(definition, answers, keys, keys) == []


NEW_PATIENT = {
    "questions": [
        {"key": "has_referral", "label": "Do you have a referral?", "kind": "yes_no", "required": True},
        {"key": "referral", "label": "Referral letter", "kind": "file", "required": True,
         "show_if": {"key": "has_referral", "op": "eq", "value": True}},
        {"key": "age", "label": "Age", "kind": "number", "required": True},
        {"key": "guardian", "label": "Guardian's name", "kind": "short_text",
         "required_if": {"key": "age", "op": "lt", "value": 18}},
        {"key": "history", "label": "Medical history", "kind": "long_text", "sensitive": True},
        {"key": "consent", "label": "Treatment consent", "kind": "consent", "required": True,
         "consent_text": "  I agree to the treatment.  ", "valid_for": {"months": 12}},
    ]
}  # fmt: skip


def test_conditions_show_and_require_by_earlier_answers():
    d = parse_definition(NEW_PATIENT)
    assert [m["key"] for m in missing(d, {}, set(), set())] == ["has_referral", "age", "consent"]
    todo = missing(d, {"has_referral": True, "age": "12"}, set(), set())
    assert todo == [
        {"key": "referral", "label": "Referral letter", "kind": "file"},
        {"key": "guardian", "label": "Guardian's name", "kind": "short_text"},
        {"key": "consent", "label": "Treatment consent", "kind": "consent"},
    ]
    done = {"has_referral": True, "age": 12, "guardian": "Ann Lee"}
    assert missing(d, done, {"referral"}, {"consent"}) == []
    assert clean_answers(d, {"has_referral": False, "age": "40", "referral": "x", "unknown": 1}) == {
        "has_referral": False, "age": 40,
    }  # fmt: skip
    assert d["questions"][5]["consent_text"] == "I agree to the treatment."
    assert sensitive_keys(d) == {"history"}


def test_multiple_choice_conditions_read_what_was_picked():
    d = parse_definition({"questions": [
        {"key": "symptoms", "label": "Symptoms", "kind": "multiple_choice", "choices": ["cough", "fever", "rash"]},
        {"key": "fever_days", "label": "Days of fever", "kind": "number", "show_if": {"key": "symptoms", "op": "eq", "value": "fever"}},
        {"key": "skin", "label": "Where is the rash?", "kind": "short_text", "show_if": {"key": "symptoms", "op": "in", "value": ["rash"]}},
    ]})  # fmt: skip
    keys = [q["key"] for q in visible_questions(d, {"symptoms": ["rash", "fever"]})]
    assert keys == ["symptoms", "fever_days", "skin"]
    assert [q["key"] for q in visible_questions(d, {"symptoms": ["cough"]})] == ["symptoms"]
    assert clean_answers(d, {"symptoms": ["rash", "cough"]}) == {"symptoms": ["cough", "rash"]}  # form order


@pytest.mark.parametrize(
    ("questions", "sentence"),
    [
        ([{"key": "a", "label": "Allergies", "kind": "single_choice", "choices": []}],
         "Question 1 ('Allergies') has an empty choice list: add at least one choice."),
        ([{"key": "a", "label": "Allergies", "kind": "multiple_choice"}],
         "Question 1 ('Allergies') has an empty choice list: add at least one choice."),
        ([{"key": "a", "label": "First", "kind": "yes_no"}, {"key": "a", "label": "Second", "kind": "yes_no"}],
         "Question 2 ('Second') uses the key 'a', already used by question 1: keys must be unique."),
        ([{"key": "a", "label": "Pregnant?", "kind": "yes_no", "show_if": {"key": "sex", "op": "eq", "value": "F"}}],
         "The condition of question 1 ('Pregnant?') refers to 'sex', which is no earlier question on this form: "
         "a condition can only use answers given before it."),
        ([{"key": "a", "label": "Pregnant?", "kind": "yes_no", "required_if": {"key": "b", "op": "eq", "value": True}},
          {"key": "b", "label": "Later", "kind": "yes_no"}],
         "The condition of question 1 ('Pregnant?') refers to 'b', which is no earlier question on this form: "
         "a condition can only use answers given before it."),
        ([{"key": "a", "label": "Self", "kind": "yes_no", "show_if": {"key": "a", "op": "eq", "value": True}}],
         "The condition of question 1 ('Self') refers to the question itself: use an earlier question."),
        ([{"key": "age", "label": "Age", "kind": "number"},
          {"key": "b", "label": "Guardian", "kind": "short_text", "required_if": {"key": "age", "op": "lt", "value": "x"}}],
         "The condition of question 2 ('Guardian') does not fit: the value compared with 'Age' must be a number."),
        ([{"key": "card", "label": "Card", "kind": "file"},
          {"key": "b", "label": "B", "kind": "yes_no", "show_if": {"key": "card", "op": "eq", "value": "x"}}],
         "The condition of question 2 ('B') uses 'Card', a file question that has no answer to compare."),
        ([{"key": "ok", "label": "OK?", "kind": "yes_no"},
          {"key": "b", "label": "B", "kind": "yes_no", "show_if": {"key": "ok", "op": "lt", "value": True}}],
         "The condition of question 2 ('B') compares 'OK?' (yes_no) with 'lt': use eq, ne."),
        ([{"key": "c", "label": "Consent", "kind": "consent"}],
         "Question 1 ('Consent') is a consent question without a text to agree to: add its consent text."),
        ([{"key": "c", "label": "Name", "kind": "short_text", "choices": ["x"]}],
         "Question 1 ('Name') is a short_text question and takes no choices: remove them."),
        ([{"key": "Full Name", "label": "Name", "kind": "short_text"}],
         "Question 1 ('Name'): its key must be snake_case: lower-case letters, digits and _, starting with a letter (at most 63)."),
        ([{"key": "n", "label": "Name", "kind": "signature"}],
         "Question 1 ('Name'): its kind must be one of short_text, long_text, number, date, single_choice, "
         "multiple_choice, yes_no, file, consent."),
        ([{"key": "n", "label": "Name"}], "Question 1 ('Name') needs its kind."),
        ([{"key": "n", "label": "Name", "kind": "yes_no", "colour": "red"}],
         "Question 1 ('Name') has a field this form does not know ('colour'): remove it."),
        ([{"key": "n", "label": "Name", "kind": "yes_no", "show_if": {"key": "n", "op": "like", "value": "x"}}],
         "Question 1 ('Name'): its 'show if' condition must be {\"key\": an earlier question's key, \"op\": one of "
         "eq, ne, lt, le, gt, ge, in, \"value\": v}, or {\"all\": [...]} / {\"any\": [...]} of such conditions."),
        ([{"key": "c", "label": "Consent", "kind": "consent", "consent_text": "x", "valid_for": {"months": 0}}],
         "Question 1 ('Consent'): 'valid for' must be \"once\", \"visit\" or {\"months\": N} with N from 1 to 120."),
    ],
)  # fmt: skip
def test_a_bad_definition_is_refused_naming_the_question(questions, sentence):
    with pytest.raises(ValidationError) as err:
        parse_definition({"questions": questions})
    assert str(err.value) == sentence


@pytest.mark.parametrize("raw", [None, [], "questions", {"questions": "x"}, {"questions": [], "title": "x"}, {}])
def test_a_definition_that_is_not_a_form_is_refused_in_one_sentence(raw):
    with pytest.raises(ValidationError) as err:
        parse_definition(raw)
    assert str(err.value).startswith(("A form definition", "The questions must be"))


@pytest.mark.parametrize(
    ("answers", "sentence"),
    [
        ({"age": "twelve"}, "The answer to 'Age' must be a number."),
        ({"age": True}, "The answer to 'Age' must be a number."),
        ({"has_referral": "maybe"}, "The answer to 'Do you have a referral?' must be yes or no."),
        ({"guardian": 5}, "The answer to 'Guardian's name' must be text."),
        ({"guardian": "x" * 201}, "The answer to 'Guardian's name' can be at most 200 characters (this one has 201)."),
        ("not a dict", "Intake answers must be a mapping of question key to answer."),
    ],
)
def test_an_answer_of_the_wrong_type_is_refused_naming_the_question(answers, sentence):
    with pytest.raises(ValidationError) as err:
        clean_answers(parse_definition(NEW_PATIENT), answers)
    assert str(err.value) == sentence


def test_dates_and_choices_are_checked():
    d = parse_definition({"questions": [
        {"key": "dob", "label": "Date of birth", "kind": "date"},
        {"key": "side", "label": "Side", "kind": "single_choice", "choices": ["left", "right"]},
    ]})  # fmt: skip
    assert clean_answers(d, {"dob": date(1990, 5, 1), "side": " left "}) == {"dob": "1990-05-01", "side": "left"}
    for answers, sentence in [
        ({"dob": "01/05/1990"}, "The answer to 'Date of birth' must be a date (YYYY-MM-DD)."),
        (
            {"dob": "1800-01-01"},
            "The answer to 'Date of birth' 1800-01-01 is out of range: use a date from 1900 to 2200.",
        ),
        ({"side": "up"}, "The answer to 'Side' must be one of: left, right."),
    ]:
        with pytest.raises(ValidationError) as err:
            clean_answers(d, answers)
        assert str(err.value) == sentence


def test_consent_hash_is_of_the_exact_text():
    assert consent_sha256("I agree.") == hashlib.sha256(b"I agree.").hexdigest()
    assert consent_sha256("I agree.") != consent_sha256("I agree. ")
    assert consent_sha256("é") == hashlib.sha256("é".encode()).hexdigest()
    assert "consent" in QUESTION_KINDS
