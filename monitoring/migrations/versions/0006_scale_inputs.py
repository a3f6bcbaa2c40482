"""Inputs of the other grading scales (spec §3) on assessments; lymphodepletion start on
patients (EASIX and CAR-HEMATOTOX timing, spec §5).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The scale-input fields of the bedside record added at this revision (grading/fields.py
# SCALE_INPUT_FIELDS then), frozen: name and stored type.
SCALE_INPUTS = (
    ("weight_kg", sa.Float), ("norepinephrine_ug_min", sa.Float),
    ("norepinephrine_ug_kg_min", sa.Float), ("epinephrine_ug_min", sa.Float),
    ("epinephrine_ug_kg_min", sa.Float), ("phenylephrine_ug_min", sa.Float),
    ("phenylephrine_ug_kg_min", sa.Float), ("dopamine_ug_kg_min", sa.Float),
    ("transaminitis_ctcae_grade", sa.Integer), ("creatinine_ctcae_grade", sa.Integer),
    ("other_organ_ctcae_grade", sa.Integer), ("iv_therapy_given", sa.Boolean),
    ("coagulopathy_products_given", sa.Boolean), ("cartox_head_of_state", sa.Integer),
    ("seizure_type", lambda: sa.String(200)), ("papilledema_frisen_stage", sa.Integer),
    ("csf_opening_pressure_mmhg", sa.Float),
)


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild), so the append-only triggers stay as they are.
    for name, kind in SCALE_INPUTS:
        op.add_column("assessments", sa.Column(name, kind()))
    op.add_column("patients", sa.Column("lymphodepletion_at", sa.DateTime(timezone=True)))
