"""Anakinra, siltuximab and other anti-cytokine agents (issue 15, decision W10): the canonical
``anticytokine_given`` column on assessments, and siltuximab and "other anti-IL-6 / anti-IL-1
agent" as medication kinds.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The medication kinds as of this revision, frozen here: a migration never reads the app's
# live constants (a later kind belongs to a later migration).
KINDS = ("tocilizumab", "dexamethasone", "methylprednisolone", "anakinra", "siltuximab",
         "other_anticytokine", "antipyretic", "fluid_bolus")


class MigrationError(RuntimeError):
    """The database is not in a state this migration can change safely: what and why."""


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("assessments", sa.Column("anticytokine_given", sa.Boolean))  # no rebuild
    kinds = KINDS
    if bind.dialect.name == "sqlite":
        # The kind CHECK only widens (every stored kind stays allowed), so the table keeps its
        # rows, indexes and append-only triggers: SQLite's documented way to change a CHECK
        # constraint in place (sqlite.org/lang_altertable.html, "other kinds of table schema
        # changes"), instead of rebuilding an append-only table.
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'administrations'")).scalar_one()
        start = sql.find("kind IN (")
        end = sql.find(")", start) + 1 if start >= 0 else -1
        if start < 0 or end <= 0:
            raise MigrationError(
                "migration 0007: the administrations table has no medication-kind check "
                "(\"kind IN (...)\") to widen, so its definition was changed outside the "
                "migrations; nothing was changed. Restore the table's definition from a backup "
                "or revision 0006 and run the migration again.")
        new = sql[:start] + f"kind IN {kinds}" + sql[end:]
        version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                             "AND name = 'administrations'"), {"sql": new})
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        # 0001 wrote the check on the column without a name: PostgreSQL named it so
        op.drop_constraint("administrations_kind_check", "administrations", type_="check")
        op.create_check_constraint("administrations_kind_check", "administrations",
                                   f"kind IN {kinds}")
