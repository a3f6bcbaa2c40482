"""Escalation flags: raise, acknowledge, withdraw, read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import flag_rights
from .. import tables as t
from .model import (
    SYSTEM_USER,
    StoreError,
    _bounded,
    now,
)
from .sql import (
    Repository,
    _effective,
)


class FlagRecord(Repository):
    """Flags and their acknowledgements."""

    def raise_flag(self, patient_id: str, code: str, severity: str, message: str,
                   raised_at: datetime, by: str = SYSTEM_USER, assessment_id: int | None = None,
                   respond: str | None = None) -> int:
        if severity not in ("info", "review", "urgent", "emergency"):
            raise StoreError("severity must be info, review, urgent or emergency")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._require_patient(conn, patient_id)
            row = {"patient_id": patient_id, "assessment_id": assessment_id, "code": code,
                   "severity": severity, "message": message, "raised_at": raised_at,
                   "respond": respond, "recorded_at": now(), "recorded_by": by,
                   "status": "final"}
            new_id = conn.execute(t.flags.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "raise", "flag", new_id, patient_id, after=row)
            return int(new_id)

    def acknowledge_flag(self, flag_id: int, action: str, by: str, dismiss: bool = False,
                         reason: str | None = None) -> int:
        """Acknowledge a flag with the action taken; dismissing needs a reason."""
        return self.acknowledge_flags([flag_id], action, by, dismiss, reason)[0]

    def acknowledge_flags(self, flag_ids: Sequence[int], action: str, by: str,
                          dismiss: bool = False, reason: str | None = None) -> list[int]:
        """Acknowledge several flags with one action (or dismiss them with one reason) in ONE
        transaction under their patients' locks: all of them, or none when one may not be
        closed by this user (decision E12) or was closed meanwhile. Each is audited."""
        if not action or not action.strip():
            raise StoreError("say what was done (action taken)")
        if dismiss and not (reason and reason.strip()):
            raise StoreError("dismissing a flag needs a reason")
        _bounded(("action", action), ("reason", reason))
        ids = list(dict.fromkeys(flag_ids))
        if not ids:
            raise StoreError("choose at least one flag")
        with self._write() as conn:
            self._lock_for_rows(conn, t.flags, ids)
            role = self._check_user(conn, by)
            out = []
            for flag_id in ids:
                flag = conn.execute(sa.select(t.flags).where(t.flags.c.id == flag_id)).first()
                if flag is None:
                    raise StoreError(f"no flag {flag_id}")
                demo = conn.execute(sa.select(t.patients.c.is_demo).where(
                    t.patients.c.patient_id == flag.patient_id)).scalar()
                why = flag_rights.refusal(by, role, flag._mapping, dismiss=dismiss,
                                          demo_patient=bool(demo))
                if why is not None:
                    raise StoreError(why)
                out.append(self._acknowledge(conn, flag_id, action, by, dismiss, reason))
            return out

    def _acknowledge(self, conn: sa.Connection, flag_id: int, action: str, by: str,
                     dismiss: bool, reason: str | None) -> int:
        flag = conn.execute(sa.select(t.flags).where(t.flags.c.id == flag_id)).first()
        if flag is None:
            raise StoreError(f"no flag {flag_id}")
        done = conn.execute(sa.select(t.flag_acknowledgements.c.recorded_by).where(
            t.flag_acknowledgements.c.flag_id == flag_id)).first()
        if done is not None:  # two workstations at once: the patient's lock orders them
            raise StoreError(f"this flag was already acknowledged by {done.recorded_by}: "
                             "reload to see what was done")
        row = {"flag_id": flag_id, "action": action, "dismissed": dismiss, "reason": reason,
               "recorded_at": now(), "recorded_by": by, "status": "final"}
        new_id = conn.execute(t.flag_acknowledgements.insert().values(**row)
                              ).inserted_primary_key[0]
        self._audit(conn, by, "dismiss" if dismiss else "acknowledge", "flag", flag_id,
                    flag.patient_id, after=row)
        return int(new_id)

    def withdraw_flag(self, flag_id: int, reason: str, by: str = SYSTEM_USER) -> int:
        """Withdraw an unacknowledged flag whose condition a correction or a back-dated entry
        has made untrue: a new row marks it (nothing deleted, audited)."""
        with self._write() as conn:
            self._lock_for_rows(conn, t.flags, [flag_id])
            f = conn.execute(sa.select(t.flags).where(t.flags.c.id == flag_id)).first()
            if f is None:
                raise StoreError(f"no flag {flag_id}")
            ack = conn.execute(sa.select(t.flag_acknowledgements.c.recorded_by).where(
                t.flag_acknowledgements.c.flag_id == flag_id)).first()
            if ack is not None and ack.recorded_by != SYSTEM_USER:
                raise StoreError("an acknowledged flag stays as it is")
            row = {k: f._mapping[k] for k in ("patient_id", "assessment_id", "code",
                                               "severity", "message", "raised_at", "respond")}
            row |= {"replaces_id": flag_id, "recorded_at": now(), "recorded_by": by,
                    "status": "entered_in_error", "reason": reason}
            new_id = conn.execute(t.flags.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "withdraw", "flag", flag_id, f.patient_id, after=row)
            return int(new_id)

    def flags(self, patient_id: str) -> list[dict[str, Any]]:
        """Every current flag of a patient (open and acknowledged), oldest first, with its
        acknowledgement (who, when, action, dismissed, reason) when there is one."""
        f, k = t.flags, t.flag_acknowledgements
        q = (sa.select(f, k.c.action.label("ack_action"), k.c.dismissed.label("ack_dismissed"),
                       k.c.reason.label("ack_reason"), k.c.recorded_by.label("ack_by"),
                       k.c.recorded_at.label("ack_at"))
             .outerjoin(k, k.c.flag_id == f.c.id)
             .where(f.c.patient_id == patient_id, *_effective(f))
             .order_by(f.c.raised_at, f.c.id))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def open_flags(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        """Flags without an acknowledgement yet."""
        f, k = t.flags, t.flag_acknowledgements
        q = sa.select(f).where(*_effective(f), ~sa.exists().where(k.c.flag_id == f.c.id)) \
            .order_by(f.c.raised_at)
        if patient_id is not None:
            q = q.where(f.c.patient_id == patient_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
