"""Teaching: a replay step knows only the past; the quiz marks answers against the rules."""

from __future__ import annotations

import csv
import io

import pytest

from monitoring import teaching
from monitoring.demo import load_demo
from monitoring.store import PatientIn, StoreError


def test_a_replay_step_grades_the_record_as_it_stood_then(store):
    load_demo(store)
    times = teaching.steps(store, "DEMO-005")
    peak = next(i for i, r in enumerate(store.timeline_rows("DEMO-005"))
                if r.get("vasopressors") == "norepinephrine")
    before = teaching.replay(store, "DEMO-005", peak - 1)
    at_peak = teaching.replay(store, "DEMO-005", peak)
    assert len(before.results) == peak and before.current.time == times[peak - 1]
    assert before.summary.crs_max_grade == 2  # the grade 3 has not happened yet
    assert at_peak.current.crs.grade == 3 and at_peak.summary.crs_max_grade == 3
    assert len(at_peak.tocilizumab_given) == 1  # the second dose is still in the future


def test_teaching_refuses_a_real_patient(store):
    store.admit(PatientIn(patient_id="REAL"), by="drx")
    with pytest.raises(StoreError, match="demo cases only"):
        teaching.replay(store, "REAL", 0)


def test_the_quiz_marks_each_answer_and_exports_the_score(store):
    load_demo(store)
    quiz = teaching.Quiz("DEMO-005")
    first = teaching.replay(store, "DEMO-005", 0).current
    right = quiz.answer(0, first, first.crs.grade, first.icans.grade)
    assert right["crs_right"] and right["icans_right"]
    peak = teaching.replay(store, "DEMO-005", 12).current
    wrong = quiz.answer(12, peak, 1, peak.icans.grade)
    assert not wrong["crs_right"] and wrong["crs_rules"]
    assert quiz.score == (3, 4)
    quiz.answer(12, peak, peak.crs.grade, peak.icans.grade)  # a second try replaces the first
    assert quiz.score == (4, 4)
    rows = list(csv.reader(io.StringIO(quiz.csv("learner1"))))
    assert rows[0][:3] == ["learner", "case", "step"]
    assert rows[-1][2:7] == ["score", "", "", "", "4/4"]
