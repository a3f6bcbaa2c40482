"""Patients: admission, details, discharge, and clearing a synthetic demo patient."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from .. import limits
from .. import tables as t
from .model import (
    PatientIn,
    StoreError,
    _bounded,
    now,
)
from .sql import (
    Repository,
    _effective,
    _unique_violation,
)


class PatientRecord(Repository):
    """The patients table: admit, read, discharge, change admission details."""

    # ------------------------------------------------------------------ patients
    def admit(self, patient: PatientIn | Mapping[str, Any], by: str) -> str:
        p = patient if isinstance(patient, PatientIn) else PatientIn.model_validate(patient)
        try:
            with self._write() as conn:
                # an educator creates synthetic demo patients only (a teaching case being built)
                self._check_user(conn, by, ("physician", "admin", *(("educator",) if p.is_demo
                                                                    else ())))
                return self._admit(conn, p, by)
        except sa.exc.IntegrityError as e:  # admitted by someone else since _admit's check:
            if not _unique_violation(e):    # the primary key is the guard
                raise
            raise StoreError(f"patient '{p.patient_id}' already exists") from None

    def _admit(self, conn: sa.Connection, p: PatientIn, by: str,
               source: Mapping[str, Any] | None = None) -> str:
        """Admit ``p``; ``source``: where an import found it (audited as "import" with its
        source, as imported doses and results are, decision F10)."""
        if conn.execute(sa.select(t.patients.c.patient_id).where(
                t.patients.c.patient_id == p.patient_id)).first():
            raise StoreError(f"patient '{p.patient_id}' already exists")
        row = p.model_dump() | {"created_at": now(), "created_by": by}
        row["admitted_at"] = row["admitted_at"] or row["created_at"]
        conn.execute(t.patients.insert().values(**row))
        action, after = ("admit", row) if source is None else (
            "import", {**row, "imported_from": dict(source)})
        self._audit(conn, by, action, "patient", p.patient_id, p.patient_id, after=after)
        return p.patient_id

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
        return None if row is None else dict(row._mapping)

    def patients(self, *, demo: bool | None = None, admitted_only: bool = False
                 ) -> list[dict[str, Any]]:
        q = sa.select(t.patients).order_by(t.patients.c.patient_id)
        if demo is not None:
            q = q.where(t.patients.c.is_demo == demo)
        if admitted_only:
            q = q.where(t.patients.c.discharged_at.is_(None))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def discharge(self, patient_id: str, by: str, at: datetime | None = None) -> None:
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician", "admin"))
            before = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
            if before is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            when = at or now()
            conn.execute(t.patients.update().where(t.patients.c.patient_id == patient_id)
                         .values(discharged_at=when))
            self._audit(conn, by, "discharge", "patient", patient_id, patient_id,
                        before={"discharged_at": before.discharged_at},
                        after={"discharged_at": when})

    PATIENT_EDITABLE = t.UPDATABLE_COLUMNS["patients"]  # the app role's UPDATE columns too

    def update_patient(self, patient_id: str, changes: Mapping[str, Any], reason: str,
                       by: str) -> None:
        """Change admission details (physician, admin), with a reason; the audit trail keeps
        the values before and after. Assessments are never touched."""
        unknown = sorted(set(changes) - set(self.PATIENT_EDITABLE))
        if unknown:
            raise StoreError("these admission details cannot be changed: " + ", ".join(unknown)
                             + "; allowed: " + ", ".join(self.PATIENT_EDITABLE))
        if not reason or not reason.strip():
            raise StoreError("a change to admission details needs a reason")
        _bounded(("reason", reason), *((k, v) for k, v in changes.items()
                                       if k in limits.LIMITS and isinstance(v, str)))
        with self._write() as conn:
            # an educator changes a synthetic demo patient's admission only (loading a
            # teaching case again, a demo reset; decision T5)
            self._lock_patients(conn, [patient_id])
            role = self._check_user(conn, by, ("physician", "admin", "educator"))
            before = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
            if before is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if role == "educator" and not before.is_demo:
                raise StoreError(f"user '{by}' (educator) may not do this; needs physician or "
                                 "admin (an educator changes synthetic demo patients only)")
            merged = {k: v for k, v in (dict(before._mapping) | dict(changes)).items()
                      if k in PatientIn.model_fields}
            try:
                checked = PatientIn.model_validate(merged)
            except ValidationError as e:
                raise StoreError("; ".join(
                    f"{PatientIn.model_fields[str(x['loc'][0])].title}: {x['msg']}"
                    if x["loc"] and x["loc"][0] in PatientIn.model_fields else x["msg"]
                    for x in e.errors())) from None
            if changes.get("discharged_at") is not None and changes["discharged_at"].tzinfo is None:
                raise StoreError("discharged_at must be timezone-aware")
            values = {k: (changes[k] if k == "discharged_at" else getattr(checked, k))
                      for k in changes}
            conn.execute(t.patients.update().where(t.patients.c.patient_id == patient_id)
                         .values(**values))
            self._audit(conn, by, "update", "patient", patient_id, patient_id,
                        before={k: before._mapping[k] for k in values},
                        after=values | {"reason": reason})


    def clear_demo_patient(self, patient_id: str, reason: str, by: str) -> int:
        """Mark a synthetic demo patient's current assessments, medications, lab results and ICU
        stays
        entered-in-error and dismiss its open flags, in one transaction (a teaching case
        loaded again, a demo reset; nothing deleted, every mark audited under ``by``).
        Returns how many rows were marked."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            demo = conn.execute(sa.select(t.patients.c.is_demo).where(
                t.patients.c.patient_id == patient_id)).first()
            if demo is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if not demo.is_demo:
                raise StoreError(f"patient '{patient_id}' is not a demo patient: a real "
                                 "record is corrected entry by entry, never cleared")
            a = t.assessments
            ids = list(conn.execute(sa.select(a.c.id).where(
                a.c.patient_id == patient_id, *_effective(a)).order_by(a.c.assessed_at))
                .scalars())
            n = len(self.uow.assessments._mark_assessments(conn, ids, reason, by))
            n += self.uow.treatments._mark_medications_and_labs(conn, patient_id, reason, by)
            n += self.uow.icu._mark_icu_stays(conn, patient_id, reason, by)
            f, k = t.flags, t.flag_acknowledgements
            for flag_id in conn.execute(sa.select(f.c.id).where(
                    f.c.patient_id == patient_id, *_effective(f),
                    ~sa.exists().where(k.c.flag_id == f.c.id))).scalars():
                self.uow.flags._acknowledge(conn, flag_id, reason, by, True, reason)
            return n
