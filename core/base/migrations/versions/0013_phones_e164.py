"""Customers' phone numbers as E.164, read in the country of their home location's time zone

A number that does not read as a valid phone number is kept as typed (and counted in the log),
so nothing a person wrote is lost; search still finds it by its digits.

Revision ID: 0013
Revises: 0011
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.people import phones

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            """SELECT c.id, c.phone, l.timezone FROM customers c
               LEFT JOIN locations l ON l.id = c.home_location_id
               WHERE c.phone IS NOT NULL AND c.phone <> '' ORDER BY c.id"""
        )
    ).all()
    changes, kept = [], []
    for ident, phone, zone in rows:
        number = phones.parse(phone, phones.region_for_zone(zone))
        if number is None:
            kept.append(ident)
        elif phones.e164(number) != phone:
            changes.append({"id": ident, "phone": phones.e164(number)})
    update = sa.text("UPDATE customers SET phone = :phone WHERE id = :id")
    for start in range(0, len(changes), BATCH):
        bind.execute(update, changes[start : start + BATCH])
    log.info("phones: %d of %d normalised to E.164", len(changes), len(rows))
    if kept:
        log.warning(
            "phones: %d did not read as phone numbers and were kept as typed (customer ids %s%s)",
            len(kept),
            ", ".join(map(str, kept[:20])),
            ", ..." if len(kept) > 20 else "",
        )


def downgrade() -> None:
    pass  # the typed forms are gone; E.164 is a valid way to write every number
