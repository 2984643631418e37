"""The composition root: every marked handler, job and fixing action is in core.bootstrap's lists
(or it would never run), handlers run in the listed order, and a registry read before
bootstrap is a clear error, not a silent empty answer."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import core
from core import bootstrap
from core.base import bus, jobs
from core.base.config import ROOT
from core.base.registry import NotBootstrapped, Registry
from core.people.events import CustomerCreated, CustomerUpdated
from core.queue import actions
from core.scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentsImported,
    DemoSeeded,
    ProviderScheduleChanged,
    SlotFreed,
)

LISTS = {bus.HANDLERS: bootstrap.HANDLERS, jobs.JOBS: bootstrap.JOBS, actions.ACTIONS: bootstrap.FIXING_ACTIONS}


def _core_modules():
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if ".migrations" not in info.name and info.name != "core.__main__":
            yield importlib.import_module(info.name)


def test_every_marked_handler_job_and_fixing_action_is_in_a_bootstrap_list():
    missing = [
        f"{module.__name__} marks {registry.what}s but is not in its list in core/bootstrap.py"
        for module in _core_modules()
        for registry, listed in LISTS.items()
        if registry.marked_in(module) and module not in listed
    ]
    assert missing == []


def test_every_command_module_registers_commands():
    assert all(callable(getattr(module, "register", None)) for module in bootstrap.COMMANDS)


def _names(event_type: type) -> list[str]:
    return [f"{h.__module__}.{h.__name__}" for h in bus.handlers_for(event_type)]


def test_handlers_run_in_the_listed_order_own_class_first():
    assert _names(SlotFreed) == [
        "core.scheduling.waitlist.offers._on_slot_freed",
        "core.queue.subscribers._on_slot_freed",  # after the waitlist: it sees the offers just made
    ]
    assert _names(AppointmentBooked) == [
        "core.intake.events._on_booked",  # pins the form version and says whether the intake is complete
        "core.scheduling.waitlist.offers._on_booked",
        "core.calendar_sync.push._queue_push",
        "core.calendar_sync.fixes._settle_on_change",
        "core.metrics.rollup._on_appointment_changed",
        "core.notifications.enqueue.on_appointment_changed",
        "core.webhooks.enqueue.on_appointment_changed",
        "core.intake.announce._on_booked",  # after the booking's own webhook: intake.completed comes second
        "core.queue.subscribers._on_appointment_changed",
    ]
    assert _names(AppointmentCancelled) == _names(AppointmentBooked)[2:]
    assert _names(ProviderScheduleChanged) == [
        "core.metrics.rebuild._on_schedule_changed",
        "core.queue.subscribers._on_schedule_changed",
    ]
    assert _names(AppointmentsImported) == [
        "core.metrics.rebuild._on_import",
        "core.notifications.reconcile.on_import",
    ]
    assert _names(DemoSeeded) == ["core.intake.demo.on_demo_seeded", "core.notifications.demo.on_demo_seeded"]
    assert _names(CustomerCreated) == ["core.webhooks.enqueue.on_customer_changed"]
    assert _names(CustomerUpdated) == ["core.webhooks.enqueue.on_customer_changed"]


def test_the_worker_jobs_and_fixing_actions_are_the_listed_ones():
    assert [j.name for j in jobs.registered()] == [
        "calendar-sync",
        "deliver-webhooks",
        "detect-exceptions",
        "expire-booking-requests",
        "prune-metrics",
        "purge-webhook-log",
        "score-no-show",
        "send-notifications",
        "train-no-show",
    ]
    assert [a.name for a in actions.actions_for("calendar_changed")] == ["accept_google", "keep_ours"]
    assert [a.name for a in actions.actions_for("waitlist_offer")] == ["book_offer", "dismiss_offer"]
    assert [a.name for a in actions.actions_for("booking_request")] == ["confirm_request", "decline_request"]
    assert [a.name for a in actions.actions_for("no_show_risk")] == ["confirm"]
    assert [a.name for a in actions.actions_for("intake_missing")] == ["intake_received", "send_intake_link"]


def test_a_registry_read_before_it_is_installed_says_to_call_bootstrap():
    registry: Registry[int] = Registry("example")
    with pytest.raises(NotBootstrapped, match=r"call core\.bootstrap\.bootstrap\(\) once"):
        registry.entries()


def test_publishing_in_a_program_that_never_bootstrapped_fails_loudly():
    code = "from core.base import bus; bus.publish(None, object())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "NotBootstrapped: The event handler registry is read before it is filled" in done.stderr


def test_importing_a_module_that_marks_handlers_registers_nothing():
    code = (
        "from core.metrics import rollup; from core.base import bus\n"
        "try:\n    bus.handlers_for(object)\nexcept Exception as exc:\n    print(type(exc).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "NotBootstrapped", done.stderr


def test_bootstrap_twice_installs_once():
    before = len(bus.HANDLERS.entries())
    bootstrap.bootstrap()
    assert len(bus.HANDLERS.entries()) == before
