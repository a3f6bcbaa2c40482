"""A physician's judgements on the course: attributions, grade confirmations, notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from grading.fields import FIELD_BY_NAME

from .. import tables as t
from .model import (
    StoreError,
    _bounded,
    _checked_period,
    now,
)
from .sql import (
    Repository,
    _effective,
)


class JudgementRecord(Repository):
    """Attributions, grade confirmations and notes."""

    def attribute(self, assessment_id: int, finding: str, reason: str, by: str) -> int:
        """A physician's judgement that a finding on an assessment has another cause."""
        if finding not in FIELD_BY_NAME["attributed_elsewhere"].values:
            raise StoreError("finding must be one of fever, hypotension, hypoxia, neuro")
        if not reason or not reason.strip():
            raise StoreError("an attribution needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by, ("physician",))
            old = self.uow.assessments._current(conn, assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "finding": finding, "reason": reason, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.attributions.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "attribute", "attribution", new_id, old["patient_id"],
                        after=row)
            return int(new_id)

    def attribute_period(self, patient_id: str, finding: str, starts_at: datetime,
                         ends_at: datetime | None, reason: str, by: str) -> int:
        """A physician attributes ``finding`` to another cause on every assessment from
        ``starts_at`` until ``ends_at`` (None: until further notice, later assessments too;
        decision W15). Returns the period's id."""
        _checked_period(finding, starts_at, ends_at, reason)
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician",))
            self._require_patient(conn, patient_id)
            row = {"patient_id": patient_id, "finding": finding, "starts_at": starts_at,
                   "ends_at": ends_at, "reason": reason.strip(), "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.attribution_periods.insert().values(**row)
                                  ).inserted_primary_key[0]
            self._audit(conn, by, "attribute", "attribution_period", new_id, patient_id,
                        after=row)
            return int(new_id)

    def end_attribution_period(self, patient_id: str, period_id: int, ends_at: datetime | None,
                               reason: str, by: str) -> int:
        """End (or correct the end of) a period: a new version replacing it, ``ends_at``
        None marks it entered in error (it no longer applies anywhere)."""
        if not reason or not reason.strip():
            raise StoreError("ending an attribution needs a reason")
        _bounded(("reason", reason))
        x = t.attribution_periods
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician",))
            found = conn.execute(sa.select(x).where(
                x.c.id == period_id, x.c.patient_id == patient_id, *_effective(x))).first()
            if found is None:
                raise StoreError(f"attribution #{period_id} is not a current attribution of "
                                 f"patient '{patient_id}'")
            old = dict(found._mapping)
            if ends_at is not None:
                _checked_period(old["finding"], old["starts_at"], ends_at, reason)
            row = {k: v for k, v in old.items() if k not in ("id", "reason")} | {
                "ends_at": ends_at if ends_at is not None else old["ends_at"],
                "replaces_id": period_id, "recorded_at": now(), "recorded_by": by,
                "status": "final" if ends_at is not None else "entered_in_error",
                "reason": reason.strip()}
            new_id = conn.execute(x.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "end" if ends_at is not None else "entered_in_error",
                        "attribution_period", period_id, patient_id, before=old,
                        after=row | {"id": new_id})
            return int(new_id)

    def attribution_periods(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.attribution_periods, patient_id,
                                  t.attribution_periods.c.starts_at)

    def confirm_grade(self, assessment_id: int, syndrome: str, grade: int, by: str,
                      note: str | None = None) -> int:
        """A physician confirms (or sets) the CRS or ICANS grade at an assessment."""
        if syndrome not in ("crs", "icans") or grade not in range(6):
            raise StoreError("syndrome must be crs or icans and grade 0-5")
        _bounded(("confirmation_note", note))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by, ("physician",))
            old = self.uow.assessments._current(conn, assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "syndrome": syndrome, "grade": grade, "note": note, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.grade_confirmations.insert().values(**row)
                                  ).inserted_primary_key[0]
            self._audit(conn, by, "confirm", "grade", new_id, old["patient_id"], after=row)
            return int(new_id)

    def confirmations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.grade_confirmations, patient_id, t.grade_confirmations.c.id)

    def add_note(self, patient_id: str, text: str, by: str, at: datetime | None = None) -> int:
        """A physician's note on the course; audited, never edited."""
        if not text or not text.strip():
            raise StoreError("a note needs some text")
        _bounded(("note", text.strip()))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician",))
            self._require_patient(conn, patient_id)
            stamp = now()
            row = {"patient_id": patient_id, "written_at": at or stamp, "text": text.strip(),
                   "recorded_at": stamp, "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.notes.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "note", "note", new_id, patient_id, after=row)
            return int(new_id)

    def notes(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.notes, patient_id, t.notes.c.written_at)


    def attributions(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.attributions, patient_id, t.attributions.c.id)
