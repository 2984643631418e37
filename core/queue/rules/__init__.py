"""Every detection rule, in the order a pass runs them (the order also fixes the order in which
item rows are locked, so two passes never deadlock). One module per family."""

from core.queue import kinds
from core.queue.rules.appointments import (
    IntakeMissing,
    LateCancel,
    NoShowFollowUp,
    NoShowRisk,
    RebookCall,
    Unconfirmed,
)
from core.queue.rules.base import Cause, Rule, Scope
from core.queue.rules.calendar import (
    CalendarBroken,
    CalendarChanged,
    CalendarDeleted,
    CalendarOverlap,
    CalendarPushFailed,
)
from core.queue.rules.inquiries import InquiryUnanswered
from core.queue.rules.schedule import NotificationFailed, OutsideHours, WaitlistOfferOpen

# OutsideHours comes before NoShowRisk, IntakeMissing and Unconfirmed: while an appointment cannot
# take place as booked, those wait (rules.appointments.cannot_take_place), from the same pass on.
# NoShowRisk comes before Unconfirmed, which waits while the high-risk item is open.
RULES: tuple[Rule, ...] = (
    CalendarOverlap(), CalendarChanged(), CalendarDeleted(), CalendarPushFailed(), CalendarBroken(), OutsideHours(),
    NoShowRisk(), IntakeMissing(), Unconfirmed(), NoShowFollowUp(), WaitlistOfferOpen(), LateCancel(),
    NotificationFailed(), RebookCall(), InquiryUnanswered(),
)  # fmt: skip
BY_KIND = {rule.kind: rule for rule in RULES}
APPOINTMENT_RULES = tuple(r for r in RULES if kinds.KINDS[r.kind].subject == "appointment")

__all__ = ["APPOINTMENT_RULES", "BY_KIND", "RULES", "Cause", "Rule", "Scope"]
