"""The queue's vocabulary: every kind of item, its dedupe key, and the words the page shows.
Other capabilities raise items with these kinds and keys (core.queue.items.raise_item); nobody
spells a kind or a key by hand.

    kind                 key                                     raised by
    calendar_overlap     calendar_overlap:{appointment_id}       queue rule (busy blocks)
    calendar_changed     calendar_changed:{appointment_id}       calendar sync (moved/edited in Google)
    calendar_deleted     calendar_deleted:{appointment_id}       calendar sync (deleted in Google)
    calendar_broken      calendar_broken:{provider_id}           calendar sync, and the queue rule
    calendar_push_failed calendar_push_failed:{appointment_id}   calendar sync (Google refused the event 3 times)
    intake_missing       intake_missing:{appointment_id}         queue rule
    unconfirmed          unconfirmed:{appointment_id}            queue rule
    no_show_followup     no_show_followup:{appointment_id}       queue rule
    waitlist_offer       waitlist_offer:{offer_id}               queue rule
    late_cancel          late_cancel:{appointment_id}            queue rule
    outside_hours        outside_hours:{appointment_id}          queue rule (hours, time off)
    notification_failed  notification_failed:{outbox_id}        notifications
    rebook_call          rebook_call:{appointment_id}            settings (bulk cancel)
    webhook_failing      webhook_failing:{endpoint_id}           webhooks (failing for 24 hours)
    booking_request      booking_request:{appointment_id}        inquiries (a held web request)
    inquiry_unanswered   inquiry_unanswered:{inquiry_id}         queue rule (open, unbooked, unclosed)
    no_show_risk         no_show_risk:{appointment_id}           queue rule (stored no-show scores)
"""

from __future__ import annotations

from dataclasses import dataclass

CALENDAR_OVERLAP = "calendar_overlap"
CALENDAR_CHANGED = "calendar_changed"
CALENDAR_DELETED = "calendar_deleted"
CALENDAR_BROKEN = "calendar_broken"
CALENDAR_PUSH_FAILED = "calendar_push_failed"
INTAKE_MISSING = "intake_missing"
UNCONFIRMED = "unconfirmed"
NO_SHOW_FOLLOWUP = "no_show_followup"
WAITLIST_OFFER = "waitlist_offer"
LATE_CANCEL = "late_cancel"
OUTSIDE_HOURS = "outside_hours"
NOTIFICATION_FAILED = "notification_failed"
REBOOK_CALL = "rebook_call"
WEBHOOK_FAILING = "webhook_failing"
BOOKING_REQUEST = "booking_request"
INQUIRY_UNANSWERED = "inquiry_unanswered"
# How long an inquiry may wait for an answer (a booking or a closing reason) before it is queued:
# each location's inquiry_answer_minutes, 5 to 1,440 business minutes (migration 0030).
SHORTEST_ANSWER_MINUTES = 5
NO_SHOW_RISK = "no_show_risk"

# Rule windows (hours ahead of the start; per appointment type in queue_type_windows).
DEFAULT_INTAKE_HOURS = 24
DEFAULT_CONFIRM_HOURS = 48
# How long a no-show waits for a rebook, and a late cancellation for review, before the item lapses.
FOLLOW_UP_DAYS = 14
LATE_CANCEL_REVIEW_DAYS = 7
# How far ahead a high-risk, unconfirmed appointment is worth a call.
NO_SHOW_RISK_HOURS = 72


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # the page's name for it
    subject: str  # what the key's id is: appointment | provider | offer | outbox
    hint: str  # what to do about it


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(CALENDAR_OVERLAP, "Overlaps a Google event", "appointment",
             "The provider has a Google Calendar event at the same time: move one of them."),
        Kind(CALENDAR_CHANGED, "Changed in Google", "appointment",
             "The event was moved or edited in Google Calendar: accept Google's version or keep ours."),
        Kind(CALENDAR_DELETED, "Deleted in Google", "appointment",
             "The event was deleted in Google Calendar: cancel the appointment or push it back."),
        Kind(CALENDAR_BROKEN, "Calendar connection broken", "provider",
             "Syncing this provider's calendar keeps failing: an admin reconnects it."),
        Kind(CALENDAR_PUSH_FAILED, "Calendar push failed", "appointment",
             "Google refused this appointment's event (its reason is shown) and it is no longer sent: "
             "fix what Google names, then try the push again."),
        Kind(INTAKE_MISSING, "Intake missing", "appointment",
             "Required intake answers are missing and the appointment is soon: collect them."),
        Kind(UNCONFIRMED, "Unconfirmed", "appointment", "Soon and still not confirmed: call the customer."),
        Kind(NO_SHOW_FOLLOWUP, "No-show to follow up", "appointment",
             "The customer did not come and has nothing booked since: offer a new time."),
        Kind(WAITLIST_OFFER, "Waitlist offer", "offer",
             "A freed slot matches a waiting customer: book it for them or dismiss the offer."),
        Kind(LATE_CANCEL, "Late cancellation", "appointment",
             "Cancelled inside the type's cancellation window: review it (fee, note, rebook)."),
        Kind(OUTSIDE_HOURS, "Outside working hours", "appointment",
             "Hours or time off changed and this appointment no longer fits: move it or keep it."),
        Kind(NOTIFICATION_FAILED, "Message not delivered", "outbox",
             "A confirmation or reminder could not be sent: contact the customer another way."),
        Kind(REBOOK_CALL, "Call to rebook", "appointment",
             "The appointment was cancelled by the practice: call the customer to rebook."),
        Kind(WEBHOOK_FAILING, "Webhook failing", "endpoint",
             "A webhook endpoint has failed for a day: fix the receiver, then replay from Admin -> Webhooks."),
        Kind(BOOKING_REQUEST, "Booking request", "appointment",
             "A customer asked for this time online and it is held for them: confirm or decline it."),
        Kind(INQUIRY_UNANSWERED, "Inquiry not answered", "inquiry",
             "Someone asked for an appointment and has no answer yet: book them or close it with a reason."),
        Kind(NO_SHOW_RISK, "High risk, not confirmed", "appointment",
             "Likely to be missed and not confirmed yet: call the customer to confirm."),
    )
}  # fmt: skip


def key(kind: str, subject_id: int) -> str:
    """The dedupe key of `kind` for its subject (an appointment, provider, offer or outbox id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown queue item kind {kind!r}: add it to core.queue.kinds")
    return f"{kind}:{subject_id}"


def subject_id(dedupe_key: str) -> int:
    return int(dedupe_key.rsplit(":", 1)[1])


def label(kind: str) -> str:
    return KINDS[kind].label if kind in KINDS else kind.replace("_", " ").capitalize()
