"""Settings from the environment, then .streamlit/secrets.toml, then defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'data' / 'scheduling.db'}"
GOOGLE_ENDPOINT = "https://www.googleapis.com/calendar/v3/"

# Values that must never protect a real installation.
CHECK_IN_LEAD_MINUTES = 60  # the default lead before an appointment's start when check-in opens

KNOWN_DEFAULT_COOKIE_KEYS = {
    "",
    "some_signature_key",
    "change-me",
    "changeme",
    "secret",
    "demo",
}


def _secrets() -> dict:
    path = Path(os.environ.get("APP_SECRETS_FILE", ROOT / ".streamlit" / "secrets.toml"))
    if path.is_file():
        with path.open("rb") as fh:
            return tomllib.load(fh)
    return {}


@dataclass(frozen=True)
class Settings:
    database_url: str
    cookie_key: str
    cookie_name: str
    cookie_expiry_days: float
    demo_mode: bool
    google_endpoint: str
    google_credentials_file: str | None
    auth_sso: dict | None
    # Notifications: email over SMTP and SMS through a webhook; neither set: recorded, not sent.
    smtp_host: str | None = None
    smtp_port: str | None = None  # checked where it is used: a typo must not stop the app
    smtp_tls: str = "starttls"  # none | starttls | tls
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    sms_webhook_url: str | None = None
    sms_webhook_token: str | None = None
    # Behind a reverse proxy every browser arrives from the proxy's address: name the header the
    # proxy sets (e.g. X-Forwarded-For; its last entry is used) so sign-in delays are per client.
    client_ip_header: str | None = None
    # How long before its start an appointment can be checked in (never before its local day).
    check_in_lead_minutes: int = CHECK_IN_LEAD_MINUTES
    # Where customers reach the app: the base of signed links in messages (intake, unsubscribe).
    public_base_url: str = "http://localhost:8501"
    # Outgoing webhooks: the key their signing secrets are encrypted with at rest (unset: derived
    # from AUTH_COOKIE_KEY); whether http:// and this machine or private networks may be targets
    # (a CRM on the local network, tests); how many days the delivery log is kept.
    webhook_secrets_key: str | None = None
    webhook_allow_local_network: bool = False
    webhook_log_days: int = 30
    # The customer-facing door: requests (form submissions) one client address may make a minute,
    # and how many days after an inquiry a booking still counts as its conversion.
    door_requests_per_minute: int = 5
    conversion_days: int = 7
    # A no-show risk at or above this is "high": the today page's badge, the queue's call list.
    no_show_high_risk: float = 0.15
    # Intake uploads: the largest file a customer may upload (MB) and the folder the files are
    # kept in, each named by its SHA-256 (relative paths are relative to the project).
    intake_upload_max_mb: int = 10
    intake_uploads_dir: str = str(ROOT / "data" / "uploads")


def _get(secrets: dict, env: str, key: str, default=None):
    if env in os.environ:
        return os.environ[env]
    return secrets.get(key, default)


def _share(value, default: float) -> float:
    """A fraction strictly between 0 and 1; a typo falls back to the default rather than stop the app."""
    try:
        share = float(str(value).strip())
    except ValueError:
        return default
    return share if 0 < share < 1 else default


def _minutes(value, default: int = CHECK_IN_LEAD_MINUTES) -> int:
    """A non-negative whole number (of minutes, days, requests); a typo falls back to the default
    rather than stop the app."""
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        return default


def _days(value, default: int) -> int:
    """A positive whole number of days; a typo falls back to the default rather than stop the app."""
    try:
        return max(1, int(str(value).strip()))
    except ValueError:
        return default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    s = _secrets()
    url = _get(s, "DATABASE_URL", "database_url", DEFAULT_DATABASE_URL)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path is relative to the project, not the working directory.
        rel = url[len("sqlite:///") :]
        if rel and rel != ":memory:" and not rel.startswith("file:"):  # file:...?mode=ro: a SQLite URI
            url = f"sqlite:///{ROOT / rel}"
    return Settings(
        database_url=url,
        cookie_key=str(_get(s, "AUTH_COOKIE_KEY", "cookie_key", "")),
        cookie_name=str(_get(s, "AUTH_COOKIE_NAME", "cookie_name", "apptops_auth")),
        cookie_expiry_days=float(_get(s, "AUTH_COOKIE_EXPIRY_DAYS", "cookie_expiry_days", 1)),
        demo_mode=str(_get(s, "DEMO_MODE", "demo_mode", "0")).lower() in {"1", "true", "yes"},
        google_endpoint=_get(
            s,
            "GOOGLE_CALENDAR_API_ENDPOINT",
            "google_calendar_api_endpoint",
            GOOGLE_ENDPOINT,
        ),
        google_credentials_file=_get(s, "GOOGLE_CREDENTIALS_FILE", "google_credentials_file", None),
        auth_sso=s.get("auth") if isinstance(s.get("auth"), dict) else None,
        smtp_host=_get(s, "SMTP_HOST", "smtp_host", None) or None,
        smtp_port=str(_get(s, "SMTP_PORT", "smtp_port", "") or "").strip() or None,
        smtp_tls=str(_get(s, "SMTP_TLS", "smtp_tls", "starttls")).strip().lower(),
        smtp_username=_get(s, "SMTP_USERNAME", "smtp_username", None) or None,
        smtp_password=_get(s, "SMTP_PASSWORD", "smtp_password", None) or None,
        smtp_from=_get(s, "SMTP_FROM", "smtp_from", None) or None,
        sms_webhook_url=_get(s, "SMS_WEBHOOK_URL", "sms_webhook_url", None) or None,
        sms_webhook_token=_get(s, "SMS_WEBHOOK_TOKEN", "sms_webhook_token", None) or None,
        client_ip_header=_get(s, "AUTH_CLIENT_IP_HEADER", "client_ip_header", None) or None,
        check_in_lead_minutes=_minutes(
            _get(s, "CHECK_IN_LEAD_MINUTES", "check_in_lead_minutes", CHECK_IN_LEAD_MINUTES)
        ),
        public_base_url=str(_get(s, "PUBLIC_BASE_URL", "public_base_url", "http://localhost:8501")).strip(),
        webhook_secrets_key=_get(s, "WEBHOOK_SECRETS_KEY", "webhook_secrets_key", None) or None,
        webhook_allow_local_network=str(
            _get(s, "WEBHOOK_ALLOW_LOCAL_NETWORK", "webhook_allow_local_network", "0")
        ).lower()
        in {"1", "true", "yes"},
        webhook_log_days=_days(_get(s, "WEBHOOK_LOG_DAYS", "webhook_log_days", 30), 30),
        door_requests_per_minute=_minutes(_get(s, "DOOR_REQUESTS_PER_MINUTE", "door_requests_per_minute", 5), 5),
        conversion_days=_minutes(_get(s, "CONVERSION_DAYS", "conversion_days", 7), 7),
        no_show_high_risk=_share(_get(s, "NO_SHOW_HIGH_RISK", "no_show_high_risk", 0.15), 0.15),
        intake_upload_max_mb=_days(_get(s, "INTAKE_UPLOAD_MAX_MB", "intake_upload_max_mb", 10), 10),
        intake_uploads_dir=str(ROOT / str(_get(s, "INTAKE_UPLOADS_DIR", "intake_uploads_dir", "data/uploads"))),
    )


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
