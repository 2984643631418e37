"""The two ways a message leaves: email over SMTP (smtplib) and SMS through an HTTP webhook (a
JSON POST with to, body and key; the key also as the Idempotency-Key header). Settings come
from core.base.config (SMTP_*, SMS_WEBHOOK_*). A channel without settings is "not configured":
its messages are recorded, not sent.

Failures are `Transient` (try again later: the server is down, busy or timed out) or
`Permanent` (this message will never go: the address is refused, the request is rejected)."""

from __future__ import annotations

import email.policy
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from core.base.config import Settings, get_settings

SMTP_TIMEOUT_S = 30
WEBHOOK_TIMEOUT_S = 15
TLS_MODES = ("none", "starttls", "tls")
# CRLF line ends, and headers folded only past SMTP's own limit: a List-Unsubscribe URL is
# longer than 78 characters and must reach the mail client as it is (folded, the default
# policy rewrites it as encoded words that no client reads as a URL).
POLICY = email.policy.SMTP.clone(max_line_length=998)


class SendError(Exception):
    pass


class Transient(SendError):
    """Try again later. `channel_down`: nothing on this channel can go now (connection refused)."""

    def __init__(self, message: str, *, channel_down: bool = False):
        super().__init__(message)
        self.channel_down = channel_down


class Permanent(SendError):
    pass


class NotConfigured(SendError):
    pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Email:
    channel = "email"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    @staticmethod
    def configured(settings: Settings) -> str | None:
        """None when email can be sent; otherwise why not."""
        if not settings.smtp_host:
            return "not sent: no channel configured for email (set SMTP_HOST)"
        if not settings.smtp_from or "@" not in parseaddr(settings.smtp_from)[1]:
            return "not sent: SMTP_FROM is not set to an address such as 'Clinic <no-reply@example.com>'"
        if settings.smtp_tls not in TLS_MODES:
            return f"not sent: SMTP_TLS is '{settings.smtp_tls}'; use none, starttls or tls"
        if settings.smtp_port is not None and not settings.smtp_port.isdigit():
            return f"not sent: SMTP_PORT is '{settings.smtp_port}', not a port number"
        return None

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.port()}"

    def port(self) -> int:
        if self.settings.smtp_port:
            return int(self.settings.smtp_port)
        return {"tls": 465, "starttls": 587}.get(self.settings.smtp_tls, 25)

    def open(self) -> None:
        if self.conn is not None:
            return
        s = self.settings
        try:
            if s.smtp_tls == "tls":
                conn = smtplib.SMTP_SSL(s.smtp_host, self.port(), timeout=SMTP_TIMEOUT_S,
                                        context=ssl.create_default_context())  # fmt: skip
            else:
                conn = smtplib.SMTP(s.smtp_host, self.port(), timeout=SMTP_TIMEOUT_S)
                if s.smtp_tls == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                conn.login(s.smtp_username, s.smtp_password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise Transient(f"the SMTP server at {self.where} refused the login: {_first_line(exc)}",
                            channel_down=True) from None  # fmt: skip
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient(
                f"cannot reach the SMTP server at {self.where}: {_first_line(exc)}", channel_down=True
            ) from None
        self.conn = conn

    def message(
        self, to: str, subject: str, body: str, key: str, headers: dict[str, str] | None = None
    ) -> EmailMessage:
        sender = self.settings.smtp_from
        domain = parseaddr(sender)[1].rsplit("@", 1)[1]
        msg = EmailMessage(policy=POLICY)
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{key}@{domain}>"
        msg["X-Idempotency-Key"] = key
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        return msg

    def send(self, to: str, subject: str | None, body: str, key: str, headers: dict[str, str] | None = None) -> str:
        self.open()
        msg = self.message(to, subject or "", body, key, headers)
        try:
            self.conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._raise_for(code, f"the SMTP server refused {to}: {code} {_text(text)}")
        except smtplib.SMTPResponseException as exc:
            self._raise_for(exc.smtp_code, f"the SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Transient(f"the SMTP connection to {self.where} failed: {_first_line(exc)}") from None
        return msg["Message-ID"]

    def _raise_for(self, code: int, message: str) -> None:
        if 400 <= code < 500:
            self.close()  # 421 and friends: start afresh next time
            raise Transient(message)
        raise Permanent(message)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class Sms:
    channel = "sms"

    def __init__(self, settings: Settings):
        self.settings = settings

    @staticmethod
    def configured(settings: Settings) -> str | None:
        url = settings.sms_webhook_url
        if not url:
            return "not sent: no channel configured for SMS (set SMS_WEBHOOK_URL)"
        if not url.startswith(("http://", "https://")):
            return f"not sent: SMS_WEBHOOK_URL must start with http:// or https:// (it is '{url[:40]}')"
        return None

    def open(self) -> None:
        """Nothing to open: every message is its own request."""

    def send(self, to: str, subject: str | None, body: str, key: str, headers: dict[str, str] | None = None) -> str:
        data = json.dumps({"to": to, "body": body, "key": key}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.settings.sms_webhook_token:
            headers["Authorization"] = f"Bearer {self.settings.sms_webhook_token}"
        request = urllib.request.Request(self.settings.sms_webhook_url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
                answer = resp.read(4096)
        except urllib.error.HTTPError as exc:
            detail = _text(exc.read(300)).strip()
            message = f"the SMS webhook answered {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            if exc.code >= 500 or exc.code in (408, 425, 429):
                raise Transient(message) from None
            raise Permanent(message) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Transient(f"cannot reach the SMS webhook: {_first_line(reason)}", channel_down=True) from None
        try:
            parsed = json.loads(answer or b"{}")
        except ValueError:
            parsed = {}
        return str(parsed.get("id") or key) if isinstance(parsed, dict) else key

    def close(self) -> None:
        pass


def transports(settings: Settings | None = None) -> dict[str, Email | Sms]:
    settings = settings or get_settings()
    return {"email": Email(settings), "sms": Sms(settings)}


def not_configured(channel: str, settings: Settings | None = None) -> str | None:
    settings = settings or get_settings()
    return (Email if channel == "email" else Sms).configured(settings)


def describe() -> dict[str, str]:
    """One line per channel for the page: where messages go, or why they are only recorded."""
    s = get_settings()
    email = Email.configured(s) or f"sending through {s.smtp_host}:{Email(s).port()} ({s.smtp_tls}) as {s.smtp_from}"
    sms = Sms.configured(s) or "sending through the SMS webhook"
    return {"email": email, "sms": sms}
