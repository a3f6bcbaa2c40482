"""Spec §8: every ASTCT edge case #1-#65, graded through both the fast and row-wise paths.

Each case is one row of the table below: the canonical rows that encode the scenario and what
the spec says the last row must be graded. Unless a case says otherwise the patient is an adult
with every other finding normal (alert, ICE 10, room air, no vasopressor, no attribution), which
is what ``normal_adult`` builds. Grades are asserted exactly; statuses only where the spec names
PROVISIONAL / NOT_EVALUABLE; review flags are asserted as the exact set the spec asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

import grading
from tests.grading.helpers import (
    ICE_10,
    T0,
    at,
    flag_codes,
    grade_both,
    ice,
    normal_adult,
    rules_of,
)

NO_ICE: dict[str, object] = {name: None for name in ICE_10}
NO_NEURO_EVENTS: dict[str, object] = {"seizure": None, "motor_weakness": None,
                                      "cerebral_edema": None, "raised_icp_signs": None}
HYPOTENSIVE = {"sbp_mmhg": 84, "dbp_mmhg": 50}   # adult SBP < 90 (spec §1.6)


def child(age_years: float, **overrides: object) -> dict[str, object]:
    """A child assessed with the CAPD (no ICE items), CAPD 0 unless overridden."""
    return normal_adult(**{**NO_ICE, "age_years": age_years, "capd_total": 0, **overrides})


def one(**overrides: object) -> list[dict[str, object]]:
    return [normal_adult(**overrides)]


@dataclass(frozen=True)
class Expected:
    crs: int | None
    icans: int | None
    flags: frozenset[str] = frozenset()        # exact set of flag codes on the last row
    urgent: frozenset[str] = frozenset()       # of those, the ones the spec calls urgent
    crs_status: str | None = None              # asserted only where the spec names a status
    icans_status: str | None = None
    crs_timeline: tuple[int | None, ...] | None = None  # every row, to check the set-up


def case(case_id: str, rows: Sequence[Mapping[str, object]], crs: int | None,
         icans: int | None, *, flags: Iterable[str] = (), urgent: Iterable[str] = (),
         crs_status: str | None = None, icans_status: str | None = None,
         crs_timeline: tuple[int | None, ...] | None = None) -> object:
    expected = Expected(crs, icans, frozenset(flags), frozenset(urgent), crs_status,
                        icans_status, crs_timeline)
    return pytest.param(list(rows), expected, id=case_id)


F_100_4 = float(grading.fahrenheit_to_celsius(100.4))
F_100_3 = float(grading.fahrenheit_to_celsius(100.3))

CASES = [
    # ---------------------------------------------------------------- fever (CRS-R1, §0.1)
    case("01-temp-38.0-exactly-is-grade-1", one(temp_c=38.0), 1, 0),
    case("02-temp-37.9-is-grade-0", one(temp_c=37.9), 0, 0),
    case("03-temp-100.4F-is-38.0C-and-grade-1", one(temp_c=F_100_4), 1, 0),
    case("04-temp-100.3F-is-37.9C-and-grade-0", one(temp_c=F_100_3), 0, 0),
    # ----------------------------------------------------- hypotension and hypoxia (CRS-R4-R6)
    case("05-source-example-39.5-one-vasopressor-low-flow-is-grade-3",
         one(temp_c=39.5, vasopressors="norepinephrine", o2_device="nasal_cannula",
             o2_flow_l_min=2), 3, 0),
    case("06-fever-with-sbp-84-after-a-fluid-bolus-no-vasopressor-is-grade-2",
         one(temp_c=38.4, **HYPOTENSIVE, fluid_bolus_given=True), 2, 0),
    case("07-fever-on-nasal-cannula-6.0-l-min-is-grade-2",
         one(temp_c=38.3, o2_device="nasal_cannula", o2_flow_l_min=6.0), 2, 0),
    case("08-fever-on-nasal-cannula-6.5-l-min-is-grade-3",
         one(temp_c=38.3, o2_device="nasal_cannula", o2_flow_l_min=6.5), 3, 0),
    case("09-child-with-fever-on-blow-by-oxygen-is-grade-2",
         [child(4, temp_c=38.3, o2_device="blow_by")], 2, 0),
    case("10-fever-on-a-simple-facemask-at-5-l-min-is-grade-3",
         one(temp_c=38.3, o2_device="simple_face_mask", o2_flow_l_min=5), 3, 0),
    case("11-fever-on-a-venturi-mask-at-fio2-28-is-grade-3",
         one(temp_c=38.3, o2_device="venturi_mask", fio2_pct=28), 3, 0),
    case("12-fever-on-hfnc-40-l-min-at-fio2-30-is-grade-3",
         one(temp_c=38.3, o2_device="high_flow_nasal_cannula", o2_flow_l_min=40, fio2_pct=30),
         3, 0),
    case("13-fever-on-bipap-is-grade-4", one(temp_c=38.3, o2_device="bipap"), 4, 0),
    case("14-norepinephrine-plus-vasopressin-is-one-vasopressor-grade-3",
         one(temp_c=38.3, vasopressors="norepinephrine;vasopressin"), 3, 0),
    case("15-norepinephrine-and-phenylephrine-together-is-grade-4",
         one(temp_c=38.3, vasopressors="norepinephrine;phenylephrine"), 4, 0),
    case("16-vasopressin-alone-counts-as-one-vasopressor-grade-3",
         one(temp_c=38.3, vasopressors="vasopressin"), 3, 0),
    case("17-phenylephrine-stopped-10-min-before-norepinephrine-is-not-multiple-grade-3",
         [normal_adult(time=at(0), temp_c=38.3, sbp_mmhg=88, dbp_mmhg=55,
                       vasopressors="phenylephrine"),
          normal_adult(time=at(0.5), temp_c=38.3, sbp_mmhg=95, dbp_mmhg=60,
                       vasopressors="none"),
          normal_adult(time=at(0.5 + 10 / 60), temp_c=38.3, sbp_mmhg=92, dbp_mmhg=58,
                       vasopressors="norepinephrine")],
         3, 0, crs_timeline=(3, 1, 3)),
    case("18-dobutamine-alone-is-not-a-vasopressor-grade-1-with-inotrope-flag",
         one(temp_c=38.3, vasopressors="dobutamine"), 1, 0, flags={"inotrope"}),
    # ------------------------------------------------------------ fever waiver (CRS-R3, R3b)
    case("19-after-g2-crs-and-tocilizumab-afebrile-on-one-vasopressor-is-grade-3",
         [normal_adult(time=at(0), temp_c=38.6, **HYPOTENSIVE),
          normal_adult(time=at(2), temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50,
                       tocilizumab_given=True),
          normal_adult(time=at(8), temp_c=37.1, sbp_mmhg=100, dbp_mmhg=60,
                       vasopressors="norepinephrine")],
         3, 0, crs_timeline=(2, 2, 3)),
    case("20-after-g1-crs-and-acetaminophen-afebrile-on-nasal-cannula-3-is-grade-2",
         [normal_adult(time=at(0), temp_c=38.3),
          normal_adult(time=at(1), temp_c=38.2, antipyretic_given=True),
          normal_adult(time=at(5), temp_c=37.6, o2_device="nasal_cannula", o2_flow_l_min=3)],
         2, 0, crs_timeline=(1, 1, 2)),
    case("21-never-febrile-on-norepinephrine-is-grade-0-with-without-fever-flag",
         one(temp_c=37.2, sbp_mmhg=86, dbp_mmhg=50, vasopressors="norepinephrine"), 0, 0,
         flags={"without_fever"}),
    case("22-prophylactic-dexamethasone-then-afebrile-on-hfnc-is-0-provisional-fever-masked",
         [normal_adult(time=at(0), corticosteroid_given=True),
          normal_adult(time=at(24), temp_c=37.2, spo2_pct=93,
                       o2_device="high_flow_nasal_cannula", o2_flow_l_min=40, fio2_pct=40)],
         0, 0, crs_status="provisional", flags={"fever_possibly_masked"},
         urgent={"fever_possibly_masked"}),
    # ------------------------------------------------------ organ toxicity, attribution, A7-A8
    case("23-fever-with-organ-toxicity-only-is-grade-1", one(temp_c=38.6), 1, 0),
    case("24-fever-hypotension-without-vasopressor-and-hfnc-higher-component-wins-grade-3",
         one(temp_c=38.6, **HYPOTENSIVE, o2_device="high_flow_nasal_cannula",
             o2_flow_l_min=30), 3, 0),
    case("25-fever-with-home-cpap-at-night-attributed-is-grade-1-with-note",
         [normal_adult(time=at(0), temp_c=38.2),
          normal_adult(time=at(14), temp_c=38.2, o2_device="cpap",
                       attributed_elsewhere="hypoxia")],
         1, 0, flags={"attributed"}, crs_timeline=(1, 1)),
    case("26-fever-on-chronic-home-oxygen-2-l-min-at-baseline-is-grade-1",
         [normal_adult(time=at(0), o2_device="nasal_cannula", o2_flow_l_min=2,
                       attributed_elsewhere="hypoxia"),
          normal_adult(time=at(6), temp_c=38.2, o2_device="nasal_cannula", o2_flow_l_min=2,
                       attributed_elsewhere="hypoxia")],
         1, 0, flags={"attributed"}, crs_timeline=(0, 1)),
    case("27-fever-with-spo2-88-on-room-air-is-grade-1-with-urgent-hypoxia-no-o2",
         one(temp_c=38.2, spo2_pct=88), 1, 0, flags={"hypoxia_no_o2"},
         urgent={"hypoxia_no_o2"}),
    # ---------------------------------------------------------------- death, missing data
    case("28-death-recorded-as-caused-by-crs-is-grade-5",
         [normal_adult(time=at(0), temp_c=39.4, vasopressors="norepinephrine;phenylephrine"),
          normal_adult(time=at(6), temp_c=39.0, died_of="crs")],
         5, 0),
    # 29 is asserted on the episode maximum below (test_29_...)
    case("30-temperature-missing-with-no-open-episode-is-not-evaluable",
         one(temp_c=None), None, 0, crs_status="not_evaluable"),
    # ----------------------------------------------------------------- ICE (ICANS-R2, R3)
    case("31-ice-10-alert-is-icans-0", one(**ice(10)), 0, 0),
    case("32-ice-9-is-icans-1", one(**ice(9)), 0, 1),
    case("33-ice-7-is-icans-1", one(**ice(7)), 0, 1),
    case("34-ice-6-is-icans-2", one(**ice(6)), 0, 2),
    case("35-ice-3-is-icans-2", one(**ice(3)), 0, 2),
    case("36-ice-2-is-icans-3", one(**ice(2)), 0, 3),
    case("37-ice-0-awake-with-global-aphasia-is-icans-3",
         one(**ice(0), consciousness="alert"), 0, 3),
    case("38-ice-0-unarousable-not-sedated-is-icans-4",
         one(**ice(0), consciousness="unarousable"), 0, 4),
    # ------------------------------------------------------------ consciousness (ICANS-R4)
    case("39-ice-10-drowsy-waking-spontaneously-is-icans-1",
         one(consciousness="awakens_spontaneously"), 0, 1),
    case("40-ice-10-waking-only-to-voice-is-icans-2",
         one(consciousness="awakens_to_voice"), 0, 2),
    case("41-ice-8-waking-only-to-touch-is-icans-3",
         one(**ice(8), consciousness="awakens_to_touch"), 0, 3),
    # ------------------------------------------------------------------ seizures (ICANS-R6)
    case("42-source-example-ice-3-and-a-rapidly-resolving-seizure-is-icans-3",
         one(**ice(3), seizure="resolved_rapidly"), 0, 3),
    case("43-one-seizure-of-exactly-5-min-back-to-baseline-is-icans-3",
         one(seizure="resolved_rapidly"), 0, 3),
    case("44-one-seizure-of-6-min-is-icans-4", one(seizure="prolonged_or_repetitive"), 0, 4),
    case("45-two-brief-seizures-without-return-to-baseline-is-icans-4",
         one(seizure="prolonged_or_repetitive"), 0, 4),
    case("46-eeg-only-seizures-resolving-with-lorazepam-and-ice-6-is-icans-3",
         one(**ice(6), seizure="resolved_rapidly"), 0, 3),
    # ------------------------------------------------- excluded findings (ICANS-R7, R8)
    case("47-tremor-and-myoclonus-only-is-icans-0", one(), 0, 0),
    case("48-small-intracranial-haemorrhage-ice-10-is-icans-0", one(), 0, 0),
    # -------------------------------------------------------- imaging, ICP, motor (§2.3)
    case("49-focal-oedema-on-mri-ice-9-is-icans-3",
         one(**ice(9), cerebral_edema="focal"), 0, 3),
    case("50-papilloedema-ice-8-is-icans-4",
         one(**ice(8), raised_icp_signs="papilledema"), 0, 4),
    case("51-new-cranial-nerve-vi-palsy-ice-9-is-icans-4",
         one(**ice(9), raised_icp_signs="cn6_palsy"), 0, 4),
    case("52-new-hemiparesis-ice-7-is-icans-4",
         one(**ice(7), motor_weakness="deep_focal"), 0, 4),
    # ---------------------------------------------------------------- sedation (ICANS-R5)
    case("53a-ventilated-and-sedated-with-no-event-record-is-crs-4-icans-not-evaluable",
         [normal_adult(time=at(0), temp_c=38.5, o2_device="cpap", **NO_NEURO_EVENTS),
          normal_adult(time=at(2), temp_c=38.5, o2_device="mechanical_ventilation",
                       sedated=True, consciousness=None, **NO_ICE, **NO_NEURO_EVENTS)],
         4, None, icans_status="not_evaluable", flags={"neuro_not_assessable"},
         crs_timeline=(4, 4)),
    case("53b-ventilated-and-sedated-with-events-recorded-none-is-icans-0-provisional",
         [normal_adult(time=at(0), temp_c=38.5, o2_device="cpap"),
          normal_adult(time=at(2), temp_c=38.5, o2_device="mechanical_ventilation",
                       sedated=True, consciousness=None, **NO_ICE)],
         4, 0, icans_status="provisional", flags={"neuro_not_assessable"},
         crs_timeline=(4, 4)),
    case("54-intubated-for-airway-protection-in-icans-g4-is-crs-1-with-flag-icans-4",
         [normal_adult(time=at(0), temp_c=38.2, **ice(2), consciousness="awakens_to_touch"),
          normal_adult(time=at(1), temp_c=38.2, o2_device="mechanical_ventilation",
                       attributed_elsewhere="hypoxia", **ice(0), consciousness="unarousable")],
         1, 4, flags={"attributed"}, crs_timeline=(1, 1)),
    # --------------------------------------------------------------- children (§2.5, §1.6)
    case("55-child-8-capd-10-awake-is-icans-3", [child(8, capd_total=10)], 0, 3),
    case("56-child-8-capd-5-waking-spontaneously-is-icans-1",
         [child(8, capd_total=5, consciousness="awakens_spontaneously")], 0, 1),
    case("57-child-8-capd-5-waking-to-voice-is-icans-2",
         [child(8, capd_total=5, consciousness="awakens_to_voice")], 0, 2),
    case("58-child-8-capd-0-alert-is-icans-0", [child(8, capd_total=0)], 0, 0),
    case("59-child-5-unarousable-cannot-do-capd-is-icans-4",
         [child(5, capd_total=None, consciousness="unarousable")], 0, 4),
    case("60-child-6-fever-sbp-80-below-82-after-a-fluid-bolus-is-grade-2",
         [child(6, temp_c=38.4, sbp_mmhg=80, dbp_mmhg=45, fluid_bolus_given=True)], 2, 0),
    case("61-child-6-fever-sbp-84-no-intervention-is-grade-1",
         [child(6, temp_c=38.4, sbp_mmhg=84, dbp_mmhg=50)], 1, 0),
    case("62-child-aged-exactly-12-cooperative-ice-8-is-icans-1-by-ice",
         one(age_years=12, **ice(8)), 0, 1),
    # --------------------------------------------------------------- baseline deficit (B4)
    case("63a-baseline-ice-8-and-now-ice-8-is-icans-1-provisional-baseline-deficit",
         [normal_adult(time=at(-24), infusion_time=at(0), **ice(8)),
          normal_adult(time=at(48), infusion_time=at(0), **ice(8))],
         0, 1, icans_status="provisional", flags={"baseline_deficit"}),
    case("63b-baseline-ice-8-now-ice-8-attributed-is-icans-0-without-baseline-deficit",
         [normal_adult(time=at(-24), infusion_time=at(0), **ice(8)),
          normal_adult(time=at(48), infusion_time=at(0), **ice(8),
                       attributed_elsewhere="neuro")],
         0, 0, flags={"attributed"}),
    # -------------------------------------------------------- independent grading (§0.3)
    case("64-crs-g2-on-nasal-cannula-3-with-ice-2-is-crs-2-and-icans-3",
         one(temp_c=38.6, o2_device="nasal_cannula", o2_flow_l_min=3, **ice(2)), 2, 3),
    case("65-fever-with-comfort-oxygen-at-spo2-98-is-grade-1",
         one(temp_c=38.1, spo2_pct=98, o2_device="nasal_cannula", o2_flow_l_min=2,
             attributed_elsewhere="hypoxia"), 1, 0, flags={"attributed"}),
]


@pytest.mark.parametrize(("rows", "expected"), CASES)
def test_spec_edge_case_is_graded_as_the_spec_says(
        rows: list[dict[str, object]], expected: Expected) -> None:
    results = grade_both(rows)
    r = results[-1]
    assert (r.crs.grade, r.icans.grade) == (expected.crs, expected.icans), (
        r.crs.reasons, r.icans.reasons)
    if expected.crs_status is not None:
        assert r.crs.status == expected.crs_status
    if expected.icans_status is not None:
        assert r.icans.status == expected.icans_status
    assert flag_codes(r) == expected.flags, r.flags
    assert {f.code for f in r.flags if f.severity == "urgent"} == expected.urgent
    if expected.crs_timeline is not None:
        assert tuple(x.crs.grade for x in results) == expected.crs_timeline


def test_03_04_fahrenheit_is_converted_then_rounded_half_up():
    assert grading.fahrenheit_to_celsius(100.4) == Decimal("38.0")
    assert grading.fahrenheit_to_celsius(100.3) == Decimal("37.9")


def test_22_fever_possibly_masked_says_what_the_grade_would_be():
    rows = [normal_adult(time=at(0), corticosteroid_given=True),
            normal_adult(time=at(24), temp_c=37.2, spo2_pct=93,
                         o2_device="high_flow_nasal_cannula", o2_flow_l_min=40, fio2_pct=40)]
    masked = [f for f in grade_both(rows)[-1].flags if f.code == "fever_possibly_masked"]
    assert len(masked) == 1
    assert "grade 3" in masked[0].message
    assert "no open CRS episode" in masked[0].message  # not only prophylaxis (decision C9)
    # when the drug was given, on the ward clock (issue 18.8: no ISO time in the words)
    assert f"given {T0:%d %b %H:%M})" in masked[0].message


def test_an_attributed_finding_without_fever_is_still_named_in_the_reasons():
    rows = [normal_adult(time=at(0), temp_c=37.1, o2_device="cpap",
                         attributed_elsewhere="hypoxia")]
    (r,) = grade_both(rows)
    assert (r.crs.grade, r.crs.status) == (0, "final")
    assert [x.rule for x in r.crs.reasons] == ["CRS-R1", "CRS-R2", "CRS-R7"]
    assert "hypoxia attributed to another cause" in r.crs.reasons[-1].finding


def test_29_death_from_lymphoma_during_g2_crs_keeps_the_episode_maximum_at_2():
    rows = [normal_adult(time=at(0), temp_c=38.6, o2_device="nasal_cannula", o2_flow_l_min=3),
            normal_adult(time=at(6), temp_c=38.5, o2_device="nasal_cannula", o2_flow_l_min=3,
                         died_of="other")]
    first, death = grade_both(rows)
    assert first.crs.grade == 2
    assert death.crs_episode_max == 2
    assert death.crs.grade == 2  # per the findings; never 5 (CRS-R9)
    assert death.icans.grade == 0


def test_28_a_death_from_crs_with_no_open_episode_is_an_episode_of_grade_5():
    rows = [normal_adult(time=at(0), temp_c=37.0),
            normal_adult(time=at(6), temp_c=37.2, died_of="crs")]
    first, death = grade_both(rows)
    assert (first.crs.grade, first.crs_episode_max) == (0, None)
    assert (death.crs.grade, death.crs_episode_max) == (5, 5)
    summary = grading.summarize(grading.grade(grading.from_rows(rows)))[0]
    assert summary.crs_max_grade == 5
    assert [(e.onset, e.max_grade) for e in summary.crs_episodes] == [(death.time, 5)]


def test_28_a_death_from_crs_in_an_open_episode_raises_that_episode_to_5():
    rows = [normal_adult(time=at(0), temp_c=38.6),
            normal_adult(time=at(6), temp_c=38.4, died_of="crs")]
    first, death = grade_both(rows)
    assert death.crs_episode_max == 5
    summary = grading.summarize(grading.grade(grading.from_rows(rows)))[0]
    assert [(e.onset, e.max_grade) for e in summary.crs_episodes] == [(first.time, 5)]


def test_rows_after_a_recorded_death_are_rejected():
    rows = [normal_adult(time=at(0), temp_c=39.0, died_of="crs"),
            normal_adult(time=at(1))]
    with pytest.raises(grading.InputError, match="died_of"):
        grade_both(rows)


def test_63_baseline_ice_is_the_one_recorded_before_the_infusion():
    rows = [normal_adult(time=at(-24), infusion_time=at(0), **ice(8)),
            normal_adult(time=at(48), infusion_time=at(0), **ice(8))]
    r = grade_both(rows)[-1]
    assert r.day_post_infusion == 2
    deficit = [f for f in r.flags if f.code == "baseline_deficit"]
    assert [f.severity for f in deficit] == ["review"]


# -------------------------------------------------------------- grades explain themselves
REASON_CASES = [
    pytest.param(one(temp_c=39.5, vasopressors="norepinephrine", o2_device="nasal_cannula",
                     o2_flow_l_min=2), "crs", {"CRS-R1", "CRS-R4", "CRS-R5", "CRS-R6"},
                 id="05-grade-3-names-the-vasopressor-and-the-cannula"),
    pytest.param(one(temp_c=38.4, **HYPOTENSIVE, fluid_bolus_given=True), "crs",
                 {"CRS-R4", "CRS-R6"}, id="06-grade-2-names-the-low-pressure"),
    pytest.param([normal_adult(time=at(0), temp_c=38.6, **HYPOTENSIVE),
                  normal_adult(time=at(2), temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50,
                               tocilizumab_given=True),
                  normal_adult(time=at(8), temp_c=37.1, sbp_mmhg=100, dbp_mmhg=60,
                               vasopressors="norepinephrine")],
                 "crs", {"CRS-R3", "CRS-R4"}, id="19-afebrile-grade-3-names-the-fever-waiver"),
    pytest.param(one(temp_c=37.2, sbp_mmhg=86, dbp_mmhg=50, vasopressors="norepinephrine"),
                 "crs", {"CRS-R2"}, id="21-grade-0-names-onset-needs-fever"),
    pytest.param([normal_adult(time=at(0), temp_c=39.4, vasopressors="norepinephrine"),
                  normal_adult(time=at(6), temp_c=39.0, died_of="crs")],
                 "crs", {"CRS-R9"}, id="28-grade-5-names-the-recorded-death"),
    pytest.param(one(**ice(3), seizure="resolved_rapidly"), "icans",
                 {"ICANS-R2", "ICANS-R6", "ICANS-R1"}, id="42-icans-3-names-ice-and-seizure"),
    pytest.param(one(**ice(0), consciousness="unarousable"), "icans", {"ICANS-R4"},
                 id="38-icans-4-names-the-unarousable-patient"),
    pytest.param([normal_adult(time=at(0), temp_c=38.5, o2_device="cpap"),
                  normal_adult(time=at(2), temp_c=38.5, o2_device="mechanical_ventilation",
                               sedated=True, consciousness=None, **NO_ICE)],
                 "icans", {"ICANS-R5"}, id="53-sedated-names-why-the-exam-is-missing"),
]


@pytest.mark.parametrize(("rows", "which", "rules"), REASON_CASES)
def test_the_grade_carries_the_rules_that_set_it(
        rows: list[dict[str, object]], which: str, rules: set[str]) -> None:
    r = grade_both(rows)[-1]
    grade = r.crs if which == "crs" else r.icans
    assert rules <= set(rules_of(grade)), rules_of(grade)
    assert all(x.finding for x in grade.reasons)


def test_05_reasons_name_the_findings_in_ward_words():
    r = grade_both(one(temp_c=39.5, vasopressors="norepinephrine", o2_device="nasal_cannula",
                       o2_flow_l_min=2))[-1]
    by_rule = {x.rule: x.finding for x in r.crs.reasons}
    assert "norepinephrine" in by_rule["CRS-R4"]
    assert "nasal cannula" in by_rule["CRS-R5"] and "2 L/min" in by_rule["CRS-R5"]
