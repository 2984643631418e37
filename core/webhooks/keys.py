"""Signing secrets: made in the Standard Webhooks form (`whsec_` + base64 of 32 random bytes),
stored encrypted (Fernet, from `cryptography`) so that a copy of the database does not give them
away, and turned into the webhook-signature header with the `standardwebhooks` package.

The encryption key comes from WEBHOOK_SECRETS_KEY when it is set, otherwise it is derived from
AUTH_COOKIE_KEY. Both are tried when reading, so setting WEBHOOK_SECRETS_KEY later keeps the
secrets written before readable (each is re-encrypted with the new key on its next rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from standardwebhooks.webhooks import Webhook

from core.base.config import get_settings
from core.base.errors import DomainError

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec allows 24 to 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet_key(material: str) -> bytes:
    return base64.urlsafe_b64encode(hmac.new(material.encode(), b"webhook-secrets", hashlib.sha256).digest())


def _fernet() -> MultiFernet:
    from core.security.cookies import StartupError, cookie_config

    settings = get_settings()
    keys = [settings.webhook_secrets_key] if settings.webhook_secrets_key else []
    try:
        keys.append(cookie_config().key)
    except StartupError:
        if not keys:
            raise
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DomainError(
            "A webhook secret cannot be decrypted: WEBHOOK_SECRETS_KEY or AUTH_COOKIE_KEY changed. "
            "Rotate the endpoint's secret."
        ) from None


def signature(secrets_: list[str], webhook_id: str, timestamp: datetime, body: str) -> str:
    """The webhook-signature header: one `v1,<base64>` per secret, separated by spaces."""
    return " ".join(Webhook(s).sign(webhook_id, timestamp, body) for s in secrets_)
