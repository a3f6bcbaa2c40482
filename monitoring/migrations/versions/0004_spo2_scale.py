"""NEWS2 SpO2 scale per patient (1 by default; 2 on a clinician's instruction).

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both backends (no table rebuild); existing patients get scale 1
    op.execute("ALTER TABLE patients ADD COLUMN spo2_scale INTEGER DEFAULT '1' NOT NULL "
               "CHECK (spo2_scale IN (1, 2))")
