"""Both sides of every threshold the other CRS scales add (spec §1.5, §3.1-§3.5): FiO2 40 %,
the high-dose table and its 3 h, MSKCC's 24 h per episode, and what a scale does when an input
it needs was not recorded (provisional or not evaluable, never a silent 0; spec §0.2)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.grading.helpers import T0
from tests.grading.scale_helpers import adult, findings, last

FEVER = {"temp_c": 38.6}
BEFORE = adult(-1)


def on(hours: float, **changes: object) -> dict[str, object]:
    """A febrile row with normal blood pressure, vasopressors as before unless given."""
    return adult(hours, **(FEVER | {"sbp_mmhg": 100, "dbp_mmhg": 60, "vasopressors": None}
                           | changes))


def held(hours: float, **start: object) -> list[dict[str, object]]:
    """Vasopressors started at 0 with ``start`` and unchanged until ``hours``."""
    return [BEFORE, on(0, **start), on(hours)]


# ------------------------------------------------------------------------------ FiO2 40 %
@pytest.mark.parametrize(("fio2", "expected"), [(39, 2), (40, 3)])
def test_a_recorded_fio2_of_40_percent_is_grade_3_and_39_is_grade_2(fio2, expected):
    _, s = last([adult(0, **FEVER, o2_device="venturi_mask", fio2_pct=fio2)])
    for name in ("lee2014", "ctcae5", "mskcc", "cartox"):
        assert (s[name].grade, s[name].estimated) == (expected, False), name


@pytest.mark.parametrize(("flow", "fio2", "expected"), [(4.5, 39, 2), (4.75, 40, 3), (5, 41, 3)])
def test_fio2_estimated_from_the_cannula_flow_crosses_40_percent_at_4_75_l_min(
        flow, fio2, expected):
    _, s = last([adult(0, **FEVER, o2_device="nasal_cannula", o2_flow_l_min=flow)])
    g = s["lee2014"]
    assert (g.grade, g.status, g.estimated) == (expected, "final", True)
    assert f"FiO2 ≈ {fio2:g} % estimated from {flow:g} L/min" in findings(g)


def test_a_recorded_fio2_on_the_cannula_is_used_instead_of_the_estimate():
    _, s = last([adult(0, **FEVER, o2_device="nasal_cannula", o2_flow_l_min=6, fio2_pct=35)])
    assert (s["lee2014"].grade, s["lee2014"].estimated) == (2, False)


def test_a_new_flow_after_a_recorded_fio2_is_estimated_again():
    rows = [adult(0, **FEVER, o2_device="nasal_cannula", o2_flow_l_min=2, fio2_pct=29),
            adult(1, **FEVER, o2_device=None, o2_flow_l_min=6)]
    _, s = last(rows)
    assert (s["lee2014"].grade, s["lee2014"].estimated) == (3, True)


def test_fio2_not_recorded_on_a_high_flow_cannula_is_provisional_not_grade_3_or_0():
    _, s = last([adult(0, **FEVER, o2_device="high_flow_nasal_cannula", o2_flow_l_min=40)])
    g = s["lee2014"]
    assert (g.grade, g.status) == (2, "provisional")
    assert "FiO2 not recorded" in findings(g) and "would be grade 3" in findings(g)
    assert (s["penn"].grade, s["penn"].status) == (3, "final")  # Penn: any O2 is 3


def test_a_non_rebreather_without_fio2_is_estimated_at_40_percent_or_more():
    _, s = last([adult(0, **FEVER, o2_device="non_rebreather_mask", o2_flow_l_min=12)])
    assert (s["lee2014"].grade, s["lee2014"].estimated) == (3, True)


def test_the_fio2_of_the_old_device_is_not_carried_onto_a_new_one():
    rows = [adult(0, **FEVER, o2_device="venturi_mask", fio2_pct=60),
            adult(1, **FEVER, o2_device="high_flow_nasal_cannula", o2_flow_l_min=30)]
    _, s = last(rows)
    assert (s["lee2014"].grade, s["lee2014"].status) == (2, "provisional")


# ------------------------------------------------------------------------------ high dose
SINGLE_AGENT = [  # (regimen, below, at) per spec §1.5; Lee 2014: 2 below, 3 at the threshold
    ({"vasopressors": "norepinephrine", "norepinephrine_ug_min": 19.9},
     {"vasopressors": "norepinephrine", "norepinephrine_ug_min": 20}),
    ({"vasopressors": "dopamine", "dopamine_ug_kg_min": 9.9},
     {"vasopressors": "dopamine", "dopamine_ug_kg_min": 10}),
    ({"vasopressors": "phenylephrine", "phenylephrine_ug_min": 199},
     {"vasopressors": "phenylephrine", "phenylephrine_ug_min": 200}),
    ({"vasopressors": "epinephrine", "epinephrine_ug_min": 9.9},
     {"vasopressors": "epinephrine", "epinephrine_ug_min": 10}),
]


@pytest.mark.parametrize(("below", "at_threshold"), SINGLE_AGENT,
                         ids=["norepinephrine", "dopamine", "phenylephrine", "epinephrine"])
def test_a_single_agent_is_high_dose_at_its_threshold_and_not_just_below(below, at_threshold):
    for start, lee, penn in ((below, 2, 3), (at_threshold, 3, 4)):
        _, s = last(held(3, **start))
        assert (s["lee2014"].grade, s["penn"].grade) == (lee, penn), start
        assert s["lee2014"].status == "final"


@pytest.mark.parametrize(("dose", "penn"), [(9.9, 3), (10, 4)])
def test_on_vasopressin_the_nee_threshold_is_10(dose, penn):
    _, s = last(held(3, vasopressors="norepinephrine;vasopressin", norepinephrine_ug_min=dose))
    assert s["penn"].grade == penn


@pytest.mark.parametrize(("epinephrine", "penn"), [(9.9, 3), (10, 4)])
def test_a_combination_without_vasopressin_is_high_dose_from_an_nee_of_20(epinephrine, penn):
    """NEE = norepinephrine 10 + epinephrine (spec §1.5)."""
    _, s = last(held(3, vasopressors="norepinephrine;epinephrine", norepinephrine_ug_min=10,
                     epinephrine_ug_min=epinephrine))
    assert s["penn"].grade == penn
    assert f"NEE {10 + epinephrine:g} µg/min" in findings(s["penn"])


def test_the_nee_formula_halves_dopamine_and_takes_a_tenth_of_phenylephrine():
    """NEE = 8 + 10/2 + 2 + 50/10 = 20 µg/min: high dose for a combination."""
    _, s = last(held(3, vasopressors="norepinephrine;dopamine;epinephrine;phenylephrine",
                     norepinephrine_ug_min=8, dopamine_ug_kg_min=10, epinephrine_ug_min=2,
                     phenylephrine_ug_min=50))
    assert s["penn"].grade == 4 and "NEE 20 µg/min" in findings(s["penn"])


@pytest.mark.parametrize(("per_kg", "lee"), [(0.24, 2), (0.25, 3)])
def test_a_dose_per_kg_is_multiplied_by_the_weight(per_kg, lee):
    """80 kg: 0.24 µg/kg/min = 19.2 µg/min (low), 0.25 = 20 µg/min (high)."""
    rows = held(3, vasopressors="norepinephrine", norepinephrine_ug_kg_min=per_kg, weight_kg=80)
    _, s = last(rows)
    assert (s["lee2014"].grade, s["lee2014"].status) == (lee, "final")


def test_a_dose_per_kg_uses_the_weight_given_by_the_ward_record_when_no_row_has_one():
    rows = held(3, vasopressors="norepinephrine", norepinephrine_ug_kg_min=0.25)
    _, without = last(rows)
    assert (without["lee2014"].grade, without["lee2014"].status) == (2, "provisional")
    assert "weight" in findings(without["lee2014"])
    _, with_weight = last(rows, weights={"P1": 80})
    assert (with_weight["lee2014"].grade, with_weight["lee2014"].status) == (3, "final")


@pytest.mark.parametrize(("hours", "lee", "status"), [(2 + 59 / 60, 2, "provisional"),
                                                      (3, 3, "final")])
def test_a_high_dose_counts_once_it_has_been_needed_for_3_hours(hours, lee, status):
    _, s = last(held(hours, vasopressors="norepinephrine", norepinephrine_ug_min=25))
    assert (s["lee2014"].grade, s["lee2014"].status) == (lee, status)
    if status == "provisional":
        assert "counts as high-dose from" in findings(s["lee2014"])


def test_a_dose_lowered_below_the_threshold_restarts_the_3_hours():
    rows = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=25),
            on(2, norepinephrine_ug_min=15), on(3, norepinephrine_ug_min=25), on(5)]
    _, s = last(rows)
    assert s["lee2014"].grade == 2  # high again for 2 h only
    _, s = last([*rows, on(6)])
    assert s["lee2014"].grade == 3


def test_a_vasopressor_without_a_dose_is_low_dose_provisional_never_silently_high_or_none():
    _, s = last(held(6, vasopressors="norepinephrine"))
    g = s["lee2014"]
    assert (g.grade, g.status) == (2, "provisional")
    assert "norepinephrine dose" in findings(g) and "would be grade 3" in findings(g)


def test_a_dose_ends_with_its_infusion_and_is_unknown_when_it_restarts():
    rows = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=25),
            on(1, vasopressors="none"), on(2, vasopressors="norepinephrine"), on(6)]
    _, s = last(rows)
    assert (s["lee2014"].grade, s["lee2014"].status) == (2, "provisional")


def test_vasopressin_counts_as_a_second_vasopressor_for_the_older_scales():
    """ASTCT never counts vasopressin as a second agent; Lee 2014 and CARTOX do (X4)."""
    a, s = last(held(1, vasopressors="norepinephrine;vasopressin", norepinephrine_ug_min=5))
    assert a.crs.grade == 3
    assert (s["lee2014"].grade, s["cartox"].grade, s["ctcae5"].grade) == (3, 3, 4)


def test_an_inotrope_is_not_a_vasopressor_for_any_scale():
    _, s = last(held(3, vasopressors="dobutamine"))
    assert {n: g.grade for n, g in s.items()} == dict(lee2014=1, ctcae5=1, penn=1, mskcc=1,
                                                      cartox=1)


def test_angiotensin_ii_alone_has_no_high_dose_threshold_so_the_grade_is_provisional():
    _, s = last(held(3, vasopressors="angiotensin_ii"))
    assert (s["penn"].grade, s["penn"].status) == (3, "provisional")


# ------------------------------------------------------------------------------ MSKCC 24 h
@pytest.mark.parametrize(("hours", "expected"), [(23 + 59 / 60, 2), (24, 3)])
def test_mskcc_is_grade_3_once_vasopressors_have_run_24_hours(hours, expected):
    _, s = last(held(hours, vasopressors="norepinephrine", norepinephrine_ug_min=5))
    assert (s["mskcc"].grade, s["mskcc"].status) == (expected, "final")


def test_mskcc_adds_up_vasopressor_time_across_a_break_within_the_episode():
    rows = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=5),
            on(12, vasopressors="none"), on(24, vasopressors="norepinephrine",
                                            norepinephrine_ug_min=5), on(36)]
    _, s = last(rows)
    assert s["mskcc"].grade == 3  # 12 h + 12 h
    assert "24 h in this episode" in findings(s["mskcc"])


@pytest.mark.parametrize(("off_hours", "expected"), [(48, 3), (49, 2)])
def test_more_than_48_hours_off_vasopressors_starts_a_new_mskcc_episode(off_hours, expected):
    rows = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=5),
            on(20, vasopressors="none"),
            on(20 + off_hours, vasopressors="norepinephrine", norepinephrine_ug_min=5),
            on(20 + off_hours + 6)]
    _, s = last(rows)
    assert s["mskcc"].grade == expected


def test_a_vasopressor_already_running_at_the_first_assessment_is_provisional_under_24_h():
    _, s = last([on(0, vasopressors="norepinephrine", norepinephrine_ug_min=5), on(6)])
    g = s["mskcc"]
    assert (g.grade, g.status) == (2, "provisional")
    assert "before the first assessment" in findings(g)


def test_mskcc_4_needs_hypotension_refractory_to_a_high_dose():
    refractory = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=25),
                  on(3, sbp_mmhg=82, dbp_mmhg=50)]
    assert last(refractory)[1]["mskcc"].grade == 4
    responding = [BEFORE, on(0, vasopressors="norepinephrine", norepinephrine_ug_min=25),
                  on(3, sbp_mmhg=104, dbp_mmhg=60)]
    assert last(responding)[1]["mskcc"].grade == 2


NO_BP = {"sbp_mmhg": None, "dbp_mmhg": None}


@pytest.mark.parametrize(("at_0", "at_2", "status"), [
    ({}, {"sbp_mmhg": 78, "dbp_mmhg": 50}, "provisional"),
    (NO_BP, NO_BP, "provisional"),
    ({}, {"sbp_mmhg": 104, "dbp_mmhg": 60}, "final")],
    ids=["low", "not recorded", "responding"])
def test_mskcc_on_a_high_dose_held_under_3_hours_names_grade_4_unless_the_bp_responds(
        at_0, at_2, status):
    """Norepinephrine 30 µg/min from 0 h, assessed at 2 h: not yet "refractory to a high
    dose" (spec §1.5: >= 3 h), but it will be from 3 h if the blood pressure stays low (X19),
    as Lee 2014 and Penn say when the high dose will count."""
    rows = [adult(-5), on(0, vasopressors="norepinephrine", norepinephrine_ug_min=30, **at_0),
            on(2, **at_2)]
    _, s = last(rows)
    g = s["mskcc"]
    assert (g.grade, g.status) == (2, status)
    counts_from = (T0 + timedelta(hours=3)).replace(tzinfo=UTC).isoformat(timespec="minutes")
    if status == "provisional":
        assert f"refractory to a high dose from {counts_from} if still low: would be grade 4" \
            in findings(g)
        assert f"counts as high-dose from {counts_from}" in findings(s["lee2014"])


# ------------------------------------------------------------------------------ not recorded
def test_without_a_temperature_and_nothing_else_found_every_scale_is_not_evaluable():
    _, s = last([adult(0, temp_c=None)])
    for name, g in s.items():
        assert (g.grade, g.status) == (None, "not_evaluable"), name
        assert "no temperature" in findings(g)


def test_without_a_temperature_a_vasopressor_still_grades_as_it_does_with_one():
    _, s = last([BEFORE, on(0, temp_c=None, vasopressors="norepinephrine",
                            norepinephrine_ug_min=5)])
    assert (s["ctcae5"].grade, s["ctcae5"].status) == (3, "final")


def test_organ_toxicity_never_recorded_makes_lee_penn_and_cartox_provisional():
    row = adult(0, **FEVER, transaminitis_ctcae_grade=None, creatinine_ctcae_grade=None,
                other_organ_ctcae_grade=None)
    _, s = last([row])
    for name in ("lee2014", "penn", "cartox"):
        assert (s[name].grade, s[name].status) == (1, "provisional"), name
        assert "organ toxicity (CTCAE grades) not recorded" in findings(s[name])
    for name in ("ctcae5", "mskcc"):  # no organ criterion
        assert (s[name].grade, s[name].status) == (1, "final"), name


# organ graded -> (Lee 2014, Penn, CARTOX) with the other two organs never graded: each scale's
# grade from that organ, provisional, naming the most each ungraded organ could give (X8)
ONE_ORGAN_GRADED = [
    ("transaminitis_ctcae_grade", 1, dict(lee2014=1, penn=1, cartox=1),
     ("creatinine rise CTCAE grade not recorded: could give up to grade 4",
      "other organ toxicity CTCAE grade not recorded: could give up to grade 4")),
    ("creatinine_ctcae_grade", 2, dict(lee2014=2, penn=2, cartox=2),
     ("transaminitis (ALT/AST) CTCAE grade not recorded: could give up to grade 3",
      "other organ toxicity CTCAE grade not recorded: could give up to grade 4")),
    ("other_organ_ctcae_grade", 3, dict(lee2014=3, penn=3, cartox=3),
     ("creatinine rise CTCAE grade not recorded: could give up to grade 4",)),
]


@pytest.mark.parametrize(("graded", "ctcae", "expected", "notes"), ONE_ORGAN_GRADED,
                         ids=["transaminitis", "creatinine", "other organ"])
def test_an_organ_never_graded_is_not_recorded_even_when_another_organ_is_graded(
        graded, ctcae, expected, notes):
    organs = dict.fromkeys(("transaminitis_ctcae_grade", "creatinine_ctcae_grade",
                            "other_organ_ctcae_grade")) | {graded: ctcae}
    _, s = last([adult(0, **FEVER, **organs)])
    for name, grade in expected.items():
        assert (s[name].grade, s[name].status) == (grade, "provisional"), name
        for note in notes:
            assert note in findings(s[name]), (name, note)


def test_an_ungraded_organ_that_could_not_raise_the_grade_leaves_it_final():
    """Grade 4 creatinine: Lee 2014 is 4 whatever the transaminases (at most 3 in Lee)."""
    _, s = last([adult(0, **FEVER, transaminitis_ctcae_grade=None, creatinine_ctcae_grade=4,
                       other_organ_ctcae_grade=None)])
    assert (s["lee2014"].grade, s["lee2014"].status) == (4, "final")


def test_the_cli_example_of_the_review_is_provisional_by_lee_penn_and_cartox():
    """38.5 °C, transaminitis grade 1, creatinine and other organ blank (clinical review)."""
    _, s = last([adult(0, temp_c=38.5, transaminitis_ctcae_grade=1, creatinine_ctcae_grade=None,
                       other_organ_ctcae_grade=None)])
    assert {n: (s[n].grade, s[n].status) for n in ("lee2014", "penn", "cartox")} == dict.fromkeys(
        ("lee2014", "penn", "cartox"), (1, "provisional"))


def test_an_organ_grade_stays_until_it_is_graded_again():
    rows = [adult(0, **FEVER, creatinine_ctcae_grade=3),
            adult(6, **FEVER, creatinine_ctcae_grade=None)]
    assert last(rows)[1]["lee2014"].grade == 3
    rows.append(adult(12, **FEVER, creatinine_ctcae_grade=1))
    assert last(rows)[1]["lee2014"].grade == 1


def test_death_from_crs_is_grade_5_by_every_scale():
    _, s = last([adult(0, **FEVER, died_of="crs")])
    assert {g.grade for g in s.values()} == {5}


def test_an_attributed_finding_is_excluded_from_every_scale_as_from_astct():
    row = adult(0, **FEVER, o2_device="nasal_cannula", o2_flow_l_min=6,
                attributed_elsewhere="hypoxia")
    a, s = last([row])
    assert a.crs.grade == 1
    assert {g.grade for g in s.values()} == {1}
    assert "attributed to another cause" in findings(s["lee2014"])


# ------------------------------------------------------------------------------ Penn extras
@pytest.mark.parametrize(("field", "expected"), [("iv_therapy_given", 2),
                                                 ("coagulopathy_products_given", 3)])
def test_penn_counts_iv_therapy_and_coagulation_products_for_24_hours(field, expected):
    rows = [adult(0, **FEVER, **{field: True}), adult(24, **FEVER)]
    assert last(rows)[1]["penn"].grade == expected
    assert last([*rows, adult(24.01, **FEVER)])[1]["penn"].grade == 1


def test_two_fluid_boluses_more_than_24_hours_apart_are_not_multiple_for_penn():
    low = {"sbp_mmhg": 84, "dbp_mmhg": 50}
    rows = [adult(0, **FEVER, **low, fluid_bolus_given=True),
            adult(24.5, **FEVER, **low, fluid_bolus_given=True)]
    assert last(rows)[1]["penn"].grade == 2
