"""`python -m core verify-audit`: walk the audit log's hash chain and name the first row where it
breaks (exit 1), or say how many rows it checked (exit 0)."""

from __future__ import annotations


def cmd_verify_audit(args) -> int:
    from core.base.db import get_engine
    from core.base.errors import DomainError
    from core.security import audit_chain

    with get_engine().connect() as conn:
        verdict = audit_chain.verify(conn)
    if not verdict.ok:
        raise DomainError(verdict.message)
    print(verdict.message)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "verify-audit",
        help="check the audit log's hash chain; name the first row that was changed, removed or slipped in",
        description="Recompute every audit row's SHA-256 link, in the order they were committed. Exit 1 naming "
        "the first audit row where the chain breaks.",
    )
    p.set_defaults(func=cmd_verify_audit)
