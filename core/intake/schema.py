"""The JSON Schema of an intake form definition, and the one sentence a refusal shows.

The schema checks the shape (kinds, fields, types, lengths); `definition.parse_definition`
then checks what a schema cannot say well (duplicate keys, conditions on earlier questions
only, choice lists, values that fit the question compared)."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

QUESTION_KINDS = (
    "short_text", "long_text", "number", "date", "single_choice",
    "multiple_choice", "yes_no", "file", "consent",
)  # fmt: skip
OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in")
MAX_QUESTIONS = 200
LABEL_MAX = 200
HELP_MAX = 1000
CHOICE_MAX = 200
MAX_CHOICES = 100
CONSENT_TEXT_MAX = 20_000
KEY_PATTERN = "^[a-z][a-z0-9_]{0,62}$"
SCALAR = {"type": ["string", "number", "boolean"]}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["questions"],
    "additionalProperties": False,
    "properties": {"questions": {"type": "array", "maxItems": MAX_QUESTIONS, "items": {"$ref": "#/$defs/question"}}},
    "$defs": {
        "question": {
            "type": "object",
            "required": ["key", "label", "kind"],
            "additionalProperties": False,
            "properties": {
                "key": {"type": "string", "pattern": KEY_PATTERN},
                "label": {"type": "string", "minLength": 1, "maxLength": LABEL_MAX, "pattern": r"\S"},
                "kind": {"enum": list(QUESTION_KINDS)},
                "help": {"type": "string", "maxLength": HELP_MAX},
                "required": {"type": "boolean"},
                "sensitive": {"type": "boolean"},
                "choices": {
                    "type": "array",
                    "maxItems": MAX_CHOICES,
                    "items": {"type": "string", "minLength": 1, "maxLength": CHOICE_MAX, "pattern": r"\S"},
                },
                "show_if": {"$ref": "#/$defs/cond"},
                "required_if": {"$ref": "#/$defs/cond"},
                "consent_text": {"type": "string", "maxLength": CONSENT_TEXT_MAX},
                "valid_for": {
                    "oneOf": [
                        {"enum": ["once", "visit"]},
                        {
                            "type": "object",
                            "required": ["months"],
                            "additionalProperties": False,
                            "properties": {"months": {"type": "integer", "minimum": 1, "maximum": 120}},
                        },
                    ]
                },
            },
        },
        "cond": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["all"],
                    "additionalProperties": False,
                    "properties": {"all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/cond"}}},
                },
                {
                    "type": "object",
                    "required": ["any"],
                    "additionalProperties": False,
                    "properties": {"any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/cond"}}},
                },
                {
                    "type": "object",
                    "required": ["key", "op", "value"],
                    "additionalProperties": False,
                    "properties": {
                        "key": {"type": "string", "pattern": KEY_PATTERN},
                        "op": {"enum": list(OPS)},
                        "value": {"anyOf": [SCALAR, {"type": "array", "minItems": 1, "items": SCALAR}]},
                    },
                },
            ]
        },
    },
}
VALIDATOR = Draft202012Validator(SCHEMA)

_FIELD_WORDS = {
    "key": "its key", "label": "its label", "kind": "its kind", "help": "its help text",
    "required": "'required'", "sensitive": "'sensitive'", "choices": "its choices",
    "show_if": "its 'show if' condition", "required_if": "its 'required if' condition",
    "consent_text": "its consent text", "valid_for": "'valid for'",
}  # fmt: skip


def first_problem(raw: object) -> str | None:
    """None when `raw` fits the schema; otherwise one sentence naming the question."""
    error = best_match(VALIDATOR.iter_errors(raw))
    if error is None:
        return None
    path = list(error.absolute_path)
    if not path or path[0] != "questions":
        return _top_level(error)
    questions = raw["questions"]  # type: ignore[index]
    if len(path) == 1:
        return f"The questions must be a list of at most {MAX_QUESTIONS}."
    index = path[1]
    question = questions[index]
    name = question_name(question, index)
    if len(path) == 2:
        return f"{upper_first(name)} {_question_problem(error)}"
    field = path[2]
    words = _FIELD_WORDS.get(field, f"'{field}'")
    return f"{upper_first(name)}: {words} {_field_problem(field, error)}"


def question_name(question: object, index: int) -> str:
    """How a refusal names a question (lower-case, to stand inside a sentence): its label when it has one, else its key, else its place."""
    if isinstance(question, dict):
        for field in ("label", "key"):
            value = question.get(field)
            if isinstance(value, str) and value.strip():
                return f"question {index + 1} ('{value.strip()[:LABEL_MAX]}')"
    return f"question {index + 1}"


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _top_level(error: SchemaError) -> str:
    if error.validator == "required":
        return 'A form definition needs a list of questions ({"questions": [...]}).'
    if error.validator == "additionalProperties":
        return 'A form definition holds only "questions"; remove the other fields.'
    return 'A form definition must be an object with a list of questions ({"questions": [...]}).'


def _question_problem(error: SchemaError) -> str:
    if error.validator == "required":
        missing = next((f for f in ("key", "label", "kind") if f not in error.instance), "key")
        return f"needs {_FIELD_WORDS[missing]}."
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(SCHEMA["$defs"]["question"]["properties"]))
        return f"has a field this form does not know ('{extra[0]}'): remove it."
    return "must be an object with a key, a label and a kind."


def _field_problem(field: object, error: SchemaError) -> str:
    if field == "key":
        return "must be snake_case: lower-case letters, digits and _, starting with a letter (at most 63)."
    if field == "kind":
        return f"must be one of {', '.join(QUESTION_KINDS)}."
    if field in ("label", "help", "consent_text"):
        most = {"label": LABEL_MAX, "help": HELP_MAX, "consent_text": CONSENT_TEXT_MAX}[field]
        return f"must be text of at most {most} characters{' and not blank' if field == 'label' else ''}."
    if field in ("required", "sensitive"):
        return "must be true or false."
    if field == "choices":
        return f"must be a list of at most {MAX_CHOICES} non-blank texts of at most {CHOICE_MAX} characters."
    if field == "valid_for":
        return 'must be "once", "visit" or {"months": N} with N from 1 to 120.'
    return (
        'must be {"key": an earlier question\'s key, "op": one of ' + ", ".join(OPS) + ', "value": v}, '
        'or {"all": [...]} / {"any": [...]} of such conditions.'
    )
