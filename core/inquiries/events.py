"""What inquiry writers publish: the metric rollup counts it (core.metrics), webhooks send it
(core.webhooks.enqueue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class InquiryChanged:
    """An inquiry received at `received_at` at this location was recorded, merged, booked,
    unlinked or closed: its local day's counts change. `what` is "received" (a new inquiry,
    not a merged repeat), "booked" or "closed"."""

    inquiry_id: int
    location_id: int
    received_at: datetime
    what: str


@dataclass(frozen=True)
class InquiriesRecorded:
    """Many inquiries were written at once (`core.inquiries.bulk`), without an InquiryChanged
    each: `days` maps each location to the first and last local day of receipt among them, the
    days whose counts change."""

    days: dict[int, tuple[date, date]]
    count: int
    at: datetime
