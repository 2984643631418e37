"""The server's second run freezes start-up's objects out of the garbage collector's scans and
raises the young threshold, once per process; later runs change nothing."""

from __future__ import annotations

import gc

import pytest

from pages import startup

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh_collector(monkeypatch):
    threshold = gc.get_threshold()
    gc.unfreeze()
    monkeypatch.setattr(startup, "_runs", 0)
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_second_run_settles_the_collector_once(fresh_collector):
    older = gc.get_threshold()[1:]
    assert startup.after_run_started() is False  # the first run is still importing the pages
    assert gc.get_freeze_count() == 0
    assert startup.after_run_started() is True
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (startup.YOUNG_THRESHOLD, *older)
    frozen = gc.get_freeze_count()
    assert startup.after_run_started() is False and startup.settle_garbage_collector() is False
    assert gc.get_freeze_count() == frozen
