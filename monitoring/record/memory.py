"""The ward record in plain Python structures: ``MemoryUnitOfWork``, with the same repositories
(same method names, arguments, answers and refusals) as ``SqlUnitOfWork``, and no database. For
tests of services, escalation and UI logic where the database is not the point; the record's own
tests keep running on SQLite and PostgreSQL, and tests/monitoring/test_record_contract.py runs
one contract against all three.

A transaction is a snapshot of the tables taken when the outermost write starts and put back if
it fails; one lock serialises the writers, as SQLite's write lock does."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from grading.parse import ward_zone

from .. import auth, limits
from .. import tables as t
from .model import (
    CLINICAL_WRITERS,
    SYSTEM_USER,
    PatientIn,
    StoreError,
    _bounded,
    _json,
    now,
)
from .patients import PatientRecord

# the column names of every table, so a row reads the same as one from the database
COLUMNS = {name: tuple(table.c.keys()) for name, table in t.metadata.tables.items()}


class MemoryUnitOfWork:
    """Tables as lists of row dicts (append-only, as in the database), one writer at a time."""

    def __init__(self, tz: str = "UTC") -> None:
        from .memory_care import MemoryFlags, MemoryJudgements, MemoryTreatments
        from .memory_csv import MemoryCsv
        from .memory_icu import MemoryIcu
        from .memory_record import MemoryAssessments, MemoryTimeline
        self.tz = ward_zone(tz)
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
        self._lock = threading.RLock()
        self._depth = 0
        self.users = MemoryUsers(self)
        self.patients = MemoryPatients(self)
        self.assessments = MemoryAssessments(self)
        self.timeline = MemoryTimeline(self)
        self.treatments = MemoryTreatments(self)
        self.icu = MemoryIcu(self)
        self.judgements = MemoryJudgements(self)
        self.flags = MemoryFlags(self)
        self.teaching = MemoryTeaching(self)
        self.audit = MemoryAudit(self)
        self.csv = MemoryCsv(self)
        self.insert("users", {"username": SYSTEM_USER, "display_name": "System", "role": "admin",
                              "active": True, "created_at": now(), "created_by": SYSTEM_USER,
                              "failed_attempts": 0})

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self._snapshot():
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0

    @contextmanager
    def _read(self) -> Iterator[None]:
        with self._lock:
            yield

    @contextmanager
    def locked(self, patient_ids: Iterable[str]) -> Iterator[None]:
        with self._write():
            yield

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self._lock, self._snapshot():
            yield

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        before = {k: [dict(r) for r in v] for k, v in self.tables.items()}
        try:
            yield
        except BaseException:
            self.tables = before
            raise

    # ------------------------------------------------------------------ rows
    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        rows = self.tables[table]
        # as the database gives them back: times in UTC
        full = dict.fromkeys(COLUMNS[table]) | {
            k: v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo else v
            for k, v in row.items()}
        if "id" in COLUMNS[table]:
            full["id"] = full["id"] or (max((r["id"] for r in rows), default=0) + 1)
        rows.append(full)
        return int(full["id"]) if "id" in COLUMNS[table] else 0

    def effective(self, table: str) -> list[dict[str, Any]]:
        """Rows that are the current version: final and not replaced by a later row."""
        rows = self.tables[table]
        replaced = {r["replaces_id"] for r in rows if r.get("replaces_id") is not None}
        return [r for r in rows if r["status"] == "final" and r["id"] not in replaced]

    def find(self, table: str, **match: Any) -> dict[str, Any] | None:
        return next((r for r in self.tables[table]
                     if all(r[k] == v for k, v in match.items())), None)


class MemoryRepository:
    """The shared part of every in-memory concern (as ``sql.Repository``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    @property
    def tz(self) -> Any:
        return self.uow.tz

    def _audit(self, user: str, action: str, entity: str, entity_id: object,
               patient_id: str | None, before: object = None, after: object = None,
               at: datetime | None = None) -> None:
        self.uow.insert("audit_log", {
            "at": at or now(), "username": user, "action": action, "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "patient_id": patient_id, "before": _json(before), "after": _json(after)})

    def _check_user(self, user: str, roles: Sequence[str] = t.ROLES) -> str:
        row = self.uow.find("users", username=user)
        if row is None:
            raise StoreError(f"unknown user '{user}'")
        if not row["active"]:
            raise StoreError(f"user '{user}' is disabled")
        if row["role"] not in roles:
            raise StoreError(f"user '{user}' ({row['role']}) may not do this; needs "
                             + " or ".join(roles))
        return str(row["role"])

    def _check_writer(self, user: str, patient_id: str) -> None:
        role = self._check_user(user)
        if role in CLINICAL_WRITERS:
            return
        p = self.uow.find("patients", patient_id=patient_id)
        if role == "educator" and p is not None and p["is_demo"]:
            return
        raise StoreError(f"user '{user}' ({role}) may not do this; needs "
                         + " or ".join(CLINICAL_WRITERS)
                         + (" (an educator charts for synthetic demo patients only)"
                            if role == "educator" else ""))

    def _require_patient(self, patient_id: str) -> None:
        if self.uow.find("patients", patient_id=patient_id) is None:
            raise StoreError(f"unknown patient '{patient_id}'")

    def _when(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%d %b %Y %H:%M")

    def _current_rows(self, table: str, patient_id: str, order: str) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in sorted(
                (r for r in self.uow.effective(table) if r["patient_id"] == patient_id),
                key=lambda r: (r[order], r["id"]))]


def _public_user(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "password_hash"}


class MemoryUsers(MemoryRepository):
    """Accounts (no sign-in here: that is the database's, docs/security.md)."""

    def add_user(self, username: str, role: str, by: str = SYSTEM_USER,
                 display_name: str | None = None, password_hash: str | None = None) -> None:
        if role not in t.ROLES:
            raise StoreError(f"role must be one of {', '.join(t.ROLES)}")
        if auth.sign_in_input_problem(username, ""):
            raise StoreError(f"a user name needs 1 to {auth.MAX_USERNAME_LENGTH} characters, "
                             "without line breaks or other control characters")
        with self.uow._write():
            self._check_user(by, ("admin",))
            if self.uow.find("users", username=username):
                raise StoreError(f"user '{username}' already exists")
            row = {"username": username, "display_name": display_name or username,
                   "role": role, "password_hash": password_hash, "active": True,
                   "created_at": now(), "created_by": by}
            self.uow.insert("users", row | {"failed_attempts": 0})
            self._audit(by, "create", "user", username, None,
                        after={k: v for k, v in row.items() if k != "password_hash"})

    def set_active(self, username: str, active: bool, by: str) -> None:
        with self.uow._write():
            self._check_user(by, ("admin",))
            row = self.uow.find("users", username=username)
            if row is None:
                raise StoreError(f"unknown user '{username}'")
            before = row["active"]
            row["active"] = active
            self._audit(by, "enable" if active else "disable", "user", username, None,
                        before={"active": before}, after={"active": active})

    def user(self, username: str) -> dict[str, Any] | None:
        with self.uow._read():
            row = self.uow.find("users", username=username)
            return None if row is None else _public_user(row)

    def users(self) -> list[dict[str, Any]]:
        with self.uow._read():
            return [_public_user(r) for r in sorted(self.uow.tables["users"],
                                                    key=lambda r: r["username"])]

    def set_password(self, username: str, password: str, by: str) -> None:
        raise NotImplementedError("passwords and sign-in live in the database record only")

    def sign_in(self, *args: Any, **kwargs: Any) -> auth.SignIn:
        raise NotImplementedError("passwords and sign-in live in the database record only")

    def sso_sign_in(self, *args: Any, **kwargs: Any) -> auth.SignIn:
        raise NotImplementedError("passwords and sign-in live in the database record only")


class MemoryPatients(MemoryRepository):
    """Admission, details, discharge, clearing a demo patient."""

    PATIENT_EDITABLE = PatientRecord.PATIENT_EDITABLE

    def admit(self, patient: PatientIn | Mapping[str, Any], by: str) -> str:
        p = patient if isinstance(patient, PatientIn) else PatientIn.model_validate(patient)
        with self.uow._write():
            self._check_user(by, ("physician", "admin", *(("educator",) if p.is_demo else ())))
            return self._admit(p, by)

    def _admit(self, p: PatientIn, by: str) -> str:
        if self.uow.find("patients", patient_id=p.patient_id):
            raise StoreError(f"patient '{p.patient_id}' already exists")
        row = p.model_dump() | {"created_at": now(), "created_by": by}
        row["admitted_at"] = row["admitted_at"] or row["created_at"]
        self.uow.insert("patients", row)
        self._audit(by, "admit", "patient", p.patient_id, p.patient_id, after=row)
        return p.patient_id

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        with self.uow._read():
            row = self.uow.find("patients", patient_id=patient_id)
            return None if row is None else dict(row)

    def patients(self, *, demo: bool | None = None, admitted_only: bool = False
                 ) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in sorted(self.uow.tables["patients"],
                                            key=lambda r: r["patient_id"])
                    if (demo is None or r["is_demo"] == demo)
                    and not (admitted_only and r["discharged_at"] is not None)]

    def discharge(self, patient_id: str, by: str, at: datetime | None = None) -> None:
        with self.uow._write():
            self._check_user(by, ("physician", "admin"))
            row = self.uow.find("patients", patient_id=patient_id)
            if row is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            before, row["discharged_at"] = row["discharged_at"], at or now()
            self._audit(by, "discharge", "patient", patient_id, patient_id,
                        before={"discharged_at": before},
                        after={"discharged_at": row["discharged_at"]})

    def update_patient(self, patient_id: str, changes: Mapping[str, Any], reason: str,
                       by: str) -> None:
        unknown = sorted(set(changes) - set(self.PATIENT_EDITABLE))
        if unknown:
            raise StoreError("these admission details cannot be changed: " + ", ".join(unknown)
                             + "; allowed: " + ", ".join(self.PATIENT_EDITABLE))
        if not reason or not reason.strip():
            raise StoreError("a change to admission details needs a reason")
        _bounded(("reason", reason), *((k, v) for k, v in changes.items()
                                       if k in limits.LIMITS and isinstance(v, str)))
        with self.uow._write():
            role = self._check_user(by, ("physician", "admin", "educator"))
            row = self.uow.find("patients", patient_id=patient_id)
            if row is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if role == "educator" and not row["is_demo"]:
                raise StoreError(f"user '{by}' (educator) may not do this; needs physician or "
                                 "admin (an educator changes synthetic demo patients only)")
            merged = {k: v for k, v in (row | dict(changes)).items()
                      if k in PatientIn.model_fields}
            try:
                checked = PatientIn.model_validate(merged)
            except ValidationError as e:
                raise StoreError("; ".join(
                    f"{PatientIn.model_fields[str(x['loc'][0])].title}: {x['msg']}"
                    if x["loc"] and x["loc"][0] in PatientIn.model_fields else x["msg"]
                    for x in e.errors())) from None
            values = {k: (changes[k] if k == "discharged_at" else getattr(checked, k))
                      for k in changes}
            before = {k: row[k] for k in values}
            row.update(values)
            self._audit(by, "update", "patient", patient_id, patient_id, before=before,
                        after=values | {"reason": reason})

    def clear_demo_patient(self, patient_id: str, reason: str, by: str) -> int:
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_writer(by, patient_id)
            row = self.uow.find("patients", patient_id=patient_id)
            if row is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if not row["is_demo"]:
                raise StoreError(f"patient '{patient_id}' is not a demo patient: a real "
                                 "record is corrected entry by entry, never cleared")
            ids = [r["id"] for r in sorted(self.uow.effective("assessments"),
                                           key=lambda r: r["assessed_at"])
                   if r["patient_id"] == patient_id]
            n = len(self.uow.assessments._mark_assessments(ids, reason, by))
            n += self.uow.treatments._mark_medications_and_labs(patient_id, reason, by)
            n += self.uow.icu._mark_icu_stays(patient_id, reason, by)
            acked = {k["flag_id"] for k in self.uow.tables["flag_acknowledgements"]}
            for f in self.uow.effective("flags"):
                if f["patient_id"] == patient_id and f["id"] not in acked:
                    self.uow.flags._acknowledge(f["id"], reason, by, True, reason)
            return n


class MemoryTeaching(MemoryRepository):
    """Teaching cases, versioned."""

    def save_teaching_case(self, case_id: str, title: str, card: str, timeline: str,
                           by: str, reason: str | None = None) -> int:
        if not title or not title.strip():
            raise StoreError("a teaching case needs a title")
        with self.uow._write():
            self._check_user(by, ("educator", "admin"))
            current = next((r for r in self.uow.effective("teaching_cases")
                            if r["case_id"] == case_id), None)
            row = {"case_id": case_id, "title": title.strip(), "card": card,
                   "timeline": timeline, "replaces_id": None if current is None else current["id"],
                   "recorded_at": now(), "recorded_by": by, "status": "final", "reason": reason}
            new_id = self.uow.insert("teaching_cases", row)
            self._audit(by, "save" if current is None else "new_version", "teaching_case",
                        new_id, None,
                        after={k: v for k, v in row.items() if k not in ("card", "timeline")})
            return new_id

    def teaching_cases(self) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in sorted(self.uow.effective("teaching_cases"),
                                            key=lambda r: r["case_id"])]

    def teaching_case_versions(self, case_id: str) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in self.uow.tables["teaching_cases"] if r["case_id"] == case_id]


class MemoryAudit(MemoryRepository):
    """The audit log, notes, one-off claims, the data version."""

    def audit(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow._read():
            return [dict(r) for r in self.uow.tables["audit_log"]
                    if patient_id is None or r["patient_id"] == patient_id]

    def note(self, by: str, action: str, entity: str, entity_id: object,
             patient_id: str | None = None, after: object = None) -> None:
        with self.uow._write():
            self._check_user(by)
            self._audit(by, action, entity, entity_id, patient_id, after=after)

    def claim_once(self, task: str, by: str = SYSTEM_USER) -> bool:
        with self.uow._write():
            if any(r["action"] == "run_once" and r["entity"] == "task" and r["entity_id"] == task
                   for r in self.uow.tables["audit_log"]):
                return False
            self._audit(by, "run_once", "task", task, None)
            return True

    def data_version(self) -> int:
        with self.uow._read():
            log = self.uow.tables["audit_log"]  # as the database: newest id + entries
            return max((r["id"] for r in log), default=0) + len(log)
