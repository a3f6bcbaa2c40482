"""Sign-in throttle: failed sign-ins per client and time window.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # one row per (client, window) however many attempts; rows older than a day are deleted
    op.create_table(
        "sign_in_throttle",
        sa.Column("source", sa.String(80), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_index("ix_sign_in_throttle_window", "sign_in_throttle", ["window_start"])
