"""Managing endpoints (admins): add, list, switch on and off, rotate the secret. The secret is
returned once, by `add_endpoint` and `rotate_secret`, and never again: it is stored encrypted and
the audit log records that it changed, never what it is."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.config import get_settings
from core.base.errors import DomainError, ValidationError
from core.security.access import A, Actor
from core.security.service import reading, service
from core.webhooks import keys
from core.webhooks.models import PERSONAL_DATA, WebhookEndpoint
from core.webhooks.payloads import EVENT_TYPES

ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long after a rotation
ENTITY = "webhook_endpoint"


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    description: str
    event_types: tuple[str, ...]
    personal_data: str
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_valid_until: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, e: WebhookEndpoint) -> EndpointView:
        return cls(
            e.id, e.url, e.description, tuple(e.event_types), e.personal_data, e.enabled, e.disabled_reason,
            e.failing_since, e.previous_valid_until, e.created_at,
        )  # fmt: skip


def _audited(e: WebhookEndpoint) -> dict:
    """What the audit log keeps of an endpoint: everything but its secrets."""
    return {
        "url": e.url,
        "description": e.description,
        "event_types": list(e.event_types),
        "personal_data": e.personal_data,
        "enabled": e.enabled,
    }


def check_url(url: str) -> str:
    """The URL, trimmed, if webhooks may go there; ValidationError with the reason otherwise.
    (Names are resolved and their addresses checked again at every send.)"""
    url = (url or "").strip()
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValidationError(f"'{url}' is not a web address: it must start with https:// and name a host.")
    local_ok = get_settings().webhook_allow_local_network
    if parsed.scheme == "http" and not local_ok:
        raise ValidationError(
            "Webhooks go over https only; plain http is for a local network and needs WEBHOOK_ALLOW_LOCAL_NETWORK=1."
        )
    try:
        address = ipaddress.ip_address(parsed.host)
    except ValueError:
        address = None
    if address is not None and not address.is_global and not local_ok:
        raise ValidationError(
            f"{parsed.host} is a private or local address; webhooks may go there only with "
            "WEBHOOK_ALLOW_LOCAL_NETWORK=1."
        )
    if len(url) > 2000:
        raise ValidationError("The address is longer than 2000 characters.")
    return url


def check_events(events: list[str] | tuple[str, ...] | str) -> list[str]:
    if isinstance(events, str):
        events = [e for e in (x.strip() for x in events.split(",")) if e]
    if not events:
        raise ValidationError("Choose at least one event type for the endpoint.")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise ValidationError(f"Unknown event type '{unknown[0]}'; known ones: {', '.join(EVENT_TYPES)}.")
    return list(dict.fromkeys(events))


def _check_level(level: str) -> str:
    if level not in PERSONAL_DATA:
        raise ValidationError(f"Personal data must be one of {', '.join(PERSONAL_DATA)}, not '{level}'.")
    return level


def add_endpoint(
    actor: Actor | None,
    url: str,
    events: list[str] | str,
    *,
    description: str = "",
    personal_data: str = "none",
    now: datetime | None = None,
) -> tuple[EndpointView, str]:
    """A new endpoint, switched on, and its secret (shown once)."""
    now = resolve_now(now)
    with service(actor, A.WEBHOOKS_MANAGE, entity=ENTITY, location_id=None) as tx:
        url, events, level = check_url(url), check_events(events), _check_level(personal_data)
        secret = keys.new_secret()
        endpoint = WebhookEndpoint(
            url=url, description=(description or "").strip()[:255], event_types=events, personal_data=level,
            enabled=True, secret_enc=keys.encrypt(secret), created_at=now, updated_at=now,
            created_by=actor.user_id if actor else None,
        )  # fmt: skip
        tx.session.add(endpoint)
        tx.session.flush()
        tx.audit(after=_audited(endpoint), entity_id=endpoint.id, reason="endpoint added (secret issued)")
        return EndpointView.of(endpoint), secret


def list_endpoints(actor: Actor | None) -> list[EndpointView]:
    with reading(actor, A.WEBHOOKS_MANAGE, entity=ENTITY) as s:
        return [EndpointView.of(e) for e in s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


def set_enabled(actor: Actor | None, endpoint_id: int, enabled: bool, *, now: datetime | None = None) -> EndpointView:
    """Switch an endpoint on or off. Off: nothing new is queued for it and what is pending waits;
    on again: the waiting deliveries go out."""
    now = resolve_now(now)
    with service(actor, A.WEBHOOKS_MANAGE, entity=ENTITY, entity_id=endpoint_id, location_id=None) as tx:
        endpoint = tx.get(WebhookEndpoint, endpoint_id, what="webhook endpoint")
        if endpoint.enabled == enabled:
            return EndpointView.of(endpoint)
        before = _audited(endpoint)
        endpoint.enabled, endpoint.updated_at = enabled, now
        endpoint.disabled_reason = None if enabled else "switched off by an admin"
        if enabled:
            endpoint.failing_since = None
        tx.audit(before=before, after=_audited(endpoint), reason="switched on" if enabled else "switched off")
        return EndpointView.of(endpoint)


def rotate_secret(actor: Actor | None, endpoint_id: int, *, now: datetime | None = None) -> str:
    """A new secret (shown once); the old one keeps signing beside it for ROTATION_OVERLAP."""
    now = resolve_now(now)
    with service(actor, A.WEBHOOKS_MANAGE, entity=ENTITY, entity_id=endpoint_id, location_id=None) as tx:
        endpoint = tx.get(WebhookEndpoint, endpoint_id, what="webhook endpoint")
        secret = keys.new_secret()
        endpoint.previous_secret_enc, endpoint.previous_valid_until = endpoint.secret_enc, now + ROTATION_OVERLAP
        endpoint.secret_enc, endpoint.updated_at = keys.encrypt(secret), now
        tx.audit(
            before=_audited(endpoint),
            after={**_audited(endpoint), "previous_secret_valid_until": endpoint.previous_valid_until.isoformat()},
            reason="secret rotated (the old one signs for 24 hours more)",
        )
        return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while it lasts."""
    found = [keys.decrypt(endpoint.secret_enc)]
    if endpoint.previous_secret_enc and endpoint.previous_valid_until and endpoint.previous_valid_until > now:
        with contextlib.suppress(DomainError):  # written under a key that is gone: the new one alone signs
            found.append(keys.decrypt(endpoint.previous_secret_enc))
    return found
