"""Guideline prompts, ICU prompts, tocilizumab dose and limits, ICD-10-CM codes (spec §4, §6.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import grading
from grading import guidance

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("weight", "dose"), [
    (82, 656), (100, 800), (100.5, 800), (150, 800),   # 8 mg/kg, capped at 800 mg a dose
    (30, 240), (29.9, 358.8), (20, 240),               # < 30 kg: 12 mg/kg (spec §4.4 [R])
])
def test_tocilizumab_reference_dose_from_weight_with_the_800_mg_cap(weight, dose):
    got, how = guidance.tocilizumab_dose_mg(weight)
    assert got == pytest.approx(dose)
    assert ("capped at 800 mg" in how) == (weight > 100)


@pytest.mark.parametrize(("hours_ago", "warnings"), [
    ((30, 20), ()),
    ((20, 10, 2), ("3 doses in the last 24 h", "last dose 2.0 h ago")),
    ((23.9, 15, 8), ("3 doses in the last 24 h",)),             # exactly 8 h apart: fine
    ((24, 15, 8), ()),                                          # 24 h ago is out of the window
    ((60, 40, 30, 20), ("4 doses in total",)),
    ((7.9,), ("last dose 7.9 h ago",)),
])
def test_tocilizumab_doses_are_counted_against_the_limits(hours_ago, warnings):
    count = guidance.tocilizumab_count([NOW - timedelta(hours=h) for h in hours_ago], NOW)
    assert count.total == len(hours_ago)
    assert count.last_24h == sum(h < 24 for h in hours_ago)
    assert len(count.warnings) == len(warnings)
    for got, expected in zip(count.warnings, warnings):
        assert got.startswith(expected)


def test_a_dose_after_now_is_not_counted():
    assert guidance.tocilizumab_count([NOW + timedelta(hours=1)], NOW).total == 0


@pytest.mark.parametrize(("syndrome", "grade", "code"), [
    ("crs", 1, "D89.831"), ("crs", 2, "D89.832"), ("crs", 3, "D89.833"), ("crs", 4, "D89.834"),
    ("crs", 5, "D89.835"), ("icans", 1, "G92.01"), ("icans", 2, "G92.02"),
    ("icans", 3, "G92.03"), ("icans", 4, "G92.04"), ("icans", 5, "G92.05"),
    ("crs", 0, None), ("icans", 0, None), ("crs", None, None)])
def test_icd10_cm_codes_for_the_maximum_grade(syndrome, grade, code):
    assert guidance.icd10(syndrome, grade) == code


@pytest.mark.parametrize(("crs", "icans", "kw", "expected"), [
    (2, 0, {}, []), (3, 0, {}, ["CRS grade >= 3"]), (0, 3, {}, ["ICANS grade >= 3"]),
    (2, 2, {}, ["ICANS grade 2 with CRS grade >= 2"]), (1, 2, {}, []),
    (0, 0, {"seizure": True}, ["a seizure"]),
    (0, 0, {"positive_pressure": True}, ["positive-pressure"]),
    (0, 0, {"cerebral_edema": True}, ["cerebral oedema"]),
    (None, None, {}, []),
])
def test_icu_prompts_of_spec_4_6(crs, icans, kw, expected):
    got = guidance.icu_prompts(crs, icans, **kw)
    assert len(got) == len(expected)
    for t, start in zip(got, expected):
        assert t.what.startswith(start) and t.source


def test_prompts_name_their_source_and_follow_the_grades():
    assert guidance.prompts(0, 0) == []
    assert guidance.prompts(None, None) == []
    g2 = guidance.prompts(2, 0)
    assert all(p.source == guidance.ASCO_2021 for p in g2)
    assert any("Tocilizumab 8 mg/kg" in p.text and "800 mg" in p.text for p in g2)
    assert any("ICU" in p.text for p in guidance.prompts(3, 0))
    assert [p.text for p in guidance.prompts(0, 2)][-1].startswith("Without CRS: ")
    assert [p.text for p in guidance.prompts(1, 2)][-1].startswith("With CRS: Consider ICU")


def test_what_would_change_a_grade_that_is_not_final():
    rows = [{"patient_id": "P", "time": "2026-03-02T08:00", "hr_bpm": 80}]
    r = grading.grade(grading.from_rows(rows)).result_at(0, 0)
    assert guidance.what_would_change("crs", r.crs).startswith("Not evaluable: record a temp")
    assert guidance.what_would_change("icans", r.icans).startswith("Not evaluable: record an ICE")
    rows = [{"patient_id": "P", "time": "2026-03-02T08:00", "temp_c": 38.5}]
    r = grading.grade(grading.from_rows(rows)).result_at(0, 0)
    assert r.crs.status == "provisional"
    assert "not recorded" in guidance.what_would_change("crs", r.crs)
    done = grading.Grade(1, "final")
    assert guidance.what_would_change("crs", done) == ""


def test_the_tocilizumab_step_says_when_a_limit_is_reached():
    now = NOW
    four = guidance.tocilizumab_count([now - timedelta(hours=h) for h in (60, 40, 30, 20)],
                                      now)
    texts = [p.text for p in guidance.prompts(2, 0, four)]
    assert any(t.startswith("Tocilizumab limit reached (4 doses in total") for t in texts)
    assert any("[limit reached - see above]" in t for t in texts)
    fresh = guidance.tocilizumab_count([], now)
    assert not any("limit reached" in p.text for p in guidance.prompts(2, 0, fresh))


def test_a_child_gets_the_paediatric_note_before_the_adult_steps():
    texts = [p.text for p in guidance.prompts(2, 0, child=True)]
    assert texts[0] == guidance.CHILD_NOTE
    assert guidance.CHILD_NOTE not in [p.text for p in guidance.prompts(2, 0)]
    assert guidance.prompts(0, 0, child=True) == []


@pytest.mark.parametrize(("dose", "weight", "problem"), [
    (800, None, None), (801, None, "801 mg is above the 800 mg maximum a dose"),
    (560, 70, None), (561, 70, "561 mg is above the reference dose 560 mg (8 mg/kg x 70 kg"),
    (300, 25, None), (301, 25, "301 mg is above the reference dose 300 mg (12 mg/kg x 25 kg"),
    (800, 120, None),
])
def test_a_tocilizumab_dose_is_questioned_above_the_cap_or_the_reference_dose(dose, weight,
                                                                              problem):
    got = guidance.tocilizumab_dose_problem(dose, weight)
    assert (got is None) == (problem is None) and (problem is None or got.startswith(problem))
