"""Appointment export: one query with the actor's scope in its WHERE clause, streamed as CSV."""

from __future__ import annotations

import io
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Select, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from core.base.errors import NotFound, ValidationError
from core.base.files import Target
from core.base.models import Appointment, AppointmentType, Customer, Location, NoShowScore, Provider
from core.base.tz import local_day_bounds
from core.reports.tabular import safe_cell
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, reading, service

COLUMNS = [
    "appointment_id", "external_id", "location", "provider", "provider_email", "appointment_type",
    "customer", "customer_email", "customer_phone", "start_utc", "end_utc", "start_local", "status",
    "booked_at_utc", "cancelled_at_utc", "late_cancel", "reschedule_count", "intake_complete", "source",
    "calendar_event_id", "no_show_risk",
]  # fmt: skip


FIRST_YEAR, LAST_YEAR = 1900, 2200
EXCEL_MAX_ROWS = 1_048_575  # one sheet's rows, less the header


def _iso(value) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def _text_iso(value: str | None) -> str:
    """SQLite: the stored naive-UTC text ('2026-01-07 14:00:00.000000') as the ISO text
    datetime.isoformat() writes for the aware instant ('2026-01-07T14:00:00+00:00'), without
    parsing it (cheaper in Python than in SQL)."""
    if value is None:
        return ""
    fraction = value[19:]
    return f"{value[:10]}T{value[11:19]}{'' if fraction == '.000000' else fraction}+00:00"


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
    # Names and customers are not joined: they come from lookups filled as the rows stream
    # (joining customers alone doubled SQLite's share of the work).
    query = (
        select(
            Appointment.id,
            Appointment.external_id,
            Appointment.location_id,
            Appointment.provider_id,
            Appointment.type_id,
            Appointment.customer_id,
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
            NoShowScore.risk,  # the stored no-show risk (core.noshow); empty where there is none
        )  # fmt: skip
        .outerjoin(NoShowScore, NoShowScore.appointment_id == Appointment.id)
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


class _Values:
    """Rows as tuples in COLUMNS order (for Excel and dicts); `cell` neutralises formulas or not."""

    def __init__(self, cell) -> None:
        self.cell = cell

    def text(self, value: str | None) -> object:
        return self.cell(value or "")

    def fields(self, *values) -> tuple:
        return tuple(self.text(v) for v in values)

    def row(self, id_, ext, names, customer, start, end, local, status, booked, cancelled, late, reschedules,
            intake, source, event_id, risk) -> tuple:  # fmt: skip
        return (id_, self.text(ext), *names, *customer, start, end, local, status, booked, cancelled, int(late),
                reschedules, int(intake), source, self.text(event_id), _risk(risk))  # fmt: skip


class _CsvLines:
    """Rows as CSV lines of the `_Values(safe_cell)` rows, written here rather than by csv.writer:
    names and customers are shaped once each and reused as ready-made parts of the line (half
    the cost of the whole export was csv.writer's). Quoted as csv.writer quotes, and also when
    a carriage return is in the text, which csv.writer leaves bare and readers then split on."""

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        value = safe_cell(value)
        if _CSV_SPECIAL.search(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def fields(self, *values) -> str:
        return ",".join(self.text(v) for v in values)

    def row(self, id_, ext, names, customer, start, end, local, status, booked, cancelled, late, reschedules,
            intake, source, event_id, risk) -> str:  # fmt: skip
        return (f"{id_},{self.text(ext) if ext else ''},{names},{customer},{start},{end},{local},{status},{booked},"
                f"{cancelled},{late:d},{reschedules},{intake:d},{source},{self.text(event_id) if event_id else ''},"
                f"{_risk(risk)}\n")  # fmt: skip


_CSV_SPECIAL = re.compile(r'[",\r\n]')


def _risk(risk: float | None) -> str:
    return "" if risk is None else f"{risk:.4f}"


def _shaped(session: Session, actor: Actor, shape, filters: dict) -> Iterator:
    """The export's rows, each made by `shape.row`, in order of start."""
    date_from, date_to = filters.get("date_from"), filters.get("date_to")
    query = export_query(session, actor, date_from=date_from, date_to=date_to, location=filters.get("location"))
    contacts = access.can(actor, A.EXPORT_CONTACTS) or access.can(actor, A.CONTACTS_VIEW)
    (places, providers, types), names, sources, customers = _labels(session), {}, {}, {}
    if session.get_bind().dialect.name == "sqlite":
        # Straight from the driver's cursor (no SQLAlchemy rows: instants stay their stored
        # text, rewritten as ISO without parsing); unbuffered, so no row is given away yet.
        text_of, parts = _text_iso, _fetched(session.connection().execute(query).cursor)
    else:
        text_of = _iso
        parts = session.connection().execution_options(yield_per=10_000).execute(query).partitions()
    # Rows come in order of start: the local start is worked out once per start and zone.
    current, start_text, local_of, zones = None, "", {}, {}
    for part in parts:
        _add_customers(session, customers, {r[5] for r in part}, shape, contacts)
        for (id_, ext, loc_id, prov_id, type_id, cust_id, start_at, end_at, status, booked_at, cancelled_at, late,
             reschedules, intake, source, event_id, risk) in part:  # fmt: skip
            loc, tz = places[loc_id]
            if start_at != current:
                current, start_text, local_of = start_at, text_of(start_at), {}
            hit = local_of.get(tz)
            if hit is None:
                zone = zones.get(tz) or zones.setdefault(tz, ZoneInfo(tz))
                hit = local_of[tz] = _local_start(start_text, zone)
            day, local = hit
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            key = (loc_id, prov_id, type_id)
            named = names.get(key)
            if named is None:
                named = names[key] = shape.fields(loc, *providers[prov_id], types[type_id])
            shown = sources.get(source)
            if shown is None:
                shown = sources[source] = shape.text(source)
            yield shape.row(id_, ext, named, customers[cust_id], start_text, text_of(end_at), local, status,
                            text_of(booked_at), text_of(cancelled_at), late, reschedules, intake, shown, event_id, risk)  # fmt: skip


def iter_values(session: Session, actor: Actor, *, safe: bool = False, **filters) -> Iterator[tuple]:
    """The export's rows as tuples in COLUMNS order (filters: date_from, date_to, location);
    `safe`: text a spreadsheet would run as a formula is neutralised (for files)."""
    return _shaped(session, actor, _Values(safe_cell if safe else _as_is), filters)


def iter_csv_lines(session: Session, actor: Actor, **filters) -> Iterator[str]:
    """The export's rows as CSV lines, formulas neutralised (what write_csv writes)."""
    return _shaped(session, actor, _CsvLines(), filters)


def _fetched(cursor) -> Iterator[list]:
    return iter(lambda: cursor.fetchmany(10_000), [])


def _labels(session: Session) -> tuple[dict, dict, dict]:
    """Location (name, zone), provider (name, email) and type name by id: a few rows read once,
    instead of joined to every appointment."""
    places = {
        id_: (name, tz) for id_, name, tz in session.execute(select(Location.id, Location.name, Location.timezone))
    }
    providers = {None: ("", "")} | {
        id_: (name, email) for id_, name, email in session.execute(select(Provider.id, Provider.name, Provider.email))
    }
    types = {None: ""} | dict(session.execute(select(AppointmentType.id, AppointmentType.name)).all())
    return places, providers, types


def _add_customers(session: Session, customers: dict, wanted: set[int], shape, contacts: bool) -> None:
    """Shape the customers of the next rows that are not shaped yet (name, email, phone),
    masked for roles that may not see contacts."""
    missing = sorted(wanted - customers.keys())
    for i in range(0, len(missing), 10_000):
        query = select(Customer.id, Customer.name, Customer.email, Customer.phone)
        for id_, name, email, phone in session.execute(query.where(Customer.id.in_(missing[i : i + 10_000]))):
            if not contacts:
                email, phone = access.mask_email(email), access.mask_phone(phone)
            customers[id_] = shape.fields(name, email, phone)


def _as_is(value):
    return value


def _local_start(start: str, zone: ZoneInfo) -> tuple[date, str]:
    """(local date, local ISO text) of a start given as UTC ISO text."""
    local = datetime.fromisoformat(start).astimezone(zone)
    return local.date(), local.isoformat()


def iter_rows(session: Session, actor: Actor, **filters) -> Iterator[dict]:
    """The export's rows as dicts keyed by COLUMNS."""
    for values in iter_values(session, actor, **filters):
        yield dict(zip(COLUMNS, values, strict=True))


def write_csv(out, session: Session, actor: Actor, **filters) -> int:
    """Write the header and the export's rows as CSV to `out`; the number of rows."""
    out.write(",".join(COLUMNS) + "\n")
    n, lines = 0, iter_csv_lines(session, actor, **filters)
    while batch := list(islice(lines, 10_000)):  # taken 10,000 lines at a time, without a step per line here
        out.write("".join(batch))
        n += len(batch)
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
    n = write_csv(buf, session, actor, **filters)
    record_export(actor, n, filters)
    return buf.getvalue(), n


def record_export(actor: Actor, rows: int, filters: dict, deliver: Callable[[], None] | None = None) -> None:
    """The export's audit row, written before the data leaves; a database that cannot record
    it (read-only) refuses the export. `deliver` (moving the file into place) runs once the row
    is written and before it is committed: a delivery that fails leaves no row claiming it."""
    try:
        with service(actor, A.EXPORT_APPOINTMENTS, entity="appointment") as tx:
            tx.audit(action="export.appointments", after={"rows": rows, **filters})
            tx.session.flush()
            if deliver is not None:
                deliver()
    except (OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ValidationError(
            f"The export cannot be recorded in the audit log ({reason}), so nothing was exported."
        ) from None


def _write(path, session: Session, actor: Actor, fmt: str, filters: dict) -> int:
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as out:
            return write_csv(out, session, actor, **filters)
    return write_xlsx(path, iter_values(session, actor, safe=True, **filters))


def export_to(actor: Actor, target: str | None, fmt: str = "csv", **filters) -> int:
    """Export to the file `target` (None or "-": standard output) as csv or xlsx. The place is
    checked first (a folder, a missing folder or one nothing may be written in is refused before
    any work); the rows go to a temporary file beside it; the audit row is written next, and
    only then is the file moved into place (or copied out), so a refused or failed export leaves
    an existing file as it was and no audit row."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError(f"Unknown export format '{fmt}': use csv or xlsx.")
    check_window(filters.get("date_from"), filters.get("date_to"))
    to_stdout = target in (None, "-")
    with Target(Path(tempfile.gettempdir()) / f"export.{fmt}" if to_stdout else target, "export") as out:
        try:
            with reading(actor, A.EXPORT_APPOINTMENTS, entity="appointment") as session:
                n = _write(out.tmp, session, actor, fmt, filters)
        except OSError as exc:
            raise out.error(exc) from None

        def to_standard_output() -> None:
            with open(out.tmp, "rb") as src:  # type: ignore[arg-type]
                shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.buffer.flush()

        record_export(actor, n, {**filters, "format": fmt}, deliver=to_standard_output if to_stdout else out.commit)
        return n
