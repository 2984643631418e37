"""The production set-up on PostgreSQL: two database roles.

The owner role runs migrations (`python -m core init-db`) and owns the tables. The app role,
which the app, the CLI and the worker connect as, may read and write what they need but only
SELECT and INSERT on audit_log (and on consent_records, the signatures of intake consents): it can
neither UPDATE, DELETE nor TRUNCATE them, nor disable their triggers, nor DROP them (only an owner can). `grant_app_role` (re)applies the grants;
run it as the owner after each `init-db`, since new tables need them too.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from core.base.errors import ValidationError

APPEND_ONLY = ("audit_log", "audit_chain", "consent_records")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Grant `role` what the app needs and nothing that could rewrite the audit trail. Returns
    the statements run."""
    if engine.dialect.name != "postgresql":
        raise ValidationError("Database roles apply to PostgreSQL only; SQLite has no roles.")
    if not _ROLE.match(role):
        raise ValidationError(f"'{role}' is not a plain role name (lower-case letters, digits and _).")
    with engine.begin() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
            raise ValidationError(f"There is no database role '{role}': CREATE ROLE {role} LOGIN PASSWORD '...' first.")
        tables = list(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        statements = [
            f'GRANT CONNECT ON DATABASE "{conn.scalar(text("SELECT current_database()"))}" TO {role}',
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ]
        for table in sorted(tables):
            statements.append(f'REVOKE ALL ON "{table}" FROM {role}')
            if table in APPEND_ONLY:
                statements.append(f'GRANT SELECT, INSERT ON "{table}" TO {role}')
            elif table == "alembic_version":
                statements.append(f'GRANT SELECT ON "{table}" TO {role}')
            else:
                statements.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {role}')
        for statement in statements:
            conn.execute(text(statement))
    return statements
