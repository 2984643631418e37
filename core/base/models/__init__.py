"""ORM models, by area: `common` (the base and enums), `org` (locations, rooms, providers, hours,
time off, appointment types), `appointments` (customers, appointments and their history,
inquiries, the waitlist), `security` (users, audit log) and `ops` (exceptions queue, calendar
sync, notifications outbox). `from core.base.models import X` works for every model.

Instants are UTC (UTCDateTime); local times (working hours) are naive `time` values interpreted
in the location's IANA time zone."""

from core.base.models.appointments import (
    CLOSE_REASONS,
    Appointment,
    AppointmentHistory,
    Customer,
    Inquiry,
    WaitlistEntry,
    WaitlistOffer,
)
from core.base.models.common import BLOCKING_STATUSES, NAMING, OPEN_STATUSES, Base, Role, Status, new_key
from core.base.models.intake import ConsentRecord, IntakeAnswers, IntakeFile
from core.base.models.noshow import NoShowModel, NoShowScore
from core.base.models.ops import BusyBlock, CalendarSyncState, ExceptionItem
from core.base.models.org import (
    AppointmentType,
    Location,
    Provider,
    Room,
    TimeOff,
    WorkingHours,
    provider_locations,
    type_locations,
)
from core.base.models.outbox import NotificationOutbox
from core.base.models.security import AuditChainHead, AuditChainLink, AuditLog, SignInSession, User, user_locations

__all__ = [
    "ConsentRecord",
    "IntakeAnswers",
    "IntakeFile",
    "AuditChainHead",
    "AuditChainLink",
    "SignInSession",
    "NotificationOutbox",
    "NoShowModel",
    "NoShowScore",
    "BLOCKING_STATUSES",
    "NAMING",
    "OPEN_STATUSES",
    "Appointment",
    "AppointmentHistory",
    "AppointmentType",
    "AuditLog",
    "Base",
    "BusyBlock",
    "CalendarSyncState",
    "Customer",
    "ExceptionItem",
    "CLOSE_REASONS",
    "Inquiry",
    "Location",
    "Provider",
    "Role",
    "Room",
    "Status",
    "TimeOff",
    "User",
    "WaitlistEntry",
    "WaitlistOffer",
    "WorkingHours",
    "new_key",
    "provider_locations",
    "type_locations",
    "user_locations",
]
