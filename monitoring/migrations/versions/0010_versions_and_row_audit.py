"""A teaching case has one current version; a change to an account or an admission made outside
the application is audited by the database itself.

Teaching cases (issue 14 review): two educators saving the same case at once could both
replace its current version, or both create its first version. ``replaces_id`` is now unique
(a version is replaced once) and a case id has one first version. Rows written before this
revision that already break this are kept as they are (nothing is updated or deleted): each is
written to the audit log and to stderr, and left out of the new unique indexes by id.

Accounts and admission details (``users``, ``patients``) are the two tables the application's
role may update, column by column (``monitoring.db.grant_app_role``). On PostgreSQL an
``AFTER UPDATE`` trigger writes every change to a row of them to the audit log, with the values
before and after and the database account that made it (action ``db_update``, user
``database:<account>``), whoever made it: the application writes its own entry as well (who in
the ward, why). A change outside the application has only the database's entry. Changes to the
sign-in counters alone (``failed_attempts``, ``locked_until``) are left to the application's
sign-in entries; a password hash is never copied (shown as "(changed)").
SQLite has no accounts: whoever can write the file can drop triggers too (docs/security.md).

Revision ID: 0010
"""

import json
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# the sign-in counters: changed at every attempt, audited by the sign-in itself
COUNTER_COLUMNS = ("failed_attempts", "locked_until")


def upgrade() -> None:
    bind = op.get_bind()
    twice = _report(bind, "teaching_cases",
                    "SELECT replaces_id, id FROM teaching_cases WHERE replaces_id IN ("
                    "SELECT replaces_id FROM teaching_cases WHERE replaces_id IS NOT NULL "
                    "GROUP BY replaces_id HAVING count(*) > 1) ORDER BY replaces_id, id",
                    "a teaching case version replaced more than once")
    firsts = _report(bind, "teaching_cases",
                     "SELECT case_id, id FROM teaching_cases WHERE replaces_id IS NULL AND "
                     "case_id IN (SELECT case_id FROM teaching_cases WHERE replaces_id IS NULL "
                     "GROUP BY case_id HAVING count(*) > 1) ORDER BY case_id, id",
                     "a teaching case with more than one first version")
    op.execute("CREATE UNIQUE INDEX ux_teaching_cases_replaces "
               "ON teaching_cases (replaces_id) WHERE replaces_id IS NOT NULL"
               + _except(twice))
    op.execute("CREATE UNIQUE INDEX ux_teaching_cases_first "
               "ON teaching_cases (case_id) WHERE replaces_id IS NULL" + _except(firsts))
    if bind.dialect.name == "postgresql":
        _postgresql_row_audit()


def _except(ids: list[int]) -> str:
    """Rows from before this revision that already break the rule stay out of the index."""
    return f" AND id NOT IN ({', '.join(str(int(i)) for i in ids)})" if ids else ""


def _report(bind: sa.Connection, table: str, query: str, problem: str) -> list[int]:
    """Audit and print each group of rows breaking a new rule; their ids."""
    groups: dict[object, list[int]] = {}
    for key, i in bind.execute(sa.text(query)).all():
        groups.setdefault(key, []).append(int(i))
    if not groups:
        return []
    audit = sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)),
                     sa.column("username"), sa.column("action"), sa.column("entity"),
                     sa.column("entity_id"), sa.column("patient_id"), sa.column("before"),
                     sa.column("after"))
    stamp = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # stored as UTC without an offset (SQLite has no zones)
        stamp = stamp.replace(tzinfo=None)
    for key, ids in groups.items():
        detail = {"problem": problem, "key": key, "ids": ids}
        print(f"record problem found by migration 0010: {table}: "
              f"{json.dumps(detail, default=str)}: nothing changed; save a new version",
              file=sys.stderr)
        bind.execute(audit.insert().values(
            at=stamp, username="system", action="integrity_problem", entity=table[:32],
            entity_id=str(key)[:64], patient_id=None, before=None,
            after=json.dumps(detail, default=str, sort_keys=True)))
    return [i for ids in groups.values() for i in ids]


def _postgresql_row_audit() -> None:
    counters = ", ".join(f"'{c}'" for c in COUNTER_COLUMNS)
    op.execute(f"""
        CREATE FUNCTION audit_row_update() RETURNS trigger AS $$
        DECLARE
            old_row jsonb := to_jsonb(OLD);
            new_row jsonb := to_jsonb(NEW);
            k text;
            was jsonb := '{{}}';
            now_is jsonb := '{{}}';
            only_counters boolean := true;
        BEGIN
            FOR k IN SELECT jsonb_object_keys(new_row) LOOP
                IF old_row -> k IS DISTINCT FROM new_row -> k THEN
                    IF k NOT IN ({counters}) THEN
                        only_counters := false;
                    END IF;
                    IF k = 'password_hash' THEN
                        was := was || jsonb_build_object(k, '(hidden)');
                        now_is := now_is || jsonb_build_object(k, '(changed)');
                    ELSE
                        was := was || jsonb_build_object(k, old_row -> k);
                        now_is := now_is || jsonb_build_object(k, new_row -> k);
                    END IF;
                END IF;
            END LOOP;
            IF now_is = '{{}}'::jsonb OR only_counters THEN
                RETURN NULL;
            END IF;
            INSERT INTO audit_log (at, username, action, entity, entity_id, patient_id,
                                   before, after)
            VALUES (clock_timestamp(), left('database:' || current_user, 64), 'db_update',
                    TG_ARGV[0], left(old_row ->> TG_ARGV[1], 64),
                    CASE WHEN TG_ARGV[0] = 'patient' THEN old_row ->> 'patient_id' END,
                    was::text, now_is::text);
            RETURN NULL;
        END $$ LANGUAGE plpgsql""")
    op.execute("DO $$ BEGIN EXECUTE format('ALTER FUNCTION audit_row_update() "
               "SET search_path = %I, pg_temp', current_schema()); END $$")
    for table, entity, key in (("users", "user", "username"),
                               ("patients", "patient", "patient_id")):
        op.execute(f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION audit_row_update('{entity}', '{key}')")
