"""Column types as the migrations create them, frozen here: a migration means the same forever,
so it never imports the app's own types (core.base.db.UTCDateTime may change; what it was when
these tables were made may not).

An instant is TIMESTAMP WITH TIME ZONE on PostgreSQL and DATETIME on SQLite, which is the DDL the
app's UTCDateTime renders (it stores naive UTC on SQLite)."""

from __future__ import annotations

import sqlalchemy as sa


def UTCDateTime(timezone: bool = True) -> sa.DateTime:  # noqa: N802 - reads like the type it stands for
    """An instant's column type (timestamptz / DATETIME); `timezone` is accepted as the old calls pass it."""
    return sa.DateTime(timezone=True)
