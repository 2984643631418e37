"""Webhooks: deliveries/s to a local receiver against plain httpx, and booking-to-first-attempt latency.

Runs on a fresh SQLite database of its own (BENCH_WEBHOOK_N deliveries, default 2000). Figures:
(1) deliveries/s through one sender pass (claim and mark sending, resolve and check the address,
sign, POST, record the attempt) to a receiver on 127.0.0.1 in a process of its own that answers
200 at once, against plain httpx posting the same bodies one after the other on one client with
no database, no signing, no checks; the CPU time is this process's (the sender's or httpx's, not
the receiver's); (1b) the same against a receiver that answers after BENCH_WEBHOOK_DELAY_MS
(default 20 ms, a CRM across a network; BENCH_WEBHOOK_SLOW_N deliveries, default 300);
(2) the time from a booking's commit to the receiver seeing its webhook, with
`python -m core worker --poll 1` running beside (BENCH_WEBHOOK_BOOKINGS bookings, default 10, at
10:00 local and on, on a working day well after the seeded ones)."""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import insert, select, update

from bench.common import report
from core.base import migrate
from core.base.clock import utcnow
from core.base.config import ROOT, reset_settings
from core.base.db import dispose_engines, get_engine, unit_of_work
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider, WorkingHours
from core.base.tz import local_to_utc, to_local
from core.scheduling import booking
from core.scheduling.events import AppointmentBooked, AppointmentState
from core.security.access import SYSTEM
from core.webhooks import endpoints, enqueue, sender
from core.webhooks.models import WebhookDelivery, WebhookEndpoint

N = int(os.environ.get("BENCH_WEBHOOK_N", "2000"))
BOOKINGS = int(os.environ.get("BENCH_WEBHOOK_BOOKINGS", "10"))
SLOW_N = int(os.environ.get("BENCH_WEBHOOK_SLOW_N", "300"))
DELAY_MS = int(os.environ.get("BENCH_WEBHOOK_DELAY_MS", "20"))
TZ = "America/New_York"


def _handler(delay_s: float = 0.0, on_body=None) -> type[BaseHTTPRequestHandler]:
    """Answers 200 after `delay_s`, handing each body to `on_body` first."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_POST(self):  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if on_body is not None:
                on_body(body)
            if delay_s:
                time.sleep(delay_s)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    return Handler


def _serve(delay_s: float, ports) -> None:
    """A receiver in a process of its own (so this process's CPU time is the sender's alone)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(delay_s))
    server.daemon_threads = True
    ports.put(server.server_port)
    server.serve_forever()


def _receiver(delay_s: float) -> tuple[multiprocessing.Process, str]:
    ports = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_serve, args=(delay_s, ports), daemon=True)
    proc.start()
    return proc, f"http://127.0.0.1:{ports.get(timeout=30)}/hooks"


def _queue(url: str, appts: list[tuple[int, AppointmentState]], now: datetime) -> list[str]:
    """A new endpoint at `url` (the earlier ones switched off) and one appointment.booked each."""
    with unit_of_work() as s:
        s.execute(update(WebhookEndpoint).values(enabled=False))
    endpoint, _ = endpoints.add_endpoint(SYSTEM, url, "appointment.booked", personal_data="names")
    for i in range(0, len(appts), 200):
        with unit_of_work() as s:
            for appt_id, state in appts[i : i + 200]:
                event = AppointmentBooked(appointment_id=appt_id, before=None, after=state, actor=None, at=now)
                enqueue.on_appointment_changed(s, event)
    with unit_of_work() as s:
        return list(s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.endpoint_id == endpoint.id)))


def _throughput(label: str, delay_s: float, appts, now: datetime, target: str | None) -> None:
    proc, url = _receiver(delay_s)
    try:
        bodies = _queue(url, appts, now)
        t0, c0 = time.perf_counter(), time.process_time()
        summary = sender.deliver_due(utcnow())
        send_s, send_cpu = time.perf_counter() - t0, time.process_time() - c0
        delivered = summary.get("delivered")
        with httpx.Client() as http:
            t0, c0 = time.perf_counter(), time.process_time()
            for body in bodies:
                http.post(url, content=body.encode(), headers={"Content-Type": "application/json"})
            plain_s, plain_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        proc.terminate()
        proc.join(10)
    report(
        f"deliver {delivered:,} webhooks to 127.0.0.1, {label}",
        {"deliveries_per_s": delivered / send_s, "plain_httpx_per_s": len(bodies) / plain_s,
         "share_of_plain": (delivered / send_s) / (len(bodies) / plain_s),
         "cpu_ms_per_delivery": send_cpu * 1000 / max(delivered, 1),
         "plain_cpu_ms_per_post": plain_cpu * 1000 / max(len(bodies), 1)},
        target=target,
    )  # fmt: skip


class Sink:
    """Answers 200 at once, in this process; notes when each appointment's first webhook arrived."""

    def __init__(self):
        self.first_seen: dict[int, float] = {}

        def seen(body: bytes) -> None:
            self.first_seen.setdefault(json.loads(body)["data"]["appointment"]["id"], time.time())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(on_body=seen))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"


def _seed(n: int, now: datetime) -> tuple[int, int, int, list[tuple[int, AppointmentState]]]:
    with unit_of_work() as s:
        loc = Location(name="Bench", timezone="America/New_York")
        prov = Provider(name="Dr. Bench", email="bench@example.test", skills=[], locations=[loc])
        atype = AppointmentType(name="Visit", duration_min=30, horizon_days=3650)
        s.add_all([loc, prov, atype])
        s.flush()
        for day in range(7):
            s.add(WorkingHours(provider_id=prov.id, location_id=loc.id, weekday=day, start_time=dtime(0),
                               end_time=dtime(23, 59)))  # fmt: skip
        s.execute(insert(Customer), [{"name": f"Customer {i}", "email": f"c{i}@example.test"} for i in range(n)])
        cids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
        start0 = (now + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        rows = []
        for i, cid in enumerate(cids):
            start = start0 + timedelta(minutes=30 * i)
            rows.append({"location_id": loc.id, "provider_id": prov.id, "type_id": atype.id, "customer_id": cid,
                         "start_at": start, "end_at": start + timedelta(minutes=30), "block_start": start,
                         "block_end": start + timedelta(minutes=30), "group_key": f"b{i}", "status": "booked",
                         "booked_at": now})  # fmt: skip
        s.execute(insert(Appointment), rows)
        appts = [(a.id, AppointmentState.of(a)) for a in s.scalars(select(Appointment).order_by(Appointment.id))]
        return loc.id, prov.id, atype.id, appts


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'webhooks.db'}"
    os.environ["WEBHOOK_ALLOW_LOCAL_NETWORK"] = "1"
    os.environ.setdefault("WEBHOOK_SECRETS_KEY", "bench-only-webhook-secrets-key")
    reset_settings()
    dispose_engines()
    migrate.upgrade(get_engine())
    now = utcnow()
    loc_id, prov_id, type_id, appts = _seed(N, now)

    # 1. Throughput: one sender pass against plain httpx with the same bodies.
    _throughput("answering at once", 0.0, appts, now, "share_of_plain >= 0.5")
    _throughput(f"answering after {DELAY_MS} ms", DELAY_MS / 1000, appts[:SLOW_N], now, None)
    with unit_of_work() as s:
        s.execute(update(WebhookEndpoint).values(enabled=False))
    sink = Sink()
    endpoints.add_endpoint(SYSTEM, sink.url, "appointment.booked", personal_data="names")

    # 2. Latency: bookings through the real service while the worker runs beside.
    env = {**os.environ}
    worker = subprocess.Popen(
        [sys.executable, "-m", "core", "worker", "--poll", "1"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(3)  # let the worker start and run its first pass
        booked: dict[int, float] = {}
        # At 10:00 local on a weekday after the seeded appointments (never past midnight, whatever the clock says).
        day = to_local(now + timedelta(days=32) + timedelta(minutes=30 * N), TZ).date()
        day += timedelta(days=(7 - day.weekday()) % 7)  # a Monday
        start = local_to_utc(day, dtime(10), TZ)
        for i in range(BOOKINGS):
            with unit_of_work() as s:
                s.add(customer := Customer(name=f"Latency {i}"))
                s.flush()
                cid = customer.id
            result = booking.book(SYSTEM, type_id=type_id, location_id=loc_id, customer_id=cid, provider_id=prov_id,
                                  start=start + timedelta(minutes=30 * i))  # fmt: skip
            booked[result.appointment.id] = time.time()
            time.sleep(0.7)  # spread the bookings over the worker's cycle
        deadline = time.time() + 30
        while time.time() < deadline and not all(a in sink.first_seen for a in booked):
            time.sleep(0.05)
        waits = [sink.first_seen[a] - t for a, t in booked.items() if a in sink.first_seen]
        report(
            f"booking to first attempt, worker --poll 1 ({len(waits)}/{len(booked)} arrived)",
            {"median_s": statistics.median(waits), "max_s": max(waits)} if waits else {"arrived": 0},
            target="under 5 s",
        )
    finally:
        worker.terminate()
        worker.wait(30)
