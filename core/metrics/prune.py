"""Pruning what no metrics window can read.

metric_provider_day keeps a row per (location, provider, local day) that ever held an
appointment; when the appointments leave the day (moved, reassigned, re-imported elsewhere) its
sums fall to zero but the row stays, and with it the (location, provider, weekday) row in
metric_provider_weekday that the outside-working-hours sum joins through. Both only grew. A
provider-day whose every sum is zero adds nothing to any window, and a weekday triple without a
provider-day is joined to nothing: this job deletes them, one location at a time.

On PostgreSQL a writer of the rollup takes a shared advisory lock on each location it touches
(`hold_location`, before its first row lock there) and the pruner an exclusive one, so a triple
is never deleted while a booking is adding its first provider-day (the triple's insert is an
ON CONFLICT DO NOTHING that would have seen the row about to go). SQLite has one writer at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.orm import Session

from core.base.db import unit_of_work
from core.base.jobs import job
from core.base.models import Location
from core.metrics.models import COUNTS, MetricProviderDay, MetricProviderWeekday

LOCK_SPACE = 0x6D77  # "mw": the advisory-lock namespace for metric writers per location


def hold_location(session: Session, location_id: int, *, exclusive: bool = False) -> None:
    """PostgreSQL: take this transaction's advisory lock on the location's provider rollup."""
    if session.get_bind().dialect.name != "postgresql":
        return
    fn = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    session.execute(select(fn(LOCK_SPACE, location_id)))


def prune_location(session: Session, location_id: int) -> tuple[int, int]:
    """(provider-days, weekday triples) deleted at one location."""
    hold_location(session, location_id, exclusive=True)
    md, seen = MetricProviderDay, MetricProviderWeekday
    empty = and_(*(getattr(md, name) == 0 for name in COUNTS))
    days = session.execute(delete(md).where(md.location_id == location_id, empty)).rowcount or 0
    has_day = exists().where(
        md.location_id == seen.location_id, md.provider_key == seen.provider_key, md.weekday == seen.weekday
    )
    triples = session.execute(delete(seen).where(seen.location_id == location_id, ~has_day)).rowcount or 0
    return days, triples


def prune(now: datetime | None = None) -> tuple[int, int]:
    """Prune every location, each in its own short transaction."""
    with unit_of_work() as s:
        location_ids = list(s.scalars(select(Location.id).order_by(Location.id)))
    total = (0, 0)
    for location_id in location_ids:
        with unit_of_work() as s:
            days, triples = prune_location(s, location_id)
        total = (total[0] + days, total[1] + triples)
    return total


@job("prune-metrics", every=timedelta(hours=6))
def run(now: datetime) -> str:
    days, triples = prune(now)
    return f"pruned {days} empty provider-days and {triples} weekday rows no window reads"
