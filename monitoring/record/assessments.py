"""Assessments: record, amend, mark entered in error, with every check the record makes
(death last, support in context, one assessment per patient and time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import grading
from grading.parse import InputError

from .. import tables as t
from .model import (
    CANONICAL_STORED,
    CONTEXT_FIELDS,
    ConcurrentChangeError,
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
    now,
)
from .sql import (
    _CONCURRENT_MARKERS,
    Repository,
    _effective,
    _scope,
)


class AssessmentRecord(Repository):
    """The assessments and their correction history."""

    # ------------------------------------------------------------------ assessments
    def record_assessment(self, patient_id: str, values: Mapping[str, Any], by: str,
                          source: str = "form") -> int:
        """Validate one canonical assessment (``time`` required) and save it. Returns its id.
        Raises ``InputError`` (every problem, one per line) or ``StoreError``."""
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            row = self._validated(conn, patient_id, values)
            self._check_death(conn, row)
            follows, current = self._slot(conn, patient_id, row["assessed_at"])
            if current is not None:
                raise _time_taken(patient_id, self._when(row["assessed_at"]),
                                  ": amend it instead")
            new_id = self._insert_assessment(conn, row, by, source, None, None, "record",
                                             follows=follows)
            if _touches_support(row) or self._has_later(conn, patient_id, row["assessed_at"]):
                self._check_record_stays_valid(conn, patient_id)
            return new_id

    def _has_later(self, conn: sa.Connection, patient_id: str, at: datetime) -> bool:
        a = t.assessments
        return conn.execute(sa.select(a.c.id).where(
            a.c.patient_id == patient_id, a.c.assessed_at > at, *_effective(a)).limit(1)
        ).first() is not None

    def amend_assessment(self, assessment_id: int, values: Mapping[str, Any], reason: str,
                         by: str) -> int:
        """Correct an assessment: a new row replaces it; the original stays in the history."""
        if not reason or not reason.strip():
            raise StoreError("a correction needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by)
            old = self._current(conn, assessment_id)
            self._check_writer(conn, by, old["patient_id"])
            row = self._validated(conn, old["patient_id"], values, exclude=assessment_id)
            self._check_death(conn, row, exclude=assessment_id)
            follows, clash = self._slot(conn, old["patient_id"], row["assessed_at"])
            if clash not in (None, assessment_id):
                if conn.execute(sa.select(t.assessments.c.id).where(
                        t.assessments.c.replaces_id == assessment_id)).first() is not None:
                    # corrected by someone else since this correction read it
                    raise self._corrected_meanwhile(old["patient_id"], row["assessed_at"],
                                                    assessment_id)
                raise _time_taken(old["patient_id"], self._when(row["assessed_at"]))
            new_id = self._insert_assessment(conn, row, by, "amendment", assessment_id, reason,
                                             "amend", before=_public(old), follows=follows)
            self._check_record_stays_valid(conn, old["patient_id"])
            return new_id

    def mark_entered_in_error(self, assessment_id: int, reason: str, by: str) -> int:
        return self.mark_many_entered_in_error([assessment_id], reason, by)[0]

    def mark_many_entered_in_error(self, assessment_ids: Sequence[int], reason: str,
                                   by: str) -> list[int]:
        """Mark assessments entered-in-error in one transaction; each patient's record must
        be consistent once all are marked."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, assessment_ids)
            self._check_user(conn, by)
            return self._mark_assessments(conn, assessment_ids, reason, by)

    def _mark_assessments(self, conn: sa.Connection, assessment_ids: Sequence[int],
                          reason: str, by: str) -> list[int]:
        new_ids, patients = [], set()
        for assessment_id in assessment_ids:
            old = self._current(conn, assessment_id)
            if old["patient_id"] not in patients:
                self._check_writer(conn, by, old["patient_id"])
            row = {"patient_id": old["patient_id"], "assessed_at": old["assessed_at"]}
            follows, _ = self._slot(conn, old["patient_id"], old["assessed_at"])
            new_ids.append(self._insert_assessment(
                conn, row, by, "correction", assessment_id, reason, "entered_in_error",
                before=_public(old), status="entered_in_error", follows=follows))
            patients.add(old["patient_id"])
        for patient_id in sorted(patients):
            self._check_record_stays_valid(conn, patient_id)
        return new_ids


    def _check_death(self, conn: sa.Connection, row: Mapping[str, Any],
                     exclude: int | None = None) -> None:
        """Nothing after a recorded death; a death only after the last assessment."""
        a = t.assessments
        others = [a.c.patient_id == row["patient_id"], *_effective(a),
                  *([a.c.id != exclude] if exclude else [])]
        died = conn.execute(sa.select(a.c.assessed_at).where(
            *others, a.c.died_of.is_not(None), a.c.assessed_at < row["assessed_at"])).first()
        if died is not None:
            raise _after_death(row["patient_id"], died.assessed_at,
                               self._when(died.assessed_at))
        if row.get("died_of") is not None:
            later = conn.execute(sa.select(a.c.assessed_at).where(
                *others, a.c.assessed_at > row["assessed_at"])).first()
            if later is not None:
                raise _death_not_last(row["patient_id"], row["assessed_at"])

    def _current(self, conn: sa.Connection, assessment_id: int) -> dict[str, Any]:
        a = t.assessments
        old = conn.execute(sa.select(a).where(a.c.id == assessment_id)).first()
        if old is None:
            raise StoreError(f"no assessment {assessment_id}")
        newer = conn.execute(sa.select(a.c.id).where(a.c.replaces_id == assessment_id)).first()
        if newer is not None:
            raise StoreError(f"assessment {assessment_id} was already corrected by "
                             f"{newer.id}: correct the current version")
        if old.status == "entered_in_error":
            raise StoreError(f"assessment {assessment_id} is an entered-in-error mark")
        return dict(old._mapping)

    def _insert_assessment(self, conn: sa.Connection, row: dict[str, Any], by: str, source: str,
                           replaces: int | None, reason: str | None, action: str,
                           before: object = None, status: str = "final", *,
                           follows: int) -> int:
        """Insert one assessment row. ``follows`` is the newest row at its patient and time
        read by ``_slot`` in the same statement as the check that the time is free; if
        another writer has added a row there since, the database refuses this one."""
        full = row | {"recorded_at": now(), "recorded_by": by, "status": status,
                      "replaces_id": replaces, "reason": reason, "source": source,
                      "follows_id": follows}
        try:
            new_id = conn.execute(t.assessments.insert().values(**full)).inserted_primary_key[0]
        except sa.exc.IntegrityError as e:
            problem = self._concurrent_problem(e, row["patient_id"], row["assessed_at"],
                                               replaces)
            if problem is None:
                raise
            raise problem from None
        self._audit(conn, by, action, "assessment", new_id, row["patient_id"], before=before,
                    after=_public(full | {"id": new_id}), at=full["recorded_at"])
        return int(new_id)

    def _slot(self, conn: sa.Connection, patient_id: str, at: datetime
              ) -> tuple[int, int | None]:
        """The patient and time's newest row (0 when none), and its effective assessment (None
        when the time is free), read in one statement so both describe the same moment."""
        a = t.assessments
        newer = a.alias("newer")
        rows = conn.execute(sa.select(
            a.c.id, a.c.status, sa.exists().where(newer.c.replaces_id == a.c.id).label("done"))
            .where(a.c.patient_id == patient_id, a.c.assessed_at == at).order_by(a.c.id)).all()
        effective = [int(r.id) for r in rows if r.status == "final" and not r.done]
        return (int(rows[-1].id) if rows else 0), (effective[0] if effective else None)

    def _when(self, at: datetime) -> str:
        """A time as the ward reads it (ward time zone, no ISO text)."""
        return at.astimezone(self.tz).strftime("%d %b %Y %H:%M")

    def _corrected_meanwhile(self, patient_id: str, at: datetime, replaces: int
                             ) -> ConcurrentChangeError:
        return ConcurrentChangeError(
            f"someone else changed this part of patient {patient_id}'s record a moment ago "
            f"(assessment {replaces} was corrected, or an entry was saved at "
            f"{self._when(at)}), so this correction was not saved: reload the record and "
            "correct the current version if it still needs it")

    def _concurrent_problem(self, e: Exception, patient_id: str, at: datetime,
                            replaces: int | None) -> ConcurrentChangeError | None:
        """The message for a write the database refused because another user's write to the
        same assessment or time landed first (migration 0008); None for any other error."""
        text = str(getattr(e, "orig", e))
        if not any(k in text for k in _CONCURRENT_MARKERS):
            return None
        if replaces is not None:
            return self._corrected_meanwhile(patient_id, at, replaces)
        return ConcurrentChangeError(
            f"patient {patient_id} already has an assessment at {self._when(at)}: it was "
            "saved by someone else a moment ago, so this one was not saved; check it and "
            "amend it if your observations differ")

    def _validated(self, conn: sa.Connection, patient_id: str, values: Mapping[str, Any],
                   exclude: int | None = None) -> dict[str, Any]:
        """Run the canonical validation on the new row, in the context of the patient's
        ongoing support (a flow needs the device in force, a dose its vasopressor)."""
        p = conn.execute(sa.select(t.patients).where(
            t.patients.c.patient_id == patient_id)).first()
        if p is None:
            raise StoreError(f"unknown patient '{patient_id}': admit the patient first")
        if "time" not in values or values["time"] in (None, ""):
            raise _time_required()
        new = {k: v for k, v in values.items() if k not in ("patient_id", "infusion_time")}
        new["patient_id"] = patient_id
        probe = grading.from_rows([{"patient_id": patient_id, "time": values["time"]}],
                                  tz=self.tz)
        at = probe.frame["time"].iat[0].to_pydatetime()
        a = t.assessments
        context: dict[datetime, dict[str, Any]] = {}
        for name in CONTEXT_FIELDS:  # the support in force before this row
            if new.get(name) not in (None, "") or values.get(name) is not None:
                continue
            prior = conn.execute(
                sa.select(a.c.assessed_at, a.c[name]).where(
                    a.c.patient_id == patient_id, a.c.assessed_at < at,
                    a.c[name].is_not(None), *_effective(a),
                    *([a.c.id != exclude] if exclude else []))
                .order_by(a.c.assessed_at.desc()).limit(1)).first()
            if prior is not None:
                context.setdefault(prior.assessed_at, {})[name] = prior[1]
        # context rows after the new row, so messages still say "row 1"
        rows = [new, *({"patient_id": patient_id, "time": when, **v}
                       for when, v in sorted(context.items()))]
        checked = grading.from_rows(rows, tz=self.tz)
        return {"patient_id": patient_id, "assessed_at": at, **_stored_values(checked, 0)}

    def _check_record_stays_valid(self, conn: sa.Connection, patient_id: str) -> None:
        """After a change that later rows may depend on (oxygen support, a back-dated or
        corrected row), the patient's whole effective record must still validate."""
        rows = self.uow.timeline._timeline_rows(conn, patient_id)
        if not rows:
            return
        try:
            grading.from_rows(rows, tz=self.tz)
        except InputError as e:
            raise StoreError("this change would leave the patient's record inconsistent: "
                             + " | ".join(_renumbered(e.problems, rows)), e.problems) from None

    def history(self, patient_id: str) -> list[StoredAssessment]:
        """Every assessment row of a patient (originals, amendments, marks), by time."""
        a = t.assessments
        with self._read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(a).where(a.c.patient_id == patient_id)
                .order_by(a.c.assessed_at, a.c.id))]
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
        """What is wrong with stored records that the database constraints of migration 0008
        now prevent but rows written before it may hold: two current assessments at one time,
        an assessment corrected twice. Patient id -> problems in the ward's words."""
        a = t.assessments
        out: dict[str, list[str]] = {}
        with self._read() as conn:
            if duplicates:
                for r in conn.execute(sa.select(a.c.patient_id, a.c.assessed_at,
                                                sa.func.count().label("n"))
                                      .where(*_effective(a), *_scope(a.c.patient_id, patient_ids))
                                      .group_by(a.c.patient_id, a.c.assessed_at)
                                      .having(sa.func.count() > 1)):
                    out.setdefault(r.patient_id, []).append(
                        f"{r.n} current assessments at {self._when(r.assessed_at)}")
            twice = (sa.select(a.c.patient_id, a.c.replaces_id)
                     .where(a.c.replaces_id.is_not(None), *_scope(a.c.patient_id, patient_ids))
                     .group_by(a.c.patient_id, a.c.replaces_id).having(sa.func.count() > 1))
            for r in conn.execute(twice):
                at = conn.execute(sa.select(a.c.assessed_at).where(a.c.id == r.replaces_id)
                                  ).scalar_one()
                out.setdefault(r.patient_id, []).append(
                    f"the assessment at {self._when(at)} was corrected twice at once")
        return out
