"""Notifications: enqueue for 10,000 bookings, then send 10,000 due emails to a local SMTP server.

Runs on a fresh SQLite database of its own (BENCH_NOTIFY_N to change the count). Figures:
bookings/s through the outbox subscriber against plain INSERTs of the same rows, and messages/s
through the sender (claim, re-check, render, mark sending, SMTP, mark sent) against plain
smtplib sending the same number of messages on one connection with no database at all."""

from __future__ import annotations

import os
import secrets
import smtplib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, insert, select, update

from bench.common import open_bench_db, report
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import dispose_engines, get_engine, read_session, unit_of_work
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider, WorkingHours
from core.notifications import enqueue, reconcile, sender
from core.notifications.models import KINDS, NotificationOutbox, NotificationTemplate
from core.scheduling.events import AppointmentBooked, AppointmentState

N = int(os.environ.get("BENCH_NOTIFY_N", "10000"))
NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed() -> list[int]:
    """One location, provider and type; N customers with N appointments (plain inserts)."""
    with unit_of_work() as s:
        loc = Location(name="Bench", timezone="America/New_York")
        prov = Provider(name="Dr. Bench", email="bench@example.test", skills=[], locations=[loc])
        atype = AppointmentType(name="Visit", duration_min=30)
        s.add_all([loc, prov, atype])
        s.flush()
        s.add(WorkingHours(provider_id=prov.id, location_id=loc.id, weekday=0, start_time=dtime(0), end_time=dtime(23)))
        for kind in KINDS:  # email only: SMS off for the type
            s.add(NotificationTemplate(type_id=atype.id, kind=kind, channel="sms", body="x", enabled=False))
        s.execute(insert(Customer), [{"name": f"Customer {i}", "email": f"c{i}@example.test"} for i in range(N)])
        customer_ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
        start0 = NOW + timedelta(days=7)
        rows = []
        for i, cid in enumerate(customer_ids):
            start = start0 + timedelta(minutes=30 * i)
            rows.append({"location_id": loc.id, "provider_id": prov.id, "type_id": atype.id, "customer_id": cid,
                         "start_at": start, "end_at": start + timedelta(minutes=30), "block_start": start,
                         "block_end": start + timedelta(minutes=30), "group_key": f"b{i}", "status": "booked",
                         "booked_at": NOW})  # fmt: skip
        s.execute(insert(Appointment), rows)
        return [(a.id, AppointmentState.of(a)) for a in s.scalars(select(Appointment).order_by(Appointment.id))]  # type: ignore[return-value]


def reconcile_on_bench_db() -> None:
    """The reconcile on the big database: reading what upcoming appointments lack, the longest
    write transaction (what holds the outbox's lock), and a second pass with nothing missing.
    The first pass writes the reminders into the benchmark database, so later runs measure the
    second case twice."""
    if not open_bench_db():
        return
    with read_session() as s:
        appointments = s.scalar(select(func.count()).select_from(Appointment))
        now = s.scalar(select(func.max(Appointment.booked_at)))
    figures = {}
    for run in ("first", "again"):
        t0 = time.perf_counter()
        with read_session() as s:
            rows = reconcile.missing_rows(s, now)
        read_s = time.perf_counter() - t0
        longest = 0.0
        for i in range(0, len(rows), reconcile.CHUNK):
            t1 = time.perf_counter()
            with unit_of_work() as s:
                reconcile.insert_missing(s, rows[i : i + reconcile.CHUNK])
            longest = max(longest, time.perf_counter() - t1)
        figures |= {f"{run}_rows": len(rows), f"{run}_read_ms": read_s * 1000, f"{run}_longest_write_ms": longest * 1000,
                    f"{run}_total_ms": (time.perf_counter() - t0) * 1000}  # fmt: skip
    report(f"reconcile on {appointments:,} appointments (as of the latest booking)", figures)
    dispose_engines()


def main() -> None:
    reconcile_on_bench_db()
    tmp = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'notify.db'}"
    for name in ("SMS_WEBHOOK_URL",):
        os.environ.pop(name, None)
    os.environ.setdefault("AUTH_COOKIE_KEY", secrets.token_urlsafe(48))  # signs the unsubscribe links
    reset_settings()
    dispose_engines()
    migrate.upgrade(get_engine())
    appointments = _seed()

    # 1. Enqueue: the subscriber for each booking (100 bookings a transaction), vs plain INSERTs.
    t0 = time.perf_counter()
    for i in range(0, len(appointments), 100):
        with unit_of_work() as s:
            for appt_id, state in appointments[i : i + 100]:
                event = AppointmentBooked(appointment_id=appt_id, before=None, after=state, actor=None, at=NOW)
                enqueue.on_appointment_changed(s, event)
    enqueue_s = time.perf_counter() - t0
    with unit_of_work() as s:
        rows = [
            {k: v for k, v in r.__dict__.items() if not k.startswith("_") and k != "id"}
            for r in s.scalars(select(NotificationOutbox))
        ]
        for r in rows:
            r["idempotency_key"] += ".plain"
    t0 = time.perf_counter()
    for i in range(0, len(rows), 300):
        with unit_of_work() as s:
            s.execute(insert(NotificationOutbox), rows[i : i + 300])
    plain_s = time.perf_counter() - t0
    with unit_of_work() as s:
        s.execute(delete(NotificationOutbox).where(NotificationOutbox.idempotency_key.like("%.plain")))
    report(
        f"enqueue for {N:,} bookings ({len(rows):,} outbox rows)",
        {"bookings_per_s": N / enqueue_s, "total_s": enqueue_s, "plain_insert_s": plain_s,
         "ratio_vs_plain": enqueue_s / plain_s},
    )  # fmt: skip

    # 2. Send N due confirmations to a local SMTP server, vs plain smtplib with no database.
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        os.environ.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_TLS="none",
                          SMTP_FROM="Bench <bench@example.test>")  # fmt: skip
        reset_settings()
        with unit_of_work() as s:  # only the confirmations are due
            s.execute(update(NotificationOutbox).where(NotificationOutbox.kind == "reminder")
                      .values(next_attempt_at=NOW + timedelta(days=365)))  # fmt: skip
        t0 = time.perf_counter()
        summary = sender.send_due(NOW + timedelta(minutes=1), batch=200)
        send_s = time.perf_counter() - t0
        sent = summary.get("sent")
        before = sink.count
        conn = smtplib.SMTP("127.0.0.1", port)
        t0 = time.perf_counter()
        for i in range(sent):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "bench@example.test", f"c{i}@example.test", "Booked"
            msg["Message-ID"] = f"<plain{i}@example.test>"
            msg.set_content("Hello, your visit is booked for Mon 14 January 2030 at 07:00 EST.")
            conn.send_message(msg)
        conn.quit()
        plain_send_s = time.perf_counter() - t0
        report(
            f"send {sent:,} due emails to local SMTP ({summary.line()})",
            {"msgs_per_s": sent / send_s, "total_s": send_s, "plain_smtplib_msgs_per_s": sent / plain_send_s,
             "share_of_plain": plain_send_s / send_s, "server_got": before},
            target="share_of_plain >= 0.5",
        )  # fmt: skip
    finally:
        controller.stop()
        dispose_engines()
