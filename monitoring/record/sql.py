"""What every SQL part of the ward record shares: the ``Repository`` base (transactions,
locks, audit entry and access checks through the unit of work) and the query helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .. import tables as t
from .model import (
    CLINICAL_WRITERS,
    StoreError,
    _json,
    now,
)

if TYPE_CHECKING:
    from .unit_of_work import SqlUnitOfWork

# How the database says another educator saved a version of the case first (migration 0010).
_CASE_VERSION_MARKERS = ("ux_teaching_cases_replaces", "ux_teaching_cases_first",
                         "teaching_cases.replaces_id", "teaching_cases.case_id")
# How the database says another writer's row landed first (migration 0008's triggers and
# unique indexes, as PostgreSQL and SQLite word them).
_CONCURRENT_MARKERS = ("assessment_slot_taken", "assessment_already_corrected",
                       "ux_assessments_slot", "ux_assessments_replaces",
                       "assessments.follows_id", "assessments.replaces_id")



def _unique_violation(e: sa.exc.IntegrityError) -> bool:
    """The database refused a row because its key is taken (PostgreSQL SQLSTATE 23505,
    SQLite "UNIQUE constraint failed")."""
    return getattr(e.orig, "sqlstate", None) == "23505" \
        or "UNIQUE constraint failed" in str(e.orig)



def _effective(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """Rows that are the current version: final and not replaced by a later row."""
    newer = table.alias("newer")
    return [table.c.status == "final",
            ~sa.exists().where(newer.c.replaces_id == table.c.id)]



def _scope(column: sa.Column[Any], patient_id: str | Sequence[str] | None
           ) -> list[sa.ColumnElement[bool]]:
    """Where-clauses for one patient, a list of patients, or everyone (None)."""
    if patient_id is None:
        return []
    if isinstance(patient_id, str):
        return [column == patient_id]
    return [column.in_(list(patient_id))]


def _bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in this transaction: PostgreSQL's COPY, else executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])  # datetimes are timezone-aware already (UtcDateTime's rule)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
            f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row([r[n] for n in names])



class Repository:
    """One concern of the ward record, over the unit of work's connection (``uow``): the
    transactions, the patient locks, the audit entry and the access checks every write makes
    are the unit of work's and this base's, shared by every concern."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @property
    def tz(self) -> ZoneInfo:
        return self.uow.tz

    def _write(self) -> AbstractContextManager[sa.Connection]:
        return self.uow._write()

    def _read(self) -> AbstractContextManager[sa.Connection]:
        return self.uow._read()

    def _lock_patients(self, conn: sa.Connection, patient_ids: Iterable[str]) -> None:
        self.uow._lock_patients(conn, patient_ids)

    def _lock_for_rows(self, conn: sa.Connection, table: sa.Table, ids: Iterable[int]) -> None:
        self.uow._lock_for_rows(conn, table, ids)

    def _audit(self, conn: sa.Connection, user: str, action: str, entity: str,
               entity_id: object, patient_id: str | None, before: object = None,
               after: object = None, at: datetime | None = None) -> None:
        conn.execute(t.audit_log.insert().values(
            at=at or now(), username=user, action=action, entity=entity,
            entity_id=None if entity_id is None else str(entity_id), patient_id=patient_id,
            before=_json(before), after=_json(after)))

    def _check_user(self, conn: sa.Connection, user: str, roles: Sequence[str] = t.ROLES) -> str:
        """The user's role, if the account exists, is active and has one of ``roles``."""
        row = conn.execute(sa.select(t.users.c.role, t.users.c.active).where(
            t.users.c.username == user)).first()
        if row is None:
            raise StoreError(f"unknown user '{user}'")
        if not row.active:
            raise StoreError(f"user '{user}' is disabled")
        if row.role not in roles:
            raise StoreError(f"user '{user}' ({row.role}) may not do this; needs "
                             + " or ".join(roles))
        return str(row.role)

    def _check_writer(self, conn: sa.Connection, user: str, patient_id: str) -> None:
        """Clinical roles chart for any patient; an educator only for a synthetic demo patient
        (building a teaching case, design.md "Roles")."""
        role = self._check_user(conn, user)
        if role in CLINICAL_WRITERS:
            return
        demo = conn.execute(sa.select(t.patients.c.is_demo).where(
            t.patients.c.patient_id == patient_id)).scalar()
        if role == "educator" and demo:
            return
        raise StoreError(f"user '{user}' ({role}) may not do this; needs "
                         + " or ".join(CLINICAL_WRITERS)
                         + (" (an educator charts for synthetic demo patients only)"
                            if role == "educator" else ""))

    def _require_patient(self, conn: sa.Connection, patient_id: str) -> None:
        if conn.execute(sa.select(t.patients.c.patient_id).where(
                t.patients.c.patient_id == patient_id)).first() is None:
            raise StoreError(f"unknown patient '{patient_id}'")

    def _when(self, at: datetime) -> str:
        """A time as the ward reads it (ward time zone, no ISO text)."""
        return at.astimezone(self.tz).strftime("%d %b %Y %H:%M")

    def _current_rows(self, table: sa.Table, patient_id: str, order: sa.Column[Any]
                      ) -> list[dict[str, Any]]:
        """A patient's current rows of an append-only table (final, not replaced)."""
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(table).where(table.c.patient_id == patient_id, *_effective(table))
                .order_by(order, table.c.id))]
