"""The fast typed read of a CSV file takes exactly what the text rules take (decisions V4b, V5).

``read_csv`` first lets Arrow convert each column while reading (``parse.TYPED_READ``); a file
with any cell that read does not take as it is, or with any invalid cell, is read again all as
text and checked value by value. The yardstick here is the same file read with every column as
text from the start: values, flags and every problem line must be the same either way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import grading
from grading import parse
from grading.fields import COLUMNS, FIELD_BY_NAME
from tests.grading.test_properties import FAST, timelines

Row = Mapping[str, object]
ALL_TEXT = {kind: pa.string() for kind in parse.TYPED_READ}


def csv_bytes(rows: Sequence[Row], quote_all: bool = False, line_end: str = "\n") -> bytes:
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator=line_end)
    w.writerow(columns)
    for r in rows:
        w.writerow([str(r.get(c, "")) for c in columns])
    return buf.getvalue().encode()


def read_both(rows: Sequence[Row], **how: object) -> tuple[object, object]:
    """The file of ``rows`` read as usual, and read all as text: Assessments or problems."""
    data = csv_bytes(rows, **how)  # type: ignore[arg-type]
    outcomes = []
    for types in (parse.TYPED_READ, ALL_TEXT):
        with mock.patch.dict(parse.TYPED_READ, types):
            try:
                outcomes.append(grading.read_csv(data))
            except grading.InputError as e:
                outcomes.append(e.lines)
    return outcomes[0], outcomes[1]


def assert_same(fast: object, text: object) -> None:
    if isinstance(text, list):
        assert fast == text
        return
    assert isinstance(fast, grading.Assessments) and isinstance(text, grading.Assessments)
    assert fast.patients == text.patients
    assert fast.soft_flags == text.soft_flags
    assert fast.columns.keys() == text.columns.keys()
    for name, values in text.columns.items():
        assert fast.columns[name].dtype == values.dtype, name
        assert np.array_equal(fast.columns[name], values, equal_nan=values.dtype.kind == "f"), name


def one_cell(column: str, cell: str) -> list[dict[str, str]]:
    """A one-row file with ``cell`` in ``column``."""
    return [{"patient_id": "P1", "time": "2026-03-02T08:00", column: cell}]


# ------------------------------------------------------------------------- accepted spellings
@pytest.mark.parametrize(("column", "cell", "value"), [
    ("temp_c", " 38.2", 38.2), ("temp_c", "38.2 ", 38.2), ("temp_c", "+38.2", 38.2),
    ("temp_c", "3.82e1", 38.2), ("temp_c", "38.", 38.0), ("temp_c", "0038.2", 38.2),
    ("hr_bpm", "80.0", 80.0), ("hr_bpm", "\t80", 80.0), ("hr_bpm", "8e1", 80.0),
    ("sedated", "TRUE", 1), ("sedated", "Yes", 1), ("sedated", "nO", 0), ("sedated", " 1 ", 1),
    ("o2_device", " room_air ", 0),
])
def test_a_number_boolean_or_word_spelt_loosely_reads_the_same_on_both_paths(
        column: str, cell: str, value: float) -> None:
    fast, text = read_both(one_cell(column, cell))
    assert_same(fast, text)
    assert isinstance(fast, grading.Assessments)
    assert fast.columns[column][0] == value


@pytest.mark.parametrize("cell", ["2026-03-02 08:00", "2026-03-02T08:00:00", "2026-03-02T08:00Z",
                                  "2026-03-02T09:00+01:00", "2026-03-02T08:00:00.000"])
def test_the_same_instant_written_in_any_accepted_form_reads_the_same(cell: str) -> None:
    fast, text = read_both(one_cell("time", cell))
    assert_same(fast, text)
    assert isinstance(fast, grading.Assessments)
    assert fast.columns["time"][0] == grading.read_csv(
        b"patient_id,time\nP1,2026-03-02T08:00\n").columns["time"][0]


# ------------------------------------------------------------------------- rejected spellings
@pytest.mark.parametrize(("column", "cell", "message"), [
    pytest.param("hr_bpm", "0x50", "not a number", id="hexadecimal-is-not-a-number"),
    pytest.param("temp_c", "NaN", "not a number", id="NaN"),
    pytest.param("temp_c", "N/A", "not a number", id="N/A"),
    pytest.param("temp_c", "inf", "allowed: a number from 25 to 45", id="inf"),
    pytest.param("temp_c", "-Infinity", "allowed: a number from 25 to 45", id="-Infinity"),
    pytest.param("temp_c", "1e400", "allowed: a number from 25 to 45", id="overflows-to-inf"),
    pytest.param("temp_c", "38,2", "use a point as the decimal mark", id="decimal-comma"),
    pytest.param("hr_bpm", "80.5", "not a whole number", id="fraction-in-a-whole-number"),
    pytest.param("sedated", "t", "not a yes/no value", id="t"),
    pytest.param("sedated", "1.0", "not a yes/no value", id="1.0"),
    pytest.param("time", "2026-03-02", "not a valid date and time", id="date-only"),
    pytest.param("time", "2026-03-02T08", "not a valid date and time", id="hour-only"),
    pytest.param("time", "2026-02-29T08:00", "not a valid date and time", id="feb-29-2026"),
    pytest.param("time", "2026-3-2T08:00", "not a valid date and time", id="one-digit-month"),
    pytest.param("time", "2026-03-02T08:60", "not a valid date and time", id="minute-60"),
    pytest.param("time", "2026-03-02t08:00", "not a valid date and time", id="lower-case-t"),
    pytest.param("infusion_time", "2026-03-01", "not a valid date and time", id="infusion-day"),
    pytest.param("time", "2926-03-02T08:00", "outside the years 2000 to 2199", id="year-2926"),
    pytest.param("time", "2926-03-02T08:00Z", "outside the years 2000 to 2199", id="year-2926-Z"),
    pytest.param("time", "1026-03-02T08:00", "outside the years 2000 to 2199", id="year-1026"),
    pytest.param("time", "2200-01-01T00:00", "outside the years 2000 to 2199", id="year-2200"),
    pytest.param("time", "1999-12-31T23:59Z", "outside the years 2000 to 2199", id="year-1999"),
    pytest.param("time", "9999-12-31T23:59", "outside the years 2000 to 2199", id="year-9999"),
    pytest.param("infusion_time", "2926-03-01T10:00Z", "outside the years 2000 to 2199",
                 id="infusion-year-2926"),
])
def test_a_cell_the_rules_reject_is_named_the_same_on_both_paths(
        column: str, cell: str, message: str) -> None:
    fast, text = read_both(one_cell(column, cell))
    assert fast == text
    assert isinstance(fast, list) and len(fast) == 1
    assert fast[0].startswith(f"row 1, column {column}, value '{cell}'")
    assert message in fast[0]
    with pytest.raises(grading.InputError) as form:  # the same cell entered on a form
        grading.from_rows(one_cell(column, cell))
    assert form.value.lines == fast


@pytest.mark.parametrize("time", ["2000-01-01T00:00Z", "1999-12-31T23:30-01:00",
                                  "2199-12-31T23:59Z", "2199-12-31T23:59"])
def test_the_first_and_last_instants_of_the_allowed_years_are_taken(time: str) -> None:
    fast, text = read_both(one_cell("time", time))
    assert_same(fast, text)
    assert isinstance(fast, grading.Assessments)


def test_a_mistyped_year_is_named_and_every_other_problem_still_listed() -> None:
    """A year pandas cannot hold in nanoseconds neither wraps to another date nor crashes."""
    data = (b"patient_id,time,temp_c\nP1,2026-03-02T07:00,37.2\nP1,2926-03-02T08:00Z,38.5\n"
            b"P1,2926-03-02T09:00,99\n")
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(data)
    assert [p.split(":")[0] for p in e.value.lines] == [
        "row 2, column time, value '2926-03-02T08", "row 3, column time, value '2926-03-02T09",
        "row 3, column temp_c, value '99'"]


@pytest.mark.parametrize(("column", "cell", "shown", "message"), [
    ("temp_c", "38\x1c", "38\\x1c", "not a number"),
    ("temp_c", "\xa038", "\\xa038", "not a number"),
    ("hr_bpm", "80\x00", "80\\x00", "not a number"),
    ("sedated", "yes\x1f", "yes\\x1f", "not a yes/no value"),
    ("o2_device", "room_air\x0b", "room_air\\x0b", "not an allowed value"),
    ("vasopressors", "none\x1e", "none\\x1e", "is not allowed"),
    ("time", "2026-03-02T08:00\xa0", "2026-03-02T08:00\\xa0", "not a valid date and time"),
])
def test_a_control_or_unusual_space_character_is_an_error_not_trimmed(
        column: str, cell: str, shown: str, message: str) -> None:
    """Only spaces and tabs around a value are trimmed (V4d); other characters are named."""
    fast, text = read_both(one_cell(column, cell))
    assert fast == text
    assert isinstance(fast, list) and len(fast) == 1
    assert fast[0].startswith(f"row 1, column {column}, value '{shown}'"), fast[0]
    assert message in fast[0]


def test_a_patient_id_with_a_control_character_is_not_merged_with_the_clean_one() -> None:
    fast, text = read_both([{"patient_id": "P1", "time": "2026-03-02T08:00"},
                            {"patient_id": "P1\x1c", "time": "2026-03-02T09:00"}])
    assert fast == text == ["row 2, column patient_id, value 'P1\\x1c': a patient_id is one "
                            "line of printable text"]


def test_one_bad_cell_in_a_large_clean_file_is_named_with_the_cell_as_written() -> None:
    rows = [{"patient_id": f"P{i % 7}", "time": f"2026-03-{1 + i // 7 // 24:02d}T"
             f"{i // 7 % 24:02d}:00", "temp_c": "37.0", "hr_bpm": "80"} for i in range(5000)]
    rows[4321] = {**rows[4321], "temp_c": "46.0", "hr_bpm": "80.0"}
    fast, text = read_both(rows)
    assert fast == text == ["row 4322, column temp_c, value '46.0': out of range; allowed: "
                            "a number from 25 to 45 °C"]


# ------------------------------------------------------------------------- whole files
SPELLINGS = {
    "number": lambda v: st.sampled_from([v, f" {v}", f"{v} ", f"+{v}", f"{float(v):e}"]),
    "boolean": lambda v: st.sampled_from([v, v.upper(), v.title(), {"true": "yes",
                                          "false": "no"}[v], {"true": "1", "false": "0"}[v]]),
    "time": lambda v: st.sampled_from([v, v.replace("T", " ")]),
}


def _kind(column: str) -> str:
    return FIELD_BY_NAME[column].kind


@st.composite
def spelt_files(draw: st.DrawFn) -> tuple[list[dict[str, str]], dict[str, object]]:
    """A valid timeline with each cell written in one of the spellings the rules accept alike,
    as a file with Unix or Windows line ends, quoted or not."""
    rows = []
    for row in draw(timelines()):
        spelt = {}
        for column, value in row.items():
            text = "true" if value is True else "false" if value is False else str(value)
            kind = {"integer": "number"}.get(_kind(column), _kind(column))
            spelt[column] = draw(SPELLINGS[kind](text)) if kind in SPELLINGS else text
        rows.append(spelt)
    how = {"quote_all": draw(st.booleans()), "line_end": draw(st.sampled_from(["\n", "\r\n"]))}
    return rows, how


@FAST
@given(spelt_files())
def test_a_valid_file_reads_the_same_on_the_fast_and_the_text_path(case):
    rows, how = case
    fast, text = read_both(rows, **how)
    assert isinstance(text, grading.Assessments)
    assert_same(fast, text)


TRICKY_CELLS = ("NA", "nan", "inf", "1e400", "0x10", "38,2", "80.5", "", " ", "-1", "yes ",
                "maybe", "2026-03-02", "2026-03-02T08", "2026-02-30T08:00", "room_air;none",
                "none;vasopressin", "ROOM_AIR", "2926-03-02T08:00Z", "1026-03-02T08:00",
                "38\x1c", "\xa038")


@FAST
@given(timelines(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40),
                                       st.sampled_from(TRICKY_CELLS)), min_size=1, max_size=4))
def test_a_file_with_tricky_cells_gives_the_text_paths_outcome_problem_for_problem(rows, cells):
    rows = [{k: "true" if v is True else "false" if v is False else str(v) for k, v in r.items()}
            for r in rows]
    for r, c, cell in cells:
        rows[r % len(rows)][COLUMNS[c % len(COLUMNS)]] = cell
    fast, text = read_both(rows)
    assert_same(fast, text)


LAYOUTS = {
    "unix": b"patient_id,time,temp_c\nA,2026-01-01T01:00,38.2\nA,2026-01-01T02:00,37.0\n",
    "windows": b"patient_id,time,temp_c\r\nA,2026-01-01T01:00,38.2\r\nA,2026-01-01T02:00,37.0\r\n",
    "no-final-line-break": b"patient_id,time,temp_c\nA,2026-01-01T01:00,38.2\n"
                           b"A,2026-01-01T02:00,37",
    "empty-lines-at-the-end": b"patient_id,time,temp_c\nA,2026-01-01T01:00,38.2\n"
                              b"A,2026-01-01T02:00,37.0\n\n\r\n",
    "byte-order-mark": "\ufeffpatient_id,time,temp_c\nA,2026-01-01T01:00,38.2\n"
                       "A,2026-01-01T02:00,37.0\n".encode(),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_file_reads_the_same_from_disk_from_bytes_and_as_text(tmp_path, layout) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(LAYOUTS[layout])
    from_disk, from_bytes = grading.read_csv(path), grading.read_csv(LAYOUTS[layout])
    with mock.patch.dict(parse.TYPED_READ, ALL_TEXT):
        as_text = grading.read_csv(LAYOUTS[layout])
    assert_same(from_disk, as_text)
    assert_same(from_bytes, as_text)
    assert len(from_disk) == 2 and from_disk.columns["temp_c"][0] == 38.2


@pytest.mark.parametrize(("content", "problem"), [
    (b"patient_id,time\n", "the file has a header but no assessment rows"),
    (b"patient_id,time", "the file has a header but no assessment rows"),
    (b" \n\n", "the file is empty"),
    (b"patient_id,time\nA,2026-01-01T01:00\n\nA,2026-01-01T02:00\n", "row 2 (file line 3): "
     "empty line; remove it"),
])
def test_a_file_that_is_not_a_plain_table_is_rejected_the_same_from_disk(tmp_path, content,
                                                                        problem) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(content)
    for source in (path, content):
        with pytest.raises(grading.InputError) as e:
            grading.read_csv(source)
        assert len(e.value.lines) == 1 and e.value.lines[0].startswith(problem)


def test_an_infusion_time_in_the_clock_change_gap_is_named_on_every_row_with_it() -> None:
    """Infusion times are read once per distinct text; a problem is still named by row."""
    data = (b"patient_id,time,infusion_time\n"
            b"A,2026-03-30T09:00,2026-03-29T01:30\n"
            b"A,2026-03-30T10:00,2026-03-29T01:30\n"
            b"B,2026-03-30T10:00,2026-03-28T10:00\n")
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(data, tz="Europe/London")
    assert [p.split(": ")[0] for p in e.value.lines] == [
        "row 1, column infusion_time, value '2026-03-29T01:30'",
        "row 2, column infusion_time, value '2026-03-29T01:30'"]
    assert all("clock change" in p for p in e.value.lines)


INTERLEAVED = ("patient_id,time,o2_device,o2_flow_l_min,rr_per_min\n"
               "P1,2026-03-02T08:00,nasal_cannula,2,16\n"
               "P2,2026-03-02T08:30,room_air,,16\n"
               "P1,2026-03-02T09:00,,16,16\n"
               "P2,2026-03-02T09:30,,{p2_flow},0\n"
               "P3,2026-03-02T09:45,,,16\n"
               "P1,2026-03-02T07:00,mechanical_ventilation,,0\n")


def test_the_device_in_force_is_carried_per_patient_whatever_the_file_order() -> None:
    with pytest.raises(grading.InputError) as e:  # P2 is on room air: no flow allowed
        grading.read_csv(INTERLEAVED.format(p2_flow="2").encode())
    assert e.value.lines == ["row 4, column o2_flow_l_min, value '2': oxygen flow with "
                                "o2_device room_air; record the device, or a flow of 0"]
    a = grading.read_csv(INTERLEAVED.format(p2_flow="").encode())
    rr_low = ("soft_limit: rr_per_min 0 /min is outside the usual range (6-50): "
              "confirm it is correct")
    assert a.soft_flags == {  # by input row position (0 = the first row)
        2: ["soft_limit: o2_flow_l_min 16 L/min is high for nasal_cannula (usually at most 15; "
            "likely a data-entry error): confirm"],  # P1's cannula, carried from 08:00
        3: [rr_low, "soft_limit: rr_per_min 0 without mechanical ventilation (arrest?): confirm"],
        5: [rr_low]}  # P1 at 07:00, on the ventilator
