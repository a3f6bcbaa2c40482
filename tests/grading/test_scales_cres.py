"""CARTOX-10 and CRES (spec §3.6) beside ASTCT ICANS: the score bands on both sides, the
head-of-state point recorded or estimated, raised ICP by papilloedema stage and CSF pressure,
seizures by type, and the spec §3.7 reason 5 differences (spec §8 cases 38, 40, 42, 49, 50)."""

from __future__ import annotations

import pytest

from grading.scales.cres import cartox10, score_grade
from tests.grading.helpers import ICE_10, ice
from tests.grading.scale_helpers import adult, findings, last


def cres(**changes: object):
    a, s = last([adult(0, **changes)], ["cres"])
    return a.icans, s["cres"]


def cartox_items(orientation: int, naming: int, writing: int, attention: int,
                 head: int) -> dict[str, object]:
    return {"ice_orientation": orientation, "ice_naming": naming, "ice_commands": 1,
            "ice_writing": writing, "ice_attention": attention, "cartox_head_of_state": head}


@pytest.mark.parametrize(("score", "expected"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2),
                                                 (2, 3), (0, 3)])
def test_the_cartox10_bands_on_both_sides_of_each_boundary(score, expected):
    assert score_grade(score) == expected


@pytest.mark.parametrize(("items", "expected"), [
    (cartox_items(4, 3, 1, 1, 1), 0), (cartox_items(4, 3, 1, 1, 0), 1),
    (cartox_items(4, 0, 1, 1, 0), 2), (cartox_items(1, 1, 0, 0, 0), 3),
    (cartox_items(0, 0, 0, 0, 0), 3)])
def test_a_recorded_cartox10_grades_cres_without_an_estimate(items, expected):
    _, g = cres(**items)
    assert (g.grade, g.status, g.estimated) == (expected, "final", False)


def test_cartox10_drops_ices_command_item_and_adds_the_head_of_state():
    assert cartox10({**ICE_10, "ice_commands": 0}, 1) == (10, False)  # ICE 9, CARTOX-10 10
    assert cartox10(ICE_10, 0) == (9, False)                          # ICE 10, CARTOX-10 9


def test_without_the_head_of_state_point_cartox10_is_estimated_from_the_orientation():
    assert cartox10(ICE_10, None) == (10, True)        # fully oriented: counted as answered
    assert cartox10(ice(9), None) == (9, True)         # attention missed: 4 + 1 + 3 + 1 + 0
    assert cartox10({**ICE_10, "ice_orientation": 3}, None) == (8, True)  # disoriented: missed


def test_an_estimate_that_could_change_cres_marks_it_estimated_and_one_that_cannot_does_not():
    _, ten = cres()  # ICE 10: CARTOX-10 10 or 9 -> 0 or 1
    assert (ten.grade, ten.estimated) == (0, True)
    assert "head-of-state question not recorded" in findings(ten)
    _, five = cres(**ice(5))  # 4 or 5 -> grade 2 either way
    assert (five.grade, five.estimated) == (2, False)


def test_unarousable_is_cres_4_and_sedation_never_is():
    _, g = cres(**{k: 0 for k in ICE_10}, consciousness="unarousable")
    assert g.grade == 4
    _, sedated = cres(**{k: None for k in ICE_10}, consciousness=None, sedated=True)
    assert (sedated.grade, sedated.status) == (0, "provisional")
    assert "sedated" in findings(sedated)


def test_cres_has_no_consciousness_domain_spec_case_40():
    """ICE 10 but wakes only to voice: ASTCT 2, CRES 0 (spec §3.7 reason 5)."""
    icans, g = cres(consciousness="awakens_to_voice", cartox_head_of_state=1)
    assert (icans.grade, g.grade) == (2, 0)


def test_a_generalised_seizure_is_cres_4_and_a_focal_one_3_spec_case_42():
    icans, g = cres(**ice(3), seizure="resolved_rapidly", seizure_type="generalized")
    assert (icans.grade, g.grade) == (3, 4)
    _, focal = cres(**ice(3), seizure="resolved_rapidly", seizure_type="focal")
    assert (focal.grade, focal.status) == (3, "final")
    _, eeg = cres(seizure="resolved_rapidly", seizure_type="nonconvulsive_eeg")
    assert eeg.grade == 3


def test_a_seizure_of_unknown_type_is_cres_3_provisional_naming_grade_4():
    _, g = cres(seizure="resolved_rapidly", cartox_head_of_state=1)
    assert (g.grade, g.status) == (3, "provisional")
    assert "would be grade 4" in findings(g)


def test_status_epilepticus_and_new_motor_weakness_are_cres_4():
    assert cres(seizure="prolonged_or_repetitive")[1].grade == 4
    assert cres(motor_weakness="deep_focal")[1].grade == 4


def test_focal_oedema_is_astct_3_and_cres_4_spec_case_49():
    icans, g = cres(**ice(9), cerebral_edema="focal")
    assert (icans.grade, g.grade) == (3, 4)


@pytest.mark.parametrize(("stage", "expected"), [(1, 3), (2, 3), (3, 4), (5, 4)])
def test_papilloedema_is_astct_4_but_cres_by_its_stage_spec_case_50(stage, expected):
    icans, g = cres(**ice(8), raised_icp_signs="papilledema", papilledema_frisen_stage=stage)
    assert (icans.grade, g.grade, g.status) == (4, expected, "final")


def test_papilloedema_without_a_stage_is_cres_3_provisional():
    _, g = cres(**ice(8), raised_icp_signs="papilledema")
    assert (g.grade, g.status) == (3, "provisional")


@pytest.mark.parametrize(("mmhg", "expected", "status"), [
    (14.9, 0, "provisional"), (15, 3, "final"), (19.9, 3, "final"), (20, 4, "final")])
def test_csf_opening_pressure_raised_below_20_mmhg_is_3_and_from_20_is_4(mmhg, expected,
                                                                         status):
    _, g = cres(cartox_head_of_state=1, csf_opening_pressure_mmhg=mmhg)
    assert (g.grade, g.status) == (expected, status)


def test_a_csf_pressure_below_15_mmhg_is_shown_with_the_rule_and_left_to_a_clinician():
    """X26 departs from the table's literal "< 20 mmHg" (grade 3): never silently."""
    _, g = cres(cartox_head_of_state=1, csf_opening_pressure_mmhg=14)
    assert "CSF opening pressure 14 mmHg: not in the raised range (the ward's reading); the " \
           "table's literal wording '< 20 mmHg' would give grade 3" in findings(g)
    assert "CRES provisional" in [r.rule for r in g.reasons]


def test_a_csf_pressure_below_15_mmhg_with_cres_already_3_leaves_the_grade_final():
    _, g = cres(**cartox_items(0, 1, 1, 0, 0), csf_opening_pressure_mmhg=14)
    assert (g.grade, g.status) == (3, "final")
    assert "CSF opening pressure 14 mmHg: not in the raised range" in findings(g)


def test_posturing_and_cn6_palsy_are_astct_4_but_not_cres_criteria():
    icans, g = cres(raised_icp_signs="posturing;cn6_palsy", cartox_head_of_state=1)
    assert (icans.grade, g.grade) == (4, 0)
    assert "not a CRES criterion" in findings(g)


def test_unarousable_with_ice_0_is_4_by_both_spec_case_38():
    icans, g = cres(**{k: 0 for k in ICE_10}, consciousness="unarousable")
    assert (icans.grade, g.grade) == (4, 4)


def test_a_child_with_a_capd_has_no_cartox10():
    _, g = cres(**{k: None for k in ICE_10}, age_years=8, capd_total=12)
    assert (g.grade, g.status) == (0, "provisional")
    assert "paediatric CRES is not implemented" in findings(g)


def test_without_any_neuro_record_cres_is_not_evaluable():
    _, g = cres(**{k: None for k in ICE_10}, consciousness=None, seizure=None,
                motor_weakness=None, cerebral_edema=None, raised_icp_signs=None)
    assert (g.grade, g.status) == (None, "not_evaluable")


def test_a_neuro_attribution_excludes_the_cartox10_as_it_excludes_the_ice():
    icans, g = cres(**ice(5), attributed_elsewhere="neuro")
    assert (icans.grade, g.grade) == (0, 0)


def test_death_from_icans_is_cres_5():
    assert cres(died_of="icans")[1].grade == 5
