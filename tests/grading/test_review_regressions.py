"""Regressions found in review: each was a confirmed wrong result before the fix."""

from __future__ import annotations

import pytest

import grading
from tests.grading.helpers import ICE_10, at, flag_codes, grade_both, normal_adult

NO_ICE_ITEMS = {k: None for k in ICE_10}


def test_attributed_low_bp_does_not_hide_vasopressors_started_later() -> None:
    rows = [normal_adult(time=at(0), temp_c=38.6, sbp_mmhg=85, dbp_mmhg=50,
                         attributed_elsewhere="hypotension"),
            normal_adult(time=at(1), temp_c=38.6, sbp_mmhg=None, dbp_mmhg=None,
                         vasopressors="norepinephrine;phenylephrine")]
    first, later = grade_both(rows)
    assert first.crs.grade == 1 and "attributed" in flag_codes(first)
    assert (later.crs.grade, later.crs.status) == (4, "final")


def test_attributed_low_bp_does_not_hide_a_later_fluid_bolus() -> None:
    rows = [normal_adult(time=at(0), temp_c=38.6, sbp_mmhg=85, dbp_mmhg=50,
                         attributed_elsewhere="hypotension"),
            normal_adult(time=at(1), temp_c=38.6, sbp_mmhg=None, dbp_mmhg=None,
                         fluid_bolus_given=True)]
    assert grade_both(rows)[-1].crs.grade == 2


def test_consciousness_recorded_under_sedation_never_counts_after_sedation_ends() -> None:
    rows = [normal_adult(time=at(0)),
            normal_adult(time=at(1), **NO_ICE_ITEMS, sedated=True, consciousness="unarousable"),
            normal_adult(time=at(2), **NO_ICE_ITEMS, consciousness=None, sedated=False)]
    last = grade_both(rows)[-1]
    assert last.icans.grade != 4
    assert last.icans.status in ("provisional", "not_evaluable")


def test_an_exam_from_before_sedation_does_not_count_after_it() -> None:
    rows = [normal_adult(time=at(0)),
            normal_adult(time=at(1), **NO_ICE_ITEMS, consciousness=None, sedated=True),
            normal_adult(time=at(2), **NO_ICE_ITEMS, consciousness=None, sedated=False)]
    assert grade_both(rows)[-1].icans.status != "final"


def test_missing_blood_pressure_with_no_pressor_running_makes_crs_provisional() -> None:
    rows = [normal_adult(time=at(0)),
            {"patient_id": "P1", "time": at(6), "temp_c": 38.5}]
    r = grade_both(rows)[-1]
    assert (r.crs.grade, r.crs.status) == (1, "provisional")
    assert "not_recorded" in flag_codes(r)


@pytest.mark.parametrize(("temp", "fever"), [(37.94999999, False), (37.95, True),
                                             (38.04999, True), (37.949, False)])
def test_many_decimal_temperatures_round_the_same_on_both_paths(temp: float, fever: bool) -> None:
    r = grade_both([normal_adult(temp_c=temp)])[-1]
    assert (r.crs.grade == 1) == fever


@pytest.mark.parametrize("text", ["2026-02-30T08:00", "2026-02-29T08:00", "2026-3-2T8:00",
                                  "2026-03-02T09:00:61"])
def test_impossible_or_sloppy_dates_are_rejected_not_shifted(text: str) -> None:
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(f"patient_id,time\nA,{text}\n".encode())
    assert e.value.lines == [f"row 1, column time, value '{text}': not a valid date and time; "
                                "allowed: an ISO 8601 date and time in the years 2000 to 2199, "
                                "e.g. 2026-03-01T14:05 or 2026-03-01T14:05+01:00"]


def test_a_header_with_spaces_is_read() -> None:
    a = grading.read_csv(b"patient_id, time , temp_c \nA,2026-01-01T01:00,38.2\n")
    assert next(grading.grade(a).results()).crs.grade == 1


def test_an_empty_line_inside_the_file_is_named_not_skipped() -> None:
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(b"patient_id,time\nA,2026-01-01T01:00\n\nA,2026-01-01T02:00\n")
    assert e.value.lines == ["row 2 (file line 3): empty line; remove it"]


def test_empty_lines_at_the_end_are_ignored() -> None:
    assert len(grading.read_csv(b"patient_id,time\nA,2026-01-01T01:00\n\n\n")) == 1


def test_an_invalid_cell_is_not_reported_again_by_a_cross_field_rule() -> None:
    with pytest.raises(grading.InputError) as e:
        grading.read_csv(b"patient_id,time,sbp_mmhg,dbp_mmhg\nA,2026-01-01T01:00,120,-5\n")
    assert len(e.value.lines) == 1


def test_numpy_floats_from_a_form_are_numbers() -> None:
    import numpy as np
    a = grading.from_rows([{"patient_id": "A", "time": "2026-01-01T01:00",
                            "temp_c": np.float64(38.5)}])
    assert next(grading.grade(a).results()).crs.grade == 1


@pytest.mark.parametrize("cell", ["٣٨", "３８"])
def test_non_ascii_digits_are_rejected(cell: str) -> None:
    with pytest.raises(grading.InputError):
        grading.read_csv(f"patient_id,time,temp_c\nA,2026-01-01T01:00,{cell}\n".encode())
