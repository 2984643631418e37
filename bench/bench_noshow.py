"""No-show model: training on every finished appointment of the big database (target: under
60 s), and scoring the next 14 days (target: under 2 s); the model and scores it wrote are removed."""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select

from bench.common import open_bench_db, report, timed
from core.base.db import read_session, unit_of_work
from core.base.models import NoShowModel, NoShowScore
from core.noshow import scoring, training


def main() -> None:
    if not open_bench_db():
        return
    with read_session() as s:
        before = s.scalar(select(func.max(NoShowModel.id))) or 0
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        row = training.train()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        finished = row.figures.get("finished", 0)
        print(f"   train: {finished:,} finished appointments in {seconds:.1f} s (CPU of this process {cpu:.1f} s)"
              "   [target: under 60 s]", flush=True)  # fmt: skip
        print(f"   {training.describe(row)}", flush=True)
        if row.status == "ready":
            result = scoring.score_upcoming()
            print(f"   score: {result.describe()}", flush=True)
            report("score the next 14 days", timed(scoring.score_upcoming, repeat=3, warmup=1), "under 2000 ms")
    finally:
        with unit_of_work() as s:
            mine = select(NoShowModel.id).where(NoShowModel.id > before)
            s.execute(delete(NoShowScore).where(NoShowScore.model_id.in_(mine)))
            s.execute(delete(NoShowModel).where(NoShowModel.id > before))
