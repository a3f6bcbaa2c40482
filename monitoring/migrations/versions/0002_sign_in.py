"""Sign-in: failed attempts and lock-out on users.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both backends (no table rebuild)
    op.add_column("users", sa.Column("failed_attempts", sa.Integer, nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True)))
