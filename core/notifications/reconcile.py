"""Every upcoming appointment gets its reminders, whatever wrote it.

Booking's events write the outbox for what booking does. Appointments written any other way (a
CSV import, the demo's bulk load, anything from before notifications existed) have no messages;
`schedule_missing`, run at the start of every send pass, gives each upcoming booked or confirmed
appointment the reminders it should have and lacks. It looks only as far ahead as the longest
reminder offset and a day (a later appointment is reached on a later pass, a day before its
first reminder is due), skips appointments that already have a reminder still ahead for their start (booking wrote
them, or an earlier pass did), and inserts with the same idempotency keys as booking, ignoring any that
exist: run it twice, or on two machines at once, and the outbox is the same. It writes in small
transactions, so the outbox is never locked for long. Never anything for past, cancelled or
checked-in appointments, nor on a channel the customer opted out of.

No confirmation: a customer whose appointment was imported hears first from its reminder, unless
the import asked for confirmations (`import-appointments --notify`), which `on_import` queues in
the import's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, Status
from core.notifications.enqueue import idempotency_key
from core.notifications.models import CHANNELS, NotificationOptOut, NotificationOutbox, NotificationSchedule
from core.notifications.store import DEFAULT_REMINDER_OFFSETS_MIN, disabled_of, schedule_of
from core.scheduling.events import AppointmentsImported

WAITING = (Status.BOOKED.value, Status.CONFIRMED.value)
CHUNK = 200  # outbox rows a transaction: the outbox is locked for tens of milliseconds at a time
LEAD = timedelta(days=1)  # an appointment is reached this long before its first reminder is due


def horizon(session: Session) -> timedelta:
    """The longest reminder offset of any appointment type (the defaults included)."""
    longest = max(DEFAULT_REMINDER_OFFSETS_MIN, default=0)
    for offsets in session.scalars(select(NotificationSchedule.reminder_offsets_min)):
        longest = max([longest, *(int(m) for m in offsets or ())])
    return timedelta(minutes=longest)


class _Planner:
    """Turns appointments into the outbox rows they lack, with each type's schedule read once."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        self.types: dict[int | None, tuple[tuple[int, ...], set[tuple[str, str]]]] = {}

    def _type(self, type_id: int | None):
        if type_id not in self.types:
            s = self.session
            self.types[type_id] = (schedule_of(s, type_id).reminder_offsets_min, disabled_of(s, type_id))
        return self.types[type_id]

    def rows(self, appts: list, *, confirm: bool = False) -> list[dict]:
        customers = {a.customer_id for a in appts}
        opted: set[tuple[int, str]] = set()
        for part in _chunks(sorted(customers), CHUNK):
            opted |= set(
                self.session.execute(
                    select(NotificationOptOut.customer_id, NotificationOptOut.channel).where(
                        NotificationOptOut.customer_id.in_(part)
                    )
                )
            )
        out = []
        for a in appts:
            offsets, disabled = self._type(a.type_id)
            wanted = [("confirmation", None, self.now)] if confirm else []
            wanted += [("reminder", m, a.start_at - timedelta(minutes=m)) for m in offsets]
            for kind, offset, due in wanted:
                if kind == "reminder" and due <= self.now:  # its time has passed: it would only repeat
                    continue
                for channel in CHANNELS:
                    if (kind, channel) in disabled or (a.customer_id, channel) in opted:
                        continue
                    out.append(_row(a, kind, channel, offset, due, self.now))
        return out


def _row(a, kind: str, channel: str, offset: int | None, due: datetime, now: datetime) -> dict:
    return {
        "idempotency_key": idempotency_key(a.id, kind, channel, a.start_at, offset),
        "appointment_id": a.id, "location_id": a.location_id, "customer_id": a.customer_id,
        "channel": channel, "kind": kind, "offset_min": offset, "written_for": a.start_at, "payload": {},
        "due_at": due, "next_attempt_at": due, "status": "pending", "attempts": 0,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def insert_missing(session: Session, rows: list[dict]) -> int:
    """Insert the rows whose idempotency key is not in the outbox yet; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NotificationOutbox)
    stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(NotificationOutbox.id)
    return len(session.execute(stmt, rows).all())


def _upcoming(now: datetime):
    """Booked or confirmed appointments that start after `now`: the columns a plan needs."""
    cols = (Appointment.id, Appointment.start_at, Appointment.type_id, Appointment.location_id, Appointment.customer_id)
    return select(*cols).where(Appointment.start_at > now, Appointment.status.in_(WAITING))


def _upcoming_without_reminders(session: Session, now: datetime) -> list:
    has_reminder = exists().where(
        NotificationOutbox.appointment_id == Appointment.id,
        NotificationOutbox.kind == "reminder",
        NotificationOutbox.written_for == Appointment.start_at,
        NotificationOutbox.due_at > now,
    )
    return list(
        session.execute(
            _upcoming(now)
            .where(
                Appointment.start_at <= now + horizon(session) + LEAD,
                ~has_reminder,
            )
            .order_by(Appointment.start_at)
        )  # fmt: skip
    )


def missing_rows(session: Session, now: datetime) -> list[dict]:
    """The outbox rows (reminders still ahead of `now`) that upcoming appointments lack."""
    appts = _upcoming_without_reminders(session, now)
    return _Planner(session, now).rows(appts) if appts else []


def schedule_missing(now: datetime) -> int:
    """Queue the reminders upcoming appointments lack; how many outbox rows were added."""
    with read_session() as s:
        rows = missing_rows(s, now)
    added = 0
    for part in _chunks(rows, CHUNK):
        with unit_of_work() as s:
            added += insert_missing(s, part)
    return added


@subscribe(AppointmentsImported)
def on_import(session: Session, event: AppointmentsImported) -> None:
    """`import-appointments --notify`: the confirmation and reminders for each upcoming
    appointment this import wrote (its rows carry the import's write time)."""
    if not event.notify or not event.location_ids:
        return
    appts = list(
        session.execute(
            _upcoming(event.at).where(
                and_(
                    Appointment.source == "import",
                    Appointment.updated_at == event.at,
                    Appointment.location_id.in_(event.location_ids),
                )
            )
        )  # fmt: skip
    )
    planner = _Planner(session, event.at)
    for part in _chunks(appts, CHUNK):
        insert_missing(session, planner.rows(part, confirm=True))
