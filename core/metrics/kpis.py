"""The KPI set for a window and its previous period, the weekly trend and the breakdowns
(definitions: core.metrics.definitions). Read from the rollup, aggregated in the database with
the actor's location scope in SQL; shaped here with pandas."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from core.base.db import read_session
from core.metrics import capacity, sources
from core.metrics.definitions import Window, nearest_rank, rate
from core.metrics.sources import Filters
from core.security.access import A, Actor
from core.security.service import check

KPI_KEYS = (
    "appointments", "no_show_rate", "late_cancel_rate", "reschedule_rate", "lead_time_median_days",
    "lead_time_p90_days", "utilization", "capacity_leak", "conversion_rate", "admin_touch_per_100",
)  # fmt: skip


def figures(
    days: pd.DataFrame,
    available: pd.DataFrame,
    lead: dict[int, int],
    inquiries: tuple[int, int] | None,
    extra_touches: int,
) -> dict:
    """The KPI set from provider-day rollup sums, available minutes, the lead histogram,
    (received, converted) inquiries (None: not applicable) and touches from the queue."""
    total = days[list(sources.SUMS)].sum() if not days.empty else pd.Series(0, index=list(sources.SUMS))
    n = int(total["appointments"])
    keys = ["location_id", "provider_key", "day"]
    sums = list(sources.SUMS)
    per_day = (
        days[days["provider_key"] != 0].groupby(keys, as_index=False)[sums].sum()
        if not days.empty
        else pd.DataFrame(columns=keys + sums)
    )
    avail = available.rename(columns={"provider_id": "provider_key"})[[*keys, "available_min"]]
    m = per_day.merge(avail, on=keys, how="outer")
    m[[*sums, "available_min"]] = m[[*sums, "available_min"]].fillna(0).astype("int64")
    inside = m[m["available_min"] > 0]
    outside = m[(m["available_min"] <= 0) & (m["held"] > 0)]
    avail_min = int(inside["available_min"].sum())
    booked = int(inside["booked_min"].sum())
    free = (inside["available_min"] - inside["booked_min"]).clip(lower=0)
    lost_late = inside["late_cancel_min"].clip(upper=free)
    lost_no_show = inside["no_show_min"].clip(upper=inside[["booked_min", "available_min"]].min(axis=1))
    unbooked = int((free - lost_late).sum())
    received, converted = inquiries if inquiries is not None else (0, 0)
    touches = int(total["touches"]) + extra_touches
    return {
        "appointments": n,
        "no_show_rate": rate(total["no_show"], total["completed"] + total["no_show"]),
        "late_cancel_rate": rate(total["late_cancel"], n),
        "reschedule_rate": rate(total["rescheduled"], n),
        "lead_time_median_days": nearest_rank(lead, 0.5),
        "lead_time_p90_days": nearest_rank(lead, 0.9),
        "utilization": rate(booked, avail_min),
        "capacity_leak": {
            "unbooked": rate(unbooked, avail_min),
            "no_show": rate(int(lost_no_show.sum()), avail_min),
            "late_cancel": rate(int(lost_late.sum()), avail_min),
        },
        "conversion_rate": rate(converted, received) if inquiries is not None else None,
        "admin_touch_per_100": None if not n else 100 * touches / n,
        "counts": {
            "completed": int(total["completed"]),
            "no_show": int(total["no_show"]),
            "cancelled": int(total["cancelled"]),
            "late_cancel": int(total["late_cancel"]),
            "rescheduled": int(total["rescheduled"]),
            "admin_touches": touches,
            "inquiries": received if inquiries is not None else None,
            "converted_inquiries": converted if inquiries is not None else None,
        },  # fmt: skip
        "minutes": {
            "available": avail_min,
            "booked": booked,
            "unbooked": unbooked,
            "no_show": int(lost_no_show.sum()),
            "late_cancel": int(lost_late.sum()),
            "attended": avail_min - unbooked - int(lost_no_show.sum()) - int(lost_late.sum()),
        },  # fmt: skip
        "outside_hours": {"appointments": int(outside["held"].sum()), "minutes": int(outside["booked_min"].sum())},
    }


def _slice(frame: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame[(frame["day"] >= first) & (frame["day"] <= last)]


def _hist(frame: pd.DataFrame) -> dict[int, int]:
    return {int(k): int(v) for k, v in frame.groupby("lead_days")["n"].sum().items()} if not frame.empty else {}


class Dataset:
    """Everything one page or command needs for days first..last, read once."""

    def __init__(self, session: Session, actor: Actor | None, filters: Filters, first: date, last: date):
        self.filters, self.first, self.last = filters, first, last
        self.zones = sources.scoped_locations(session, actor, filters)
        self.days = sources.provider_days(session, actor, filters, first, last)
        self.available = capacity.available_minutes(session, list(self.zones), first, last, filters.provider_id)
        self.lead = sources.lead_histogram(session, actor, filters, first, last, by="day")
        self.exceptions = sources.resolved_exceptions(session, self.zones, filters, first, last)
        self._session = session

    def windows(self, windows: list[Window]) -> list[dict]:
        inq = self._inquiries(windows)
        out = []
        for i, w in enumerate(windows):
            out.append(
                figures(
                    _slice(self.days, w.first, w.last),
                    _slice(self.available, w.first, w.last),
                    _hist(_slice(self.lead, w.first, w.last)),
                    inq[i],
                    len(_slice(self.exceptions, w.first, w.last)),
                )
            )
        return out

    def _inquiries(self, windows: list[Window]) -> list[tuple[int, int] | None]:
        if self.filters.provider_id is not None or not self.zones:
            return [None if self.filters.provider_id is not None else (0, 0) for _ in windows]
        # Windows here are consecutive or nested in consecutive weeks: count per day-run bin.
        edges = sorted({w.first for w in windows} | {w.last + timedelta(days=1) for w in windows})
        counts = sources.inquiry_counts(self._session, self.zones, self.filters, edges)
        counts = counts[counts["bin"] >= 0].groupby("bin")[["received", "converted"]].sum()
        result = []
        for w in windows:
            lo, hi = edges.index(w.first), edges.index(w.last + timedelta(days=1))
            part = counts.loc[[b for b in counts.index if lo <= b < hi]]
            result.append((int(part["received"].sum()), int(part["converted"].sum())))
        return result


def week_windows(last_day: date, weeks: int = 12) -> list[Window]:
    """The `weeks` Monday-to-Sunday weeks ending with the one that holds `last_day`."""
    monday = last_day - timedelta(days=last_day.weekday())
    return [Window(monday - timedelta(weeks=k), monday - timedelta(weeks=k) + timedelta(days=6))
            for k in range(weeks - 1, -1, -1)]  # fmt: skip


def kpis(actor: Actor | None, window: Window, filters: Filters = Filters()) -> dict:
    """The KPI set for the window with `previous` (the same keys for the previous period)."""
    check(actor, A.METRICS_VIEW, filters.location_id, entity="metrics")
    prev = window.previous()
    with read_session() as session:
        data = Dataset(session, actor, filters, prev.first, window.last)
        current, previous = data.windows([window, prev])
    return _public(window, current) | {"previous": _public(prev, previous)}


def _public(window: Window, f: dict) -> dict:
    return {"from": window.first.isoformat(), "to": window.last.isoformat()} | f


def dashboard(actor: Actor | None, window: Window, filters: Filters = Filters(), weeks: int = 12) -> dict:
    """The KPI set with its previous period, plus the weekly trend ending with the window."""
    check(actor, A.METRICS_VIEW, filters.location_id, entity="metrics")
    prev = window.previous()
    trend = week_windows(window.last, weeks)
    first = min(prev.first, trend[0].first)
    with read_session() as session:
        data = Dataset(session, actor, filters, first, max(window.last, trend[-1].last))
        current, previous, *weekly = data.windows([window, prev, *trend])
    rows = [
        {"week": w.first, **{k: f[k] for k in KPI_KEYS if k != "capacity_leak"}, **_leak(f)}
        for w, f in zip(trend, weekly, strict=True)
    ]
    return {
        "current": _public(window, current),
        "previous": _public(prev, previous),
        "trend": pd.DataFrame(rows),
    }


def _leak(f: dict) -> dict:
    return {f"leak_{k}": v for k, v in f["capacity_leak"].items()}


def breakdown(actor: Actor | None, window: Window, by: str, filters: Filters = Filters()) -> pd.DataFrame:
    """One row of KPIs per location, provider or type (`by`), for the window."""
    check(actor, A.METRICS_VIEW, filters.location_id, entity="metrics")
    column = sources.GROUPS[by]
    with read_session() as session:
        zones = sources.scoped_locations(session, actor, filters)
        days = sources.provider_days(session, actor, filters, window.first, window.last, by_type=by == "type")
        available = capacity.available_minutes(session, list(zones), window.first, window.last, filters.provider_id)
        lead = sources.lead_histogram(session, actor, filters, window.first, window.last, by=by)
        exceptions = sources.resolved_exceptions(session, zones, filters, window.first, window.last)
        inq = _grouped_inquiries(session, zones, filters, window, by)
    keys = sorted(set(days[column]) if not days.empty else set())
    rows = []
    for key in keys:
        part = days[days[column] == key]
        avail = available
        if by == "location":
            avail = available[available["location_id"] == key]
        elif by == "provider":
            avail = available[available["provider_id"] == key]
        ex = exceptions[exceptions[column] == key] if not exceptions.empty else exceptions
        hist = _hist(lead[lead[column] == key]) if not lead.empty else {}
        f = figures(
            part, avail, hist, None if by == "provider" or filters.provider_id else inq.get(key, (0, 0)), len(ex)
        )
        rows.append({by: int(key), **{k: f[k] for k in KPI_KEYS if k != "capacity_leak"}, **_leak(f)})
    return pd.DataFrame(rows)


def _grouped_inquiries(session: Session, zones, filters: Filters, window: Window, by: str) -> dict:
    if by == "provider" or filters.provider_id is not None or not zones:
        return {}
    edges = [window.first, window.last + timedelta(days=1)]
    counts = sources.inquiry_counts(session, zones, filters, edges, by=by)
    counts = counts[counts["bin"] == 0]
    counts["group"] = counts["group"].fillna(0).astype(int)
    grouped = counts.groupby("group")[["received", "converted"]].sum()
    return {int(k): (int(r["received"]), int(r["converted"])) for k, r in grouped.iterrows()}
