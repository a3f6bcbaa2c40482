"""The one read model of a patient (monitoring/course.py): "support in force" defined once and
pinned to the design rule and the compiled pass; the course read in one go, kept per data
version and read again after any write, also one written through another process's store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grading
from monitoring import course as courses
from monitoring import support, tables, ward
from monitoring.course import Support, course, engine_oxygen_and_pressors, support_in_force
from monitoring.store import StoreError, WardStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEVICES = (None, None, "room_air", "nasal_cannula", "high_flow_nasal_cannula",
           "simple_face_mask", "cpap")
FLOWS = (None, None, 0.0, 2.0, 6.0, 40.0)
FIO2S = (None, None, 21.0, 40.0)
PRESSORS = (None, None, "none", "norepinephrine", "norepinephrine;vasopressin", "dobutamine")


# ------------------------------------------------------------------ the design rule, plainly
def plain_device(rows, i):
    """Blank means unchanged: the latest device recorded at or before row i."""
    return next((rows[j]["o2_device"] for j in range(i, -1, -1)
                 if rows[j].get("o2_device") is not None), None)


def plain_changed(rows, i):
    """The row where the device in force at row i was last changed: the latest row up to i
    recording a device different from the one in force just before it."""
    return next((j for j in range(i, -1, -1) if rows[j].get("o2_device") is not None
                 and rows[j]["o2_device"] != (plain_device(rows, j - 1) if j else None)), None)


def plain_value(rows, i, name):
    """A flow (or FiO2) applies only to the device it was recorded with or after; room air
    ends it; no device, no flow."""
    device = plain_device(rows, i)
    if device in (None, "room_air"):
        return None
    since = plain_changed(rows, i)
    return next((rows[j][name] for j in range(i, since - 1, -1)
                 if rows[j].get(name) is not None), None)


def plain_pressors(rows, i):
    return next((rows[j]["vasopressors"] for j in range(i, -1, -1)
                 if rows[j].get("vasopressors") is not None), None)


@st.composite
def courses_of_support(draw):
    """One patient's rows, hourly, each changing (or leaving blank) device, flow, FiO2 and
    vasopressors - kept valid: no flow or FiO2 above 21 % without an oxygen device."""
    rows, device = [], None
    for i in range(draw(st.integers(1, 12))):
        row = {"patient_id": "P", "time": T0 + timedelta(hours=i)}
        d = draw(st.sampled_from(DEVICES))
        device = d or device
        flow, fio2 = draw(st.sampled_from(FLOWS)), draw(st.sampled_from(FIO2S))
        if device in (None, "room_air"):
            flow = None if flow is None else 0.0
            fio2 = None if fio2 is None else 21.0
        for name, v in (("o2_device", d), ("o2_flow_l_min", flow), ("fio2_pct", fio2),
                        ("vasopressors", draw(st.sampled_from(PRESSORS)))):
            if v is not None:
                row[name] = v
        rows.append(row)
    return rows


@settings(max_examples=80, deadline=None)
@given(courses_of_support())
def test_support_in_force_is_the_design_rule_read_plainly(rows):
    support = support_in_force(rows)
    assert len(support) == len(rows)
    for i, s in enumerate(support):
        assert s.o2_device == plain_device(rows, i)
        assert s.o2_flow_l_min == plain_value(rows, i, "o2_flow_l_min")
        assert s.fio2_pct == plain_value(rows, i, "fio2_pct")
        assert s.vasopressors == plain_pressors(rows, i)


@settings(max_examples=40, deadline=None)
@given(courses_of_support())
def test_support_in_force_is_what_the_compiled_pass_grades_with(rows):
    g = grading.grade(grading.from_rows(rows))
    s_of = g.sorted_of(np.arange(len(rows)))
    for i, s in enumerate(support_in_force(rows)):
        device, flow, agents = engine_oxygen_and_pressors(g, int(s_of[i]))
        assert (device, flow, agents) == (s.o2_device, s.o2_flow_l_min, s.agents)
        engine_flow = float(g.col["flow"][s_of[i]])
        if s.on_oxygen:  # the raw array too: the flow the pass read, or none
            assert (None if engine_flow != engine_flow else engine_flow) == s.o2_flow_l_min


def row(hour, **values):
    return {"patient_id": "P", "time": T0 + timedelta(hours=hour), **values}


def test_a_flow_does_not_follow_the_patient_onto_a_new_device():
    s = support_in_force([row(0, o2_device="nasal_cannula", o2_flow_l_min=2.0),
                          row(1, o2_device="simple_face_mask")])
    assert s[0] == Support("nasal_cannula", 2.0, None, None, 0)
    assert s[1] == Support("simple_face_mask", None, None, None, 1)


def test_recording_the_same_device_again_keeps_its_flow():
    s = support_in_force([row(0, o2_device="nasal_cannula", o2_flow_l_min=2.0),
                          row(1, o2_device="nasal_cannula", spo2_pct=95.0), row(2)])
    assert [x.o2_flow_l_min for x in s] == [2.0, 2.0, 2.0]


def test_room_air_ends_oxygen_and_none_ends_vasopressors():
    s = support_in_force([row(0, o2_device="high_flow_nasal_cannula", o2_flow_l_min=40.0,
                              fio2_pct=60.0, vasopressors="norepinephrine"),
                          row(1, o2_device="room_air", vasopressors="none"),
                          row(2, o2_device="nasal_cannula")])
    assert s[0].agents == ("norepinephrine",) and s[0].on_oxygen
    assert s[1] == Support("room_air", None, None, "none", 1) and s[1].agents == ()
    assert s[2].o2_flow_l_min is None and s[2].fio2_pct is None  # not the old 40 L/min


def test_a_flow_recorded_after_the_device_change_applies():
    s = support_in_force([row(0, o2_device="simple_face_mask"), row(1, o2_flow_l_min=5.0)])
    assert s[1] == Support("simple_face_mask", 5.0, None, None, 0)


# ------------------------------------------------------------------ the course, and its cache
def admit(store, pid="P1"):
    store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")


def save(store, minutes_ago, pid="P1", **values):
    return ward.save(store, pid, {"time": NOW - timedelta(minutes=minutes_ago), **values},
                     by="nina", now=NOW)


def test_the_course_gives_rows_recorders_grades_support_treatments_and_flags(memory_store):
    admit(memory_store)
    save(memory_store, 120, temp_c=38.4, hr_bpm=100, sbp_mmhg=120, dbp_mmhg=70,
         rr_per_min=18, spo2_pct=95, o2_device="nasal_cannula", o2_flow_l_min=2)
    save(memory_store, 60, temp_c=38.6, spo2_pct=93)
    memory_store.record_administration("P1", "tocilizumab", NOW - timedelta(minutes=30),
                                       by="nina", dose=560)
    c = course(memory_store, "P1")
    assert [r["temp_c"] for r in c.rows] == [38.4, 38.6]
    assert [by for by, _ in c.recorded] == ["nina", "nina"]
    assert [r.crs.grade for r in c.results] == [2, 2]  # fever + oxygen <= 6 L/min (ASTCT)
    assert any("2 L/min" in r.finding or "nasal" in r.finding.lower()
               for r in c.current.crs.reasons)
    assert c.support_now == Support("nasal_cannula", 2.0, None, None, 0)
    assert [m["kind"] for m in c.administrations] == ["tocilizumab"]
    assert c.flags and c.flags == memory_store.open_flags("P1")
    assert c.due.vitals_due is not None and c.news is not None


def test_a_patient_with_no_assessments_has_an_empty_course(memory_store):
    admit(memory_store)
    c = course(memory_store, "P1")
    assert (c.rows, c.results, c.support, c.current) == ([], [], [], None)
    assert c.support_now == courses.NO_SUPPORT


def test_an_unknown_patient_is_named(memory_store):
    with pytest.raises(StoreError, match="unknown patient 'NOPE'"):
        course(memory_store, "NOPE")


def test_the_course_is_kept_until_a_write_changes_the_data_version(memory_store):
    admit(memory_store)
    save(memory_store, 60, temp_c=37.0)
    first = course(memory_store, "P1")
    assert course(memory_store, "P1") is first  # nothing written: the same course
    save(memory_store, 30, temp_c=38.5)
    second = course(memory_store, "P1")
    assert second is not first and [r["temp_c"] for r in second.rows] == [37.0, 38.5]
    assert second.version > first.version


def test_a_write_through_another_store_on_the_same_database_is_seen_at_the_next_read(
        database_store, store_url):
    """Two app processes on one database (SQLite, and PostgreSQL when configured)."""
    one, other = database_store, WardStore(store_url)
    try:
        admit(one)
        save(one, 60, temp_c=37.0)
        seen = course(other, "P1")
        assert [r["temp_c"] for r in seen.rows] == [37.0]
        save(one, 30, temp_c=38.5, o2_device="nasal_cannula", o2_flow_l_min=3)
        again = course(other, "P1")
        assert [r["temp_c"] for r in again.rows] == [37.0, 38.5]
        assert again.support_now.o2_flow_l_min == 3.0
        assert again.current.crs.grade == 2
        one.acknowledge_flag(again.flags[0]["id"], "physician informed", by="nina")
        assert len(course(other, "P1").flags) == len(again.flags) - 1
    finally:
        other.engine.dispose()


def test_a_write_committing_after_a_later_one_still_changes_the_data_version(
        database_store):
    """PostgreSQL hands out audit ids when rows are inserted, so a transaction can commit
    after one that took a later id: the version must change at that commit too (here the two
    commits are made in that order with the ids given)."""
    entry = {"at": NOW, "username": "nina", "action": "note", "entity": "test"}
    with database_store.engine.begin() as conn:
        conn.execute(tables.audit_log.insert().values(id=100_001, **entry))
    seen = database_store.data_version()
    with database_store.engine.begin() as conn:
        conn.execute(tables.audit_log.insert().values(id=100_000, **entry))
    assert database_store.data_version() != seen


def test_the_course_is_read_again_while_writes_land_between_its_reads_then_under_the_lock(
        memory_store, monkeypatch):
    admit(memory_store)
    save(memory_store, 60, temp_c=38.1)
    versions = iter(range(1000, 2000))  # a write committing between every two reads
    monkeypatch.setattr(memory_store, "data_version", lambda: next(versions))
    real_locked, locked = memory_store.locked, []

    def locked_and_seen(patient_ids):
        locked.append(list(patient_ids))
        return real_locked(patient_ids)

    monkeypatch.setattr(memory_store, "locked", locked_and_seen)
    c = courses.read_course(memory_store, "P1")
    assert locked == [["P1"]] and [r["temp_c"] for r in c.rows] == [38.1]
    assert c.results[0].crs.grade == 1


def test_the_grades_in_the_course_are_the_engines_for_every_row(memory_store):
    admit(memory_store)
    for minutes, temp in ((180, 37.2), (120, 38.3), (60, 39.0)):
        save(memory_store, minutes, temp_c=temp, sbp_mmhg=85 if temp >= 39 else 120,
             dbp_mmhg=50 if temp >= 39 else 70)
    c = course(memory_store, "P1")
    fresh = list(grading.grade(memory_store.timeline("P1")).results())
    assert [(r.crs, r.icans, r.time) for r in c.results] == \
        [(r.crs, r.icans, r.time) for r in fresh]
    assert [r.crs.grade for r in c.results] == [0, 1, 2]  # fever, then with hypotension


# ------------------------------------------------------------------ the consumers agree
def test_the_bedside_pre_fill_does_not_carry_a_flow_onto_a_new_device(memory_store):
    admit(memory_store)
    save(memory_store, 90, o2_device="nasal_cannula", o2_flow_l_min=2, fio2_pct=30,
         temp_c=38.5, spo2_pct=95)
    save(memory_store, 60, o2_device="simple_face_mask", spo2_pct=95)
    assert ward.carried_forward(memory_store, "P1") == {"o2_device": "simple_face_mask"}
    save(memory_store, 30, o2_flow_l_min=6, spo2_pct=96)  # a flow for the mask, after it
    assert ward.carried_forward(memory_store, "P1") == {"o2_device": "simple_face_mask",
                                                        "o2_flow_l_min": 6.0}


def test_the_overview_shows_the_flow_the_grade_was_made_with(memory_store):
    admit(memory_store)
    save(memory_store, 90, o2_device="nasal_cannula", o2_flow_l_min=4, spo2_pct=95,
         temp_c=38.2)
    save(memory_store, 60, o2_device="nasal_cannula", spo2_pct=94)  # same device: flow stays
    (status,) = ward.ward_overview(memory_store, NOW)
    now = course(memory_store, "P1").support_now
    assert (status.o2_device, status.o2_flow_l_min) == ("nasal_cannula", 4.0)
    assert (now.o2_device, now.o2_flow_l_min) == (status.o2_device, status.o2_flow_l_min)
    assert status.crs.grade == 2  # low-flow oxygen with fever (ASTCT)
    assert course(memory_store, "P1").due == status.due  # one schedule, as the overview's


# -------------------------------------------------------- what a new row records (changed_support)
@pytest.mark.parametrize(("values", "carried", "recorded"), [
    # unchanged support and doses are left blank (blank = unchanged, design.md; decision W8)
    ({"temp_c": 38.1, "o2_device": "nasal_cannula", "o2_flow_l_min": 2.0},
     {"o2_device": "nasal_cannula", "o2_flow_l_min": 2.0}, {"temp_c": 38.1}),
    ({"vasopressors": "none"}, {}, {}),
    # a new flow on the same device is recorded with its device
    ({"o2_device": "nasal_cannula", "o2_flow_l_min": 4.0},
     {"o2_device": "nasal_cannula", "o2_flow_l_min": 2.0},
     {"o2_device": "nasal_cannula", "o2_flow_l_min": 4.0}),
    # a new dose is recorded with the infusions running
    ({"vasopressors": "norepinephrine", "norepinephrine_ug_min": 12.0},
     {"vasopressors": "norepinephrine", "norepinephrine_ug_min": 6.0},
     {"vasopressors": "norepinephrine", "norepinephrine_ug_min": 12.0}),
    # room air ends the flow and FiO2
    ({"o2_device": "room_air", "o2_flow_l_min": 2.0, "fio2_pct": 28},
     {"o2_device": "nasal_cannula", "o2_flow_l_min": 2.0, "fio2_pct": 28},
     {"o2_device": "room_air"}),
])
def test_a_new_row_records_only_the_support_that_changed_and_stays_valid_on_its_own(
        values, carried, recorded):
    assert support.changed_support(values, carried) == recorded
