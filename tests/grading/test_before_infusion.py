"""Nothing before the infusion is CRS or ICANS (spec §1.1, decision C17; issue 15 point 1).

A row timed before ``infusion_time`` is a baseline observation: CRS and ICANS 0 final, saying
"before the infusion"; it opens no episode; a drug charted before the infusion activates neither
the fever waiver (CRS-R3) nor A3; a row at or after the infusion reads nothing recorded before
it; a febrile pre-infusion row raises the info flag ``pre_infusion_fever``. Every case runs
through the compiled pass and the row-wise reference (``grade_both`` / ``summarize_both``), one
minute before the infusion and at it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import grading
from grading.parse import InputError
from tests.grading.helpers import (
    T0,
    at,
    grade_both,
    ice,
    normal_adult,
    summarize_both,
)

INFUSION = T0 + timedelta(hours=24)           # Day 0, 08:00 (Day -1 is T0's date)
ONE_MINUTE = 1 / 60


def since_infusion(hours: float) -> str:
    return (INFUSION + timedelta(hours=hours)).isoformat()


def row(hours_from_infusion: float, **changes: object) -> dict[str, object]:
    """A normal adult assessment ``hours_from_infusion`` after the infusion (negative: before)."""
    return normal_adult(time=since_infusion(hours_from_infusion),
                        infusion_time=INFUSION.isoformat(), **changes)


def codes(r: grading.RowResult) -> set[str]:
    return {f.code for f in r.flags}


def said(g: grading.Grade) -> str:
    return " | ".join(x.finding for x in g.reasons)


# ----------------------------------------------------------------- the boundary, both sides
# (hours from the infusion, CRS grade, status, CRS episode maximum, flags)
FEVER_AT_THE_BOUNDARY = [
    (-ONE_MINUTE, 0, "final", None, {"pre_infusion_fever"}),
    (0, 1, "final", 1, set()),
    (-24, 0, "final", None, {"pre_infusion_fever"}),
    (2, 1, "final", 1, set()),
]


@pytest.mark.parametrize(("hours", "crs", "status", "episode_max", "flags"),
                         FEVER_AT_THE_BOUNDARY)
def test_a_fever_before_the_infusion_is_grade_0_and_an_info_flag_at_the_infusion_grade_1(
        hours, crs, status, episode_max, flags):
    r = grade_both([row(hours, temp_c=38.6)])[0]
    assert (r.crs.grade, r.crs.status, r.crs_episode_max, codes(r)) == (
        crs, status, episode_max, flags)
    assert ("before the infusion" in said(r.crs)) == (hours < 0)
    assert r.before_infusion == (hours < 0)


def test_the_pre_infusion_fever_flag_is_information_for_the_infusion_team():
    r = grade_both([row(-ONE_MINUTE, temp_c=38.6)])[0]
    (flag,) = r.flags
    assert flag.severity == "info"
    assert "infection work-up" in flag.message and "infusion team" in flag.message
    assert "38.6" in flag.message


# (hours from the infusion, ICE on that row, ICANS grade, ICANS episode maximum)
ICE_AT_THE_BOUNDARY = [
    (-ONE_MINUTE, 7, 0, None),
    (0, 7, 1, 1),
    (-ONE_MINUTE, 0, 0, None),
    (0, 0, 3, 3),
]


@pytest.mark.parametrize(("hours", "ice_total", "icans", "episode_max"), ICE_AT_THE_BOUNDARY)
def test_an_ice_before_the_infusion_is_the_baseline_never_icans(hours, ice_total, icans,
                                                                 episode_max):
    r = grade_both([row(hours, **ice(ice_total))])[0]
    assert (r.icans.grade, r.icans_episode_max) == (icans, episode_max)
    if hours < 0:
        assert r.icans.status == "final"
        assert "before the infusion" in said(r.icans)
        assert r.flags == ()


def test_a_baseline_ice_is_not_carried_into_the_rows_after_the_infusion():
    """ICE 7 an hour before the infusion; an hour after it only vital signs: no ICANS onset
    from the baseline, and the next ICE 7 is read against it (B4)."""
    rs = grade_both([
        row(-1, **ice(7)),
        row(1, **{k: None for k in ice(7)}, consciousness=None, seizure=None,
            motor_weakness=None, cerebral_edema=None, raised_icp_signs=None),
        row(3, **ice(7)),
    ])
    assert [r.icans.grade for r in rs] == [0, None, 1]
    assert "no ICE or CAPD since the infusion" in said(rs[1].icans)
    assert rs[1].icans_episode_max is None
    assert (rs[2].icans.status, "baseline_deficit" in codes(rs[2])) == ("provisional", True)


def test_a_pre_infusion_fever_is_not_carried_as_a_fever_after_the_infusion():
    """Fever 38.6 an hour before the infusion; an hour after it a low blood pressure and no
    temperature: no CRS episode, and without a temperature since the infusion, not evaluable."""
    rs = grade_both([row(-1, temp_c=38.6), row(1, temp_c=None, sbp_mmhg=84, dbp_mmhg=50)])
    assert (rs[1].crs.grade, rs[1].crs.status) == (None, "not_evaluable")
    assert "no temperature since the infusion" in said(rs[1].crs)
    assert rs[1].crs_episode_max is None


# ----------------------------------------------------------------- drugs before the infusion
@pytest.mark.parametrize(("drug_hours", "crs", "status", "flag"), [
    (-ONE_MINUTE, 0, "final", "without_fever"),          # premedication: masks nothing
    (0, 0, "provisional", "fever_possibly_masked"),      # at the infusion: A3 applies
])
def test_a_steroid_before_the_infusion_never_activates_a3(drug_hours, crs, status, flag):
    rs = grade_both([row(drug_hours, corticosteroid_given=True, tocilizumab_given=True),
                     row(4, temp_c=37.2, o2_device="high_flow_nasal_cannula",
                         o2_flow_l_min=40)])
    assert (rs[1].crs.grade, rs[1].crs.status) == (crs, status)
    assert flag in codes(rs[1])


@pytest.mark.parametrize("drug_hours", [-ONE_MINUTE, -6])
def test_a_fever_and_antipyretic_before_the_infusion_open_no_episode_and_no_waiver(drug_hours):
    rs = grade_both([row(drug_hours, temp_c=38.9, antipyretic_given=True,
                         tocilizumab_given=True),
                     row(2, temp_c=37.4, sbp_mmhg=86, dbp_mmhg=50, vasopressors="norepinephrine")])
    assert (rs[1].crs.grade, rs[1].crs.status) == (0, "final")
    assert "without_fever" in codes(rs[1]) and rs[1].crs_episode_max is None


def test_the_issue_example_fever_on_day_minus_1_then_hypotension_4_h_after_the_infusion():
    """Issue 15: a fever on Day -1 (antipyretic given), then on Day 0, 4 h after the
    infusion, a low blood pressure without fever: CRS 0 with the review flag, no episode."""
    rows = [row(-10, temp_c=38.7, antipyretic_given=True),
            row(-9, temp_c=37.8),
            row(4, temp_c=37.3, sbp_mmhg=85, dbp_mmhg=50)]
    rs = grade_both(rows)
    assert [r.day_post_infusion for r in rs] == [-1, -1, 0]
    assert [(r.crs.grade, r.crs.status) for r in rs] == [(0, "final")] * 3
    assert "pre_infusion_fever" in codes(rs[0])
    assert "without_fever" in codes(rs[2])
    (s,) = summarize_both(rows)
    assert (s.crs_episodes, s.crs_max_grade, s.as_dict()["crs_onset_day"]) == ((), 0, None)


# ----------------------------------------------------------------- flags kept, flags dropped
def test_hypoxia_with_no_oxygen_before_the_infusion_is_still_an_urgent_flag():
    r = grade_both([row(-1, spo2_pct=86)])[0]
    assert (r.crs.grade, r.crs.status) == (0, "final")
    assert codes(r) == {"hypoxia_no_o2"}


def test_hypotension_before_the_infusion_is_not_called_early_crs():
    r = grade_both([row(-1, sbp_mmhg=82, dbp_mmhg=50)])[0]
    assert (r.crs.grade, r.crs.status, codes(r)) == (0, "final", set())


def test_a_row_before_the_infusion_with_nothing_recorded_is_0_final_not_unevaluable():
    r = grade_both([{"patient_id": "P1", "time": since_infusion(-2),
                     "infusion_time": INFUSION.isoformat(), "rr_per_min": 16}])[0]
    assert (r.crs.grade, r.crs.status, r.icans.grade, r.icans.status) == (
        0, "final", 0, "final")


# ----------------------------------------------------------------- the summary
def test_the_summary_never_reports_an_episode_or_onset_before_day_0():
    rows = [row(-20, temp_c=39.0, **ice(6)), row(-ONE_MINUTE, temp_c=38.4),
            row(6, temp_c=38.2), row(30, temp_c=37.0, **ice(8))]
    (s,) = summarize_both(rows)
    d = s.as_dict()
    assert d["crs_onset_day"] == 0 and d["crs_onset"] == since_infusion(6) + "+00:00"
    assert d["icans_onset_day"] == 1
    assert all(e.onset_day >= 0 for e in s.crs_episodes + s.icans_episodes)
    assert s.daily_max == ((-1, 0, 0), (0, 1, 0), (1, 0, 1))


# ----------------------------------------------------------------- unknown infusion time
def test_with_no_infusion_time_a_fever_is_crs_as_before():
    r = grade_both([normal_adult(time=at(0), temp_c=38.6)])[0]
    assert (r.crs.grade, r.crs_episode_max, codes(r), r.before_infusion) == (1, 1, set(), False)


# ----------------------------------------------------------------- impossible input
@pytest.mark.parametrize(("cause", "hours", "refused"), [
    ("crs", -ONE_MINUTE, True), ("icans", -ONE_MINUTE, True), ("other", -ONE_MINUTE, False),
    ("crs", 0, False),
])
def test_a_death_from_crs_or_icans_before_the_infusion_is_refused(cause, hours, refused):
    rows = [row(hours, died_of=cause)]
    if not refused:
        assert len(grade_both(rows)) == 1
        return
    with pytest.raises(InputError) as e:
        grading.from_rows(rows)
    (problem,) = e.value.lines
    assert "died_of" in problem and "before the infusion" in problem


# ----------------------------------------------------------------- the other scales
@pytest.mark.parametrize(("hours", "lee2014", "cres"), [(-ONE_MINUTE, 0, 0), (0, 1, 1)])
def test_every_other_scale_grades_a_row_before_the_infusion_0_too(hours, lee2014, cres):
    from grading.scales.engine import SCALES, grade_scales

    a = grading.from_rows([row(hours, temp_c=38.6, **ice(8))])
    (graded,) = grade_scales(a, list(SCALES))
    assert (graded["lee2014"].grade, graded["cres"].grade) == (lee2014, cres)
    if hours < 0:
        assert {(g.grade, g.status) for g in graded.values()} == {(0, "final")}
        assert all("before the infusion" in g.reasons[0].finding for g in graded.values())


# ----------------------------------------------------------------- real time (decision D9)
@pytest.mark.parametrize(("time", "before"), [
    ("2026-11-01T01:45-04:00", True),    # first 01:45 (EDT): 45 min before the infusion
    ("2026-11-01T01:30-05:00", False),   # the infusion itself (the second 01:30, EST)
    ("2026-11-01T01:15-05:00", True),    # wall clock before, instant 15 min before
])
def test_before_the_infusion_is_decided_by_instants_across_the_fall_back_hour(time, before):
    r = grade_both([{"patient_id": "P1", "time": time, "infusion_time": "2026-11-01T01:30-05:00",
                     "age_years": 45, "temp_c": 38.5}], tz="America/New_York")[0]
    assert (r.before_infusion, r.crs.grade, "pre_infusion_fever" in codes(r)) == (
        before, 0 if before else 1, before)
