"""Reading the CSV and parsing one row's values. A problem with the file as a whole (encoding,
no rows, a mapped column missing from the header) is fatal; a problem with one row is a
`Rejection` with its CSV line number (the header is line 1) and a sentence."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.base.errors import ValidationError
from core.base.models import Status
from core.imports.mapping import Mapping

FIRST_YEAR, LAST_YEAR = 1900, 2200
MAX_DURATION_MIN = 24 * 60
STATUSES = tuple(s.value for s in Status)
TEXT_LIMITS = {
    "external_id": 120, "customer_external_id": 120, "customer_name": 200, "customer_email": 255,
    "customer_phone": 40, "location": 120, "provider": 255, "appointment_type": 120,
}  # fmt: skip

# Reason kinds, as the summary groups them.
MISSING = "missing required field"
BAD_DATE = "unparseable date"
DATE_RANGE = "date out of range"
BAD_STATUS = "unknown status value"
BOOKED_AFTER = "appointment before its booking date"
DUPLICATE = "duplicate external id"
UNKNOWN_LOCATION = "unknown location"
UNKNOWN_PROVIDER = "unknown provider"
UNKNOWN_TYPE = "unknown appointment type"
OVERLAP = "overlap with an existing appointment"
BAD_VALUE = "invalid value"


class ImportFileError(ValidationError):
    """The file cannot be imported at all (fatal: nothing is written)."""


class Rejected(Exception):
    """One row is refused: `kind` groups it in the summary, str() is the sentence."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Rejection:
    line: int
    kind: str
    message: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number of the row's first line, values)


def read_csv(data: bytes, mapping: Mapping, name: str = "the file") -> CsvFile:
    """The header and rows, or ImportFileError naming what is wrong with the file."""
    if not data.strip():
        raise ImportFileError(f"{name} is empty: there is nothing to import.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}): "
            "save it as 'CSV UTF-8' and try again."
        ) from None
    if "\x00" in text:
        raise ImportFileError(f"{name} contains NUL bytes: it is not a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num + 1
        for values in reader:
            if (values and values[0].strip()) or "".join(values).strip():  # the first field: most rows end here
                rows.append((line, values))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"{name} is not valid CSV near line {reader.line_num}: {exc}.") from None
    missing = [f"{col!r} (for {fld})" for fld, col in mapping.columns.items() if col not in header]
    if missing:
        raise ImportFileError(
            f"{name} has no column {', '.join(missing)}; its header has: {', '.join(repr(h) for h in header)}."
        )
    if not rows:
        raise ImportFileError(f"{name} has a header but no rows: there is nothing to import.")
    return CsvFile(header=header, rows=rows)


def column_indexes(header: list[str], mapping: Mapping) -> dict[str, int]:
    return {fld: header.index(col) for fld, col in mapping.columns.items()}


def required(value: str | None, name: str, mapping: Mapping) -> str:
    if value is None:
        raise Rejected(MISSING, f"missing required field {name} (column {mapping.columns[name]!r})")
    return value


def status(value: str | None, mapping: Mapping) -> str:
    value = required(value, "status", mapping)
    normal = value.lower().replace("-", "_").replace(" ", "_")
    if normal not in STATUSES:
        raise Rejected(
            BAD_STATUS,
            f"unknown status value {value!r} (expected {', '.join(STATUSES)}; map the source's words in values.status)",
        )
    return normal


def instant(value: str, name: str, mapping: Mapping, zone: ZoneInfo, day_zone: ZoneInfo | None = None) -> datetime:
    """A UTC instant from a date or date-time. Naive values are in `zone`; a date, or a naive
    time at midnight, is that calendar date at the location (midnight in `day_zone`); a value
    with an offset or Z keeps it."""
    fmt = mapping.formats.get(name)
    try:
        parsed = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    except ValueError:
        how = f"the format {fmt!r}" if fmt else "ISO 8601 such as 2016-04-28 or 2016-04-28T09:30"
        raise Rejected(BAD_DATE, f"{name} {value!r} is not a date in {how}") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise Rejected(DATE_RANGE, f"{name} {value!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}")
    if parsed.tzinfo is None:
        midnight = parsed.hour == parsed.minute == parsed.second == parsed.microsecond == 0
        parsed = parsed.replace(tzinfo=(day_zone or zone) if midnight else zone)
    return parsed.astimezone(UTC)


def duration(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not minutes.is_integer() or not 0 < minutes <= MAX_DURATION_MIN:
        raise Rejected(BAD_VALUE, f"duration_minutes {value!r} is not a whole number of minutes from 1 to 1440")
    return timedelta(minutes=int(minutes))


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def iter_reasons(rejections: list[Rejection], per_kind: int = 3) -> Iterator[tuple[str, int, list[str]]]:
    """(kind, count, first lines) per reason, most frequent first."""
    groups: dict[str, list[Rejection]] = {}
    for r in rejections:
        groups.setdefault(r.kind, []).append(r)
    for kind, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        yield kind, len(items), [str(r) for r in items[:per_kind]]
