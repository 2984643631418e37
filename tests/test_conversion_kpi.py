"""The conversion KPI on a hand-built world with known answers: a call recorded and booked moves
the manager's figure by exactly that one inquiry; repeats within the hour count once; a booking
after the window does not convert; by channel, on the CLI, and the inquiries behind the figure
(analysts without names)."""

from __future__ import annotations

import json
from datetime import timedelta

from core.cli import main
from core.inquiries import services as inquiries
from core.metrics import conversion
from core.metrics.definitions import Window
from core.metrics.kpis import kpis
from tests.factories import NOW, at, world

WINDOW = Window(NOW.date() - timedelta(days=9), NOW.date())


def _record(w, customer, channel="phone", now=NOW, type_="consult"):
    return inquiries.record_inquiry(w.actors["frontdesk"], location_id=w.locations["downtown"].id, channel=channel,
                                    customer_id=w.customers[customer].id, type_id=w.types[type_].id, now=now)  # fmt: skip


def _book(w, recorded, hour, now=NOW):
    return inquiries.book_from_inquiry(w.actors["frontdesk"], recorded.inquiry_id, start=at(hour),
                                       intake={"reason": "x"}, now=now)  # fmt: skip


def test_a_call_recorded_and_booked_moves_the_figure_by_exactly_one(db):
    w = world()
    manager = w.actors["manager"]
    _record(w, "alan", channel="web", now=NOW - timedelta(hours=3))
    before = kpis(manager, WINDOW)
    assert (before["counts"]["inquiries"], before["counts"]["converted_inquiries"]) == (1, 0)
    call = _record(w, "ada")
    _record(w, "ada", now=NOW + timedelta(minutes=30))  # she calls back: the same inquiry
    _book(w, call, 10)
    after = kpis(manager, WINDOW)
    assert (after["counts"]["inquiries"], after["counts"]["converted_inquiries"]) == (2, 1)
    assert after["conversion_rate"] == 0.5
    assert conversion.by_channel(manager, WINDOW) == {
        "phone": {"inquiries": 1, "booked": 1, "rate": 1.0}, "web": {"inquiries": 1, "booked": 0, "rate": 0.0},
    }  # fmt: skip


def test_a_booking_later_than_the_window_counts_as_received_not_booked(db):
    w = world()
    late = _record(w, "ada", now=NOW - timedelta(days=8))
    _book(w, late, 10)
    result = kpis(w.actors["manager"], WINDOW)
    assert (result["counts"]["inquiries"], result["counts"]["converted_inquiries"]) == (1, 0)
    behind = conversion.inquiries_behind(w.actors["manager"], WINDOW)
    assert behind["outcome"].tolist() == ["booked later than the conversion window"]


def test_the_drill_down_lists_the_inquiries_behind_the_figure_and_hides_names_from_analysts(db):
    w = world()
    _book(w, _record(w, "ada"), 10)
    closed = _record(w, "alan", channel="email")
    inquiries.close_inquiry(w.actors["frontdesk"], closed.inquiry_id, reason="price", now=NOW)
    desk = conversion.inquiries_behind(w.actors["manager"], WINDOW)
    assert desk[["channel", "customer", "outcome"]].values.tolist() == [
        ["phone", "Ada Lovelace", "booked"], ["email", "Alan Turing", "closed: price"],
    ]  # fmt: skip
    booked = conversion.inquiries_behind(w.actors["manager"], WINDOW, booked=True)
    assert booked["customer"].tolist() == ["Ada Lovelace"]
    analyst = conversion.inquiries_behind(w.actors["analyst"], WINDOW)
    assert analyst["customer"].isna().all() and analyst["channel"].tolist() == ["phone", "email"]


def test_the_cli_prints_the_inquiry_keys(db, capsys):
    w = world()
    _book(w, _record(w, "ada"), 10)
    _record(w, "alan", channel="walk_in")
    assert main(["metrics", "--from", str(WINDOW.first), "--to", str(WINDOW.last), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["inquiries"], out["inquiries_booked"], out["conversion_rate"]) == (2, 1, 0.5)
    assert out["conversion_by_channel"]["walk_in"] == {"inquiries": 1, "booked": 0, "rate": 0.0}
    assert out["previous"]["inquiries"] == 0
