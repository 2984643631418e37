"""Intake forms: each published version of a type's form (immutable: the database refuses
UPDATE and DELETE, so answers can always name the exact questions they answered) and the one
draft per type that the settings editor works on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models import Base


class IntakeForm(Base):
    __tablename__ = "intake_forms"
    __table_args__ = (
        UniqueConstraint("appointment_type_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    version: Mapped[int]
    definition: Mapped[dict]  # as parse_definition returned it
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IntakeFormDraft(Base):
    __tablename__ = "intake_form_drafts"
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True
    )
    definition: Mapped[dict]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
