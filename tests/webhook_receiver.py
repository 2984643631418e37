"""A webhook receiver on 127.0.0.1 for the tests: it verifies every request with the
`standardwebhooks` package against the secrets it is told, keeps what it got, and answers as the
test scripts it (a status per request, Retry-After, or holding the answer until released)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.serving import serve_in_thread


@dataclass
class Received:
    headers: dict
    body: bytes
    verified_with: tuple[str, ...]  # the secrets whose signature matched

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers in turn; then `status`
    status: int = 200
    retry_after: str | None = None
    answer_body: bytes = b'{"ok":true}'
    hold_from: int | None = None  # the n-th request (1-based) and later wait for `release`
    received: list[Received] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)  # a held request arrived
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    @property
    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def verify(self, body: bytes, headers: dict) -> tuple[str, ...]:
        matched = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                matched.append(secret)
            except WebhookVerificationError:
                pass
        return tuple(matched)

    def start(self) -> Receiver:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                matched = hook.verify(body, headers)
                with hook.lock:
                    if not matched:
                        hook.unverified.append(headers.get("webhook-id", "?"))
                    hook.received.append(Received(headers, body, matched))
                    n = len(hook.received)
                    status = hook.statuses.pop(0) if hook.statuses else hook.status
                if hook.hold_from is not None and n >= hook.hold_from:
                    hook.arrived.set()
                    hook.release.wait(30)
                self.send_response(status)
                if hook.retry_after:
                    self.send_header("Retry-After", hook.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(hook.answer_body)))
                self.end_headers()
                self.wfile.write(hook.answer_body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
