"""What the intake tests share: a new-patient form (a condition, a conditional requirement, an
insurance card upload, a sensitive question, a treatment consent valid 12 months), published for
the world's Consultation type, real file bytes of each kind, and booking inside the intake window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.base.config import reset_settings
from core.intake import forms
from core.scheduling import booking
from core.security import door
from tests.factories import MONDAY, world

CONSENT = "I agree to the treatment explained to me, and I know I can stop it at any time."
FORM = {
    "questions": [
        {"key": "full_name", "label": "Full name", "kind": "short_text", "required": True},
        {"key": "age", "label": "Age", "kind": "number", "required": True},
        {"key": "guardian", "label": "Parent or guardian", "kind": "short_text", "required": False,
         "required_if": {"key": "age", "op": "lt", "value": 18}},
        {"key": "has_referral", "label": "Do you have a referral?", "kind": "yes_no", "required": True},
        {"key": "referral_from", "label": "Referred by", "kind": "short_text", "required": True,
         "show_if": {"key": "has_referral", "op": "eq", "value": True}},
        {"key": "allergies", "label": "Allergies", "kind": "long_text", "required": False, "sensitive": True},
        {"key": "insurance_card", "label": "Insurance card", "kind": "file", "required": True},
        {"key": "treatment", "label": "Treatment consent", "kind": "consent", "required": True,
         "consent_text": CONSENT, "valid_for": {"months": 12}},
    ]
}  # fmt: skip

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day, hh, mm, tzinfo=UTC) + timedelta(hours=5)


START = at(10)
LATE = START - timedelta(hours=20)  # inside the 24 h intake window: the queue looks at once


def publish(w, definition: dict = FORM, type_: str = "consult") -> int:
    forms.save_draft(w.actors["admin"], w.types[type_].id, definition)
    return forms.publish_form(w.actors["admin"], w.types[type_].id)


def book(w, *, start=START, now=LATE, customer="ada", **kw):
    return booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, provider_id=w.providers["rao"].id, start=start, now=now, **kw,
    ).appointment  # fmt: skip


def open_door_world(tmp_path, monkeypatch, **env: str):
    """The test world with uploads in `tmp_path`, the customer-facing door switched on, and `env`
    set (e.g. a higher rate limit)."""
    monkeypatch.setenv("INTAKE_UPLOADS_DIR", str(tmp_path / "uploads"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    w = world()
    door.set_open(w.actors["admin"], True)
    return w
