"""One appointment's intake (written by core.intake): its answers, with the form version they
answer and what is still missing (the exceptions queue names it), its uploaded files (the bytes
live in the uploads folder, named by their SHA-256) and the consent records, append-only (no
UPDATE or DELETE, triggers on both dialects; on PostgreSQL the app role gets SELECT and INSERT
only, as for audit_log: core.base.grants.APPEND_ONLY)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.base.models.common import Base


class IntakeAnswers(Base):
    """The answers of one appointment's intake. `form_id` is the form version they answer (fixed
    when the row is made: a later version never changes what was answered); `missing` lists the
    labels still needed (questions, files, consents), empty once complete."""

    __tablename__ = "intake_answers"
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("intake_forms.id"))
    answers: Mapped[dict] = mapped_column(default=dict)
    missing: Mapped[list] = mapped_column(default=list)
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]
    received_on_paper_at: Mapped[datetime | None]
    received_on_paper_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IntakeFile(Base):
    """An uploaded file's record; the content is the file named `sha256` in the uploads folder."""

    __tablename__ = "intake_files"
    __table_args__ = (
        CheckConstraint("size > 0", name="size_positive"),
        Index("ix_intake_files_appointment", "appointment_id", "question_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the customer


class ConsentRecord(Base):
    """A signature: who (`signed_by_user_id` None = the customer, else the staff member who signed
    on their behalf), the typed name, when (server time), from where, the form version and the
    SHA-256 of the exact text shown. Never updated, never deleted."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("length(trim(signed_name)) > 0", name="signed_name_given"),
        Index("ix_consent_records_customer", "customer_id", "question_key"),
        Index("ix_consent_records_appointment", "appointment_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    form_id: Mapped[int] = mapped_column(ForeignKey("intake_forms.id"))
    question_key: Mapped[str] = mapped_column(String(64))
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_name: Mapped[str] = mapped_column(String(200))
    signed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime]
    client_address: Mapped[str | None] = mapped_column(String(200))
    user_agent: Mapped[str | None] = mapped_column(String(500))
