"""An intake form's definition, pure (no database): parse it, and evaluate it against answers.

A definition is {"questions": [q, ...]}; q = {"key", "label", "kind", "help", "required",
"sensitive", "choices" (choice kinds), "show_if", "required_if" (conditions on earlier answers),
"consent_text" and "valid_for" (consent)}. A condition is {"all": [...]}, {"any": [...]} or
{"key": earlier_key, "op": eq|ne|lt|le|gt|ge|in, "value": v}: data, nothing executable.

Answers are JSON values by kind: short/long text and single choice a string, number an int or
float (a numeric string is read as one), date an ISO "YYYY-MM-DD" string (or a date), multiple
choice a list of strings, yes/no a bool. File and consent questions have no answer here: the
caller passes which keys have a file (`files`) and a valid signature (`consents`).

Conditions read only the answers of questions that are themselves visible, so a question hidden
by its condition hides the ones that depend on it too, and is never required."""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Iterator
from datetime import date

from core.base import limits
from core.base.errors import ValidationError
from core.intake.schema import OPS, QUESTION_KINDS, first_problem, question_name, upper_first

__all__ = [
    "OPS", "QUESTION_KINDS", "clean_answers", "compact", "consent_sha256", "is_required", "missing",
    "parse_definition", "sensitive_keys", "visible_questions",
]  # fmt: skip

CHOICE_KINDS = ("single_choice", "multiple_choice")
NO_ANSWER_KINDS = ("file", "consent")  # answered by an upload or a signature, not a value
TEXT_MAX = {"short_text": limits.NAME_MAX, "long_text": limits.NOTE_MAX}
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_OPS_BY_KIND = {
    "number": OPS, "date": OPS, "yes_no": ("eq", "ne"),
    "short_text": ("eq", "ne", "in"), "long_text": ("eq", "ne", "in"),
    "single_choice": ("eq", "ne", "in"), "multiple_choice": ("eq", "ne", "in"),
}  # fmt: skip


def parse_definition(raw: object) -> dict:
    """The normalised definition (every question with help, required, sensitive; labels and texts
    stripped; consent valid_for defaulting to "visit"), or ValidationError naming the question."""
    problem = first_problem(raw)
    if problem:
        raise ValidationError(problem)
    questions: list[dict] = []
    index_of: dict[str, int] = {}
    for n, q in enumerate(raw["questions"]):  # type: ignore[index]
        name = question_name(q, n)
        if q["key"] in index_of:
            raise ValidationError(
                f"{upper_first(name)} uses the key '{q['key']}', already used by question {index_of[q['key']] + 1}: keys must be unique."
            )
        out = {
            "key": q["key"],
            "label": q["label"].strip(),
            "kind": q["kind"],
            "help": q.get("help", "").strip(),
            "required": q.get("required", False),
            "sensitive": q.get("sensitive", False),
        }
        _choices(q, name, out)
        _consent(q, name, out)
        for field in ("show_if", "required_if"):
            if field in q:
                out[field] = _condition(q[field], name, questions, index_of, q["key"])
        index_of[q["key"]] = n
        questions.append(out)
    return {"questions": questions}


def _choices(q: dict, name: str, out: dict) -> None:
    if q["kind"] not in CHOICE_KINDS:
        if "choices" in q:
            raise ValidationError(f"{upper_first(name)} is a {q['kind']} question and takes no choices: remove them.")
        return
    choices = [c.strip() for c in q.get("choices", [])]
    if not choices:
        raise ValidationError(f"{upper_first(name)} has an empty choice list: add at least one choice.")
    dupes = sorted({c for c in choices if choices.count(c) > 1})
    if dupes:
        raise ValidationError(f"{upper_first(name)} lists the choice '{dupes[0]}' twice: each choice once.")
    out["choices"] = choices


def _consent(q: dict, name: str, out: dict) -> None:
    if q["kind"] != "consent":
        extra = next((f for f in ("consent_text", "valid_for") if f in q), None)
        if extra:
            raise ValidationError(
                f"{upper_first(name)} is not a consent question, so it takes no {extra.replace('_', ' ')}."
            )
        return
    text = q.get("consent_text", "").strip()
    if not text:
        raise ValidationError(
            f"{upper_first(name)} is a consent question without a text to agree to: add its consent text."
        )
    out["consent_text"] = text
    out["valid_for"] = q.get("valid_for", "visit")


def _condition(cond: dict, name: str, earlier: list[dict], index_of: dict[str, int], own_key: str) -> dict:
    for group in ("all", "any"):
        if group in cond:
            return {group: [_condition(c, name, earlier, index_of, own_key) for c in cond[group]]}
    key, op, value = cond["key"], cond["op"], cond["value"]
    if key == own_key:
        raise ValidationError(f"The condition of {name} refers to the question itself: use an earlier question.")
    if key not in index_of:
        raise ValidationError(
            f"The condition of {name} refers to '{key}', which is no earlier question on this form: "
            "a condition can only use answers given before it."
        )
    target = earlier[index_of[key]]
    kind, label = target["kind"], target["label"]
    if kind in NO_ANSWER_KINDS:
        raise ValidationError(
            f"The condition of {name} uses '{label}', a {kind} question that has no answer to compare."
        )
    if op not in _OPS_BY_KIND[kind]:
        allowed = ", ".join(_OPS_BY_KIND[kind])
        raise ValidationError(f"The condition of {name} compares '{label}' ({kind}) with '{op}': use {allowed}.")
    values = value if op == "in" else [value]
    if op == "in" and not isinstance(value, list):
        raise ValidationError(f"The condition of {name} uses 'in' on '{label}': give a list of values.")
    if op != "in" and isinstance(value, list):
        raise ValidationError(f"The condition of {name} compares '{label}' with a list: use 'in' for a list.")
    try:
        cleaned = [_clean_value(target, v, f"value compared with '{label}'") for v in values]
    except ValidationError as err:
        raise ValidationError(f"The condition of {name} does not fit: {_lower(str(err))}") from None
    if kind == "multiple_choice":
        cleaned = [c[0] for c in cleaned]
    return {"key": key, "op": op, "value": cleaned if op == "in" else cleaned[0]}


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _clean_value(q: dict, value: object, what: str) -> object:
    """The value to store for a question's answer, or ValidationError: "The {what} must be ..."."""
    kind = q["kind"]
    if kind in TEXT_MAX:
        if not isinstance(value, str):
            raise ValidationError(f"The {what} must be text.")
        return limits.text(value, what, TEXT_MAX[kind])
    if kind == "number":
        return _number(value, what)
    if kind == "date":
        return _date(value, what)
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise ValidationError(f"The {what} must be yes or no.")
        return value
    picked = value if kind == "multiple_choice" and isinstance(value, list) else [value]
    for v in picked:
        if not isinstance(v, str) or v.strip() not in q["choices"]:
            raise ValidationError(f"The {what} must be one of: {', '.join(q['choices'])}.")
    chosen = {v.strip() for v in picked}
    if kind == "single_choice":
        return picked[0].strip()
    return [c for c in q["choices"] if c in chosen]


def _number(value: object, what: str) -> int | float:
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValidationError(f"The {what} must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"The {what} must be a number.")
    return value


def _date(value: object, what: str) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"The {what} must be a date (YYYY-MM-DD).") from None
    if not isinstance(value, date):
        raise ValidationError(f"The {what} must be a date (YYYY-MM-DD).")
    if hasattr(value, "date"):  # a datetime: its calendar day
        value = value.date()
    return limits.day(value, what).isoformat()


def _answered(value: object) -> bool:
    return value not in (None, "", [], {})


def _holds(cond: dict | None, answers: dict) -> bool:
    """The condition on `answers` (the visible questions' cleaned answers). An unanswered
    question satisfies no comparison, not even 'ne'."""
    if cond is None:
        return True
    if "all" in cond:
        return all(_holds(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(_holds(c, answers) for c in cond["any"])
    have = answers.get(cond["key"])
    if not _answered(have):
        return False
    op, want = cond["op"], cond["value"]
    if isinstance(have, list):  # multiple choice: eq = picked, ne = not picked, in = any picked
        return want in have if op == "eq" else want not in have if op == "ne" else any(w in have for w in want)
    if op == "in":
        return have in want
    try:
        return bool(_COMPARE[op](have, want))
    except TypeError:  # a stored answer from before its question's kind changed
        return False


def _walk(definition: dict, answers: dict, *, strict: bool) -> Iterator[tuple[dict, bool, dict]]:
    """Each question with whether it is visible and the visible answers so far (cleaned). With
    `strict`, an answer of the wrong type is refused naming the question; without, it counts as
    unanswered."""
    if not isinstance(answers, dict):
        raise ValidationError("Intake answers must be a mapping of question key to answer.")
    seen: dict = {}
    for q in definition["questions"]:
        visible = _holds(q.get("show_if"), seen)
        if visible and q["kind"] not in NO_ANSWER_KINDS and _answered(answers.get(q["key"])):
            try:
                value = _clean_value(q, answers[q["key"]], f"answer to '{q['label']}'")
            except ValidationError:
                if strict:
                    raise
                value = None
            if _answered(value):
                seen[q["key"]] = value
        yield q, visible, seen


def visible_questions(definition: dict, answers: dict) -> list[dict]:
    """The questions shown for these answers, in form order."""
    return [q for q, visible, _ in _walk(definition, answers, strict=False) if visible]


def is_required(question: dict, answers: dict) -> bool:
    """Whether `question` must be answered, given the visible questions' answers (as
    `clean_answers` returns them): required, or its required_if holds; never while hidden."""
    if not _holds(question.get("show_if"), answers):
        return False
    return bool(question.get("required")) or ("required_if" in question and _holds(question["required_if"], answers))


def clean_answers(definition: dict, answers: dict) -> dict:
    """What to store: the visible questions' answers, checked and normalised by kind; hidden
    questions, unknown keys and file/consent questions dropped, empty answers left out."""
    seen: dict = {}
    for _, _, seen in _walk(definition, answers, strict=True):  # noqa: B007 - the last state is the answer
        pass
    return dict(seen)


def missing(definition: dict, answers: dict, files: set[str], consents: set[str]) -> list[dict]:
    """Every required visible question still to do: unanswered, no file uploaded (`files`: keys
    with a file) or consent unsigned (`consents`: keys signed and still valid)."""
    out = []
    for q, visible, seen in _walk(definition, answers, strict=False):
        if not visible or not is_required(q, seen):
            continue
        kind, key = q["kind"], q["key"]
        done = key in files if kind == "file" else key in consents if kind == "consent" else key in seen
        if not done:
            out.append({"key": key, "label": q["label"], "kind": kind})
    return out


def compact(definition: dict) -> dict:
    """The definition without what parse_definition fills in by default (empty help, required and
    sensitive false), for people to read and edit; parse_definition(compact(d)) == d."""
    defaults = {"help": "", "required": False, "sensitive": False}
    return {
        "questions": [{k: v for k, v in q.items() if defaults.get(k, object()) != v} for q in definition["questions"]]
    }


def sensitive_keys(definition: dict) -> set[str]:
    """The keys of questions marked sensitive (analysts never see their answers or files)."""
    return {q["key"] for q in definition["questions"] if q.get("sensitive")}


def consent_sha256(text: str) -> str:
    """Hex SHA-256 of the exact UTF-8 text shown to the signer."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
