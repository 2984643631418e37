"""The queue's own table: per appointment type, how far ahead the intake and confirmation rules
look (defaults in core.queue.kinds when a type has no row)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.base.models import Base


class QueueTypeWindow(Base):
    __tablename__ = "queue_type_windows"
    __table_args__ = (
        CheckConstraint("intake_hours BETWEEN 1 AND 720", name="intake_hours_range"),
        CheckConstraint("confirm_hours BETWEEN 1 AND 720", name="confirm_hours_range"),
    )
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True)
    intake_hours: Mapped[int]
    confirm_hours: Mapped[int]
