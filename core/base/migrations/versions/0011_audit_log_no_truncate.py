"""audit_log refuses TRUNCATE too (PostgreSQL): row triggers do not see it

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
               FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"""
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
