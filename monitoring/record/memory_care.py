"""The care concerns of ``MemoryUnitOfWork``: treatments, a physician's judgements and flags
(CSV import/export: ``memory_csv.py``), over plain Python rows, answering and refusing as
their SQL twins do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from grading.fields import FIELD_BY_NAME

from .. import flag_rights
from ..medications import NOT_STATED
from .checks import (
    _checked_administration,
    _checked_lab,
    _checked_period,
    audit_of,
    imported_sources,
)
from .memory import MemoryRepository
from .model import (
    SYSTEM_USER,
    StoreError,
    _bounded,
    now,
)


class MemoryTreatments(MemoryRepository):
    """Medications and fluids given, lab results."""

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
        checked = [_checked_administration(*d) for d in doses]
        sources = imported_sources(imported, len(checked))
        with self.uow._write():
            self._check_writer(by, patient_id)
            self._require_patient(patient_id)
            ids = []
            for values, source in zip(checked, sources):
                row = {"patient_id": patient_id, **values, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = self.uow.insert("administrations", row)
                action, after = audit_of(row, source)
                self._audit(by, action, "administration", new_id, patient_id, after=after)
                ids.append(new_id)
            return ids

    def record_lab(self, patient_id: str, test: str, value: float, unit: str,
                   taken_at: datetime, by: str, *,
                   imported: Mapping[str, Any] | None = None) -> int:
        return self.record_labs(patient_id, [(test, value, unit, taken_at)], by,
                                imported=None if imported is None else [imported])[0]

    def record_labs(self, patient_id: str,
                    results: Sequence[tuple[str, float, str, datetime]], by: str, *,
                    imported: Sequence[Mapping[str, Any]] | None = None) -> list[int]:
        checked = [_checked_lab(*r) for r in results]
        sources = imported_sources(imported, len(checked))
        with self.uow._write():
            self._check_writer(by, patient_id)
            self._require_patient(patient_id)
            ids = []
            for values, source in zip(checked, sources):
                row = {"patient_id": patient_id, **values, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = self.uow.insert("labs", row)
                action, after = audit_of(row, source)
                self._audit(by, action, "lab", new_id, patient_id, after=after)
                ids.append(new_id)
            return ids

    def amend_administration(self, patient_id: str, administration_id: int, given_at: datetime,
                             dose: float | None, unit: str | None, route: str | None,
                             reason: str, by: str, indication: str | None = None, *,
                             imported: Mapping[str, Any] | None = None) -> int:
        def values(old: dict[str, Any]) -> dict[str, Any]:
            return _checked_administration(old["kind"], given_at, dose, unit, route,
                                           old["indication"] if indication is None
                                           else indication)
        return self._correct("administrations", "administration", patient_id,
                             administration_id, values, reason, by, imported)

    def amend_lab(self, patient_id: str, lab_id: int, value: float, unit: str,
                  taken_at: datetime, reason: str, by: str, *,
                  imported: Mapping[str, Any] | None = None) -> int:
        def values(old: dict[str, Any]) -> dict[str, Any]:
            return _checked_lab(old["test"], value, unit, taken_at)
        return self._correct("labs", "lab", patient_id, lab_id, values, reason, by, imported)

    def mark_administration_in_error(self, patient_id: str, administration_id: int,
                                     reason: str, by: str, *,
                                     imported: Mapping[str, Any] | None = None) -> int:
        return self._correct("administrations", "administration", patient_id,
                             administration_id, None, reason, by, imported)

    def mark_lab_in_error(self, patient_id: str, lab_id: int, reason: str, by: str, *,
                          imported: Mapping[str, Any] | None = None) -> int:
        return self._correct("labs", "lab", patient_id, lab_id, None, reason, by, imported)

    def _correct(self, table: str, entity: str, patient_id: str, row_id: int,
                 values: Callable[[dict[str, Any]], dict[str, Any]] | None, reason: str,
                 by: str, imported: Mapping[str, Any] | None = None) -> int:
        if not reason or not reason.strip():
            raise StoreError("a correction needs a reason")
        _bounded(("reason", reason))
        (source,) = imported_sources(None if imported is None else [imported], 1)
        with self.uow._write():
            self._check_writer(by, patient_id)
            found = next((r for r in self.uow.effective(table)
                          if r["id"] == row_id and r["patient_id"] == patient_id), None)
            if found is None:
                words = {"administration": "medication", "lab": "lab result"}[entity]
                raise StoreError(f"{words} #{row_id} is not a current entry of patient "
                                 f"'{patient_id}' (corrected or marked already?)")
            old = dict(found)
            row = {k: v for k, v in old.items() if k not in ("id", "reason")}
            row |= (values(old) if values else {}) | {
                "replaces_id": row_id, "recorded_at": now(), "recorded_by": by,
                "status": "final" if values else "entered_in_error", "reason": reason.strip()}
            new_id = self.uow.insert(table, row)
            action, after = audit_of(row | {"id": new_id}, source,
                                     "amend" if values else "entered_in_error")
            self._audit(by, action, entity, row_id, patient_id, before=old, after=after)
            return new_id

    def treatment_history(self, patient_id: str) -> dict[str, list[dict[str, Any]]]:
        with self.uow._read():
            return {name: [dict(r) for r in sorted(self.uow.tables[name], key=lambda r: r["id"])
                           if r["patient_id"] == patient_id]
                    for name in ("administrations", "labs")}

    def mark_medications_and_labs_entered_in_error(self, patient_id: str, reason: str,
                                                   by: str) -> int:
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_writer(by, patient_id)
            return self._mark_medications_and_labs(patient_id, reason, by)

    def _mark_medications_and_labs(self, patient_id: str, reason: str, by: str) -> int:
        n = 0
        for table, entity in (("administrations", "administration"), ("labs", "lab")):
            for old in [dict(r) for r in self.uow.effective(table)
                        if r["patient_id"] == patient_id]:
                row = {k: v for k, v in old.items() if k not in ("id", "reason")}
                row |= {"replaces_id": old["id"], "recorded_at": now(), "recorded_by": by,
                        "status": "entered_in_error", "reason": reason}
                new_id = self.uow.insert(table, row)
                self._audit(by, "entered_in_error", entity, old["id"], patient_id,
                            before=old, after=row | {"id": new_id})
                n += 1
        return n

    def labs(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("labs", patient_id, "taken_at")

    def administrations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("administrations", patient_id, "given_at")


class MemoryJudgements(MemoryRepository):
    """Attributions, grade confirmations and notes."""

    def attribute(self, assessment_id: int, finding: str, reason: str, by: str) -> int:
        if finding not in FIELD_BY_NAME["attributed_elsewhere"].values:
            raise StoreError("finding must be one of fever, hypotension, hypoxia, neuro")
        if not reason or not reason.strip():
            raise StoreError("an attribution needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_user(by, ("physician",))
            old = self.uow.assessments._current(assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "finding": finding, "reason": reason, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = self.uow.insert("attributions", row)
            self._audit(by, "attribute", "attribution", new_id, old["patient_id"], after=row)
            return new_id

    def attribute_period(self, patient_id: str, finding: str, starts_at: datetime,
                         ends_at: datetime | None, reason: str, by: str) -> int:
        _checked_period(finding, starts_at, ends_at, reason)
        with self.uow._write():
            self._check_user(by, ("physician",))
            self._require_patient(patient_id)
            row = {"patient_id": patient_id, "finding": finding, "starts_at": starts_at,
                   "ends_at": ends_at, "reason": reason.strip(), "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = self.uow.insert("attribution_periods", row)
            self._audit(by, "attribute", "attribution_period", new_id, patient_id, after=row)
            return new_id

    def end_attribution_period(self, patient_id: str, period_id: int, ends_at: datetime | None,
                               reason: str, by: str) -> int:
        if not reason or not reason.strip():
            raise StoreError("ending an attribution needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_user(by, ("physician",))
            found = next((r for r in self.uow.effective("attribution_periods")
                          if r["id"] == period_id and r["patient_id"] == patient_id), None)
            if found is None:
                raise StoreError(f"attribution #{period_id} is not a current attribution of "
                                 f"patient '{patient_id}'")
            old = dict(found)
            if ends_at is not None:
                _checked_period(old["finding"], old["starts_at"], ends_at, reason)
            row = {k: v for k, v in old.items() if k not in ("id", "reason")} | {
                "ends_at": ends_at if ends_at is not None else old["ends_at"],
                "replaces_id": period_id, "recorded_at": now(), "recorded_by": by,
                "status": "final" if ends_at is not None else "entered_in_error",
                "reason": reason.strip()}
            new_id = self.uow.insert("attribution_periods", row)
            self._audit(by, "end" if ends_at is not None else "entered_in_error",
                        "attribution_period", period_id, patient_id, before=old,
                        after=row | {"id": new_id})
            return new_id

    def attribution_periods(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("attribution_periods", patient_id, "starts_at")

    def confirm_grade(self, assessment_id: int, syndrome: str, grade: int, by: str,
                      note: str | None = None) -> int:
        if syndrome not in ("crs", "icans") or grade not in range(6):
            raise StoreError("syndrome must be crs or icans and grade 0-5")
        _bounded(("confirmation_note", note))
        with self.uow._write():
            self._check_user(by, ("physician",))
            old = self.uow.assessments._current(assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "syndrome": syndrome, "grade": grade, "note": note, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = self.uow.insert("grade_confirmations", row)
            self._audit(by, "confirm", "grade", new_id, old["patient_id"], after=row)
            return new_id

    def confirmations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("grade_confirmations", patient_id, "id")

    def add_note(self, patient_id: str, text: str, by: str, at: datetime | None = None) -> int:
        if not text or not text.strip():
            raise StoreError("a note needs some text")
        _bounded(("note", text.strip()))
        with self.uow._write():
            self._check_user(by, ("physician",))
            self._require_patient(patient_id)
            stamp = now()
            row = {"patient_id": patient_id, "written_at": at or stamp, "text": text.strip(),
                   "recorded_at": stamp, "recorded_by": by, "status": "final"}
            new_id = self.uow.insert("notes", row)
            self._audit(by, "note", "note", new_id, patient_id, after=row)
            return new_id

    def notes(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("notes", patient_id, "written_at")

    def attributions(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("attributions", patient_id, "id")


class MemoryFlags(MemoryRepository):
    """Flags and their acknowledgements."""

    def raise_flag(self, patient_id: str, code: str, severity: str, message: str,
                   raised_at: datetime, by: str = SYSTEM_USER, assessment_id: int | None = None,
                   respond: str | None = None) -> int:
        if severity not in ("info", "review", "urgent", "emergency"):
            raise StoreError("severity must be info, review, urgent or emergency")
        with self.uow._write():
            self._require_patient(patient_id)
            row = {"patient_id": patient_id, "assessment_id": assessment_id, "code": code,
                   "severity": severity, "message": message, "raised_at": raised_at,
                   "respond": respond, "recorded_at": now(), "recorded_by": by,
                   "status": "final"}
            new_id = self.uow.insert("flags", row)
            self._audit(by, "raise", "flag", new_id, patient_id, after=row)
            return new_id

    def acknowledge_flag(self, flag_id: int, action: str, by: str, dismiss: bool = False,
                         reason: str | None = None) -> int:
        return self.acknowledge_flags([flag_id], action, by, dismiss, reason)[0]

    def acknowledge_flags(self, flag_ids: Sequence[int], action: str, by: str,
                          dismiss: bool = False, reason: str | None = None) -> list[int]:
        if not action or not action.strip():
            raise StoreError("say what was done (action taken)")
        if dismiss and not (reason and reason.strip()):
            raise StoreError("dismissing a flag needs a reason")
        _bounded(("action", action), ("reason", reason))
        ids = list(dict.fromkeys(flag_ids))
        if not ids:
            raise StoreError("choose at least one flag")
        with self.uow._write():
            role = self._check_user(by)
            out = []
            for flag_id in ids:
                flag = self.uow.find("flags", id=flag_id)
                if flag is None:
                    raise StoreError(f"no flag {flag_id}")
                p = self.uow.find("patients", patient_id=flag["patient_id"])
                why = flag_rights.refusal(by, role, flag, dismiss=dismiss,
                                          demo_patient=bool(p and p["is_demo"]))
                if why is not None:
                    raise StoreError(why)
                out.append(self._acknowledge(flag_id, action, by, dismiss, reason))
            return out

    def _acknowledge(self, flag_id: int, action: str, by: str, dismiss: bool,
                     reason: str | None) -> int:
        flag = self.uow.find("flags", id=flag_id)
        if flag is None:
            raise StoreError(f"no flag {flag_id}")
        done = self.uow.find("flag_acknowledgements", flag_id=flag_id)
        if done is not None:
            raise StoreError(f"this flag was already acknowledged by {done['recorded_by']}: "
                             "reload to see what was done")
        row = {"flag_id": flag_id, "action": action, "dismissed": dismiss, "reason": reason,
               "recorded_at": now(), "recorded_by": by, "status": "final"}
        new_id = self.uow.insert("flag_acknowledgements", row)
        self._audit(by, "dismiss" if dismiss else "acknowledge", "flag", flag_id,
                    flag["patient_id"], after=row)
        return new_id

    def withdraw_flag(self, flag_id: int, reason: str, by: str = SYSTEM_USER) -> int:
        with self.uow._write():
            f = self.uow.find("flags", id=flag_id)
            if f is None:
                raise StoreError(f"no flag {flag_id}")
            ack = self.uow.find("flag_acknowledgements", flag_id=flag_id)
            if ack is not None and ack["recorded_by"] != SYSTEM_USER:
                raise StoreError("an acknowledged flag stays as it is")
            row = {k: f[k] for k in ("patient_id", "assessment_id", "code", "severity",
                                     "message", "raised_at", "respond")}
            row |= {"replaces_id": flag_id, "recorded_at": now(), "recorded_by": by,
                    "status": "entered_in_error", "reason": reason}
            new_id = self.uow.insert("flags", row)
            self._audit(by, "withdraw", "flag", flag_id, f["patient_id"], after=row)
            return new_id

    def flags(self, patient_id: str) -> list[dict[str, Any]]:
        with self.uow._read():
            acks = {k["flag_id"]: k for k in self.uow.tables["flag_acknowledgements"]}
            out = []
            for f in sorted((f for f in self.uow.effective("flags")
                             if f["patient_id"] == patient_id),
                            key=lambda f: (f["raised_at"], f["id"])):
                k = acks.get(f["id"], {})
                out.append(dict(f) | {"ack_action": k.get("action"),
                                      "ack_dismissed": k.get("dismissed"),
                                      "ack_reason": k.get("reason"),
                                      "ack_by": k.get("recorded_by"),
                                      "ack_at": k.get("recorded_at")})
            return out

    def open_flags(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow._read():
            acked = {k["flag_id"] for k in self.uow.tables["flag_acknowledgements"]}
            return [dict(f) for f in sorted(self.uow.effective("flags"),
                                            key=lambda f: (f["raised_at"], f["id"]))
                    if f["id"] not in acked
                    and (patient_id is None or f["patient_id"] == patient_id)]
