"""The FHIR import's reads and writes in the ward record (docs/fhir.md): the provenance of
each imported resource (``fhir_provenance``, migration 0013, append-only) and the few lookups
``monitoring.fhir`` needs, so that SQL stays inside the record (tests/monitoring/
test_record_boundary.py). Every call joins the caller's ``locked`` transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .. import tables as t
from .model import ConcurrentChangeError, PatientIn, _json, now
from .sql import Repository, _bulk_insert, _effective, _unique_violation

CONCURRENT = ("another import stored some of these patients or resources while this one ran: "
              "nothing was imported; import the files again")


class FhirRecord(Repository):
    """Provenance of FHIR imports."""

    def patients_of(self, resource_ids: Sequence[str]) -> dict[str, str]:
        """Patient resource id -> ward patient id, for Patients imported before."""
        pv = t.fhir_provenance
        with self._read() as conn:
            return dict(conn.execute(sa.select(pv.c.resource_id, pv.c.patient_id).where(
                pv.c.resource_type == "Patient", pv.c.resource_id.in_(list(resource_ids))))
                .all())

    def latest(self, resource_ids: Iterable[str]) -> dict[tuple[str, str, str], dict[str, Any]]:
        """The newest provenance row of each of these resources seen before, by (source
        system, type, id)."""
        pv = t.fhir_provenance
        ids = list(dict.fromkeys(resource_ids))
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        with self._read() as conn:
            for lo in range(0, len(ids), 500):
                for r in conn.execute(sa.select(pv).where(pv.c.resource_id.in_(ids[lo:lo + 500]))
                                      .order_by(pv.c.version)):
                    out[(r.source_system, r.resource_type, r.resource_id)] = dict(r._mapping)
        return out

    def check_importer(self, by: str) -> None:
        """A nurse, a physician or an administrator imports (as the CSV import)."""
        with self._write() as conn:
            self._check_user(conn, by, ("nurse", "physician", "admin"))

    def admit_imported(self, patient: PatientIn, by: str,
                       source: dict[str, str] | None = None) -> None:
        """Admit a patient of a FHIR import (any importer may, as in the CSV import); audited
        as "import" with ``source``, the system and Patient resource it came from."""
        with self._write() as conn:
            try:
                with conn.begin_nested():
                    self.uow.patients._admit(conn, patient, by, source)
            except sa.exc.IntegrityError as e:
                if not _unique_violation(e):
                    raise
                raise ConcurrentChangeError(CONCURRENT) from None

    def births(self, patient_ids: Sequence[str]) -> dict[str, date | None]:
        with self._read() as conn:
            return dict(conn.execute(sa.select(t.patients.c.patient_id,
                                               t.patients.c.date_of_birth)
                                     .where(t.patients.c.patient_id.in_(list(patient_ids))))
                        .all())

    def row_at(self, patient_id: str, at: datetime, current: bool = False) -> int | None:
        """The newest assessment row at this time (``current``: only a final row not replaced
        since, i.e. the effective one)."""
        a = t.assessments
        with self._read() as conn:
            if not current:
                return conn.execute(sa.select(sa.func.max(a.c.id)).where(
                    a.c.patient_id == patient_id, a.c.assessed_at == at)).scalar_one()
            return conn.execute(sa.select(a.c.id).where(
                a.c.patient_id == patient_id, a.c.assessed_at == at,
                *_effective(a))).scalar()

    def rows_at(self, patient_ids: Sequence[str]) -> dict[tuple[str, datetime], int]:
        """(patient, time) -> the newest assessment row at that time, for these patients."""
        a = t.assessments
        with self._read() as conn:
            return {(pid, at): i for pid, at, i in conn.execute(
                sa.select(a.c.patient_id, a.c.assessed_at, sa.func.max(a.c.id))
                .where(a.c.patient_id.in_(list(patient_ids)))
                .group_by(a.c.patient_id, a.c.assessed_at))}

    def keep(self, rows: Sequence[dict[str, Any]], by: str) -> None:
        """Write the provenance rows and an audit entry for each. Two imports of one change
        of one resource cannot both land: the unique key (source, type, id, version) refuses
        the second, and nothing of it is stored."""
        if not rows:
            return
        with self._write() as conn:
            # one insert of many rows (ids reserved first, as the CSV import's), not one
            # statement a resource: an import of 100,000 Observations (bench/fhir_bench.py)
            ids = self._reserve_ids(conn, len(rows))
            full = [{"administration_id": None, "lab_id": None, **row, "id": i}
                    for i, row in zip(ids, rows)]
            stamp = now()
            try:
                with conn.begin_nested():
                    _bulk_insert(conn, t.fhir_provenance, full)
            except (sa.exc.IntegrityError, conn.dialect.dbapi.IntegrityError) as e:
                orig = getattr(e, "orig", e)  # PostgreSQL's COPY raises the driver's own error
                if not (getattr(orig, "sqlstate", None) == "23505"
                        or "UNIQUE constraint failed" in str(orig)):
                    raise
                raise ConcurrentChangeError(CONCURRENT) from None
            _bulk_insert(conn, t.audit_log, [
                {"at": stamp, "username": by, "action": "fhir_import",
                 "entity": "fhir_provenance", "entity_id": str(r["id"]),
                 "patient_id": r["patient_id"], "before": None,
                 "after": _json({k: v for k, v in r.items() if k not in ("imported_by", "id")})}
                for r in full])

    def _reserve_ids(self, conn: sa.Connection, k: int) -> list[int]:
        """Ids for ``k`` new provenance rows (SQLite: this transaction holds the write lock;
        PostgreSQL: from the table's sequence)."""
        if conn.dialect.name == "postgresql":
            return list(conn.execute(sa.text(
                "SELECT nextval(pg_get_serial_sequence('fhir_provenance', 'id')) "
                "FROM generate_series(1, :k)"), {"k": k}).scalars())
        pv = t.fhir_provenance
        top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(pv.c.id), 0))).scalar_one()
        return list(range(top + 1, top + 1 + k))

    def derived_from(self, patient_id: str) -> list[tuple[str, str, datetime]]:
        """(resource id, source system, row time) of the Observations imported for a
        patient, oldest first."""
        pv = t.fhir_provenance
        with self._read() as conn:
            return [tuple(r) for r in conn.execute(sa.select(  # type: ignore[misc]
                pv.c.resource_id, pv.c.source_system, pv.c.assessed_at).where(
                pv.c.patient_id == patient_id, pv.c.resource_type == "Observation",
                pv.c.assessed_at.is_not(None)).order_by(pv.c.id))]
