"""Waitlist: customers waiting for a type at a location between two local dates (optionally with
one provider, on preferred weekdays and times), and the offers freed slots make to them.

`entries` adds, lists and removes entries; `offers` turns freed slots into offers the front desk
books or dismisses (and subscribes to booking's events for it)."""

from core.scheduling.waitlist.entries import (
    ACTIVE_ENTRY,
    WEEKDAYS,
    EntryView,
    Preferences,
    add_entry,
    remove_entry,
    waiting_entries,
)
from core.scheduling.waitlist.offers import (
    MAX_OFFERS_PER_SLOT,
    OfferView,
    book_offer,
    create_offers_for_freed_slot,
    dismiss_offer,
    open_offers,
    withdraw_offers_taken_by,
)

__all__ = [
    "ACTIVE_ENTRY",
    "MAX_OFFERS_PER_SLOT",
    "WEEKDAYS",
    "EntryView",
    "OfferView",
    "Preferences",
    "add_entry",
    "book_offer",
    "create_offers_for_freed_slot",
    "dismiss_offer",
    "open_offers",
    "remove_entry",
    "waiting_entries",
    "withdraw_offers_taken_by",
]
