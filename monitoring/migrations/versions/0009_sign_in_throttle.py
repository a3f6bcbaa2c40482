"""Sign-in throttle: failed sign-ins per client and time window.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

from monitoring.tables import sign_in_throttle

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 builds tables from the current definitions: only older databases lack this one.
    if "sign_in_throttle" not in sa.inspect(op.get_bind()).get_table_names():
        sign_in_throttle.create(op.get_bind())
