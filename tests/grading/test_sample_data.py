"""The demo cases in sample_data/ grade exactly as sample_data/README.md says.

Each case of the standard demo ward is read with ``grading.read_csv`` (ward time zone UTC),
graded and summarised; the maximum grades, episodes (onset, maximum, resolution) and daily maxima
must equal the README's claims. Every case file in the library must also grade the same through
the fast path and the row-wise reference (``grade_both``), start with a pre-infusion
baseline, and be accepted by ``python -m grading summary`` with the maxima its case card states
(each card's other claims: tests/monitoring/test_library.py).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import grading
from tests.grading.helpers import grade_both, rules_of

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_data"


@dataclass(frozen=True)
class ExpectedEpisode:
    onset: str                 # ward local time (UTC here)
    onset_day: int
    max_grade: int
    max_grade_time: str
    max_grade_day: int
    resolved: str | None
    duration_hours: float | None


@dataclass(frozen=True)
class ExpectedCase:
    file: str
    patient_id: str
    rows: int
    crs_max: int
    icans_max: int
    crs_episodes: tuple[ExpectedEpisode, ...]
    icans_episodes: tuple[ExpectedEpisode, ...]
    daily_max: tuple[tuple[int, int, int], ...]    # (day, CRS max, ICANS max)


def _days(first: int, last: int, crs: int, icans: int) -> tuple[tuple[int, int, int], ...]:
    return tuple((d, crs, icans) for d in range(first, last + 1))


# The claims of sample_data/README.md, one entry per case.
CASES = {
    "uneventful": ExpectedCase(
        "uneventful.csv", "DEMO-001", 65, crs_max=0, icans_max=0,
        crs_episodes=(), icans_episodes=(), daily_max=_days(0, 10, 0, 0)),
    "grade2_crs_tocilizumab": ExpectedCase(
        "grade2_crs_tocilizumab.csv", "DEMO-002", 71, crs_max=2, icans_max=0,
        crs_episodes=(ExpectedEpisode("2026-04-07T18:00", 1, 2, "2026-04-08T03:00", 2,
                                      "2026-04-08T14:00", 20.0),),
        icans_episodes=(),
        daily_max=((0, 0, 0), (1, 1, 0), (2, 2, 0)) + _days(3, 10, 0, 0)),
    "grade3_icans": ExpectedCase(
        "grade3_icans.csv", "DEMO-003", 80, crs_max=1, icans_max=3,
        crs_episodes=(ExpectedEpisode("2026-05-12T18:00", 1, 1, "2026-05-12T18:00", 1,
                                      "2026-05-13T04:00", 10.0),),
        icans_episodes=(ExpectedEpisode("2026-05-16T10:00", 5, 3, "2026-05-17T02:00", 6,
                                        "2026-05-19T06:00", 68.0),),
        daily_max=((0, 0, 0), (1, 1, 0), (2, 1, 0), (3, 0, 0), (4, 0, 0), (5, 0, 2), (6, 0, 3),
                   (7, 0, 1), (8, 0, 1)) + _days(9, 12, 0, 0)),
    "child_crs2_icans2_capd": ExpectedCase(
        "child_crs2_icans2_capd.csv", "DEMO-004", 81, crs_max=2, icans_max=2,
        crs_episodes=(ExpectedEpisode("2026-06-04T10:00", 3, 2, "2026-06-04T16:00", 3,
                                      "2026-06-04T22:00", 12.0),),
        icans_episodes=(ExpectedEpisode("2026-06-07T14:00", 6, 2, "2026-06-07T18:00", 6,
                                        "2026-06-08T14:00", 24.0),),
        daily_max=_days(0, 2, 0, 0) + ((3, 2, 0), (4, 0, 0), (5, 0, 0), (6, 0, 2), (7, 0, 2))
        + _days(8, 12, 0, 0)),
    "grade3_crs_icu": ExpectedCase(
        "grade3_crs_icu.csv", "DEMO-005", 51, crs_max=3, icans_max=0,
        crs_episodes=(ExpectedEpisode("2026-07-07T14:00", 1, 3, "2026-07-07T22:00", 1,
                                      "2026-07-09T02:00", 36.0),),
        icans_episodes=(),
        daily_max=((0, 0, 0), (1, 3, 0), (2, 3, 0)) + _days(3, 7, 0, 0)),
}
ALL_FILES = sorted(p.name for p in SAMPLES.glob("*.csv"))  # the whole case library


def card_of(file: str) -> dict:
    return json.loads((SAMPLES / file.replace(".csv", ".card.json")).read_text())


def utc(local: str) -> datetime:
    """A README time (naive, ward local time) as the engine reports it with the UTC ward zone."""
    return datetime.fromisoformat(local).replace(tzinfo=UTC)


def graded(file: str) -> grading.GradedTimeline:
    return grading.grade(grading.read_csv(SAMPLES / file))


def results(file: str) -> list[grading.RowResult]:
    return list(graded(file).results())


def summary(file: str) -> grading.PatientSummary:
    (only,) = grading.summarize(graded(file))
    return only


def raw_rows(file: str) -> list[dict[str, str]]:
    """The CSV rows with their blank cells dropped (blank = not recorded)."""
    with open(SAMPLES / file, newline="") as f:
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def at(rs: list[grading.RowResult], local: str) -> grading.RowResult:
    (hit,) = [r for r in rs if r.time == utc(local)]
    return hit


def raw_at(file: str, local: str) -> dict[str, str]:
    (hit,) = [r for r in raw_rows(file) if r["time"] == local]
    return hit


def assert_episodes(got: tuple[grading.Episode, ...],
                    expected: tuple[ExpectedEpisode, ...]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.onset == utc(e.onset)
        assert g.onset_day == e.onset_day
        assert g.max_grade == e.max_grade
        assert g.max_grade_time == utc(e.max_grade_time)
        assert g.max_grade_day == e.max_grade_day
        assert g.resolved == (None if e.resolved is None else utc(e.resolved))
        assert g.duration_hours == e.duration_hours


# ------------------------------------------------------------------- every case, same checks
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_has_the_maximum_grades_the_readme_states(name):
    case = CASES[name]
    s = summary(case.file)
    assert s.patient_id == case.patient_id
    assert (s.crs_max_grade, s.icans_max_grade) == (case.crs_max, case.icans_max)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_has_the_crs_episodes_the_readme_states(name):
    case = CASES[name]
    assert_episodes(summary(case.file).crs_episodes, case.crs_episodes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_has_the_icans_episodes_the_readme_states(name):
    case = CASES[name]
    assert_episodes(summary(case.file).icans_episodes, case.icans_episodes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_has_the_daily_maxima_the_readme_states(name):
    case = CASES[name]
    assert summary(case.file).daily_max == case.daily_max


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_row_of_each_case_is_final_without_review_flags(name):
    case = CASES[name]
    rs = results(case.file)
    assert len(rs) == case.rows
    assert {(r.crs.status, r.icans.status) for r in rs} == {("final", "final")}
    assert [r for r in rs if r.flags] == []


@pytest.mark.parametrize("file", ALL_FILES)
def test_every_row_grades_the_same_through_both_paths(file):
    rows = raw_rows(file)
    both = grade_both(rows)
    from_csv = results(file)
    assert [(r.crs, r.icans) for r in both] == [(r.crs, r.icans) for r in from_csv]


@pytest.mark.parametrize("file", ALL_FILES)
def test_every_case_has_a_pre_infusion_baseline_with_ice_10_or_capd_0_alert(file):
    first = raw_rows(file)[0]
    assert datetime.fromisoformat(first["time"]) < datetime.fromisoformat(first["infusion_time"])
    assert first["consciousness"] == "alert"
    assert (first["o2_device"], first["vasopressors"]) == ("room_air", "none")
    if "capd_total" in first:
        assert first["capd_total"] == "0"
    else:
        assert sum(int(first[k]) for k in ("ice_orientation", "ice_naming", "ice_commands",
                                           "ice_writing", "ice_attention")) == 10
    (r,) = [r for r in results(file) if r.row == 1]
    assert (r.day_post_infusion, r.crs.grade, r.icans.grade) == (0, 0, 0)


@pytest.mark.parametrize("file", ALL_FILES)
def test_the_cli_summarises_every_case(file):
    done = subprocess.run([sys.executable, "-m", "grading", "summary", f"sample_data/{file}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (out,) = json.loads(done.stdout)
    card = card_of(file)
    assert (out["patient_id"], out["crs_max_grade"], out["icans_max_grade"]) == (
        card["id"], card["expected"]["crs_max"], card["expected"]["icans_max"])


# ------------------------------------------------------------------------------ uneventful
def test_uneventful_37_9_degrees_is_not_fever():
    r = at(results("uneventful.csv"), "2026-03-07T18:00")
    assert raw_at("uneventful.csv", "2026-03-07T18:00")["temp_c"] == "37.9"
    assert (r.crs.grade, r.crs.status) == (0, "final")
    assert rules_of(r.crs) == ["CRS-R1", "CRS-R2"]
    assert r.crs_episode_max is None


# ------------------------------------------------------------------ grade 2 CRS, tocilizumab
GRADE2 = "grade2_crs_tocilizumab.csv"


def test_first_fever_on_day_1_is_crs_1():
    r = at(results(GRADE2), "2026-04-07T18:00")
    assert (r.day_post_infusion, r.crs.grade, r.crs.status) == (1, 1, "final")


def test_afebrile_after_paracetamol_without_findings_is_0_with_the_episode_open():
    r = at(results(GRADE2), "2026-04-07T20:00")
    assert (r.crs.grade, r.crs_episode_max) == (0, 1)
    assert "CRS-R3" in rules_of(r.crs)


def test_the_row_where_tocilizumab_is_given_is_crs_2():
    raw = raw_at(GRADE2, "2026-04-08T03:00")
    assert (raw["tocilizumab_given"], raw["antipyretic_given"], raw["fluid_bolus_given"]) == (
        "true", "true", "true")
    assert (raw["sbp_mmhg"], raw["o2_device"], raw["o2_flow_l_min"]) == (
        "86", "nasal_cannula", "2.0")
    r = at(results(GRADE2), "2026-04-08T03:00")
    assert (r.crs.grade, r.crs.status) == (2, "final")
    assert {"CRS-R4", "CRS-R5"} <= set(rules_of(r.crs))


@pytest.mark.parametrize("local", ["2026-04-08T08:00", "2026-04-08T10:00", "2026-04-08T12:00"])
def test_afebrile_on_nasal_cannula_after_tocilizumab_stays_2_under_the_fever_waiver(local):
    raw = raw_at(GRADE2, local)
    assert float(raw["temp_c"]) < 38.0
    r = at(results(GRADE2), local)
    assert (r.crs.grade, r.crs.status) == (2, "final")
    assert "CRS-R3" in rules_of(r.crs)
    assert "CRS-R5" in rules_of(r.crs)          # the nasal cannula sets the grade
    assert "CRS-R4" not in rules_of(r.crs)      # the bolus is more than 4 h ago


def test_room_air_and_normal_bp_is_0_while_the_episode_is_open():
    r = at(results(GRADE2), "2026-04-08T14:00")
    assert raw_at(GRADE2, "2026-04-08T14:00")["o2_device"] == "room_air"
    assert (r.crs.grade, r.crs.status, r.crs_episode_max) == (0, "final", 2)
    assert "episode open, no qualifying finding now" in r.crs.reasons[-1].finding


def test_more_than_48_h_after_the_last_finding_the_episode_is_closed():
    rs = results(GRADE2)
    assert at(rs, "2026-04-10T10:00").crs_episode_max == 2   # 46 h after Day 2 12:00
    assert at(rs, "2026-04-10T14:00").crs_episode_max is None  # 50 h after
    assert rules_of(at(rs, "2026-04-10T14:00").crs) == ["CRS-R1", "CRS-R2"]


def test_grade2_case_never_has_icans():
    assert {r.icans.grade for r in results(GRADE2)} == {0}


# ---------------------------------------------------------------------------- grade 3 ICANS
ICANS3 = "grade3_icans.csv"


def test_fever_alone_on_day_1_and_2_is_crs_1():
    rs = results(ICANS3)
    febrile = [r for r in rs if r.crs.grade == 1]
    assert [r.time for r in febrile] == [utc("2026-05-12T18:00"), utc("2026-05-12T20:00"),
                                         utc("2026-05-13T02:00")]
    assert max(r.crs.grade or 0 for r in rs) == 1


@pytest.mark.parametrize(("local", "ice_total", "consciousness", "grade"), [
    ("2026-05-16T10:00", 8, "alert", 1),
    ("2026-05-16T18:00", 5, "awakens_to_voice", 2),
    ("2026-05-17T02:00", 2, "awakens_to_voice", 3),
    ("2026-05-17T06:00", 3, "awakens_spontaneously", 2),
    ("2026-05-17T18:00", 7, "alert", 1),
    ("2026-05-19T06:00", 10, "alert", 0),
])
def test_icans_follows_the_ice_score_and_consciousness(local, ice_total, consciousness, grade):
    raw = raw_at(ICANS3, local)
    items = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
    assert sum(int(raw[k]) for k in items) == ice_total
    assert raw["consciousness"] == consciousness
    r = at(results(ICANS3), local)
    assert (r.icans.grade, r.icans.status) == (grade, "final")


def test_ice_2_with_a_corticosteroid_is_icans_3():
    raw = raw_at(ICANS3, "2026-05-17T02:00")
    assert raw["corticosteroid_given"] == "true"
    r = at(results(ICANS3), "2026-05-17T02:00")
    assert (r.icans.grade, r.icans_episode_max) == (3, 3)
    assert any(x.rule == "ICANS-R2" and "ICE 2/10" in x.finding for x in r.icans.reasons)


def test_a_vitals_only_row_keeps_the_last_ice_within_12_h():
    r = at(results(ICANS3), "2026-05-19T02:00")
    assert "ice_orientation" not in raw_at(ICANS3, "2026-05-19T02:00")
    assert (r.icans.grade, r.icans.status) == (1, "final")


def test_steroids_for_icans_do_not_make_a_crs_grade():
    rs = results(ICANS3)
    assert {r.crs.grade for r in rs if r.time >= utc("2026-05-16T00:00")} == {0}


# --------------------------------------------------------------------- child, CAPD, tisa-cel
CHILD = "child_crs2_icans2_capd.csv"


def test_exactly_38_0_degrees_in_a_child_is_crs_1():
    assert raw_at(CHILD, "2026-06-04T12:00")["temp_c"] == "38.0"
    assert at(results(CHILD), "2026-06-04T12:00").crs.grade == 1


def test_sbp_88_is_not_hypotension_at_age_8():
    r = at(results(CHILD), "2026-06-04T14:00")
    assert raw_at(CHILD, "2026-06-04T14:00")["sbp_mmhg"] == "88"
    assert (r.crs.grade, r.crs.status) == (1, "final")
    assert "CRS-R4" not in rules_of(r.crs)


def test_sbp_82_with_a_fluid_bolus_at_age_8_is_crs_2():
    r = at(results(CHILD), "2026-06-04T16:00")
    assert (r.crs.grade, r.crs.status) == (2, "final")
    findings = [x.finding for x in r.crs.reasons if x.rule == "CRS-R4"]
    assert any("SBP 82 mmHg < 86" in f for f in findings)
    assert any("fluid bolus" in f for f in findings)


def test_afebrile_within_4_h_of_the_bolus_after_tocilizumab_is_still_2():
    r = at(results(CHILD), "2026-06-04T19:00")
    assert (r.crs.grade, r.crs.status) == (2, "final")
    assert "CRS-R3" in rules_of(r.crs)


@pytest.mark.parametrize(("local", "grade"), [
    ("2026-06-07T14:00", 1),   # CAPD 5, waking spontaneously
    ("2026-06-07T18:00", 2),   # CAPD 7, waking to voice
    ("2026-06-08T10:00", 1),   # CAPD 2, alert
    ("2026-06-08T14:00", 0),   # CAPD 0, alert
])
def test_capd_and_consciousness_set_the_childs_icans_grade(local, grade):
    r = at(results(CHILD), local)
    assert (r.icans.grade, r.icans.status) == (grade, "final")
    assert any(x.rule == "ICANS §2.5" for x in r.icans.reasons)
