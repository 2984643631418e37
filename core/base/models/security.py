"""Users (role and location scope), their sign-in sessions, the append-only audit log and its hash chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.clock import utcnow
from core.base.models.common import Base
from core.base.models.org import Location

user_locations = Table(
    "user_locations",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(20))  # None: no role, sees nothing
    all_locations: Mapped[bool] = mapped_column(default=False)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every sign-in cookie carries it (in its signing key): bumping it ends every session.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    locations: Mapped[list[Location]] = relationship(secondary=user_locations, order_by="Location.name")


class AuditLog(Base):
    """Append-only. Written in the same transaction as the change it records."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_actor", "actor_id", "at"),
    )
    __mapper_args__ = {"eager_defaults": True}
    id: Mapped[int] = mapped_column(primary_key=True)
    # The database's own time (migration 0022): forced by a trigger on PostgreSQL, refused when
    # given on SQLite. Read back on insert, so the row's `at` is usable at once.
    at: Mapped[datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str | None] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok | denied
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(String(200))  # a public actor's request came from


class AuditChainLink(Base):
    """One audit row's link in the hash chain (core/security/audit_chain.py), in commit order."""

    __tablename__ = "audit_chain"
    seq: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The chain's last hash (one row, id 1): locked by whoever links next."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    started_after: Mapped[int] = mapped_column(default=0)  # audit rows up to this id predate the chain


class SignInSession(Base):
    """One browser's sign-in (the `sid` its cookie carries): ended by signing out there."""

    __tablename__ = "sign_in_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
