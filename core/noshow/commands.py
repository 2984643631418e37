"""`python -m core train-no-show | score-no-show | backtest-no-show`."""

from __future__ import annotations

import argparse
from datetime import date


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-01-31") from None


def cmd_train(args) -> int:
    from core.noshow import scoring, training

    row = training.train()
    print(training.describe(row))
    if row.status == "ready":
        print(scoring.score_upcoming().describe())
    return 0


def cmd_score(args) -> int:
    from core.noshow import scoring

    print(scoring.score_upcoming(days=args.days).describe())
    return 0


def cmd_backtest(args) -> int:
    from core.noshow import backtest

    bt = backtest.run(backtest.parse_split(args.split))
    if args.scores:
        backtest.write_scores(bt, args.scores)
    print(backtest.report(bt))
    return 0


def cmd_trends(args) -> int:
    from core.noshow import trends
    from core.security.access import SYSTEM

    location_id = None
    if args.location:
        from core.queue.commands import location_named

        location_id = location_named(args.location)
    t = trends.trends(SYSTEM, args.date_from, args.date_to, location_id=location_id)
    print(trends.describe(t))
    return 0


def register(sub) -> None:
    p = sub.add_parser("train-no-show", help="train the no-show model on this installation's history, then score")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("score-no-show", help="score the upcoming appointments with the latest no-show model")
    p.add_argument("--days", type=int, default=14, help="how many days ahead (default 14)")
    p.set_defaults(func=cmd_score)
    p = sub.add_parser(
        "no-show-trends", help="no-show and late-cancel rates by hour, weekday, lead time, reminder, customer"
    )
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first local date")
    p.add_argument(
        "--to", dest="date_to", type=_date, required=True, help="last local date (at least 12 weeks are read)"
    )
    p.add_argument("--location", help="only this location (its name)")
    p.set_defaults(func=cmd_trends)
    p = sub.add_parser("backtest-no-show", help="fit before a date, judge on the finished appointments from it on")
    p.add_argument("--split", required=True, help="first local day judged, YYYY-MM-DD")
    p.add_argument("--scores", help="write appointment_id, external_id, risk per judged appointment to this CSV")
    p.set_defaults(func=cmd_backtest)
