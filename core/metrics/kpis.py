"""The KPI set for a window and its previous period, the weekly trend and the breakdowns
(definitions: core.metrics.definitions). Read from the rollup, aggregated in the database with
the actor's location scope in SQL; shaped here with pandas."""

from __future__ import annotations

import bisect
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core.metrics import capacity, inquiries, sources
from core.metrics.definitions import Window, nearest_rank, rate
from core.metrics.sources import Filters
from core.security.access import A, Actor
from core.security.service import reading

KPI_KEYS = (
    "appointments", "no_show_rate", "late_cancel_rate", "reschedule_rate", "lead_time_median_days",
    "lead_time_p90_days", "utilization", "capacity_leak", "conversion_rate", "admin_touch_per_100",
)  # fmt: skip


def capacity_use(sums: dict, available: int) -> dict:
    """How the available minutes were used, from binned sums (sources.HOURS_SUMS): booked, lost
    to no-shows, lost to late cancels (at most what no booking holds), unbooked (the rest)."""
    booked = int(sums["booked_in"])
    free = max(available - booked, 0)
    late = min(int(sums["late_in"]), free)
    return {
        "available_min": available,
        "booked_min": booked,
        "unbooked_min": free - late,
        "no_show_min": min(int(sums["no_show_in"]), booked, available),
        "late_cancel_min": late,
        "out_held": int(sums["out_held"]),
        "out_min": int(sums["out_min"]),
    }


def figures(
    counts: dict, cap: dict, lead: dict[int, int], inquiries: tuple[int, int] | None, extra_touches: int
) -> dict:
    """The KPI set from summed rollup counts (sources.SUMS), `capacity_use`, the lead histogram,
    (received, converted) inquiries (None: not applicable) and touches from the queue."""
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


def _hist(frame: pd.DataFrame) -> dict[int, int]:
    return {int(k): int(v) for k, v in frame.groupby("lead_days")["n"].sum().items()} if not frame.empty else {}


def edges_of(windows: list[Window]) -> list[date]:
    return sorted({w.first for w in windows} | {w.last + timedelta(days=1) for w in windows})


class Dataset:
    """Everything one page or command needs for some windows, read once, binned by the
    windows' edges in the database."""

    def __init__(self, session: Session, actor: Actor | None, filters: Filters, windows: list[Window]):
        self.filters, self.windows_ = filters, windows
        self.edges = edges_of(windows)
        first, last = self.edges[0], self.edges[-1] - timedelta(days=1)
        self.zones = sources.scoped_locations(session, actor, filters)
        self.capacity = capacity.Capacity(session, self.zones, first, last, filters.provider_id)
        self.sums = sources.binned_sums(session, actor, filters, self.edges,
                                        computed_days_off=self.capacity.computed_days_off())  # fmt: skip
        self.lead = sources.binned_lead(session, actor, filters, self.edges)
        self.exceptions = sources.resolved_exceptions(session, self.zones, filters, first, last)
        self._session = session

    def _bins(self, w: Window) -> tuple[int, int]:
        return self.edges.index(w.first), self.edges.index(w.last + timedelta(days=1))

    def windows(self) -> list[dict]:
        """The KPI set of each window, from running totals over the bins (a window is a run of
        bins: its totals are two rows' difference)."""
        bins = len(self.edges) - 1
        inq = self._inquiries()
        columns = [*sources.SUMS, *sources.HOURS_SUMS]
        sums = _running(_per_bin(self.sums, columns, bins))
        per_lead, low = _per_lead(self.lead, bins)
        leads = _running(per_lead)
        touch_days = sorted(self.exceptions["day"]) if not self.exceptions.empty else []
        out = []
        for i, w in enumerate(self.windows_):
            lo, hi = self._bins(w)
            window_sums = dict(zip(columns, (sums[hi] - sums[lo]).tolist(), strict=True))
            counts = leads[hi] - leads[lo]
            hist = {int(k) + low: int(counts[k]) for k in counts.nonzero()[0]}
            touches = bisect.bisect_right(touch_days, w.last) - bisect.bisect_left(touch_days, w.first)
            cap = capacity_use(window_sums, self.capacity.total(w.first, w.last))
            out.append(figures(window_sums, cap, hist, inq[i], touches))
        return out

    def _inquiries(self) -> list[tuple[int, int] | None]:
        if self.filters.provider_id is not None or not self.zones:
            return [None if self.filters.provider_id is not None else (0, 0) for _ in self.windows_]
        counts = inquiries.inquiry_counts(self._session, self.zones, self.filters, self.edges)
        running = _running(_per_bin(counts[counts["bin"] >= 0], ["received", "converted"], len(self.edges) - 1))
        result = []
        for w in self.windows_:
            lo, hi = self._bins(w)
            received, converted = (running[hi] - running[lo]).tolist()
            result.append((received, converted))
        return result


def _per_bin(frame: pd.DataFrame, columns: list[str], bins: int) -> np.ndarray:
    """The columns summed per bin, one row for each of bins 0..bins-1 (zeros where none)."""
    if frame.empty:
        return np.zeros((bins, len(columns)), dtype="int64")
    return frame.groupby("bin")[columns].sum().reindex(range(bins), fill_value=0).to_numpy("int64")


def _per_lead(lead: pd.DataFrame, bins: int) -> tuple[np.ndarray, int]:
    """The lead histogram (bin, lead_days, n) as a bins x leads array (column j: lead low + j),
    and low."""
    lead = lead[lead["bin"] >= 0] if not lead.empty else lead
    low = int(lead["lead_days"].min()) if not lead.empty else 0
    width = int(lead["lead_days"].max()) - low + 1 if not lead.empty else 0
    per_lead = np.zeros((bins, width), dtype="int64")
    at = (lead["bin"].to_numpy("int64"), lead["lead_days"].to_numpy("int64") - low)
    np.add.at(per_lead, at, lead["n"].to_numpy("int64"))
    return per_lead, low


def _running(per_bin: np.ndarray) -> np.ndarray:
    """Running totals over the bins: row i sums the bins before i, so bins lo..hi-1 sum to row
    hi minus row lo."""
    return np.vstack([np.zeros((1, per_bin.shape[1]), dtype="int64"), per_bin.cumsum(axis=0)])


def week_windows(last_day: date, weeks: int = 12) -> list[Window]:
    """The `weeks` Monday-to-Sunday weeks ending with the one that holds `last_day`."""
    monday = last_day - timedelta(days=last_day.weekday())
    return [Window(monday - timedelta(weeks=k), monday - timedelta(weeks=k) + timedelta(days=6))
            for k in range(weeks - 1, -1, -1)]  # fmt: skip


def kpis(actor: Actor | None, window: Window, filters: Filters = Filters()) -> dict:
    """The KPI set for the window with `previous` (the same keys for the previous period)."""
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        prev = window.previous()
        current, previous = Dataset(session, actor, filters, [window, prev]).windows()
    return _public(window, current) | {"previous": _public(prev, previous)}


def _public(window: Window, f: dict) -> dict:
    return {"from": window.first.isoformat(), "to": window.last.isoformat()} | f


def dashboard(actor: Actor | None, window: Window, filters: Filters = Filters(), weeks: int = 12) -> dict:
    """The KPI set with its previous period, plus the weekly trend ending with the window."""
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        prev = window.previous()
        trend = week_windows(window.last, weeks)
        current, previous, *weekly = Dataset(session, actor, filters, [window, prev, *trend]).windows()
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
    with reading(actor, A.METRICS_VIEW, filters.location_id, entity="metrics") as session:
        column = sources.GROUPS[by]
        edges = [window.first, window.last + timedelta(days=1)]
        zones = sources.scoped_locations(session, actor, filters)
        cap = capacity.Capacity(session, zones, window.first, window.last, filters.provider_id, by=by)
        sums = sources.binned_sums(session, actor, filters, edges, by=by, computed_days_off=cap.computed_days_off())
        lead = sources.binned_lead(session, actor, filters, edges, by=by)
        exceptions = sources.resolved_exceptions(session, zones, filters, window.first, window.last)
        inq = _grouped_inquiries(session, zones, filters, window, by)
    if sums.empty:
        return pd.DataFrame(columns=[by, *(k for k in KPI_KEYS if k != "capacity_leak")])
    available = cap.total(window.first, window.last)
    touches = exceptions.groupby(column).size() if not exceptions.empty else pd.Series(dtype="int64")
    lead_by = {k: _hist(g) for k, g in lead.groupby(column)} if not lead.empty else {}
    rows = []
    for _, row in sums.groupby(column).sum().iterrows():
        key = row.name
        avail = available if by == "type" else int(available.get(key, 0))
        inquiries = None if by == "provider" or filters.provider_id else inq.get(int(key), (0, 0))
        f = figures(row.to_dict(), capacity_use(row.to_dict(), avail), lead_by.get(key, {}), inquiries,
                    int(touches.get(key, 0)))  # fmt: skip
        minutes = {f"{k}_min": v for k, v in f["minutes"].items()}
        if by == "type":  # capacity is the providers', not a type's
            f["capacity_leak"]["unbooked"] = None
            minutes = {k: v for k, v in minutes.items() if k in ("booked_min", "no_show_min", "late_cancel_min")}
        rows.append({by: int(key), **{k: f[k] for k in KPI_KEYS if k != "capacity_leak"}, **_leak(f), **minutes})
    return pd.DataFrame(rows)


def _grouped_inquiries(session: Session, zones, filters: Filters, window: Window, by: str) -> dict:
    if by == "provider" or filters.provider_id is not None or not zones:
        return {}
    edges = [window.first, window.last + timedelta(days=1)]
    counts = inquiries.inquiry_counts(session, zones, filters, edges, by=by)
    counts = counts[counts["bin"] == 0]
    counts["group"] = counts["group"].fillna(0).astype(int)
    grouped = counts.groupby("group")[["received", "converted"]].sum()
    return {int(k): (int(r["received"]), int(r["converted"])) for k, r in grouped.iterrows()}
