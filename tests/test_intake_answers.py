"""One appointment's intake against its form version: booking pins the version, the customer
saves part through the link and finishes later, the queue's "intake missing" names what is
missing and resolves itself on completion; answers keep their version; a bad link, a bad file
or an unsigned consent is one sentence and writes nothing; consent records are append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.base.config import reset_settings
from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied, ValidationError
from core.base.models import (
    Appointment,
    AuditLog,
    ConsentRecord,
    ExceptionItem,
    IntakeAnswers,
    IntakeFile,
    NotificationOutbox,
)
from core.intake import answers, public, reads
from core.intake.answers import Upload
from core.queue import actions, kinds
from core.queue import reads as queue_reads
from core.security import door, links
from core.security.links import EXPIRED, INVALID, LinkError
from tests.intake_fixtures import CONSENT, EXE, LATE, PDF, PNG, START, book, open_door_world, publish

CLIENT = "203.0.113.9"
PART = {"full_name": "Ada Lovelace", "age": 36, "has_referral": True}


@pytest.fixture
def w(db, tmp_path, monkeypatch):
    return open_door_world(tmp_path, monkeypatch, DOOR_REQUESTS_PER_MINUTE="50")


def _token(appt) -> str:
    return links.intake_token(appt.id, appt.end_at)


def _row(appt_id: int) -> IntakeAnswers | None:
    with read_session() as s:
        row = s.get(IntakeAnswers, appt_id)
        s.expunge_all()
        return row


def _item(appt_id: int) -> ExceptionItem | None:
    with read_session() as s:
        item = s.scalar(
            select(ExceptionItem).where(ExceptionItem.dedupe_key == kinds.key(kinds.INTAKE_MISSING, appt_id))
        )
        s.expunge_all()
        return item


def _count(model) -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_the_customer_saves_part_then_finishes_and_the_queue_item_resolves_itself(w):
    publish(w)
    appt = book(w)
    row = _row(appt.id)
    assert row is not None and row.missing == ["Full name", "Age", "Do you have a referral?", "Insurance card",
                                               "Treatment consent"]  # fmt: skip
    item = _item(appt.id)
    assert item.status == "open" and item.details["missing"][0] == "Full name"

    part = public.submit(_token(appt), CLIENT, answers=PART, now=LATE)
    assert not part.complete and part.missing == ["Referred by", "Insurance card", "Treatment consent"]
    assert _item(appt.id).details["missing"] == ["Referred by", "Insurance card", "Treatment consent"]

    page = public.page(_token(appt), now=LATE)  # coming back: what was saved is there
    assert page.answers == PART and page.version == 1 and not page.complete
    with pytest.raises(ValidationError, match="Still missing: Insurance card, Treatment consent"):
        public.submit(_token(appt), CLIENT, answers={"referral_from": "Dr. Who"}, finish=True, now=LATE)
    assert _row(appt.id).answers == PART  # the refused finish wrote nothing

    done = public.submit(
        _token(appt), CLIENT, answers={"referral_from": "Dr. Who"}, uploads=[Upload("insurance_card", "card.png", PNG)],
        signatures={"treatment": "Ada Lovelace"}, user_agent="Phone/1.0", finish=True, now=LATE,
    )  # fmt: skip
    assert done.complete and done.missing == []
    with read_session() as s:
        assert s.get(Appointment, appt.id).intake_complete
        consent = s.scalar(select(ConsentRecord))
        assert (consent.signed_name, consent.signed_by_user_id, consent.client_address, consent.user_agent) == (
            "Ada Lovelace",
            None,
            CLIENT,
            "Phone/1.0",
        )
        assert consent.signed_at == LATE
        import hashlib

        assert consent.text_sha256 == hashlib.sha256(CONSENT.encode()).hexdigest()
    assert _item(appt.id).status == "resolved"
    rows = list(s for s in _audit(appt.id) if s.reason and s.reason.startswith("intake answered by the customer"))
    assert len(rows) == 2 and all(r.client_address == CLIENT and r.actor_username == "public" for r in rows)


def _audit(appt_id: int) -> list[AuditLog]:
    with read_session() as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.entity_id == str(appt_id)).order_by(AuditLog.id)))
        s.expunge_all()
        return rows


def test_a_completed_intake_never_opens_a_queue_item(w):
    publish(w)
    appt = book(w, now=LATE - timedelta(days=3))  # booked days ahead: outside the window
    public.submit(_token(appt), CLIENT, answers={**PART, "referral_from": "Dr. Who"},
                  uploads=[Upload("insurance_card", "card.pdf", PDF)], signatures={"treatment": "Ada L"},
                  now=LATE - timedelta(days=2))  # fmt: skip
    from core.queue import detect

    detect.detect_all(LATE)
    assert _item(appt.id) is None


def test_answers_keep_their_form_version_after_a_new_one_is_published(w):
    publish(w)
    appt = book(w)
    public.submit(_token(appt), CLIENT, answers=PART, now=LATE)
    newer = {"questions": [{"key": "full_name", "label": "Name", "kind": "short_text", "required": True}]}
    assert publish(w, newer) == 2
    later = book(w, start=START + timedelta(hours=2))
    assert _row(later.id).missing == ["Name"]
    page = public.page(_token(appt), now=LATE)
    assert page.version == 1 and page.answers == PART and "Insurance card" in page.missing


def test_hidden_questions_are_dropped_and_wrong_types_refused_writing_nothing(w):
    publish(w)
    appt = book(w)
    public.submit(_token(appt), CLIENT, answers={**PART, "has_referral": False, "referral_from": "x"}, now=LATE)
    assert "referral_from" not in _row(appt.id).answers
    before = _count(AuditLog)
    with pytest.raises(ValidationError, match="Age"):
        public.submit(_token(appt), CLIENT, answers={"age": "thirty"}, now=LATE)
    assert _count(AuditLog) == before and _row(appt.id).answers["age"] == 36


@pytest.mark.parametrize("tamper", ["flip", "other_purpose", "expired"])
def test_a_tampered_or_expired_link_is_one_sentence_and_writes_nothing(w, tamper):
    publish(w)
    appt = book(w)
    token = _token(appt)
    now = LATE
    if tamper == "flip":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif tamper == "other_purpose":
        token = links.sign("unsubscribe", {"a": appt.id}, expires_at=appt.end_at)
    else:
        now = appt.end_at + timedelta(seconds=1)
    before = (_count(AuditLog), _count(ConsentRecord), _count(IntakeFile))
    with pytest.raises(LinkError) as exc:
        public.submit(token, CLIENT, answers=PART, signatures={"treatment": "Ada"}, now=now)
    assert str(exc.value) == (EXPIRED if tamper == "expired" else INVALID)
    with pytest.raises(LinkError):
        public.page(token, now=now)
    assert (_count(AuditLog), _count(ConsentRecord), _count(IntakeFile)) == before
    assert _row(appt.id).answers == {}


def test_a_link_opens_only_its_own_appointment(w):
    publish(w)
    mine, theirs = book(w), book(w, customer="alan", start=START + timedelta(hours=1))
    public.submit(_token(mine), CLIENT, answers=PART, now=LATE)
    assert _row(theirs.id).answers == {}
    assert public.page(_token(theirs), now=LATE).answers == {}


@pytest.mark.parametrize(
    ("name", "data", "sentence"),
    [
        ("card.pdf", EXE, "is a EXE file: upload a PDF, JPEG, PNG or HEIC"),
        ("card.pdf", b"just some text pretending", "not a file type we can read"),
        ("card.png", b"", "is empty"),
    ],
)
def test_files_are_checked_by_content_not_by_name(w, name, data, sentence):
    publish(w)
    appt = book(w)
    with pytest.raises(ValidationError, match=sentence):
        public.submit(_token(appt), CLIENT, answers=PART, uploads=[Upload("insurance_card", name, data)], now=LATE)
    assert _count(IntakeFile) == 0 and _row(appt.id).answers == {}


def test_a_file_over_the_limit_is_refused(w, monkeypatch, tmp_path):
    monkeypatch.setenv("INTAKE_UPLOAD_MAX_MB", "1")
    reset_settings()
    publish(w)
    appt = book(w)
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(ValidationError, match=r"is 1\.0 MB; files can be at most 1 MB"):
        public.submit(_token(appt), CLIENT, uploads=[Upload("insurance_card", "card.pdf", big)], now=LATE)
    assert _count(IntakeFile) == 0
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_a_stored_file_is_named_by_its_hash_and_stored_once(w, tmp_path):
    publish(w)
    first, second = book(w), book(w, customer="alan", start=START + timedelta(hours=1))
    for appt in (first, second):
        public.submit(_token(appt), CLIENT, uploads=[Upload("insurance_card", "card.pdf", PDF)], now=LATE)
    import hashlib

    files = list((tmp_path / "uploads").iterdir())
    assert [f.name for f in files] == [hashlib.sha256(PDF).hexdigest()]


def test_a_consent_cannot_be_signed_without_the_typed_name(w):
    publish(w)
    appt = book(w)
    with pytest.raises(ValidationError, match="Type your full name to sign 'Treatment consent'"):
        public.submit(_token(appt), CLIENT, signatures={"treatment": "   "}, now=LATE)
    assert _count(ConsentRecord) == 0


def test_a_consent_signed_within_its_months_counts_for_the_next_visit_and_a_new_text_asks_again(w):
    publish(w)
    first = book(w)
    public.submit(_token(first), CLIENT, signatures={"treatment": "Ada Lovelace"}, now=LATE)
    again = book(w, start=START + timedelta(days=30), now=LATE)
    assert "Treatment consent" not in _row(again.id).missing
    changed = {"questions": [{**q, "consent_text": CONSENT + " (2027 wording)"} if q["kind"] == "consent" else q
                             for q in __import__("tests.intake_fixtures", fromlist=["FORM"]).FORM["questions"]]}  # fmt: skip
    publish(w, changed)  # customers with appointments ahead are asked to sign the new text
    assert "Treatment consent" in _row(again.id).missing and _row(again.id).form_id == _row(first.id).form_id
    third = book(w, start=START + timedelta(days=31), now=LATE)
    assert "Treatment consent" in _row(third.id).missing
    page = public.page(_token(again), now=LATE)
    assert page.version == 1 and next(q for q in page.definition["questions"] if q["key"] == "treatment")[
        "consent_text"
    ].endswith("(2027 wording)")


def test_the_door_closed_or_the_honeypot_filled_writes_nothing(w):
    publish(w)
    appt = book(w)
    with pytest.raises(ValidationError):
        public.submit(_token(appt), CLIENT, answers=PART, honeypot="http://spam", now=LATE)
    door.set_open(w.actors["admin"], False)
    with pytest.raises(door.DoorClosed):
        public.submit(_token(appt), CLIENT, answers=PART, now=LATE)
    assert _row(appt.id).answers == {}


def test_the_desk_corrects_answers_and_signs_for_the_customer_audited(w):
    publish(w)
    appt = book(w)
    desk = w.actors["frontdesk"]
    answers.submit(desk, appt.id, answers=PART, signatures={"treatment": "Ada Lovelace"}, now=LATE)
    with read_session() as s:
        assert s.scalar(select(ConsentRecord.signed_by_user_id)) == w.users["frontdesk"].id
    rec = reads.record(desk, appt.id, now=LATE)
    assert rec["consents"][0]["signed_by"] == "staff: Frontdesk" and rec["form_version"] == 1
    assert any(r.reason == "intake answered by staff" and r.actor_username == "frontdesk" for r in _audit(appt.id))
    with pytest.raises(PermissionDenied):
        answers.submit(w.actors["analyst"], appt.id, answers={"age": 40}, now=LATE)


def test_analysts_never_see_files_or_sensitive_answers_and_downloads_are_audited(w):
    publish(w)
    appt = book(w)
    public.submit(_token(appt), CLIENT, answers={**PART, "allergies": "penicillin"},
                  uploads=[Upload("insurance_card", "card.pdf", PDF)], now=LATE)  # fmt: skip
    desk = reads.record(w.actors["frontdesk"], appt.id, now=LATE)
    analyst = reads.record(w.actors["analyst"], appt.id, now=LATE)
    assert next(i["answer"] for i in desk["items"] if i["key"] == "allergies") == "penicillin"
    assert next(i["answer"] for i in analyst["items"] if i["key"] == "allergies") == reads.HIDDEN
    assert analyst["files"] == [] and "allergies" not in analyst["answers"]
    file_id = desk["files"][0]["id"]
    assert reads.download(w.actors["frontdesk"], file_id) == ("card.pdf", "application/pdf", PDF)
    with pytest.raises(PermissionDenied):
        reads.download(w.actors["analyst"], file_id)
    with read_session() as s:
        assert s.scalar(select(func.count()).where(AuditLog.reason == "intake file downloaded")) == 1


def test_the_queue_offers_send_the_link_again_and_mark_received_on_paper(w):
    publish(w)
    appt = book(w)
    item = _item(appt.id)
    view = queue_reads.get_item(w.actors["frontdesk"], item.id, now=LATE)
    assert "missing: Full name" in view.describe()
    names = [a.name for a in actions.available(w.actors["frontdesk"], view)]
    assert names == ["intake_received", "send_intake_link"]
    actions.fix(w.actors["frontdesk"], item.id, "send_intake_link", now=LATE)
    with read_session() as s:
        sent = s.scalars(select(NotificationOutbox).where(NotificationOutbox.offset_min == 1)).all()
        assert {(r.kind, r.channel, r.status) for r in sent} == {("confirmation", "email", "pending"),
                                                                   ("confirmation", "sms", "pending")}  # fmt: skip
    assert _item(appt.id).status == "open"  # the link went out; the item waits for the answers
    actions.fix(w.actors["frontdesk"], item.id, "intake_received", now=LATE)
    assert _item(appt.id).status == "resolved" and _row(appt.id).received_on_paper_at == LATE


def test_consent_records_refuse_update_and_delete_on_both_dialects(w):
    publish(w)
    appt = book(w)
    public.submit(_token(appt), CLIENT, signatures={"treatment": "Ada Lovelace"}, now=LATE)
    for statement in ("UPDATE consent_records SET signed_name = 'Someone else'", "DELETE FROM consent_records"):
        with pytest.raises((DBAPIError, IntegrityError), match="append-only"), unit_of_work() as s:
            s.execute(text(statement))
    with read_session() as s:
        assert s.scalar(select(ConsentRecord.signed_name)) == "Ada Lovelace"


def test_the_confirmation_carries_the_link_and_the_instructions_and_the_link_opens_the_page(w, monkeypatch):
    for name in ("SMTP_HOST", "SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    from core.intake import forms
    from core.notifications import sender

    publish(w)
    forms.set_instructions(w.actors["admin"], w.types["consult"].id, "Bring your insurance card.")
    appt = book(w)
    sender.send_due(LATE + timedelta(minutes=1))
    with read_session() as s:
        query = select(NotificationOutbox.channel, NotificationOutbox.body).where(
            NotificationOutbox.kind == "confirmation"
        )
        bodies = dict(s.execute(query).all())
    body = bodies["email"]
    assert "Before your visit: Bring your insurance card." in body
    link = next(word for word in body.split() if "/intake?t=" in word)
    token = link.split("t=", 1)[1]
    assert links.intake_appointment(token, now=LATE) == appt.id
    assert "/intake?t=" in bodies["sms"]
    page = public.page(token, now=LATE)
    assert page.instructions == "Bring your insurance card." and page.location == "Downtown"


def test_the_printout_carries_the_signed_consent_text_and_is_audited(w):
    import io

    from pypdf import PdfReader

    publish(w)
    appt = book(w)
    public.submit(_token(appt), CLIENT, answers=PART, signatures={"treatment": "Ada Lovelace"}, now=LATE)
    pdf = reads.printout_file(w.actors["frontdesk"], appt.id, "pdf")
    text_ = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Ada Lovelace" in text_ and "treatment explained" in text_
    html = reads.printout_file(w.actors["frontdesk"], appt.id, "html").decode()
    assert CONSENT in html
    with read_session() as s:
        assert s.scalar(select(func.count()).where(AuditLog.reason == "intake printed")) == 2
