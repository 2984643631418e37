"""The periodic jobs the worker runs (`python -m core worker`).

A capability marks its job where it lives:

    @job("detect-exceptions", every=timedelta(minutes=5))
    def detect(now: datetime) -> str:
        ...
        return "opened 3, resolved 1"      # the worker logs this line

and its module is listed in `core.bootstrap.JOBS`. A job must be safe to run on several machines
at once (claim work with row locks or unique constraints); the worker adds a per-job lease so
that one pass runs at a time.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType

from core.base.registry import Registry


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], str]


JOBS: Registry[Job] = Registry("worker job")


def job(name: str, *, every: timedelta) -> Callable[[Callable[[datetime], str]], Callable[[datetime], str]]:
    def mark(fn: Callable[[datetime], str]) -> Callable[[datetime], str]:
        return JOBS.mark(fn, Job(name, every, fn))

    return mark


def install(modules: list[ModuleType]) -> None:
    JOBS.install(modules)


def registered() -> list[Job]:
    by_name = {j.name: j for j in JOBS.entries()}  # a later mark of the same name wins, as before
    return sorted(by_name.values(), key=lambda j: j.name)


@dataclass
class PassSummary:
    """What one pass of an outbox sender did, counted by outcome; `line()` is what the worker logs."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[outcome] = self.counts.get(outcome, 0) + n

    def get(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)

    def line(self) -> str:
        if not self.counts:
            return "nothing due"
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.counts.items()))


def new_sender_id() -> str:
    """Who claimed an outbox row: this machine, process and pass (rows left `sending` name it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
