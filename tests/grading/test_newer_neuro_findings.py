"""A newer neuro finding ends an older one only where it proves the older no longer holds
(spec §0.3; decisions N13-N16 in docs/clinical-decisions.md).

A later ICE with at least one point, or a later CAPD, shows the patient arousable: an earlier
``unarousable`` no longer counts, consciousness is then not re-assessed and the grade is
provisional, saying why. The other consciousness levels and the carried seizure, motor, oedema
and raised-ICP records are not disproved by a bedside score. Every case is graded by both the
compiled pass and the row-wise reference (``grade_both``).
"""

from __future__ import annotations

import pytest

from tests.grading.helpers import at, grade_both, ice, normal_adult, rules_of

NO_ICE = {k: None for k in ice(0)}
UNAROUSABLE = {"consciousness": "unarousable", **ice(0)}


def later(first: dict[str, object], second: dict[str, object]):
    """Grade ``first`` at 0 h and ``second`` 2 h later (consciousness left blank unless given);
    the second row's result."""
    rows = [normal_adult(time=at(0), **first),
            normal_adult(time=at(2), **({"consciousness": None} | second))]
    return grade_both(rows)[-1]


def findings(g) -> str:
    return "\n".join(r.finding for r in g.reasons)


@pytest.mark.parametrize("second, grade", [
    (ice(10), 0),   # the review's case: it was ICANS 4 final
    (ice(7), 1),
    (ice(5), 2),
    (ice(1), 3),    # one point answered is enough to show the patient arousable
])
def test_a_later_ice_with_points_ends_an_unarousable_record_and_leaves_the_grade_provisional(
        second, grade):
    r = later(UNAROUSABLE, second)
    assert (r.icans.grade, r.icans.status) == (grade, "provisional")
    text = findings(r.icans)
    assert "unarousable recorded 02 Mar 08:00 no longer counts" in text
    assert f"the later ICE {sum(second.values())}/10 shows the patient arousable" in text
    assert "level of consciousness not re-assessed since, so the grade is provisional" in text
    assert "not recorded in the last" not in text  # it was recorded: it no longer counts


def test_a_later_ice_of_0_does_not_end_an_unarousable_record():
    # ICE 0 is what an unarousable patient scores (ASTCT): it proves nothing
    r = later(UNAROUSABLE, ice(0))
    assert (r.icans.grade, r.icans.status) == (4, "final")
    assert "no longer counts" not in findings(r.icans)


@pytest.mark.parametrize("capd, grade", [(0, 0), (8, 1), (9, 3), (32, 3)])
def test_a_later_capd_ends_an_unarousable_record(capd, grade):
    # a CAPD is done only in a child who can be assessed (not RASS <= -4, spec §2.5)
    child = {"age_years": 8}
    r = later(child | UNAROUSABLE | NO_ICE, child | NO_ICE | {"capd_total": capd})
    assert (r.icans.grade, r.icans.status) == (grade, "provisional")
    assert f"the later CAPD {capd} shows the patient arousable" in findings(r.icans)


def test_a_capd_on_the_same_row_as_unarousable_does_not_end_it():
    r = grade_both([normal_adult(age_years=8, **UNAROUSABLE | NO_ICE, capd_total=12)])[-1]
    assert (r.icans.grade, r.icans.status) == (4, "final")


def test_a_consciousness_record_after_the_ice_counts_again():
    rows = [normal_adult(time=at(0), **UNAROUSABLE),
            normal_adult(time=at(1), consciousness=None, **ice(8)),
            normal_adult(time=at(2), consciousness="awakens_to_voice", **NO_ICE)]
    r = grade_both(rows)[-1]
    assert (r.icans.grade, r.icans.status) == (2, "final")
    assert "no longer counts" not in findings(r.icans)


def test_an_unarousable_record_after_the_ice_counts():
    rows = [normal_adult(time=at(0), **ice(8)),
            normal_adult(time=at(2), consciousness="unarousable", **NO_ICE)]
    r = grade_both(rows)[-1]
    assert (r.icans.grade, r.icans.status) == (4, "final")


def test_the_ended_record_stays_ended_while_it_would_be_current():
    rows = [normal_adult(time=at(0), **UNAROUSABLE),
            normal_adult(time=at(1), consciousness=None, **ice(9)),
            normal_adult(time=at(11.9), consciousness=None, **NO_ICE)]
    r = grade_both(rows)[-1]
    assert (r.icans.grade, r.icans.status) == (1, "provisional")
    assert "ICANS-R4" in rules_of(r.icans)


@pytest.mark.parametrize("level, grade", [
    ("awakens_spontaneously", 1), ("awakens_to_voice", 2), ("awakens_to_touch", 3)])
def test_a_later_ice_does_not_end_how_the_patient_wakes(level, grade):
    # an ICE measures what a patient does once awake, not how the patient was woken (N14)
    r = later({"consciousness": level, **ice(10)}, ice(10))
    assert (r.icans.grade, r.icans.status) == (grade, "final")


@pytest.mark.parametrize("finding", [
    {"seizure": "prolonged_or_repetitive"}, {"motor_weakness": "deep_focal"},
    {"cerebral_edema": "diffuse"}, {"raised_icp_signs": "posturing"},
])
def test_a_later_full_ice_does_not_end_a_carried_neuro_event(finding):
    # N15: seizures, weakness, oedema and raised-ICP signs stand until recorded again (D3)
    r = later(finding, {"seizure": None, "motor_weakness": None, "cerebral_edema": None,
                        "raised_icp_signs": None, **ice(10), "consciousness": "alert"})
    assert (r.icans.grade, r.icans.status) == (4, "final")


def test_a_later_record_of_the_event_itself_ends_it():
    r = later({"seizure": "prolonged_or_repetitive"}, {"seizure": "none"})
    assert r.icans.grade == 0


def test_an_ended_unarousable_record_with_a_grade_4_event_leaves_the_grade_4_final():
    r = later(UNAROUSABLE | {"seizure": "prolonged_or_repetitive"}, {"seizure": None, **ice(9)})
    assert (r.icans.grade, r.icans.status) == (4, "final")
    text = findings(r.icans)
    assert "no longer counts" in text and "provisional" not in text
