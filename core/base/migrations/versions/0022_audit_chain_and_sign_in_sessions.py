"""The audit log's time is the database's own (PostgreSQL: a trigger sets it; SQLite: a default,
and any other value refused), its rows are hash-chained (audit_chain, audit_chain_head), and
each browser's sign-in has a server-side id that signing out there ends (sign_in_sessions)

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
]
SQLITE_OWN_TIME = f"""CREATE TRIGGER audit_log_own_time BEFORE INSERT ON audit_log
    WHEN NEW.at IS NOT {SQLITE_NOW}
    BEGIN SELECT RAISE(ABORT, 'audit_log.at is the database''s own time: leave it out'); END"""
PG = [
    "ALTER TABLE audit_log ALTER COLUMN at SET DEFAULT statement_timestamp()",
    """CREATE FUNCTION audit_log_own_time() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN NEW.at := statement_timestamp(); RETURN NEW; END $$""",
    """CREATE TRIGGER audit_log_own_time BEFORE INSERT ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_own_time()""",
    """CREATE TRIGGER audit_chain_no_update_delete BEFORE UPDATE OR DELETE ON audit_chain
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_audit_chain_audit_id")),
    )
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("started_after", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    started_after = op.get_bind().scalar(sa.text("SELECT COALESCE(MAX(id), 0) FROM audit_log"))
    op.bulk_insert(head, [{"id": 1, "hash": "0" * 64, "started_after": started_after}])
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_sessions")),
    )
    op.create_index("ix_sign_in_sessions_user_id", "sign_in_sessions", ["user_id"])
    if pg:
        for statement in PG:
            op.execute(statement)
        return
    for name in ("audit_log_no_update", "audit_log_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.alter_column("at", server_default=sa.text(SQLITE_NOW), existing_nullable=False)
    for statement in [*SQLITE_APPEND_ONLY, SQLITE_OWN_TIME]:
        op.execute(statement)
    for name in ("audit_chain_no_update", "audit_chain_no_delete"):
        verb = name.rsplit("_", 1)[1].upper()
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {verb} ON audit_chain "
            f"BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only: {verb} refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_own_time ON audit_log")
        op.execute("DROP FUNCTION audit_log_own_time()")
        op.execute("ALTER TABLE audit_log ALTER COLUMN at DROP DEFAULT")
    else:
        for name in ("audit_log_own_time", "audit_log_no_update", "audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        with op.batch_alter_table("audit_log", recreate="always") as batch:
            batch.alter_column("at", server_default=None, existing_nullable=False)
        for statement in SQLITE_APPEND_ONLY:
            op.execute(statement)
    op.drop_index("ix_sign_in_sessions_user_id", table_name="sign_in_sessions")
    op.drop_table("sign_in_sessions")
    op.drop_table("audit_chain_head")
    op.drop_table("audit_chain")
