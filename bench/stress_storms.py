"""Booking storms, again and again: `python -m bench.stress_storms [--runs 30] [--kind postgresql]`.

Runs tests/test_booking_storm.py (the 50-way storms, the partial overlaps, the group session's
capacity and the routed storm) `--runs` times, each in a fresh pytest process, and counts the
runs where a loser was told "Others were changing this schedule at the same moment..." (three
deadlocks in a row) and the deadlock retries logged along the way. Not part of the normal suite
or of `make bench` (minutes, many connections); exit 1 if any run failed."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

from core.scheduling.conflicts import BUSY

RETRIED = re.compile(r"booking retried after (\w+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress_storms", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--kind", choices=["postgresql", "sqlite", "both"], default="postgresql")
    args = parser.parse_args(argv)
    select = [] if args.kind == "both" else ["-k", args.kind]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_booking_storm.py",
               *select, "-o", "log_cli=true", "--log-cli-level=WARNING"]  # fmt: skip
    env = os.environ | {"REQUIRE_POSTGRES": "1"}
    failed = busy = 0
    retries: dict[str, int] = {}
    started = time.perf_counter()
    for n in range(1, args.runs + 1):
        run = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        output = run.stdout + run.stderr
        for code in RETRIED.findall(output):
            retries[code] = retries.get(code, 0) + 1
        saw_busy = BUSY.split(" and ")[0] in output
        busy += saw_busy
        failed += run.returncode != 0
        summary = (output.strip().splitlines() or ["(no output)"])[-1]
        print(f"run {n:2}/{args.runs}: {'BUSY seen; ' if saw_busy else ''}{summary}", flush=True)
    print(
        f"{args.runs} runs in {time.perf_counter() - started:.0f} s: {failed} failed, {busy} with the 'try again' "
        f"answer, deadlock/serialization retries logged: {retries or 'none'}"
    )
    return 1 if failed or busy else 0


if __name__ == "__main__":
    raise SystemExit(main())
