"""Sign-in: failed attempts and lock-out on users.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from monitoring.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 builds its tables from the current definitions, so a new database has these
    # columns already; a database created before this revision gets them here.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}
    new = [c for c in (sa.Column("failed_attempts", sa.Integer, nullable=False,
                                 server_default="0"),
                       sa.Column("locked_until", UtcDateTime)) if c.name not in have]
    if new:
        with op.batch_alter_table("users") as batch:
            for column in new:
                batch.add_column(column)
