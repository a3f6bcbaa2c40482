"""Formula-safe CSV (docs/security.md, "Untrusted text and exports"): a text cell a spreadsheet
would run gets a leading ``'`` and quotes; numbers stay numbers; our importer takes the ``'`` off
again, so our own files round-trip."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grading
from grading import csvsafe
from grading.output import grades_csv, summary_csv

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = ("=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=1+1", "'=1+1", "''@x",
            # after leading spaces, and the full-width forms (U+FF1D = U+FF0B + U+FF0D - U+FF20 @)
            " =1+1", "   @SUM(A1)", "\u00a0-2+3", "\u3000=1", "\uff1d1+1", "\uff0bcmd",
            "\uff0d2+3", "\uff20SUM(A1)", " \uff1dHYPERLINK(\"http://x\")", "' =1+1")


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_text_cell_starting_like_a_formula_is_written_with_a_quote_before_it(payload):
    out = io.StringIO()
    csvsafe.writer(out).writerow(["P1", payload, 3])
    line = out.getvalue()
    assert cells(line) == [["P1", "'" + payload, "3"]]
    # the neutralised cell is quoted as well (OWASP)
    assert line == 'P1,"\'' + payload.replace('"', '""') + '",3\n'


@pytest.mark.parametrize("number", ["-3.5", "-1", "+2", "-0.25e-3", "-.5", "12", "0"])
def test_a_negative_number_is_a_number_and_written_as_it_is(number):
    out = io.StringIO()
    csvsafe.writer(out).writerow([number, -3.5, -1])
    assert out.getvalue() == f"{number},-3.5,-1\n"


@pytest.mark.parametrize("text", ["P1", "DEMO-001", "x=1", "a-b", "", "'plain", "'", "-", "'-3.5"])
def test_other_cells_are_written_exactly_as_csv_writer_writes_them(text):
    ours, theirs = io.StringIO(), io.StringIO()
    row = [text, "a,b", 'say "hi"', None, 1.5, "line\nbreak"]
    csvsafe.writer(ours).writerow(row)
    csv.writer(theirs, lineterminator="\n").writerow(
        [csvsafe.neutralise(c) for c in row])
    assert cells(ours.getvalue()) == cells(theirs.getvalue())
    if not csvsafe.needs_prefix(text):
        assert ours.getvalue() == theirs.getvalue()


def test_a_lone_dash_and_quoted_numbers_are_text_and_prefixed():
    assert csvsafe.neutralise("-") == "'-"
    assert csvsafe.neutralise("'-3.5") == "''-3.5"  # an id typed with a quote stays itself
    assert csvsafe.neutralise("-inf") == "'-inf"  # not a plain decimal: a spreadsheet runs it
    assert csvsafe.neutralise("-\u0663") == "'-\u0663"  # ASCII digits only make a number


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("=+-@\t\r'\"a1., ;\uff1d\uff0b\uff0d\uff20\u3000")),
               max_size=8)
       | st.text(max_size=12))
def test_restore_undoes_neutralise_for_any_text(text):
    written = csvsafe.neutralise(text)
    assert csvsafe.restore(written) == text
    # nothing a spreadsheet runs is ever written, unless it is a plain number
    assert written.lstrip(csvsafe.SPACES)[:1] not in csvsafe.FORMULA_STARTS \
        or csvsafe._NUMBER.fullmatch(written)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=10) | st.integers(-5, 5), min_size=2, max_size=4),
                min_size=1, max_size=4))
def test_a_file_written_safely_reads_back_to_the_same_cells(rows):
    out = io.StringIO()
    csvsafe.writer(out).writerows(rows)
    back = cells(out.getvalue())
    assert [[csvsafe.restore(c) for c in row] for row in back] == \
        [["" if c is None else str(c) for c in row] for row in rows]


# ------------------------------------------------------------------------------ grading
def payload_file(pid: str) -> bytes:
    return ("patient_id,time,infusion_time,temp_c\n"
            f"\"{pid}\",2024-03-01T08:00,2024-03-02T10:00,38.4\n"  # day -1: a negative day
            f"\"{pid}\",2024-03-03T08:00,2024-03-02T10:00,37.0\n").encode()


@pytest.mark.parametrize("pid", ["=HYPERLINK(\"\"http://e.x\"\")", "@x", "+A1", "-x"])
def test_grade_csv_neutralises_the_patient_id_and_keeps_negative_days(pid):
    text = pid.replace('""', '"')
    g = grading.grade(grading.read_csv(payload_file(pid)))
    rows = cells(grades_csv(g.results()))
    head = rows[0]
    assert [r[0] for r in rows[1:]] == ["'" + text] * 2
    assert [r[head.index("day_post_infusion")] for r in rows[1:]] == ["-1", "1"]
    summary = cells(summary_csv(grading.summarize(g)))
    assert summary[1][0] == "'" + text


def test_our_grade_csv_output_reads_back_to_the_same_patient_id():
    pid = "=HYPERLINK(\"http://e.x\")"
    g = grading.grade(grading.read_csv(payload_file(pid.replace('"', '""'))))
    written = grades_csv(g.results())
    rows = cells(written)
    back = "patient_id,time\n" + "".join(
        f"{csv_line([r[0], r[1]])}" for r in rows[1:])
    assert grading.read_csv(back.encode()).patients == [pid]


def csv_line(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def test_the_importer_takes_off_one_quote_only_before_a_formula_character():
    data = (b"patient_id,time\n\"'=A1\",2024-03-01T08:00\n\"''@B\",2024-03-01T08:00\n"
            b"'plain,2024-03-01T08:00\n")
    assert grading.read_csv(data).patients == ["'@B", "'plain", "=A1"]


def test_the_grade_command_writes_formula_safe_csv(tmp_path):
    path = tmp_path / "payload.csv"
    path.write_bytes(payload_file("@SUM(1+1)"))
    done = subprocess.run([sys.executable, "-m", "grading", "grade", str(path), "--format",
                           "csv"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = cells(done.stdout)
    assert [r[0] for r in rows[1:]] == ["'@SUM(1+1)"] * 2
    assert '"\'@SUM(1+1)"' in done.stdout  # quoted too
