"""Validation problems are objects (design.md: "Problems travel as objects (field, code,
message), never as text to be parsed again"): each names its canonical field and a stable
code, the same whether the rows come from a form (``from_rows``) or a file (``read_csv``)."""

from __future__ import annotations

import csv
import io
import re

import pytest

import grading
from grading.fields import COLUMNS
from grading.parse import PROBLEM_CODES, InputError, Problem

T0 = "2026-03-05T08:00"
T1 = "2026-03-05T09:00"
ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
       "ice_attention": 1}


def row(time: str = T0, **values: object) -> dict[str, object]:
    return {"patient_id": "P1", "time": time, **values}


# (what is wrong, the rows, the field and code of the one problem expected)
BAD_INPUTS = [
    ("a temperature above the hard limit", [row(temp_c=50)], ("temp_c", "hard_limit")),
    ("a temperature that looks like °F", [row(temp_c=101.3)], ("temp_c", "hard_limit")),
    ("a heart rate that is not a number", [row(hr_bpm="fast")], ("hr_bpm", "not_a_number")),
    ("a decimal comma", [row(temp_c="38,5")], ("temp_c", "not_a_number")),
    ("a heart rate with a fraction", [row(hr_bpm=90.5)], ("hr_bpm", "not_whole")),
    ("an oxygen device not allowed", [row(o2_device="helmet")], ("o2_device", "not_allowed")),
    ("a yes/no field with another word", [row(sedated="maybe")], ("sedated", "not_allowed")),
    ("'none' with a vasopressor", [row(vasopressors="none;norepinephrine")],
     ("vasopressors", "not_allowed")),
    ("a diastolic equal to the systolic", [row(sbp_mmhg=100, dbp_mmhg=100)],
     ("dbp_mmhg", "cross_field")),
    ("a diastolic without a systolic", [row(dbp_mmhg=60)], ("sbp_mmhg", "incomplete")),
    ("an ICE score partly filled", [row(ice_orientation=4, ice_naming=3)],
     ("ice_commands", "incomplete")),
    ("ICE items and a CAPD total on one row", [row(**ICE, capd_total=4)],
     ("capd_total", "cross_field")),
    ("oxygen flow on room air", [row(o2_device="room_air", o2_flow_l_min=2)],
     ("o2_flow_l_min", "cross_field")),
    ("two assessments in the same minute", [row(temp_c=37.0), row(temp_c=38.0)],
     ("time", "duplicate_time")),
    ("an assessment after the row recording death", [row(died_of="other"), row(T1)],
     ("time", "after_death")),
    ("a time that is not a time", [row("yesterday")], ("time", "not_a_time")),
    ("a year far off", [row("1926-03-05T08:00")], ("time", "hard_limit")),
    ("a blank time", [row("")], ("time", "required")),
    ("a patient id that is too long", [{"patient_id": "P" * 65, "time": T0}],
     ("patient_id", "too_long")),
    ("a dose with no vasopressor running", [row(norepinephrine_ug_min=5)],
     ("norepinephrine_ug_min", "cross_field")),
]


def as_csv(rows: list[dict[str, object]]) -> bytes:
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def the_problem(read, rows) -> Problem:
    with pytest.raises(InputError) as e:
        read(rows)
    assert len(e.value.problems) == 1, e.value.lines
    (problem,) = e.value.problems
    assert isinstance(problem, Problem)
    return problem


@pytest.mark.parametrize(("what", "rows", "expected"), BAD_INPUTS,
                         ids=[what for what, _, _ in BAD_INPUTS])
@pytest.mark.parametrize("read", [
    pytest.param(lambda rows: grading.from_rows(rows), id="from_rows"),
    pytest.param(lambda rows: grading.read_csv(as_csv(rows)), id="read_csv")])
def test_each_bad_input_names_its_field_and_code(read, what, rows, expected):
    problem = the_problem(read, rows)
    assert (problem.field, problem.code) == expected
    assert problem.code in PROBLEM_CODES
    assert problem.row is not None and problem.row >= 1


@pytest.mark.parametrize(("what", "rows", "expected"), BAD_INPUTS,
                         ids=[what for what, _, _ in BAD_INPUTS])
def test_a_form_and_a_file_give_the_same_problem(what, rows, expected):
    assert the_problem(grading.from_rows, rows) == the_problem(grading.read_csv, as_csv(rows))


@pytest.mark.parametrize(("what", "rows", "expected"), BAD_INPUTS,
                         ids=[what for what, _, _ in BAD_INPUTS])
def test_the_words_for_a_form_name_no_column(what, rows, expected):
    shown = the_problem(grading.from_rows, rows).shown
    assert not [c for c in COLUMNS if "_" in c and c in shown], shown
    assert not re.search(r"\brow \d", shown), shown


def test_the_command_line_text_is_row_column_value_then_the_message():
    problem = the_problem(grading.from_rows, [row(temp_c=50)])
    assert str(problem) == ("row 1, column temp_c, value '50': out of range; allowed: a "
                            "number from 25 to 45 °C")
    assert problem.message == "out of range; allowed: a number from 25 to 45 °C"
    assert problem.value == "50"


def test_the_lines_of_an_input_error_are_its_problems_as_text():
    with pytest.raises(InputError) as e:
        grading.from_rows([row(temp_c=50, hr_bpm="x")])
    assert e.value.lines == [str(p) for p in e.value.problems]
    assert str(e.value) == "\n".join(e.value.lines)
    assert [(p.field, p.code) for p in e.value.problems] == [
        ("temp_c", "hard_limit"), ("hr_bpm", "not_a_number")]


def test_a_problem_of_the_file_has_no_field():
    with pytest.raises(InputError) as e:
        grading.read_csv(b"patient_id,time,colour\nP1,2026-03-05T08:00,red\n")
    (problem,) = e.value.problems
    assert (problem.field, problem.code, problem.row) == (None, "unknown_field", 0)
    assert str(problem).startswith("row 0, column colour: unknown column;")


def test_an_undocumented_code_is_refused():
    with pytest.raises(AssertionError):
        Problem("temp_c", "too_hot", "out of range")
