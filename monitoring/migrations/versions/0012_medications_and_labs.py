"""Medications and labs for real patients, attribution over a time range (issue 18 points 11
and 12, decisions W14 and W15): the paracetamol, ibuprofen and vasopressor medication kinds,
a route and a wider unit (µg/kg/min) on administrations, and the ``attribution_periods``
table (append-only, as the clinical tables of 0001).

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The medication kinds as of this revision, frozen here: a migration never reads the app's
# live constants (a later kind belongs to a later migration).
KINDS = ("tocilizumab", "dexamethasone", "methylprednisolone", "anakinra", "siltuximab",
         "other_anticytokine", "paracetamol", "ibuprofen", "antipyretic", "noradrenaline",
         "vasopressin", "adrenaline", "phenylephrine", "dopamine", "fluid_bolus")
STATUSES = ("final", "entered_in_error")  # as at this revision
UNIT_0001 = "unit VARCHAR(8)"


class MigrationError(RuntimeError):
    """The database is not in a state this migration can change safely: what and why."""


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("administrations", sa.Column("route", sa.String(8)))  # no rebuild
    if bind.dialect.name == "sqlite":
        # The kind CHECK only widens and the unit only grows, so the table keeps its rows,
        # indexes and append-only triggers: changed in place as 0007 did
        # (sqlite.org/lang_altertable.html, "other kinds of table schema changes").
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'administrations'")).scalar_one()
        start = sql.find("kind IN (")
        end = sql.find(")", start) + 1 if start >= 0 else -1
        if start < 0 or end <= 0 or sql.count(UNIT_0001) != 1:
            raise MigrationError(
                "migration 0012: the administrations table is not as revision 0007 left it "
                "(a medication-kind check \"kind IN (...)\" and \"unit VARCHAR(8)\"), so its "
                "definition was changed outside the migrations; nothing was changed. Restore "
                "the table's definition from a backup and run the migration again.")
        new = (sql[:start] + f"kind IN {KINDS}" + sql[end:]).replace(UNIT_0001,
                                                                     "unit VARCHAR(16)")
        version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                             "AND name = 'administrations'"), {"sql": new})
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        op.drop_constraint("administrations_kind_check", "administrations", type_="check")
        op.create_check_constraint("administrations_kind_check", "administrations",
                                   f"kind IN {KINDS}")
        op.alter_column("administrations", "unit", type_=sa.String(16),
                        existing_type=sa.String(8))
    op.create_table(
        "attribution_periods",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"),
                  nullable=False),
        sa.Column("finding", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("attribution_periods.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {STATUSES}"),
                  nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_attribution_periods_patient", "attribution_periods", ["patient_id"])
    table = "attribution_periods"
    if bind.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a "
                       "correction instead'); END")
        message = f"{table} is append-only: a row is never replaced; record a correction instead"
        op.execute(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
                   f"BEGIN SELECT RAISE(ABORT, '{message}'); END")  # as 0008
    else:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")

