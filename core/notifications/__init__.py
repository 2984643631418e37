"""Notifications: confirmations, reminders, reschedule and cancellation notices, follow-ups and
no-show rebooking messages, by email (SMTP) and SMS (an HTTP webhook).

- `enqueue` subscribes to booking's events and writes the outbox in the booking's own
  transaction: one row per (appointment, kind, channel, the start it was written for), the
  idempotency key. A reschedule supersedes what was written for the old start; a cancellation
  cancels what is pending. Rows are marked, never deleted.
- `sender` claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL), re-checks that the
  appointment is still as the message assumes, marks the row `sending` in its own commit,
  sends, and marks it `sent`. A row left `sending` (a crash between the two) is flagged for a
  person to review, never sent again blindly. Failures retry with backoff; the last one opens
  an exceptions-queue item.
- `templates` renders Jinja2 in a sandbox, with times in the location's zone.
- `admin` holds the services behind the Notifications page; `stats` the no-show rate split by
  whether a reminder was sent.
"""
