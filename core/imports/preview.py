"""What the import page shows before anything is written: the file's columns with a guessed
mapping, the distinct values of a column (to map a source's status words), and the first rows
as the importer reads them (parsed values, or the reason a row would be rejected)."""

from __future__ import annotations

import csv
import io
import re

from core.base.tz import to_local
from core.imports import parse as p
from core.imports.lookups import Catalog
from core.imports.mapping import FIELDS, Mapping
from core.imports.rows import RowParser
from core.security.access import A, Actor
from core.security.service import reading

# Words a column header often uses for each field (lower case, without punctuation).
HINTS = {
    "external_id": ("external id", "appointment id", "visit id", "booking id", "id", "visit", "ref"),
    "customer_external_id": ("customer id", "patient id", "client id", "customer no", "patient no", "mrn"),
    "customer_name": ("customer", "patient", "client", "name", "customer name", "patient name"),
    "customer_email": ("email", "e mail", "customer email", "patient email"),
    "customer_phone": ("phone", "mobile", "telephone", "customer phone"),
    "location": ("location", "clinic", "site", "branch", "office"),
    "provider": ("provider", "doctor", "clinician", "practitioner", "staff", "provider email"),
    "appointment_type": ("type", "appointment type", "service", "visit type"),
    "start": ("start", "date", "start utc", "appointment date", "when", "start time"),
    "end": ("end", "end utc", "end time"),
    "duration_minutes": ("duration", "minutes", "length", "duration minutes"),
    "booked_at": ("booked", "booked at", "booked at utc", "booking date", "created", "created at"),
    "status": ("status", "outcome", "result", "attended", "showed"),
    "cancelled_at": ("cancelled", "cancelled at", "cancelled on", "cancelled at utc", "cancellation date"),
}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def guess_columns(header: list[str]) -> dict[str, str]:
    """A first mapping from the header's names: each field to the column whose name is one of
    its usual words (the first word listed wins), each column used once."""
    normal = {_norm(h): h for h in header}
    out: dict[str, str] = {}
    used: set[str] = set()
    for field in FIELDS:
        for hint in HINTS.get(field, ()):
            column = normal.get(hint)
            if column is not None and column not in used:
                out[field] = column
                used.add(column)
                break
    if "end" in out and "duration_minutes" in out:
        del out["duration_minutes"]
    return out


def read_header(data: bytes, name: str = "the file") -> tuple[list[str], list[list[str]], int]:
    """The header, the first five rows and the number of rows; ImportFileError for a file that
    cannot be read at all."""
    csv_file = p.read_csv(data, Mapping(columns={}), name)
    return csv_file.header, [values for _, values in csv_file.rows[:5]], len(csv_file.rows)


def distinct_values(data: bytes, column: str, limit: int = 30) -> list[str]:
    """The distinct non-blank values of one column, most frequent first (at most `limit`)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    if column not in header:
        return []
    i = header.index(column)
    counts: dict[str, int] = {}
    for values in reader:
        if i < len(values) and values[i].strip():
            counts[values[i].strip()] = counts.get(values[i].strip(), 0) + 1
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def preview(
    actor: Actor, data: bytes, mapping: Mapping, *, rows: int = 8, create_locations: bool = False
) -> list[dict]:
    """The first rows as the import reads them: local times at their location, or the reason
    the row would be rejected (overlaps are checked by the dry run, not here)."""
    csv_file = p.read_csv(data, mapping)
    with reading(actor, A.IMPORT_APPOINTMENTS, entity="import") as session:
        parser = RowParser(mapping, csv_file.header, Catalog.load(session), create_locations=create_locations)
    out = []
    for line, values in csv_file.rows[:rows]:
        try:
            r = parser.record(line, values)
        except p.Rejected as exc:
            out.append({"line": line, "problem": str(exc)})
            continue
        tz = r.place.timezone
        out.append({
            "line": line, "external id": r.external_id, "location": r.place.name + (" (new)" if r.place.id < 0 else ""),
            "customer": r.customer["name"] or f"Customer {r.customer['external_id'] or r.customer['email']}",
            "provider": r.provider[1] if r.provider else "—", "type": r.type.name if r.type else "—",
            "start (local)": f"{to_local(r.start_at, tz):%Y-%m-%d %H:%M}",
            "minutes": str(int((r.end_at - r.start_at).total_seconds() // 60)) if r.end_at else "",
            "status": r.status, "booked (local)": f"{to_local(r.booked_at, tz):%Y-%m-%d}",
            "late cancel": "yes" if r.late_cancel else "", "problem": "",
        })  # fmt: skip
    return out
