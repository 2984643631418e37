"""Utilization of a group class (docs/metrics.md): seats booked / seats available, weighted by
time, so a full class holds its slot once and no figure passes 100% for it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.base.db import unit_of_work
from core.base.models import Appointment
from core.metrics import capacity, kpis, utilization
from core.metrics.definitions import Window
from core.metrics.rebuild import rebuild_rollups
from core.metrics.sources import Filters
from tests.factories import many_customers, world
from tests.metrics_fixtures import LONDON, MONDAY, local

WEEK = Window(MONDAY, MONDAY + timedelta(days=6))
AVAILABLE = 5 * 8 * 60  # Sam Lee works at Harbor Monday to Friday, 9 to 17


def _class(w, seats: int, day: date = MONDAY, hour: int = 10) -> None:
    """`seats` people in one 60-minute group class (capacity 6) at Harbor."""
    start = local(day, hour, tz=LONDON)
    group = f"class-{day}-{hour}"  # the class's members share one block (group_key)
    with unit_of_work() as s:
        for customer_id in many_customers(w, seats, "harbor"):
            s.add(Appointment(location_id=w.locations["harbor"].id, provider_id=w.providers["lee"].id,
                              type_id=w.types["class"].id, customer_id=customer_id, start_at=start,
                              end_at=start + timedelta(minutes=60), block_start=start,
                              block_end=start + timedelta(minutes=60), status="confirmed", group_key=group,
                              booked_at=start - timedelta(days=2), source="test"))  # fmt: skip
        s.flush()
        capacity.refresh(s)
        rebuild_rollups(s)


@pytest.fixture
def w(db):
    return world()


def test_a_full_class_holds_its_hour_once(w):
    _class(w, 6)
    admin = w.actors["admin"]
    week = utilization.over_time(admin, WEEK, "provider", Filters(location_id=w.locations["harbor"].id))
    lee = week[week["provider"] == w.providers["lee"].id].iloc[0]
    assert (lee["booked_min"], lee["available_min"]) == (60, AVAILABLE)  # not 6 x 60
    heat = utilization.heatmap(admin, WEEK, w.locations["harbor"].id)
    cell = heat[(heat["weekday"] == 0) & (heat["hour"] == 10)].iloc[0]
    assert cell["utilization"] == pytest.approx(1.0)  # every place taken: the hour is fully used
    assert heat["utilization"].max() <= 1


def test_half_a_class_is_half_its_hour_and_the_kpi_agrees(w):
    _class(w, 3)
    _class(w, 6, MONDAY + timedelta(days=1))
    admin = w.actors["admin"]
    heat = utilization.heatmap(admin, WEEK, w.locations["harbor"].id)
    monday = heat[(heat["weekday"] == 0) & (heat["hour"] == 10)].iloc[0]
    assert monday["utilization"] == pytest.approx(0.5) and monday["booked_min"] == pytest.approx(30)
    figures = kpis.dashboard(admin, WEEK, Filters(location_id=w.locations["harbor"].id))["current"]
    assert figures["utilization"] == pytest.approx(90 / AVAILABLE)  # 30 + 60 seat-minutes
    assert figures["capacity_leak"]["unbooked"] == pytest.approx((AVAILABLE - 90) / AVAILABLE)
