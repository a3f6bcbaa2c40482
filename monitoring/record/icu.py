"""Intensive care stays (decision R10): a patient's transfers to the ICU and returns to the
ward. Recording the return, correcting a stay and marking it entered in error each add a row
replacing the stay (the original stays, with the reason in the audit trail). One stay at a
time and nothing after a recorded death are checked under the patient's lock; the return after
the transfer and one replacement per row are the database's own (migration 0015)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import tables as t
from .checks import ICU_ENTITY as ENTITY
from .checks import _checked_icu_fits, _checked_icu_stay, _icu_changed, _icu_version
from .checks import _icu_reason as _reason
from .model import ConcurrentChangeError, StoreError, now
from .sql import Repository, _effective, _unique_violation


class IcuRecord(Repository):
    """ICU stays, versioned as the medications are."""

    def record_icu_transfer(self, patient_id: str, transferred_at: datetime, by: str,
                            returned_at: datetime | None = None) -> int:
        """A transfer to intensive care (and, charted afterwards, its return). Returns the
        stay's id."""
        _checked_icu_stay(transferred_at, returned_at)
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            self._fits(conn, patient_id, transferred_at, returned_at, None)
            row = {"patient_id": patient_id, "transferred_at": transferred_at,
                   "returned_at": returned_at, "recorded_at": now(), "recorded_by": by,
                   "status": "final"}
            new_id = conn.execute(t.icu_stays.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "record", ENTITY, new_id, patient_id, after=row)
            return int(new_id)

    def record_icu_return(self, patient_id: str, stay_id: int, returned_at: datetime,
                          by: str) -> int:
        """The return to the ward of an open stay: a new version with its return time."""
        return self._replace(patient_id, stay_id, by, "return", None, returned_at=returned_at)

    def amend_icu_stay(self, patient_id: str, stay_id: int, transferred_at: datetime,
                       returned_at: datetime | None, reason: str, by: str) -> int:
        """A corrected stay (either time; a return may be taken back with None)."""
        return self._replace(patient_id, stay_id, by, "amend",
                             _reason(reason, "a correction"),
                             transferred_at=transferred_at, returned_at=returned_at)

    def mark_icu_stay_in_error(self, patient_id: str, stay_id: int, reason: str,
                               by: str) -> int:
        return self._replace(patient_id, stay_id, by, "entered_in_error",
                             _reason(reason, "marking entered in error"))

    def _replace(self, patient_id: str, stay_id: int, by: str, action: str,
                 reason: str | None, **changes: Any) -> int:
        x = t.icu_stays
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            found = conn.execute(sa.select(x).where(
                x.c.id == stay_id, x.c.patient_id == patient_id, *_effective(x))).first()
            if found is None:
                raise StoreError(f"ICU stay #{stay_id} is not a current stay of patient "
                                 f"'{patient_id}' (corrected or marked already?)")
            old = dict(found._mapping)
            new = _icu_changed(stay_id, old, action, changes)
            if action != "entered_in_error":
                self._fits(conn, patient_id, new["transferred_at"], new["returned_at"],
                           stay_id)
            new = _icu_version(new, stay_id, by, action, reason)
            try:
                with conn.begin_nested():
                    new_id = conn.execute(x.insert().values(**new)).inserted_primary_key[0]
            except sa.exc.IntegrityError as e:
                if _unique_violation(e):  # ux_icu_stays_replaces: another writer was first
                    raise ConcurrentChangeError(
                        f"ICU stay #{stay_id} was changed by someone else a moment ago; "
                        "nothing was saved: look again and retry") from None
                raise
            self._audit(conn, by, action, ENTITY, stay_id, patient_id, before=old,
                        after=new | {"id": new_id})
            return int(new_id)

    def _fits(self, conn: sa.Connection, patient_id: str, transferred_at: datetime,
              returned_at: datetime | None, replacing: int | None) -> None:
        x, a = t.icu_stays, t.assessments
        others = [dict(r._mapping) for r in conn.execute(sa.select(x).where(
            x.c.patient_id == patient_id, *_effective(x),
            *([x.c.id != replacing] if replacing is not None else [])))]
        died = conn.execute(sa.select(sa.func.min(a.c.assessed_at)).where(
            a.c.patient_id == patient_id, a.c.died_of.is_not(None), *_effective(a))).scalar()
        _checked_icu_fits(transferred_at, returned_at, others, died, self.tz)

    def _mark_icu_stays(self, conn: sa.Connection, patient_id: str, reason: str,
                        by: str) -> int:
        """Every current stay marked entered in error (a demo patient cleared)."""
        x = t.icu_stays
        n = 0
        for found in conn.execute(sa.select(x).where(
                x.c.patient_id == patient_id, *_effective(x))).all():
            old = dict(found._mapping)
            row = _icu_version(_icu_changed(old["id"], old, "entered_in_error", {}), old["id"],
                               by, "entered_in_error", reason)
            new_id = conn.execute(x.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "entered_in_error", ENTITY, old["id"], patient_id,
                        before=old, after=row | {"id": new_id})
            n += 1
        return n

    def icu_stays(self, patient_id: str) -> list[dict[str, Any]]:
        """The patient's current stays, earliest first."""
        return self._current_rows(t.icu_stays, patient_id, t.icu_stays.c.transferred_at)

    def icu_history(self, patient_id: str) -> list[dict[str, Any]]:
        """Every version of the patient's stays, corrected and marked ones too, oldest first."""
        x = t.icu_stays
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(x).where(x.c.patient_id == patient_id).order_by(x.c.id))]

    def in_icu(self, patient_ids: list[str] | None = None) -> dict[str, datetime]:
        """Patient -> the transfer time of their open stay (in intensive care now)."""
        x = t.icu_stays
        with self._read() as conn:
            q = sa.select(x.c.patient_id, x.c.transferred_at).where(
                x.c.returned_at.is_(None), *_effective(x))
            if patient_ids is not None:
                q = q.where(x.c.patient_id.in_(patient_ids))
            return {r.patient_id: r.transferred_at for r in conn.execute(q)}
