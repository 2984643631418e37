"""Booking services: book, confirm, check in, complete, no-show (and undo
the last of those), cancel, reschedule, notes, intake.

Each is one service call (core.security.service): permission check, validation (the same
`Engine` rules as the free-slot search, checked inside the write transaction), the change, an
AppointmentHistory row, the audit row, and the domain event that tells the other capabilities
(waitlist, queue, calendar push, reminders, rollups) what happened, all in one transaction.
What applies from which status is `transitions`; the database's overlap rules are the guarantee
against double booking (`conflicts`).
"""

from core.scheduling.booking.book import book, book_in
from core.scheduling.booking.intake import edit_intake, mark_intake_received
from core.scheduling.booking.lifecycle import (
    UNDO_WINDOW,
    add_note,
    cancel,
    cancel_preview,
    check_in,
    complete,
    confirm,
    mark_no_show,
    undo_status,
)
from core.scheduling.booking.reassign import cancel_in, reassign_in
from core.scheduling.booking.records import BookingResult, CancelPreview, customer_in_scope, loaded, snapshot
from core.scheduling.booking.reschedule import reschedule

__all__ = [
    "BookingResult", "CancelPreview", "add_note", "book", "book_in", "cancel", "cancel_in", "cancel_preview",
    "check_in", "complete", "confirm", "customer_in_scope", "loaded", "mark_no_show", "reassign_in", "reschedule",
    "snapshot", "edit_intake", "mark_intake_received", "undo_status", "UNDO_WINDOW",
]  # fmt: skip
