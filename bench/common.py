"""Shared set-up for benchmarks: the large demo database and a median timer."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from core.base.config import ROOT, reset_settings
from core.base.db import dispose_engines

BENCH_DB = Path(os.environ.get("BENCH_DB", ROOT / "data" / "bench.db"))
BENCH_APPOINTMENTS = int(os.environ.get("BENCH_APPOINTMENTS", "1000000"))


def use_bench_db() -> str:
    """Point the app's settings at the benchmark database (built by bench_seed)."""
    url = f"sqlite:///{BENCH_DB}"
    os.environ["DATABASE_URL"] = url
    reset_settings()
    dispose_engines()
    return url


def open_bench_db() -> bool:
    """Point the settings at the benchmark database; False (with a line saying why) when
    bench_seed has not built it yet."""
    if not BENCH_DB.exists():
        print(f"   no benchmark database at {BENCH_DB}: run `make bench` (it seeds the database first)")
        return False
    use_bench_db()
    return True


def timed(fn: Callable[[], object], repeat: int = 20, warmup: int = 2) -> dict[str, float]:
    """Run fn; return median / p90 / min in milliseconds, and the median CPU time of this
    process (on a shared machine the wall clock also counts waiting for a core; a database
    server's own time is not in it)."""
    for _ in range(warmup):
        fn()
    samples, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p90_ms": samples[min(len(samples) - 1, int(len(samples) * 0.9))],
        "min_ms": samples[0],
        "cpu_median_ms": statistics.median(cpu),
        "runs": len(samples),
    }


def report(label: str, figures: dict[str, float], target: str | None = None) -> None:
    parts = ", ".join(f"{k}={_figure(v)}" for k, v in figures.items())
    print(f"   {label}: {parts}" + (f"   [target: {target}]" if target else ""), flush=True)


def _figure(value: object) -> str:
    """Floats with one decimal, or two under 10 (a ratio of 0.46 must not print as 0.5)."""
    if not isinstance(value, float):
        return str(value)
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
