"""Intensive care stays (issue 19 point 3, decision R10): a patient's transfers to the ICU and
returns to the ward, append-only as the clinical tables of 0001. A return, a correction or an
entered-in-error marking is a new row replacing the stay, once (``ux_icu_stays_replaces``);
the return cannot precede the transfer (a check). One stay at a time is checked under the
patient's lock (docs/security.md).

Revision ID: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

STATUSES = ("final", "entered_in_error")  # as at this revision
TABLE = "icu_stays"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"),
                  nullable=False),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True)),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("icu_stays.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {STATUSES}"),
                  nullable=False),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("returned_at IS NULL OR returned_at > transferred_at",
                           name="icu_stays_return_after_transfer"),
    )
    op.create_index("ix_icu_stays_patient", TABLE, ["patient_id"])
    op.create_index("ux_icu_stays_replaces", TABLE, ["replaces_id"], unique=True,
                    sqlite_where=sa.text("replaces_id IS NOT NULL"),
                    postgresql_where=sa.text("replaces_id IS NOT NULL"))
    if bind.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{event.lower()} BEFORE {event} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: record a "
                       "correction instead'); END")
        message = f"{TABLE} is append-only: a row is never replaced; record a correction instead"
        op.execute(f"CREATE TRIGGER {TABLE}_no_replace BEFORE INSERT ON {TABLE} "
                   f"WHEN EXISTS (SELECT 1 FROM {TABLE} WHERE id = NEW.id) "
                   f"BEGIN SELECT RAISE(ABORT, '{message}'); END")  # as 0008
    else:
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
