"""calendar_links.google_summary: Google's title of one of our events, when it is not ours

The event's title is ours (like its start and end), so a title edited in Google waits in the
queue like a move: while the link is `changed` this holds Google's title; once a person keeps
Google's version, the link is `synced` again and this holds the title kept from Google, which
the push leaves in place (until our own title changes). None: the title in Google is ours.

Revision ID: 0024
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_links") as batch:
        batch.add_column(sa.Column("google_summary", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calendar_links") as batch:
        batch.drop_column("google_summary")
