"""The markers panel's course (issue 20 point 2; decisions M4, M5): each result in the unit it
was entered in with the reference range for the patient's age at the time, whether it lies
outside it, the doses marked, and the IL-6 results that follow tocilizumab."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitoring import marker_panel as mp

T0 = datetime(2026, 4, 7, 6, 0, tzinfo=UTC)
INFUSION = datetime(2026, 4, 5, 10, 0, tzinfo=UTC)


def lab(test: str, value: float, unit: str, at: datetime, canonical: float | None = None,
        canonical_unit: str | None = None) -> dict:
    return {"test": test, "value": value if canonical is None else canonical,
            "unit": canonical_unit or unit, "entered_value": value, "entered_unit": unit,
            "taken_at": at}


def row(at: datetime, age: float = 58, **given: bool) -> dict:
    return {"time": at, "age_years": age, **given}


def dose(kind: str, at: datetime, amount: float | None = None, unit: str | None = "mg",
         route: str | None = "IV") -> dict:
    return {"kind": kind, "given_at": at, "dose": amount, "unit": unit, "route": route}


PATIENT = {"infusion_time": INFUSION}


def test_results_are_shown_in_the_unit_entered_with_the_range_in_that_unit():
    labs = [lab("crp", 62, "mg/L", T0, 6.2, "mg/dL"), lab("crp", 3, "mg/L", T0 + timedelta(1),
                                                          0.3, "mg/dL")]
    (crp,) = mp.marker_courses(labs, PATIENT, [row(T0)], [], UTC).values()
    assert crp.unit == "mg/L" and [r.value for r in crp.results] == [62, 3]
    assert (crp.results[0].low, crp.results[0].high) == (0, 5)  # 0-0.5 mg/dL
    assert [r.outside for r in crp.results] == ["above", None]
    assert [r.day for r in crp.results] == [2, 3]


def test_results_entered_in_two_units_are_shown_in_the_canonical_unit():
    labs = [lab("fibrinogen", 1.2, "g/L", T0, 120, "mg/dL"),
            lab("fibrinogen", 450, "mg/dL", T0 + timedelta(hours=6))]
    (fib,) = mp.marker_courses(labs, PATIENT, [row(T0)], [], UTC).values()
    assert fib.unit == "mg/dL" and [r.value for r in fib.results] == [120, 450]
    assert [r.outside for r in fib.results] == ["below", "above"]  # range 200-400 mg/dL


@pytest.mark.parametrize(("age", "high", "outside"), [
    (8, 140, "above"), (17.9, 140, "above"), (18, 400, None), (62, 400, None), (None, 400, None)])
def test_ferritin_takes_the_range_of_the_patients_age_at_the_time(age, high, outside):
    rows = [] if age is None else [row(T0 - timedelta(hours=1), age)]
    (fer,) = mp.marker_courses([lab("ferritin", 250, "ng/mL", T0)], PATIENT, rows, [],
                               UTC).values()
    assert (fer.results[0].high, fer.results[0].outside) == (high, outside)


def test_a_patient_turning_18_during_the_stay_gets_the_adult_range_from_the_birthday():
    patient = {"infusion_time": INFUSION, "date_of_birth": date(2008, 4, 8)}
    labs = [lab("ferritin", 250, "ng/mL", T0), lab("ferritin", 250, "ng/mL", T0 + timedelta(1))]
    (fer,) = mp.marker_courses(labs, patient, [row(T0, 17.99)], [], UTC).values()
    assert [r.high for r in fer.results] == [140, 400]
    assert [r.outside for r in fer.results] == ["above", None]


def test_only_markers_with_results_in_the_order_of_the_analyte_table():
    labs = [lab("platelets", 40, "10^9/L", T0), lab("il6", 300, "pg/mL", T0)]
    assert list(mp.marker_courses(labs, PATIENT, [], [], UTC)) == ["il6", "platelets"]
    assert mp.marker_courses([], PATIENT, [], [], UTC) == {}


def test_an_il6_after_a_tocilizumab_dose_carries_that_dose_and_one_before_does_not():
    given = T0 + timedelta(hours=3)
    labs = [lab("il6", 310, "pg/mL", T0), lab("il6", 1450, "pg/mL", given),
            lab("il6", 2100, "pg/mL", T0 + timedelta(1)),
            lab("crp", 130, "mg/L", T0 + timedelta(1))]
    courses = mp.marker_courses(labs, PATIENT, [row(T0)], [dose("tocilizumab", given, 640)], UTC)
    assert [r.after_tocilizumab for r in courses["il6"].results] == [None, given, given]
    assert courses["crp"].results[0].after_tocilizumab is None  # IL-6 only (decision M4)
    assert mp.il6_after_tocilizumab(courses)
    assert not mp.il6_after_tocilizumab(mp.marker_courses(labs, PATIENT, [row(T0)], [], UTC))


def test_a_tocilizumab_charted_only_on_an_assessment_counts_for_the_il6_note():
    rows = [row(T0), row(T0 + timedelta(hours=4), tocilizumab_given=True)]
    labs = [lab("il6", 900, "pg/mL", T0 + timedelta(hours=5))]
    courses = mp.marker_courses(labs, PATIENT, rows, [], UTC)
    assert courses["il6"].results[0].after_tocilizumab == T0 + timedelta(hours=4)


def test_the_doses_marked_are_the_anticytokines_and_steroids_each_once():
    rows = [row(T0), row(T0 + timedelta(hours=4), tocilizumab_given=True,
                         corticosteroid_given=True, antipyretic_given=True),
            row(T0 + timedelta(hours=8), anticytokine_given=True)]
    meds = [dose("tocilizumab", T0 + timedelta(hours=3), 640),
            dose("paracetamol", T0 + timedelta(hours=3), 1000, route="PO"),
            dose("noradrenaline", T0 + timedelta(hours=3), 0.1, "µg/kg/min"),
            dose("anakinra", T0 + timedelta(hours=9), 100, route="SC"),
            dose("siltuximab", T0 + timedelta(hours=10), 800),
            dose("methylprednisolone", T0 + timedelta(hours=11), 1000)]
    got = [(d.row, d.words, d.charted_only) for d in mp.doses(rows, meds)]
    assert got == [
        ("tocilizumab", "tocilizumab 640 mg IV", False),
        # the steroid the 4 h row says was given, with no recorded dose: drawn at the row
        ("corticosteroid", "corticosteroid", True),
        # the 8 h row's anti-cytokine: no recorded dose between 4 h and 8 h accounts for it
        ("other anti-cytokine", "anakinra, siltuximab or another anti-cytokine", True),
        ("anakinra", "anakinra 100 mg SC", False),
        ("siltuximab", "siltuximab 800 mg IV", False),
        ("corticosteroid", "methylprednisolone 1000 mg IV", False)]


def test_the_default_markers_are_il6_crp_ferritin_and_fibrinogen_when_present():
    assert mp.default_markers(["il6", "crp", "ferritin", "ldh", "fibrinogen", "anc"]) == [
        "il6", "crp", "ferritin", "fibrinogen"]
    assert mp.default_markers(["crp", "platelets"]) == ["crp"]
    assert mp.default_markers(["ldh", "platelets"]) == ["ldh"]
    assert mp.default_markers([]) == []


@pytest.mark.parametrize(("day", "words"), [(3, "Day +3"), (0, "Day 0"), (-5, "Day -5"),
                                            (None, "")])
def test_days_read_as_elsewhere_in_the_app(day, words):
    assert mp.day_words(day) == words


def test_the_il6_note_names_its_sources_in_plain_words():
    assert "Nishimoto N et al., Blood 2008;112:3959-64" in mp.IL6_TOCILIZUMAB_NOTE
    assert "Lee DW et al., Blood 2014" in mp.IL6_TOCILIZUMAB_NOTE
    assert "not by itself" in mp.IL6_TOCILIZUMAB_NOTE
