"""An episode resolves at an assessment that shows it resolved (decision S9; issue 15 point 4),
and ``summary`` gives the ICD-10-CM code of each maximum grade (decision S10; point 7).

Resolution is the first assessment after the episode's last active row whose grade is
evaluable, if that grade is 0: never a not-evaluable row (one with only a respiratory rate).
Every summary here is checked against the row-wise reference (``summarize_both``).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from grading import guidance
from grading.summary import Episode, PatientSummary
from tests.grading.helpers import T0, at, ice, normal_adult, summarize_both

REPO = Path(__file__).resolve().parents[2]
RR_ONLY = {"rr_per_min": 18}  # a row that makes neither grade evaluable


def only(hours: float, **values: object) -> dict[str, object]:
    return {"patient_id": "P1", "time": at(hours), **values}


def when(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat() + "+00:00"


# ----------------------------------------------------------------------------- CRS
# rows after a fever at 0 h (CRS 1), and where the episode resolves (None: not shown)
CRS_COURSES = [
    ("the next row is normal", [normal_adult(time=at(10)), only(60, **RR_ONLY)], 10, 10.0),
    ("a respiratory rate only, then a normal row",
     [only(10, **RR_ONLY), normal_adult(time=at(20)), only(60, **RR_ONLY)], 20, 20.0),
    ("respiratory rates only past the 48 h, then a normal row",
     [only(10, **RR_ONLY), only(50, **RR_ONLY), normal_adult(time=at(52))], 52, 52.0),
    ("respiratory rates only, then a new fever: never shown resolved",
     [only(10, **RR_ONLY), only(50, **RR_ONLY), normal_adult(time=at(52), temp_c=38.5)],
     None, None),
]


@pytest.mark.parametrize(("course", "later", "resolved", "hours"), CRS_COURSES,
                         ids=[c[0] for c in CRS_COURSES])
def test_a_crs_episode_resolves_at_the_first_evaluable_grade_0_after_it(course, later,
                                                                       resolved, hours):
    (s,) = summarize_both([normal_adult(time=at(0), temp_c=38.4), *later])
    first = s.crs_episodes[0]
    assert first.closed
    assert first.resolved == (None if resolved is None else T0.replace(
        tzinfo=first.onset.tzinfo) + timedelta(hours=resolved))
    assert first.duration_hours == hours
    assert s.time_to_resolution_hours("crs") == (hours if len(s.crs_episodes) == 1 else None)


def test_an_episode_still_open_at_the_last_row_has_no_resolution_and_is_not_closed():
    (s,) = summarize_both([normal_adult(time=at(0), temp_c=38.4), normal_adult(time=at(10))])
    (e,) = s.crs_episodes
    assert (e.resolved, e.duration_hours, e.closed) == (None, None, False)


# ----------------------------------------------------------------------------- ICANS
NEURO_ONLY = {"age_years": 45}  # ICANS rows without seizure, motor or imaging records


def neuro(hours: float, **values: object) -> dict[str, object]:
    return only(hours, **NEURO_ONLY, **values)


ICANS_COURSES = [
    ("the next neuro check is normal",
     [neuro(4, **ice(10), consciousness="alert"), neuro(60, **RR_ONLY)], 4),
    ("a respiratory rate only 13 h later (ICANS not evaluable), then a normal check",
     [neuro(13, **RR_ONLY), neuro(20, **ice(10), consciousness="alert"), neuro(70, **RR_ONLY)],
     20),
    ("a respiratory rate only, then ICE 9 again 60 h later: a new episode, no resolution",
     [neuro(13, **RR_ONLY), neuro(60, **ice(9), consciousness="alert")], None),
]


@pytest.mark.parametrize(("course", "later", "resolved"), ICANS_COURSES,
                         ids=[c[0] for c in ICANS_COURSES])
def test_an_icans_episode_resolves_at_the_first_evaluable_grade_0_after_it(course, later,
                                                                         resolved):
    (s,) = summarize_both([neuro(0, **ice(8), consciousness="alert"), *later])
    first = s.icans_episodes[0]
    assert first.closed
    assert (None if first.resolved is None else first.resolved.isoformat()) == (
        None if resolved is None else when(resolved))
    assert first.duration_hours == resolved


def test_the_csv_summary_says_when_a_closed_episodes_resolution_is_not_documented(tmp_path):
    rows = [normal_adult(time=at(0), temp_c=38.4), only(10, **RR_ONLY), only(50, **RR_ONLY),
            normal_adult(time=at(52), temp_c=38.5)]
    text = _cli(tmp_path, rows, "csv")
    (record,) = list(csv.DictReader(io.StringIO(text)))
    first, second = record["crs_episodes"].split("; ")
    assert "to resolution not documented" in first and "(D89.831)" in first
    assert "to ongoing" in second


# ----------------------------------------------------------------------------- ICD-10-CM
CODES = [("crs", g, f"D89.83{g}") for g in range(1, 6)] + [
    ("icans", g, f"G92.0{g}") for g in range(1, 6)] + [
    ("crs", 0, None), ("icans", 0, None), ("crs", None, None), ("icans", None, None)]


@pytest.mark.parametrize(("syndrome", "grade", "code"), CODES)
def test_the_maximum_grade_gives_its_icd10_cm_code(syndrome, grade, code):
    assert guidance.icd10(syndrome, grade) == code


@pytest.mark.parametrize(("syndrome", "code"), [("crs", "D89.839"), ("icans", "G92.00")])
def test_an_episode_whose_grade_is_not_known_gives_the_unspecified_code(syndrome, code):
    assert guidance.icd10(syndrome, None, present=True) == code
    assert guidance.icd10(syndrome, None, present=False) is None
    episode = Episode(syndrome, T0, 0, 1, T0, 0, None, None)
    s = PatientSummary("P1", None, None, (episode,) if syndrome == "crs" else (),
                       (episode,) if syndrome == "icans" else (), ())
    assert s.as_dict()[f"{syndrome}_icd10"] == code


def _cli(tmp_path: Path, rows: list[dict[str, object]], fmt: str) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    path = tmp_path / "course.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows([["" if r.get(c) is None else r[c] for c in columns] for r in rows])
    run = subprocess.run([sys.executable, "-m", "grading", "summary", str(path), "--format",
                          fmt], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_summary_gives_the_icd10_cm_code_of_each_maximum_grade(tmp_path):
    rows = [normal_adult(time=at(0), temp_c=38.4, o2_device="nasal_cannula", o2_flow_l_min=2),
            normal_adult(time=at(6), **ice(2)),
            normal_adult(patient_id="P2", time=at(0))]
    out = {d["patient_id"]: d for d in json.loads(_cli(tmp_path, rows, "json"))}
    assert (out["P1"]["crs_max_grade"], out["P1"]["crs_icd10"]) == (2, "D89.832")
    assert (out["P1"]["icans_max_grade"], out["P1"]["icans_icd10"]) == (3, "G92.03")
    assert [e["icd10"] for e in out["P1"]["crs_episodes"]] == ["D89.832"]
    assert (out["P2"]["crs_icd10"], out["P2"]["icans_icd10"]) == (None, None)
    # the design.md fields are all still there, the codes added
    for name in ("crs_max_grade", "crs_onset", "crs_onset_day", "crs_resolved",
                 "crs_time_to_resolution_hours", "icans_max_grade", "daily_max"):
        assert name in out["P1"]
    header = next(csv.reader(io.StringIO(_cli(tmp_path, rows, "csv"))))
    assert header[-2:] == ["crs_icd10", "icans_icd10"]
