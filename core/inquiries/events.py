"""What inquiry writers publish, for the metric rollup to count (core.metrics subscribes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InquiryChanged:
    """An inquiry received at `received_at` at this location was recorded, merged, booked,
    unlinked or closed: its local day's counts change."""

    inquiry_id: int
    location_id: int
    received_at: datetime
