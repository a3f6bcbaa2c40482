"""Treatments: medications and fluids given, lab results."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import tables as t
from ..medications import NOT_STATED
from .checks import _checked_administration, _checked_lab, audit_of, imported_sources
from .model import (
    StoreError,
    _bounded,
    now,
)
from .sql import (
    Repository,
    _effective,
)

_WORDS = {"administration": "medication", "lab": "lab result"}


class TreatmentRecord(Repository):
    """Administrations and labs (spec §6.3 units)."""

    # ------------------------------------------------------------------ medications, labs
    def record_administration(self, patient_id: str, kind: str, given_at: datetime, by: str,
                              dose: float | None = None, unit: str | None = None,
                              route: str | None = None, indication: str = NOT_STATED, *,
                              imported: Mapping[str, Any] | None = None) -> int:
        return self.record_administrations(
            patient_id, [(kind, given_at, dose, unit, route, indication)], by,
            imported=None if imported is None else [imported])[0]

    def record_administrations(self, patient_id: str, doses: Sequence[tuple[Any, ...]], by: str,
                               *, imported: Sequence[Mapping[str, Any]] | None = None
                               ) -> list[int]:
        """Record medications and fluids given, (kind, given at, dose[, unit, route,
        indication]) each, in one transaction: every one or none. Each is checked against the
        drug table (monitoring/medications.py, decision W14); the unit defaults to the drug's
        usual one, the indication to "not stated" (W20). ``imported``: where each came from,
        when an import writes them (audited as "import", decision F10)."""
        checked = [_checked_administration(*d) for d in doses]
        sources = imported_sources(imported, len(checked))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for values, source in zip(checked, sources):
                row = {"patient_id": patient_id, **values, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.administrations.insert().values(**row)
                                      ).inserted_primary_key[0]
                action, after = audit_of(row, source)
                self._audit(conn, by, action, "administration", new_id, patient_id, after=after)
                ids.append(int(new_id))
            return ids

    def record_lab(self, patient_id: str, test: str, value: float, unit: str,
                   taken_at: datetime, by: str, *,
                   imported: Mapping[str, Any] | None = None) -> int:
        """Store a lab result, converted to its canonical unit (spec §6.3)."""
        return self.record_labs(patient_id, [(test, value, unit, taken_at)], by,
                                imported=None if imported is None else [imported])[0]

    def record_labs(self, patient_id: str,
                    results: Sequence[tuple[str, float, str, datetime]], by: str, *,
                    imported: Sequence[Mapping[str, Any]] | None = None) -> list[int]:
        """Store lab results, (test, value, unit, taken at) each, in one transaction: every
        one or none; each converted to its canonical unit (spec §6.3) and kept as entered.
        ``imported``: where each came from, when an import writes them (audited as "import",
        decision F10)."""
        checked = [_checked_lab(*r) for r in results]
        sources = imported_sources(imported, len(checked))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for values, source in zip(checked, sources):
                row = {"patient_id": patient_id, **values, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.labs.insert().values(**row)).inserted_primary_key[0]
                action, after = audit_of(row, source)
                self._audit(conn, by, action, "lab", new_id, patient_id, after=after)
                ids.append(int(new_id))
            return ids

    # ------------------------------------------------------------------ corrections
    def amend_administration(self, patient_id: str, administration_id: int, given_at: datetime,
                             dose: float | None, unit: str | None, route: str | None,
                             reason: str, by: str, indication: str | None = None, *,
                             imported: Mapping[str, Any] | None = None) -> int:
        """A corrected version of a medication given (same drug): the original stays,
        replaced, with the reason. ``indication`` None keeps the one recorded (W20).
        Returns the new id."""
        def values(old: dict[str, Any]) -> dict[str, Any]:
            return _checked_administration(old["kind"], given_at, dose, unit, route,
                                           old["indication"] if indication is None
                                           else indication)
        return self._correct(t.administrations, "administration", patient_id,
                             administration_id, values, reason, by, imported)

    def amend_lab(self, patient_id: str, lab_id: int, value: float, unit: str,
                  taken_at: datetime, reason: str, by: str, *,
                  imported: Mapping[str, Any] | None = None) -> int:
        """A corrected version of a lab result (same test): the original stays, replaced."""
        def values(old: dict[str, Any]) -> dict[str, Any]:
            return _checked_lab(old["test"], value, unit, taken_at)
        return self._correct(t.labs, "lab", patient_id, lab_id, values, reason, by, imported)

    def mark_administration_in_error(self, patient_id: str, administration_id: int,
                                     reason: str, by: str, *,
                                     imported: Mapping[str, Any] | None = None) -> int:
        return self._correct(t.administrations, "administration", patient_id,
                             administration_id, None, reason, by, imported)

    def mark_lab_in_error(self, patient_id: str, lab_id: int, reason: str, by: str, *,
                          imported: Mapping[str, Any] | None = None) -> int:
        return self._correct(t.labs, "lab", patient_id, lab_id, None, reason, by, imported)

    def _correct(self, table: sa.Table, entity: str, patient_id: str, row_id: int,
                 values: Callable[[dict[str, Any]], dict[str, Any]] | None, reason: str,
                 by: str, imported: Mapping[str, Any] | None = None) -> int:
        """A new row replacing a current one: corrected ``values`` (amended), or a marking
        (``None``: entered in error); audited with the old and new rows (and, made by an
        import, its source: decision F10), under the patient's lock (so two corrections of
        one row cannot both land)."""
        if not reason or not reason.strip():
            raise StoreError("a correction needs a reason")
        _bounded(("reason", reason))
        (source,) = imported_sources(None if imported is None else [imported], 1)
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            found = conn.execute(sa.select(table).where(
                table.c.id == row_id, table.c.patient_id == patient_id, *_effective(table))
            ).first()
            if found is None:
                raise StoreError(f"{_WORDS[entity]} #{row_id} is not a current entry of "
                                 f"patient '{patient_id}' (corrected or marked already?)")
            old = dict(found._mapping)
            row = {k: v for k, v in old.items() if k not in ("id", "reason")}
            row |= (values(old) if values else {}) | {
                "replaces_id": row_id, "recorded_at": now(), "recorded_by": by,
                "status": "final" if values else "entered_in_error", "reason": reason.strip()}
            new_id = conn.execute(table.insert().values(**row)).inserted_primary_key[0]
            action, after = audit_of(row | {"id": new_id}, source,
                                     "amend" if values else "entered_in_error")
            self._audit(conn, by, action, entity, row_id, patient_id, before=old, after=after)
            return int(new_id)

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

    def treatment_history(self, patient_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every version of the patient's medications and lab results, corrected and marked
        ones too (the originals stay visible), oldest first."""
        with self._read() as conn:
            return {name: [dict(r._mapping) for r in conn.execute(
                sa.select(table).where(table.c.patient_id == patient_id)
                .order_by(table.c.id))]
                for name, table in (("administrations", t.administrations), ("labs", t.labs))}


    def administrations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.administrations, patient_id, t.administrations.c.given_at)
