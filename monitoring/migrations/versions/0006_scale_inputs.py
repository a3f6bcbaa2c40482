"""Inputs of the other grading scales (spec §3) on assessments; lymphodepletion start on
patients (EASIX and CAR-HEMATOTOX timing, spec §5).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

from grading.fields import SCALE_INPUT_FIELDS
from monitoring.tables import UtcDateTime, canonical_columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 builds tables from the current definitions: only older databases lack the columns.
    # Plain ADD COLUMN (no table rebuild), so the append-only triggers stay as they are.
    insp = sa.inspect(op.get_bind())
    have = {c["name"] for c in insp.get_columns("assessments")}
    for column in canonical_columns():
        if column.name in SCALE_INPUT_FIELDS and column.name not in have:
            op.add_column("assessments", column)
    if "lymphodepletion_at" not in {c["name"] for c in insp.get_columns("patients")}:
        op.add_column("patients", sa.Column("lymphodepletion_at", UtcDateTime))
