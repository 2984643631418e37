"""Finding and creating customers, within the actor's locations.

A customer is in an actor's scope when their home location is one of the actor's locations or
they have an appointment there (a provider: an appointment with them)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from core.base import limits
from core.base.clock import resolve_now, utcnow
from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.models import Appointment, Customer, Location, Role
from core.base.tz import to_local
from core.people import phones
from core.people.events import CustomerCreated, CustomerUpdated
from core.security import access, audit
from core.security.access import A, Actor
from core.security.service import Tx, reading, service

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_CHARS_RE = re.compile(r"^[0-9+()\-. ]+$")
# A search looks in phone numbers only when it could be part of one: phone characters only,
# with at least this many digits ("amelia.ali607" is an email, not a phone).
MIN_SEARCH_DIGITS = 4
# Characters people type between phone digits; stripped before comparing digits (numbers are
# stored as E.164, but rows that did not read as a number were kept as typed).
_PHONE_SEPARATORS = (" ", "-", "+", "(", ")", ".")


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    email: str | None
    phone: str | None
    home_location_id: int | None
    last_visit: str | None = None  # "last visit Mon 30 Nov": set where two found share a name

    @property
    def label(self) -> str:
        """'Ada Lovelace · ada@example.test · +1 212-555-0147', for pickers (and the last visit
        where another customer found has the same name)."""
        return " · ".join(p for p in (self.name, self.email, phones.display(self.phone), self.last_visit) if p)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _phone_digits_sql(column) -> ColumnElement:
    expr = column
    for sep in _PHONE_SEPARATORS:
        expr = func.replace(expr, sep, "")
    return expr


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def scope_clause(actor: Actor | None) -> ColumnElement[bool]:
    """Customers the actor may find: home location in scope, or an appointment in scope."""
    has_appointment = exists(
        select(Appointment.id).where(
            Appointment.customer_id == Customer.id,
            access.location_filter(actor, Appointment.location_id),
            access.provider_filter(actor, Appointment.provider_id),
        )
    )
    if actor is not None and actor.role == Role.PROVIDER:
        return has_appointment
    if actor is not None and actor.role is not None and actor.all_locations:
        return access.location_filter(actor, Customer.home_location_id)  # true()
    return or_(access.location_filter(actor, Customer.home_location_id), has_appointment)


def search_customers(actor: Actor, query: str, *, limit: int = 20, now: datetime | None = None) -> list[CustomerView]:
    """Customers in the actor's scope whose name or email contains `query` as text, or whose
    phone contains its digits when it looks like (part of) a phone number: '+1 212 555 0147'
    and '(212) 555-0147' find +12125550147. By name; fewer than 2 characters finds nothing."""
    with reading(actor, A.CUSTOMER_VIEW, entity="customer") as session:
        text = limits.text(query, "search text", limits.SEARCH_MAX) or ""
        if len(text) < 2:
            return []
        pattern = _like(text)
        matches = [Customer.name.ilike(pattern, escape="\\"), Customer.email.ilike(pattern, escape="\\")]
        contacts = access.can(actor, A.CONTACTS_VIEW)
        if PHONE_CHARS_RE.match(text) and len(_digits(text)) >= MIN_SEARCH_DIGITS:
            digits = phones.search_digits(text, _regions(session, actor))
            matches += [_phone_digits_sql(Customer.phone).like(f"%{d}%") for d in sorted(digits)]
        rows = session.execute(
            select(Customer.id, Customer.name, Customer.email, Customer.phone, Customer.home_location_id)
            .where(or_(*matches), scope_clause(actor))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        ).all()
        names = Counter(r.name.casefold() for r in rows)
        visits = _last_visits(session, actor, [r.id for r in rows if names[r.name.casefold()] > 1], now)
    return [_view(r, contacts, visits.get(r.id, "no visits yet") if names[r.name.casefold()] > 1 else None)
            for r in rows]  # fmt: skip


def _view(row, contacts: bool, last_visit: str | None = None) -> CustomerView:
    return CustomerView(
        id=row.id,
        name=row.name,
        email=row.email if contacts else access.mask_email(row.email),
        phone=row.phone if contacts else access.mask_phone(row.phone),
        home_location_id=row.home_location_id,
        last_visit=last_visit,
    )


def _last_visits(session: Session, actor: Actor, customer_ids: list[int], now: datetime | None) -> dict[int, str]:
    """'last visit Mon 30 Nov' (local date at the visit's location) for those with a past,
    not cancelled appointment in the actor's scope: what tells two namesakes apart."""
    if not customer_ids:
        return {}
    now = resolve_now(now)
    latest = (
        select(Appointment.customer_id, func.max(Appointment.start_at).label("start_at"))
        .where(
            Appointment.customer_id.in_(customer_ids),
            Appointment.start_at <= now,
            Appointment.status != "cancelled",
            access.location_filter(actor, Appointment.location_id),
            access.provider_filter(actor, Appointment.provider_id),
        )
        .group_by(Appointment.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(latest.c.customer_id, latest.c.start_at, Location.timezone)
        .join(
            Appointment, (Appointment.customer_id == latest.c.customer_id) & (Appointment.start_at == latest.c.start_at)
        )
        .join(Location, Location.id == Appointment.location_id)
    ).all()
    out = {}
    for customer_id, start, zone in rows:
        day = to_local(start, zone).date()
        out[customer_id] = f"last visit {day:%a} {day.day} {day:%b}" + (
            f" {day.year}" if day.year != to_local(now, zone).year else ""
        )
    return out


def same_contact(
    actor: Actor, *, phone: str | None, email: str | None, location_id: int, now: datetime | None = None
) -> list[CustomerView]:
    """Customers in the actor's scope who already have this phone number (read as at
    `location_id`) or this email: what the desk is offered before adding a second record for
    the same person. Text that is not a phone number or an email matches nobody."""
    with reading(actor, A.CUSTOMER_VIEW, location_id, entity="customer") as session:
        region = phones.region_for_zone(session.scalar(select(Location.timezone).where(Location.id == location_id)))
        email = (email or "").strip().lower()
        number = phones.normalised_or_typed((phone or "").strip(), region) if phone and phone.strip() else None
        matches = []
        if number and number.startswith("+"):
            matches.append(Customer.phone == number)
        if EMAIL_RE.match(email):
            matches.append(func.lower(Customer.email) == email)
        if not matches:
            return []
        rows = session.execute(
            select(Customer.id, Customer.name, Customer.email, Customer.phone, Customer.home_location_id)
            .where(or_(*matches), scope_clause(actor))
            .order_by(Customer.name, Customer.id)
            .limit(5)
        ).all()
        visits = _last_visits(session, actor, [r.id for r in rows], now)
    contacts = access.can(actor, A.CONTACTS_VIEW)
    return [_view(r, contacts, visits.get(r.id, "no visits yet")) for r in rows]


def _regions(session: Session, actor: Actor) -> list[str]:
    """The countries of the actor's locations: where a number typed without its code is read."""
    zones = session.scalars(select(Location.timezone).where(access.location_filter(actor, Location.id)).distinct())
    return sorted({r for z in zones if (r := phones.region_for_zone(z))})


def validate(
    name: str | None, email: str | None, phone: str | None, region: str | None = None
) -> tuple[str, str | None, str | None]:
    """Cleaned (name, email, phone as E.164, read in `region` when typed without a country
    code), or ValidationError with what to fix."""
    name = limits.text(name, "customer's name", 10**6) or ""  # NUL refused here; length below
    email = limits.text(email, "email", 10**6)
    phone = limits.text(phone, "phone number", 10**6)
    if not name:
        raise ValidationError("Enter the customer's name.")
    if len(name) > 200:
        raise ValidationError("The name is too long: keep it under 200 characters.")
    if email is not None and (len(email) > 255 or not EMAIL_RE.match(email)):
        raise ValidationError(f"'{email}' does not look like an email address (like name@example.com).")
    if phone is not None:
        if not PHONE_CHARS_RE.match(phone):
            raise ValidationError(
                f"'{phone[: phones.MAX_TYPED]}' is not a phone number: use digits, with spaces, dashes, "
                "brackets or a leading + if you like."
            )
        phone = phones.normalise(phone, region)
    return name, email, phone


NOT_WITH_THIS_EMAIL = (
    "A new customer cannot be added with {email}: search your locations for them by name or phone, "
    "or add them without an email."
)


def create_customer(
    actor: Actor,
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    location_id: int,
) -> Customer:
    """A new customer whose home is `location_id`. An email already on file is refused, so the
    desk picks the existing customer instead of creating a twin."""
    with service(actor, A.CUSTOMER_MANAGE, entity="customer") as tx:
        return add_customer_in(tx, name=name, email=email, phone=phone, location_id=location_id)


def add_customer_in(
    tx: Tx, *, name: str, email: str | None = None, phone: str | None = None, location_id: int
) -> Customer:
    """`create_customer` inside the caller's transaction (e.g. a booking for a new customer,
    so a refused booking leaves no customer behind)."""
    session, actor = tx.session, tx.actor
    tx.require(location_id, action=A.CUSTOMER_MANAGE)
    location = session.get(Location, location_id)
    if location is None or not location.active:
        raise NotFound(f"There is no active location with id {location_id}.")
    name, email, phone = validate(name, email, phone, phones.region_for_zone(location.timezone))
    if email is not None:
        twin = session.execute(
            select(Customer.id, Customer.name).where(func.lower(Customer.email) == email.lower()).limit(1)
        ).one_or_none()
        if twin is not None:
            if session.scalar(select(Customer.id).where(Customer.id == twin.id, scope_clause(actor))):
                raise ConflictError(
                    f"{email} already belongs to {twin.name}: search for them instead of adding them again."
                )
            raise ConflictError(NOT_WITH_THIS_EMAIL.format(email=email))  # confirms no record outside the actor's scope
    customer = Customer(name=name, email=email, phone=phone, home_location_id=location_id)
    session.add(customer)
    session.flush()
    tx.audit(
        action="customer.create",
        entity="customer",
        entity_id=customer.id,
        location_id=location_id,
        after={
            "name": name,
            "email": access.mask_email(email),
            "phone": access.mask_phone(phone),
            "home_location_id": location_id,
        },
    )
    tx.publish(CustomerCreated(customer_id=customer.id, location_id=location_id, actor=actor, at=utcnow()))
    return customer


def _changes_in(session: Session, customer: Customer, name, email, phone) -> dict[str, tuple]:
    """{field: (old, new)} for what the typed details change, cleaned as a new customer's are
    (the phone read in the home location's country); an email another customer has is refused."""
    location = session.get(Location, customer.home_location_id)
    name, email, phone = validate(name, email, phone, phones.region_for_zone(location.timezone))
    if email is not None and session.scalar(
        select(Customer.id).where(func.lower(Customer.email) == email.lower(), Customer.id != customer.id)
    ):
        raise ConflictError(f"{email} already belongs to another customer: keep this one's email or pick theirs.")
    new = {"name": name, "email": email, "phone": phone}
    return {f: (getattr(customer, f), v) for f, v in new.items() if getattr(customer, f) != v}


def update_preview(
    actor: Actor, customer_id: int, *, name: str, email: str | None = None, phone: str | None = None
) -> dict[str, tuple]:
    """What `update_customer` would change, {field: (old, new)}, writing nothing: the same
    checks and the same sentences, for a page to show before saving."""
    with reading(actor, A.CUSTOMER_MANAGE, entity="customer", entity_id=customer_id) as session:
        customer = session.get(Customer, customer_id)
        if customer is None or not access.can(actor, A.CUSTOMER_MANAGE, customer.home_location_id):
            _refuse_unseen_customer(actor, customer_id)
        return _changes_in(session, customer, name, email, phone)


def update_customer(
    actor: Actor, customer_id: int, *, name: str, email: str | None = None, phone: str | None = None
) -> Customer:
    """Correct a customer's name, email or phone (checked like a new customer's; an email that
    another customer has is refused). Audited with contacts masked; publishes CustomerUpdated."""
    with service(actor, A.CUSTOMER_MANAGE, entity="customer") as tx:
        customer = tx.get(Customer, customer_id, what="customer")
        tx.require(customer.home_location_id, entity_id=customer.id)
        changes = _changes_in(tx.session, customer, name, email, phone)
        if not changes:
            return customer
        location_id = customer.home_location_id
        masks = {"email": access.mask_email, "phone": access.mask_phone, "name": lambda v: v}
        for f, (_, v) in changes.items():
            setattr(customer, f, v)
        tx.session.flush()
        tx.audit(action="customer.update", entity="customer", entity_id=customer.id, location_id=location_id,
                 before={f: masks[f](old) for f, (old, _) in changes.items()},
                 after={f: masks[f](v) for f, (_, v) in changes.items()})  # fmt: skip
        tx.publish(CustomerUpdated(customer_id=customer.id, location_id=location_id, changes=changes, actor=actor,
                                   at=utcnow()))  # fmt: skip
        return customer


def _refuse_unseen_customer(actor: Actor, customer_id: int) -> NoReturn:
    """Missing or outside the actor's scope: one answer; a customer who exists elsewhere is
    recorded as a denied attempt."""
    message = f"There is no customer with id {customer_id} at your locations."
    with read_session() as session:
        home = session.scalar(select(Customer.home_location_id).where(Customer.id == customer_id))
    if home is not None:
        audit.write_denial({"actor": actor, "action": A.CUSTOMER_VIEW, "entity": "customer", "entity_id": customer_id,
                            "location_id": home, "reason": "outside the actor's locations"})  # fmt: skip
    raise NotFound(message)


def get_customer(actor: Actor, customer_id: int) -> CustomerView:
    """One customer in the actor's scope (NotFound otherwise, the same as for an unknown id)."""
    with reading(actor, A.CUSTOMER_VIEW, entity="customer", entity_id=customer_id) as session:
        row = session.execute(
            select(Customer.id, Customer.name, Customer.email, Customer.phone, Customer.home_location_id).where(
                Customer.id == customer_id, scope_clause(actor)
            )
        ).one_or_none()
    if row is None:
        _refuse_unseen_customer(actor, customer_id)
    return _view(row, access.can(actor, A.CONTACTS_VIEW))
