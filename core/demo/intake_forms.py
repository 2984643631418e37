"""The demo types' intake forms and pre-visit instructions: what a clinic would really ask.

The new patient consultation's form has two versions (the second added the insurance card
upload, so intakes begun before it answered version 1), with a referral letter asked only of
those who have one, a guardian's name required under 18, sensitive medical answers and a
treatment consent valid 12 months; the minor procedure asks for a consent every visit; the group
class signs a waiver once. The definitions are written here as parse_definition returns them
(tests/test_demo_intake_forms.py checks that), since demo code uses no other capability: the
rows go into core.intake's table by name, as its migration made it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Connection, Integer, column, insert, select, table, update

from core.base.db import UTCDateTime
from core.base.models import AppointmentType, User

if TYPE_CHECKING:
    from core.demo.state import Builder


def q(
    key: str, label: str, kind: str, *, required: bool = False, sensitive: bool = False, help: str = "", **more
) -> dict:
    return {
        "key": key,
        "label": label,
        "kind": kind,
        "help": help,
        "required": required,
        "sensitive": sensitive,
        **more,
    }


def yes(key: str) -> dict:
    return {"key": key, "op": "eq", "value": True}


TREATMENT_CONSENT = (
    "I consent to the examination and treatment that my provider explains to me, including the "
    "risks, the benefits and the alternatives. I may ask questions at any time and may withdraw "
    "this consent by telling the clinic. I understand that my records are kept confidential and "
    "shared only with those caring for me or as the law requires."
)
PROCEDURE_CONSENT = (
    "I consent to the minor procedure my provider has described to me today. I have been told what "
    "it involves, its usual risks (bleeding, infection, scarring, a reaction to the local "
    "anaesthetic) and the alternatives, and I have had the chance to ask questions. I have told "
    "the clinic about my medicines and allergies."
)
CLASS_WAIVER = (
    "I take part in this exercise class at my own risk. I will tell the instructor about any injury "
    "or condition before the class, stop if I feel pain or dizziness, and follow the instructor's "
    "directions. The clinic is not liable for injuries that come from not doing so."
)
TELEHEALTH_CONSENT = (
    "I agree to be seen by video. I understand that a video visit cannot replace an in-person "
    "examination, that I should be somewhere private, and that the clinic does not record the call."
)

_IDENTITY = [
    q("date_of_birth", "Date of birth", "date", required=True),
    q("age", "Age", "number", required=True),
    q("guardian_name", "Name of parent or guardian", "short_text", help="Required for patients under 18.",
      required_if={"key": "age", "op": "lt", "value": 18}),
]  # fmt: skip
_REFERRAL = [
    q("has_referral", "Do you have a referral letter?", "yes_no", required=True),
    q("referral_letter", "Referral letter", "file", required=True, show_if=yes("has_referral"),
      help="A photo or scan of the letter."),
    q("referred_by", "Who referred you?", "short_text", show_if=yes("has_referral")),
]  # fmt: skip
_HEALTH = [
    q("reason", "What brings you in?", "long_text", required=True),
    q("medications", "Medicines you take now", "long_text", sensitive=True, help="Name and dose; 'none' if none."),
    q("allergies", "Allergies", "multiple_choice", sensitive=True, required=True,
      choices=["None known", "Penicillin", "Other antibiotics", "Latex", "Nuts", "Other"]),
    q("allergy_details", "Tell us about the allergy", "short_text", sensitive=True, required=True,
      show_if={"key": "allergies", "op": "in", "value": ["Other antibiotics", "Other"]}),
]  # fmt: skip
_INSURANCE = [
    q("insurance", "How will you pay?", "single_choice", required=True,
      choices=["Insurance", "Self-pay"]),
    q("insurance_card", "Insurance card (front)", "file", required=True,
      show_if={"key": "insurance", "op": "eq", "value": "Insurance"}),
]  # fmt: skip


def _consent(key: str, label: str, text: str, valid_for) -> dict:
    return q(key, label, "consent", required=True, consent_text=text, valid_for=valid_for)


NEW_PATIENT_V1 = {"questions": [*_IDENTITY, *_REFERRAL, *_HEALTH,
                                _consent("treatment_consent", "Consent to treatment", TREATMENT_CONSENT, {"months": 12})]}  # fmt: skip
NEW_PATIENT_V2 = {"questions": [*_IDENTITY, *_REFERRAL, *_INSURANCE, *_HEALTH,
                                _consent("treatment_consent", "Consent to treatment", TREATMENT_CONSENT, {"months": 12})]}  # fmt: skip

FORMS: dict[str, list[dict]] = {
    "New patient consultation": [NEW_PATIENT_V1, NEW_PATIENT_V2],
    "Annual check-up": [{"questions": [
        q("medications", "Medicines you take now", "long_text", required=True, sensitive=True),
        q("smoking", "Do you smoke?", "single_choice", required=True, choices=["Never", "Used to", "Yes"]),
        q("cigarettes_per_day", "About how many cigarettes a day?", "number",
          show_if={"key": "smoking", "op": "eq", "value": "Yes"}),
        q("changes", "Anything new since your last check-up?", "long_text", sensitive=True),
        _consent("treatment_consent", "Consent to treatment", TREATMENT_CONSENT, {"months": 12}),
    ]}],
    "Telehealth check-in": [{"questions": [
        q("callback", "Best number to reach you if the video drops", "short_text", required=True),
        _consent("video_consent", "Consent to a video visit", TELEHEALTH_CONSENT, "once"),
    ]}],
    "Physiotherapy session": [{"questions": [
        q("complaint", "Injury or complaint", "long_text", required=True),
        q("pain", "Pain today, from 0 (none) to 10 (worst)", "number", required=True),
        q("after_surgery", "Is this after an operation?", "yes_no", required=True),
        q("surgery_date", "Date of the operation", "date", required=True, show_if=yes("after_surgery")),
        q("surgeon_letter", "Surgeon's discharge letter", "file", show_if=yes("after_surgery")),
        _consent("treatment_consent", "Consent to treatment", TREATMENT_CONSENT, {"months": 12}),
    ]}],
    "Group mobility class": [{"questions": [
        q("injuries", "Any injury or condition the instructor should know about?", "yes_no", required=True),
        q("injury_details", "Tell us about it", "short_text", required=True, sensitive=True, show_if=yes("injuries")),
        _consent("class_waiver", "Class waiver", CLASS_WAIVER, "once"),
    ]}],
    "Minor procedure": [{"questions": [
        q("blood_thinners", "Do you take blood thinners (warfarin, apixaban, aspirin)?", "yes_no",
          required=True, sensitive=True),
        q("thinner_name", "Which one, and when was the last dose?", "short_text", required=True, sensitive=True,
          show_if=yes("blood_thinners")),
        q("allergies", "Allergies", "multiple_choice", required=True, sensitive=True,
          choices=["None known", "Local anaesthetic", "Latex", "Iodine", "Other"]),
        q("driver", "Who is taking you home?", "short_text"),
        _consent("procedure_consent", "Consent to the procedure", PROCEDURE_CONSENT, "visit"),
    ]}],
    "Nutrition counselling": [{"questions": [
        q("goals", "What would you like to work on?", "long_text", required=True),
        q("diet", "How do you eat?", "multiple_choice", choices=["Everything", "Vegetarian", "Vegan", "Halal",
                                                                  "Kosher", "Gluten-free"]),
        q("food_diary", "A food diary, if you keep one", "file", help="Optional: a photo or PDF of a few days."),
    ]}],
}  # fmt: skip

INSTRUCTIONS = {
    "New patient consultation": "Please arrive 15 minutes early. Bring a photo ID, your insurance card and a "
                                "list of the medicines you take.",
    "Follow-up visit": "Bring any test results you received since your last visit.",
    "Annual check-up": "If your visit includes blood tests, do not eat for 8 hours before it; water is fine.",
    "Telehealth check-in": "We will call you by video at your appointment time: find a quiet, private place "
                           "with a good connection.",
    "Physiotherapy session": "Wear loose, comfortable clothes and bring any imaging or surgeon's letters.",
    "Group mobility class": "Wear comfortable clothes and bring water; mats are provided.",
    "Minor procedure": "Do not stop any medicine unless your provider told you to. Arrange for someone to take "
                       "you home, and allow 90 minutes.",
    "Nutrition counselling": "If you can, keep a food diary for three days before your visit.",
}  # fmt: skip
PUBLISHED_DAYS_AGO = (300, 21)  # version 1, version 2
INTAKE_FORMS = table(
    "intake_forms",
    column("appointment_type_id", Integer), column("version", Integer), column("definition", JSON),
    column("published_at", UTCDateTime()), column("published_by", Integer),
)  # fmt: skip


def add_intake_forms(b: Builder, conn: Connection) -> None:
    admin = conn.scalar(select(User.id).where(User.username == "admin"))
    rows = []
    for name, versions in FORMS.items():
        for n, definition in enumerate(versions):
            published: datetime = b.now - timedelta(days=PUBLISHED_DAYS_AGO[n] if len(versions) > 1 else 300)
            rows.append({"appointment_type_id": b.type_ids[name], "version": n + 1, "definition": definition,
                         "published_at": published, "published_by": admin})  # fmt: skip
    conn.execute(insert(INTAKE_FORMS), rows)
    for name, text in INSTRUCTIONS.items():
        conn.execute(
            update(AppointmentType).where(AppointmentType.id == b.type_ids[name]).values(pre_visit_instructions=text)
        )
