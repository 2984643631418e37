"""Appointment types: duration, buffers, notice, horizon, cancellation window, capacity,
required skills and room kind, intake fields, the locations that offer it, active. Managers
change types offered only at their locations; a type offered everywhere (no locations listed)
is for admins. Validation speaks the manager's language ("Buffer after cannot be negative")
and refuses a type nobody could deliver ("No provider at Downtown has the skill 'dietitian'")."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.base.clock import resolve_now
from core.base.errors import ConflictError, ValidationError
from core.base.models import OPEN_STATUSES, Appointment, AppointmentType, Location, Provider, Room, WaitlistEntry
from core.security import access
from core.security.access import A, Actor
from core.security.service import Tx, reading, service
from core.settings.common import clean_name, clean_words, locations_by_id, non_negative, require_each

INTAKE_KINDS = ("text", "long_text", "number", "date", "yes_no")
ROUTING = ("round_robin", "least_booked")
MAX_DURATION_MIN = 12 * 60


@dataclass
class TypeInput:
    name: str
    duration_min: int
    buffer_before_min: int = 0
    buffer_after_min: int = 0
    min_notice_min: int = 0
    horizon_days: int = 60
    cancellation_window_hours: int = 24
    reschedule_notice_hours: int = 0
    capacity: int = 1
    required_skills: list[str] = field(default_factory=list)
    room_kind: str | None = None
    intake_fields: list[dict] = field(default_factory=list)
    routing_policy: str = "round_robin"
    color: str | None = None
    location_ids: list[int] = field(default_factory=list)  # empty: offered at every location


@dataclass(frozen=True)
class TypeView:
    id: int
    active: bool
    locations: tuple[str, ...]
    data: TypeInput


FIELDS = [f for f in TypeInput.__dataclass_fields__ if f != "location_ids"]


def type_state(t: AppointmentType) -> dict:
    """The type as settings see it: skills sorted, intake fields with their kind (rows written
    before settings existed compare equal to the same type saved through settings)."""
    state = {f: getattr(t, f) for f in FIELDS}
    state["required_skills"] = sorted(state["required_skills"] or [])
    with suppress(ValidationError):  # otherwise shown as stored; saving it says what is wrong
        state["intake_fields"] = clean_intake(state["intake_fields"])
    return state | {"active": t.active, "locations": [loc.name for loc in t.locations]}


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "field"


def clean_intake(fields: list[dict]) -> list[dict]:
    out, names = [], set()
    for i, f in enumerate(fields or [], start=1):
        label = " ".join(str(f.get("label") or "").split())
        if not label:
            raise ValidationError(f"Intake field {i} has no label: say what to ask.")
        kind = f.get("kind") or "text"
        if kind not in INTAKE_KINDS:
            raise ValidationError(f"Intake field '{label}' has kind '{kind}'; choose one of {', '.join(INTAKE_KINDS)}.")
        name = _slug(str(f.get("name") or label))
        if name in names:
            raise ValidationError(f"Two intake fields are both called '{name}': give them different labels.")
        names.add(name)
        out.append({"name": name, "label": label, "kind": kind, "required": bool(f.get("required"))})
    return out


def clean_type(data: TypeInput) -> TypeInput:
    d = TypeInput(**asdict(data))
    d.name = clean_name(d.name, "appointment type")
    if d.duration_min is None or d.duration_min < 1:
        raise ValidationError("Duration must be at least 1 minute.")
    if d.duration_min > MAX_DURATION_MIN:
        raise ValidationError(f"Duration can be at most {MAX_DURATION_MIN // 60} hours.")
    d.buffer_before_min = non_negative(d.buffer_before_min, "Buffer before")
    d.buffer_after_min = non_negative(d.buffer_after_min, "Buffer after")
    if d.duration_min + d.buffer_before_min + d.buffer_after_min > 24 * 60:
        raise ValidationError("Duration plus buffers must fit in one day.")
    d.min_notice_min = non_negative(d.min_notice_min, "Minimum notice")
    d.horizon_days = non_negative(d.horizon_days, "Booking horizon")
    if d.horizon_days < 1:
        raise ValidationError("Booking horizon must be at least 1 day, or nobody could book it.")
    d.cancellation_window_hours = non_negative(d.cancellation_window_hours, "Cancellation window")
    d.reschedule_notice_hours = non_negative(d.reschedule_notice_hours, "Reschedule notice")
    if d.capacity is None or d.capacity < 1:
        raise ValidationError("Capacity must be at least 1 (1 = one customer at a time).")
    d.required_skills = clean_words(d.required_skills, "skill")
    kinds = clean_words([d.room_kind or ""], "room kind")
    d.room_kind = kinds[0] if kinds else None
    d.intake_fields = clean_intake(d.intake_fields)
    if d.routing_policy not in ROUTING:
        raise ValidationError(f"Routing must be one of {', '.join(ROUTING)}.")
    d.color = (d.color or "").strip() or None
    return d


def _skills_text(skills: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in skills)


def check_deliverable(session: Session, d: TypeInput) -> None:
    """Somebody can deliver it at each location that offers it (everywhere: at one location at least)."""
    if d.location_ids:
        places = locations_by_id(session, d.location_ids)
    else:
        places = list(session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.name)))
    problems = []
    for loc in places:
        providers = session.scalars(
            select(Provider).where(Provider.active.is_(True), Provider.locations.any(id=loc.id))
        ).all()
        if d.required_skills and not any(set(d.required_skills) <= set(p.skills or []) for p in providers):
            words = "the skill" if len(d.required_skills) == 1 else "the skills"
            problems.append(
                f"No provider at {loc.name} has {words} {_skills_text(d.required_skills)} {d.name} requires."
            )
            continue
        if d.room_kind and not session.scalar(
            select(Room.id).where(Room.location_id == loc.id, Room.kind == d.room_kind, Room.active.is_(True)).limit(1)
        ):
            problems.append(f"{loc.name} has no '{d.room_kind}' room, which {d.name} needs.")
    if problems and (d.location_ids or len(problems) == len(places)):
        raise ValidationError(problems[0] if d.location_ids else f"{problems[0]} (nor at any other location)")


def list_types(actor: Actor | None, *, search: str = "", include_inactive: bool = False) -> list[TypeView]:
    """Types the actor may change: all for every-location actors; for managers, those offered
    only at their locations, and read-only those offered there too."""
    with reading(actor, A.SETTINGS_MANAGE, entity="appointment_type") as session:
        q = select(AppointmentType).options(selectinload(AppointmentType.locations)).order_by(AppointmentType.name)
        if not include_inactive:
            q = q.where(AppointmentType.active.is_(True))
        if term := search.strip():
            q = q.where(AppointmentType.name.ilike(f"%{term}%"))
        out = []
        for t in session.scalars(q):
            ids = [loc.id for loc in t.locations]
            if ids and not any(actor.in_scope(i) for i in ids) and not actor.all_locations:
                continue
            data = TypeInput(**{f: getattr(t, f) for f in FIELDS}, location_ids=ids)
            out.append(TypeView(t.id, t.active, tuple(loc.name for loc in t.locations), data))
        return out


def can_change(actor: Actor | None, view: TypeView) -> bool:
    if not access.can(actor, A.SETTINGS_MANAGE):
        return False
    return actor.all_locations if not view.data.location_ids else all(actor.in_scope(i) for i in view.data.location_ids)


def save_type_in(tx: Tx, d: TypeInput, type_id: int | None) -> AppointmentType:
    s = tx.session
    clash = s.scalar(select(AppointmentType.id).where(func.lower(AppointmentType.name) == d.name.lower()))
    if clash is not None and clash != type_id:
        raise ConflictError(f"There is already an appointment type named {d.name}.")
    if type_id is None:
        t, before = AppointmentType(active=True), None
    else:
        t = tx.get(AppointmentType, type_id, what="appointment type")
        before = type_state(t)
        require_each(tx, [loc.id for loc in t.locations], everywhere_if_empty=True)
    require_each(tx, d.location_ids, everywhere_if_empty=True)
    if type_id is None or t.active:
        check_deliverable(s, d)
    for f in FIELDS:
        setattr(t, f, getattr(d, f))
    t.locations = locations_by_id(s, d.location_ids)
    s.add(t)
    s.flush()
    tx.entity_id = t.id
    if before != type_state(t):
        tx.audit(before=before, after=type_state(t), reason="added" if before is None else "changed")
    return t


def save_type(actor: Actor | None, data: TypeInput, *, type_id: int | None = None) -> int:
    d = clean_type(data)
    with service(actor, A.SETTINGS_MANAGE, entity="appointment_type", entity_id=type_id) as tx:
        return save_type_in(tx, d, type_id).id


@dataclass(frozen=True)
class DeactivationPreview:
    upcoming: int  # open appointments from now on: they stay booked
    waiting: int  # waitlist entries still waiting or offered for it
    message: str


def deactivate_type_preview(actor: Actor | None, type_id: int, *, now: datetime | None = None) -> DeactivationPreview:
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, entity="appointment_type", entity_id=type_id) as s:
        t = s.get(AppointmentType, type_id)
        if t is None:
            raise ValidationError(f"Unknown appointment type #{type_id}.")
        upcoming = s.scalar(
            select(func.count(Appointment.id)).where(
                Appointment.type_id == type_id,
                Appointment.status.in_([x.value for x in OPEN_STATUSES]),
                Appointment.end_at > now,
            )
        )
        waiting = s.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.type_id == type_id, WaitlistEntry.status.in_(["waiting", "offered"])
            )
        )
    message = (
        f"{t.name} will no longer be bookable. {upcoming} upcoming appointments keep their booking"
        f" and {waiting} waitlist entries stay open until someone handles them. You can reactivate it later."
    )
    return DeactivationPreview(upcoming or 0, waiting or 0, message)


def set_type_active(actor: Actor | None, type_id: int, active: bool) -> None:
    with service(actor, A.SETTINGS_MANAGE, entity="appointment_type", entity_id=type_id) as tx:
        t = tx.get(AppointmentType, type_id, what="appointment type")
        require_each(tx, [loc.id for loc in t.locations], everywhere_if_empty=True)
        if t.active == active:
            return
        before = type_state(t)
        if active:
            check_deliverable(tx.session, TypeInput(**{f: getattr(t, f) for f in FIELDS},
                                                    location_ids=[loc.id for loc in t.locations]))  # fmt: skip
        t.active = active
        tx.audit(before=before, after=type_state(t), reason="reactivated" if active else "deactivated")
