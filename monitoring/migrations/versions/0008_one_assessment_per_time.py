"""One effective assessment per patient and time, enforced by the database; no append-only row
can be replaced (SQLite ``INSERT OR REPLACE``).

Every new assessment row names the newest row already at its patient and time
(``follows_id``, 0 when there is none); (patient_id, assessed_at, follows_id) is unique and a
trigger checks that ``follows_id`` really is the newest. Two writers who both saw the same
patient and time cannot both land: the second gets a unique violation. A row can be corrected
(amended or marked entered-in-error) once only: ``replaces_id`` is unique among these rows and
the trigger refuses a row that replaces one already replaced.

Rows written before this revision keep ``follows_id`` empty (nothing is updated). If they
already hold two effective assessments at one time, or a row corrected twice (the race this
revision closes), nothing is changed or hidden: each problem is written to the audit log and
to stderr, the patient's row on the ward overview shows it, and a clinician marks the wrong
entry entered-in-error (docs/security.md, "What the database enforces").

Revision ID: 0008
"""

import json
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SLOT_TAKEN = "assessment_slot_taken"      # the messages the store recognises (store.py)
ALREADY_CORRECTED = "assessment_already_corrected"
SLOT_MESSAGE = f"{SLOT_TAKEN}: another entry was saved for this patient and time meanwhile"
CORRECTED_MESSAGE = f"{ALREADY_CORRECTED}: this assessment was already corrected"
# the append-only tables at this revision (0001, 0003 notes, 0005 teaching cases), frozen
APPEND_ONLY = ("assessments", "audit_log", "administrations", "labs", "attributions",
               "grade_confirmations", "flags", "flag_acknowledgements", "notes",
               "teaching_cases")


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("assessments", sa.Column("follows_id", sa.Integer))  # no table rebuild
    _report_existing_conflicts(bind)
    op.execute("CREATE UNIQUE INDEX ux_assessments_slot "
               "ON assessments (patient_id, assessed_at, follows_id)")
    op.execute("CREATE UNIQUE INDEX ux_assessments_replaces "
               "ON assessments (replaces_id) WHERE follows_id IS NOT NULL")
    if bind.dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    op.execute(f"""
        CREATE TRIGGER assessments_one_per_time
        BEFORE INSERT ON assessments
        WHEN NEW.follows_id IS NULL OR NEW.follows_id IS NOT coalesce(
            (SELECT max(id) FROM assessments
             WHERE patient_id = NEW.patient_id AND assessed_at = NEW.assessed_at), 0)
        BEGIN SELECT RAISE(ABORT, '{SLOT_MESSAGE}'); END""")
    op.execute(f"""
        CREATE TRIGGER assessments_corrected_once
        BEFORE INSERT ON assessments
        WHEN NEW.replaces_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM assessments WHERE replaces_id = NEW.replaces_id)
        BEGIN SELECT RAISE(ABORT, '{CORRECTED_MESSAGE}'); END""")
    # INSERT OR REPLACE / REPLACE deletes the row it collides with without firing the DELETE
    # triggers (unless recursive_triggers is on, which monitoring.db sets as well): refuse
    # the insert itself when its id is taken. The other unique keys (assessments only) are
    # covered by the two triggers above.
    for table in APPEND_ONLY:
        message = f"{table} is append-only: a row is never replaced; record a correction instead"
        op.execute(f"""
            CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
            WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)
            BEGIN SELECT RAISE(ABORT, '{message}'); END""")


def _postgresql_triggers() -> None:
    op.execute(f"""
        CREATE FUNCTION assessments_check_slot() RETURNS trigger AS $$
        BEGIN
            IF NEW.follows_id IS NULL OR NEW.follows_id <> COALESCE(
                    (SELECT max(id) FROM assessments
                     WHERE patient_id = NEW.patient_id AND assessed_at = NEW.assessed_at), 0)
            THEN
                RAISE EXCEPTION '{SLOT_MESSAGE}' USING ERRCODE = 'unique_violation';
            END IF;
            IF NEW.replaces_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM assessments WHERE replaces_id = NEW.replaces_id) THEN
                RAISE EXCEPTION '{CORRECTED_MESSAGE}' USING ERRCODE = 'unique_violation';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    # the table names in the function resolve in this schema, never in a caller's temp schema
    op.execute("DO $$ BEGIN EXECUTE format('ALTER FUNCTION assessments_check_slot() "
               "SET search_path = %I, pg_temp', current_schema()); END $$")
    op.execute("CREATE TRIGGER assessments_one_per_time BEFORE INSERT ON assessments "
               "FOR EACH ROW EXECUTE FUNCTION assessments_check_slot()")


def _report_existing_conflicts(bind: sa.Connection) -> None:
    """Two effective rows at one patient and time, or one row corrected twice, written before
    this revision: audited and printed, never changed (nothing is deleted or hidden)."""
    effective = ("status = 'final' AND NOT EXISTS "
                 "(SELECT 1 FROM assessments n WHERE n.replaces_id = a.id)")
    problems = []
    for pid, at, ids in _effective_groups(bind, effective):
        problems.append((pid, {"problem": "two or more effective assessments at one time",
                               "assessed_at": at, "assessment_ids": ids}))
    for pid, replaced, ids in _twice_corrected(bind):
        problems.append((pid, {"problem": "an assessment corrected more than once",
                               "assessment_id": replaced, "correction_ids": ids}))
    if not problems:
        return
    audit = sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)),
                     sa.column("username"), sa.column("action"), sa.column("entity"),
                     sa.column("entity_id"), sa.column("patient_id"), sa.column("before"),
                     sa.column("after"))
    stamp = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # stored as UTC without an offset (SQLite has no zones)
        stamp = stamp.replace(tzinfo=None)
    for pid, detail in problems:
        print(f"ward record problem found by migration 0008: patient {pid}: "
              f"{json.dumps(detail, default=str)}: mark the wrong entry entered-in-error",
              file=sys.stderr)
        bind.execute(audit.insert().values(
            at=stamp, username="system", action="integrity_problem", entity="assessment",
            entity_id=None, patient_id=pid, before=None,
            after=json.dumps(detail, default=str, sort_keys=True)))


def _effective_groups(bind: sa.Connection, effective: str) -> list[tuple[str, object, list[int]]]:
    rows = bind.execute(sa.text(
        f"SELECT patient_id, assessed_at, id FROM assessments a WHERE {effective} "
        "ORDER BY patient_id, assessed_at, id")).all()
    groups: dict[tuple[str, object], list[int]] = {}
    for pid, at, i in rows:
        groups.setdefault((pid, at), []).append(int(i))
    return [(pid, at, ids) for (pid, at), ids in groups.items() if len(ids) > 1]


def _twice_corrected(bind: sa.Connection) -> list[tuple[str, int, list[int]]]:
    rows = bind.execute(sa.text(
        "SELECT patient_id, replaces_id, id FROM assessments WHERE replaces_id IN ("
        "SELECT replaces_id FROM assessments WHERE replaces_id IS NOT NULL "
        "GROUP BY replaces_id HAVING count(*) > 1) ORDER BY replaces_id, id")).all()
    groups: dict[tuple[str, int], list[int]] = {}
    for pid, replaced, i in rows:
        groups.setdefault((pid, int(replaced)), []).append(int(i))
    return [(pid, r, ids) for (pid, r), ids in groups.items()]
