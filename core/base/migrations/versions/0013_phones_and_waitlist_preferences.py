"""Customers' phone numbers as E.164; waitlist entries' preferred weekdays and times

Phones are read in the country of the customer's home location's time zone. A number that does
not read as a valid phone number is kept as typed (and counted in the log), so nothing a person
wrote is lost; search still finds it by its digits. The reading is carried here, frozen as it
was applied (phonenumbers, and tzdata's zone.tab for a zone's country), not imported from the app.

Revision ID: 0013
Revises: 0011
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import phonenumbers
import sqlalchemy as sa
import tzdata
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("waitlist_entries") as batch:
        batch.add_column(sa.Column("preferred_weekdays", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("preferred_from", sa.Time(), nullable=True))
        batch.add_column(sa.Column("preferred_until", sa.Time(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_waitlist_entries_preferred_times_ordered"),
            "preferred_from IS NULL OR preferred_until IS NULL OR preferred_from < preferred_until",
        )
    _phones_to_e164()


def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 country code, from tzdata's zone.tab (one country per zone)."""
    table = (Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    return {
        line.split("\t")[2]: line.split("\t")[0] for line in table.splitlines() if line and not line.startswith("#")
    }


def _e164(typed: str, region: str | None) -> str | None:
    """`typed` as E.164, read in `region` when it has no country code; None when not a valid number."""
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phones_to_e164() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            """SELECT c.id, c.phone, l.timezone FROM customers c
               LEFT JOIN locations l ON l.id = c.home_location_id
               WHERE c.phone IS NOT NULL AND c.phone <> '' ORDER BY c.id"""
        )
    ).all()
    countries = _zone_countries()
    changes, kept = [], []
    for ident, phone, zone in rows:
        number = _e164(phone, countries.get(zone or ""))
        if number is None:
            kept.append(ident)
        elif number != phone:
            changes.append({"id": ident, "phone": number})
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
    # Phones stay E.164 (the typed forms are gone, and E.164 is a valid way to write every number).
    with op.batch_alter_table("waitlist_entries") as batch:
        batch.drop_constraint(op.f("ck_waitlist_entries_preferred_times_ordered"), type_="check")
        batch.drop_column("preferred_until")
        batch.drop_column("preferred_from")
        batch.drop_column("preferred_weekdays")
