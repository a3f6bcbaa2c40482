"""Physician notes on the course (append-only).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("final", "entered_in_error")  # as at this revision


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"),
                  nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("notes.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {STATUSES}"),
                  nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_notes_patient", "notes", ["patient_id"])
    # append-only, as the clinical tables of 0001 (forbid_change() is 0001's, on PostgreSQL)
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER notes_no_{event.lower()} BEFORE {event} ON notes "
                       "BEGIN SELECT RAISE(ABORT, 'notes is append-only: record a correction "
                       "instead'); END")
    else:
        op.execute("CREATE TRIGGER notes_append_only BEFORE UPDATE OR DELETE ON notes "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute("CREATE TRIGGER notes_no_truncate BEFORE TRUNCATE ON notes "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
