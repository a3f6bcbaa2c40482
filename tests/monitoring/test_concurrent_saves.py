"""One effective assessment per patient and time, held by the database (issue 14, point 1).

Two nurses saving for one patient in the same minute, or two clinicians correcting the same
assessment at once: exactly one lands, the other is told so in words (never a traceback). Real
threads on the real save functions, on every backend (PostgreSQL with ``TEST_DATABASE_URL``,
where READ COMMITTED let both land before migration 0008). A record written before 0008 that
already holds such a conflict is migrated without change, reported, and shown on that
patient's row while the rest of the ward is graded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitoring import db, ward
from monitoring import tables as t
from monitoring.record.assessments import AssessmentRecord
from monitoring.record.csv_io import CsvRecord
from monitoring.record.patients import PatientRecord
from monitoring.review import patient_review
from monitoring.store import ConcurrentChangeError, StoreError, WardStore
from tests.monitoring.revisions import upgrade_to

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
START = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
TRIALS = 20
VITALS = {"sbp_mmhg": 120, "dbp_mmhg": 70, "hr_bpm": 80, "rr_per_min": 16, "spo2_pct": 98,
          "o2_device": "room_air"}


def at_once(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; ("ok", result) or ("error", exception)."""
    barrier = threading.Barrier(len(calls))
    out: list[tuple[str, Any]] = [("none", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = ("ok", call())
        except Exception as e:  # every outcome is asserted by the test
            out[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return out


def test_two_saves_for_one_patient_at_one_time_land_once_and_the_other_is_told_why(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    store.add_user("nora", "nurse")
    losers_refused_by_the_database = 0
    for i in range(TRIALS):
        when = START + timedelta(minutes=i)
        outcomes = at_once(
            lambda w=when: ward.save(store, "P1", {"time": w, "temp_c": 37.0, **VITALS},
                                     by="nina"),
            lambda w=when: ward.save(store, "P1", {"time": w, "temp_c": 38.5, **VITALS},
                                     by="nora"))
        kinds = sorted(k for k, _ in outcomes)
        assert kinds == ["error", "ok"], (i, outcomes)
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert isinstance(error, StoreError), repr(error)
        assert f"patient P1 already has an assessment at 05 Mar 2026 08:{i:02d}" in str(error)
        losers_refused_by_the_database += isinstance(error, ConcurrentChangeError)
    rows = store.timeline_rows("P1")
    assert [r["time"] for r in rows] == [START + timedelta(minutes=i) for i in range(TRIALS)]
    # the record stays whole: reviewed, graded on the overview, and saved to again
    assert len(patient_review(store, "P1").results) == TRIALS
    (status,) = ward.ward_overview(store, START + timedelta(hours=1))
    assert status.problem is None and status.crs is not None
    ward.save(store, "P1", {"time": START + timedelta(minutes=30), "temp_c": 37.2, **VITALS},
              by="nina")
    print(f"{losers_refused_by_the_database} of {TRIALS} losers refused by the database itself")


def test_two_corrections_of_one_assessment_at_once_keep_one_history(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    for i in range(TRIALS):
        when = START + timedelta(minutes=i)
        original = store.record_assessment("P1", {"time": when, "temp_c": 37.0, **VITALS},
                                           by="nina")
        outcomes = at_once(*(
            lambda w=when, temp=temp, a=original: store.amend_assessment(
                a, {"time": w, "temp_c": temp, **VITALS}, reason="misread", by="drx")
            for temp in (38.1, 38.9)))
        assert sorted(k for k, _ in outcomes) == ["error", "ok"], (i, outcomes)
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert isinstance(error, StoreError), repr(error)
        assert "correct the current version" in str(error)
    history = store.history("P1")
    corrections = [h.replaces_id for h in history if h.replaces_id is not None]
    assert len(corrections) == len(set(corrections)) == TRIALS  # each corrected exactly once
    assert len(store.timeline_rows("P1")) == TRIALS


def test_the_database_refuses_a_second_assessment_at_one_time_when_the_check_read_too_early(
        store, monkeypatch):
    """The app's own check passes (it read the time as free, as a concurrent writer does
    before the other's commit); the database constraint still refuses the second row."""
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    store.record_assessment("P1", {"time": START, "temp_c": 37.0}, by="nina")
    monkeypatch.setattr(AssessmentRecord, "_slot", lambda self, conn, pid, at: (0, None))
    with pytest.raises(ConcurrentChangeError,
                       match="patient P1 already has an assessment at 05 Mar 2026 08:00: it "
                             "was saved by someone else a moment ago"):
        store.record_assessment("P1", {"time": START, "temp_c": 38.5}, by="nina")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.0]


def test_the_database_refuses_a_second_correction_of_one_version(store, monkeypatch):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    first = store.record_assessment("P1", {"time": START, "temp_c": 37.0}, by="nina")
    store.amend_assessment(first, {"time": START, "temp_c": 38.1}, reason="misread", by="drx")
    stale = store.history("P1")[0]
    real_current = AssessmentRecord._current

    def as_read_before_the_first_correction(self, conn, assessment_id):
        assert assessment_id == first
        with pytest.raises(StoreError, match="already corrected"):
            real_current(self, conn, assessment_id)
        return {"patient_id": "P1", "assessed_at": stale.assessed_at, "id": first,
                **stale.values}

    monkeypatch.setattr(AssessmentRecord, "_current", as_read_before_the_first_correction)
    # the time's newest row as the second corrector saw it: the original
    monkeypatch.setattr(AssessmentRecord, "_slot", lambda self, conn, pid, at: (first, first))
    with pytest.raises(ConcurrentChangeError, match="correct the current version"):
        store.amend_assessment(first, {"time": START, "temp_c": 38.9}, reason="x", by="drx")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [38.1]


def test_a_row_that_does_not_follow_the_newest_at_its_time_is_refused_by_the_database(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    first = store.record_assessment("P1", {"time": START, "temp_c": 37.0}, by="nina")
    row = {"patient_id": "P1", "assessed_at": START, "recorded_at": START,
           "recorded_by": "nina", "status": "final", "source": "form", "temp_c": 39.0}
    for follows in (None, 0, first + 1):
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(t.assessments.insert().values(**row, follows_id=follows))
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.0]


def test_an_import_clashing_with_a_save_made_meanwhile_imports_nothing(store, monkeypatch,
                                                                        tmp_path):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    store.record_assessment("P1", {"time": START, "temp_c": 37.0}, by="nina")
    path = tmp_path / "in.csv"
    path.write_text("patient_id,time,temp_c\nP1,2026-03-05T08:05:00+00:00,37.5\n"
                    "P1,2026-03-05T08:00:00+00:00,38.5\n")
    # the check read the record before the save at 08:00 was committed: it saw no clash
    monkeypatch.setattr(CsvRecord, "_import_conflicts",
                        lambda self, conn, a, known, pids, times: ([], {}))
    with pytest.raises(ConcurrentChangeError, match="nothing was imported"):
        store.import_csv(path, by="nina")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.0]


@pytest.mark.parametrize("seen_by", ["the admission's own check", "the database's key"])
def test_an_import_admitting_a_patient_another_user_admitted_meanwhile_imports_nothing(
        store, monkeypatch, tmp_path, seen_by):
    """Two imports (or an import and an admission) of the same new patient at once: the second
    finds the patient taken (by _admit's check, or by the primary key when the other
    transaction committed after that check), says so in words and imports nothing."""
    path = tmp_path / "in.csv"
    path.write_text("patient_id,time,temp_c\nP9,2026-03-05T08:00:00+00:00,37.5\n")
    real = PatientRecord._admit

    def admitted_meanwhile(self, conn, p, by):  # the other user's admission lands first
        real(self, conn, p, "drx")
        if seen_by == "the database's key":  # the insert itself is refused
            conn.execute(t.patients.insert().values(patient_id=p.patient_id, created_at=START,
                                                    created_by=by, admitted_at=START))
        return real(self, conn, p, by)

    monkeypatch.setattr(PatientRecord, "_admit", admitted_meanwhile)
    with pytest.raises(ConcurrentChangeError, match="P9 was admitted by another user"):
        store.import_csv(path, by="nina")
    monkeypatch.undo()
    assert store.patient("P9") is None and store.timeline_rows("P9") == []
    assert store.import_csv(path, by="nina") == 1  # imported again: in it goes


# ------------------------------------------------------------------ records from before 0008
def _database_before_0008(url: str) -> sa.Engine:
    upgrade_to(url, "0007")
    return db.make_engine(url)


# the assessment columns before 0008 (which adds follows_id)
BEFORE_0008 = [c for c in t.assessments.c if c.name != "follows_id"]


def _legacy_row(conn: sa.Connection, pid: str, at: datetime, temp: float,
                replaces: int | None = None) -> int:
    """An assessment as code before migration 0008 wrote it (no follows_id, no slot check)."""
    return int(conn.execute(t.assessments.insert().values(
        patient_id=pid, assessed_at=at, recorded_at=at, recorded_by="nina", status="final",
        source="form", replaces_id=replaces, temp_c=temp, **VITALS)).inserted_primary_key[0])


def test_a_record_that_already_holds_a_duplicate_is_migrated_unchanged_reported_and_fixable(
        new_database_url):
    """The conservative choice (docs/security.md): nothing updated or hidden by the migration;
    the problem is audited and shown on that patient's row and review; the rest of the ward is
    graded; a clinician marks the wrong entry entered in error and the patient is graded
    again."""
    url = new_database_url(empty=True)
    engine = _database_before_0008(url)
    with engine.begin() as conn:
        for user, role in (("system", "admin"), ("nina", "nurse"), ("drx", "physician")):
            conn.execute(t.users.insert().values(username=user, display_name=user, role=role,
                                                 active=True, created_at=START,
                                                 created_by="system"))
        for pid, bed in (("P1", "1"), ("P2", "2"), ("P3", "3")):
            conn.execute(t.patients.insert().values(patient_id=pid, bed=bed,
                                                    infusion_time=INFUSION, created_at=START,
                                                    created_by="drx", is_demo=False))
        duplicates = [_legacy_row(conn, "P1", START, 37.0), _legacy_row(conn, "P1", START, 38.6)]
        _legacy_row(conn, "P2", START, 39.0)                     # a fever: CRS 1
        twice = _legacy_row(conn, "P3", START, 37.0)
        _legacy_row(conn, "P3", START + timedelta(minutes=5), 37.1, replaces=twice)
        _legacy_row(conn, "P3", START + timedelta(minutes=9), 37.4, replaces=twice)
        before = conn.execute(sa.select(*BEFORE_0008).order_by(t.assessments.c.id)).all()
    engine.dispose()

    store = WardStore(url)  # migrates to the newest revision: no error, nothing changed
    try:
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(*BEFORE_0008).order_by(t.assessments.c.id)
                                ).all() == before
        found = [(r["patient_id"], json.loads(r["after"]))
                 for r in store.audit() if r["action"] == "integrity_problem"]
        assert [(pid, d["problem"]) for pid, d in found] == [
            ("P1", "two or more effective assessments at one time"),
            ("P3", "an assessment corrected more than once")]
        assert found[0][1]["assessment_ids"] == duplicates

        now = START + timedelta(hours=1)
        by_pid = {s.patient["patient_id"]: s for s in ward.ward_overview(store, now)}
        assert by_pid["P1"].problem == (
            "record problem: 2 current assessments at 05 Mar 2026 08:00: not graded until it "
            "is corrected; ask the administrator to mark the wrong entry entered in error")
        assert by_pid["P1"].crs is None
        assert by_pid["P3"].problem is not None
        assert "the assessment at 05 Mar 2026 08:00 was corrected twice" in by_pid["P3"].problem
        assert by_pid["P2"].problem is None and by_pid["P2"].crs.grade == 1
        with pytest.raises(StoreError, match=r"^record problem: 2 current assessments at"):
            patient_review(store, "P1")
        # no second entry can be saved at that time while the first two are current
        with pytest.raises(StoreError, match="already has an assessment"):
            store.record_assessment("P1", {"time": START, "temp_c": 37.5}, by="nina")

        store.mark_entered_in_error(duplicates[0], "saved twice at once (issue 14)", by="drx")
        by_pid = {s.patient["patient_id"]: s for s in ward.ward_overview(store, now)}
        assert by_pid["P1"].problem is None and by_pid["P1"].crs.grade == 1  # 38.6 °C
        assert [r["temp_c"] for r in store.timeline_rows("P1")] == [38.6]
    finally:
        store.engine.dispose()


def test_one_patient_whose_grading_fails_does_not_take_down_the_ward_overview(store,
                                                                             monkeypatch):
    for pid, bed in (("P1", "1"), ("P2", "2")):
        store.admit({"patient_id": pid, "bed": bed, "infusion_time": INFUSION}, by="drx")
        store.record_assessment(pid, {"time": START, "temp_c": 39.0, **VITALS}, by="nina")
    real = WardStore.timelines

    def broken_for_p1(self, patient_ids):
        if "P1" in patient_ids:
            raise RuntimeError("a stored value no reader expects")
        return real(self, patient_ids)

    monkeypatch.setattr(WardStore, "timelines", broken_for_p1)
    by_pid = {s.patient["patient_id"]: s
              for s in ward.ward_overview(store, START + timedelta(hours=1))}
    assert by_pid["P1"].problem == (
        "record problem: the stored record could not be read: not graded until it is "
        "corrected; ask the administrator to mark the wrong entry entered in error")
    assert "stored value" not in by_pid["P1"].problem  # no internal detail shown
    assert by_pid["P2"].problem is None and by_pid["P2"].crs.grade == 1
