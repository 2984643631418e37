"""`python -m core sync-calendar [--provider EMAIL] [--full]`."""

from __future__ import annotations

import sys

from core.base.errors import DomainError


def _progress_bar(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // total if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_sync_calendar(args) -> int:
    from core.calendar_sync.sync import sync_pass

    summary = sync_pass(provider_email=args.provider, full=args.full, progress=None if args.quiet else _progress_bar)
    print(summary.line())
    for failure in summary.failures:
        print(f"  failed: {failure}")
    if summary.failures:
        raise DomainError(f"{len(summary.failures)} of {summary.calendars} calendars failed to sync (listed above).")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "sync-calendar",
        help="one Google Calendar sync pass: push queued appointment changes, pull Google's changes",
    )
    p.add_argument("--provider", metavar="EMAIL", help="only this provider's calendar")
    p.add_argument("--full", action="store_true", help="list every event again instead of only the changes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sync_calendar)
