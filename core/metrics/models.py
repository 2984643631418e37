"""The daily rollup: one row per (location, provider, appointment type, local day of start), and
its lead-time histogram. Derived data: `rebuild.rebuild_rollups` can always recompute it from the
appointments. `provider_key` / `type_key` are the ids, or 0 for appointments without one (imported
history), so that the bucket key is a plain unique constraint on both dialects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models import Base

NONE_KEY = 0  # provider_key / type_key of an appointment without a provider / type
BUCKET = ("day", "location_id", "provider_key", "type_key")
COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


class Counts:
    """The rollup's sums (`COUNTS`), on every table that holds them."""

    appointments: Mapped[int] = mapped_column(default=0)  # every status
    completed: Mapped[int] = mapped_column(default=0)
    no_show: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    late_cancel: Mapped[int] = mapped_column(default=0)
    rescheduled: Mapped[int] = mapped_column(default=0)  # rescheduled at least once
    touches: Mapped[int] = mapped_column(default=0)  # staff interventions in the history
    held: Mapped[int] = mapped_column(default=0)  # not cancelled, with provider, type and duration
    booked_min: Mapped[int] = mapped_column(default=0)  # minutes of `held`
    attended_min: Mapped[int] = mapped_column(default=0)  # completed or checked in
    no_show_min: Mapped[int] = mapped_column(default=0)
    late_cancel_min: Mapped[int] = mapped_column(default=0)


class MetricDaily(Counts, Base):
    __tablename__ = "metric_daily"
    __table_args__ = (
        UniqueConstraint("location_id", "day", "provider_key", "type_key", name="uq_metric_daily_bucket"),
        # Covering: a window's sums are read from the index alone, in day order.
        Index("ix_metric_daily_day_counts", *BUCKET, "weekday", *COUNTS),
        Index("ix_metric_daily_provider_day", "provider_key", "day"),
        Index("ix_metric_daily_updated_at", "updated_at"),  # the pages' cheap data version
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)  # local date of start, in the location's zone
    weekday: Mapped[int] = mapped_column(SmallInteger)  # day.weekday(), 0 = Monday: never changes
    provider_key: Mapped[int] = mapped_column(Integer)
    type_key: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetricProviderDay(Counts, Base):
    """metric_daily summed over appointment types: one row per (location, provider, local day).
    What a window without a type filter or grouping reads (a third of the rows). Kept from the
    daily rows' differences, in the same transaction."""

    __tablename__ = "metric_provider_day"
    __table_args__ = (
        UniqueConstraint("location_id", "day", "provider_key", name="uq_metric_provider_day_bucket"),
        Index("ix_metric_provider_day_counts", "day", "location_id", "provider_key", "weekday", *COUNTS),
        # One provider's days: a day off looked up exactly; a weekday without hours, its days.
        Index("ix_metric_provider_day_provider", "location_id", "provider_key", "day", "weekday"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    provider_key: Mapped[int] = mapped_column(Integer)


class MetricLead(Base):
    """How many of a bucket's appointments were booked `lead_days` local days before their start."""

    __tablename__ = "metric_lead"
    # Covering, in the order a window's histogram is summed (per day and lead).
    __table_args__ = (Index("ix_metric_lead_day_counts", "day", "lead_days", *BUCKET[1:], "n"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    provider_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class MetricLeadWeek(Base):
    """The lead-time histogram per location and ISO week (`week` is its Monday, a local date),
    summed over providers, types and days: what a window without a provider or type filter reads
    for its whole weeks (metric_lead for the days at its edges). Kept with metric_lead, in the same
    transaction."""

    __tablename__ = "metric_lead_week"
    __table_args__ = (Index("ix_metric_lead_week_counts", "week", "lead_days", "location_id", "n"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class MetricLeadMonth(Base):
    """The lead-time histogram per location and calendar month (`month` is its first day, a local
    date): what such a window reads for its whole months (the weekly and daily ones for the rest).
    Kept with metric_lead, in the same transaction."""

    __tablename__ = "metric_lead_month"
    __table_args__ = (Index("ix_metric_lead_month_counts", "month", "lead_days", "location_id", "n"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class MetricLeadWeekAll(Base):
    """metric_lead_week summed over every location: what a window over all of them (an actor who
    sees every location, no location filter) reads for its whole weeks, a location's rows summed
    being the read's largest cost. Kept from metric_lead_week's differences, in the same
    transaction, so a booking also adds to a row that bookings at other locations share."""

    __tablename__ = "metric_lead_week_all"
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class MetricLeadMonthAll(Base):
    """metric_lead_month summed over every location, for such a window's whole months. Kept with
    metric_lead_month, in the same transaction."""

    __tablename__ = "metric_lead_month_all"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class MetricLocationDay(Counts, Base):
    """metric_daily summed over providers and types: one row per (location, local day). What a
    window without a provider or type filter or grouping sums for the days outside its whole
    months; the minutes outside working hours are read apart, by provider (metric_provider_day,
    through metric_provider_weekday). Kept from the daily rows' differences, in the same
    transaction."""

    __tablename__ = "metric_location_day"
    __table_args__ = (Index("ix_metric_location_day_counts", "day", "location_id", *COUNTS),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class MetricLocationMonth(Counts, Base):
    """metric_location_day summed per calendar month (`month` is its first day, a local date):
    what such a window sums for its whole months. Kept with it, in the same transaction."""

    __tablename__ = "metric_location_month"
    __table_args__ = (Index("ix_metric_location_month_counts", "month", "location_id", *COUNTS),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class MetricProviderWeekday(Base):
    """Each (location, provider, weekday) that has ever had a provider-day in the rollup. The
    minutes outside working hours are those of the provider-days whose (location, provider,
    weekday) has no hours: checking these few rows against the hours finds them, where checking
    every provider-day of the window cost a pass over all of them. Only grows (a row too many
    finds nothing); rebuilt with the rollup."""

    __tablename__ = "metric_provider_weekday"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    provider_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class MetricInquiryDay(Base):
    """Inquiries per location and local date of `received_at` (in the location's zone): how many
    were received, and how many of those were converted (have an appointment). What the
    conversion KPI reads instead of the inquiries. Derived data: whatever writes inquiries must
    refresh it, in its own transaction, with `rebuild.rebuild_inquiry_rollup(session, location_ids,
    days)` for what it touched (it keeps metric_inquiry_month too); `rebuild.rebuild_rollups` calls
    it (the demo generator's bulk load is followed by one)."""

    __tablename__ = "metric_inquiry_day"
    __table_args__ = (Index("ix_metric_inquiry_day_counts", "day", "location_id", "received", "converted"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)  # received with an appointment_id


class MetricInquiryMonth(Base):
    """metric_inquiry_day summed per location and calendar month (`month` is its first day, a local
    date): what a window reads for the months that lie whole in one of its bins. Kept with
    metric_inquiry_day, by the same function."""

    __tablename__ = "metric_inquiry_month"
    __table_args__ = (Index("ix_metric_inquiry_month_counts", "month", "location_id", "received", "converted"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    converted: Mapped[int] = mapped_column(Integer)


class MetricCapacity(Base):
    """Each provider's weekly available minutes per (location, weekday): the weekday's shifts,
    those that touch or overlap joined. Derived from working hours by `capacity.refresh`, which
    runs on every ProviderScheduleChanged (hours, time off, a location's zone) and in a full
    `rebuild.rebuild_rollups`."""

    __tablename__ = "metric_capacity"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)


class MetricCapacityDay(Base):
    """The provider-days that time off touches, with their exact available minutes (working
    hours minus time off, in local time; exact across a DST change): what differs from the
    weekday's minutes in metric_capacity. Kept with it by `capacity.refresh`."""

    __tablename__ = "metric_capacity_day"
    __table_args__ = (Index("ix_metric_capacity_day_minutes", "day", "location_id", "provider_id", "minutes"),)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # day.weekday(): its row in metric_capacity
    minutes: Mapped[int] = mapped_column(Integer)


# Every rollup table, the coarser (kept from the finer) first: deleting in this order empties
# them, and `rebuild.rebuild_rollups` fills them all again.
ROLLUP_MODELS = (
    MetricProviderWeekday, MetricLocationMonth, MetricLocationDay, MetricProviderDay, MetricLeadMonthAll,
    MetricLeadWeekAll, MetricLeadMonth, MetricLeadWeek, MetricLead, MetricDaily, MetricInquiryMonth,
    MetricInquiryDay, MetricCapacityDay, MetricCapacity,
)  # fmt: skip
