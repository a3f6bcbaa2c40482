"""One contract for every ward record: in memory, SQLite and (with ``TEST_DATABASE_URL``)
PostgreSQL answer and refuse alike, so tests that use the in-memory record test what the ward
runs on (issue 17, part 7): record, amend, mark in error, the effective rows, medications,
flags and their acknowledgement, the audit trail, and one unit of work that lands or not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from grading.parse import InputError
from monitoring.store import StoreError, WardStore

from .conftest import INFUSION

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def temps(store: WardStore) -> list[tuple[datetime, float]]:
    return [(r["time"], r.get("temp_c")) for r in store.timeline_rows("P")]


def test_recorded_rows_come_back_in_time_order_with_who_recorded_them(record):
    late = record.record_assessment("P", {"time": T0 + timedelta(hours=1), "temp_c": 37.2},
                                    by="nina")
    early = record.record_assessment("P", {"time": T0, "temp_c": 38.4}, by="drx")
    assert temps(record) == [(T0, 38.4), (T0 + timedelta(hours=1), 37.2)]
    assert [(h.id, h.recorded_by, h.status) for h in record.history("P")] == [
        (early, "drx", "final"), (late, "nina", "final")]
    assert record.timeline_rows("P")[0]["infusion_time"] == INFUSION
    a, ids = record.timelines(["P"])
    assert a is not None and len(a) == 2 and ids == [early, late]


def test_a_second_assessment_at_the_same_time_is_refused(record):
    record.record_assessment("P", {"time": T0, "temp_c": 37.0}, by="nina")
    with pytest.raises(StoreError, match="already has an assessment at 02 Mar 2026 08:00: "
                                         "amend it instead"):
        record.record_assessment("P", {"time": T0, "temp_c": 38.0}, by="drx")
    assert temps(record) == [(T0, 37.0)]


def test_an_amendment_replaces_the_row_and_keeps_the_original_in_the_history(record):
    first = record.record_assessment("P", {"time": T0, "temp_c": 37.0}, by="nina")
    with pytest.raises(StoreError, match="a correction needs a reason"):
        record.amend_assessment(first, {"time": T0, "temp_c": 38.1}, reason=" ", by="nina")
    new = record.amend_assessment(first, {"time": T0, "temp_c": 38.1}, reason="misread",
                                  by="nina")
    assert temps(record) == [(T0, 38.1)]
    assert [(h.id, h.status, h.replaces_id, h.reason) for h in record.history("P")] == [
        (first, "amended", None, None), (new, "final", first, "misread")]
    with pytest.raises(StoreError, match=f"already corrected by {new}"):
        record.amend_assessment(first, {"time": T0, "temp_c": 39.0}, reason="x", by="nina")


def test_marking_in_error_removes_the_row_from_the_effective_record_only(record):
    first = record.record_assessment("P", {"time": T0, "temp_c": 39.5}, by="nina")
    with pytest.raises(StoreError, match="needs a reason"):
        record.mark_entered_in_error(first, "", by="nina")
    record.mark_entered_in_error(first, "wrong patient", by="nina")
    assert record.timeline_rows("P") == []
    assert [h.status for h in record.history("P")] == ["entered_in_error", "entered_in_error"]
    with pytest.raises(StoreError, match="already corrected"):
        record.mark_entered_in_error(first, "again", by="nina")
    # the time is free again
    record.record_assessment("P", {"time": T0, "temp_c": 37.0}, by="nina")
    assert temps(record) == [(T0, 37.0)]


def test_a_flow_relies_on_the_device_in_force_and_that_device_cannot_then_be_removed(record):
    device = record.record_assessment("P", {"time": T0, "o2_device": "nasal_cannula",
                                            "o2_flow_l_min": 2}, by="nina")
    record.record_assessment("P", {"time": T0 + timedelta(hours=1), "o2_flow_l_min": 4},
                             by="nina")
    with pytest.raises(StoreError, match="would leave the patient's record inconsistent"):
        record.mark_entered_in_error(device, "wrong row", by="nina")
    assert [r.get("o2_flow_l_min") for r in record.timeline_rows("P")] == [2.0, 4.0]


def test_nothing_follows_a_recorded_death(record):
    record.record_assessment("P", {"time": T0, "died_of": "crs"}, by="drx")
    with pytest.raises(StoreError, match="has a death recorded at"):
        record.record_assessment("P", {"time": T0 + timedelta(hours=1), "temp_c": 37.0},
                                 by="nina")


def test_a_bad_value_is_refused_naming_the_column(record):
    with pytest.raises(InputError, match="temp_c"):
        record.record_assessment("P", {"time": T0, "temp_c": 52.0}, by="nina")
    assert record.timeline_rows("P") == []


def test_an_educator_charts_for_demo_patients_only(record):
    with pytest.raises(StoreError, match=r"user 'eddie' \(educator\) may not do this"):
        record.record_assessment("P", {"time": T0, "temp_c": 37.0}, by="eddie")


def test_a_dose_counts_on_the_first_assessment_at_or_after_it(record):
    record.record_assessment("P", {"time": T0, "temp_c": 39.0}, by="nina")
    record.record_assessment("P", {"time": T0 + timedelta(hours=2), "temp_c": 38.0}, by="nina")
    record.record_administration("P", "tocilizumab", T0 + timedelta(hours=1), by="nina",
                                 dose=560)
    assert [r.get("tocilizumab_given") for r in record.timeline_rows("P")] == [None, True]
    (dose,) = record.administrations("P")
    assert (dose["kind"], dose["dose"], dose["unit"]) == ("tocilizumab", 560, "mg")


def test_a_physicians_attribution_follows_the_row_through_an_amendment(record):
    first = record.record_assessment("P", {"time": T0, "temp_c": 38.6}, by="nina")
    record.attribute(first, "fever", "line infection", by="drx")
    record.amend_assessment(first, {"time": T0, "temp_c": 38.9}, reason="misread", by="nina")
    (row,) = record.timeline_rows("P")
    assert (row["temp_c"], row["attributed_elsewhere"]) == (38.9, "fever")


def test_flags_are_raised_acknowledged_once_and_withdrawn_only_while_open(record):
    fever = record.raise_flag("P", "new_fever", "review", "New fever 38.6 °C", T0)
    low = record.raise_flag("P", "hypotension", "urgent", "Systolic 85", T0 + timedelta(hours=1))
    assert [f["id"] for f in record.open_flags("P")] == [fever, low]
    record.acknowledge_flag(fever, "physician informed", by="nina")
    with pytest.raises(StoreError, match="already acknowledged by nina"):
        record.acknowledge_flag(fever, "again", by="drx")
    with pytest.raises(StoreError, match="an acknowledged flag stays as it is"):
        record.withdraw_flag(fever, "no longer true")
    with pytest.raises(StoreError, match="dismissing a flag needs a reason"):
        record.acknowledge_flag(low, "seen", by="nina", dismiss=True)
    record.withdraw_flag(low, "corrected")
    assert record.open_flags("P") == []
    (shown,) = record.flags("P")
    assert (shown["id"], shown["ack_action"], shown["ack_by"], shown["ack_dismissed"]) == (
        fever, "physician informed", "nina", False)


def test_several_flags_are_closed_in_one_unit_all_or_none_and_only_by_clinical_roles(record):
    """Decision E12 on every record: one acknowledgement per flag, audited each; a set with one
    flag already closed lands nothing; an administrator or an educator (real patient) is
    refused; a flag for the physician is dismissed by a physician only."""
    record.add_user("ada", "admin")
    ids = [record.raise_flag("P", "spo2_low", "urgent", f"SpO2 9{i} %", T0 + timedelta(hours=i),
                             respond="physician, within 30 min") for i in range(3)]
    for who, words in (("ada", "only a nurse or a physician"), ("eddie", "demo patients only")):
        with pytest.raises(StoreError, match=words):
            record.acknowledge_flags(ids, "seen", by=who)
    with pytest.raises(StoreError, match="dismissed by a physician only"):
        record.acknowledge_flags(ids, "dismissed", by="nina", dismiss=True, reason="artefact")
    record.acknowledge_flag(ids[2], "physician informed", by="nina")
    with pytest.raises(StoreError, match="already acknowledged by nina"):
        record.acknowledge_flags(ids, "seen", by="drx")
    assert [f["id"] for f in record.open_flags("P")] == ids[:2]
    record.acknowledge_flags(ids[:2], "dismissed", by="drx", dismiss=True, reason="artefact")
    assert record.open_flags("P") == []
    assert [(e["action"], e["entity_id"], e["username"]) for e in record.audit("P")
            if e["action"] in ("acknowledge", "dismiss")] == [
        ("acknowledge", str(ids[2]), "nina"), ("dismiss", str(ids[0]), "drx"),
        ("dismiss", str(ids[1]), "drx")]


def test_every_write_is_audited_with_who_and_an_aware_time(record):
    before = record.data_version()
    first = record.record_assessment("P", {"time": T0, "temp_c": 37.0}, by="nina")
    record.amend_assessment(first, {"time": T0, "temp_c": 37.4}, reason="misread", by="drx")
    flag = record.raise_flag("P", "new_fever", "review", "New fever", T0)
    record.acknowledge_flag(flag, "seen", by="nina")
    entries = record.audit("P")
    assert [(e["action"], e["username"]) for e in entries] == [
        ("admit", "drx"), ("record", "nina"), ("amend", "drx"), ("raise", "system"),
        ("acknowledge", "nina")]
    assert all(e["at"].tzinfo is not None for e in entries)
    assert json.loads(entries[2]["before"])["temp_c"] == 37.0
    assert json.loads(entries[2]["after"])["temp_c"] == 37.4
    assert record.data_version() > before


def test_a_failure_inside_one_unit_of_work_leaves_nothing_behind(record):
    with pytest.raises(RuntimeError), record.locked(["P"]):
        record.record_assessment("P", {"time": T0, "temp_c": 38.5}, by="nina")
        record.raise_flag("P", "new_fever", "review", "New fever", T0)
        raise RuntimeError("the flag resync failed")
    assert record.timeline_rows("P") == [] and record.flags("P") == []
    assert [e["action"] for e in record.audit("P")] == ["admit"]


def test_a_savepoint_undoes_its_own_part_only(record):
    with record.locked(["P"]):
        record.record_assessment("P", {"time": T0, "temp_c": 38.5}, by="nina")
        with pytest.raises(StoreError), record.savepoint():
            record.raise_flag("P", "new_fever", "review", "New fever", T0)
            record.raise_flag("P", "x", "not a severity", "?", T0)
    assert temps(record) == [(T0, 38.5)] and record.flags("P") == []


def test_a_one_off_task_is_claimed_once(record):
    assert record.claim_once("resync") is True
    assert record.claim_once("resync") is False


def test_an_import_lands_whole_and_exports_back_to_the_same_rows(record):
    text = ("patient_id,time,infusion_time,temp_c,o2_device,o2_flow_l_min\n"
            "Q,2026-03-02T08:00:00+00:00,2026-03-01T10:00:00+00:00,38.2,nasal_cannula,2\n"
            "Q,2026-03-02T09:00:00+00:00,2026-03-01T10:00:00+00:00,38.9,,3\n")
    assert record.import_csv(text.encode(), by="nina") == 2
    assert record.patient("Q")["infusion_time"] == INFUSION
    rows = record.timeline_rows("Q")
    assert [(r["temp_c"], r.get("o2_device"), r["o2_flow_l_min"]) for r in rows] == [
        (38.2, "nasal_cannula", 2.0), (38.9, None, 3.0)]
    exported = record.export_csv("Q").splitlines()
    assert exported[1].startswith("Q,2026-03-02T08:00:00+00:00,")
    with pytest.raises(InputError, match=r"row 1, column time.*already has an assessment"):
        record.import_csv(text.encode(), by="nina")
    assert len(record.timeline_rows("Q")) == 2
    # a flow continuing the device already on record imports on its own
    more = "patient_id,time,o2_flow_l_min\nQ,2026-03-02T10:00:00+00:00,4\n"
    assert record.import_csv(more.encode(), by="nina") == 1


def test_admission_details_change_with_a_reason_and_a_discharge_leaves_the_ward_list(record):
    with pytest.raises(StoreError, match="needs a reason"):
        record.update_patient("P", {"bed": "4"}, reason="", by="drx")
    with pytest.raises(StoreError, match=r"Weight \(kg\)"):
        record.update_patient("P", {"weight_kg": 900}, reason="typo", by="drx")
    record.update_patient("P", {"bed": "4"}, reason="moved", by="drx")
    assert record.patient("P")["bed"] == "4"
    record.discharge("P", by="drx", at=T0)
    assert record.patients(admitted_only=True) == []
    assert [p["patient_id"] for p in record.patients()] == ["P"]
    # PostgreSQL's triggers add their own row audit of each UPDATE (db_update, migration 0010)
    assert [e["action"] for e in record.audit("P") if not e["action"].startswith("db_")] == [
        "admit", "update", "discharge"]
