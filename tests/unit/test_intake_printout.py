"""The intake printout (core/intake/printout.py): the PDF and the HTML page carry every answer,
the files' hashes and the signed consent text with who, when and where; customer text never
becomes markup."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from core.intake.printout import human_size, render_html, render_pdf

pytestmark = pytest.mark.unit

CONSENT = "I agree to the treatment described to me.\n\nI may withdraw this consent at any time."
RECORD = {
    "appointment": {"id": 17, "customer": "Zoë Ωmega <script>alert(1)</script>", "type": "New patient",
                    "location": "Downtown", "provider": "Dr. Rao", "starts_local": "Mon 14 Dec 2026 10:00 EST"},
    "form_version": 2,
    "items": [{"label": "Do you have a referral?", "kind": "yes_no", "answer": "Yes"},
              {"label": "Medical history", "kind": "long_text", "answer": "Asthma\n<b>not bold</b>"},
              {"label": "Age", "kind": "number", "answer": ""}],
    "files": [{"name": "card.jpg", "content_type": "image/jpeg", "size": 234_567, "sha256": "ab" * 32}],
    "consents": [{"label": "Treatment consent", "text": CONSENT, "text_sha256": "cd" * 32, "signed_name": "Zoë Ωmega",
                  "signed_by": "staff: Front Desk", "signed_at_local": "Sat 12 Dec 2026 18:02 EST",
                  "client_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (iPhone)"}],
    "state": "incomplete",
    "missing": ["Insurance card"],
}  # fmt: skip


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_holds_answers_files_and_the_signed_consent_text():
    data = render_pdf(RECORD)
    assert data.startswith(b"%PDF-")
    text = " ".join(_pdf_text(data).split())
    for expected in (
        "Intake: Zoë Ωmega <script>alert(1)</script>", "form version 2", "Incomplete: still missing Insurance card.",
        "Do you have a referral? Yes", "Asthma <b>not bold</b>", "Age (no answer)",
        "card.jpg (image/jpeg, 229.1 KB)", "ab" * 32,
        "I agree to the treatment described to me. I may withdraw this consent at any time.",
        "Signed “Zoë Ωmega” by staff: Front Desk on Sat 12 Dec 2026 18:02 EST, from 203.0.113.7.", "cd" * 32,
    ):  # fmt: skip
        assert expected in text, expected


def test_a_long_intake_runs_over_pages_and_a_complete_one_says_so():
    record = {**RECORD, "state": "complete", "missing": [], "files": [], "consents": [],
              "items": [{"label": f"Question {n}", "kind": "long_text", "answer": "word " * 80} for n in range(60)]}  # fmt: skip
    data = render_pdf(record)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 2
    assert "Complete." in reader.pages[0].extract_text()
    assert f"page {len(reader.pages)} of {len(reader.pages)}" in reader.pages[-1].extract_text()


def test_the_html_page_escapes_customer_text_and_keeps_the_consent_whole():
    html = render_html(RECORD)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert CONSENT in html  # the exact text, line breaks kept (white-space: pre-wrap)
    assert "cd" * 32 in html and "staff: Front Desk" in html and "still missing Insurance card" in html


def test_sizes_read_like_a_file_manager():
    assert [human_size(n) for n in (0, 1023, 1024, 10 * 1024 * 1024)] == ["0 bytes", "1023 bytes", "1.0 KB", "10.0 MB"]
