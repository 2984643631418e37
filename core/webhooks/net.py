"""One POST to a receiver, safely: the host is resolved at send time and every address it
resolves to is checked (this machine, private, link-local and other non-public ranges are refused
unless WEBHOOK_ALLOW_LOCAL_NETWORK is set); the request then goes to the checked address itself
(Host header and TLS server name keep the original name), so a second lookup cannot swap it.
15 s timeout, redirects are not followed, no proxies from the environment."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache

import httpx

from core.base.config import get_settings

TIMEOUT_S = 15.0
EXCERPT = 2048  # how much of the answer the log keeps


class Refused(Exception):
    """The address is not one webhooks may go to (a sentence for the log)."""


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no answer (refused, timeout, connection error)
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after: timedelta | None = None
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(url: httpx.URL) -> str:
    """The address to connect to for `url`; Refused when it may not be used."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"{url.host} does not resolve: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not get_settings().webhook_allow_local_network:
        bad = [a for a in addresses if not _public(a)]
        if bad:
            raise Refused(
                f"refused: {url.host} resolves to {bad[0]}, a private or local address "
                "(allowed only with WEBHOOK_ALLOW_LOCAL_NETWORK=1)"
            )
    return str(addresses[0])


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - now)


@lru_cache(maxsize=1024)
def _parse(url: str) -> httpx.URL:
    return httpx.URL(url)  # parsing is a tenth of a POST's CPU to a receiver that answers at once


@lru_cache(maxsize=1024)
def _pin(url: str, address: str) -> httpx.URL:
    """`url` with its host replaced by the checked address (the lookup itself is never cached)."""
    return _parse(url).copy_with(host=address)


def post(http: httpx.Client, url: str, headers: dict[str, str], body: str, now: datetime) -> Answer:
    started = time.perf_counter()

    def ms() -> int:
        return int((time.perf_counter() - started) * 1000)

    target = _parse(url)
    try:
        address = resolve(target)
    except Refused as exc:
        return Answer(None, ms(), None, str(exc), refused=True)
    pinned = _pin(url, address)
    host = target.host if target.port is None else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        request = http.build_request(
            "POST", pinned, content=body.encode(), extensions=extensions,
            headers={**headers, "Host": host, "Content-Type": "application/json", "User-Agent": "apptops-webhooks/1"},
        )  # fmt: skip
        response = http.send(request, stream=True)
        try:
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT:
                    break
        finally:
            response.close()
    except httpx.TimeoutException:
        return Answer(None, ms(), None, f"no answer within {TIMEOUT_S:g} s")
    except httpx.HTTPError as exc:
        return Answer(None, ms(), None, f"{type(exc).__name__}: {exc}"[:500])
    text = excerpt[:EXCERPT].decode("utf-8", errors="replace")
    wait = retry_after(response.headers.get("Retry-After"), now)
    error = None if 200 <= response.status_code < 300 else f"answered {response.status_code}"
    return Answer(response.status_code, ms(), text, error, retry_after=wait)
