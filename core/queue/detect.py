"""Detection: run the rules and make the queue match what they find.

Three ways in, one reconciliation (`reconcile`): a full pass (`detect_all`: the worker's job
and `python -m core detect-exceptions`, one short transaction per rule), the incremental pass
inside every booking change's own transaction (only the changed appointment, plus the
customer's no-show and rebook items, the freed slot's offers, the provider's offers), and a
provider's outside-hours check when settings changes their hours or time off. Idempotent: a
second pass over an unchanged database writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from core.base.clock import resolve_now
from core.base.db import unit_of_work
from core.base.models import Appointment, ExceptionItem, WaitlistOffer
from core.queue import kinds
from core.queue.items import OPEN_STATES, RESOLVED_BY_ITSELF, clear_item, insert_new, new_item, raise_item
from core.queue.rules import APPOINTMENT_RULES, BY_KIND, RULES, Cause, Rule, Scope
from core.security import audit
from core.security.access import SYSTEM

CUSTOMER_KINDS = (kinds.NO_SHOW_FOLLOWUP, kinds.REBOOK_CALL)


@dataclass
class PassResult:
    opened: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)
    woke: int = 0

    def add(self, other: PassResult) -> None:
        self.opened.update(other.opened)
        self.resolved.update(other.resolved)
        self.woke += other.woke

    def describe(self) -> str:
        def part(counts: Counter) -> str:
            detail = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            return f"{sum(counts.values())}" + (f" ({detail})" if detail else "")

        text = f"opened {part(self.opened)}, resolved {part(self.resolved)}"
        return text + (f", {self.woke} back from snooze" if self.woke else "")


def _tracked(session: Session, kind: str, *, keys: Iterable[str] | None = None, scope: Scope | None = None):
    """The items of `kind` a pass may change: open ones, and hand-resolved ones whose cause the
    queue still believes present."""
    query = select(ExceptionItem).where(
        ExceptionItem.kind == kind, or_(ExceptionItem.status.in_(OPEN_STATES), ExceptionItem.cause_active.is_(True))
    )
    if keys is not None:
        query = query.where(ExceptionItem.dedupe_key.in_(sorted(keys)))
    if scope is not None and scope.location_ids is not None:
        query = query.where(ExceptionItem.location_id.in_(sorted(scope.location_ids)))
    if scope is not None and scope.provider_id is not None:
        query = query.where(ExceptionItem.provider_id == scope.provider_id)
    return {item.dedupe_key: item for item in session.scalars(query.order_by(ExceptionItem.dedupe_key))}


def _unchanged(item: ExceptionItem, cause: Cause) -> bool:
    if item.status in OPEN_STATES:
        return item.cause_active and item.details == cause.details and item.due_at == cause.due_at
    return item.cause_active and item.resolution != RESOLVED_BY_ITSELF  # resolved by hand, cause lasting


def reconcile(
    session: Session, rule: Rule, now: datetime, causes: Sequence[Cause], tracked: dict[str, ExceptionItem]
) -> PassResult:
    """Open what the rule found (if it raises), resolve tracked items whose cause is gone."""
    result = PassResult()
    present = {c.key: c for c in causes}
    if rule.raises:
        fresh = [present[k] for k in sorted(present) if k not in tracked]
        rows = [new_item(c.kind, c.key, now, c.location_id, c.appointment_id, c.provider_id, c.details, c.due_at)
                for c in fresh]  # fmt: skip
        inserted = insert_new(session, rows) if rows else set()
        if inserted:
            result.opened[rule.kind] += len(inserted)
        for key in sorted(present):
            cause, item = present[key], tracked.get(key)
            if key in inserted or (item is not None and _unchanged(item, cause)):
                continue
            _, opened = raise_item(
                session, kind=cause.kind, dedupe_key=key, now=now, location_id=cause.location_id,
                appointment_id=cause.appointment_id, provider_id=cause.provider_id, details=cause.details,
                due_at=cause.due_at,
            )  # fmt: skip
            if opened:
                result.opened[rule.kind] += 1
    for key in sorted(set(tracked) - set(present)):
        if clear_item(session, key, now=now):
            result.resolved[rule.kind] += 1
    return result


def run_rule(session: Session, rule: Rule, now: datetime, scope: Scope) -> PassResult:
    tracked = _tracked(session, rule.kind, scope=scope)
    if rule.raises:
        causes = rule.find(session, now, scope)
    else:
        ids = [kinds.subject_id(k) for k in tracked]
        causes = rule.find(session, now, Scope(location_ids=scope.location_ids, ids=ids)) if ids else []
    return reconcile(session, rule, now, causes, tracked)


def wake_snoozed(session: Session, now: datetime) -> int:
    """Snoozed items whose time has come go back to open (or to their assignee)."""
    result = session.execute(
        update(ExceptionItem)
        .where(ExceptionItem.status == "snoozed", ExceptionItem.snoozed_until <= now)
        .values(status=case((ExceptionItem.assigned_to.is_not(None), "assigned"), else_="open"), snoozed_until=None)
    )
    return result.rowcount or 0


def detect_all(
    now: datetime | None = None, *, location_ids: Iterable[int] | None = None, rules: Sequence[Rule] = RULES
) -> PassResult:
    """One full pass over every rule (in `location_ids` only, if given), one transaction per
    rule; an audit row per rule that changed anything."""
    now = resolve_now(now)
    scope = Scope(location_ids=frozenset(location_ids) if location_ids is not None else None)
    total = PassResult()
    with unit_of_work() as session:
        total.woke = wake_snoozed(session, now)
    for rule in rules:
        with unit_of_work() as session:
            result = run_rule(session, rule, now, scope)
            if result.opened or result.resolved:
                audit.record(
                    session, SYSTEM, "queue.detect", entity="exceptions", entity_id=rule.kind,
                    after={"opened": sum(result.opened.values()), "resolved": sum(result.resolved.values())},
                    reason="detection pass",
                )  # fmt: skip
        total.add(result)
    return total


def detect_for_appointments(session: Session, now: datetime, appointment_ids: Sequence[int]) -> PassResult:
    """The incremental pass, in the caller's transaction: every appointment rule for these
    appointments, then the no-show and rebook items of their customers."""
    total = PassResult()
    ids = sorted(set(appointment_ids))
    keys = [kinds.key(rule.kind, i) for rule in APPOINTMENT_RULES for i in ids]
    items = {}
    for item in session.scalars(select(ExceptionItem).where(ExceptionItem.dedupe_key.in_(keys))):
        if item.status in OPEN_STATES or item.cause_active:
            items[item.dedupe_key] = item
    for rule in APPOINTMENT_RULES:
        tracked = {
            kinds.key(rule.kind, i): items[kinds.key(rule.kind, i)] for i in ids if kinds.key(rule.kind, i) in items
        }
        if not rule.raises and not tracked:
            continue
        total.add(reconcile(session, rule, now, rule.find(session, now, Scope(ids=ids)), tracked))
    customers = select(Appointment.customer_id).where(Appointment.id.in_(ids))
    related = session.execute(
        select(ExceptionItem.kind, ExceptionItem.appointment_id)
        .join(Appointment, Appointment.id == ExceptionItem.appointment_id)
        .where(
            ExceptionItem.kind.in_(CUSTOMER_KINDS),
            ExceptionItem.status.in_(OPEN_STATES),
            Appointment.customer_id.in_(customers),
            ExceptionItem.appointment_id.not_in(ids),
        )
    ).all()
    for kind in CUSTOMER_KINDS:
        others = sorted({a for k, a in related if k == kind})
        if others:
            total.add(run_for_subjects(session, BY_KIND[kind], now, others))
    return total


def run_for_subjects(session: Session, rule: Rule, now: datetime, ids: Sequence[int]) -> PassResult:
    scope = Scope(ids=ids)
    tracked = _tracked(session, rule.kind, keys=[kinds.key(rule.kind, i) for i in ids])
    return reconcile(session, rule, now, rule.find(session, now, scope), tracked)


def detect_offers(session: Session, now: datetime, *, freed_by: int | None = None, provider_id: int | None = None):
    """Waitlist offers just made for a freed slot, or withdrawn by a booking of the provider."""
    rule = BY_KIND[kinds.WAITLIST_OFFER]
    ids: set[int] = set()
    if freed_by is not None:
        ids.update(
            session.scalars(
                select(WaitlistOffer.id).where(
                    WaitlistOffer.freed_by_appointment_id == freed_by, WaitlistOffer.status == "open"
                )
            )
        )
    if provider_id is not None:
        ids.update(kinds.subject_id(k) for k in _tracked(session, rule.kind, scope=Scope(provider_id=provider_id)))
    return run_for_subjects(session, rule, now, sorted(ids)) if ids else PassResult()


# The kinds that wait while an appointment is outside its provider's hours (rules.appointments).
WAITING_KINDS = (kinds.INTAKE_MISSING, kinds.UNCONFIRMED)


def detect_for_provider(session: Session, now: datetime, provider_id: int) -> PassResult:
    """A provider's hours or time off changed: re-check their appointments from now on, then
    the kinds that wait while one of them is outside the hours (they step aside for the
    outside-hours item, or come back once it is gone)."""
    scope = Scope(provider_id=provider_id)
    result = run_rule(session, BY_KIND[kinds.OUTSIDE_HOURS], now, scope)
    for kind in WAITING_KINDS:
        result.add(run_rule(session, BY_KIND[kind], now, scope))
    return result
