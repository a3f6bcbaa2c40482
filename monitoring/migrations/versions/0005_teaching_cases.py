"""Teaching cases educators build and save to the case library (append-only).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUSES = ("final", "entered_in_error")  # as at this revision


def upgrade() -> None:
    op.create_table(
        "teaching_cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("card", sa.Text, nullable=False),       # the case card, JSON
        sa.Column("timeline", sa.Text, nullable=False),   # canonical CSV
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("teaching_cases.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {STATUSES}"),
                  nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_teaching_cases_case", "teaching_cases", ["case_id"])
    # append-only, as the clinical tables of 0001 (forbid_change() is 0001's, on PostgreSQL)
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER teaching_cases_no_{event.lower()} BEFORE {event} ON "
                       "teaching_cases BEGIN SELECT RAISE(ABORT, 'teaching_cases is "
                       "append-only: record a correction instead'); END")
    else:
        op.execute("CREATE TRIGGER teaching_cases_append_only BEFORE UPDATE OR DELETE ON "
                   "teaching_cases FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute("CREATE TRIGGER teaching_cases_no_truncate BEFORE TRUNCATE ON "
                   "teaching_cases FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
