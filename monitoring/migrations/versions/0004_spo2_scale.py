"""NEWS2 SpO2 scale per patient (1 by default; 2 on a clinician's instruction).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 builds tables from the current definitions: only older databases lack the column.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("patients")}
    if "spo2_scale" not in have:
        with op.batch_alter_table("patients") as batch:
            batch.add_column(sa.Column("spo2_scale", sa.Integer, nullable=False,
                                       server_default="1"))
