"""The import mapping: which CSV column holds which field, how the source's words translate to
ours, which time zone naive timestamps are in, and how dates are written (docs/import.md).

    {"columns": {FIELD: CSV_COLUMN, ...},
     "values": {FIELD: {CSV_VALUE: APP_VALUE}},
     "timezone": IANA_NAME,
     "formats": {FIELD: STRPTIME_FORMAT}}

A wrong mapping is a fatal error with one sentence naming what is wrong: nothing is imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.base.errors import ValidationError

FIELDS = (
    "external_id", "customer_external_id", "customer_name", "customer_email", "customer_phone", "location",
    "provider", "appointment_type", "start", "end", "duration_minutes", "booked_at", "status", "cancelled_at",
)  # fmt: skip
DATE_FIELDS = ("start", "end", "booked_at", "cancelled_at")
REQUIRED = ("external_id", "location", "start", "status")
CUSTOMER_FIELDS = ("customer_external_id", "customer_name", "customer_email")


class MappingError(ValidationError):
    """The mapping file itself is wrong (fatal: nothing is imported)."""


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    timezone: str | None = None
    formats: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.columns

    def translate(self, name: str, raw: str) -> str:
        """The app's value for the source's `raw` value of field `name` (itself when unmapped)."""
        table = self.values.get(name)
        if table is None:
            return raw
        if raw in table:
            return table[raw]
        return table.get(raw.strip(), raw)

    def to_json(self) -> str:
        data: dict = {"columns": self.columns}
        if self.values:
            data["values"] = self.values
        if self.timezone:
            data["timezone"] = self.timezone
        if self.formats:
            data["formats"] = self.formats
        return json.dumps(data, indent=2, ensure_ascii=False)


def _strings(obj: object, what: str) -> dict[str, str]:
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
        raise MappingError(f'The mapping\'s "{what}" must be an object of text to text.')
    return dict(obj)


def _known(names, what: str) -> None:
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise MappingError(
            f'The mapping\'s "{what}" names unknown field {", ".join(repr(u) for u in unknown)}; '
            f"fields are: {', '.join(FIELDS)}."
        )


def parse_mapping(data: object) -> Mapping:
    """A Mapping from decoded JSON, or MappingError with the first thing wrong."""
    if not isinstance(data, dict):
        raise MappingError('The mapping must be a JSON object with a "columns" object.')
    extra = sorted(set(data) - {"columns", "values", "timezone", "formats"})
    if extra:
        raise MappingError(
            f"The mapping has unknown key {', '.join(repr(e) for e in extra)}; "
            'keys are "columns", "values", "timezone" and "formats".'
        )
    columns = {k: v for k, v in _strings(data.get("columns", {}), "columns").items() if v.strip()}
    _known(columns, "columns")
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise MappingError(f"The mapping does not say which column holds {', '.join(missing)} (required).")
    if not any(f in columns for f in CUSTOMER_FIELDS):
        raise MappingError(
            "The mapping names no column for the customer: map customer_external_id, customer_name or customer_email."
        )
    if "end" in columns and "duration_minutes" in columns:
        raise MappingError("The mapping names both end and duration_minutes: keep one.")
    raw_values = data.get("values", {})
    if not isinstance(raw_values, dict):
        raise MappingError('The mapping\'s "values" must be an object of field -> {source value: app value}.')
    _known(raw_values, "values")
    values = {name: _strings(table, f"values.{name}") for name, table in raw_values.items()}
    formats = _strings(data.get("formats", {}), "formats")
    _known(formats, "formats")
    for name, fmt in formats.items():
        if name not in DATE_FIELDS:
            raise MappingError(f"A format is given for {name}, which is not a date field ({', '.join(DATE_FIELDS)}).")
        try:
            datetime.strftime(datetime(2001, 2, 3, 4, 5, 6), fmt)
        except ValueError as exc:
            raise MappingError(f"The format for {name} ({fmt!r}) is not a strptime format: {exc}.") from None
    timezone = data.get("timezone")
    if timezone is not None:
        if not isinstance(timezone, str) or not timezone.strip():
            raise MappingError('The mapping\'s "timezone" must be an IANA name such as "Europe/London".')
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"Unknown time zone {timezone!r}: use an IANA name such as 'Europe/London'.") from None
    return Mapping(columns=columns, values=values, timezone=timezone, formats=formats)


def load_mapping(text: str) -> Mapping:
    """Parse a mapping file's text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError(
            f"The mapping is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    return parse_mapping(data)
