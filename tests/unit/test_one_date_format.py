"""One way to say a date (issue 31 item 14): "Mon 7 Dec", with the year where it is needed, never
"Mon 07 Dec"; time spans with one dash, "10:00–10:30"."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta

import pytest

from core.queue.reads import ItemView
from core.scheduling.availability import fmt_day, fmt_span
from core.scheduling.labels import clamp, day_label

pytestmark = pytest.mark.unit

NY = "America/New_York"


def test_days_read_without_a_leading_zero_and_the_year_is_added_whole():
    assert day_label(date(2026, 12, 7)) == "Mon 7 Dec"
    assert fmt_day(date(2026, 12, 7)) == "Mon 7 Dec 2026"


def test_a_queue_item_says_its_time_like_the_schedule():
    due = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    blank = dict.fromkeys(f.name for f in fields(ItemView))
    item = ItemView(**{**blank, "due_at": due, "detected_at": due, "timezone": NY, "details": {}})
    assert item.when() == "Mon 7 Dec 10:00"


def test_spans_use_the_en_dash():
    start = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert fmt_span(start, start + timedelta(minutes=30), NY) == "10:00–10:30"


def test_a_long_note_is_cut_at_a_word_and_a_short_one_is_left_whole():
    assert clamp("Prefers mornings") is None
    cut = clamp("word " * 100)
    assert cut.endswith("word…") and len(cut) <= 201
    assert clamp("one\ntwo\nthree\nfour") == "one\ntwo\nthree…"


def test_no_page_or_service_formats_a_day_with_a_leading_zero_or_slashes():
    """The pages and services say a day through day_label / fmt_day, so "Mon 07 Dec" and
    "2026/11/23" cannot come back one f-string at a time."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("pages", "core")
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "%d %b" in line or "%Y/%m" in line
    ]
    assert found == []
