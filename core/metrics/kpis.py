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


CAPACITY = ("available_min", "booked_min", "unbooked_min", "no_show_min", "late_cancel_min", "out_held", "out_min")
_KEYS = ["location_id", "provider_key", "day"]


def capacity_table(days: pd.DataFrame, available: pd.DataFrame) -> pd.DataFrame:
    """Per provider-day: available minutes and how they were used (CAPACITY), from rollup sums
    and available minutes. A provider-day without hours only counts as outside hours; a
    late-cancelled slot loses at most what nothing else holds."""
    sums = list(sources.SUMS)
    per_day = (
        days[days["provider_key"] != 0].groupby(_KEYS, as_index=False)[sums].sum()
        if not days.empty
        else pd.DataFrame(columns=_KEYS + sums)
    )
    avail = available.rename(columns={"provider_id": "provider_key"})[[*_KEYS, "available_min"]]
    m = per_day.merge(avail, on=_KEYS, how="outer")
    m[[*sums, "available_min"]] = m[[*sums, "available_min"]].fillna(0).astype("int64")
    inside = m["available_min"] > 0
    booked = m["booked_min"].where(inside, 0)
    free = (m["available_min"] - booked).clip(lower=0)
    lost_late = m["late_cancel_min"].where(inside, 0).clip(upper=free)
    out = m[_KEYS].copy()
    out["available_min"] = m["available_min"]
    out["booked_min"] = booked
    out["unbooked_min"] = free - lost_late
    out["no_show_min"] = m["no_show_min"].where(inside, 0).clip(upper=booked.clip(upper=m["available_min"]))
    out["late_cancel_min"] = lost_late
    out["out_held"] = m["held"].where(~inside, 0)
    out["out_min"] = m["booked_min"].where(~inside, 0)
    return out


def figures(
    counts: dict, cap: dict, lead: dict[int, int], inquiries: tuple[int, int] | None, extra_touches: int
) -> dict:
    """The KPI set from summed rollup counts (sources.SUMS), summed capacity (CAPACITY), the lead
    histogram, (received, converted) inquiries (None: not applicable) and touches from the queue."""
    n = int(counts["appointments"])
    avail = int(cap["available_min"])
    lost = {k: int(cap[f"{k}_min"]) for k in ("unbooked", "no_show", "late_cancel")}
    received, converted = inquiries if inquiries is not None else (0, 0)
    touches = int(counts["touches"]) + extra_touches
    return {
        "appointments": n,
        "no_show_rate": rate(counts["no_show"], counts["completed"] + counts["no_show"]),
        "late_cancel_rate": rate(counts["late_cancel"], n),
        "reschedule_rate": rate(counts["rescheduled"], n),
        "lead_time_median_days": nearest_rank(lead, 0.5),
        "lead_time_p90_days": nearest_rank(lead, 0.9),
        "utilization": rate(cap["booked_min"], avail),
        "capacity_leak": {k: rate(v, avail) for k, v in lost.items()},
        "conversion_rate": rate(converted, received) if inquiries is not None else None,
        "admin_touch_per_100": None if not n else 100 * touches / n,
        "counts": {
            **{k: int(counts[k]) for k in ("completed", "no_show", "cancelled", "late_cancel", "rescheduled")},
            "admin_touches": touches,
            "inquiries": received if inquiries is not None else None,
            "converted_inquiries": converted if inquiries is not None else None,
        },
        "minutes": {
            "available": avail,
            "booked": int(cap["booked_min"]),
            **lost,
            "attended": avail - sum(lost.values()),
        },  # fmt: skip
        "outside_hours": {"appointments": int(cap["out_held"]), "minutes": int(cap["out_min"])},
    }


def _by_day(frame: pd.DataFrame, columns) -> pd.DataFrame:
    columns = list(columns)
    if frame.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="day"))
    return frame.groupby("day")[columns].sum().sort_index()


def _window_sum(by_day: pd.DataFrame, first: date, last: date) -> dict:
    part = by_day.loc[first:last] if not by_day.empty else by_day
    return {c: int(part[c].sum()) if len(part) else 0 for c in by_day.columns}


def _hist(frame: pd.DataFrame) -> dict[int, int]:
    return {int(k): int(v) for k, v in frame.groupby("lead_days")["n"].sum().items()} if not frame.empty else {}


def _hist_in(lead: pd.DataFrame, first: date, last: date) -> dict[int, int]:
    if lead.empty:
        return {}
    return _hist(lead[(lead["day"] >= first) & (lead["day"] <= last)])


class Dataset:
    """Everything one page or command needs for days first..last, read once."""

    def __init__(self, session: Session, actor: Actor | None, filters: Filters, first: date, last: date):
        self.filters, self.first, self.last = filters, first, last
        self.zones = sources.scoped_locations(session, actor, filters)
        days = sources.provider_days(session, actor, filters, first, last)
        available = capacity.available_minutes(session, list(self.zones), first, last, filters.provider_id)
        self.counts = _by_day(days, sources.SUMS)
        self.capacity = _by_day(capacity_table(days, available), CAPACITY)
        self.lead = sources.lead_histogram(session, actor, filters, first, last, by="day")
        exceptions = sources.resolved_exceptions(session, self.zones, filters, first, last)
        self.exceptions = exceptions.assign(n=1)[["day", "n"]] if not exceptions.empty else exceptions
        self._session = session

    def windows(self, windows: list[Window]) -> list[dict]:
        inq = self._inquiries(windows)
        ex = _by_day(self.exceptions, ["n"]) if not self.exceptions.empty else None
        out = []
        for i, w in enumerate(windows):
            touches = _window_sum(ex, w.first, w.last)["n"] if ex is not None else 0
            out.append(
                figures(
                    _window_sum(self.counts, w.first, w.last),
                    _window_sum(self.capacity, w.first, w.last),
                    _hist_in(self.lead, w.first, w.last),
                    inq[i],
                    touches,
                )
            )
        return out

    def _inquiries(self, windows: list[Window]) -> list[tuple[int, int] | None]:
        if self.filters.provider_id is not None or not self.zones:
            return [None if self.filters.provider_id is not None else (0, 0) for _ in windows]
        # Count per bin between every window edge, then add up the bins each window covers.
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
    """One row of KPIs per location, provider or type (`by`), for the window. A type's
    utilization is its share of the providers' available minutes (no unbooked share per type)."""
    check(actor, A.METRICS_VIEW, filters.location_id, entity="metrics")
    column = sources.GROUPS[by]
    with read_session() as session:
        zones = sources.scoped_locations(session, actor, filters)
        days = sources.provider_days(session, actor, filters, window.first, window.last, by_type=by == "type")
        available = capacity.available_minutes(session, list(zones), window.first, window.last, filters.provider_id)
        lead = sources.lead_histogram(session, actor, filters, window.first, window.last, by=by)
        exceptions = sources.resolved_exceptions(session, zones, filters, window.first, window.last)
        inq = _grouped_inquiries(session, zones, filters, window, by)
    if days.empty:
        return pd.DataFrame(columns=[by, *(k for k in KPI_KEYS if k != "capacity_leak")])
    counts = days.groupby(column)[list(sources.SUMS)].sum()
    if by == "type":
        cap_all = capacity_table(days, available)
        total_avail = int(cap_all["available_min"].sum())
        hours = cap_all.loc[cap_all["available_min"] > 0, _KEYS].assign(inside=True)
        typed = days.merge(hours, on=_KEYS, how="left")
        typed = typed[typed["inside"].fillna(False).astype(bool) & (typed["provider_key"] != 0)]
        caps = typed.groupby(column)[["booked_min", "no_show_min", "late_cancel_min"]].sum()
    else:
        caps = capacity_table(days, available).groupby(column)[list(CAPACITY)].sum()
    touches = exceptions.groupby(column).size() if not exceptions.empty else pd.Series(dtype="int64")
    lead_by = {k: _hist(g) for k, g in lead.groupby(column)} if not lead.empty else {}
    rows = []
    for key, c in counts.iterrows():
        if by == "type":
            t = caps.loc[key] if key in caps.index else pd.Series(0, index=caps.columns)
            cap = {"available_min": total_avail, "booked_min": t["booked_min"], "unbooked_min": 0,
                   "no_show_min": t["no_show_min"], "late_cancel_min": t["late_cancel_min"], "out_held": 0,
                   "out_min": 0}  # fmt: skip
        else:
            cap = caps.loc[key].to_dict() if key in caps.index else dict.fromkeys(CAPACITY, 0)
        inquiries = None if by == "provider" or filters.provider_id else inq.get(int(key), (0, 0))
        f = figures(c.to_dict(), cap, lead_by.get(key, {}), inquiries, int(touches.get(key, 0)))
        if by == "type":
            f["capacity_leak"]["unbooked"] = None
        minutes = {f"{k}_min": v for k, v in f["minutes"].items()}
        if by == "type":  # capacity is the providers', not a type's
            minutes = {k: v for k, v in minutes.items() if k in ("booked_min", "no_show_min", "late_cancel_min")}
        rows.append({by: int(key), **{k: f[k] for k in KPI_KEYS if k != "capacity_leak"}, **_leak(f), **minutes})
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
