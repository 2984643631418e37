"""Providers: name, email, skills, calendar id, the locations they work at, active.
Managers change providers who work at one of their locations and may add or remove only their
own locations; admins change any. A provider with upcoming appointments at a location keeps it
(and stays active) until those appointments have moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from core.base.clock import resolve_now
from core.base.errors import ConflictError, ValidationError
from core.base.models import OPEN_STATUSES, Appointment, Provider, WorkingHours, provider_locations
from core.scheduling.events import ProviderScheduleChanged
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading, service
from core.settings.common import (
    clean_email,
    clean_name,
    clean_optional,
    clean_words,
    locations_by_id,
    require_each,
    require_some,
)


@dataclass(frozen=True)
class ProviderView:
    id: int
    name: str
    email: str
    skills: tuple[str, ...]
    calendar_id: str | None
    active: bool
    locations: tuple[str, ...]
    location_ids: tuple[int, ...]
    weekly_hours: float  # scheduled hours a week, all locations


def provider_state(p: Provider) -> dict:
    return {
        "name": p.name, "email": p.email, "skills": sorted(p.skills or []), "calendar_id": p.calendar_id,
        "active": p.active, "locations": [loc.name for loc in p.locations],
    }  # fmt: skip


def in_scope_query(actor: Actor | None):
    """Providers the actor may see in settings: those at one of their locations (admins and
    other every-location actors: all, including providers not placed anywhere yet)."""
    if actor is not None and actor.all_locations and actor.role is not None:
        return select(Provider)
    here = (
        select(provider_locations.c.provider_id)
        .where(
            provider_locations.c.provider_id == Provider.id,
            access.location_filter(actor, provider_locations.c.location_id),
        )
        .exists()
    )
    return select(Provider).where(here)


def _view(p: Provider) -> ProviderView:
    minutes = sum(
        (h.end_time.hour * 60 + h.end_time.minute) - (h.start_time.hour * 60 + h.start_time.minute)
        for h in p.working_hours
    )
    return ProviderView(
        p.id, p.name, p.email, tuple(p.skills or ()), p.calendar_id, p.active,
        tuple(loc.name for loc in p.locations), tuple(loc.id for loc in p.locations), round(minutes / 60, 2),
    )  # fmt: skip


def list_providers(
    actor: Actor | None, *, search: str = "", include_inactive: bool = False, location_id: int | None = None
) -> list[ProviderView]:
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="provider") as session:
        q = in_scope_query(actor).options(selectinload(Provider.locations), selectinload(Provider.working_hours))
        if not include_inactive:
            q = q.where(Provider.active.is_(True))
        if location_id is not None:
            q = q.where(Provider.locations.any(id=location_id))
        found = [_view(p) for p in session.scalars(q.order_by(Provider.name, Provider.id))]
    return search_providers(found, search)  # skills are a JSON list: matched here, not in SQL


def search_providers(views: list[ProviderView], term: str) -> list[ProviderView]:
    """Name, email, skill or location contains `term` (for the settings list's search box)."""
    t = term.strip().lower()
    if not t:
        return views
    return [v for v in views if any(t in x.lower() for x in (v.name, v.email, *v.skills, *v.locations))]


def upcoming_at(session: Session, provider_id: int, now: datetime, location_id: int | None = None) -> int:
    q = select(func.count(Appointment.id)).where(
        Appointment.provider_id == provider_id,
        Appointment.status.in_([s.value for s in OPEN_STATUSES]),
        Appointment.end_at > now,
    )
    if location_id is not None:
        q = q.where(Appointment.location_id == location_id)
    return session.scalar(q) or 0


def save_provider(
    actor: Actor | None,
    *,
    provider_id: int | None = None,
    name: str,
    email: str,
    skills: list[str] | str = (),
    calendar_id: str | None = None,
    location_ids: list[int] = (),
    now: datetime | None = None,
) -> int:
    """Add a provider (no id) or change one; returns the id. Hours at a location the provider
    leaves are removed with it."""
    now = resolve_now(now)
    name, email = clean_name(name, "provider"), clean_email(email)
    skills, calendar_id = clean_words(skills, "skill"), clean_optional(calendar_id, 255, "calendar id")
    wanted = set(location_ids)
    with service(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as tx:
        s = tx.session
        clash = s.scalar(select(Provider.id).where(func.lower(Provider.email) == email))
        if clash is not None and clash != provider_id:
            raise ConflictError(f"Another provider already uses {email}.")
        new_locations = locations_by_id(s, wanted)
        if provider_id is None:
            if not wanted and not (actor and actor.all_locations):
                raise ValidationError("Choose at least one of your locations for the new provider.")
            require_each(tx, wanted)
            p, before, old = Provider(name=name, email=email, active=True), None, set()
            s.add(p)
        else:
            p = tx.get(Provider, provider_id, what="provider")
            before, old = provider_state(p), {loc.id for loc in p.locations}
            require_some(tx, old)
            require_each(tx, old ^ wanted)
            for gone in locations_by_id(s, old - wanted):
                if n := upcoming_at(s, p.id, now, gone.id):
                    raise ValidationError(
                        f"{p.name} has {n} upcoming appointments at {gone.name}: move them before removing the location."
                    )
            if old - wanted:
                s.execute(
                    delete(WorkingHours).where(
                        WorkingHours.provider_id == p.id, WorkingHours.location_id.in_(old - wanted)
                    )
                )
                tx.publish(ProviderScheduleChanged(provider_id=p.id, location_ids=tuple(sorted(old - wanted)), at=now))
        p.name, p.email, p.skills, p.calendar_id = name, email, skills, calendar_id
        p.locations = new_locations
        s.flush()
        tx.entity_id = p.id
        if before != provider_state(p):
            tx.audit(before=before, after=provider_state(p), reason="added" if before is None else "changed")
        return p.id


def set_provider_active(actor: Actor | None, provider_id: int, active: bool, *, now: datetime | None = None) -> None:
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as tx:
        p = tx.get(Provider, provider_id, what="provider")
        require_some(tx, [loc.id for loc in p.locations])
        if p.active == active:
            return
        if not active and (n := upcoming_at(tx.session, p.id, now)):
            raise ValidationError(
                f"{p.name} has {n} upcoming appointments: move them (or use 'out sick' for today) before deactivating."
            )
        before = provider_state(p)
        p.active = active
        tx.audit(before=before, after=provider_state(p), reason="reactivated" if active else "deactivated")
