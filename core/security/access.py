"""Roles, permissions and location scope: one answer, `can(actor, action, location_id)`,
asked by pages and services alike. Deny by default; a user with no role can do nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import Session

from core.base.errors import PermissionDenied
from core.base.models import Role, User

PUBLIC = "public"  # the role of a customer at the customer-facing door: never a user's role


class A:
    """Action names (a plain namespace so typos fail at import time, not at run time)."""

    APPOINTMENT_VIEW = "appointment.view"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_CONFIRM = "appointment.confirm"
    APPOINTMENT_CHECK_IN = "appointment.check_in"
    APPOINTMENT_COMPLETE = "appointment.complete"
    APPOINTMENT_NO_SHOW = "appointment.mark_no_show"
    APPOINTMENT_CANCEL = "appointment.cancel"
    APPOINTMENT_RESCHEDULE = "appointment.reschedule"
    APPOINTMENT_NOTE = "appointment.note"
    APPOINTMENT_OVERRIDE = "appointment.override"  # book a customer twice at once, with a reason
    WAITLIST_MANAGE = "waitlist.manage"
    CUSTOMER_VIEW = "customer.view"
    CUSTOMER_MANAGE = "customer.manage"
    CONTACTS_VIEW = "contacts.view"  # unmasked email / phone
    QUEUE_VIEW = "queue.view"
    QUEUE_RESOLVE = "queue.resolve"
    METRICS_VIEW = "metrics.view"
    EXPORT_APPOINTMENTS = "export.appointments"
    EXPORT_CONTACTS = "export.contacts"
    SETTINGS_MANAGE = "settings.manage"  # appointment types, staff, hours, waitlist policy
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    CALENDAR_MANAGE = "calendar.manage"
    LOCATIONS_MANAGE = "locations.manage"
    IMPORT_APPOINTMENTS = "import.appointments"  # bring in history from CSV (admins only)
    WEBHOOKS_MANAGE = "webhooks.manage"  # outgoing webhook endpoints and their delivery log (admins only)
    INQUIRY_VIEW = "inquiry.view"  # analysts: counts and channels, contacts masked
    INQUIRY_RECORD = "inquiry.record"  # record, book from, close
    DOOR_MANAGE = "door.manage"  # turn the customer-facing door on or off (admins only)
    INTAKE_ANSWER = "intake.answer"  # a customer answers their own appointment's intake by its link


ALL_ACTIONS: tuple[str, ...] = tuple(v for k, v in vars(A).items() if k.isupper())

# What each action lets a person do, for messages ("may not manage users").
ACTION_LABELS = {
    A.APPOINTMENT_VIEW: "see appointments", A.APPOINTMENT_BOOK: "book appointments",
    A.APPOINTMENT_CONFIRM: "confirm appointments", A.APPOINTMENT_CHECK_IN: "check customers in",
    A.APPOINTMENT_COMPLETE: "complete appointments", A.APPOINTMENT_NO_SHOW: "mark no-shows",
    A.APPOINTMENT_CANCEL: "cancel appointments", A.APPOINTMENT_RESCHEDULE: "reschedule appointments",
    A.APPOINTMENT_NOTE: "add notes to appointments", A.APPOINTMENT_OVERRIDE: "override booking rules", A.WAITLIST_MANAGE: "manage the waitlist",
    A.CUSTOMER_VIEW: "see customers", A.CUSTOMER_MANAGE: "manage customers",
    A.CONTACTS_VIEW: "see customer contact details", A.QUEUE_VIEW: "see the exceptions queue",
    A.QUEUE_RESOLVE: "resolve exceptions", A.METRICS_VIEW: "see metrics",
    A.EXPORT_APPOINTMENTS: "export appointments", A.EXPORT_CONTACTS: "export customer contact details",
    A.SETTINGS_MANAGE: "change settings", A.USERS_MANAGE: "manage users", A.AUDIT_VIEW: "see the audit log",
    A.CALENDAR_MANAGE: "manage calendar connections", A.LOCATIONS_MANAGE: "manage locations",
    A.IMPORT_APPOINTMENTS: "import appointment history", A.WEBHOOKS_MANAGE: "manage webhooks",
    A.IMPORT_APPOINTMENTS: "import appointment history", A.INQUIRY_VIEW: "see inquiries",
    A.INQUIRY_RECORD: "record inquiries", A.DOOR_MANAGE: "turn the customer-facing pages on or off",
    A.INTAKE_ANSWER: "answer an intake form by its link",
}  # fmt: skip
ROLE_LABELS = {
    Role.FRONT_DESK: "front desk", Role.PROVIDER: "provider", Role.MANAGER: "manager",
    Role.ANALYST: "analyst", Role.ADMIN: "admin",
}  # fmt: skip

_FRONT_DESK = {
    A.APPOINTMENT_VIEW, A.APPOINTMENT_BOOK, A.APPOINTMENT_CONFIRM, A.APPOINTMENT_CHECK_IN,
    A.APPOINTMENT_COMPLETE, A.APPOINTMENT_NO_SHOW, A.APPOINTMENT_CANCEL, A.APPOINTMENT_RESCHEDULE,
    A.APPOINTMENT_NOTE, A.WAITLIST_MANAGE, A.CUSTOMER_VIEW, A.CUSTOMER_MANAGE, A.CONTACTS_VIEW,
    A.QUEUE_VIEW, A.QUEUE_RESOLVE, A.INQUIRY_VIEW, A.INQUIRY_RECORD,
}  # fmt: skip

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.FRONT_DESK: frozenset(_FRONT_DESK),
    # A provider acts on their own appointments only (see `can_act_on_appointment`).
    Role.PROVIDER: frozenset(
        {
            A.APPOINTMENT_VIEW,
            A.APPOINTMENT_COMPLETE,
            A.APPOINTMENT_NO_SHOW,
            A.APPOINTMENT_NOTE,
            A.CUSTOMER_VIEW,
            A.CONTACTS_VIEW,
            A.QUEUE_VIEW,  # items about their own appointments (the queue's provider_filter)
            A.INQUIRY_VIEW,  # the inquiries behind their own appointments
        }
    ),  # fmt: skip
    Role.MANAGER: frozenset(
        _FRONT_DESK
        | {A.METRICS_VIEW, A.EXPORT_APPOINTMENTS, A.EXPORT_CONTACTS, A.SETTINGS_MANAGE, A.APPOINTMENT_OVERRIDE}
    ),
    # Read only, every location, contact details masked.
    Role.ANALYST: frozenset({A.APPOINTMENT_VIEW, A.METRICS_VIEW, A.EXPORT_APPOINTMENTS, A.QUEUE_VIEW, A.INQUIRY_VIEW}),
    Role.ADMIN: frozenset(ALL_ACTIONS),
}
# A customer at the door (core.security.door), never a user's role: a booking or a request at the
# location in the URL, as the public services decide; nothing to read.
PUBLIC_ACTIONS = frozenset({A.APPOINTMENT_BOOK, A.CUSTOMER_MANAGE, A.INQUIRY_RECORD, A.INTAKE_ANSWER})


def _actions(role: str | None) -> frozenset[str]:
    return PUBLIC_ACTIONS if role == PUBLIC else PERMISSIONS.get(role or "", frozenset())


# Roles whose scope is every location regardless of their location list.
GLOBAL_ROLES = {Role.ANALYST, Role.ADMIN}


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the database says now (never as a cookie or widget says)."""

    user_id: int | None
    username: str
    role: str | None
    location_ids: frozenset[int] | None  # None: every location
    provider_id: int | None = None
    name: str = ""
    client_address: str | None = None  # a public actor's: written into every audit row

    @property
    def all_locations(self) -> bool:
        return self.location_ids is None

    def in_scope(self, location_id: int | None) -> bool:
        if self.role is None:
            return False
        return location_id is None or self.location_ids is None or location_id in self.location_ids


SYSTEM = Actor(user_id=None, username="system", role=Role.ADMIN, location_ids=None, name="System")


def actor_for(user: User) -> Actor:
    role = user.role if user.active else None
    everywhere = role in GLOBAL_ROLES or user.all_locations
    return Actor(
        user_id=user.id,
        username=user.username,
        role=role,
        location_ids=None if everywhere else frozenset(loc.id for loc in user.locations),
        provider_id=user.provider_id,
        name=user.name,
    )


def load_actor(session: Session, user_id: int) -> Actor | None:
    """The actor for a user id, read fresh; None for an unknown or deactivated user."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return actor_for(user)


def can(actor: Actor | None, action: str, location_id: int | None = None) -> bool:
    if actor is None or actor.role is None:
        return False
    if action not in _actions(actor.role):
        return False
    return actor.in_scope(location_id)


def can_act_on_appointment(actor: Actor | None, action: str, location_id: int, provider_id: int) -> bool:
    """`can` plus the provider rule: a provider may act only on their own appointments."""
    if not can(actor, action, location_id):
        return False
    if actor.role == Role.PROVIDER:
        return actor.provider_id is not None and actor.provider_id == provider_id
    return True


def allowed_actions(actor: Actor | None) -> frozenset[str]:
    if actor is None or actor.role is None:
        return frozenset()
    return _actions(actor.role)


def sees_every_location(actor: Actor | None) -> bool:
    """Whether the actor may see every location: `location_filter` then filters nothing, and a
    read may use figures already summed over all of them."""
    return actor is not None and actor.role is not None and actor.location_ids is None


def location_filter(actor: Actor | None, column) -> ColumnElement[bool]:
    """A WHERE clause for `column` (a location id column): what the actor may see, and nothing
    by default. Push it into queries instead of filtering rows afterwards."""
    if sees_every_location(actor):
        return true()
    if actor is None or actor.role is None:
        return false()
    if not actor.location_ids:
        return false()
    return column.in_(sorted(actor.location_ids))


def provider_filter(actor: Actor | None, column) -> ColumnElement[bool]:
    """For providers: only their own rows. Everyone else: no restriction."""
    if actor is not None and actor.role == Role.PROVIDER:
        return column == actor.provider_id if actor.provider_id is not None else false()
    return true()


def require(
    actor: Actor | None,
    action: str,
    location_id: int | None = None,
    *,
    provider_id: int | None = None,
    entity: str | None = None,
    entity_id: object = None,
) -> None:
    """Raise PermissionDenied (and record the denied attempt) unless the actor may do this."""
    ok = (
        can_act_on_appointment(actor, action, location_id, provider_id)
        if provider_id is not None and location_id is not None
        else can(actor, action, location_id)
    )
    if ok:
        return
    what = ACTION_LABELS.get(action, f"do '{action}'")
    if actor is None:
        message = f"Sign in first: nobody signed in may {what}."
    elif actor.role is None:
        message = f"{actor.name or actor.username} has no role yet and may not {what}: ask an admin."
    elif action in allowed_actions(actor):
        message = f"You may not {what} here: it is outside your locations or your own appointments."
    else:
        message = f"You may not {what}: the {ROLE_LABELS.get(actor.role, actor.role)} role does not allow it."
    deny(actor, action, message, location_id=location_id, entity=entity, entity_id=entity_id)


def deny(
    actor: Actor | None,
    action: str,
    message: str,
    *,
    location_id: int | None = None,
    entity: str | None = None,
    entity_id: object = None,
) -> NoReturn:
    """Refuse with `message`. The PermissionDenied carries what to record; the service wrapper
    (core.security.service) writes it once the guarded transaction has rolled back. For rules
    beyond the permission table too, e.g. "nobody raises their own role"."""
    denial = {
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "location_id": location_id,
        "reason": message,
    }
    raise PermissionDenied(message, denial)


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    return "***-" + "".join(digits[-2:]) if digits else "***"


def roles() -> Iterable[str]:
    return [r.value for r in Role]
