"""`python -m core detect-exceptions [--location NAME]`: one full detection pass."""

from __future__ import annotations

from sqlalchemy import select

from core.base.db import read_session
from core.base.errors import NotFound
from core.base.models import Location
from core.queue import detect


def location_named(name: str) -> int:
    """The id of the location called `name`; NotFound naming the known ones otherwise."""
    with read_session() as session:
        location_id = session.scalar(select(Location.id).where(Location.name == name))
        names = ", ".join(session.scalars(select(Location.name).order_by(Location.name)))
    if location_id is None:
        raise NotFound(f"No location named '{name}'. Locations: {names or 'none yet'}.")
    return location_id


def cmd_detect(args) -> int:
    location_ids = [location_named(args.location)] if args.location else None
    result = detect.detect_all(location_ids=location_ids)
    print(f"Exceptions queue: {result.describe()}.")
    return 0


def register(sub) -> None:
    p = sub.add_parser("detect-exceptions", help="run every exceptions-queue rule once; print what opened and resolved")
    p.add_argument("--location", help="only this location (its name)")
    p.set_defaults(func=cmd_detect)
