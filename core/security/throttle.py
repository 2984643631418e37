"""Sign-in throttling: growing delays per client and per typed username, kept in the database so
every replica agrees, and a per-client budget of audit rows.

Why delays and not a lock: a hard lock on an account is a lock anyone can renew by typing five
wrong passwords every fifteen minutes. Here an account's delay is short and capped
(ACCOUNT_DELAY_CAP): the most an outsider can do to a real user is make them wait that long
between tries; an admin can clear it at once (users page, `python -m core unlock-user`). The
client's own delay grows much further (CLIENT_DELAY_CAP): a guesser mostly slows themselves.

The account key is the typed username, normalised, whether or not such a user exists, so an
unknown username is slowed exactly like a real one and the answer never tells them apart.

While a delay runs, attempts are refused without checking the password (a correct one included:
otherwise the delay would not slow a guesser at all) and without counting (so hammering during a
delay does not make it grow). An attempt is counted as a failure *before* its password is
checked, under a row lock, and cleared when it succeeds: many attempts fired at once cannot slip
past the count."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.security.models import SignInThrottle

ACCOUNT, CLIENT = "account", "client"
FREE_FAILURES = 5  # failures in a row before any delay
ACCOUNT_DELAY_BASE = timedelta(seconds=5)
ACCOUNT_DELAY_CAP = timedelta(minutes=1)
CLIENT_DELAY_BASE = timedelta(seconds=15)
CLIENT_DELAY_CAP = timedelta(hours=1)
FORGET_AFTER = {ACCOUNT: timedelta(hours=1), CLIENT: timedelta(hours=24)}
AUDIT_ROWS_PER_MINUTE = 10  # per client: denials past it are counted, then summarised in one row
MAX_KEY = 200


def account_key(username: str | None) -> str:
    return (username or "").strip().lower()[:MAX_KEY]


def delay_after(scope: str, failures: int) -> timedelta:
    """How long the next attempt must wait after `failures` failures in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    base, cap = (ACCOUNT_DELAY_BASE, ACCOUNT_DELAY_CAP) if scope == ACCOUNT else (CLIENT_DELAY_BASE, CLIENT_DELAY_CAP)
    steps = min(failures - FREE_FAILURES, 20)
    return min(cap, base * 2**steps)


def locked_row(session: Session, scope: str, key: str, now: datetime) -> SignInThrottle:
    """The row for (scope, key), created if missing, locked FOR UPDATE on PostgreSQL; counts
    older than FORGET_AFTER start again from nothing."""
    query = select(SignInThrottle).where(SignInThrottle.scope == scope, SignInThrottle.key == key).with_for_update()
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                row = SignInThrottle(scope=scope, key=key, failures=0, audit_rows=0, audit_skipped=0)
                session.add(row)
        except IntegrityError:  # another attempt created it at the same moment
            row = session.scalar(query)
    if row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER[scope]:
        row.failures, row.next_attempt_at = 0, None
    return row


def refused_until(rows: list[SignInThrottle], now: datetime) -> datetime | None:
    waits = [r.next_attempt_at for r in rows if r.next_attempt_at is not None and r.next_attempt_at > now]
    return max(waits) if waits else None


def count_failure(row: SignInThrottle, now: datetime) -> None:
    row.failures += 1
    row.last_failure_at = now
    wait = delay_after(row.scope, row.failures)
    row.next_attempt_at = now + wait if wait else None


def clear(row: SignInThrottle) -> None:
    row.failures, row.next_attempt_at, row.last_failure_at = 0, None, None


def audit_slot(row: SignInThrottle | None, now: datetime) -> tuple[bool, int]:
    """Whether this client may write one more denial row this minute, and how many denials from
    an earlier minute went unrecorded (to be summarised now). Without a client row (the CLI,
    services), always yes."""
    if row is None:
        return True, 0
    minute = now.replace(second=0, microsecond=0)
    skipped = 0
    if row.audit_minute is None or row.audit_minute != minute:
        skipped, row.audit_skipped = row.audit_skipped, 0
        row.audit_minute, row.audit_rows = minute, 0
    if row.audit_rows >= AUDIT_ROWS_PER_MINUTE:
        row.audit_skipped += 1
        return False, skipped
    row.audit_rows += 1
    return True, skipped


def account_state(session: Session, usernames: list[str]) -> dict[str, SignInThrottle]:
    """The throttle rows of these usernames (for the users page)."""
    keys = [account_key(u) for u in usernames]
    rows = session.scalars(select(SignInThrottle).where(SignInThrottle.scope == ACCOUNT, SignInThrottle.key.in_(keys)))
    return {r.key: r for r in rows}


def clear_account(session: Session, username: str) -> int:
    """Forget an account's failures (admin unlock, password reset); returns the count it had."""
    key = account_key(username)
    had = session.scalar(
        select(func.coalesce(func.max(SignInThrottle.failures), 0)).where(
            SignInThrottle.scope == ACCOUNT, SignInThrottle.key == key
        )
    )
    session.execute(delete(SignInThrottle).where(SignInThrottle.scope == ACCOUNT, SignInThrottle.key == key))
    return int(had or 0)
