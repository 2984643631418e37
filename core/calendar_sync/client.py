"""Google's own client (google-api-python-client, bundled discovery document) for one calendar.

Retries are the client's: `execute(num_retries=...)` retries 429, 403 rate-limit reasons, 5xx
and dropped connections with exponential backoff and full jitter (rand() * 2**attempt seconds);
`RETRY_SCALE` shrinks those seconds for the emulator. Credentials:
- GOOGLE_CREDENTIALS_FILE with a service account key ("type": "service_account"): domain-wide
  delegation, acting as the provider's email (subject);
- GOOGLE_CREDENTIALS_FILE with an OAuth authorized-user token file: one user's access;
- neither: anonymous, allowed only for an endpoint other than Google's (an emulator).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import google_auth_httplib2
import httplib2
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from core.base.config import GOOGLE_ENDPOINT, get_settings
from core.base.errors import DomainError

SCOPES = ["https://www.googleapis.com/auth/calendar.events"]
NUM_RETRIES = int(os.environ.get("GOOGLE_CALENDAR_RETRIES", "6"))
RETRY_SCALE = float(os.environ.get("GOOGLE_CALENDAR_RETRY_SCALE", "1.0"))
TIMEOUT_S = float(os.environ.get("GOOGLE_CALENDAR_TIMEOUT", "30"))
PAGE_SIZE = 2500  # the API's maximum: fewer requests per full sync


_local = threading.local()


class NotConfigured(DomainError):
    pass


class AuthFailed(Exception):
    """The calendar refused our credentials (401, or a 403 that is not a rate limit)."""


def event_id_for(appointment_id: int, generation: int) -> str:
    """Deterministic, client-supplied event id (base32hex: a-v, 0-9): a retried insert can only
    hit the same id (409), never create a second event."""
    raw = f"appointment-{appointment_id}-{generation}".encode()
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def sync_enabled() -> bool:
    """Sync runs when there is somewhere to sync to: credentials, or a non-Google endpoint."""
    s = get_settings()
    return bool(s.google_credentials_file) or s.google_endpoint.rstrip("/") != GOOGLE_ENDPOINT.rstrip("/")


def status_of(exc: HttpError) -> int:
    return int(exc.resp.status)


def is_auth_failure(exc: HttpError) -> bool:
    if status_of(exc) == 401:
        return True
    if status_of(exc) != 403:
        return False
    reasons = {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}
    return not reasons & {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


class _ScaledRequest(HttpRequest):
    """The client's request with its backoff sleep scaled (1.0 in production)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if RETRY_SCALE != 1.0:
            import time

            self._sleep = lambda seconds: time.sleep(seconds * RETRY_SCALE)


def _credentials(subject: str):
    path = get_settings().google_credentials_file
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        raise NotConfigured(f"GOOGLE_CREDENTIALS_FILE {path} does not exist.")
    info = json.loads(file.read_text())
    if info.get("type") == "service_account":
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES).with_subject(subject)
    if info.get("type") == "authorized_user" or "refresh_token" in info:
        return user_credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES)
    raise NotConfigured(f"{path} is neither a service account key nor an OAuth token file.")


@dataclass
class CalendarApi:
    """The events of one calendar, as the provider (`subject`) sees them."""

    calendar_id: str
    subject: str
    requests: int = 0
    _events: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        settings = get_settings()
        key = (settings.google_endpoint, settings.google_credentials_file, self.subject)
        cache = _local.__dict__.setdefault("services", {})
        if key not in cache:  # building the client costs tens of ms: once per thread and identity
            creds = _credentials(self.subject)
            if creds is None and not sync_enabled():
                raise NotConfigured(
                    "Google Calendar is not configured: set GOOGLE_CREDENTIALS_FILE (see docs/google-calendar.md)."
                )
            http = httplib2.Http(timeout=TIMEOUT_S)
            if creds is not None:
                http = google_auth_httplib2.AuthorizedHttp(creds, http=http)
            service = build(
                "calendar",
                "v3",
                http=http,
                static_discovery=True,
                cache_discovery=False,
                requestBuilder=_ScaledRequest,
                client_options={"api_endpoint": settings.google_endpoint},
            )
            cache[key] = service.events()
        self._events = cache[key]

    def _run(self, request, if_match: str | None = None):
        if if_match:
            request.headers["If-Match"] = if_match
        self.requests += 1
        try:
            return request.execute(num_retries=NUM_RETRIES)
        except HttpError as exc:
            if is_auth_failure(exc):
                raise AuthFailed(f"Google refused access to {self.calendar_id} ({status_of(exc)}).") from exc
            raise

    @property
    def events(self):
        return self._events

    def get(self, event_id: str) -> dict:
        return self._run(self.events.get(calendarId=self.calendar_id, eventId=event_id))

    def insert(self, body: dict) -> dict:
        return self._run(self.events.insert(calendarId=self.calendar_id, body=body, sendUpdates="none"))

    def patch(self, event_id: str, body: dict, etag: str | None) -> dict:
        request = self.events.patch(calendarId=self.calendar_id, eventId=event_id, body=body, sendUpdates="none")
        return self._run(request, if_match=etag)

    def delete(self, event_id: str) -> None:
        """Delete the event; gone already (404, 410) counts as done."""
        try:
            self._run(self.events.delete(calendarId=self.calendar_id, eventId=event_id, sendUpdates="none"))
        except HttpError as exc:
            if status_of(exc) not in (404, 410):
                raise

    def pages(self, sync_token: str | None, time_min: datetime | None) -> Iterator[dict]:
        """Every page of one list pass (incremental with `sync_token`, else full), to the end;
        the last page carries nextSyncToken. A stale token raises HttpError 410."""
        params = {"calendarId": self.calendar_id, "singleEvents": True, "maxResults": PAGE_SIZE, "showDeleted": True}
        if sync_token:
            params["syncToken"] = sync_token
        elif time_min is not None:
            params["timeMin"] = rfc3339(time_min)
        page_token = None
        while True:
            page = self._run(self.events.list(**params, **({"pageToken": page_token} if page_token else {})))
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return


def event_times(event: dict) -> tuple[datetime, datetime, date | None, date | None] | None:
    """(start, end, all-day first date, all-day end date) of a timed or all-day event; all-day
    instants are filled in by the caller, who knows the provider's time zone."""
    start, end = event.get("start") or {}, event.get("end") or {}
    if "dateTime" in start and "dateTime" in end:
        return parse_instant(start["dateTime"]), parse_instant(end["dateTime"]), None, None
    if "date" in start and "date" in end:
        first, last = date.fromisoformat(start["date"]), date.fromisoformat(end["date"])
        return datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC), first, last
    return None


def google_times(ev: dict) -> tuple[datetime | None, datetime | None]:
    """Start and end of a timed event; (None, None) for an all-day one."""
    start, end = ev.get("start") or {}, ev.get("end") or {}
    if "dateTime" not in start or "dateTime" not in end:
        return None, None
    return parse_instant(start["dateTime"]), parse_instant(end["dateTime"])


def appointment_id_of(event: dict) -> int | None:
    value = ((event.get("extendedProperties") or {}).get("private") or {}).get("appointment_id")
    return int(value) if value and str(value).isdigit() else None
