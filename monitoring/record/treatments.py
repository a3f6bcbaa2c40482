"""Treatments: medications and fluids given, lab results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from grading.lab_scores import units as lab_units

from .. import tables as t
from .model import (
    LAB_UNITS,
    StoreError,
    _bounded,
    _not_in_future,
    now,
)
from .sql import (
    Repository,
    _effective,
)


class TreatmentRecord(Repository):
    """Administrations and labs (spec §6.3 units)."""

    # ------------------------------------------------------------------ medications, labs
    def record_administration(self, patient_id: str, kind: str, given_at: datetime, by: str,
                              dose: float | None = None) -> int:
        return self.record_administrations(patient_id, [(kind, given_at, dose)], by)[0]

    def record_administrations(self, patient_id: str,
                               doses: Sequence[tuple[str, datetime, float | None]], by: str
                               ) -> list[int]:
        """Record medications and fluids given, (kind, given at, dose) each, in one
        transaction: every one or none. The unit is the kind's own (mg, or mL for fluids)."""
        for kind, given_at, dose in doses:
            if kind not in t.ADMINISTRATION_KINDS:
                raise StoreError("medication: not a kind the ward records; one of "
                                 + ", ".join(t.KIND_WORDS[k] for k in t.ADMINISTRATION_KINDS))
            if given_at.tzinfo is None:
                raise StoreError("given_at must be timezone-aware")
            _not_in_future("given_at", given_at, "a medication is recorded when it was given")
            if dose is not None and not dose > 0:
                raise StoreError("dose must be above 0")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for kind, given_at, dose in doses:
                row = {"patient_id": patient_id, "given_at": given_at, "kind": kind,
                       "dose": dose, "unit": t.ADMINISTRATION_KINDS[kind][0],
                       "recorded_at": now(), "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.administrations.insert().values(**row)
                                      ).inserted_primary_key[0]
                self._audit(conn, by, "record", "administration", new_id, patient_id, after=row)
                ids.append(int(new_id))
            return ids

    def record_lab(self, patient_id: str, test: str, value: float, unit: str,
                   taken_at: datetime, by: str) -> int:
        """Store a lab result, converted to its canonical unit (spec §6.3)."""
        return self.record_labs(patient_id, [(test, value, unit, taken_at)], by)[0]

    def record_labs(self, patient_id: str,
                    results: Sequence[tuple[str, float, str, datetime]], by: str) -> list[int]:
        """Store lab results, (test, value, unit, taken at) each, in one transaction: every
        one or none; each converted to its canonical unit (spec §6.3) and kept as entered."""
        for test, value, unit, taken_at in results:
            if test not in LAB_UNITS:
                raise StoreError("test must be one of " + ", ".join(LAB_UNITS))
            if unit not in LAB_UNITS[test][1]:
                raise StoreError(f"{test}: unit must be one of " + ", ".join(LAB_UNITS[test][1]))
            try:
                lab_units.check_value(test, value, unit)
            except lab_units.LabUnitError as e:
                raise StoreError(str(e)) from None
            if taken_at.tzinfo is None:
                raise StoreError("taken_at must be timezone-aware")
            _not_in_future("taken_at", taken_at, "a result is recorded at the time the "
                           "sample was taken")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for test, value, unit, taken_at in results:
                canonical, factors = LAB_UNITS[test]
                row = {"patient_id": patient_id, "taken_at": taken_at, "test": test,
                       "value": value * factors[unit], "unit": canonical,
                       "entered_value": value, "entered_unit": unit, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.labs.insert().values(**row)).inserted_primary_key[0]
                self._audit(conn, by, "record", "lab", new_id, patient_id, after=row)
                ids.append(int(new_id))
            return ids

    def mark_medications_and_labs_entered_in_error(
            self, patient_id: str, reason: str, by: str) -> int:
        """Mark every current administration and lab result of a patient entered-in-error (a
        marking row each, audited; nothing deleted), as a demo reset needs. Returns how many."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            return self._mark_medications_and_labs(conn, patient_id, reason, by)

    def _mark_medications_and_labs(self, conn: sa.Connection, patient_id: str, reason: str,
                                   by: str) -> int:
        n = 0
        for table, entity in ((t.administrations, "administration"), (t.labs, "lab")):
            current = [dict(r._mapping) for r in conn.execute(sa.select(table).where(
                table.c.patient_id == patient_id, *_effective(table)))]
            for old in current:
                row = {k: v for k, v in old.items() if k not in ("id", "reason")}
                row |= {"replaces_id": old["id"], "recorded_at": now(), "recorded_by": by,
                        "status": "entered_in_error", "reason": reason}
                new_id = conn.execute(table.insert().values(**row)).inserted_primary_key[0]
                self._audit(conn, by, "entered_in_error", entity, old["id"], patient_id,
                            before=old, after=row | {"id": new_id})
                n += 1
        return n

    def labs(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.labs, patient_id, t.labs.c.taken_at)


    def administrations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.administrations, patient_id, t.administrations.c.given_at)
