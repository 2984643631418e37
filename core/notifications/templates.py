"""Message templates: Jinja2 in a sandbox, rendered with the appointment's times in its
location's zone. An appointment type may have its own wording per kind and channel; the
defaults below apply where it has none. A template is checked when it is saved (syntax, names
it uses, what the sandbox allows), so a broken one never reaches a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from core.base.errors import ValidationError
from core.base.tz import to_local

SUBJECT_MAX = 200
SMS_MAX = 640  # four SMS segments
BODY_MAX = 5000

KIND_LABELS = {
    "confirmation": "Confirmation",
    "reminder": "Reminder",
    "rescheduled": "Rescheduled notice",
    "cancellation": "Cancellation notice",
    "no_show": "No-show: rebook",
    "follow_up": "Follow-up after the visit",
}

_SIGN = "\n\n{{ location }}{% if address %}, {{ address }}{% endif %}"
_INSTRUCTIONS = "{% if pre_visit_instructions %}\n\nBefore your visit: {{ pre_visit_instructions }}{% endif %}"
_BEFORE = (
    _INSTRUCTIONS
    + "{% if intake_link %}\n\nPlease fill in your intake form before you come: {{ intake_link }}{% endif %}"
)
_EMAIL = {
    "confirmation": (
        "Booked: {{ type }} on {{ date }} at {{ time }}",
        "Hello {{ first_name }},\n\nYour {{ type }} with {{ provider }} is booked for {{ when }}."
        + _BEFORE
        + "\n\nIf you cannot come, please let us know so someone else can have the time."
        + _SIGN,
    ),
    "reminder": (
        "Reminder: {{ type }} {{ lead }}, {{ date }} at {{ time }}",
        "Hello {{ first_name }},\n\nA reminder: your {{ type }} with {{ provider }} is {{ lead }}, on {{ when }}."
        + _BEFORE
        + "\n\nIf you cannot come, please let us know."
        + _SIGN,
    ),
    "rescheduled": (
        "Moved: {{ type }} now on {{ date }} at {{ time }}",
        "Hello {{ first_name }},\n\nYour {{ type }} with {{ provider }} has moved"
        "{% if previous_when %} from {{ previous_when }}{% endif %} to {{ when }}." + _BEFORE + _SIGN,
    ),
    "cancellation": (
        "Cancelled: {{ type }} on {{ date }} at {{ time }}",
        "Hello {{ first_name }},\n\nYour {{ type }} with {{ provider }} on {{ when }} has been cancelled."
        "\n\nTo book a new time, reply to this message or call us." + _SIGN,
    ),
    "no_show": (
        "We missed you: book a new {{ type }}",
        "Hello {{ first_name }},\n\nWe missed you at your {{ type }} with {{ provider }} on {{ when }}."
        "\n\nReply to this message or call us to book a new time." + _SIGN,
    ),
    "follow_up": (
        "How was your {{ type }}?",
        "Hello {{ first_name }},\n\nThank you for coming to your {{ type }} with {{ provider }} on {{ date }}."
        "\n\nIf anything is unclear, or you would like a follow-up appointment, reply to this message." + _SIGN,
    ),
}
_SMS = {
    "confirmation": "{{ location }}: your {{ type }} with {{ provider }} is booked for {{ when }}."
    "{% if intake_link %} Please fill in your intake form: {{ intake_link }}{% endif %}",
    "reminder": "{{ location }}: reminder, your {{ type }} with {{ provider }} is {{ lead }}, {{ when }}.",
    "rescheduled": "{{ location }}: your {{ type }} has moved to {{ when }}.",
    "cancellation": "{{ location }}: your {{ type }} on {{ when }} has been cancelled.",
    "no_show": "{{ location }}: we missed you at your {{ type }} on {{ when }}. Reply or call us to rebook.",
    "follow_up": "{{ location }}: thank you for coming to your {{ type }} today. Reply if you need anything.",
}

# What a template may use, with the values a preview shows when checking a template.
FIELDS = {
    "customer_name": "the customer's full name",
    "first_name": "the customer's first name",
    "type": "the appointment type",
    "provider": "the provider's name",
    "location": "the location's name",
    "address": "the location's address (may be empty)",
    "when": "day, date, time and zone, e.g. Mon 9 March 2026 at 10:00 EDT",
    "date": "e.g. Mon 9 March 2026",
    "time": "start time, e.g. 10:00",
    "end_time": "end time, e.g. 10:30",
    "tz": "the zone's abbreviation on that day, e.g. EDT",
    "duration_min": "length in minutes",
    "lead": "reminders: how long before, e.g. 'in 2 hours', 'tomorrow'",
    "previous_when": "rescheduled notices: the old time (may be empty)",
    "start": "the local start as a datetime (e.g. start.strftime('%H:%M'))",
    "intake_link": "the customer's own link to the intake form (empty when nothing is left to fill in)",
    "pre_visit_instructions": "the appointment type's pre-visit instructions (may be empty)",
}


@dataclass(frozen=True)
class Wording:
    subject: str | None  # None for SMS
    body: str
    enabled: bool = True
    is_default: bool = True


def default_wording(kind: str, channel: str) -> Wording:
    if channel == "email":
        subject, body = _EMAIL[kind]
        return Wording(subject, body)
    return Wording(None, _SMS[kind])


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=512)
def _compiled(source: str):
    return _env.from_string(source)


def _day(local: datetime) -> str:
    return f"{local:%a} {local.day} {local:%B %Y}"


def lead_text(offset_min: int | None) -> str:
    if not offset_min:
        return "soon"
    if offset_min % 1440 == 0:
        days = offset_min // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if offset_min % 60 == 0:
        hours = offset_min // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {offset_min} minutes"


def context(
    *,
    customer_name: str,
    type_name: str,
    provider_name: str,
    location_name: str,
    address: str | None,
    tz: str,
    start: datetime,
    end: datetime,
    offset_min: int | None = None,
    previous_start: datetime | None = None,
    intake_link: str = "",
    pre_visit_instructions: str | None = None,
) -> dict:
    """The names a template can use, with times in the location's zone `tz`."""
    local, local_end = to_local(start, tz), to_local(end, tz)
    previous = to_local(previous_start, tz) if previous_start else None
    return {
        "customer_name": customer_name,
        "first_name": (customer_name or "").split(" ")[0] or customer_name,
        "type": type_name,
        "provider": provider_name,
        "location": location_name,
        "address": address or "",
        "when": f"{_day(local)} at {local:%H:%M} {local.tzname()}",
        "date": _day(local),
        "time": f"{local:%H:%M}",
        "end_time": f"{local_end:%H:%M}",
        "tz": local.tzname(),
        "duration_min": int((end - start) / timedelta(minutes=1)),
        "lead": lead_text(offset_min),
        "previous_when": f"{_day(previous)} at {previous:%H:%M} {previous.tzname()}" if previous else "",
        "start": local,
        "intake_link": intake_link,
        "pre_visit_instructions": (pre_visit_instructions or "").strip(),
    }


def sample_context() -> dict:
    from datetime import UTC

    start = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    return context(
        customer_name="Ada Lovelace",
        type_name="Consultation",
        provider_name="Dr. Rao",
        location_name="Downtown",
        address="1 Main St",
        tz="America/New_York",
        start=start,
        end=start + timedelta(minutes=30),
        offset_min=120,
        previous_start=start - timedelta(days=1),
        intake_link="https://example.org/intake?t=sample",
        pre_visit_instructions="Bring your insurance card and arrive 10 minutes early.",
    )


def render(wording: Wording, values: dict) -> tuple[str | None, str]:
    """(subject, body). Raises jinja2's TemplateError for a broken template."""
    subject = _compiled(wording.subject).render(values).strip() if wording.subject is not None else None
    if subject is not None:
        subject = " ".join(subject.split())[:255]
    return subject, _compiled(wording.body).render(values).strip()


def explain(part: str, exc: Exception) -> str:
    """A sentence for a template error."""
    if isinstance(exc, TemplateSyntaxError):
        return f"The {part} has a mistake on line {exc.lineno}: {exc.message}."
    if isinstance(exc, UndefinedError):
        return f"The {part} uses a name that does not exist ({exc.message}). You can use: {', '.join(FIELDS)}."
    if isinstance(exc, SecurityError):
        return f"The {part} tries something templates may not do: {exc}."
    return f"The {part} cannot be rendered: {str(exc).rstrip('.')}."


def check(channel: str, subject: str | None, body: str, values: dict | None = None) -> tuple[str | None, str]:
    """Validate a template as it is saved or previewed; returns the rendered (subject, body) or
    raises ValidationError with a sentence saying what to fix."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("The message text is empty.")
    if len(body) > BODY_MAX:
        raise ValidationError(f"The message text can be at most {BODY_MAX} characters (this one has {len(body)}).")
    if channel == "email":
        subject = (subject or "").strip()
        if not subject:
            raise ValidationError("An email needs a subject.")
    else:
        subject = None
    values = values or sample_context()
    for part, source in (("subject", subject), ("message text", body)):
        if source is None:
            continue
        try:
            _compiled(source).render(values)
        except Exception as exc:  # noqa: BLE001 - a template can fail in many ways (range too big, 1/0): say which
            raise ValidationError(explain(part, exc)) from None
    rendered_subject, rendered_body = render(Wording(subject, body), values)
    if rendered_subject is not None and len(rendered_subject) > SUBJECT_MAX:
        raise ValidationError(
            f"The subject comes out {len(rendered_subject)} characters long; keep it under {SUBJECT_MAX}."
        )
    if channel == "sms" and len(rendered_body) > SMS_MAX:
        raise ValidationError(
            f"The text message comes out {len(rendered_body)} characters long; keep it under {SMS_MAX}."
        )
    return rendered_subject, rendered_body
