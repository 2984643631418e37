"""The one way to write a service.

    def cancel(actor, appointment_id, *, reason):
        with service(actor, A.APPOINTMENT_CANCEL, entity="appointment") as tx:
            appt = tx.get(Appointment, appointment_id)          # row-locked, NotFound if missing
            tx.require(appt.location_id, provider_id=appt.provider_id, entity_id=appt.id)
            before = snapshot(appt)
            ...the rule...
            tx.audit(before=before, after=snapshot(appt), reason=reason)
            tx.publish(AppointmentCancelled(...))

`service` owns the unit of work (commit at the end, rollback on any error), the permission and
location check (`tx.require`, or up front with `location_id=`), recording a denied attempt in a
transaction of its own after the rollback, and the audit row, which is written in the same
transaction as the change. A service that changed the database without an audit row is a bug
and fails loudly; one that changed nothing (a no-op edit) may end without one.

`reading` is the same for reads: a read session with the check up front and denials recorded.
The database layer knows nothing of any of this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from core.base import bus
from core.base.db import read_session, unit_of_work
from core.base.errors import NotFound, OutOfScope, PermissionDenied
from core.base.models import AuditLog
from core.security import access, audit
from core.security.access import Actor

M = TypeVar("M")
_UNCHECKED = object()


@dataclass
class Tx:
    """One service call in progress: its session, who acts, what they do, and its audit rows."""

    session: Session
    actor: Actor | None
    action: str
    entity: str | None = None
    entity_id: object = None
    location_id: int | None = None
    audited: list[AuditLog] = field(default_factory=list)
    wrote: bool = False  # something was flushed to the database

    def require(
        self,
        location_id: int | None = None,
        *,
        provider_id: int | None = None,
        entity_id: object = None,
        action: str | None = None,
        unknown: str | None = None,
    ) -> None:
        """The actor may do this action at this location (and, for providers, on their own
        appointment); otherwise PermissionDenied, recorded once the transaction is rolled back.
        With `unknown` ("Unknown appointment #7."), a role that may do the action but not here
        is told exactly what it would be told if the thing did not exist."""
        if entity_id is not None:
            self.entity_id = entity_id
        self.location_id = location_id
        action = action or self.action
        try:
            access.require(
                self.actor, action, location_id, provider_id=provider_id, entity=self.entity, entity_id=self.entity_id
            )
        except PermissionDenied as exc:
            if unknown is not None and action in access.allowed_actions(self.actor):
                raise OutOfScope(unknown, exc.denial) from None
            raise

    def get_in_scope(
        self, model: type[M], ident: Any, *, what: str, provider: bool = False, action: str | None = None
    ) -> M:
        """`get` plus `require` at the row's location (and provider, for appointments): a row
        outside the actor's scope answers "Unknown <what> #<id>." like a missing one."""
        unknown = f"Unknown {what} #{ident}."
        row = self.session.get(model, ident, with_for_update=True)
        if row is None:
            raise NotFound(unknown)
        provider_id = getattr(row, "provider_id", None) if provider else None
        self.require(row.location_id, provider_id=provider_id, entity_id=ident, action=action, unknown=unknown)
        return row

    def get(self, model: type[M], ident: Any, *, what: str | None = None, lock: bool = True) -> M:
        """The row, locked for this transaction (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
        write transaction is already exclusive), so two edits of one row run one after the
        other and the second sees the first's result."""
        row = self.session.get(model, ident, with_for_update=lock or None)
        if row is None:
            raise NotFound(f"Unknown {what or self.entity or model.__name__.lower()} #{ident}.")
        return row

    def audit(
        self,
        *,
        before: dict | None = None,
        after: dict | None = None,
        reason: str | None = None,
        action: str | None = None,
        entity: str | None = None,
        entity_id: object = None,
        location_id: int | None = None,
    ) -> AuditLog:
        row = audit.record(
            self.session,
            self.actor,
            action or self.action,
            entity=entity or self.entity,
            entity_id=entity_id if entity_id is not None else self.entity_id,
            location_id=location_id if location_id is not None else self.location_id,
            before=before,
            after=after,
            reason=reason,
        )
        self.audited.append(row)
        return row

    def _watch_writes(self, _session: Session, _transaction, connection) -> None:
        sa_event.listen(connection, "before_cursor_execute", self._statement)

    def _statement(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.wrote = True

    def publish(self, event: object) -> None:
        bus.publish(self.session, event)


@contextmanager
def service(
    actor: Actor | None,
    action: str,
    *,
    entity: str | None = None,
    entity_id: object = None,
    location_id: Any = _UNCHECKED,
    provider_id: int | None = None,
    unknown: str | None = None,
    audited: bool = True,
) -> Iterator[Tx]:
    """One user action in one transaction. Pass `location_id` (None for actions without a
    location) to check the permission before the body runs; otherwise the body calls
    `tx.require` once it knows the location. `audited=False` only for services whose audit
    row is written by a helper they call with `tx`."""
    try:
        with unit_of_work() as session:
            tx = Tx(session, actor, action, entity=entity, entity_id=entity_id)
            sa_event.listen(session, "after_begin", tx._watch_writes)
            if location_id is not _UNCHECKED:
                tx.require(location_id, provider_id=provider_id, unknown=unknown)
            yield tx
            session.flush()
            if audited and tx.wrote and not tx.audited:
                raise RuntimeError(f"service '{action}' changed the database without an audit row")
    except (PermissionDenied, OutOfScope) as exc:
        _record_denial(exc)
        raise


@contextmanager
def reading(
    actor: Actor | None,
    action: str,
    location_id: int | None = None,
    *,
    provider_id: int | None = None,
    entity: str | None = None,
    entity_id: object = None,
    unknown: str | None = None,
) -> Iterator[Session]:
    """The one door for an actor's reads: a read session for an actor allowed to do `action` at
    `location_id` (the `check` first, its denial recorded; the scope still goes into the SQL).
    A PermissionDenied raised inside (a row's own location refused) is recorded too. System code
    (worker, sync, sender) opens `read_session()` itself."""
    check(actor, action, location_id, provider_id=provider_id, entity=entity, entity_id=entity_id, unknown=unknown)
    with read_session() as session:
        try:
            yield session
        except PermissionDenied as exc:
            _record_denial(exc)
            raise


def check(
    actor: Actor | None,
    action: str,
    location_id: int | None = None,
    *,
    provider_id: int | None = None,
    entity: str | None = None,
    entity_id: object = None,
    unknown: str | None = None,
) -> None:
    """`access.require` outside a transaction: a denial is recorded at once. With `unknown`, a
    role that may do the action but not here gets that NotFound sentence instead."""
    try:
        access.require(actor, action, location_id, provider_id=provider_id, entity=entity, entity_id=entity_id)
    except PermissionDenied as exc:
        _record_denial(exc)
        if unknown is not None and action in access.allowed_actions(actor):
            raise OutOfScope(unknown) from None
        raise


def _record_denial(exc: PermissionDenied | OutOfScope) -> None:
    if exc.denial is not None:
        denial, exc.denial = exc.denial, None
        audit.write_denial(denial)
