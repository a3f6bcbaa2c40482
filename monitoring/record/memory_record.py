"""The clinical concerns of ``MemoryUnitOfWork``: assessments, the effective timeline,
treatments, a physician's judgements, flags and CSV import/export, over plain Python rows. Each
method answers and refuses as its SQL twin does (tests/monitoring/test_record_contract.py)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import grading
from grading.parse import InputError

from .. import tables as t
from .memory import MemoryRepository
from .model import (
    CANONICAL_STORED,
    CONTEXT_FIELDS,
    StoredAssessment,
    StoreError,
    _after_death,
    _bounded,
    _death_not_last,
    _public,
    _renumbered,
    _stored_values,
    _time_required,
    _time_taken,
    _touches_support,
    apply_attribution_periods,
    assessments_from_columns,
    now,
)


class MemoryAssessments(MemoryRepository):
    """Record, amend, mark entered in error; the checks ``AssessmentRecord`` makes."""

    def _of(self, patient_id: str, exclude: int | None = None) -> list[dict[str, Any]]:
        return [r for r in self.uow.effective("assessments")
                if r["patient_id"] == patient_id and r["id"] != exclude]

    def record_assessment(self, patient_id: str, values: Mapping[str, Any], by: str,
                          source: str = "form") -> int:
        with self.uow._write():
            self._check_writer(by, patient_id)
            row = self._validated(patient_id, values)
            self._check_death(row)
            _, current = self._slot(patient_id, row["assessed_at"])
            if current is not None:
                raise _time_taken(patient_id, self._when(row["assessed_at"]),
                                  ": amend it instead")
            new_id = self._insert(row, by, source, None, None, "record")
            if _touches_support(row) or any(r["assessed_at"] > row["assessed_at"]
                                            for r in self._of(patient_id)):
                self._check_record_stays_valid(patient_id)
            return new_id

    def amend_assessment(self, assessment_id: int, values: Mapping[str, Any], reason: str,
                         by: str) -> int:
        if not reason or not reason.strip():
            raise StoreError("a correction needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_user(by)
            old = self._current(assessment_id)
            self._check_writer(by, old["patient_id"])
            row = self._validated(old["patient_id"], values, exclude=assessment_id)
            self._check_death(row, exclude=assessment_id)
            _, clash = self._slot(old["patient_id"], row["assessed_at"])
            if clash not in (None, assessment_id):
                raise _time_taken(old["patient_id"], self._when(row["assessed_at"]))
            new_id = self._insert(row, by, "amendment", assessment_id, reason, "amend",
                                  before=_public(old))
            self._check_record_stays_valid(old["patient_id"])
            return new_id

    def mark_entered_in_error(self, assessment_id: int, reason: str, by: str) -> int:
        return self.mark_many_entered_in_error([assessment_id], reason, by)[0]

    def mark_many_entered_in_error(self, assessment_ids: Sequence[int], reason: str,
                                   by: str) -> list[int]:
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self.uow._write():
            self._check_user(by)
            return self._mark_assessments(assessment_ids, reason, by)

    def _mark_assessments(self, assessment_ids: Sequence[int], reason: str, by: str
                          ) -> list[int]:
        new_ids, patients = [], set()
        for assessment_id in assessment_ids:
            old = self._current(assessment_id)
            if old["patient_id"] not in patients:
                self._check_writer(by, old["patient_id"])
            row = {"patient_id": old["patient_id"], "assessed_at": old["assessed_at"]}
            new_ids.append(self._insert(row, by, "correction", assessment_id, reason,
                                        "entered_in_error", before=_public(old),
                                        status="entered_in_error"))
            patients.add(old["patient_id"])
        for patient_id in sorted(patients):
            self._check_record_stays_valid(patient_id)
        return new_ids

    def _check_death(self, row: Mapping[str, Any], exclude: int | None = None) -> None:
        others = self._of(row["patient_id"], exclude)
        died = [r for r in others if r["died_of"] is not None
                and r["assessed_at"] < row["assessed_at"]]
        if died:
            raise _after_death(row["patient_id"], died[0]["assessed_at"],
                               self._when(died[0]["assessed_at"]))
        if row.get("died_of") is not None and any(r["assessed_at"] > row["assessed_at"]
                                                  for r in others):
            raise _death_not_last(row["patient_id"], row["assessed_at"])

    def _current(self, assessment_id: int) -> dict[str, Any]:
        old = self.uow.find("assessments", id=assessment_id)
        if old is None:
            raise StoreError(f"no assessment {assessment_id}")
        newer = self.uow.find("assessments", replaces_id=assessment_id)
        if newer is not None:
            raise StoreError(f"assessment {assessment_id} was already corrected by "
                             f"{newer['id']}: correct the current version")
        if old["status"] == "entered_in_error":
            raise StoreError(f"assessment {assessment_id} is an entered-in-error mark")
        return dict(old)

    def _insert(self, row: dict[str, Any], by: str, source: str, replaces: int | None,
                reason: str | None, action: str, before: object = None,
                status: str = "final") -> int:
        follows, _ = self._slot(row["patient_id"], row["assessed_at"])
        full = row | {"recorded_at": now(), "recorded_by": by, "status": status,
                      "replaces_id": replaces, "reason": reason, "source": source,
                      "follows_id": follows}
        new_id = self.uow.insert("assessments", full)
        self._audit(by, action, "assessment", new_id, row["patient_id"], before=before,
                    after=_public(full | {"id": new_id}), at=full["recorded_at"])
        return new_id

    def _slot(self, patient_id: str, at: datetime) -> tuple[int, int | None]:
        rows = [r for r in self.uow.tables["assessments"]
                if r["patient_id"] == patient_id and r["assessed_at"] == at]
        effective = {r["id"] for r in self._of(patient_id)}
        current = [r["id"] for r in rows if r["id"] in effective]
        return (rows[-1]["id"] if rows else 0), (current[0] if current else None)

    def _validated(self, patient_id: str, values: Mapping[str, Any],
                   exclude: int | None = None) -> dict[str, Any]:
        if self.uow.find("patients", patient_id=patient_id) is None:
            raise StoreError(f"unknown patient '{patient_id}': admit the patient first")
        if "time" not in values or values["time"] in (None, ""):
            raise _time_required()
        new = {k: v for k, v in values.items() if k not in ("patient_id", "infusion_time")}
        new["patient_id"] = patient_id
        probe = grading.from_rows([{"patient_id": patient_id, "time": values["time"]}],
                                  tz=self.tz)
        at = probe.frame["time"].iat[0].to_pydatetime()
        before = sorted((r for r in self._of(patient_id, exclude) if r["assessed_at"] < at),
                        key=lambda r: r["assessed_at"])
        context: dict[datetime, dict[str, Any]] = {}
        for name in CONTEXT_FIELDS:  # the support in force before this row
            if new.get(name) not in (None, "") or values.get(name) is not None:
                continue
            prior = [r for r in before if r[name] is not None]
            if prior:
                context.setdefault(prior[-1]["assessed_at"], {})[name] = prior[-1][name]
        rows = [new, *({"patient_id": patient_id, "time": when, **v}
                       for when, v in sorted(context.items()))]
        checked = grading.from_rows(rows, tz=self.tz)
        return {"patient_id": patient_id, "assessed_at": at, **_stored_values(checked, 0)}

    def _check_record_stays_valid(self, patient_id: str) -> None:
        rows = self.uow.timeline._timeline_rows(patient_id)
        if not rows:
            return
        try:
            grading.from_rows(rows, tz=self.tz)
        except InputError as e:
            raise StoreError("this change would leave the patient's record inconsistent: "
                             + " | ".join(_renumbered(e.problems, rows)), e.problems) from None

    def history(self, patient_id: str) -> list[StoredAssessment]:
        with self.uow._read():
            rows = sorted((r for r in self.uow.tables["assessments"]
                           if r["patient_id"] == patient_id),
                          key=lambda r: (r["assessed_at"], r["id"]))
        replaced = {r["replaces_id"] for r in rows if r["replaces_id"] is not None}
        in_error = {r["replaces_id"] for r in rows if r["status"] == "entered_in_error"}
        return [StoredAssessment(
            id=r["id"], patient_id=r["patient_id"], assessed_at=r["assessed_at"],
            recorded_at=r["recorded_at"], recorded_by=r["recorded_by"],
            status=("entered_in_error" if r["status"] == "entered_in_error"
                    or r["id"] in in_error
                    else "amended" if r["id"] in replaced else "final"),
            replaces_id=r["replaces_id"], reason=r["reason"],
            values={k: r[k] for k in CANONICAL_STORED}) for r in rows]

    def record_problems(self, patient_ids: Sequence[str] | None = None,
                        *, duplicates: bool = True) -> dict[str, list[str]]:
        return {}  # the in-memory record never holds rows written before migration 0008


class MemoryTimeline(MemoryRepository):
    """The effective canonical rows, medications and attributions merged (W1, W3)."""

    def timeline_rows(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow._read():
            return self._timeline_rows(patient_id)

    def _timeline_rows(self, patient_id: str | None) -> list[dict[str, Any]]:
        cols = self._timeline_columns(patient_id)
        names = [k for k in cols if k != "id"]
        always = ("patient_id", "time", "infusion_time")
        return [{k: v for k, v in zip(names, values) if v is not None or k in always}
                for values in zip(*(cols[k] for k in names))]

    def _timeline_columns(self, patient_id: str | Sequence[str] | None
                          ) -> dict[str, list[Any]]:
        def wanted(pid: str) -> bool:
            return patient_id is None or (pid == patient_id if isinstance(patient_id, str)
                                          else pid in patient_id)
        infusion = {p["patient_id"]: p["infusion_time"] for p in self.uow.tables["patients"]}
        rows = sorted((r for r in self.uow.effective("assessments") if wanted(r["patient_id"])),
                      key=lambda r: (r["patient_id"], r["assessed_at"]))
        keys = ["id", "patient_id", "time", "infusion_time", *CANONICAL_STORED]
        cols: dict[str, list[Any]] = {
            k: [r["assessed_at"] if k == "time" else infusion[r["patient_id"]]
                if k == "infusion_time" else r[k] for r in rows] for k in keys}
        span: dict[str, tuple[int, int]] = {}
        for i, pid in enumerate(cols["patient_id"]):
            span[pid] = (span.get(pid, (i, i))[0], i + 1)
        for m in self.uow.effective("administrations"):
            field = t.ADMINISTRATION_KINDS[m["kind"]][1]
            if field and m["patient_id"] in span:
                lo, hi = span[m["patient_id"]]
                i = bisect.bisect_left(cols["time"], m["given_at"], lo, hi)
                if i < hi:
                    cols[field][i] = True
        apply_attribution_periods(cols, span, [
            (x["patient_id"], x["finding"], x["starts_at"], x["ends_at"])
            for x in self.uow.effective("attribution_periods")])
        chain = {r["replaces_id"]: r["id"] for r in self.uow.tables["assessments"]
                 if r["replaces_id"] is not None}
        position = {assessment_id: i for i, assessment_id in enumerate(cols["id"])}
        for x in self.uow.effective("attributions"):
            target = x["assessment_id"]
            while target in chain:  # an amendment keeps the physician's attribution
                target = chain[target]
            i = position.get(target)
            if i is not None:
                have = set((cols["attributed_elsewhere"][i] or "none").split(";")) - {"none"}
                cols["attributed_elsewhere"][i] = ";".join(sorted(have | {x["finding"]}))
        return cols

    def timeline(self, patient_id: str) -> grading.Assessments:
        a, _ = self.timelines([patient_id])
        if a is None:
            raise StoreError(f"patient '{patient_id}' has no assessments yet")
        return a

    def timelines(self, patient_ids: Sequence[str]
                  ) -> tuple[grading.Assessments | None, list[int]]:
        with self.uow._read():
            cols = self._timeline_columns(list(patient_ids))
        if not cols["id"]:
            return None, []
        return assessments_from_columns(cols, self.tz), list(cols["id"])
