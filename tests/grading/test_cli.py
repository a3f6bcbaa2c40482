"""``python -m grading`` against real files (design.md, "The grading command").

Bad input: exit status 2, nothing on stdout, every problem on stderr, one line each, naming the
row, the column, the value and what is allowed. Good input: one result per row, in input order.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GRADE_FIELDS = {"patient_id", "time", "day_post_infusion", "crs_grade", "crs_status",
                "crs_reasons", "icans_grade", "icans_status", "icans_reasons", "flags"}
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{2}:\d{2}$")
NORMAL = ("temp_c,sbp_mmhg,dbp_mmhg,o2_device,vasopressors,ice_orientation,ice_naming,"
          "ice_commands,ice_writing,ice_attention,consciousness")


# ------------------------------------------------------------------------------ helpers
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grading", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def write(tmp_path: Path, content: str | bytes, name: str = "assessments.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def grade_file(tmp_path: Path, content: str | bytes,
               *options: str) -> subprocess.CompletedProcess[str]:
    return run("grade", str(write(tmp_path, content)), *options)


def rejected(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Asserts the bad-input contract and returns the stderr lines."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == "", "no partial output on bad input"
    lines = result.stderr.splitlines()
    assert lines and all(line.strip() for line in lines), result.stderr
    return lines


def _same_value(shown: str, written: str) -> bool:
    """The message shows the cell's value: as written, or the same number or the same time."""
    if shown.strip() == written.strip():
        return True
    try:
        return float(shown) == float(written)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(shown) == datetime.fromisoformat(written)
    except ValueError:
        return False


def line_about(lines: list[str], row: int, column: str, value: str | None = None,
               allowed: str | None = None) -> str:
    """The one stderr line naming ``row`` and ``column`` (and the value, and what is allowed)."""
    hits = [line for line in lines
            if re.search(rf"\brow {row}\b", line) and re.search(rf"\b{column}\b", line)]
    assert len(hits) == 1, f"expected one line about row {row}, {column}: {lines}"
    line = hits[0]
    if value is not None:
        shown = re.findall(r"value '([^']*)'", line)
        assert shown and _same_value(shown[0], value), f"value {value!r} not named: {line}"
    if allowed is not None:
        assert allowed in line, f"{allowed!r} not in: {line}"
    return line


def graded_json(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert isinstance(out, list)
    return out


def csv_text(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


# ------------------------------------------------------------------------------ bad input
def test_an_unknown_column_is_named_with_the_canonical_columns(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c,temperature",
                                                   "P1,2026-03-02T08:00,37.0,37.0")))
    assert len(lines) == 1
    assert "temperature" in lines[0] and "unknown column" in lines[0]
    assert "temp_c" in lines[0] and "patient_id" in lines[0]  # what is allowed


def test_a_temperature_above_the_hard_limit_is_rejected_with_the_range(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T08:00,46.0")))
    line = line_about(lines, 1, "temp_c", "46.0", allowed="25 to 45")
    assert "°F" not in line


def test_a_temperature_that_looks_like_fahrenheit_gets_a_hint(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T08:00,37.2",
                                                   "P1,2026-03-02T12:00,101.2")))
    line = line_about(lines, 2, "temp_c", "101.2", allowed="25 to 45")
    assert "°F" in line
    assert len(lines) == 1


def test_an_unknown_oxygen_device_lists_the_devices(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,o2_device",
                                                   "P1,2026-03-02T08:00,oxygen")))
    line = line_about(lines, 1, "o2_device", "oxygen")
    for device in ("room_air", "nasal_cannula", "bipap", "mechanical_ventilation"):
        assert device in line


def test_a_boolean_that_is_not_yes_or_no_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,tocilizumab_given",
                                                   "P1,2026-03-02T08:00,true",
                                                   "P1,2026-03-02T09:00,maybe")))
    line_about(lines, 2, "tocilizumab_given", "maybe", allowed="true/false")
    assert len(lines) == 1


def test_an_ice_score_with_only_three_items_is_rejected_naming_the_missing_ones(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text(
        "patient_id,time,ice_orientation,ice_naming,ice_commands",
        "P1,2026-03-02T08:00,4,3,1")))
    assert len(lines) == 1
    line = lines[0]
    assert re.search(r"\brow 1\b", line) and "ice_" in line
    assert "ice_writing" in line and "ice_attention" in line and "all five" in line


def test_ice_and_capd_on_the_same_row_are_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text(
        "patient_id,time,ice_orientation,ice_naming,ice_commands,ice_writing,ice_attention,"
        "capd_total", "P1,2026-03-02T08:00,4,3,1,1,1,5")))
    line = line_about(lines, 1, "capd_total", "5")
    assert "ICE" in line and "never both" in line
    assert len(lines) == 1


@pytest.mark.parametrize("bad_time", ["2026-13-01T08:00", "yesterday", "2926-03-02T08:00",
                                      "2926-03-02T08:00Z", "1026-03-02T08:00"])
def test_a_malformed_time_is_one_problem_on_one_line(tmp_path, bad_time):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T08:00,37.0",
                                                   f"P1,{bad_time},37.0")))
    line_about(lines, 2, "time", bad_time, allowed="ISO 8601")
    assert len(lines) == 1, lines


def test_two_assessments_of_one_patient_at_the_same_time_are_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T08:00,37.0",
                                                   "P2,2026-03-02T08:00,37.0",
                                                   "P1,2026-03-02T08:00,38.2")))
    line = line_about(lines, 3, "time", "2026-03-02T08:00")
    assert "duplicate" in line and re.search(r"\brow 1\b", line)
    assert len(lines) == 1  # the same time for another patient is fine


def test_the_same_instant_written_with_two_offsets_is_a_duplicate(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T09:00+01:00,37.0",
                                                   "P1,2026-03-02T08:00Z,38.2")))
    assert "duplicate" in line_about(lines, 2, "time", "2026-03-02T08:00Z")


def test_an_empty_file_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, b""))
    assert len(lines) == 1 and "empty" in lines[0]
    assert "patient_id" in lines[0] and "time" in lines[0]  # what is expected


def test_a_file_with_only_a_header_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, "patient_id,time,temp_c\n"))
    assert len(lines) == 1 and "no assessment rows" in lines[0]


@pytest.mark.parametrize("where", ["patient_id", "o2_device"])
def test_bytes_that_are_not_utf8_are_rejected(tmp_path, where):
    header = b"patient_id,time,o2_device\n"
    row = (b"P\xff\xfe1,2026-03-02T08:00,room_air\n" if where == "patient_id"
           else b"P1,2026-03-02T08:00,room\xff\xfeair\n")
    lines = rejected(grade_file(tmp_path, header + b"P1,2026-03-02T07:00,room_air\n" + row))
    assert len(lines) == 1
    assert "UTF-8" in lines[0]
    assert re.search(r"\b(line 3|row 2)\b", lines[0]), lines[0]  # where it is


def test_bytes_that_are_not_utf8_deep_in_a_large_file_are_rejected(tmp_path):
    rows = [f"P1,2026-03-{1 + i // 144:02d}T{i % 144 // 6:02d}:{i % 6 * 10:02d},37.0".encode()
            for i in range(4000)]
    rows[3500] = rows[3500].replace(b"37.0", b"3\xff7.0")  # past the first 64 KiB
    data = b"patient_id,time,temp_c\n" + b"\n".join(rows) + b"\n"
    assert data.index(b"\xff") > 65536
    lines = rejected(grade_file(tmp_path, data))
    assert len(lines) == 1 and "UTF-8" in lines[0]
    assert re.search(r"\b(line 3502|row 3501)\b", lines[0]), lines[0]


def test_every_problem_in_a_file_is_listed_one_line_each(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text(
        "patient_id,time,temp_c,o2_device,tocilizumab_given",
        "P1,2026-03-02T08:00,46.0,room_air,false",
        "P1,2026-03-02T09:00,37.0,oxygen,false",
        "P1,2026-03-02T10:00,37.0,room_air,maybe",
        "P1,2026-03-02T11:00,37.0,room_air,false")))
    assert len(lines) == 3, lines
    line_about(lines, 1, "temp_c", "46.0", allowed="25 to 45")
    line_about(lines, 2, "o2_device", "oxygen", allowed="room_air")
    line_about(lines, 3, "tocilizumab_given", "maybe", allowed="true/false")


def test_problems_of_different_kinds_are_all_listed(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text(
        "patient_id,time,temp_c,sbp_mmhg,dbp_mmhg",
        "P1,yesterday,37.0,120,70",
        "P1,2026-03-02T09:00,101.2,120,70",
        "P1,2026-03-02T10:00,37.0,80,95")))
    assert len(lines) == 3, lines
    line_about(lines, 1, "time", "yesterday")
    line_about(lines, 2, "temp_c", "101.2")
    line_about(lines, 3, "dbp_mmhg", "95")


def test_a_file_without_a_time_column_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,temp_c", "P1,37.0")))
    assert len(lines) == 1
    assert re.search(r"\btime\b", lines[0]) and "required" in lines[0]


def test_a_missing_file_is_rejected_naming_it(tmp_path):
    missing = tmp_path / "no_such_file.csv"
    lines = rejected(run("grade", str(missing)))
    assert any("no_such_file.csv" in line for line in lines)


def test_an_unknown_time_zone_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time", "P1,2026-03-02T08:00"),
                                "--tz", "Mars/Olympus_Mons"))
    assert "Mars/Olympus_Mons" in lines[0]


def test_a_naive_time_in_the_spring_forward_gap_is_rejected(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-29T00:30,37.0",
                                                   "P1,2026-03-29T01:30,37.0",
                                                   "P1,2026-03-29T02:30,37.0"),
                                "--tz", "Europe/London"))
    line = line_about(lines, 2, "time", "2026-03-29T01:30")
    assert "clock change" in line and "Europe/London" in line
    assert len(lines) == 1, lines


def test_the_same_time_with_an_offset_is_accepted_across_the_clock_change(tmp_path):
    out = graded_json(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                    "P1,2026-03-29T01:30+00:00,37.0"),
                                 "--tz", "Europe/London"))
    assert out[0]["time"] == "2026-03-29T02:30:00+01:00"


# ------------------------------------------------------------------------------ good input
TIMELINE = csv_text(
    "patient_id,time,infusion_time,age_years," + NORMAL,
    # P2 first, rows not in time order: the output keeps the file's order
    "P2,2026-03-02T10:00,2026-03-01T09:00,60,37.1,118,72,room_air,none,4,3,1,1,1,alert",
    "P1,2026-03-02T14:00,2026-03-01T10:00,45,38.6,84,50,nasal_cannula,none,4,3,1,1,1,alert",
    "P1,2026-03-02T08:00,2026-03-01T10:00,45,37.0,120,70,room_air,none,4,3,1,1,1,alert",
    "P2,2026-03-02T06:00,2026-03-01T09:00,60,37.0,121,71,room_air,none,4,2,1,1,1,alert",
)


def test_grade_json_is_one_object_per_row_in_input_order(tmp_path):
    out = graded_json(grade_file(tmp_path, TIMELINE, "--format", "json"))
    assert [(r["patient_id"], r["time"]) for r in out] == [
        ("P2", "2026-03-02T10:00:00+00:00"), ("P1", "2026-03-02T14:00:00+00:00"),
        ("P1", "2026-03-02T08:00:00+00:00"), ("P2", "2026-03-02T06:00:00+00:00")]
    for r in out:
        assert r.keys() >= GRADE_FIELDS
        assert ISO_WITH_OFFSET.match(str(r["time"])), r["time"]
        assert r["day_post_infusion"] == 1
        for name in ("crs", "icans"):
            assert r[f"{name}_status"] in ("final", "provisional", "not_evaluable")
            assert (r[f"{name}_grade"] is None) == (r[f"{name}_status"] == "not_evaluable")
            reasons = r[f"{name}_reasons"]
            assert isinstance(reasons, list)
            for reason in reasons:
                assert reason.keys() == {"rule", "finding", "time"}
                assert ISO_WITH_OFFSET.match(reason["time"]), reason
        assert isinstance(r["flags"], list)
        assert all({"code", "severity", "message"} <= f.keys() for f in r["flags"])
    fever = out[1]  # 38.6 °C, SBP 84 without a vasopressor, low-flow oxygen: grade 2
    assert (fever["crs_grade"], fever["crs_status"]) == (2, "provisional")  # flow not given
    assert {x["rule"] for x in fever["crs_reasons"]} >= {"CRS-R1", "CRS-R4", "CRS-R5"}
    assert (out[2]["crs_grade"], out[2]["icans_grade"]) == (0, 0)
    assert out[3]["icans_grade"] == 1  # ICE 9


def test_json_is_the_default_format(tmp_path):
    assert graded_json(grade_file(tmp_path, TIMELINE)) == graded_json(
        grade_file(tmp_path, TIMELINE, "--format", "json"))


def test_grade_csv_has_the_same_fields_with_lists_joined_by_semicolons(tmp_path):
    path = write(tmp_path, TIMELINE)
    as_json = graded_json(run("grade", str(path), "--format", "json"))
    result = run("grade", str(path), "--format", "csv")
    assert result.returncode == 0 and result.stderr == ""
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert set(reader.fieldnames or ()) == set(as_json[0].keys())
    rows = list(reader)
    assert len(rows) == len(as_json)
    for r, j in zip(rows, as_json):
        for name in ("patient_id", "time", "day_post_infusion", "crs_grade", "crs_status",
                     "icans_grade", "icans_status"):
            assert r[name] == ("" if j[name] is None else str(j[name])), name
        for name in ("crs_reasons", "icans_reasons"):
            items = j[name]
            assert isinstance(items, list)
            if not items:
                assert r[name] == ""
                continue
            at = 0
            for item in items:  # every item, in order
                at = r[name].find(f"{item['rule']}: {item['finding']}", at)
                assert at >= 0, (item, r[name])
            # the separator never occurs inside an item, so the list splits back exactly
            assert len(r[name].split("; ")) == len(items)
        codes = [f["code"] for f in j["flags"]]
        for code in codes:
            assert code in r["flags"]
        assert len(r["flags"].split("; ")) == len(codes) or not codes
        assert (r["flags"] == "") == (not codes)
    assert "; " in rows[1]["crs_reasons"]  # several reasons on the fever row


def test_ward_time_zone_reads_naive_times_as_local(tmp_path):
    out = graded_json(grade_file(tmp_path, csv_text("patient_id,time,infusion_time,temp_c",
                                                    "P1,2026-07-01T12:00,2026-07-01T09:00,37.0"),
                                 "--tz", "Europe/London"))
    assert out[0]["time"] == "2026-07-01T12:00:00+01:00"
    assert out[0]["day_post_infusion"] == 0


def test_day_after_infusion_counts_calendar_days_in_the_ward_zone(tmp_path):
    out = graded_json(grade_file(tmp_path, csv_text("patient_id,time,infusion_time,temp_c",
                                                    "P1,2026-07-02T00:30,2026-07-01T23:30,37.0"),
                                 "--tz", "Europe/London"))
    assert out[0]["time"] == "2026-07-02T00:30:00+01:00"
    assert out[0]["day_post_infusion"] == 1  # one hour later, but the next calendar day


@pytest.mark.parametrize(("zone", "time", "day"), [
    ("UTC", "2026-07-01T23:30:00+00:00", 0),
    ("Europe/London", "2026-07-02T00:30:00+01:00", 1),
])
def test_the_same_instants_fall_on_different_days_in_different_zones(tmp_path, zone, time, day):
    text = csv_text("patient_id,time,infusion_time,temp_c",
                    "P1,2026-07-01T23:30Z,2026-07-01T22:30Z,37.0")
    out = graded_json(grade_file(tmp_path, text, "--tz", zone))
    assert (out[0]["time"], out[0]["day_post_infusion"]) == (time, day)


@pytest.mark.parametrize("words", [
    ("true", "false", "yes", "no", "1", "0"),
    ("TRUE", "False", "Yes", "NO", "tRuE", "nO"),
])
def test_booleans_accept_true_false_yes_no_1_0_in_any_case(tmp_path, words):
    rows = [f"P1,2026-03-02T{8 + i:02d}:00,{w}" for i, w in enumerate(words)]
    out = graded_json(grade_file(tmp_path, csv_text("patient_id,time,sedated", *rows)))
    sedated = [any(f["code"] == "neuro_not_assessable" for f in r["flags"]) for r in out]
    assert sedated == [w.lower() in ("true", "yes", "1") for w in words]


SUMMARY_CASE = csv_text(
    "patient_id,time,infusion_time," + NORMAL,
    "P1,2026-03-02T08:00,2026-03-01T10:00,37.0,120,70,room_air,none,4,3,1,1,1,alert",
    "P1,2026-03-02T14:00,2026-03-01T10:00,38.6,120,70,room_air,none,4,3,1,1,1,alert",
    "P1,2026-03-03T02:00,2026-03-01T10:00,38.9,84,50,room_air,none,4,2,0,0,0,alert",
    "P1,2026-03-03T10:00,2026-03-01T10:00,37.2,120,70,room_air,none,4,3,1,1,1,alert",
    "P1,2026-03-05T12:00,2026-03-01T10:00,37.0,120,70,room_air,none,4,3,1,1,1,alert",
    "P2,2026-03-02T09:00,2026-03-01T10:00,37.0,120,70,room_air,none,4,3,1,1,1,alert",
)


def test_summary_gives_maxima_onset_and_time_to_resolution_per_patient(tmp_path):
    result = run("summary", str(write(tmp_path, SUMMARY_CASE)))
    assert result.returncode == 0 and result.stderr == ""
    out = {s["patient_id"]: s for s in json.loads(result.stdout)}
    assert list(out) == ["P1", "P2"]
    p1 = out["P1"]
    # CRS: fever from 03-02 14:00 (day 1), grade 2 with SBP 84; afebrile and normal BP from
    # 03-03 10:00, and no finding for more than 48 h after that: resolved, 20 h after onset
    assert (p1["crs_max_grade"], p1["crs_onset"], p1["crs_onset_day"]) == (
        2, "2026-03-02T14:00:00+00:00", 1)
    assert p1["crs_time_to_resolution_hours"] == 20
    # ICANS: ICE 6 at 03-03 02:00 (day 2), ICE 10 again at 10:00
    assert (p1["icans_max_grade"], p1["icans_onset"], p1["icans_onset_day"]) == (
        2, "2026-03-03T02:00:00+00:00", 2)
    assert p1["icans_time_to_resolution_hours"] == 8
    p2 = out["P2"]
    assert (p2["crs_max_grade"], p2["crs_onset"], p2["crs_time_to_resolution_hours"]) == (
        0, None, None)
    assert (p2["icans_max_grade"], p2["icans_onset"]) == (0, None)


def test_summary_csv_has_one_line_per_patient(tmp_path):
    result = run("summary", str(write(tmp_path, SUMMARY_CASE)), "--format", "csv")
    assert result.returncode == 0 and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["patient_id"] for r in rows] == ["P1", "P2"]
    p1 = rows[0]
    assert (p1["crs_max_grade"], p1["crs_onset_day"], p1["icans_max_grade"]) == ("2", "1", "2")
    assert float(p1["crs_time_to_resolution_hours"]) == 20


def test_summary_rejects_bad_input_like_grade(tmp_path):
    lines = rejected(run("summary", str(write(tmp_path, csv_text(
        "patient_id,time,temp_c", "P1,2026-03-02T08:00,46.0")))))
    line_about(lines, 1, "temp_c", "46.0")


def test_grading_works_where_numba_cannot_keep_its_compiled_code(tmp_path):
    """A read-only install with no writable home: numba finds no cache location. The pass is
    then compiled in memory (``kernel.CACHE`` false) instead of failing to import."""
    path = write(tmp_path, csv_text("patient_id,time,temp_c", "P1,2026-03-02T08:00,38.5"))
    script = ("import sys, runpy, numba.core.caching as c\n"
              "c.CacheImpl._locator_classes = []  # as when no cache folder is writable\n"
              "from grading import kernel\n"
              "assert kernel.CACHE is False, kernel.CACHE\n"
              f"sys.argv = ['grading', 'grade', {str(path)!r}, '--format', 'csv']\n"
              "runpy.run_module('grading', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert next(csv.DictReader(io.StringIO(result.stdout)))["crs_grade"] == "1"
    assert result.stdout == run("grade", str(path), "--format", "csv").stdout


def test_every_row_with_too_few_or_too_many_cells_is_named(tmp_path):
    lines = rejected(grade_file(tmp_path, csv_text("patient_id,time,temp_c",
                                                   "P1,2026-03-02T08:00,37.0", "P1",
                                                   "P1,2026-03-02T09:00,37,5")))
    assert lines == ["row 2: 1 cell where the header has 3 columns; a blank cell is written as ,,",
                     "row 3: 4 cells where the header has 3 columns; a blank cell is written as ,,"]


def test_a_line_break_inside_a_quoted_cell_is_named_by_row_and_later_rows_keep_theirs(tmp_path):
    lines = rejected(grade_file(tmp_path, 'patient_id,time,temp_c\nP1,2026-03-02T08:00,37\n'
                                          'P1,2026-03-02T09:00,"37\n"\nP1,2026-03-02T10:00,99\n'))
    assert lines[0] == ("row 2, column temp_c, value '37\\n': not a number; allowed: a number "
                        "from 25 to 45 °C")
    assert lines[1].startswith("row 3, column temp_c, value '99': out of range"), lines
