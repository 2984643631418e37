"""The audit trail's hash chain: each audit row is linked, at its transaction's commit, to the one
committed before it by a SHA-256 of the previous link's hash and the row as the database holds
it (its time is the database's own: a default, forced by a trigger on PostgreSQL, refused when
given on SQLite). `verify` walks the chain and names the first row where it breaks.

Linear under concurrent writers: the links are made just before commit, under a row lock on the
chain's head (`audit_chain_head`, one row), so two transactions appending at once are chained in
the order they commit, one after the other; the lock is held only from the link to the commit.
A row written without passing through here (a raw INSERT) has no link, and `verify` says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.base.models import AuditChainHead, AuditChainLink, AuditLog

GENESIS = "0" * 64
_PENDING = "audit_chain_pending"
_COLUMNS = ("id", "at", "actor_id", "actor_username", "role", "action", "entity", "entity_id", "location_id",
            "outcome", "before", "after", "reason", "client_address")  # fmt: skip
BATCH = 5000


def canonical(row) -> str:
    """The row's fields in a fixed order, as JSON text (what its link hashes)."""
    values = [getattr(row, c) for c in _COLUMNS]
    values[1] = values[1].isoformat() if values[1] is not None else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(previous: str, row) -> str:
    return hashlib.sha256(f"{previous}\n{canonical(row)}".encode()).hexdigest()


def seal(conn: Connection, audit_ids: Iterable[int]) -> None:
    """Link these audit rows (written in this transaction) to the chain, in id order, under the
    head's row lock; call just before commit."""
    ids = sorted(set(audit_ids))
    if not ids:
        return
    head = _locked_head(conn)
    table = AuditLog.__table__
    previous, links = head.hash, []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for row in conn.execute(select(table).where(table.c.id.in_(chunk)).order_by(table.c.id)):
            digest = link_hash(previous, row)
            links.append({"audit_id": row.id, "prev_hash": previous, "hash": digest})
            previous = digest
    if links:
        conn.execute(insert(AuditChainLink), links)
        conn.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(hash=previous))


def _locked_head(conn: Connection):
    """The head row, locked until commit; made at the genesis hash if missing (a fresh database:
    should it be deleted instead, the next link no longer follows the last one, and `verify` says so)."""
    query = select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    head = conn.execute(query).one_or_none()
    if head is None:
        upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(upsert(AuditChainHead).values(id=1, hash=GENESIS, started_after=0).on_conflict_do_nothing())
        head = conn.execute(query).one()
    return head


@event.listens_for(Session, "after_flush")
def _note_new_rows(session: Session, _flush_context) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, AuditLog)]
    if ids:
        session.info.setdefault(_PENDING, set()).update(ids)


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    session.flush()
    ids = session.info.pop(_PENDING, None)
    if ids:
        seal(session.connection(), ids)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction (not a savepoint) ended: its rows are gone
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int  # links checked
    message: str
    first_broken_id: int | None = None  # the audit row where the chain breaks


def verify(conn: Connection) -> Verdict:
    """Walk the chain in the order it was made; the first row whose link does not hold, or the
    first audit row (written since the chain began) without a link."""
    table = AuditLog.__table__
    head = conn.execute(select(AuditChainHead).where(AuditChainHead.id == 1)).one_or_none()
    if head is None:
        return Verdict(True, 0, "The audit chain has not begun: no audit row has been linked yet.")
    query = (
        select(AuditChainLink.seq, AuditChainLink.prev_hash, AuditChainLink.hash, AuditChainLink.audit_id, table)
        .join_from(AuditChainLink, table, table.c.id == AuditChainLink.audit_id, isouter=True)
        .order_by(AuditChainLink.seq)
    )
    previous, checked = GENESIS, 0
    for row in conn.execution_options(yield_per=BATCH).execute(query):
        if row.id is None:
            return _broken(checked, row.audit_id, "was removed (its link remains, its row is gone)")
        if row.prev_hash != previous:
            return _broken(
                checked, row.audit_id, "does not follow the row linked before it (a link was removed or reordered)"
            )
        if link_hash(previous, row) != row.hash:
            return _broken(checked, row.audit_id, "was changed after it was written (its hash no longer matches)")
        previous, checked = row.hash, checked + 1
    if previous != head.hash:
        return Verdict(False, checked, "The chain's head does not match its last link: links were removed at its end.")
    unlinked = conn.scalar(
        select(table.c.id)
        .where(table.c.id > head.started_after, ~table.c.id.in_(select(AuditChainLink.audit_id)))
        .order_by(table.c.id)
        .limit(1)
    )
    if unlinked is not None:
        return _broken(checked, unlinked, "is not in the chain (written around the app, or its link was removed)")
    before = f"; {head.started_after} rows written before the chain began are not covered" if head.started_after else ""
    return Verdict(True, checked, f"The audit chain holds: {checked} rows checked{before}.")


def _broken(checked: int, audit_id: int, what: str) -> Verdict:
    return Verdict(False, checked, f"The audit chain breaks at audit row #{audit_id}: it {what}.", audit_id)
