"""What one seeding run shares across its steps (`Builder`): the dice, the clock, the sizes, the
places laid out so far, the buffered bulk rows and the counts."""

from __future__ import annotations

import random
import sys
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from core.base.models import Appointment, AppointmentHistory
from core.demo.bulk import APPT_COLS, HIST_COLS, pg_copy, pg_instants, sqlite_instants, to_epoch
from core.demo.catalogue import AHEAD_DAYS, HISTORY_DAYS, sizing
from core.demo.plans import LocationPlan, ProviderPlan
from core.inquiries.bulk import NewInquiry

GO_LIVE_DAYS = 75  # bookings made before this many days into the history came from the old system


class Builder:
    """The state one seeding run shares across its steps."""

    def __init__(self, target: int, seed: int, now: datetime, progress: bool, hashes: dict[str, str]) -> None:
        self.target = target
        self.seed = seed
        self.rng = random.Random(seed)
        self.inquiry_rng = random.Random(seed * 7919 + 1)  # its own dice: inquiries change no appointment
        self.now = now
        self.now_epoch = to_epoch(now)
        self.today = now.date()
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.last_day = self.today + timedelta(days=AHEAD_DAYS)
        self.history_start = to_epoch(datetime.combine(self.first_day, time.min, tzinfo=UTC))
        self.go_live = self.history_start + GO_LIVE_DAYS * 86400
        self.progress = progress
        self.password_hashes = hashes
        self.location_count, self.provider_count, self.customer_count = sizing(target)
        self.started = clock.perf_counter()
        self.statuses: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.appointment_rows: list[tuple] = []
        self.history_rows: list[tuple] = []
        self.inquiries: list[NewInquiry] = []  # recorded after the bulk load (demo.inquiries)
        self.location_weights: list[int] = []  # cumulative, for picking a location by its size
        self.day_anchors: dict[tuple[str, date], int | None] = {}
        self.intake: dict[str, tuple[list[str], str]] = {}
        self.type_ids: dict[str, int] = {}
        self.desk_user: int | None = None
        self.first_location: LocationPlan | None = None
        # Filled in as the run goes: the dialect's plumbing, the places (add_places), the demo
        # users (add_users), the next appointment id (walk, then add_appointment), the rules
        # suspended for the bulk load and the audit rows to link into the chain.
        self.sqlite = False
        self.instant: Callable[[int | None], str | None] = pg_instants()
        self.locations: list[LocationPlan] = []
        self.providers: list[ProviderPlan] = []
        self.short_notice_sources: list[float] = []
        self.user_rows: list[tuple[str, str, str, str]] = []
        self.next_appointment_id = 0
        self.customer_busy: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)  # epoch [start, end)
        self.suspended_rules: list[str] = []
        self.audit_ids: list[int] = []

    def start(self, conn: Connection) -> None:
        """The dialect's plumbing: bulk rows carry instants and JSON as the text each database
        stores (the JSON text is json.dumps', as SQLAlchemy writes it)."""
        self.sqlite = conn.dialect.name == "sqlite"
        self.instant = sqlite_instants() if self.sqlite else pg_instants()

    def bulk(self, conn: Connection, table, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.exec_driver_sql(sql, rows)
        else:
            pg_copy(conn, table.name, cols, rows)

    def next_id(self, conn: Connection, model) -> int:
        return (conn.scalar(select(func.max(model.id))) or 0) + 1

    def flush(self, conn: Connection) -> None:
        """Write the buffered appointments and their history."""
        if not self.appointment_rows:
            return
        self.bulk(conn, Appointment.__table__, APPT_COLS, self.appointment_rows)
        self.bulk(conn, AppointmentHistory.__table__, HIST_COLS, self.history_rows)
        self.counts["appointments"] += len(self.appointment_rows)
        self.counts["history"] += len(self.history_rows)
        self.appointment_rows, self.history_rows = [], []
        self.note(f"{self.counts['appointments']:,} of ~{self.target:,} appointments")

    def note(self, what: str) -> None:
        if self.progress:
            print(f"seed-demo: {what} ({clock.perf_counter() - self.started:.1f} s)", file=sys.stderr, flush=True)
