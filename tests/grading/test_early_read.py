"""``python -m grading`` starts reading its file before the heavy imports (``arrow_csv``): what it
reads must be exactly what ``read_csv`` reads on its own, and a read of another file, of a file
changed since, or a failed read is never used (docs/speed.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import grading
from grading import arrow_csv
from tests.grading.test_fast_read import LAYOUTS, assert_same

REPO = Path(__file__).resolve().parents[2]
CLEAN = (b"patient_id,time,temp_c,antipyretic_given,o2_device,vasopressors\n"
         b"'=P1,2026-01-01T01:00,38.2,YES,nasal_cannula,norepinephrine\n"
         b"'=P1,2026-01-01T02:00,37.0,false,,none\n"
         b"B,2026-01-01T02:00,,,room_air,\n")


def early_then_read(path: Path) -> tuple[arrow_csv.EarlyRead, object]:
    early = arrow_csv.EarlyRead(str(path))
    try:
        return early, grading.read_csv(str(path), early=early)
    except grading.InputError as e:
        return early, e.lines


def usual_read(path: Path) -> object:
    try:
        return grading.read_csv(str(path))
    except grading.InputError as e:
        return e.lines


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_file_read_early_reads_as_it_does_without(tmp_path, layout) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(LAYOUTS[layout])
    _, early = early_then_read(path)
    assert_same(early, usual_read(path))


def test_a_clean_file_is_taken_from_the_early_read_and_its_formula_prefix_undone(
        tmp_path) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(CLEAN)
    early = arrow_csv.EarlyRead(str(path))
    early._thread.join()
    assert early._result is not None  # the read happened early ...
    a = grading.read_csv(str(path), early=early)
    assert early._result is None      # ... and was taken
    assert_same(a, usual_read(path))
    assert a.patients == ["=P1", "B"] and a.columns["antipyretic_given"].tolist() == [1, 0, -1]


def test_a_file_changed_after_the_early_read_is_read_again(tmp_path) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(CLEAN)
    early = arrow_csv.EarlyRead(str(path))
    early._thread.join()
    path.write_bytes(CLEAN.replace(b"38.2", b"39.5"))
    a = grading.read_csv(str(path), early=early)
    assert a.columns["temp_c"][0] == 39.5


def test_the_early_read_of_another_file_is_not_used(tmp_path) -> None:
    one, other = tmp_path / "one.csv", tmp_path / "other.csv"
    one.write_bytes(CLEAN)
    other.write_bytes(CLEAN.replace(b"38.2", b"36.6"))
    early = arrow_csv.EarlyRead(str(one))
    assert grading.read_csv(str(other), early=early).columns["temp_c"][0] == 36.6


@pytest.mark.parametrize("content", [
    CLEAN.replace(b"38.2", b"38,2"),                       # a cell too many
    CLEAN.replace(b"38.2", b"hot"),                        # not a number
    CLEAN.replace(b"YES", b"maybe"),                       # not a yes/no word
    CLEAN.replace(b"temp_c", b"temperature"),              # an unknown column
    CLEAN.replace(b"o2_device", b"temp_c"),                # a column twice
    b"patient_id,time\r",                                  # no whole header line
    CLEAN.replace(b"\n", b"\r"),                           # old Mac line endings
    b"\xff\xfe" + CLEAN,                                   # not UTF-8
])
def test_a_file_the_early_read_cannot_take_gives_the_usual_outcome(tmp_path, content) -> None:
    path = tmp_path / "assessments.csv"
    path.write_bytes(content)
    _, early = early_then_read(path)
    assert_same(early, usual_read(path))


@pytest.mark.parametrize(("argv", "expected"), [
    (["grade", "{f}"], "{f}"),
    (["grade", "--format", "csv", "--tz", "Europe/London", "{f}"], "{f}"),
    (["summary", "--format=csv", "{f}", "--tz", "UTC"], "{f}"),
    (["grade", "--scales", "astct,lee2014", "{f}"], "{f}"),
    (["grade", "--format", "{f}"], None),   # the file is the option's value: nothing to read
    (["grade", "{f}.missing"], None),
    (["grade", "--help", "{f}"], None),
    (["other", "{f}"], None),
    ([], None),
])
def test_the_file_a_command_line_names_is_found_without_its_parser(tmp_path, argv,
                                                                   expected) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(CLEAN)
    early = arrow_csv.start([a.format(f=path) for a in argv])
    assert (None if early is None else early.path) == (
        None if expected is None else expected.format(f=path))


def test_importing_grading_imports_neither_pandas_nor_numba_until_a_name_is_used() -> None:
    code = ("import sys, grading; heavy = {'pandas', 'numba'} & set(sys.modules); "
            "print(sorted(heavy)); grading.read_csv; print('pandas' in sys.modules); "
            "print(sorted(n for n in grading.__all__ if not hasattr(grading, n)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:3] == ["[]", "True", "[]"]


def test_a_submodule_is_reached_as_an_attribute_and_an_unknown_name_is_an_attribute_error(
        ) -> None:
    assert grading.kernel.NE_GRADE == grading.timeline.NE_GRADE
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        grading.no_such_thing  # noqa: B018
