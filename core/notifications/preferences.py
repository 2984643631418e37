"""A customer's contact preferences: may we email them, may we text them.

The opt-out itself is a row in notification_opt_outs (what the sender reads before every
message); each change of it is a row in contact_preference_changes (who, when, from where) and
an audit row. Opting out stops the customer's pending messages on that channel at once;
opting back in brings back those still ahead.

Two doors change it:
- staff, in the customer's details: `set_preference` (customer.manage, the customer in scope);
- the customer, through the link at the foot of every email: `unsubscribe(token, client_address)`,
  for the customer-facing page and the RFC 8058 one-click POST alike. The token is signed for
  the customer and the channel (core.security.links, purpose "unsubscribe"); an expired or
  tampered one raises `LinkError` with one sentence, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.base.clock import resolve_now
from core.base.db import unit_of_work
from core.base.errors import NotFound, ValidationError
from core.base.models import Customer
from core.notifications.models import CHANNELS, ContactPreferenceChange, NotificationOptOut, NotificationOutbox
from core.people.customers import scope_clause
from core.security import audit, links
from core.security.access import A, Actor
from core.security.service import reading, service

PURPOSE = "unsubscribe"
LINK_LIFETIME = timedelta(days=365)  # an old reminder's link still works for a year
PUBLIC = Actor(user_id=None, username="public", role=None, location_ids=frozenset(), name="public")
CHANNEL_WORDS = {"email": "emails", "sms": "text messages"}


def unsubscribe_url(customer_id: int, channel: str, *, now: datetime | None = None, key: str | None = None) -> str:
    """The customer-facing URL that opts this customer out of this channel (PUBLIC_BASE_URL/unsubscribe?t=...);
    `key`: the links' key when the caller has read it already (a send pass reads it once)."""
    expires_at = resolve_now(now) + LINK_LIFETIME
    token = links.sign(PURPOSE, {"c": customer_id, "ch": channel}, expires_at=expires_at, key=key)
    return links.url("unsubscribe", t=token)


def _opted_out_reason(name: str, channel: str) -> str:
    return f"skipped: {name} opted out of {channel} messages"


def _change_in(s: Session, customer: Customer, channel: str, allowed: bool, actor: Actor, *, now: datetime,
               client_address: str | None = None, reason: str | None = None) -> bool:  # fmt: skip
    """Set the preference inside the caller's transaction; False when it already was so."""
    current = s.get(NotificationOptOut, (customer.id, channel), with_for_update=True)
    if (current is None) == allowed:
        return False
    stopped = _opted_out_reason(customer.name, channel)
    pending = (NotificationOutbox.customer_id == customer.id, NotificationOutbox.channel == channel)
    if allowed:
        s.execute(delete(NotificationOptOut).where(NotificationOptOut.customer_id == customer.id,
                                                   NotificationOptOut.channel == channel))  # fmt: skip
        s.execute(
            update(NotificationOutbox)
            .where(*pending, NotificationOutbox.status == "skipped", NotificationOutbox.last_error == stopped,
                   NotificationOutbox.due_at > now)
            .values(status="pending", last_error=None, next_attempt_at=NotificationOutbox.due_at, updated_at=now)
        )  # fmt: skip
    else:
        s.add(NotificationOptOut(customer_id=customer.id, channel=channel, reason=reason, created_at=now,
                                 created_by=actor.user_id))  # fmt: skip
        s.execute(
            update(NotificationOutbox)
            .where(*pending, NotificationOutbox.status == "pending")
            .values(status="skipped", last_error=stopped, lease_until=None, updated_at=now)
        )
    s.add(ContactPreferenceChange(customer_id=customer.id, channel=channel, allowed=allowed, actor_id=actor.user_id,
                                  actor_username=actor.username, client_address=client_address, reason=reason,
                                  at=now))  # fmt: skip
    return True


def unsubscribe(token: str | None, client_address: str | None, now: datetime | None = None) -> str:
    """Opt the customer a link was made for out of its channel; the sentence to show them.
    Audited as actor "public" with `client_address`. LinkError (one sentence) for a link that is
    expired, tampered with or names no customer; nothing is written then."""
    now = resolve_now(now)
    payload = links.read(PURPOSE, token, now=now)
    customer_id, channel = payload.get("c"), payload.get("ch")
    if not isinstance(customer_id, int) or channel not in CHANNELS:
        raise links.LinkError(links.INVALID)
    address = (client_address or "")[:64] or None
    with unit_of_work() as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise links.LinkError(links.INVALID)
        words = CHANNEL_WORDS[channel]
        if not _change_in(s, customer, channel, False, PUBLIC, now=now, client_address=address,
                          reason="unsubscribe link"):  # fmt: skip
            return f"You had already unsubscribed: we send you no {words} about your appointments."
        audit.record(s, PUBLIC, "customer.unsubscribe", entity="customer", entity_id=customer.id,
                     location_id=customer.home_location_id, before={channel: "allowed"},
                     after={channel: "opted out", "client_address": address}, reason="unsubscribe link")  # fmt: skip
    return f"Done: we will send you no more {words} about your appointments."


def set_preference(actor: Actor | None, customer_id: int, channel: str, allowed: bool, *,
                   reason: str | None = None, now: datetime | None = None) -> str:  # fmt: skip
    """Staff allow or stop a customer's messages on a channel; the sentence to show."""
    if channel not in CHANNELS:
        raise ValidationError(f"Unknown channel {channel!r}: use email or sms.")
    now = resolve_now(now)
    with service(actor, A.CUSTOMER_MANAGE, entity="customer", entity_id=customer_id) as tx:
        tx.require(None)
        customer = tx.session.scalar(
            select(Customer).where(Customer.id == customer_id, scope_clause(tx.actor)).with_for_update()
        )
        if customer is None:
            raise NotFound(f"There is no customer with id {customer_id} at your locations.")
        words = CHANNEL_WORDS[channel]
        if not _change_in(
            tx.session, customer, channel, allowed, tx.actor, now=now, reason=(reason or "").strip() or None
        ):
            return f"{customer.name} already {'gets' if allowed else 'gets no'} {words}."
        before, after = ("opted out", "allowed") if allowed else ("allowed", "opted out")
        tx.audit(before={channel: before}, after={channel: after}, reason=reason, action="customer.contact_preference")
    return f"{customer.name} will {'get' if allowed else 'get no'} {words} from now on."


@dataclass(frozen=True)
class PreferenceChange:
    at: datetime
    channel: str
    allowed: bool
    by: str
    client_address: str | None
    reason: str | None


@dataclass(frozen=True)
class Preferences:
    allowed: dict[str, bool]
    history: list[PreferenceChange]


def preferences(actor: Actor | None, customer_id: int) -> Preferences:
    """A customer's current preferences and who changed them, newest first (customer in scope)."""
    with reading(actor, A.CUSTOMER_VIEW, entity="customer", entity_id=customer_id) as s:
        if s.scalar(select(Customer.id).where(Customer.id == customer_id, scope_clause(actor))) is None:
            raise NotFound(f"There is no customer with id {customer_id} at your locations.")
        out = set(s.scalars(select(NotificationOptOut.channel).where(NotificationOptOut.customer_id == customer_id)))
        rows = s.scalars(
            select(ContactPreferenceChange)
            .where(ContactPreferenceChange.customer_id == customer_id)
            .order_by(ContactPreferenceChange.at.desc(), ContactPreferenceChange.id.desc())
        )
        history = [PreferenceChange(r.at, r.channel, r.allowed, r.actor_username, r.client_address, r.reason)
                   for r in rows]  # fmt: skip
    return Preferences({c: c not in out for c in CHANNELS}, history)
