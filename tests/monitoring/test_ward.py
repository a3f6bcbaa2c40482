"""The ward as screens see it: normal ranges, schedule, escalation on save, the overview,
preview and save, the demo ward moved to today, settings and single sign-on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import grading
from monitoring import auth, escalation, library, schedule, settings, ward
from monitoring.demo import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    ensure_demo_ward,
    load_demo,
    standard_cases,
)
from monitoring.store import StoreError


@pytest.fixture
def store(memory_store):
    """The ward logic does not depend on the database: the in-memory record, which answers as the
    database does (test_record_contract.py); sign-in lives in the database (``database_store``)."""
    return memory_store


NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def admit(store, pid="P1", **extra):
    return store.admit({"patient_id": pid, "infusion_time": INFUSION, **extra}, by="drx")


def save(store, minutes_ago: float, pid="P1", **values):
    return ward.save(store, pid, {"time": NOW - timedelta(minutes=minutes_ago), **values},
                     by="nina")


# ------------------------------------------------------------------------------ normal ranges
@pytest.mark.parametrize(("name", "value", "mark"), [
    ("temp_c", 37.9, None), ("temp_c", 38.0, "high"),        # ASTCT fever, not NEWS2's 38.1
    ("temp_c", 36.1, None), ("temp_c", 36.0, "low"),
    ("hr_bpm", 51, None), ("hr_bpm", 50, "low"), ("hr_bpm", 90, None), ("hr_bpm", 91, "high"),
    ("sbp_mmhg", 111, None), ("sbp_mmhg", 110, "low"),
    ("sbp_mmhg", 219, None), ("sbp_mmhg", 220, "high"),
    ("rr_per_min", 12, None), ("rr_per_min", 11, "low"),
    ("rr_per_min", 20, None), ("rr_per_min", 21, "high"),
    ("spo2_pct", 96, None), ("spo2_pct", 95, "low"), ("spo2_pct", 100, None),
    ("dbp_mmhg", 40, None),                                  # no band of its own
])
def test_adult_vitals_are_marked_outside_the_news2_zero_band(name, value, mark):
    assert ward.out_of_range(name, value, 45) == mark


@pytest.mark.parametrize(("age", "sbp", "mark"), [
    (8, 86, None), (8, 85, "low"),          # 70 + 2 x 8 = 86 (spec §1.6)
    (14, 90, None), (14, 89, "low"),         # child over 10: 90
    (0.5, 70, None), (0.5, 69, "low"),       # infant: 70
])
def test_a_childs_systolic_bp_is_marked_below_the_age_threshold(age, sbp, mark):
    assert ward.out_of_range("sbp_mmhg", sbp, age) == mark


def test_a_childs_heart_and_breathing_rate_are_not_marked_by_adult_bands():
    assert ward.out_of_range("hr_bpm", 130, 4) is None
    assert ward.out_of_range("rr_per_min", 30, 4) is None
    assert ward.out_of_range("temp_c", 38.0, 4) == "high"
    assert ward.out_of_range("spo2_pct", 95, 4) == "low"


def test_unknown_age_is_marked_as_an_adult():
    assert ward.out_of_range("hr_bpm", 91, None) == "high"


# ------------------------------------------------------------------------------ schedule
@pytest.mark.parametrize(("grade", "hours"), [(0, 4), (1, 2), (2, 1), (4, 1), (None, 1)])
def test_vital_signs_are_due_more_often_as_the_crs_grade_rises(grade, hours):
    assert schedule.interval(schedule.VITALS_EVERY, grade) == timedelta(hours=hours)


@pytest.mark.parametrize(("grade", "hours"), [(0, 8), (1, 4), (2, 2), (3, 2), (None, 2)])
def test_neuro_checks_are_due_more_often_as_the_icans_grade_rises(grade, hours):
    assert schedule.interval(schedule.NEURO_EVERY, grade) == timedelta(hours=hours)


def test_an_observation_is_due_at_its_time_and_overdue_just_after():
    d = schedule.due(NOW, NOW, 0, 0)
    assert d.vitals_due == NOW + timedelta(hours=4)
    assert d.overdue(NOW + timedelta(hours=4)) == []
    assert d.overdue(NOW + timedelta(hours=4, seconds=1)) == ["vital signs"]
    assert d.overdue(NOW + timedelta(hours=8, seconds=1)) == ["vital signs", "neuro assessment"]
    assert schedule.due(None, None, 0, 0).overdue(NOW) == ["vital signs", "neuro assessment"]
    assert d.next_due(NOW) == NOW + timedelta(hours=4)


# ------------------------------------------------------------------------------ escalation
def test_a_first_fever_raises_new_fever_and_crs_rise(store):
    admit(store)
    save(store, 60, temp_c=37.9, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98, o2_device="room_air")
    done = save(store, 30, temp_c=38.0, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98)
    assert [(f["code"], f["severity"]) for f in done.flags] == [
        ("new_fever", "urgent"), ("crs_rise", "urgent")]
    assert done.result.crs.grade == 1
    stored = store.open_flags("P1")
    assert [(f["code"], f["assessment_id"], f["recorded_by"]) for f in stored] == [
        ("new_fever", done.assessment_id, "nina"), ("crs_rise", done.assessment_id, "nina")]
    assert all(f["raised_at"] == done.result.time for f in stored)


def test_an_unchanged_fever_raises_nothing_again(store):
    admit(store)
    save(store, 60, temp_c=38.4, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98, o2_device="room_air")
    again = save(store, 30, temp_c=38.9, sbp_mmhg=118, dbp_mmhg=70, spo2_pct=98)
    assert again.flags == []


def test_a_worsening_grade_raises_again_and_grade_3_is_an_emergency(store):
    admit(store)
    save(store, 90, temp_c=38.4, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98, o2_device="room_air")
    worse = save(store, 30, temp_c=38.6, sbp_mmhg=85, dbp_mmhg=50, spo2_pct=92,
                 o2_device="non_rebreather_mask", o2_flow_l_min=12)
    rise = [f for f in worse.flags if f["code"] == "crs_rise"]
    assert worse.result.crs.grade == 3
    assert rise == [{"code": "crs_rise", "severity": "emergency",
                     "respond": "physician, within 30 min",
                     "message": "CRS grade 3 (was grade 1): physician review"}]


def test_the_engines_review_flags_are_raised_once_not_on_every_row(store):
    admit(store)
    first = save(store, 60, temp_c=37.0, spo2_pct=89, o2_device="room_air")
    assert "hypoxia_no_o2" in {f["code"] for f in first.flags}
    second = save(store, 30, temp_c=37.0, spo2_pct=88)
    assert "hypoxia_no_o2" not in {f["code"] for f in second.flags}


@given(st.floats(min_value=35.0, max_value=41.0), st.floats(min_value=35.0, max_value=41.0))
def test_new_fever_fires_exactly_when_the_temperature_crosses_38(before, now):
    rows = [{"patient_id": "P", "time": NOW, "temp_c": before},
            {"patient_id": "P", "time": NOW + timedelta(hours=1), "temp_c": now}]
    g = grading.grade(grading.from_rows(rows))
    flags = escalation.evaluate_course(rows, lambda i: g.result_at(i, i), {}, [])
    fired = [f.index for f in flags if f.flag["code"] == "new_fever"]
    febrile = [grading.round_temp(t) >= 38 for t in (before, now)]
    assert fired == [i for i in (0, 1) if febrile[i] and (i == 0 or not febrile[0])]


# ------------------------------------------------------------------------------ overview
def test_the_overview_sorts_by_acuity_then_bed(store):
    for pid, bed in (("P1", "1"), ("P2", "2"), ("P3", "10")):
        admit(store, pid, bed=bed)
        save(store, 60, pid=pid, temp_c=37.0, hr_bpm=80, sbp_mmhg=120, dbp_mmhg=70,
             rr_per_min=16, spo2_pct=98, o2_device="room_air", ice_orientation=4,
             ice_naming=3, ice_commands=1, ice_writing=1, ice_attention=1,
             consciousness="alert")
    save(store, 30, pid="P3", temp_c=38.5)
    rows = ward.ward_overview(store, NOW)
    assert [r.patient["patient_id"] for r in rows] == ["P3", "P1", "P2"]
    top = rows[0]
    assert (top.crs.grade, top.crs_max, top.day_post_infusion) == (1, 1, 3)
    assert top.marks == {"temp_c": "high"}
    assert top.vitals["temp_c"] == (38.5, NOW - timedelta(minutes=30))
    assert top.vitals["hr_bpm"][1] == NOW - timedelta(minutes=60)  # latest recorded value
    assert {f["code"] for f in top.flags} == {"new_fever", "crs_rise"}
    # the temperature-only row does not reset the clock (S8): from the last full set, at CRS 1
    assert top.due.vitals_due == NOW - timedelta(minutes=60) + timedelta(hours=2)


def test_a_patient_without_assessments_is_listed_as_due_now(store):
    admit(store, "P9", bed="5")
    (row,) = ward.ward_overview(store, NOW)
    assert row.crs is None and row.last_assessed is None
    assert row.overdue == ["vital signs", "neuro assessment"]


def test_oxygen_flow_shown_belongs_to_the_device_in_force(store):
    admit(store)
    save(store, 90, o2_device="nasal_cannula", o2_flow_l_min=4, spo2_pct=95, temp_c=38.2)
    save(store, 60, o2_device="simple_face_mask", spo2_pct=95)
    (row,) = ward.ward_overview(store, NOW)
    assert (row.o2_device, row.o2_flow_l_min) == ("simple_face_mask", None)


@pytest.mark.parametrize(("at", "day"), [
    (datetime(2026, 3, 2, 23, 59, tzinfo=UTC), 0), (datetime(2026, 3, 3, 0, 0, tzinfo=UTC), 1)])
def test_day_after_infusion_counts_calendar_days_in_the_ward_zone(at, day):
    assert ward.day_post_infusion(INFUSION, at, UTC) == day


# ------------------------------------------------------------------------------ entry
def test_a_preview_grades_without_saving(store):
    admit(store)
    p = ward.preview(store, "P1", {"time": NOW, "temp_c": 38.3, "hr_bpm": 210})
    assert p.result.crs.grade == 1 and p.previous is None
    assert {"new_fever", "crs_rise"} <= {f["code"] for f in p.flags}  # what saving raises
    assert store.open_flags("P1") == []
    assert p.soft_limits and "hr_bpm" in p.soft_limits[0]
    assert store.timeline_rows("P1") == []


def test_a_preview_reports_a_hard_limit_by_column(store):
    admit(store)
    with pytest.raises(grading.InputError) as e:
        ward.preview(store, "P1", {"time": NOW, "temp_c": 50})
    (problem,) = e.value.problems
    assert (problem.field, problem.code) == ("temp_c", "hard_limit")


def test_age_comes_from_the_date_of_birth_at_the_assessment_time(store):
    admit(store, date_of_birth=date(2018, 3, 5))
    save(store, 0, sbp_mmhg=85, dbp_mmhg=50, temp_c=38.2)
    assert store.timeline_rows("P1")[0]["age_years"] == 8.0


def test_carried_forward_support_ends_with_room_air(store):
    admit(store)
    save(store, 90, o2_device="nasal_cannula", o2_flow_l_min=2, vasopressors="norepinephrine",
         temp_c=38.5)
    assert ward.carried_forward(store, "P1") == {
        "o2_device": "nasal_cannula", "o2_flow_l_min": 2, "vasopressors": "norepinephrine"}
    save(store, 60, o2_device="room_air", vasopressors="none")
    assert ward.carried_forward(store, "P1") == {"o2_device": "room_air",
                                                 "vasopressors": "none"}


@pytest.mark.parametrize(("ago", "ok"), [
    (timedelta(0), True), (timedelta(hours=24), True), (timedelta(hours=24, seconds=1), False),
    (timedelta(seconds=-1), False)])
def test_back_dating_is_allowed_up_to_24_hours_and_never_into_the_future(ago, ok):
    assert (ward.backdating_problem(NOW - ago, NOW) is None) == ok


def test_only_clinical_roles_save_assessments(store):
    admit(store)
    with pytest.raises(StoreError, match="eddie"):
        ward.save(store, "P1", {"time": NOW, "temp_c": 37.0}, by="eddie")


# ------------------------------------------------------------------------------ demo ward
def test_demo_cases_move_by_whole_days_to_end_within_the_last_day(store):
    at = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)
    for case in standard_cases():
        data = library.shifted_timeline(case.timeline, library.shift_for(case.timeline, at, UTC))
        infusion = library.infusion_of(data, UTC)
        moved, original = grading.read_csv(data), grading.read_csv(case.timeline)
        last = moved.frame["time"].max()
        assert at - timedelta(days=1) < last <= at
        shift = moved.frame["time"] - original.frame["time"]
        assert shift.nunique() == 1 and shift.iat[0] % timedelta(days=1) == timedelta(0)
        def course(a: grading.Assessments) -> list[tuple[object, ...]]:
            return [(r.crs.grade, r.crs.status, r.icans.grade, r.icans.status,
                     r.day_post_infusion) for r in grading.grade(a).results()]
        assert course(moved) == course(original)
        assert infusion == moved.frame["infusion_time"].iat[0].to_pydatetime()


def test_the_embedded_demo_ward_has_demo_accounts_that_sign_in(database_store):
    store = database_store
    ensure_demo_ward(store)
    for name, (role, _) in DEMO_ACCOUNTS.items():
        result = store.sign_in(name, DEMO_PASSWORD)
        assert result.ok and result.user["role"] == role
    ensure_demo_ward(store)  # a second start changes nothing
    assert len(store.patients(demo=True)) == 5


def test_a_reset_on_another_day_moves_the_cases_and_closes_demo_flags(store):
    load_demo(store, at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    store.raise_flag("DEMO-001", "new_fever", "urgent", "x", NOW)
    load_demo(store, reset=True, at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    assert store.open_flags("DEMO-001") == []
    rows = store.timeline_rows("DEMO-001")
    assert rows[-1]["time"] > datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert store.patient("DEMO-001")["infusion_time"] == rows[0]["infusion_time"]


# ------------------------------------------------------------------------------ settings, SSO
def test_settings_defaults_and_a_configured_idle_timeout():
    s = settings.load({})
    assert (s.ward_tz, s.policy.idle_timeout, s.demo_ward, s.sso_role_claim) == (
        "UTC", timedelta(minutes=15), True, "ward_role")
    s = settings.load({"WARD_IDLE_TIMEOUT_MINUTES": "0.5", "DATABASE_URL": "postgresql://x/y"})
    assert s.policy.idle_timeout == timedelta(seconds=30)
    assert not s.demo_ward  # demo accounts never on a chosen ward database


@pytest.mark.parametrize("bad", ["abc", "0", "-3"])
def test_a_bad_idle_timeout_stops_the_app_with_a_clear_message(bad):
    with pytest.raises(SystemExit, match="WARD_IDLE_TIMEOUT_MINUTES"):
        settings.load({"WARD_IDLE_TIMEOUT_MINUTES": bad})


@pytest.mark.parametrize(("claims", "role"), [
    ({"ward_role": "nurse"}, "nurse"), ({"ward_role": "Physician "}, "physician"),
    ({"ward_role": ["staff", "nurse"]}, "nurse"), ({"ward_role": ["nurse", "admin"]}, None),
    ({"ward_role": "surgeon"}, None), ({}, None), ({"ward_role": 3}, None)])
def test_the_sso_role_comes_from_one_claim_naming_exactly_one_ward_role(claims, role):
    assert auth.role_from_claims(claims, "ward_role") == role


def test_an_sso_sign_in_creates_the_account_without_a_password_and_audits(
        database_store):
    store = database_store
    r = store.sso_sign_in("ann@example.org", "Ann", "nurse")
    assert r.ok and r.user["role"] == "nurse"
    assert not store.sign_in("ann@example.org", "").ok  # no local password
    assert store.sso_sign_in("bob@example.org", "Bob", None).ok is False
    store.set_active("ann@example.org", False, by="system")
    assert store.sso_sign_in("ann@example.org", "Ann", "nurse").ok is False
    actions = [a["action"] for a in store.audit()]
    assert {"sign_in_sso", "sso_refused", "sign_in_disabled"} <= set(actions)
