"""Anakinra, siltuximab and other anti-IL-6 / anti-IL-1 agents (``anticytokine_given``) act like
tocilizumab for the fever waiver (CRS-R3) and the "fever possibly masked" rule (spec A3):
ASTCT 2019 drops the fever requirement after "antipyretic or anticytokine therapy such as
tocilizumab or steroids" (decision C20). Every case is graded by the compiled pass and the
row-wise reference, which must agree (``grade_both``)."""

from __future__ import annotations

import pytest

import grading
from grading.snapshot import ANTICYTOKINE

from .helpers import at, flag_codes, grade_both, normal_adult, rules_of

HYPOTENSIVE = {"sbp_mmhg": 86, "dbp_mmhg": 50}
# Febrile grade 2 CRS, a drug given while febrile, then afebrile on one vasopressor.
WAIVER_CASES = [
    # (drug given on the febrile row, CRS of the afebrile row on a vasopressor, its rules)
    ({"anticytokine_given": True}, 3, "CRS-R3"),      # anakinra / siltuximab: waiver
    ({"tocilizumab_given": True}, 3, "CRS-R3"),       # the same as tocilizumab
    ({"corticosteroid_given": True}, 3, "CRS-R3"),
    ({"antipyretic_given": True}, 3, "CRS-R3"),
    ({}, 3, "CRS-R3b"),  # no drug: open episode, afebrile -> graded, provisional (C-decision)
    ({"anticytokine_given": False}, 3, "CRS-R3b"),   # recorded as not given: no waiver
]


@pytest.mark.parametrize("drug,grade,rule", WAIVER_CASES)
def test_an_anticytokine_agent_activates_the_fever_waiver_like_tocilizumab(drug, grade, rule):
    rows = [normal_adult(time=at(0), temp_c=38.6, **HYPOTENSIVE),
            normal_adult(time=at(2), temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50, **drug),
            normal_adult(time=at(8), temp_c=37.1, sbp_mmhg=100, dbp_mmhg=60,
                         vasopressors="norepinephrine")]
    last = grade_both(rows)[-1]
    assert last.crs.grade == grade
    assert rule in rules_of(last.crs)
    if rule == "CRS-R3":
        assert last.crs.status == "final"
        assert "afebrile_open_episode" not in flag_codes(last)
    else:
        assert last.crs.status == "provisional"
        assert "afebrile_open_episode" in flag_codes(last)


def test_the_waiver_reason_names_the_anticytokine_agent_in_plain_words():
    rows = [normal_adult(time=at(0), temp_c=38.6),
            normal_adult(time=at(2), temp_c=38.9, anticytokine_given=True),
            normal_adult(time=at(8), temp_c=37.1, o2_device="nasal_cannula", o2_flow_l_min=3)]
    last = grade_both(rows)[-1]
    assert last.crs.grade == 2
    waiver = next(r for r in last.crs.reasons if r.rule == "CRS-R3")
    assert ANTICYTOKINE in waiver.finding
    assert "anakinra" in waiver.finding and "siltuximab" in waiver.finding


def test_an_anticytokine_agent_in_an_open_episode_with_no_finding_now_gives_0_open():
    rows = [normal_adult(time=at(0), temp_c=38.6),
            normal_adult(time=at(2), temp_c=38.9, anticytokine_given=True),
            normal_adult(time=at(8), temp_c=37.1)]
    last = grade_both(rows)[-1]
    assert (last.crs.grade, last.crs.status) == (0, "final")
    assert "CRS-R3" in rules_of(last.crs)


MASKED_CASES = [
    # (drug before any CRS, then afebrile on HFNC): grade, status, flag
    ({"anticytokine_given": True}, "provisional", "fever_possibly_masked"),
    ({"tocilizumab_given": True}, "provisional", "fever_possibly_masked"),
    ({"corticosteroid_given": True}, "provisional", "fever_possibly_masked"),
    ({"antipyretic_given": True}, "final", "without_fever"),  # antipyretics alone: no A3 (C9)
    ({}, "final", "without_fever"),
    ({"anticytokine_given": False}, "final", "without_fever"),
]


@pytest.mark.parametrize("drug,status,flag", MASKED_CASES)
def test_an_anticytokine_agent_before_any_crs_makes_afebrile_hypoxia_possibly_masked(
        drug, status, flag):
    rows = [normal_adult(time=at(0), **drug),
            normal_adult(time=at(24), temp_c=37.2, spo2_pct=93,
                         o2_device="high_flow_nasal_cannula", o2_flow_l_min=40, fio2_pct=40)]
    last = grade_both(rows)[-1]
    assert (last.crs.grade, last.crs.status) == (0, status)
    assert flag in flag_codes(last)
    if flag == "fever_possibly_masked":
        masked = next(f for f in last.flags if f.code == flag)
        assert "grade 3" in masked.message and "anti-cytokine" in masked.message


def test_anticytokine_given_reads_from_the_canonical_csv_in_any_boolean_spelling(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("patient_id,time,temp_c,sbp_mmhg,dbp_mmhg,anticytokine_given,vasopressors\n"
                    f"P1,{at(0)},38.6,120,70,,none\n"
                    f"P1,{at(2)},38.9,120,70,Yes,\n"
                    f"P1,{at(8)},37.1,100,60,,norepinephrine\n")
    a = grading.read_csv(path, tz="UTC")
    assert [int(x) for x in a.columns["anticytokine_given"]] == [-1, 1, -1]
    assert list(grading.grade(a).results())[-1].crs.grade == 3


def test_a_bad_anticytokine_value_is_refused_naming_the_column_and_the_allowed_values():
    with pytest.raises(grading.InputError) as e:
        grading.from_rows([normal_adult(anticytokine_given="anakinra")], tz="UTC")
    text = " ".join(e.value.lines)
    assert "anticytokine_given" in text and "true/false" in text
