"""Real local receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP server
standing in for an SMS provider's webhook, both on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.serving import serve_in_thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailHandler:
    """Keeps every message accepted; `refuse_rcpt` / `refuse_data` set a reply code to refuse with."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.refuse_rcpt: str | None = None
        self.refuse_data: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    port: int
    handler: MailHandler
    controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)


@dataclass
class WebhookServer:
    """Answers POSTs with `status` (200 by default) and keeps (headers, JSON body) of each."""

    requests: list[tuple[dict, dict]] = field(default_factory=list)
    status: int = 200
    token: str = "sms-token-123"
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/messages"

    def start(self) -> WebhookServer:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.status == 200:
                    hook.requests.append((dict(self.headers), body))
                payload = json.dumps({"id": f"sms-{len(hook.requests)}"}).encode()
                self.send_response(hook.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def unsubscribe_header(monkeypatch, w, public_base_url: str) -> str:
    """Book for w's "ada" and send her confirmation through a real SMTP server on 127.0.0.1, the
    links pointing at `public_base_url`; the URL in the email's List-Unsubscribe header."""
    from datetime import timedelta

    from core.base.clock import utcnow
    from core.base.config import reset_settings
    from core.notifications import sender
    from core.scheduling import booking

    server = SmtpServer(free_port(), MailHandler()).start()
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_TLS": "none",
                        "SMTP_FROM": "Downtown Clinic <no-reply@clinic.test>", "PUBLIC_BASE_URL": public_base_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMS_WEBHOOK_URL", raising=False)
    reset_settings()
    now = utcnow().replace(hour=15, minute=0, second=0, microsecond=0)
    start = now + timedelta(days=7 - now.weekday() + 7)  # a Monday at least a week ahead, in hours
    try:
        booking.book(w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
                     customer_id=w.customers["ada"].id, start=start,
                     provider_id=w.providers["rao"].id, intake={"reason": "check-up"},
                     now=utcnow())  # fmt: skip
        sender.send_due(utcnow())
        header = server.messages[0]["List-Unsubscribe"]
    finally:
        server.stop()
    assert header.startswith(f"<{public_base_url}/unsubscribe?t=") and header.endswith(">")
    return header[1:-1]
