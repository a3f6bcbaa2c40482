"""Physician notes on the course (append-only).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from monitoring.tables import notes

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 builds its tables (and their append-only triggers) from the current definitions, so
    # a new database has the notes table already; a database created before this revision
    # gets it, with the same triggers as the other clinical tables, here.
    bind = op.get_bind()
    if "notes" in sa.inspect(bind).get_table_names():
        return
    notes.create(bind)
    if bind.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER notes_no_{event.lower()} BEFORE {event} ON notes "
                       "BEGIN SELECT RAISE(ABORT, 'notes is append-only: record a correction "
                       "instead'); END")
    else:
        op.execute("CREATE TRIGGER notes_append_only BEFORE UPDATE OR DELETE ON notes "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute("CREATE TRIGGER notes_no_truncate BEFORE TRUNCATE ON notes "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
