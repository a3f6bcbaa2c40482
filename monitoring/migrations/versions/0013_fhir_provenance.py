"""Provenance of FHIR imports (issue 19): which source system's resource, in which version,
became which assessment row (append-only).

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_provenance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_system", sa.String(255), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fhir_status", sa.String(32), nullable=False),
        sa.Column("content", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"),
                  nullable=False),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id")),
        sa.Column("assessed_at", sa.DateTime(timezone=True)),
        sa.Column("effective_at", sa.DateTime(timezone=True)),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(64), sa.ForeignKey("users.username"),
                  nullable=False),
        sa.UniqueConstraint("source_system", "resource_type", "resource_id", "version",
                            name="ux_fhir_provenance_version"),
    )
    op.create_index("ix_fhir_provenance_patient", "fhir_provenance", ["patient_id"])
    # append-only, as the clinical tables of 0001 (forbid_change() is 0001's, on PostgreSQL)
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER fhir_provenance_no_{event.lower()} BEFORE {event} ON "
                       "fhir_provenance BEGIN SELECT RAISE(ABORT, 'fhir_provenance is "
                       "append-only'); END")
        # INSERT OR REPLACE deletes a colliding row without the DELETE trigger (as 0008)
        op.execute("CREATE TRIGGER fhir_provenance_no_replace BEFORE INSERT ON fhir_provenance "
                   "WHEN EXISTS (SELECT 1 FROM fhir_provenance WHERE id = NEW.id) BEGIN SELECT "
                   "RAISE(ABORT, 'fhir_provenance is append-only: a row is never replaced'); "
                   "END")
    else:
        op.execute("CREATE TRIGGER fhir_provenance_append_only BEFORE UPDATE OR DELETE ON "
                   "fhir_provenance FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute("CREATE TRIGGER fhir_provenance_no_truncate BEFORE TRUNCATE ON "
                   "fhir_provenance FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
