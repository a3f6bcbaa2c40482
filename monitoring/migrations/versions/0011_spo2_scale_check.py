"""The NEWS2 SpO2 scale's check (1 or 2) on every database.

Until the revisions were written out (issue 17), a database created at revision 0004 or later
took ``patients.spo2_scale`` from the live table definitions, with its check, while one created
earlier got the column from 0004 without it. 0004 now writes the check out; this revision adds
it where 0004 did not, so every database ends with the one schema ``monitoring.tables``
describes. It is the only revision that asks what is there, because two histories exist.

The check is added in place, without rewriting the patients table: on SQLite by the column's
text in the table's definition (sqlite.org/lang_altertable.html, "other kinds of table schema
changes", as 0007), on PostgreSQL as a constraint. A stored scale other than 1 or 2 (the
application never wrote one) is kept as it is, written to the audit log and to stderr. On
PostgreSQL the check is then added ``NOT VALID`` (it holds for new and changed rows, so a
correction of that patient must give 1 or 2); on SQLite it is left out, since SQLite's
integrity check would then report the file damaged and the ward could not open it.

Revision ID: 0011
"""

import json
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHECK = "spo2_scale IN (1, 2)"
NAME = "patients_spo2_scale_check"           # PostgreSQL's name for the column's check
COLUMN_0004 = "spo2_scale INTEGER DEFAULT '1' NOT NULL"  # how 0004 added it before


class MigrationError(RuntimeError):
    """The database is not in a state this migration can change safely: what and why."""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'patients'")).scalar_one()
        if CHECK in sql:
            return
        if sql.count(COLUMN_0004) != 1:
            raise MigrationError(
                "migration 0011: the patients table's spo2_scale column is not as revision "
                f"0004 added it (\"{COLUMN_0004}\"), so its definition was changed outside the "
                "migrations; nothing was changed. Restore the table's definition from a backup "
                "and run the migration again.")
        if _report_out_of_range(bind):
            return  # SQLite's integrity check would call the file damaged: reported only
        version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                             "AND name = 'patients'"),
                     {"sql": sql.replace(COLUMN_0004, f"{COLUMN_0004} CHECK ({CHECK})")})
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_constraint WHERE conname = :name AND conrelid "
                            "= 'patients'::regclass"), {"name": NAME}).first() is not None:
        return
    kept = _report_out_of_range(bind)
    op.execute(f"ALTER TABLE patients ADD CONSTRAINT {NAME} CHECK ({CHECK})"
               + (" NOT VALID" if kept else ""))


def _report_out_of_range(bind: sa.Connection) -> bool:
    """Patients whose stored scale is neither 1 nor 2: audited and printed, never changed."""
    rows = bind.execute(sa.text("SELECT patient_id, spo2_scale FROM patients "
                                "WHERE spo2_scale NOT IN (1, 2) ORDER BY patient_id")).all()
    audit = sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)),
                     sa.column("username"), sa.column("action"), sa.column("entity"),
                     sa.column("entity_id"), sa.column("patient_id"), sa.column("before"),
                     sa.column("after"))
    stamp = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # stored as UTC without an offset (SQLite has no zones)
        stamp = stamp.replace(tzinfo=None)
    for pid, scale in rows:
        detail = {"problem": "a NEWS2 SpO2 scale other than 1 or 2", "spo2_scale": scale}
        print(f"ward record problem found by migration 0011: patient {pid}: "
              f"{json.dumps(detail)}: nothing changed; a clinician sets the scale (1, or 2 on "
              "instruction)", file=sys.stderr)
        bind.execute(audit.insert().values(
            at=stamp, username="system", action="integrity_problem", entity="patient",
            entity_id=str(pid)[:64], patient_id=pid, before=None,
            after=json.dumps(detail, sort_keys=True)))
    return bool(rows)
