"""`python -m core webhooks add|list|disable|enable|rotate-secret|replay` and `deliver-webhooks`."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from core.base.clock import utcnow
from core.base.jobs import new_sender_id

INTERVAL = timedelta(seconds=2)


def _instant(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a time like 2026-12-06T09:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_webhooks(args) -> int:
    from core.security.access import SYSTEM
    from core.webhooks import endpoints, log

    if args.action == "add":
        e, secret = endpoints.add_endpoint(
            SYSTEM, args.url, args.events, description=args.description or "", personal_data=args.personal_data
        )
        print(f"Added webhook endpoint {e.id} for {', '.join(e.event_types)}.")
        print(f"Signing secret (shown once, keep it now): {secret}")
    elif args.action == "list":
        for e in endpoints.list_endpoints(SYSTEM):
            state = "on" if e.enabled else f"off ({e.disabled_reason})"
            print(f"{e.id}\t{state}\t{e.url}\t{','.join(e.event_types)}\t{e.personal_data}\t{e.description}")
    elif args.action in ("disable", "enable"):
        e = endpoints.set_enabled(SYSTEM, args.id, args.action == "enable")
        print(f"Webhook endpoint {e.id} is {'on' if e.enabled else 'off'}.")
    elif args.action == "rotate-secret":
        secret = endpoints.rotate_secret(SYSTEM, args.id)
        print(f"New signing secret for endpoint {args.id} (shown once; the old one signs for 24 hours more): {secret}")
    elif args.action == "replay":
        n = log.replay_failed(SYSTEM, args.endpoint, args.since, args.until)
        print(f"Replaying {n} failed deliveries of endpoint {args.endpoint}.")
    return 0


def cmd_deliver_webhooks(args) -> int:
    from core.webhooks import sender

    ident = new_sender_id()
    while True:
        started = utcnow()
        summary = sender.deliver_due(started, sender=ident, limit=args.limit)
        print(f"{started:%Y-%m-%d %H:%M:%S} UTC deliver-webhooks: {summary.line()}", flush=True)
        if args.once:
            return 0
        time.sleep(max(0.0, (started + INTERVAL - utcnow()).total_seconds()))


def register(sub) -> None:
    from core.webhooks.payloads import EVENT_TYPES

    p = sub.add_parser("webhooks", help="manage outgoing webhook endpoints (Standard Webhooks)")
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = acts.add_parser("add", help="add an endpoint; prints its id and its signing secret once")
    a.add_argument("url", help="https://... (http and local addresses need WEBHOOK_ALLOW_LOCAL_NETWORK=1)")
    a.add_argument("--events", required=True, help=f"comma-separated, from: {', '.join(EVENT_TYPES)}")
    a.add_argument("--description")
    a.add_argument("--personal-data", choices=("none", "names", "contacts"), default="none",
                   help="what payloads say about the customer (default: none, the id only)")  # fmt: skip
    acts.add_parser("list", help="every endpoint: id, on/off, URL, events, personal data, description")
    for name, what in (("disable", "switch an endpoint off"), ("enable", "switch an endpoint on again"),
                       ("rotate-secret", "a new secret; the old one keeps signing for 24 hours")):  # fmt: skip
        acts.add_parser(name, help=what).add_argument("id", type=int)
    r = acts.add_parser("replay", help="send again the failed (exhausted) deliveries of an endpoint since a time")
    r.add_argument("--endpoint", type=int, required=True)
    r.add_argument("--since", type=_instant, required=True, help="ISO time, UTC unless it says otherwise")
    r.add_argument("--until", type=_instant)
    p.set_defaults(func=cmd_webhooks)

    p = sub.add_parser("deliver-webhooks", help="send the webhook deliveries that are due (every 2 s until stopped)")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--limit", type=int, help="at most this many deliveries per pass")
    p.set_defaults(func=cmd_deliver_webhooks)
