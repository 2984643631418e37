"""The periodic jobs the worker runs (`python -m core worker`).

A capability registers its job where it lives:

    @job("detect-exceptions", every=timedelta(minutes=5))
    def detect(now: datetime) -> str:
        ...
        return "opened 3, resolved 1"      # the worker logs this line

A job must be safe to run on several machines at once (claim work with row locks or unique
constraints); the worker adds a per-job lease so that one pass runs at a time. `core.bootstrap`
imports every module that registers a job, so `registered()` always sees them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], str]


_jobs: dict[str, Job] = {}


def job(name: str, *, every: timedelta) -> Callable[[Callable[[datetime], str]], Callable[[datetime], str]]:
    def register(fn: Callable[[datetime], str]) -> Callable[[datetime], str]:
        _jobs[name] = Job(name, every, fn)
        return fn

    return register


def registered() -> list[Job]:
    importlib.import_module("core.bootstrap")
    return sorted(_jobs.values(), key=lambda j: j.name)
