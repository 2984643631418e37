"""Where the stored no-show risk shows: the queue's "high risk, not confirmed" item (at or above
the NO_SHOW_HIGH_RISK setting, resolving when the appointment is confirmed, in place of
"Unconfirmed", waiting behind "Outside working hours"), the today page's
badge with its percentage and reasons, and the sentence the page shows when there is no model."""

from __future__ import annotations

import csv
import io
from datetime import time

import pytest

from core import cli
from core.base.bus import publish
from core.base.config import reset_settings
from core.base.db import unit_of_work
from core.base.models import NoShowModel, NoShowScore, TimeOff
from core.queue import detect, kinds
from core.queue.items import RESOLVED_BY_ITSELF
from core.scheduling import booking
from core.scheduling.events import ProviderScheduleChanged
from tests.factories import world
from tests.test_queue_rules import SOON, at, book, items
from tests.test_today_page import _book, _next_monday, _page, _select


def store_score(appointment_id: int, location_id: int, risk: float, reasons=("booked 34 days ahead",)) -> None:
    with unit_of_work() as s:
        model = NoShowModel(version="hgb-1", status="ready", features=[], figures={})
        s.add(model)
        s.flush()
        s.add(NoShowScore(appointment_id=appointment_id, location_id=location_id, model_id=model.id, risk=risk,
                          reasons=list(reasons)))  # fmt: skip


@pytest.fixture
def w(db):
    return world()


def test_a_high_risk_unconfirmed_appointment_is_a_call_to_make_until_it_is_confirmed(w, monkeypatch):
    risky, safe = book(w), book(w, customer="alan", provider="kim")
    store_score(risky.id, risky.location_id, 0.31)
    store_score(safe.id, safe.location_id, 0.12)
    assert dict(detect.detect_all(SOON).opened).get(kinds.NO_SHOW_RISK) == 1
    key = kinds.key(kinds.NO_SHOW_RISK, risky.id)
    assert items(kinds.NO_SHOW_RISK) == {key: ("open", None)}
    booking.confirm(w.actors["frontdesk"], risky.id, now=SOON)
    assert items(kinds.NO_SHOW_RISK) == {key: ("resolved", RESOLVED_BY_ITSELF)}
    monkeypatch.setenv("NO_SHOW_HIGH_RISK", "0.10")  # the threshold is a setting
    reset_settings()
    detect.detect_all(SOON)
    assert items(kinds.NO_SHOW_RISK)[kinds.key(kinds.NO_SHOW_RISK, safe.id)] == ("open", None)


def test_a_high_risk_appointment_is_one_call_and_waits_while_it_cannot_take_place(w):
    """Booked, unconfirmed and high risk: the desk sees "High risk, not confirmed", not also
    "Unconfirmed" (one call prompt per appointment); on time off, only "Outside working hours"."""
    risky, plain = book(w, now=SOON), book(w, customer="alan", provider="kim", now=SOON)
    store_score(risky.id, risky.location_id, 0.31)
    detect.detect_all(SOON)
    opened = {k for k, (status, _) in items().items() if status == "open"}
    assert opened == {kinds.key(kinds.NO_SHOW_RISK, risky.id), kinds.key(kinds.UNCONFIRMED, plain.id)}
    rao = w.providers["rao"].id
    with unit_of_work() as s:
        s.add(TimeOff(provider_id=rao, start_at=at(0), end_at=at(23), reason="Conference"))
        publish(s, ProviderScheduleChanged(provider_id=rao, location_ids=(risky.location_id,), at=SOON))
    detect.detect_all(SOON)
    opened = {k for k, (status, _) in items().items() if status == "open"}
    assert opened == {kinds.key(kinds.OUTSIDE_HOURS, risky.id), kinds.key(kinds.UNCONFIRMED, plain.id)}


def test_the_today_page_shows_the_risk_badge_with_its_reasons_and_the_list_column(sqlite_db):
    w = world()
    day = _next_monday()
    risky = _book(w, day, time(9))
    plain = _book(w, day, time(10), customer="alan")
    store_score(risky, w.locations["downtown"].id, 0.34, ["missed 2 of their last 3", "booked 34 days ahead"])
    at = _select(_page(w, "frontdesk", day), risky)
    frame = at.dataframe[0].value
    assert frame.loc[risky, "No-show risk"] == "High 34%" and frame.loc[plain, "No-show risk"] == ""
    badge = [m for m in at.markdown if "High risk" in m.value]
    assert badge and "missed 2 of their last 3; booked 34 days ahead" in badge[0].value
    assert badge[0].help == "34% chance of a no-show: missed 2 of their last 3; booked 34 days ahead."


def test_the_today_page_says_why_there_is_no_risk(sqlite_db):
    w = world()
    day = _next_monday()
    _book(w, day, time(9))
    with unit_of_work() as s:
        s.add(NoShowModel(version="hgb-1", status="too_little_history", features=[], figures={},
                          reason="Not enough history for a no-show risk yet: 12 finished appointments (1,000 needed) "
                          "and 1 no-shows (50 needed)."))  # fmt: skip
    at = _page(w, "frontdesk", day)
    assert any(c.value.startswith("Not enough history for a no-show risk yet") for c in at.caption)
    assert "No-show risk" not in at.dataframe[0].value.columns


def test_the_export_carries_the_risk_and_leaves_it_empty_where_there_is_none(w, capsys):
    risky, other = book(w), book(w, customer="alan", provider="kim")
    store_score(risky.id, risky.location_id, 0.3141)
    assert cli.main(["export-appointments"]) == 0
    rows = {int(r["appointment_id"]): r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert list(rows[risky.id])[-1] == "no_show_risk"
    assert rows[risky.id]["no_show_risk"] == "0.3141" and rows[other.id]["no_show_risk"] == ""
