"""Every write to one patient's record runs alone (issue 14 review: cross-time rules were
check-then-write).

A rule that spans several times (nothing after a recorded death, a flow needs the oxygen device
in force, a flag raised once, the flag resync after a save) is checked by reading the record
and then writing. Two writers for the same patient at once could both pass their reads. Every
write transaction locks the patient first (``WardStore.locked`` / ``_lock_patients``). Real
threads released together by a barrier, on SQLite and (with ``TEST_DATABASE_URL``) PostgreSQL,
where each of these landed both writes before the lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import grading
from grading.parse import InputError
from monitoring import escalation, ward
from monitoring.store import StoreError
from tests.monitoring.test_concurrent_saves import at_once

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
TRIALS = 10
VITALS = {"sbp_mmhg": 120, "dbp_mmhg": 70, "hr_bpm": 80, "rr_per_min": 16, "spo2_pct": 98}


def record_is_valid(store, pid: str) -> None:
    grading.from_rows(store.timeline_rows(pid), tz=store.tz)  # raises InputError if not


def one_ok_one_refused(outcomes) -> None:
    assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
    (_, error), = [o for o in outcomes if o[0] == "error"]
    assert isinstance(error, (StoreError, InputError)), repr(error)


def test_a_death_and_a_later_assessment_saved_at_once_never_both_land(store):
    for i in range(TRIALS):
        pid = f"A{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
        outcomes = at_once(
            lambda p=pid: store.record_assessment(
                p, {"time": DAY + timedelta(hours=1), "died_of": "crs"}, by="nina"),
            lambda p=pid: store.record_assessment(
                p, {"time": DAY + timedelta(hours=2), "temp_c": 37.0, **VITALS}, by="drx"))
        one_ok_one_refused(outcomes)
        assert len(store.timeline_rows(pid)) == 1
        record_is_valid(store, pid)


def test_a_device_correction_and_a_flow_saved_at_once_never_both_land(store):
    for i in range(TRIALS):
        pid = f"B{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
        first = store.record_assessment(pid, {"time": DAY, "o2_device": "nasal_cannula",
                                              "o2_flow_l_min": 2, **VITALS}, by="nina")
        outcomes = at_once(
            lambda a=first: store.amend_assessment(
                a, {"time": DAY, "o2_device": "room_air", **VITALS}, reason="misread",
                by="drx"),
            lambda p=pid: store.record_assessment(
                p, {"time": DAY + timedelta(hours=1), "o2_flow_l_min": 4}, by="nina"))
        one_ok_one_refused(outcomes)
        record_is_valid(store, pid)


def test_two_bedside_saves_for_one_patient_at_once_both_regrade_and_raise_their_flags(store):
    for i in range(TRIALS):
        pid = f"C{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
        outcomes = at_once(*(
            lambda p=pid, h=h: ward.save(
                store, p, {"time": DAY + timedelta(hours=h), "temp_c": 38.6, **VITALS},
                by="nina")
            for h in (1, 2)))
        assert [k for k, _ in outcomes] == ["ok", "ok"], outcomes
        for _, saved in outcomes:
            assert saved.problem is None and saved.result is not None
            assert saved.result.crs.grade == 1
        assert len(store.timeline_rows(pid)) == 2
        fever = [f for f in store.flags(pid) if f["code"] != "" and "overdue" not in f["code"]]
        keys = [(f["code"], f["raised_at"]) for f in fever]
        assert fever and len(keys) == len(set(keys)), keys  # raised, and each once


def test_a_save_whose_flag_update_fails_is_kept_and_says_so(store, monkeypatch, caplog):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")

    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(escalation, "evaluate_course", broken)
    with caplog.at_level(logging.ERROR, logger="monitoring.ward"):
        saved = ward.save(store, "P1", {"time": DAY, "temp_c": 39.0, **VITALS}, by="nina")
    assert saved.result is None and saved.flags == []
    assert saved.problem == ward.FLAGS_NOT_UPDATED
    assert saved.problem.startswith("saved; the flags could not be updated")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [39.0]
    assert "flags not updated" in caplog.text
    monkeypatch.undo()  # the next save resyncs: the fever flag is raised then
    ward.sync_flags(store, "P1", "nina")
    assert any(f["code"].startswith("crs") or f["severity"] for f in store.flags("P1"))


def test_two_workstations_raising_overdue_flags_at_once_raise_each_once(store):
    now = DAY + timedelta(hours=20)
    for i in range(8):
        pid = f"D{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION, "bed": str(i),
                     "admitted_at": INFUSION}, by="drx")
        store.record_assessment(pid, {"time": DAY, "temp_c": 37.0, **VITALS}, by="nina")
    outcomes = at_once(*(lambda: ward.raise_overdue(store, ward.ward_overview(store, now), now)
                         for _ in range(2)))
    assert [k for k, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(n for _, n in outcomes) > 0
    for i in range(8):
        keys = [(f["code"], f["raised_at"]) for f in store.flags(f"D{i}")]
        assert keys and len(keys) == len(set(keys)), (i, keys)


def test_two_acknowledgements_of_one_flag_at_once_record_one(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    for i in range(TRIALS):
        flag = store.raise_flag("P1", f"test_{i}", "review", "check", DAY)
        outcomes = at_once(*(lambda u=u, f=flag: store.acknowledge_flag(f, "seen", by=u)
                             for u in ("nina", "drx")))
        one_ok_one_refused(outcomes)
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert "already acknowledged" in str(error)
    assert len(store.flags("P1")) == TRIALS  # one row per flag: never doubled by two acks
