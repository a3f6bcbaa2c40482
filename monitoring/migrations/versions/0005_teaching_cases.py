"""Teaching cases educators build and save to the case library (append-only).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

from monitoring.tables import teaching_cases

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # As 0003: a new database has the table (and its triggers) from 0001 already; a database
    # created before this revision gets it here, with the same append-only triggers.
    bind = op.get_bind()
    if "teaching_cases" in sa.inspect(bind).get_table_names():
        return
    teaching_cases.create(bind)
    if bind.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER teaching_cases_no_{event.lower()} BEFORE {event} ON "
                       "teaching_cases BEGIN SELECT RAISE(ABORT, 'teaching_cases is "
                       "append-only: record a correction instead'); END")
    else:
        op.execute("CREATE TRIGGER teaching_cases_append_only BEFORE UPDATE OR DELETE ON "
                   "teaching_cases FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute("CREATE TRIGGER teaching_cases_no_truncate BEFORE TRUNCATE ON "
                   "teaching_cases FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
