"""One grading path in production (issue 16): the compiled pass explains every grade.

- Nothing in production calls the row-wise rules (``snapshot.grade_crs`` and friends, the
  ``reference`` module): they are the tests' oracle (``helpers.grade_both`` holds every row's
  grade, status, reasons with their times, flags, day and episode maxima against them).
- The streaming writer gives, byte for byte, what the row-at-a-time writer of ``output.py``
  gives from the same results, across block boundaries, clock changes, soft limits and patient
  ids that need CSV quoting or neutralising; the Parquet output holds the same fields.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given

import grading
from grading import cli, output, stream
from grading.explain import when
from grading.parse import ward_zone
from tests.fuzz_files import run_in_process
from tests.grading.helpers import grade_both
from tests.grading.test_properties import FAST, NEW_YORK, timelines, timelines_across_clock_changes

REPO = Path(__file__).resolve().parents[2]
ORACLE = {"grade_crs", "grade_icans", "hypotension_component", "hypoxia_component"}
ORACLE_MODULES = {"grading.reference", "grading/reference.py", "grading/snapshot.py"}


def _production_files() -> list[Path]:
    files = [REPO / "app.py"]
    for folder in ("grading", "monitoring", "ui"):
        files += sorted((REPO / folder).rglob("*.py"))
    return [f for f in files if f.relative_to(REPO).as_posix() not in ORACLE_MODULES]


def test_no_production_module_uses_the_row_wise_rules() -> None:
    offenders = []
    for f in _production_files():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = {a.name for a in node.names}
                module = node.module or ""
                if module.endswith("reference") or names & ORACLE or "reference" in names:
                    offenders.append(f"{f.relative_to(REPO)}:{node.lineno}")
            elif isinstance(node, ast.Attribute) and node.attr in ORACLE:
                offenders.append(f"{f.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_the_package_api_offers_the_compiled_grades_only() -> None:
    assert not ORACLE & set(grading.__all__)


# ------------------------------------------------------------------- the streaming writer
def _old(results: list[grading.RowResult], fmt: str) -> bytes:
    buf = io.StringIO()
    (output.write_grades_csv if fmt == "csv" else output.write_grades_json)(buf, results)
    return buf.getvalue().encode("utf-8")


def _same_bytes(rows: list[dict[str, object]], tz: str = "UTC") -> None:
    results = grade_both(rows, tz=tz)  # the oracle: every reason and flag
    g = grading.grade(grading.from_rows(rows, tz=tz))
    for fmt in ("csv", "json"):
        for block in (1, 3, 1000):
            assert stream.grade_bytes(g, fmt, block) == _old(results, fmt), (fmt, block)


@FAST
@given(timelines())
def test_streamed_csv_and_json_equal_the_row_writer_byte_for_byte(rows):
    _same_bytes(rows)


@FAST
@given(timelines_across_clock_changes())
def test_streamed_times_keep_the_ward_offset_across_clock_changes(rows):
    _same_bytes(rows, tz=NEW_YORK)


AWKWARD_IDS = ["=HYPERLINK(1)", 'quote "q", comma', "  @sum", "P-1", "ÅSA 7"]


def test_streamed_output_quotes_neutralises_and_keeps_soft_limit_flags() -> None:
    rows = []
    for i, pid in enumerate(AWKWARD_IDS):
        for h in range(4):
            rows.append({"patient_id": pid, "time": f"2026-03-0{2 + h}T0{h}:30:00",
                         "infusion_time": "2026-03-02T01:00:00", "age_years": 40 + i,
                         "temp_c": 42.5 if h == 1 else 38.4, "sbp_mmhg": 85, "dbp_mmhg": 50,
                         "hr_bpm": 210 if h == 2 else 90, "spo2_pct": 88,
                         "o2_device": "room_air", "attributed_elsewhere":
                         "fever" if h == 3 else None})
    results = grade_both(rows)
    assert any(f.code == "soft_limit" for r in results for f in r.flags)
    _same_bytes(rows)
    _same_bytes(rows, tz="Asia/Kolkata")  # +05:30


def test_times_with_microseconds_or_historic_offsets_are_written_as_isoformat() -> None:
    ns = [0, 1_500_000, 86_400 * 10**9 * 365 * -80]  # 1970, 1.5 ms later, 1890
    for tz in ("UTC", "Europe/Paris"):
        buf, off = stream.iso_times(np.array(ns, "int64"), ward_zone(tz))
        got = [bytes(buf[off[i]:off[i + 1]]).decode() for i in range(len(ns))]
        want = [when(x, ward_zone(tz)).isoformat() for x in ns]
        assert got == want



def test_pieces_are_copied_whole_and_one_that_would_not_fit_raises_instead_of_overrunning() -> None:
    words = np.frombuffer(b"fever 38.4 \xc2\xb0C", np.uint8).copy()
    off = np.array([0, 5, 6, 10, 11, 14], np.int64)            # "fever", " ", "38.4", " ", "°C"
    times = np.frombuffer(b"2026-01-01T08:00:00+00:00", np.uint8).copy()
    times_off = np.array([0, 25], np.int64)
    seq = np.array([0, 1, -1, 2, 3, 4, 1, stream.TIME], np.int64)  # -1: nothing
    out = np.zeros(40, np.uint8)
    stream._fill(seq, words, off, times, times_off, out)
    assert bytes(out).decode() == "fever 38.4 °C 2026-01-01T08:00:00+00:00"
    with pytest.raises(ValueError, match="too short"):
        stream._fill(seq, words, off, times, times_off, np.zeros(39, np.uint8))

# ------------------------------------------------------------------------------- Parquet
def _parquet(rows: list[dict[str, object]], tz: str = "UTC") -> tuple[list[dict], list[dict]]:
    g = grading.grade(grading.from_rows(rows, tz=tz))
    buf = io.BytesIO()
    stream.write_grades(buf, g, "parquet", block=2)
    table = pq.read_table(io.BytesIO(buf.getvalue()))
    return table.to_pylist(), json.loads(stream.grade_bytes(g, "json"))


def _iso(t: datetime) -> str:
    return t.isoformat()


def test_parquet_holds_the_json_fields_with_typed_columns() -> None:
    rows = [{"patient_id": "P1", "time": f"2026-03-0{2 + h // 24}T{h % 24:02d}:00",
             "infusion_time": "2026-03-02T00:00", "temp_c": 38.5 if h in (2, 3) else 37.0,
             "sbp_mmhg": 80 if h == 3 else 120, "dbp_mmhg": 50, "hr_bpm": 210 if h == 1 else 80}
            for h in range(6)]
    got, want = _parquet(rows, tz="Europe/London")
    assert len(got) == len(want) == 6
    for p, j in zip(got, want):
        assert _iso(p["time"]) == j["time"]
        for k in ("patient_id", "day_post_infusion", "crs_grade", "crs_status",
                  "crs_episode_max", "icans_grade", "icans_status", "icans_episode_max"):
            assert p[k] == j[k], k
        for k in ("crs_reasons", "icans_reasons"):
            assert [{**x, "time": _iso(x["time"])} for x in p[k]] == j[k]
        assert p["flags"] == j["flags"]
    assert any(f["code"] == "soft_limit" for p in got for f in p["flags"])
    assert {p["crs_grade"] for p in got} >= {0, 1, 2}


def test_grade_writes_parquet_and_refuses_it_with_other_scales(tmp_path: Path) -> None:
    sample = REPO / "sample_data" / "grade2_crs_tocilizumab.csv"
    target = tmp_path / "out.parquet"
    with target.open("wb") as f, contextlib.redirect_stdout(
            io.TextIOWrapper(f)) as out:
        assert cli.main(["grade", str(sample), "--format", "parquet"]) == 0
        out.flush()
    table = pq.read_table(target)
    assert table.num_rows == len(grading.read_csv(sample))
    assert table.column_names == list(output.GRADE_FIELDS)
    code, stdout, stderr = run_in_process(cli.main, "grade", str(sample), "--format", "parquet",
                                          "--scales", "astct,lee2014")
    assert (code, stdout) == (cli.EXIT_BAD_INPUT, "")
    assert "--format parquet" in stderr


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_command_streams_exactly_what_the_api_writes(fmt: str) -> None:
    sample = REPO / "sample_data" / "biphasic_crs.csv"
    code, stdout, _ = run_in_process(cli.main, "grade", str(sample), "--format", fmt)
    assert code == 0
    results = list(grading.grade(grading.read_csv(sample)).results())
    assert stdout.encode() == _old(results, fmt)
