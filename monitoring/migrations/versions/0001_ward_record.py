"""The ward record: users, patients, append-only clinical rows and the audit log.

Revision ID: 0001
"""

from alembic import op

from monitoring.tables import APPEND_ONLY, metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Builds the tables from monitoring/tables.py as they are now; each later revision adds
    # only what a database created before it lacks (see 0002).
    bind = op.get_bind()
    metadata.create_all(bind)
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a correction "
                    "instead'); END")
    else:
        op.execute("""
            CREATE FUNCTION forbid_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: record a correction instead', TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
