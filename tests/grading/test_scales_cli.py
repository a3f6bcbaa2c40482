"""``python -m grading grade --scales ...`` (issue 8 on the design.md contract): without
``--scales`` the output is exactly as before; each scale adds its fields named after it, in JSON
and CSV alike; a bad scale name or a bad scale input is a usage error with nothing on stdout."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from grading.output import GRADE_FIELDS
from grading.scales.engine import SCALE_NAMES
from tests.grading.test_cli import grade_file, line_about, rejected, run

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "sample_data").glob("*.csv"))
HEADER = ("patient_id,time,age_years,temp_c,sbp_mmhg,dbp_mmhg,o2_device,o2_flow_l_min,"
          "vasopressors,norepinephrine_ug_min,transaminitis_ctcae_grade")
COURSE = "\n".join([
    HEADER,
    "P1,2026-03-02T07:00,45,37.0,120,70,room_air,,none,,0",
    "P1,2026-03-02T08:00,,38.6,84,50,nasal_cannula,6,norepinephrine,25,",
    "P1,2026-03-02T11:00,,38.7,88,52,,,,,4",
]) + "\n"


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_without_scales_the_output_is_the_astct_output_byte_for_byte(sample, fmt):
    plain = run("grade", str(sample), "--format", fmt)
    astct = run("grade", str(sample), "--format", fmt, "--scales", "astct")
    assert plain.returncode == astct.returncode == 0, plain.stderr
    assert plain.stdout == astct.stdout
    if fmt == "json":
        assert all(tuple(r) == GRADE_FIELDS for r in json.loads(plain.stdout))
    else:
        assert next(csv.reader(io.StringIO(plain.stdout))) == list(GRADE_FIELDS)


def test_each_scale_adds_its_grade_status_estimate_and_reasons_in_the_order_given(tmp_path):
    out = grade_file(tmp_path, COURSE, "--scales", "penn,astct,lee2014,penn")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    extra = [k for k in rows[0] if k not in GRADE_FIELDS]
    assert extra == ["penn_grade", "penn_status", "penn_estimated", "penn_reasons",
                     "lee2014_grade", "lee2014_status", "lee2014_estimated", "lee2014_reasons"]
    assert [(r["crs_grade"], r["lee2014_grade"], r["penn_grade"]) for r in rows] == [
        (0, 0, 0), (3, 3, 3), (3, 3, 4)]
    assert rows[1]["lee2014_estimated"] is True  # FiO2 45 % from 6 L/min decided grade 3
    assert rows[2]["lee2014_estimated"] is False  # grade 4 transaminitis gives 3 anyway
    assert {"rule", "finding", "time"} == set(rows[2]["penn_reasons"][0])


def test_csv_carries_the_same_scale_fields_with_reasons_joined(tmp_path):
    names = ",".join(SCALE_NAMES)
    as_json = json.loads(grade_file(tmp_path, COURSE, "--scales", names).stdout)
    out = grade_file(tmp_path, COURSE, "--scales", names, "--format", "csv")
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(table[0]) == list(as_json[0])
    for j, c in zip(as_json, table):
        for name in SCALE_NAMES[1:]:
            assert c[f"{name}_grade"] == ("" if j[f"{name}_grade"] is None
                                          else str(j[f"{name}_grade"]))
            assert c[f"{name}_status"] == j[f"{name}_status"]
            assert c[f"{name}_estimated"] == str(j[f"{name}_estimated"]).lower()
            assert c[f"{name}_reasons"].count("; ") >= len(j[f"{name}_reasons"]) - 1


@pytest.mark.parametrize("names", ["lee2014,bogus", "LEE", "", "astct,,penn"])
def test_an_unknown_scale_name_is_a_usage_error_listing_the_allowed_names(tmp_path, names):
    lines = rejected(grade_file(tmp_path, COURSE, "--scales", names))
    assert any("--scales" in line and "allowed: " + ", ".join(SCALE_NAMES) in line
               for line in lines), lines


def test_scales_are_a_grade_option_only(tmp_path):
    lines = rejected(run("summary", str(SAMPLES[0]), "--scales", "lee2014"))
    assert any("--scales" in line for line in lines)


def test_a_bad_scale_input_is_named_like_any_bad_cell_and_nothing_is_graded(tmp_path):
    content = "\n".join([
        "patient_id,time,vasopressors,norepinephrine_ug_min,dopamine_ug_kg_min,seizure,"
        "seizure_type,transaminitis_ctcae_grade",
        "P1,2026-03-02T08:00,norepinephrine,12,3,none,focal,5",
        "P1,2026-03-02T09:00,none,0,,,,",
    ]) + "\n"
    lines = rejected(grade_file(tmp_path, content, "--scales", "lee2014"))
    assert "vasopressors" in line_about(lines, 1, "dopamine_ug_kg_min", "3")
    assert "seizure" in line_about(lines, 1, "seizure_type", "focal")
    assert "0 to 4" in line_about(lines, 1, "transaminitis_ctcae_grade", "5")
    assert "stopped" in line_about(lines, 2, "norepinephrine_ug_min", "0")
    assert len(lines) == 4
