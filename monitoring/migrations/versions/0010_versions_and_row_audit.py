"""A teaching case has one current version.

Teaching cases (issue 14 review): two educators saving the same case at once could both
replace its current version, or both create its first version. ``replaces_id`` is now unique
(a version is replaced once) and a case id has one first version. Rows written before this
revision that already break this are kept as they are (nothing is updated or deleted): each is
written to the audit log and to stderr, and left out of the new unique indexes by id.

Revision ID: 0010
"""

import json
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from monitoring.tables import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


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
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS ux_teaching_cases_replaces "
               "ON teaching_cases (replaces_id) WHERE replaces_id IS NOT NULL"
               + _except(twice))
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS ux_teaching_cases_first "
               "ON teaching_cases (case_id) WHERE replaces_id IS NULL" + _except(firsts))


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
    audit = sa.table("audit_log", sa.column("at", UtcDateTime), sa.column("username"),
                     sa.column("action"), sa.column("entity"), sa.column("entity_id"),
                     sa.column("patient_id"), sa.column("before"), sa.column("after"))
    stamp = datetime.now(UTC)
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

