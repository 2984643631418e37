"""Appointment export: one query with the actor's scope in its WHERE clause, streamed as CSV."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from core.base.db import read_session
from core.base.errors import NotFound, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider
from core.base.tz import local_day_bounds
from core.reports.tabular import FORMULA_START, safe_cell
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, service

COLUMNS = [
    "appointment_id", "external_id", "location", "provider", "provider_email", "appointment_type",
    "customer", "customer_email", "customer_phone", "start_utc", "end_utc", "start_local", "status",
    "booked_at_utc", "cancelled_at_utc", "late_cancel", "reschedule_count", "intake_complete", "source",
    "calendar_event_id",
]  # fmt: skip


FIRST_YEAR, LAST_YEAR = 1900, 2200
EXCEL_MAX_ROWS = 1_048_575  # one sheet's rows, less the header
# Text columns a spreadsheet could run as formulas: neutralised in files (`safe=True`).
SAFE_SQL = (
    "external_id", "location", "provider", "provider_email", "appointment_type", "customer", "customer_email",
    "customer_phone", "source", "calendar_event_id",
)  # fmt: skip


def _iso(value) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def _same(value: str | None) -> str:
    return value or ""


def _sql_iso(column):
    """SQLite: the stored naive-UTC text ('2026-01-07 14:00:00.000000') as the ISO text
    datetime.isoformat() writes for the aware instant ('2026-01-07T14:00:00+00:00'), made by
    the database."""
    fraction = func.substr(column, 20)
    return (
        func.substr(column, 1, 10)
        + literal("T")
        + func.substr(column, 12, 8)
        + case((fraction.in_(["", ".000000"]), literal("")), else_=fraction)
        + literal("+00:00")
    )


def check_window(date_from: date | None, date_to: date | None) -> None:
    for day in (date_from, date_to):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationError(f"The date {day} is outside the years {FIRST_YEAR}-{LAST_YEAR}.")
    if date_from and date_to and date_to < date_from:
        raise ValidationError(f"The end date {date_to} is before the start date {date_from}.")


def export_query(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None,
    date_to: date | None,
    location: str | None,
) -> Select:
    check_window(date_from, date_to)
    loc = None
    if location:
        loc = session.scalar(select(Location).where(Location.name == location))
        if loc is None:
            names = ", ".join(session.scalars(select(Location.name).order_by(Location.name)))
            raise NotFound(f"No location named '{location}'. Known locations: {names}.")
    check(actor, A.EXPORT_APPOINTMENTS, loc.id if loc else None, entity="appointment")
    query = (
        select(
            Appointment.id,
            Appointment.external_id,
            Location.name.label("location"),
            Location.timezone,
            Provider.name.label("provider"),
            Provider.email.label("provider_email"),
            AppointmentType.name.label("appointment_type"),
            Customer.name.label("customer"),
            Customer.email.label("customer_email"),
            Customer.phone.label("customer_phone"),
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.booked_at,
            Appointment.cancelled_at,
            Appointment.late_cancel,
            Appointment.reschedule_count,
            Appointment.intake_complete,
            Appointment.source,
            Appointment.calendar_event_id,
        )  # fmt: skip
        .join(Location, Appointment.location_id == Location.id)
        .outerjoin(Provider, Appointment.provider_id == Provider.id)  # imported history may have none
        .outerjoin(AppointmentType, Appointment.type_id == AppointmentType.id)
        .join(Customer, Appointment.customer_id == Customer.id)
        .where(access.location_filter(actor, Appointment.location_id))
        .where(access.provider_filter(actor, Appointment.provider_id))
        .order_by(Appointment.start_at, Appointment.id)
    )
    if loc is not None:
        query = query.where(Appointment.location_id == loc.id)
    # Window in each location's local dates: bound loosely in UTC (+-14 h covers every zone),
    # then exactly per row below.
    if date_from:
        query = query.where(Appointment.start_at >= local_day_bounds(date_from, "Etc/GMT-14")[0])
    if date_to:
        query = query.where(Appointment.start_at < local_day_bounds(date_to, "Etc/GMT+12")[1])
    return query


def _sql_safe(column):
    """A text column with spreadsheet formulas neutralised by the database (as tabular.safe_cell)."""
    return case((func.substr(column, 1, 1).in_(FORMULA_START), literal("'") + column), else_=column)


def iter_values(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    location: str | None = None,
    safe: bool = False,
) -> Iterator[tuple]:
    """The export's rows as tuples in COLUMNS order; `safe`: text a spreadsheet would run as a
    formula is neutralised (for files)."""
    query = export_query(session, actor, date_from=date_from, date_to=date_to, location=location)
    contacts = access.can(actor, A.EXPORT_CONTACTS) or access.can(actor, A.CONTACTS_VIEW)
    mask_email, mask_phone = access.mask_email, access.mask_phone
    if not contacts and safe:
        mask_email, mask_phone = (
            (lambda v: safe_cell(access.mask_email(v))),
            (lambda v: safe_cell(access.mask_phone(v))),
        )
    raw = session.get_bind().dialect.name == "sqlite"
    # SQLite: instants as ISO text made by the database from their stored text; parsing four
    # per row into datetimes and formatting them back was most of an export's time.
    instants = {"start_at", "end_at", "booked_at", "cancelled_at"} if raw else set()
    texts = set(SAFE_SQL) if safe else set()

    def column(c):
        if c.key in instants:
            return _sql_iso(c).label(c.key)
        return _sql_safe(c).label(c.key) if c.key in texts else c

    query = query.with_only_columns(*(column(c) for c in query.selected_columns))
    iso = _same if raw else _iso
    local_start = _LocalStarts()
    if raw:
        # Straight from the driver's cursor (no SQLAlchemy rows: every column is text or a number
        # here, nothing to convert); unbuffered, so the cursor has given no row away yet.
        cursor = session.connection().execute(query).cursor
        parts = iter(lambda: cursor.fetchmany(10_000), [])
    else:
        parts = session.connection().execution_options(yield_per=10_000).execute(query).partitions()
    for part in parts:
        for (id_, ext, loc, tz, prov, prov_email, atype, cust, email, phone, start_at, end_at, status, booked_at,
             cancelled_at, late, reschedules, intake, source, event_id) in part:  # fmt: skip
            day, local = local_start(start_at, tz)
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            yield (
                id_, ext or "", loc, prov or "", prov_email or "", atype or "", cust,
                (email if contacts else mask_email(email)) or "", (phone if contacts else mask_phone(phone)) or "",
                iso(start_at), iso(end_at), local, status, iso(booked_at), iso(cancelled_at), int(late),
                reschedules, int(intake), source, event_id or "",
            )  # fmt: skip


class _LocalStarts:
    """(local date, local ISO text) of a start, from its UTC ISO text or datetime. Starts fall on
    few distinct minutes, so the zone arithmetic is done once per zone and UTC minute."""

    def __init__(self) -> None:
        self.zones: dict[str, ZoneInfo] = {}
        self.minutes: dict[tuple[str, str], tuple[date, str, str]] = {}

    def __call__(self, start, tz: str) -> tuple[date, str]:
        if not isinstance(start, str):
            zone = self.zones.get(tz) or self.zones.setdefault(tz, ZoneInfo(tz))
            local = start.astimezone(zone)
            return local.date(), local.isoformat()
        key = (tz, start[:16])
        hit = self.minutes.get(key)
        if hit is None:
            zone = self.zones.get(tz) or self.zones.setdefault(tz, ZoneInfo(tz))
            local = datetime.fromisoformat(start[:16]).replace(tzinfo=UTC).astimezone(zone)
            text = local.isoformat()
            hit = self.minutes[key] = (local.date(), text[:16], text[-6:])
        # Seconds and fractions are the same in every zone (offsets are whole minutes).
        return hit[0], hit[1] + start[16:-6] + hit[2]


def iter_rows(session: Session, actor: Actor, **filters) -> Iterator[dict]:
    """The export's rows as dicts keyed by COLUMNS."""
    for values in iter_values(session, actor, **filters):
        yield dict(zip(COLUMNS, values, strict=True))


def write_csv(out, rows: Iterable[tuple]) -> int:
    """Write the header and rows (from `iter_values(..., safe=True)`); the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = 0

    def counted() -> Iterator[tuple]:
        nonlocal n
        for n, row in enumerate(rows, 1):  # noqa: B007 - n is read after the loop
            yield row

    writer.writerows(counted())
    return n


def write_xlsx(path, rows: Iterable[tuple]) -> int:
    """Write an Excel workbook (streamed, one sheet) to `path` from `iter_values(..., safe=True)`
    rows; the number of rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Appointments")
    sheet.append(COLUMNS)
    n = 0
    for row in rows:
        n += 1
        if n > EXCEL_MAX_ROWS:
            raise ValidationError(
                f"More than {EXCEL_MAX_ROWS:,} appointments do not fit in one Excel sheet: narrow the dates or use CSV."
            )
        sheet.append(row)
    book.save(path)
    return n


def export_csv(session: Session, actor: Actor, **filters) -> tuple[str, int]:
    """The CSV text and its row count, for a download button; the export itself is audited."""
    buf = io.StringIO()
    n = write_csv(buf, iter_values(session, actor, safe=True, **filters))
    record_export(actor, n, filters)
    return buf.getvalue(), n


def record_export(actor: Actor, rows: int, filters: dict) -> None:
    """The export's audit row, written before the data leaves; a database that cannot record
    it (read-only) refuses the export."""
    try:
        with service(actor, A.EXPORT_APPOINTMENTS, entity="appointment") as tx:
            tx.audit(action="export.appointments", after={"rows": rows, **filters})
    except (OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ValidationError(
            f"The export cannot be recorded in the audit log ({reason}), so nothing was exported."
        ) from None


def export_to(actor: Actor, target: str | None, fmt: str = "csv", **filters) -> int:
    """Export to the file `target` (None or "-": standard output) as csv or xlsx. The rows go to
    a temporary file first; the audit row is written next, and only then is the file moved into
    place (or copied out), so a refused or failed export leaves an existing file as it was."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError(f"Unknown export format '{fmt}': use csv or xlsx.")
    check_window(filters.get("date_from"), filters.get("date_to"))
    to_stdout = target in (None, "-")
    folder = Path(tempfile.gettempdir()) if to_stdout else Path(target).resolve().parent
    if not folder.is_dir():
        raise ValidationError(f"Cannot write {target}: the folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=f".{fmt}")
    try:
        with read_session() as session:
            rows = iter_values(session, actor, safe=True, **filters)
            if fmt == "csv":
                with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                    n = write_csv(out, rows)
            else:
                os.close(fd)
                n = write_xlsx(tmp, rows)
        record_export(actor, n, {**filters, "format": fmt})
        if to_stdout:
            with open(tmp, "rb") as src:
                shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            os.replace(tmp, target)
        return n
    finally:
        Path(tmp).unlink(missing_ok=True)
