"""Each teaching case's key moments, graded as the spec says - written from the spec, not from
the engine's output.

A card's stated grades are the engine's (``library.verify``), so on their own they could not
catch an engine that grades a case wrongly. Here every case's key moments are held against the
spec directly (decision T1): each scenario names the values its row records, the grade the spec
gives them and the rule that gives it. Should the engine ever disagree, the scenario fails and
the engine is what is investigated (grading/ with its spec tests), never the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

import grading
from monitoring import library

CASES = {c.id: c for c in library.builtin_cases()}


@dataclass(frozen=True)
class Scenario:
    case: str
    time: str                        # ward-local clock time of the row, as on the card
    given: dict[str, str]            # what the row records (CSV text); the rest: see ``why``
    crs: tuple[int | None, str]      # the spec's grade and status
    icans: tuple[int | None, str]
    rule: str                        # the spec rule (and edge case of spec §8) that decides
    why: str
    reason: str = ""                 # words a reason or flag of the grade must contain
    flags: frozenset[str] = field(default_factory=frozenset)


FINAL, PROVISIONAL, NE = "final", "provisional", "not_evaluable"
SCENARIOS = [
    # DEMO-001: uneventful
    Scenario("DEMO-001", "2026-03-07T18:00", {"temp_c": "37.9"}, (0, FINAL), (0, FINAL),
             "CRS-R1, §8 #2", "37.9 °C is below 38.0 °C: no fever, no CRS; ICE 10 and alert "
             "at 14:00 (within 12 h): ICANS 0 (ICANS-R3)"),
    # DEMO-002: grade 2, tocilizumab, the waiver
    Scenario("DEMO-002", "2026-04-07T18:00", {"temp_c": "38.4", "sbp_mmhg": "130"},
             (1, FINAL), (0, FINAL), "CRS-R1, CRS-R6", "fever alone (room air, normal BP)"),
    Scenario("DEMO-002", "2026-04-08T03:00", {"temp_c": "39.3", "sbp_mmhg": "86",
                                              "o2_device": "nasal_cannula",
                                              "o2_flow_l_min": "2.0"},
             (2, FINAL), (0, FINAL), "CRS-R4, CRS-R5, §1.4, §8 #7",
             "fever with SBP 86 < 90 (no vasopressor) and a 2 L/min cannula (<= 6: low flow)"),
    Scenario("DEMO-002", "2026-04-08T10:00", {"temp_c": "37.2", "o2_flow_l_min": "1.0"},
             (2, FINAL), (0, FINAL), "CRS-R3, §8 #20",
             "afebrile on the cannula after paracetamol and tocilizumab in the open episode: "
             "the fever waiver keeps grade 2", reason="fever no longer required"),
    Scenario("DEMO-002", "2026-04-08T14:00", {"o2_device": "room_air", "sbp_mmhg": "118"},
             (0, FINAL), (0, FINAL), "CRS-R3",
             "episode open, waiver active, no hypotension or hypoxia now: 0, not 1",
             reason="no qualifying finding now"),
    # DEMO-003: ICE bands and consciousness
    Scenario("DEMO-003", "2026-05-16T10:00", {"ice_orientation": "3", "ice_naming": "3",
                                              "ice_commands": "1", "ice_writing": "0",
                                              "ice_attention": "1", "consciousness": "alert"},
             (0, FINAL), (1, FINAL), "ICANS-R2, §8 #32-33", "ICE 3+3+1+0+1 = 8 (7-9): grade 1"),
    Scenario("DEMO-003", "2026-05-16T18:00", {"ice_total": "5",
                                              "consciousness": "awakens_to_voice"},
             (0, FINAL), (2, FINAL), "ICANS-R2, ICANS-R4, §8 #40",
             "ICE 5 (3-6) and waking to voice: both grade 2"),
    Scenario("DEMO-003", "2026-05-17T02:00", {"ice_total": "2",
                                              "consciousness": "awakens_to_voice"},
             (0, FINAL), (3, FINAL), "ICANS-R2, §8 #36", "ICE 2 (0-2, awake): grade 3"),
    Scenario("DEMO-003", "2026-05-17T06:00", {"ice_total": "3",
                                              "consciousness": "awakens_spontaneously"},
             (0, FINAL), (2, FINAL), "ICANS-R1, ICANS-R2",
             "ICE 3 is grade 2, drowsy grade 1: the worse domain, 2"),
    Scenario("DEMO-003", "2026-05-19T06:00", {"ice_total": "10", "consciousness": "alert"},
             (0, FINAL), (0, FINAL), "ICANS-R3, §8 #31", "ICE 10, alert: 0"),
    # DEMO-004: a child of 8 (hypotension below 70 + 2 x 8 = 86 mmHg; CAPD)
    Scenario("DEMO-004", "2026-06-04T14:00", {"temp_c": "38.9", "sbp_mmhg": "88"},
             (1, FINAL), (0, FINAL), "§1.6, §8 #61",
             "SBP 88 is not below 86 at 8 years, no bolus yet: fever alone, grade 1"),
    Scenario("DEMO-004", "2026-06-04T16:00", {"temp_c": "39.2", "sbp_mmhg": "82"},
             (2, FINAL), (0, FINAL), "§1.6, CRS-R4, §8 #60",
             "SBP 82 < 86 at 8 years with fever, no vasopressor: grade 2"),
    Scenario("DEMO-004", "2026-06-07T14:00", {"capd_total": "5",
                                              "consciousness": "awakens_spontaneously"},
             (0, FINAL), (1, FINAL), "§2.5, §8 #56",
             "CAPD 1-8, drowsy but waking spontaneously: grade 1"),
    Scenario("DEMO-004", "2026-06-07T18:00", {"capd_total": "7",
                                              "consciousness": "awakens_to_voice"},
             (0, FINAL), (2, FINAL), "§2.5, §8 #57", "CAPD 1-8, waking to voice: grade 2"),
    Scenario("DEMO-004", "2026-06-08T10:00", {"capd_total": "2", "consciousness": "alert"},
             (0, FINAL), (1, FINAL), "§2.5", "CAPD 1-8 with an alert child: grade 1"),
    Scenario("DEMO-004", "2026-06-08T14:00", {"capd_total": "0", "consciousness": "alert"},
             (0, FINAL), (0, FINAL), "§2.5, §8 #58", "CAPD 0, alert: 0"),
    # DEMO-005: a vasopressor and high-flow oxygen
    Scenario("DEMO-005", "2026-07-07T18:00", {"temp_c": "38.9", "sbp_mmhg": "86"},
             (2, FINAL), (0, FINAL), "§1.6, CRS-R4", "fever, SBP 86 < 90 (and a bolus)"),
    Scenario("DEMO-005", "2026-07-07T22:00", {"temp_c": "39.1",
                                              "vasopressors": "norepinephrine"},
             (3, FINAL), (0, FINAL), "CRS-R4", "fever with one vasopressor: grade 3"),
    Scenario("DEMO-005", "2026-07-08T00:00", {"o2_device": "high_flow_nasal_cannula",
                                              "o2_flow_l_min": "40", "fio2_pct": "45"},
             (3, FINAL), (0, FINAL), "§1.4, A2, §8 #12",
             "high-flow nasal cannula 40 L/min is grade 3 whatever the FiO2 (norepinephrine "
             "still running: 3 as well)"),
    Scenario("DEMO-005", "2026-07-08T14:00", {"temp_c": "38.2", "vasopressors": "none",
                                              "o2_device": "nasal_cannula",
                                              "o2_flow_l_min": "4"},
             (2, FINAL), (0, FINAL), "§1.4, CRS-R6",
             "vasopressor off, a 4 L/min cannula (<= 6 L/min): grade 2"),
    Scenario("DEMO-005", "2026-07-08T22:00", {"temp_c": "38.1", "o2_device": "room_air"},
             (1, FINAL), (0, FINAL), "CRS-R6", "room air, normal BP, still febrile: 1"),
    # DEMO-006: exactly 38.0
    Scenario("DEMO-006", "2026-08-04T06:00", {"temp_c": "38.0", "hr_bpm": "104"},
             (1, FINAL), (0, FINAL), "CRS-R1, A1, §8 #1",
             "38.0 °C is fever; the heart rate does not grade"),
    Scenario("DEMO-006", "2026-08-04T10:00", {"temp_c": "37.8"}, (0, FINAL), (0, FINAL),
             "CRS-R3", "afebrile after paracetamol in the open episode, no hypotension or "
             "hypoxia: 0 with the episode open", reason="no qualifying finding now"),
    # DEMO-007: vasopressin is not a second vasopressor; BiPAP
    Scenario("DEMO-007", "2026-08-11T18:00", {"o2_device": "high_flow_nasal_cannula",
                                              "o2_flow_l_min": "40.0", "fio2_pct": "50.0"},
             (3, FINAL), (0, FINAL), "§1.4, A2",
             "high flow at FiO2 50 % is 3, not 4 (with norepinephrine: 3)"),
    Scenario("DEMO-007", "2026-08-11T20:00", {"vasopressors": "norepinephrine;vasopressin"},
             (3, FINAL), (0, FINAL), "CRS-R4, §1.5, §8 #14",
             "norepinephrine with vasopressin is one vasopressor: grade 3"),
    Scenario("DEMO-007", "2026-08-11T22:00",
             {"vasopressors": "norepinephrine;vasopressin;epinephrine"}, (4, FINAL), (0, FINAL),
             "CRS-R4, §8 #15", "norepinephrine and epinephrine together: multiple, grade 4"),
    Scenario("DEMO-007", "2026-08-12T00:00", {"o2_device": "bipap"}, (4, FINAL), (0, FINAL),
             "§1.4, §8 #13", "positive pressure: grade 4"),
    Scenario("DEMO-007", "2026-08-12T06:00", {"temp_c": "37.6"}, (4, FINAL), (0, FINAL),
             "CRS-R3, §8 #19", "afebrile on BiPAP and two pressors after tocilizumab: the "
             "waiver keeps grade 4", reason="fever no longer required"),
    Scenario("DEMO-007", "2026-08-14T10:00", {"o2_device": "room_air"}, (0, FINAL),
             (0, FINAL), "CRS-R3", "off every support, afebrile, episode open: 0"),
    # DEMO-008: a seizure
    Scenario("DEMO-008", "2026-08-21T22:00", {"ice_total": "9", "consciousness": "alert"},
             (0, FINAL), (1, FINAL), "ICANS-R2", "ICE 9: grade 1"),
    Scenario("DEMO-008", "2026-08-22T17:00", {"ice_total": "3", "seizure": "resolved_rapidly"},
             (0, FINAL), (3, FINAL), "§2.3, ICANS-R1, §8 #42",
             "a clinical seizure that resolved rapidly is grade 3 (ICE 3 alone would be 2)"),
    Scenario("DEMO-008", "2026-08-22T21:00", {"ice_total": "3", "seizure": "none",
                                              "consciousness": "awakens_spontaneously"},
             (0, FINAL), (2, FINAL), "ICANS-R2, decision D3",
             "no further seizure recorded: ICE 3 decides, grade 2"),
    # DEMO-009: diffuse oedema and raised pressure, sedation, airway intubation
    Scenario("DEMO-009", "2026-08-28T06:00", {"ice_total": "1",
                                              "consciousness": "awakens_to_touch"},
             (0, FINAL), (3, FINAL), "ICANS-R2, ICANS-R4", "ICE 1, wakes only to touch: 3"),
    Scenario("DEMO-009", "2026-08-28T14:00", {"ice_total": "0", "consciousness": "unarousable",
                                              "cerebral_edema": "diffuse",
                                              "raised_icp_signs": "cushings_triad"},
             (0, FINAL), (4, FINAL), "§2.3, §8 #38",
             "unarousable, diffuse oedema, Cushing's triad: each grade 4"),
    Scenario("DEMO-009", "2026-08-28T16:00", {"o2_device": "mechanical_ventilation",
                                              "sedated": "true",
                                              "attributed_elsewhere": "hypoxia"},
             (0, FINAL), (4, FINAL), "A4, ICANS-R5, §8 #54",
             "ventilated to protect the airway (attributed, so not CRS hypoxia; no fever, "
             "the CRS episode closed: 0); sedated: ICANS from the imaging, still 4",
             flags=frozenset({"attributed", "neuro_not_assessable"})),
    Scenario("DEMO-009", "2026-08-30T14:00", {"ice_total": "2", "cerebral_edema": "focal",
                                              "raised_icp_signs": "none",
                                              "consciousness": "awakens_to_voice"},
             (0, FINAL), (3, FINAL), "§2.3, §8 #49",
             "focal oedema and ICE 2: grade 3; no raised-pressure sign any more"),
    Scenario("DEMO-009", "2026-09-01T14:00", {"ice_total": "7", "cerebral_edema": "none",
                                              "consciousness": "alert"},
             (0, FINAL), (1, FINAL), "ICANS-R2, §8 #33", "oedema gone, ICE 7: grade 1"),
    # DEMO-010: ICANS after the CRS has closed
    Scenario("DEMO-010", "2026-09-15T22:00", {"ice_total": "9", "consciousness": "alert"},
             (0, FINAL), (1, FINAL), "ICANS-R10, §0.3",
             "ICE 9, three days after the last fever: ICANS 1 graded on its own, CRS 0"),
    Scenario("DEMO-010", "2026-09-16T14:00", {"ice_total": "6", "consciousness": "alert"},
             (0, FINAL), (2, FINAL), "ICANS-R2, §8 #34", "ICE 6: grade 2"),
    # DEMO-011: an attributed fever
    *[Scenario("DEMO-011", t, {"attributed_elsewhere": "fever"}, (0, FINAL), (0, FINAL),
               "§0.4, A9", "a fever a physician attributed to the line infection is not a "
               "CRS fever: 0, with the attribution as the reason",
               reason="attributed to another cause", flags=frozenset({"attributed"}))
      for t in ("2026-09-23T14:00", "2026-09-23T15:00", "2026-09-23T16:00",
                "2026-09-23T18:00", "2026-09-24T02:00")],
    # DEMO-012: a fever possibly masked by prophylactic dexamethasone
    Scenario("DEMO-012", "2026-09-23T14:00", {"temp_c": "37.7", "sbp_mmhg": "84"},
             (0, PROVISIONAL), (0, FINAL), "A3, §8 #22",
             "afebrile hypotension (SBP 84 < 90, component 2) after prophylactic "
             "dexamethasone, no CRS yet: 0 provisional, would be 2",
             reason="would be CRS grade 2", flags=frozenset({"fever_possibly_masked"})),
    Scenario("DEMO-012", "2026-09-23T15:00", {"temp_c": "37.8", "fluid_bolus_given": "true"},
             (0, PROVISIONAL), (0, FINAL), "A3, §1.6, decision D6",
             "a fluid bolus for blood pressure, still afebrile: 0 provisional, would be 2",
             reason="would be CRS grade 2", flags=frozenset({"fever_possibly_masked"})),
    Scenario("DEMO-012", "2026-09-23T17:00", {"temp_c": "38.3"}, (2, FINAL), (0, FINAL),
             "CRS-R4, decision D6", "fever with the fluid bolus of 15:00 within 4 h: grade 2"),
    # DEMO-013: a second episode
    Scenario("DEMO-013", "2026-10-05T10:00", {"temp_c": "38.6"}, (1, FINAL), (0, FINAL),
             "CRS-R3b, decision C6", "a fever four days after the first episode closed opens "
             "a new episode: grade 1"),
    Scenario("DEMO-013", "2026-10-05T14:00", {"sbp_mmhg": "86"}, (2, FINAL), (0, FINAL),
             "§1.6, CRS-R4", "fever and SBP 86 < 90: grade 2"),
    # DEMO-014: late CRS, a missed temperature
    Scenario("DEMO-014", "2026-10-12T02:00", {"temp_c": "38.4"}, (1, FINAL), (0, FINAL),
             "CRS-R1", "the first fever, Day 7"),
    Scenario("DEMO-014", "2026-10-12T10:00", {"o2_device": "nasal_cannula",
                                              "o2_flow_l_min": "2.0"},
             (2, FINAL), (0, FINAL), "CRS-R5, §1.4", "fever with a 2 L/min cannula: 2"),
    Scenario("DEMO-014", "2026-10-12T14:00", {"temp_c": "37.6"}, (2, FINAL), (0, FINAL),
             "CRS-R3, §8 #20", "afebrile on the cannula after tocilizumab: still 2",
             reason="fever no longer required"),
    Scenario("DEMO-014", "2026-10-15T10:40", {"temp_c": ""}, (None, NE), (0, FINAL),
             "§0.2, §1.7, §8 #30", "no temperature in the last 4 h (06:00 is 4 h 40 min "
             "before) and no open episode: not evaluable, never 0",
             reason="no temperature in the last 4 h"),
]


def graded(case_id: str) -> dict[str, grading.RowResult]:
    case = CASES[case_id]
    return {r.time.strftime("%Y-%m-%dT%H:%M"): r
            for r in grading.grade(grading.read_csv(case.timeline)).results()}


ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")


def row(case_id: str, time: str) -> dict[str, str]:
    """The CSV row, with ``ice_total`` (spec §2.2: the five items added) when it has an ICE."""
    (hit,) = [r for r in library.csv_rows(CASES[case_id].timeline) if r["time"] == time]
    if all(hit.get(k) for k in ICE_ITEMS):
        hit = {**hit, "ice_total": str(sum(int(hit[k]) for k in ICE_ITEMS))}
    return hit


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: f"{s.case} {s.time} {s.rule}")
def test_each_cases_key_moments_grade_as_the_spec_says(s: Scenario):
    recorded = row(s.case, s.time)
    assert {k: recorded.get(k, "") for k in s.given} == s.given, "the row is not the scenario"
    r = graded(s.case)[s.time]
    assert (r.crs.grade, r.crs.status) == s.crs, f"CRS: {s.rule}: {s.why}"
    assert (r.icans.grade, r.icans.status) == s.icans, f"ICANS: {s.rule}: {s.why}"
    if s.reason:
        texts = [x.finding for x in r.crs.reasons + r.icans.reasons] + [f.message
                                                                          for f in r.flags]
        assert any(s.reason in t for t in texts), s.why
    assert s.flags <= {f.code for f in r.flags}


def test_every_case_has_spec_scenarios():
    assert {s.case for s in SCENARIOS} == set(CASES)


def test_the_biphasic_case_has_two_episodes_and_the_second_is_worse():
    (summary,) = grading.summarize(grading.grade(grading.read_csv(CASES["DEMO-013"].timeline)))
    first, second = summary.crs_episodes  # CRS-R3b: closes after 48 h without findings
    assert (first.max_grade, second.max_grade) == (1, 2)
    assert second.onset - first.resolved > (datetime(2026, 10, 3) - datetime(2026, 10, 1))
