"""Blank cells mean "not recorded"; required cells must not be blank; 'NA' is not a blank."""

from __future__ import annotations

import pytest

import grading


def problems(text: str) -> list[str]:
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(text.encode())
    return e.value.lines


def test_a_blank_time_is_reported_as_required_naming_the_row() -> None:
    assert problems("patient_id,time,temp_c\nA,,38\n") == [
        "row 1, column time, value '': required: every row needs a time"]


def test_a_blank_patient_id_is_reported_as_required() -> None:
    assert problems("patient_id,time\n,2026-01-01T01:00\n") == [
        "row 1, column patient_id, value '': required: every row needs a patient_id"]


@pytest.mark.parametrize("word", ["NA", "null", "nan", "n/a"])
def test_missing_value_words_are_rejected_not_read_as_blank(word: str) -> None:
    [line] = problems(f"patient_id,time,temp_c\nA,2026-01-01T01:00,{word}\n")
    assert line.startswith(f"row 1, column temp_c, value '{word}': not a number")


def test_blank_and_whitespace_cells_are_not_recorded() -> None:
    a = grading.read_csv(b"patient_id,time,temp_c,sbp_mmhg,dbp_mmhg\n"
                         b"A,2026-01-01T01:00, ,,\nA,2026-01-01T02:00,38.1,120,70\n")
    [first, second] = grading.grade(a).results()
    assert (first.crs.grade, first.crs.status) == (None, "not_evaluable")
    assert second.crs.grade == 1


def test_times_with_seconds_and_offsets_are_read_alongside_plain_ones() -> None:
    a = grading.read_csv(b"patient_id,time,temp_c\nA,2026-01-01T01:00,37\n"
                         b"A,2026-01-01T02:00:30,37\nA,2026-01-01T03:00+01:00,38.2\n")
    times = [r.time.isoformat() for r in grading.grade(a).results()]
    assert times == ["2026-01-01T01:00:00+00:00", "2026-01-01T02:00:30+00:00",
                     "2026-01-01T02:00:00+00:00"]


def test_non_utf8_bytes_are_reported_by_row_and_column() -> None:
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(b"patient_id,time,temp_c\nA,2026-01-01T01:00,38\n"
                         b"A,2026-01-01T02:00,3\xff8\n")
    assert e.value.lines == [
        "row 2, column temp_c: bytes that are not UTF-8 text (file line 3, byte 65); "
        "save the file as UTF-8"]


def test_an_out_of_range_number_is_quoted_as_written() -> None:
    [line] = problems("patient_id,time,temp_c\nA,2026-01-01T01:00,46.0\n")
    assert line == ("row 1, column temp_c, value '46.0': out of range; allowed: a number from "
                    "25 to 45 °C")
