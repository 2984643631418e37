"""`python -m core detect-exceptions [--location NAME]`: one full detection pass."""

from __future__ import annotations

from sqlalchemy import select

from core.base.db import read_session
from core.base.errors import NotFound
from core.base.models import Location
from core.queue import detect


def cmd_detect(args) -> int:
    location_ids = None
    if args.location:
        with read_session() as session:
            location_id = session.scalar(select(Location.id).where(Location.name == args.location))
            names = ", ".join(session.scalars(select(Location.name).order_by(Location.name)))
        if location_id is None:
            raise NotFound(f"No location named '{args.location}'. Locations: {names or 'none yet'}.")
        location_ids = [location_id]
    result = detect.detect_all(location_ids=location_ids)
    print(f"Exceptions queue: {result.describe()}.")
    return 0


def register(sub) -> None:
    p = sub.add_parser("detect-exceptions", help="run every exceptions-queue rule once; print what opened and resolved")
    p.add_argument("--location", help="only this location (its name)")
    p.set_defaults(func=cmd_detect)
