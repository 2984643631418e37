"""What the queue does when something happens elsewhere, in that change's own transaction, and
the periodic full pass the worker runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.jobs import job
from core.queue import detect
from core.scheduling.events import AppointmentBooked, AppointmentChanged, ProviderScheduleChanged, SlotFreed

DETECT_EVERY = timedelta(minutes=5)


@subscribe(AppointmentChanged)
def _on_appointment_changed(session: Session, event: AppointmentChanged) -> None:
    detect.detect_for_appointments(session, event.at, [event.appointment_id])
    if isinstance(event, AppointmentBooked) and event.after.provider_id is not None:
        detect.detect_offers(session, event.at, provider_id=event.after.provider_id)


@subscribe(SlotFreed)
def _on_slot_freed(session: Session, event: SlotFreed) -> None:
    detect.detect_offers(session, event.at, freed_by=event.appointment_id)


@subscribe(ProviderScheduleChanged)
def _on_schedule_changed(session: Session, event: ProviderScheduleChanged) -> None:
    detect.detect_for_provider(session, event.at, event.provider_id)


@job("detect-exceptions", every=DETECT_EVERY)
def detect_exceptions(now: datetime) -> str:
    return detect.detect_all(now).describe()
