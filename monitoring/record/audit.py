"""The audit trail: reads, notes of actions that change no clinical row, one-off claims,
the data version."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import tables as t
from .model import (
    SYSTEM_USER,
)
from .sql import (
    Repository,
)

ONE_OFF_LOCK = 0x57A2E  # serialises ``claim_once`` across workstations (PostgreSQL)


class AuditRecord(Repository):
    """The audit log."""

    # ------------------------------------------------------------------ audit
    def audit(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(t.audit_log).order_by(t.audit_log.c.id)
        if patient_id is not None:
            q = q.where(t.audit_log.c.patient_id == patient_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


    def note(self, by: str, action: str, entity: str, entity_id: object,
             patient_id: str | None = None, after: object = None) -> None:
        """An audit entry for an action that changes no clinical row (e.g. a demo reset
        requested by an educator)."""
        with self._write() as conn:
            self._check_user(conn, by)
            self._audit(conn, by, action, entity, entity_id, patient_id, after=after)


    def claim_once(self, task: str, by: str = SYSTEM_USER) -> bool:
        """True for exactly one caller, ever, per ``task`` (a one-off data step after a
        migration): the claim is an audit entry, checked and written in one transaction that
        the database serialises (SQLite's write lock; a PostgreSQL advisory lock)."""
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": ONE_OFF_LOCK})
            log = t.audit_log
            if conn.execute(sa.select(log.c.id).where(
                    log.c.action == "run_once", log.c.entity == "task",
                    log.c.entity_id == task)).first() is not None:
                return False
            self._audit(conn, by, "run_once", "task", task, None)
            return True

    def data_version(self) -> int:
        """A number that grows with every committed write: screens re-read and re-grade only
        when it has changed. The newest audit entry's id plus the number of entries: on
        PostgreSQL two transactions may commit in the other order than they took their ids,
        and a write committing after a later id was seen leaves the newest id as it was but
        not the count (the log is append-only)."""
        log = t.audit_log
        with self._read() as conn:
            newest, count = conn.execute(sa.select(sa.func.coalesce(sa.func.max(log.c.id), 0),
                                                   sa.func.count())).one()
            return int(newest) + int(count)
