"""The whole configuration as one reviewable YAML file: locations with rooms, providers with
their locations, weekly hours and time off, appointment types. `export_config` writes it in a
stable order (export -> apply on an empty database -> export gives the same file);
`apply_config` shows the differences and changes only what differs, in one transaction, each
change audited. Things missing from the file are left alone (nothing is deleted), except a
provider's hours and time off, which the file lists in full."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.base.clock import resolve_now
from core.base.errors import ValidationError
from core.base.models import AppointmentType, Location, Provider, Room, TimeOff
from core.scheduling import hours
from core.scheduling.events import ProviderScheduleChanged
from core.scheduling.hours import Shift
from core.security.access import A, Actor
from core.security.service import Tx, reading, service
from core.settings.common import (
    DAY_KEYS,
    clean_email,
    clean_name,
    clean_optional,
    clean_timezone,
    clean_words,
    hhmm,
    parse_time,
)
from core.settings.locations import change_zone, clean_answer_minutes, location_state, room_state
from core.settings.providers import provider_state
from core.settings.types import FIELDS, TypeInput, clean_type, save_type_in, type_state
from core.settings.working_time import add_time_off_in, set_hours_in, shifts_text


def _hours_map(shifts: list[Shift], names: dict[int, str]) -> dict:
    out: dict[str, dict[str, list[str]]] = {}
    for s in sorted(shifts, key=lambda s: (names[s.location_id], s.weekday, s.start)):
        out.setdefault(names[s.location_id], {}).setdefault(DAY_KEYS[s.weekday], []).append(
            f"{hhmm(s.start)}-{hhmm(s.end)}"
        )
    return out


def _dump(session: Session) -> dict:
    locs = session.scalars(select(Location).options(selectinload(Location.rooms)).order_by(Location.name)).all()
    names = {loc.id: loc.name for loc in locs}
    doc: dict = {"locations": [], "providers": [], "appointment_types": []}
    for loc in locs:
        rooms = [{"name": r.name, "kind": r.kind, "active": r.active} for r in sorted(loc.rooms, key=lambda r: r.name)]
        doc["locations"].append(location_state(loc) | {"rooms": rooms})
    for p in session.scalars(select(Provider).order_by(Provider.email)):
        offs = session.scalars(
            select(TimeOff).where(TimeOff.provider_id == p.id).order_by(TimeOff.start_at, TimeOff.id)
        )
        doc["providers"].append(
            {"email": p.email} | provider_state(p)
            | {"hours": _hours_map(hours.stored_shifts(session, p.id), names),
               "time_off": [{"start": o.start_at.isoformat(), "end": o.end_at.isoformat(), "reason": o.reason}
                            for o in offs]}
        )  # fmt: skip
    for t in session.scalars(select(AppointmentType).order_by(AppointmentType.name)):
        doc["appointment_types"].append(type_state(t))
    return doc


def export_config(actor: Actor | None) -> str:
    with reading(actor, A.LOCATIONS_MANAGE, entity="configuration") as session:
        return yaml.safe_dump(_dump(session), sort_keys=False, allow_unicode=True, width=120)


@dataclass
class Changes:
    lines: list[str] = field(default_factory=list)

    def note(self, what: str, before: dict | None, after: dict) -> None:
        if before is None:
            self.lines.append(f"+ add {what}")
            return
        diffs = [f"{k}: {before.get(k)!r} -> {after[k]!r}" for k in after if before.get(k) != after[k]]
        if diffs:
            self.lines.append(f"~ change {what}: " + "; ".join(diffs))


class _DryRun(Exception):
    pass


def _list(doc: dict, key: str) -> list[dict]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationError(f"'{key}' must be a list of mappings.")
    return items


def _apply_locations(tx: Tx, doc: dict, ch: Changes) -> dict[str, Location]:
    s = tx.session
    by_name = {loc.name: loc for loc in s.scalars(select(Location).options(selectinload(Location.rooms)))}
    for item in _list(doc, "locations"):
        name = clean_name(item.get("name"), "location")
        loc = by_name.get(name)
        before = location_state(loc) if loc else None
        tz = clean_timezone(item.get("timezone"))
        if loc is None:
            loc = by_name[name] = Location(name=name, timezone=tz)
            s.add(loc)
        else:
            change_zone(tx, loc, tz)
        loc.address = clean_optional(item.get("address"), 255, "address")
        loc.active = bool(item.get("active", True))
        loc.inquiry_answer_minutes = clean_answer_minutes(item.get("inquiry_answer_minutes", 60))
        s.flush()
        _audit(tx, ch, "location", loc.id, f"location {name}", before, location_state(loc))
        rooms = {r.name: r for r in s.scalars(select(Room).where(Room.location_id == loc.id))}
        for r in item.get("rooms") or []:
            rname = clean_name(r.get("name"), "room")
            room = rooms.get(rname)
            rbefore = room_state(room) if room else None
            if room is None:
                room = Room(location_id=loc.id, name=rname)
                s.add(room)
            room.kind, room.active = (
                (clean_words([r.get("kind") or ""], "room kind") or ["room"])[0],
                bool(r.get("active", True)),
            )
            s.flush()
            _audit(tx, ch, "room", room.id, f"room {rname} at {name}", rbefore, room_state(room))
    return by_name


def _audit(tx: Tx, ch: Changes, entity: str, ident: int, what: str, before: dict | None, after: dict) -> None:
    if before != after:
        ch.note(what, before, after)
        tx.audit(entity=entity, entity_id=ident, before=before, after=after, reason="settings file applied")


def _apply_providers(tx: Tx, doc: dict, locs: dict[str, Location], ch: Changes, now: datetime) -> None:
    s = tx.session
    by_email = {p.email: p for p in s.scalars(select(Provider))}
    for item in _list(doc, "providers"):
        email = clean_email(item.get("email"))
        p = by_email.get(email)
        before = provider_state(p) if p else None
        if p is None:
            p = by_email[email] = Provider(email=email)
            s.add(p)
        p.name, p.skills = clean_name(item.get("name"), "provider"), clean_words(item.get("skills"), "skill")
        p.calendar_id, p.active = (
            clean_optional(item.get("calendar_id"), 255, "calendar id"),
            bool(item.get("active", True)),
        )
        unknown = [n for n in item.get("locations") or [] if n not in locs]
        if unknown:
            raise ValidationError(f"{p.name}: no location named {', '.join(unknown)} in the file or the database.")
        p.locations = sorted((locs[n] for n in item.get("locations") or []), key=lambda loc: loc.name)
        s.flush()
        _audit(tx, ch, "provider", p.id, f"provider {p.name}", before, provider_state(p))
        _apply_hours(tx, p, item.get("hours") or {}, locs, ch, now)
        _apply_time_off(tx, p, item.get("time_off") or [], ch, now)


def _apply_hours(tx: Tx, p: Provider, spec: dict, locs: dict[str, Location], ch: Changes, now: datetime) -> None:
    for loc in sorted({*p.locations, *(locs[n] for n in spec if n in locs)}, key=lambda loc: loc.name):
        shifts = []
        for day, ranges in (spec.get(loc.name) or {}).items():
            if day not in DAY_KEYS:
                raise ValidationError(f"{p.name} at {loc.name}: '{day}' is not a day; use {', '.join(DAY_KEYS)}.")
            for r in ranges:
                start, _, end = str(r).partition("-")
                shifts.append(Shift(loc.id, DAY_KEYS.index(day), parse_time(start), parse_time(end)))
        old = [sh for sh in hours.stored_shifts(tx.session, p.id) if sh.location_id == loc.id]
        if set_hours_in(tx, p, loc, shifts, now):
            ch.lines.append(f"~ hours of {p.name} at {loc.name}: {shifts_text(old)} -> {shifts_text(shifts)}")


def _apply_time_off(tx: Tx, p: Provider, spec: list, ch: Changes, now: datetime) -> None:
    s = tx.session
    try:
        wanted = {(datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]), o.get("reason")) for o in spec}
    except (KeyError, TypeError, ValueError):
        raise ValidationError(f"{p.name}: each time off needs start and end as ISO times with an offset.") from None
    have = {(o.start_at, o.end_at, o.reason): o for o in s.scalars(select(TimeOff).where(TimeOff.provider_id == p.id))}
    gone = sorted(set(have) - wanted, key=lambda k: k[0])
    for key in gone:
        s.delete(have[key])
        s.flush()
        tx.audit(entity="time_off", entity_id=have[key].id, before={"provider": p.name, "start": key[0], "end": key[1]},
                 reason="settings file applied")  # fmt: skip
        ch.lines.append(f"- remove time off of {p.name} {key[0].isoformat()} – {key[1].isoformat()}")
    if gone:
        tx.publish(ProviderScheduleChanged(provider_id=p.id, location_ids=tuple(x.id for x in p.locations), at=now))
    for start, end, reason in sorted(wanted - set(have), key=lambda k: k[0]):
        if start.tzinfo is None:
            raise ValidationError(f"{p.name}: time off {start.isoformat()} needs a UTC offset (e.g. +00:00).")
        add_time_off_in(tx, p, start, end, reason, now)
        ch.lines.append(f"+ add time off of {p.name} {start.isoformat()} – {end.isoformat()}")


def _apply_types(tx: Tx, doc: dict, locs: dict[str, Location], ch: Changes) -> None:
    s = tx.session
    by_name = {t.name: t for t in s.scalars(select(AppointmentType))}
    for item in _list(doc, "appointment_types"):
        unknown = [n for n in item.get("locations") or [] if n not in locs]
        if unknown:
            raise ValidationError(f"{item.get('name')}: no location named {', '.join(unknown)}.")
        data = clean_type(TypeInput(**{f: item[f] for f in FIELDS if f in item},
                                    location_ids=[locs[n].id for n in item.get("locations") or []]))  # fmt: skip
        t = by_name.get(data.name)
        before = type_state(t) if t else None
        t = save_type_in(tx, data, t.id if t else None)
        t.active = bool(item.get("active", True))
        s.flush()
        if before != type_state(t):
            ch.note(f"appointment type {t.name}", before, type_state(t))
            if before is not None and before["active"] != t.active:
                tx.audit(entity="appointment_type", entity_id=t.id, before={"active": before["active"]},
                         after={"active": t.active}, reason="settings file applied")  # fmt: skip


def apply_config(actor: Actor | None, text: str, *, dry_run: bool = False, now: datetime | None = None) -> list[str]:
    """The differences between the file and the database (and, unless `dry_run`, applied)."""
    now = resolve_now(now)
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"The settings file is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ValidationError("The settings file must be a mapping with locations, providers and appointment_types.")
    ch = Changes()
    try:
        with service(actor, A.LOCATIONS_MANAGE, entity="configuration", location_id=None) as tx:
            locs = _apply_locations(tx, doc, ch)
            _apply_providers(tx, doc, locs, ch, now)
            _apply_types(tx, doc, locs, ch)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return ch.lines
