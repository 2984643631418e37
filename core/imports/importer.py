"""Importing appointment history from CSV: one service call, one transaction.

Rows are parsed and checked first (`rows.RowParser`), then checked against the time the file's
providers already hold, in file order (an earlier row wins). Valid rows are written in bulk:
new appointments inserted, ones already imported (same external_id) updated, identical ones
left alone; rejected rows are reported with their line number and reason. A problem with the
file as a whole writes nothing. The import is one audit row (counts and the file's SHA-256)
and one `AppointmentsImported` event, published in the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from operator import attrgetter

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.base.clock import utcnow
from core.base.db import constraint_name, refresh_statistics
from core.base.errors import ConflictError, ValidationError
from core.base.models import Customer, Location, Status
from core.base.tz import to_local
from core.imports import parse as p
from core.imports.bulk import Bulk
from core.imports.lookups import (
    APPOINTMENT_FIELDS,
    Catalog,
    HeldTime,
    chunks,
    existing_appointments,
    existing_customers,
)
from core.imports.mapping import Mapping
from core.imports.rows import Record, RowParser
from core.scheduling.availability import group_key_for
from core.scheduling.events import AppointmentsImported
from core.security.access import A, Actor
from core.security.service import reading, service

BATCH = 5_000
BULK = 1_000  # rows written from which PostgreSQL's planner statistics are refreshed at once
INSTANTS = ("start_at", "end_at", "block_start", "block_end", "booked_at", "cancelled_at", "updated_at", "created_at")
UPDATE_COLUMNS = (*APPOINTMENT_FIELDS, "group_key", "updated_at")
# Every column an imported appointment sets: the compared ones, its identity, and fixed values.
CONSTANTS = {
    "source": "import",
    "booked_by": None,
    "intake_answers": "{}",
    "intake_complete": True,
    "reschedule_count": 0,
}
ROW_COLUMNS = (*UPDATE_COLUMNS, "external_id")  # what differs from row to row
INSERT_COLUMNS = (*ROW_COLUMNS, *CONSTANTS)
CUSTOMER_COLUMNS = ("name", "email", "phone", "external_id", "home_location_id", "created_at")
Progress = Callable[[float, str], None]


@dataclass
class ImportResult:
    file_name: str
    sha256: str
    dry_run: bool
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[p.Rejection] = field(default_factory=list)
    created_locations: list[str] = field(default_factory=list)
    created_customers: int = 0
    seconds: float = 0.0
    first_day: date | None = None
    last_day: date | None = None
    header: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def reasons(self, per_kind: int = 3) -> list[tuple[str, int, list[str]]]:
        return list(p.iter_reasons(self.rejections, per_kind))

    def counts(self) -> dict:
        return {
            "rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "rejected_by_reason": {kind: n for kind, n, _ in self.reasons()},
            "created_locations": self.created_locations, "created_customers": self.created_customers,
        }  # fmt: skip

    def rejects_csv(self) -> str:
        """The rejected rows as they were in the file, with their line number and reason."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*self.header, "line", "reason"])
        for r in self.rejections:
            values = list(r.values) + [""] * (len(self.header) - len(r.values))
            writer.writerow([*values[: len(self.header)], r.line, r.message])
        return out.getvalue()

    def summary_lines(self) -> list[str]:
        verb = "would be " if self.dry_run else ""
        lines = [
            f"{self.file_name}: {self.rows_read:,} rows read in {self.seconds:.1f} s"
            + (" (dry run: nothing was written)" if self.dry_run else ""),
            f"  imported:  {self.imported:,}" + (" (new)" if not self.dry_run else " (new, would be)"),
            f"  updated:   {self.updated:,}",
            f"  unchanged: {self.unchanged:,}",
            f"  rejected:  {self.rejected:,}",
        ]
        for kind, n, first in self.reasons():
            lines.append(f"    {kind}: {n:,}")
            lines.extend(f"      {line}" for line in first)
        if self.created_locations:
            lines.append(f"  locations {verb}created: {', '.join(self.created_locations)}")
        if self.created_customers:
            lines.append(f"  customers {verb}created: {self.created_customers:,}")
        return lines


def run_import(
    actor: Actor | None,
    data: bytes,
    mapping: Mapping,
    *,
    file_name: str = "the file",
    dry_run: bool = False,
    create_locations: bool = False,
    progress: Progress | None = None,
    notify: bool = False,
    before_commit: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Import (or, with dry_run, only check) a CSV file of appointment history. `notify`: queue a
    confirmation for each upcoming appointment written (reminders come either way). `before_commit`
    runs once every row is decided and written, inside the import's transaction: what it raises
    leaves nothing imported (e.g. the rejects file that cannot be written)."""
    if notify and dry_run:
        raise ValidationError("A dry run writes nothing, so it cannot send confirmations: drop --notify or --dry-run.")
    t0 = time.perf_counter()
    result = ImportResult(file_name, hashlib.sha256(data).hexdigest(), dry_run)
    csv_file = p.read_csv(data, mapping, file_name)
    result.rows_read, result.header = len(csv_file.rows), csv_file.header
    note = progress or (lambda _f, _m: None)
    if dry_run:
        with reading(actor, A.IMPORT_APPOINTMENTS, entity="import") as session:
            _Import(session, mapping, csv_file, result, note, create_locations).plan()
            if before_commit is not None:
                before_commit(result)
    else:
        try:
            with service(actor, A.IMPORT_APPOINTMENTS, entity="import", location_id=None) as tx:
                job = _Import(tx.session, mapping, csv_file, result, note, create_locations)
                job.plan()
                if job.write():
                    tx.publish(replace(job.event(), notify=notify))
                tx.audit(action="import.appointments", entity_id=result.sha256[:16],
                             after={"file": file_name, "sha256": result.sha256, **result.counts()})  # fmt: skip
                if before_commit is not None:
                    before_commit(result)
        except IntegrityError as exc:
            raise ConflictError(
                f"The import was refused by the database rule {constraint_name(exc) or 'on appointments'}: "
                "someone changed the schedule meanwhile. Nothing was imported; run it again."
            ) from None
        if result.imported + result.updated >= BULK:
            refresh_statistics("appointments", "customers")
    note(1.0, "Done")
    result.seconds = time.perf_counter() - t0
    return result


def _span(start: datetime, end: datetime, tz: str) -> str:
    return f"{to_local(start, tz):%Y-%m-%d %H:%M}-{to_local(end, tz):%H:%M}"


class _Import:
    def __init__(self, session: Session, mapping: Mapping, csv_file: p.CsvFile, result: ImportResult,
                 note: Progress, create_locations: bool):  # fmt: skip
        self.session, self.mapping, self.csv, self.result, self.note = session, mapping, csv_file, result, note
        self.catalog = Catalog.load(session)
        self.parser = RowParser(mapping, csv_file.header, self.catalog, create_locations=create_locations)
        self.records: list[Record] = []
        self.existing: dict[str, dict] = {}
        self.values: dict[int, list[str]] = {}  # line -> the row's values, until it is decided
        self.customers: dict[tuple, int | None] = {}  # key -> id (None: to be created)
        self.new_customers: dict[tuple, dict] = {}
        self.customer_updates: dict[int, dict] = {}
        self.inserts: list[Record] = []
        self.updates: list[dict] = []
        self.days: dict[int, tuple[date, date]] = {}
        self.group_keys: dict[int, str] = {}  # line -> the row's group key, decided once

    def reject(self, line: int, exc: p.Rejected) -> None:
        self.result.rejections.append(p.Rejection(line, exc.kind, str(exc), tuple(self.values.pop(line, ()))))

    def plan(self) -> None:
        rows = self.csv.rows
        self.values = dict(rows)
        for n, (line, values) in enumerate(rows):
            try:
                self.records.append(self.parser.record(line, values))
            except p.Rejected as exc:
                self.reject(line, exc)
            if n % BATCH == 0:
                self.note(0.5 * n / len(rows), f"Checking rows: {n:,} of {len(rows):,}")
        self.existing = existing_appointments(self.session, [r.external_id for r in self.records])
        self._check_overlaps()
        self.note(0.55, "Matching customers")
        self._match_customers()
        self._diff()
        self.result.created_locations = [place.name for place in self.catalog.new_locations]
        self.result.rejections.sort(key=lambda r: r.line)
        self.values.clear()

    def _check_overlaps(self) -> None:
        held = HeldTime()
        spans: dict[int, tuple[datetime, datetime]] = {}
        for r in self.records:
            if r.provider and r.block_start and r.status != Status.CANCELLED:
                lo, hi = spans.get(r.provider[0], (r.block_start, r.block_end))
                spans[r.provider[0]] = (min(lo, r.block_start), max(hi, r.block_end))
        held.load(self.session, spans, {old["id"] for old in self.existing.values()})
        kept = []
        for r in self.records:
            if r.provider and r.block_start and r.status != Status.CANCELLED:
                key = self._group_key(r)
                clash = held.clash(r.provider[0], r.block_start, r.block_end, key)
                if clash:
                    s, e, label = clash
                    self.reject(r.line, p.Rejected(
                        p.OVERLAP, f"{r.provider[1]} is already booked {_span(s, e, r.place.timezone)} ({label})"))  # fmt: skip
                    continue
                held.add(r.provider[0], r.block_start, r.block_end, key, f"line {r.line}")
            kept.append(r)
        self.records = kept

    def _group_key(self, r: Record) -> str:
        key = self.group_keys.get(r.line)
        if key is None:
            key = self.group_keys[r.line] = self._new_group_key(r)
        return key

    def _new_group_key(self, r: Record) -> str:
        if r.type and r.type.capacity > 1 and r.provider:
            return group_key_for(r.type.id, r.provider[0], r.start_at)
        old = self.existing.get(r.external_id)
        # A fresh key as random as models.new_key's (a uuid4's hex), at a tenth of its cost per row.
        return old["group_key"] if old else secrets.token_hex(16)

    def _match_customers(self) -> None:
        keys: dict[tuple, dict] = {}
        for r in self.records:
            if r.customer_key not in keys:
                keys[r.customer_key] = {**r.customer, "home": r.place.id}
        by_kind: dict[str, list] = {"ext": [], "email": [], "name": []}
        for key in keys:
            by_kind[key[0]].append(key[1])
        found = {
            ("ext", k): v for k, v in existing_customers(self.session, Customer.external_id, by_kind["ext"]).items()
        }
        found |= {("email", k): v for k, v in existing_customers(self.session, func.lower(Customer.email), by_kind["email"]).items()}  # fmt: skip
        for part in chunks(sorted(set(by_kind["name"]))):
            query = select(Customer.id, func.lower(Customer.name), Customer.home_location_id).where(
                func.lower(Customer.name).in_(part), Customer.external_id.is_(None), Customer.email.is_(None)
            )
            for id_, name, home in self.session.execute(query.order_by(Customer.id)):
                found.setdefault(("name", name, home), {"id": id_})
        for key, given in keys.items():
            old = found.get(key)
            if old is None:
                self.customers[key] = None
                self.new_customers[key] = given
                continue
            self.customers[key] = old["id"]
            if key[0] == "ext":
                changes = {f: given[f] for f in ("name", "email", "phone") if given[f] and given[f] != old[f]}
                if changes:
                    self.customer_updates[old["id"]] = changes
        self.result.created_customers = len(self.new_customers)

    def _row(self, r: Record) -> dict:
        return {
            "location_id": r.place.id, "provider_id": r.provider[0] if r.provider else None,
            "type_id": r.type.id if r.type else None, "customer_id": self.customers[r.customer_key],
            "start_at": r.start_at, "end_at": r.end_at, "block_start": r.block_start, "block_end": r.block_end,
            "status": r.status, "booked_at": r.booked_at, "cancelled_at": r.cancelled_at, "late_cancel": r.late_cancel,
        }  # fmt: skip

    def _touch(self, location_id: int, day: date) -> None:
        lo, hi = self.days.get(location_id, (day, day))
        self.days[location_id] = (min(lo, day), max(hi, day))

    def _diff(self) -> None:
        zones = {place.id: place.zone for place in self.catalog.locations.values()}
        for r in self.records:
            old = self.existing.get(r.external_id)
            if old is None:
                self.inserts.append(r)
                self._touch(r.place.id, r.day)
                continue
            row = self._row(r)
            if row["customer_id"] is None or any(row[f] != old[f] for f in APPOINTMENT_FIELDS):
                self.updates.append({**row, "id": old["id"], "group_key": self._group_key(r), "_key": r.customer_key})
                zone = zones.get(old["location_id"], r.place.zone)
                self._touch(old["location_id"], old["start_at"].astimezone(zone).date())
            else:
                self.result.unchanged += 1
                continue
            self._touch(r.place.id, r.day)
        # In the order of the indexes most inserts extend (location and start), not the file's.
        self.inserts.sort(key=attrgetter("place.id", "start_at"))
        self.result.imported, self.result.updated = len(self.inserts), len(self.updates)
        if self.days:
            self.result.first_day = min(lo for lo, _ in self.days.values())
            self.result.last_day = max(hi for _, hi in self.days.values())

    def write(self) -> bool:
        """Write the plan; False when there was nothing to write."""
        s = self.session
        if not (self.inserts or self.updates or self.customer_updates or self.catalog.new_locations):
            return False
        ids = {}
        for place in self.catalog.new_locations:
            ids[place.id] = s.scalar(
                insert(Location).values(name=place.name, timezone=place.timezone).returning(Location.id)
            )
        self.days = {ids.get(k, k): v for k, v in self.days.items()}
        bulk, now = Bulk(s, INSTANTS), utcnow()
        self.written_at = now
        keys = list(self.new_customers)
        if keys:
            self.note(0.6, f"Adding {len(keys):,} customers")
            rows = [self._customer_row(k, ids) for k in keys]
            if bulk.sqlite:
                new_ids = bulk.insert_numbered(
                    "customers", CUSTOMER_COLUMNS, [bulk.values(r, CUSTOMER_COLUMNS) for r in rows]
                )
            else:
                returning = insert(Customer.__table__).returning(Customer.__table__.c.id, sort_by_parameter_order=True)
                new_ids = [id_ for part in chunks(rows, BATCH) for id_ in s.scalars(returning, part)]
            self.customers.update(zip(keys, new_ids, strict=True))
        if self.customer_updates:
            s.execute(update(Customer), [{"id": k, **v} for k, v in self.customer_updates.items()])
        fixed, stamp = tuple(CONSTANTS.values()), bulk.instant_of(now)
        for n, part in enumerate(chunks(self.inserts, BATCH)):
            self.note(
                0.65 + 0.35 * n * BATCH / len(self.inserts),
                f"Adding appointments: {n * BATCH:,} of {len(self.inserts):,}",
            )
            rows = [self._new_row(r, bulk.instant_of, ids, stamp) + fixed for r in part]
            bulk.insert("appointments", INSERT_COLUMNS, rows)
        for n, part in enumerate(chunks(self.updates, BATCH)):
            self.note(
                0.65 + 0.35 * n * BATCH / len(self.updates),
                f"Updating appointments: {n * BATCH:,} of {len(self.updates):,}",
            )
            for row in part:
                row["customer_id"] = self.customers[row.pop("_key")]
                row["location_id"] = ids.get(row["location_id"], row["location_id"])
                row["updated_at"] = now
            bulk.update("appointments", UPDATE_COLUMNS, [(*bulk.values(r, UPDATE_COLUMNS), r["id"]) for r in part])
        s.flush()
        return True

    def _new_row(self, r: Record, instant: Callable, location_ids: dict[int, int], stamp) -> tuple:
        """A new appointment's values in ROW_COLUMNS order, instants as the dialect takes them."""
        return (
            location_ids.get(r.place.id, r.place.id), r.provider[0] if r.provider else None,
            r.type.id if r.type else None, self.customers[r.customer_key], instant(r.start_at), instant(r.end_at),
            instant(r.block_start), instant(r.block_end), r.status, instant(r.booked_at), instant(r.cancelled_at),
            r.late_cancel, self._group_key(r), stamp, r.external_id,
        )  # fmt: skip

    def _customer_row(self, key: tuple, location_ids: dict[int, int]) -> dict:
        given = self.new_customers[key]
        home = given["home"]
        name = given["name"] or f"Customer {given['external_id'] or given['email']}"
        return {"name": name, "email": given["email"], "phone": given["phone"], "external_id": given["external_id"],
                "home_location_id": location_ids.get(home, home), "created_at": utcnow()}  # fmt: skip

    def event(self) -> AppointmentsImported:
        return AppointmentsImported(
            location_ids=tuple(sorted(self.days)), first_day=self.result.first_day, last_day=self.result.last_day,
            days=dict(self.days), at=self.written_at,
        )  # fmt: skip
