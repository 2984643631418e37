"""The no-show trends on a hand-built week with known answers (docs/noshow.md, definitions), and
the pages that read scores or trends never load scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from core.base.db import unit_of_work
from core.base.models import Appointment, NotificationOutbox
from core.noshow import trends
from tests.factories import world

EST = timedelta(hours=5)  # New York in January


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + EST


def add(w, start: datetime, booked: datetime, status: str, customer: str, *, late=False, reminders=()) -> int:
    with unit_of_work() as s:
        a = Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                        type_id=w.types["consult"].id, customer_id=w.customers[customer].id, start_at=start,
                        end_at=start + timedelta(minutes=30), block_start=start, block_end=start + timedelta(minutes=30),
                        status=status, booked_at=booked, late_cancel=late)  # fmt: skip
        s.add(a)
        s.flush()
        for channel, offset_min, sent in reminders:
            s.add(NotificationOutbox(idempotency_key=f"r:{a.id}:{channel}:{offset_min}", appointment_id=a.id,
                                     location_id=a.location_id, channel=channel, kind="reminder", offset_min=offset_min,
                                     due_at=sent, next_attempt_at=sent, status="sent", sent_at=sent))  # fmt: skip
        return a.id


@pytest.fixture
def week(db):
    w = world()
    mon, tue, wed, thu, fri = (date(2030, 1, 7) + timedelta(days=k) for k in range(5))
    add(w, local(mon, 9), local(mon, 8), "completed", "ada")  # same day, ada's first
    s2 = local(tue, 9)
    add(
        w,
        s2,
        local(date(2030, 1, 1), 10),
        "no_show",
        "ada",
        reminders=[("email", 1440, s2 - timedelta(days=1)), ("email", 120, s2 - timedelta(hours=2))],
    )  # two by email
    s3 = local(wed, 15)
    add(w, s3, local(date(2029, 12, 1), 10), "no_show", "alan",
        reminders=[("email", 1440, s3 - timedelta(days=1)), ("sms", 120, s3 - timedelta(hours=2))])  # fmt: skip
    add(w, local(thu, 15), local(wed, 10), "cancelled", "alan", late=True)
    s5 = local(fri, 9)
    add(w, s5, local(date(2030, 1, 1), 10), "completed", "alan", reminders=[("email", 1440, s5 + timedelta(hours=1))])
    return w


def rows(t: trends.Trends, name: str) -> dict[str, tuple]:
    f = t.tables[name]
    return {r[name]: (r["appointments"], r["finished"], r["no_shows"], r["late_cancels"], bool(r["few"]))
            for r in f.to_dict("records")}  # fmt: skip


def test_the_trends_have_the_known_answers(week):
    w = week
    t = trends.trends(w.actors["manager"], date(2030, 1, 13), date(2030, 1, 13))
    assert (t.first, t.last) == (date(2030, 1, 13) - timedelta(days=83), date(2030, 1, 13))
    assert rows(t, "lead time") == {
        "same day": (1, 1, 0, 0, True), "1-2 days": (1, 0, 0, 1, True), "3-7 days": (1, 1, 1, 0, True),
        "8-14 days": (1, 1, 0, 0, True), "15-30 days": (0, 0, 0, 0, True), "over 30 days": (1, 1, 1, 0, True),
    }  # fmt: skip
    assert rows(t, "reminder received") == {  # the reminder sent after the start was not received
        "none": (3, 2, 0, 1, True),
        "email": (1, 1, 1, 0, True),
        "SMS": (0, 0, 0, 0, True),
        "both": (1, 1, 1, 0, True),
    }
    assert rows(t, "reminder offset") == {"none": (3, 2, 0, 1, True), "24 h": (2, 2, 2, 0, True)}
    assert rows(t, "customer") == {"new": (2, 2, 1, 0, True), "returning": (3, 2, 1, 1, True)}
    lead = t.tables["lead time"].set_index("lead time")
    assert lead.loc["3-7 days", "no_show_rate"] == 1.0 and lead.loc["1-2 days", "late_cancel_rate"] == 1.0
    assert lead["no_show_rate"].isna().tolist() == [False, True, False, False, True, False]  # no denominator: none
    heat = {(r["weekday"], r["hour"]): (r["finished"], r["no_shows"]) for r in t.heatmap.to_dict("records")}
    assert heat == {
        ("Mon", 9): (1, 0),
        ("Tue", 9): (1, 1),
        ("Wed", 15): (1, 1),
        ("Thu", 15): (0, 0),
        ("Fri", 9): (1, 0),
    }
    assert t.by_reminder.with_reminder.no_show == 2 and t.by_reminder.without_reminder.completed == 1


def test_pages_that_read_scores_and_trends_never_load_scikit_learn():
    code = ("import sys, core.noshow.reads, core.noshow.trends, core.reports.export, core.queue.detect, core.bootstrap; "
            "print('sklearn' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
