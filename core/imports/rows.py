"""One CSV row to one appointment record, or `Rejected` with the reason. No database access:
everything the row needs to be looked up is in the `Catalog` (created locations included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.base.models import OPEN_STATUSES, Status
from core.imports import parse as p
from core.imports.lookups import ONE_DAY, Catalog, Place, TypeInfo
from core.imports.mapping import Mapping
from core.people import phones
from core.people.customers import EMAIL_RE

DEFAULT_CANCELLATION_WINDOW = timedelta(hours=24)  # AppointmentType's default, for rows without a type
OPEN = tuple(s.value for s in OPEN_STATUSES)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as core.reports.tabular neutralises them


class NeedsTimezone(p.ImportFileError):
    pass


@dataclass(slots=True)
class Record:
    line: int
    external_id: str
    place: Place
    provider: tuple[int, str] | None
    type: TypeInfo | None
    start_at: datetime
    day: date  # the start's local date at the location
    end_at: datetime | None
    block_start: datetime | None
    block_end: datetime | None
    status: str
    booked_at: datetime
    cancelled_at: datetime | None
    late_cancel: bool
    customer_key: tuple
    customer: dict  # name, email, phone as given (None when not given)


class RowParser:
    def __init__(self, mapping: Mapping, header: list[str], catalog: Catalog, *, create_locations: bool):
        self.mapping = mapping
        columns = p.column_indexes(header, mapping)
        # Per mapped field: its column, its table of values and its length limit, looked up once.
        self.fields = {name: (i, mapping.values.get(name), p.TEXT_LIMITS.get(name, 100)) for name, i in columns.items()}
        self.catalog = catalog
        self.create_locations = create_locations
        self.naive_zone = ZoneInfo(mapping.timezone) if mapping.timezone else None
        self.seen: dict[str, int] = {}
        self.day_zone: ZoneInfo | None = None  # the current row's location zone, for date-only values
        # Parsed dates by (field, text, zones): an export repeats its days and times row after
        # row, and strptime costs more than the rest of a row. A refusal is kept as its reason.
        self.instants: dict[tuple, datetime | tuple[str, str]] = {}
        self.days: dict[tuple, tuple[date, datetime]] = {}

    def text(self, values: list[str], name: str) -> str | None:
        """The field's value (translated by the mapping's `values`), stripped; None when blank."""
        found = self.fields.get(name)
        if found is None:
            return None
        i, table, limit = found
        if i >= len(values):
            return None
        raw = values[i].strip()
        if not raw:
            return None
        if raw[0] == "'" and raw[1:2] in FORMULA_START:
            raw = raw[1:]  # neutralised for spreadsheets by an export: the value itself follows
        if table is not None:
            raw = table.get(raw, raw).strip()
        if len(raw) > limit:
            raise p.Rejected(p.BAD_VALUE, f"{name} is longer than {limit} characters")
        return raw or None

    def external_id(self, values: list[str], line: int) -> str:
        ext = p.required(self.text(values, "external_id"), "external_id", self.mapping)
        first = self.seen.setdefault(ext, line)
        if first != line:
            raise p.Rejected(p.DUPLICATE, f"duplicate external id {ext!r} (first on line {first})")
        return ext

    def place(self, values: list[str]) -> Place:
        name = p.required(self.text(values, "location"), "location", self.mapping)
        place = self.catalog.locations.get(name.lower())
        if place is not None:
            return place
        if not self.create_locations:
            raise p.Rejected(
                p.UNKNOWN_LOCATION, f"unknown location {name!r} (import with --create-locations to add it)"
            )
        if self.mapping.timezone is None:
            raise NeedsTimezone(
                f'Location {name!r} would be created, but the mapping has no timezone for it: add "timezone".'
            )
        return self.catalog.add_location(name, self.mapping.timezone)

    def when(self, values: list[str], name: str, zone: ZoneInfo) -> datetime | None:
        raw = self.text(values, name)
        if raw is None:
            return None
        key = (name, raw, zone, self.day_zone)
        found = self.instants.get(key)
        if found is None:
            try:
                found = p.instant(raw, name, self.mapping, zone, self.day_zone)
            except p.Rejected as exc:
                found = (exc.kind, str(exc))
            self.instants[key] = found
        if isinstance(found, tuple):
            raise p.Rejected(*found)
        return found

    def named(self, values: list[str], name: str, table: dict, kind: str, hint: str):
        ref = self.text(values, name)
        if ref is None:
            return None
        found = table.get(ref.lower())
        if found is None:
            raise p.Rejected(kind, f"unknown {name.replace('_', ' ')} {ref!r} ({hint})")
        return found

    def customer(self, values: list[str], place: Place) -> tuple[tuple, dict]:
        ext = self.text(values, "customer_external_id")
        name = self.text(values, "customer_name")
        email = self.text(values, "customer_email")
        # E.164 like the desk's entries; an unreadable number is kept as given, not a reason to drop the row.
        phone = self.text(values, "customer_phone")
        if phone is not None:
            phone = phones.normalised_or_typed(phone, phones.region_for_zone(place.timezone))
        if email is not None:
            email = email.lower()
            if not EMAIL_RE.match(email):
                raise p.Rejected(p.BAD_VALUE, f"customer_email {email!r} does not look like an email address")
        if ext is None and name is None and email is None:
            raise p.Rejected(p.MISSING, "missing required field customer (customer_external_id, name or email)")
        key = ("ext", ext) if ext else ("email", email) if email else ("name", name.lower(), place.id)
        return key, {"name": name, "email": email, "phone": phone, "external_id": ext}

    def record(self, line: int, values: list[str]) -> Record:
        ext = self.external_id(values, line)
        place = self.place(values)
        zone = self.naive_zone or place.zone
        self.day_zone = place.zone
        start = self.when(values, "start", zone)
        if start is None:
            p.required(None, "start", self.mapping)
        status = p.status(self.text(values, "status"), self.mapping)
        provider = self.named(
            values, "provider", self.catalog.providers, p.UNKNOWN_PROVIDER, "no provider has this name or email"
        )
        atype = self.named(
            values, "appointment_type", self.catalog.types, p.UNKNOWN_TYPE, "no appointment type has this name"
        )
        end = self.end(values, start, zone)
        booked = self.when(values, "booked_at", zone) or start
        day, next_day = self.local_day(start, place.zone)
        # Booked before the first instant of the next local date: on this date or before it.
        if booked >= next_day and (booked_day := p.local_date(booked, place.zone)) > day:
            raise p.Rejected(p.BOOKED_AFTER, f"appointment date {day} is before its booking date {booked_day}")
        cancelled = self.when(values, "cancelled_at", zone)
        if cancelled is not None and status != Status.CANCELLED:
            raise p.Rejected(p.BAD_VALUE, f"cancelled_at is given but the status is {status}")
        if status in OPEN:
            missing = [n for n, v in (("provider", provider), ("appointment_type", atype), ("end", end)) if v is None]
            if missing:
                raise p.Rejected(
                    p.MISSING,
                    f"missing required field {missing[0]}: a {status} appointment is on the schedule, so it needs "
                    "a provider, an appointment type and an end or duration",
                )
        block_start = block_end = None
        if end is not None:
            block_start = start - (atype.buffer_before if atype else timedelta())
            block_end = end + (atype.buffer_after if atype else timedelta())
            if block_end - block_start > ONE_DAY:
                raise p.Rejected(p.BAD_VALUE, "the appointment with its buffers lasts more than a day")
        window = atype.cancellation_window if atype else DEFAULT_CANCELLATION_WINDOW
        key, customer = self.customer(values, place)
        return Record(
            line=line, external_id=ext, place=place, provider=provider, type=atype, start_at=start, day=day, end_at=end,
            block_start=block_start, block_end=block_end, status=status, booked_at=booked, cancelled_at=cancelled,
            late_cancel=cancelled is not None and start - cancelled < window, customer_key=key, customer=customer,
        )  # fmt: skip

    def local_day(self, at: datetime, zone: ZoneInfo) -> tuple[date, datetime]:
        """The local date of `at` and the first instant of the next local date (once per instant
        and zone: a file's starts repeat). Midnight's first occurrence (fold 0) is that instant,
        also when midnight is skipped or repeated by a change of offset."""
        found = self.days.get((at, zone))
        if found is None:
            day = p.local_date(at, zone)
            after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
            found = self.days[(at, zone)] = (day, after)
        return found

    def end(self, values: list[str], start: datetime, zone: ZoneInfo) -> datetime | None:
        if self.mapping.has("end"):
            end = self.when(values, "end", zone)
            if end is None:
                return None
            if end <= start:
                raise p.Rejected(p.BAD_VALUE, f"end {self.text(values, 'end')!r} is not after the start")
            if end - start > ONE_DAY:
                raise p.Rejected(p.BAD_VALUE, "the appointment lasts more than a day")
            return end
        minutes = p.duration(self.text(values, "duration_minutes"))
        return start + minutes if minutes else None
