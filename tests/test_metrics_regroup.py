"""The rollup rebuild's local dates on SQLite (core.metrics.regroup): the instant moved by the zone's
UTC offset, taken from a CASE over the offsets zoneinfo gives, is the date Python's astimezone gives,
next to every change of offset (DST, half-hour shifts, the odd historical one) and between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from core.base.db import UTCDateTime
from core.metrics.regroup import offsets, sqlite_local_date

ZONES = ["America/Sao_Paulo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Apia"]  # fmt: skip


@pytest.mark.parametrize("tz", ZONES)
def test_the_local_date_in_sql_is_pythons_around_every_change_of_offset(tz):
    first, last = datetime(2010, 6, 1, tzinfo=UTC), datetime(2013, 6, 1, tzinfo=UTC)
    table = offsets(tz, first, last)
    changes = [until for until, _ in table[:-1]]
    assert changes or tz == "Asia/Kolkata"
    zone = ZoneInfo(tz)
    for until, seconds in table[:-1]:  # each change is exact to the second
        assert (until - timedelta(seconds=1)).astimezone(zone).utcoffset() == timedelta(seconds=seconds)
        assert until.astimezone(zone).utcoffset() != timedelta(seconds=seconds)
    instants = [first + timedelta(minutes=97 * n) for n in range(int((last - first).total_seconds() // 5820))]
    instants += [at + timedelta(seconds=s) for at in changes for s in (-3601, -1, 0, 1, 3600)]
    engine = create_engine("sqlite://")
    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(insert(t), [{"id": n, "at": at} for n, at in enumerate(instants)])
        got = dict(conn.execute(select(t.c.id, sqlite_local_date(t.c.at, table))).all())
    wrong = [(at, got[n]) for n, at in enumerate(instants) if got[n] != at.astimezone(zone).date()]
    assert not wrong, wrong[:5]
