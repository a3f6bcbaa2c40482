"""ICU stays of ``MemoryUnitOfWork`` (decision R10), answering and refusing as their SQL twin
``icu.IcuRecord`` does: the same checks (``checks._checked_icu_stay``, ``_checked_icu_fits``)
over plain Python rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .checks import ICU_ENTITY as ENTITY
from .checks import _checked_icu_fits, _checked_icu_stay, _icu_changed, _icu_reason, _icu_version
from .memory import MemoryRepository
from .model import StoreError, now


class MemoryIcu(MemoryRepository):
    """ICU stays (decision R10), as ``icu.IcuRecord``."""

    def record_icu_transfer(self, patient_id: str, transferred_at: datetime, by: str,
                            returned_at: datetime | None = None) -> int:
        _checked_icu_stay(transferred_at, returned_at)
        with self.uow._write():
            self._check_writer(by, patient_id)
            self._require_patient(patient_id)
            self._fits(patient_id, transferred_at, returned_at, None)
            row = {"patient_id": patient_id, "transferred_at": transferred_at,
                   "returned_at": returned_at, "recorded_at": now(), "recorded_by": by,
                   "status": "final"}
            new_id = self.uow.insert("icu_stays", row)
            self._audit(by, "record", ENTITY, new_id, patient_id, after=row)
            return new_id

    def record_icu_return(self, patient_id: str, stay_id: int, returned_at: datetime,
                          by: str) -> int:
        return self._replace(patient_id, stay_id, by, "return", None, returned_at=returned_at)

    def amend_icu_stay(self, patient_id: str, stay_id: int, transferred_at: datetime,
                       returned_at: datetime | None, reason: str, by: str) -> int:
        return self._replace(patient_id, stay_id, by, "amend", _icu_reason(reason, "a correction"),
                             transferred_at=transferred_at, returned_at=returned_at)

    def mark_icu_stay_in_error(self, patient_id: str, stay_id: int, reason: str,
                               by: str) -> int:
        return self._replace(patient_id, stay_id, by, "entered_in_error",
                             _icu_reason(reason, "marking entered in error"))

    def _replace(self, patient_id: str, stay_id: int, by: str, action: str,
                 reason: str | None, **changes: Any) -> int:
        with self.uow._write():
            self._check_writer(by, patient_id)
            found = next((r for r in self.uow.effective("icu_stays")
                          if r["id"] == stay_id and r["patient_id"] == patient_id), None)
            if found is None:
                raise StoreError(f"ICU stay #{stay_id} is not a current stay of patient "
                                 f"'{patient_id}' (corrected or marked already?)")
            old = dict(found)
            new = _icu_changed(stay_id, old, action, changes)
            if action != "entered_in_error":
                self._fits(patient_id, new["transferred_at"], new["returned_at"], stay_id)
            new = _icu_version(new, stay_id, by, action, reason)
            new_id = self.uow.insert("icu_stays", new)
            self._audit(by, action, ENTITY, stay_id, patient_id, before=old,
                        after=new | {"id": new_id})
            return new_id

    def _fits(self, patient_id: str, transferred_at: datetime, returned_at: datetime | None,
              replacing: int | None) -> None:
        others = [r for r in self.uow.effective("icu_stays")
                  if r["patient_id"] == patient_id and r["id"] != replacing]
        deaths = [r["assessed_at"] for r in self.uow.effective("assessments")
                  if r["patient_id"] == patient_id and r.get("died_of") is not None]
        _checked_icu_fits(transferred_at, returned_at, others, min(deaths, default=None),
                          self.tz)

    def _mark_icu_stays(self, patient_id: str, reason: str, by: str) -> int:
        n = 0
        for old in [dict(r) for r in self.uow.effective("icu_stays")
                    if r["patient_id"] == patient_id]:
            row = _icu_version(_icu_changed(old["id"], old, "entered_in_error", {}), old["id"],
                               by, "entered_in_error", reason)
            new_id = self.uow.insert("icu_stays", row)
            self._audit(by, "entered_in_error", ENTITY, old["id"], patient_id, before=old,
                        after=row | {"id": new_id})
            n += 1
        return n

    def icu_stays(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows("icu_stays", patient_id, "transferred_at")

    def icu_history(self, patient_id: str) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in sorted(self.uow.tables["icu_stays"], key=lambda r: r["id"])
                    if r["patient_id"] == patient_id]

    def in_icu(self, patient_ids: list[str] | None = None) -> dict[str, datetime]:
        with self.uow._read():
            return {r["patient_id"]: r["transferred_at"] for r in self.uow.effective("icu_stays")
                    if r["returned_at"] is None
                    and (patient_ids is None or r["patient_id"] in patient_ids)}
