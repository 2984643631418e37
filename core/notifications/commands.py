"""`python -m core send-notifications [--once]`."""

from __future__ import annotations

import time
from datetime import timedelta

from core.base.clock import utcnow
from core.base.jobs import new_sender_id

INTERVAL = timedelta(minutes=1)


def cmd_send_notifications(args) -> int:
    from core.notifications import sender

    ident = new_sender_id()
    while True:
        started = utcnow()
        summary = sender.send_due(started, sender=ident, limit=args.limit)
        print(f"{started:%Y-%m-%d %H:%M:%S} UTC send-notifications: {summary.line()}", flush=True)
        if args.once:
            return 0
        time.sleep(max(0.0, (started + INTERVAL - utcnow()).total_seconds()))


def register(sub) -> None:
    p = sub.add_parser(
        "send-notifications",
        help="send the confirmations, reminders and follow-ups that are due (every minute until stopped)",
        description="Send due messages by email (SMTP_*) and SMS (SMS_WEBHOOK_*). Without either "
        "configured, messages are recorded as not sent and shown on the Notifications page.",
    )
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--limit", type=int, help="at most this many messages per pass")
    p.set_defaults(func=cmd_send_notifications)
