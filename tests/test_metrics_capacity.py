"""The stored available minutes (metric_capacity, metric_capacity_day) are kept by every settings
change that moves them: weekly hours, time off added and removed (by hand and by a settings file),
a provider leaving a location, a location changing its zone. After each, they equal a fresh
computation from the hours and time off, and the KPIs read them."""

from __future__ import annotations

from datetime import date, time

import pytest
import yaml
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.metrics import capacity, drill
from core.metrics.definitions import Window
from core.metrics.kpis import kpis
from core.metrics.models import MetricCapacity, MetricCapacityDay
from core.metrics.sources import Filters
from core.scheduling.hours import Shift
from core.security.access import SYSTEM
from core.settings.config_file import apply_config, export_config
from core.settings.locations import save_location
from core.settings.providers import save_provider
from core.settings.working_time import add_time_off, remove_time_off, set_hours
from tests.metrics_fixtures import hand_week

pytestmark = pytest.mark.usefixtures("db")

SPRING = date(2030, 3, 10)  # New York springs forward: 23 hours
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _stored() -> tuple[set, set]:
    with read_session() as s:
        return set(s.execute(select(MetricCapacity.__table__)).all()), set(
            s.execute(select(MetricCapacityDay.__table__)).all()
        )


def _kept() -> tuple[set, set]:
    """The stored rows, checked against a fresh computation (which is then rolled back)."""
    kept = _stored()
    with unit_of_work() as s:
        capacity.refresh(s)
        s.flush()
        fresh = (
            set(s.execute(select(MetricCapacity.__table__)).all()),
            set(s.execute(select(MetricCapacityDay.__table__)).all()),
        )
        s.rollback()
    assert kept == fresh
    return kept


def _available(provider_id: int, first: date, last: date) -> int:
    return kpis(SYSTEM, Window(first, last), Filters(provider_id=provider_id))["minutes"]["available"]


def test_every_settings_change_keeps_the_stored_minutes():
    w = hand_week()
    rao, downtown = w.providers["rao"].id, w.locations["downtown"].id
    weekly, days = _kept()
    assert weekly and not days  # the hand week has hours and no time off

    shifts = [Shift(downtown, d, time(9), time(17)) for d in range(5)] + [Shift(downtown, 6, time(0), time(6))]
    version = drill.data_version()
    set_hours(SYSTEM, rao, downtown, shifts)
    assert drill.data_version() != version  # the pages' cached figures are read again
    _kept()
    assert _available(rao, SPRING, SPRING) == 300  # 00:00-06:00 on a 23-hour night

    off, _ = add_time_off(SYSTEM, rao, first_day=date(2030, 3, 8), last_day=SPRING, location_id=downtown)
    half, _ = add_time_off(SYSTEM, rao, first_day=date(2030, 3, 12), start_time=time(9), end_time=time(13),
                           location_id=downtown)  # fmt: skip
    _, days = _kept()
    assert {(d, m) for _, _, d, _, m in days} == {
        (date(2030, 3, 8), 0),
        (date(2030, 3, 10), 0),
        (date(2030, 3, 12), 240),
    }
    assert _available(rao, date(2030, 3, 4), SPRING) == 4 * 480
    remove_time_off(SYSTEM, off)
    _kept()
    assert _available(rao, date(2030, 3, 4), SPRING) == 5 * 480 + 300

    doc = yaml.safe_load(export_config(SYSTEM))
    for provider in doc["providers"]:
        provider["time_off"] = []
    apply_config(SYSTEM, yaml.safe_dump(doc))
    assert _kept()[1] == set()
    assert half  # removed by the file

    # A provider at two locations leaves one; a location with no bookings changes its zone.
    north = save_location(SYSTEM, name="North", timezone="America/Chicago").id
    noor = save_provider(SYSTEM, name="Dr. Noor", email="noor@example.test", location_ids=[downtown, north])
    for loc in (downtown, north):
        set_hours(SYSTEM, noor, loc, [Shift(loc, 6, time(1), time(4))])
    add_time_off(SYSTEM, noor, first_day=SPRING, start_time=time(1), end_time=time(2), location_id=north)
    _, days = _kept()
    assert (north, noor, SPRING, 6, 60) in days  # 01:00-04:00 is 2 hours that night in Chicago; 1 is off
    save_location(SYSTEM, location_id=north, name="North", timezone="Asia/Kolkata")
    _, days = _kept()
    # The same instants are 12:30-13:30 there, outside the shift: the day keeps its 180 minutes.
    assert {(loc, d, m) for loc, p, d, _, m in days if p == noor} == {(downtown, SPRING, 60)}
    save_provider(SYSTEM, provider_id=noor, name="Dr. Noor", email="noor@example.test", location_ids=[downtown])
    weekly, days = _kept()
    assert all(loc != north for loc, *_ in weekly) and all(loc != north for loc, *_ in days)
