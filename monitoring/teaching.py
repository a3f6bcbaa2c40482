"""Teaching: replay a demo case as it unfolded, and a grading quiz over its assessments.

A replay step grades the record **as it stood then** - only the assessments up to that time -
so nothing from the future leaks into the grade, the chart or the episode maximum. Demo
patients only (educators never see a real patient).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grading

from .review import Review, tocilizumab_doses
from .store import StoreError, WardStore


def case_patient(store: WardStore, patient_id: str) -> dict[str, Any]:
    p = store.patient(patient_id)
    if p is None or not p["is_demo"]:
        raise StoreError("teaching uses the synthetic demo cases only")
    return p


def replay(store: WardStore, patient_id: str, step: int) -> Review:
    """The case as it stood at assessment ``step`` (0 = the first)."""
    patient = case_patient(store, patient_id)
    rows = store.timeline_rows(patient_id)
    if not rows:
        raise StoreError(f"demo case '{patient_id}' has no assessments")
    step = max(0, min(step, len(rows) - 1))
    upto = rows[:step + 1]
    history = {h.id: h for h in store.history(patient_id)}
    a, ids = store.timelines([patient_id])
    assert a is not None
    ids = ids[:step + 1]
    g = grading.grade(grading.from_rows(upto, tz=store.tz))  # the past only: no future leaks
    results = list(g.results())
    cut = upto[-1]["time"]
    administrations = [m for m in store.administrations(patient_id) if m["given_at"] <= cut]
    return Review(
        patient=patient, rows=upto, ids=ids,
        recorded={i: (history[i].recorded_by, history[i].recorded_at) for i in ids
                  if i in history},
        results=results, unattributed=None, summary=grading.summarize(g)[0],
        administrations=administrations, attributions=[], confirmations=[], notes=[],
        tocilizumab_given=tocilizumab_doses(upto, administrations), tz=store.tz)


def steps(store: WardStore, patient_id: str) -> list[datetime]:
    case_patient(store, patient_id)
    return [r["time"] for r in store.timeline_rows(patient_id)]


@dataclass
class Quiz:
    """A learner's answers over one case: at each step the CRS and ICANS grade they chose."""

    patient_id: str
    answers: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, step: int, result: grading.RowResult, crs: int | None,
               icans: int | None) -> dict[str, Any]:
        """Mark one step: ``None`` stands for "not evaluable"."""
        entry = {"step": step, "time": result.time, "crs_answer": crs,
                 "crs_grade": result.crs.grade, "icans_answer": icans,
                 "icans_grade": result.icans.grade,
                 "crs_right": crs == result.crs.grade, "icans_right": icans == result.icans.grade,
                 "crs_rules": [f"{r.rule}: {r.finding}" for r in result.crs.reasons],
                 "icans_rules": [f"{r.rule}: {r.finding}" for r in result.icans.reasons]}
        self.answers = [a for a in self.answers if a["step"] != step] + [entry]
        self.answers.sort(key=lambda a: a["step"])
        return entry

    @property
    def score(self) -> tuple[int, int]:
        """(right answers, answers given): CRS and ICANS count separately."""
        right = sum(a["crs_right"] + a["icans_right"] for a in self.answers)
        return right, 2 * len(self.answers)

    def csv(self, learner: str) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["learner", "case", "step", "time", "crs_answer", "crs_grade", "crs_right",
                    "icans_answer", "icans_grade", "icans_right"])
        for a in self.answers:
            w.writerow([learner, self.patient_id, a["step"], a["time"].isoformat(),
                        _ne(a["crs_answer"]), _ne(a["crs_grade"]), a["crs_right"],
                        _ne(a["icans_answer"]), _ne(a["icans_grade"]), a["icans_right"]])
        right, given = self.score
        w.writerow([learner, self.patient_id, "score", "", "", "", f"{right}/{given}", "", "",
                    ""])
        return out.getvalue()


def _ne(v: int | None) -> str:
    return "not evaluable" if v is None else str(v)
