"""The escalation rule table: each rule on both sides of its threshold, the demo cases' exact
flag sequences, the same flags however often and in whatever order the record was made, flag
withdrawal, overdue flags and the site schedule file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

import grading
from monitoring import escalation, library, schedule, ward
from monitoring.demo import standard_cases
from monitoring.review import tocilizumab_doses


@pytest.fixture
def store(memory_store):
    """The escalation rules do not depend on the database: the in-memory record, which answers as
    the database does (test_record_contract.py)."""
    return memory_store


T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASE = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
        "spo2_pct": 97, "o2_device": "room_air", "vasopressors": "none",
        "ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
        "ice_attention": 1, "consciousness": "alert", "age_years": 50}


def course(*changes: dict, patient: dict | None = None, doses=()) -> list[list[str]]:
    """Flag codes raised at each assessment of a course: a normal first row, then one row an
    hour for each ``changes`` (full vital signs each time, unless changed)."""
    rows = [{"patient_id": "P", "time": T0, **BASE}]
    for i, ch in enumerate(changes, 1):
        row = {"patient_id": "P", "time": T0 + timedelta(hours=i),
               **{k: v for k, v in BASE.items() if k not in ("o2_device", "vasopressors")},
               **ch}
        rows.append({k: v for k, v in row.items() if v is not None})
    g = grading.grade(grading.from_rows(rows))
    flags = escalation.evaluate_course(rows, lambda i: g.result_at(i, i), patient or {},
                                       list(doses))
    out: list[list[str]] = [[] for _ in rows]
    for f in flags:
        out[f.index].append(f.flag["code"])
    return out


def raised(codes: list[list[str]], code: str) -> list[int]:
    return [i for i, c in enumerate(codes) if code in c]


# ------------------------------------------------------------------------------ each rule
@pytest.mark.parametrize(("temp", "fires"), [(37.9, False), (38.0, True)])
def test_new_fever_at_38_0(temp, fires):
    assert raised(course({"temp_c": temp}), "new_fever") == ([1] if fires else [])


def test_a_continuing_fever_is_not_new_and_a_second_one_is():
    codes = course({"temp_c": 38.5}, {"temp_c": 38.9}, {"temp_c": 37.2}, {"temp_c": 38.2})
    assert raised(codes, "new_fever") == [1, 4]


@pytest.mark.parametrize(("sbp", "dbp", "fires"), [(90, 60, False), (89, 60, True),
                                                    (95, 49, True), (95, 51, False)])
def test_hypotension_below_90_or_map_below_65_in_adults(sbp, dbp, fires):
    # MAP (95 + 2 x 49) / 3 = 64.3 < 65; (95 + 2 x 51) / 3 = 65.7
    assert raised(course({"sbp_mmhg": sbp, "dbp_mmhg": dbp}), "hypotension") == (
        [1] if fires else [])


def test_hypotension_is_raised_when_it_starts_not_on_every_row():
    codes = course({"sbp_mmhg": 85}, {"sbp_mmhg": 84}, {"sbp_mmhg": 110}, {"sbp_mmhg": 86})
    assert raised(codes, "hypotension") == [1, 4]


@pytest.mark.parametrize(("spo2", "fires"), [(94, False), (93, True)])
def test_spo2_below_target_on_scale_1(spo2, fires):
    assert raised(course({"spo2_pct": spo2}), "spo2_low") == ([1] if fires else [])


@pytest.mark.parametrize(("spo2", "fires"), [(88, False), (87, True)])
def test_spo2_below_target_on_scale_2(spo2, fires):
    codes = course({"spo2_pct": spo2}, patient={"spo2_scale": 2})
    assert raised(codes, "spo2_low") == ([1] if fires else [])


def test_new_or_increased_oxygen_but_not_less():
    codes = course({"o2_device": "nasal_cannula", "o2_flow_l_min": 2, "spo2_pct": 95},
                   {"o2_flow_l_min": 2, "spo2_pct": 96},
                   {"o2_flow_l_min": 6, "spo2_pct": 96},      # a higher flow is more oxygen
                   {"o2_flow_l_min": 7, "spo2_pct": 96},      # > 6 L/min: grade 3 support
                   {"o2_flow_l_min": 3, "spo2_pct": 96},      # less: nothing
                   {"o2_device": "room_air", "spo2_pct": 96})
    assert raised(codes, "oxygen_increase") == [1, 3, 4]


@pytest.mark.parametrize(("ice", "fires"), [(10, False), (9, True)])
def test_ice_fall_of_one_point(ice, fires):
    codes = course({"ice_orientation": 4 - (10 - ice)})
    assert raised(codes, "ice_fall") == ([1] if fires else [])


def test_ice_below_the_baseline_is_raised_once():
    patient = {"baseline_ice": 10}
    codes = course({"ice_orientation": 3}, {"ice_orientation": 3}, patient=patient)
    assert raised(codes, "ice_fall") == [1]


@pytest.mark.parametrize(("change", "fires"), [
    ({"seizure": "none"}, False), ({"seizure": "resolved_rapidly"}, True),
    ({"motor_weakness": "none"}, False), ({"motor_weakness": "deep_focal"}, True),
    ({"cerebral_edema": "none"}, False), ({"cerebral_edema": "focal"}, True),
    ({"raised_icp_signs": "papilledema"}, True)])
def test_any_seizure_new_motor_weakness_oedema_or_raised_icp_is_an_emergency(change, fires):
    assert raised(course(change), "neuro_event") == ([1] if fires else [])


@pytest.mark.parametrize(("grade_change", "code", "fires"), [
    ({"temp_c": 38.5}, "crs_2", False),
    ({"temp_c": 38.5, "sbp_mmhg": 85, "fluid_bolus_given": True}, "crs_2", True),
    ({"temp_c": 38.5, "vasopressors": "norepinephrine"}, "icu_review", True),
    ({"temp_c": 38.5, "sbp_mmhg": 85, "fluid_bolus_given": True}, "icu_review", False)])
def test_crs_2_notifies_and_crs_3_prompts_icu_review(grade_change, code, fires):
    assert raised(course(grade_change), code) == ([1] if fires else [])


@pytest.mark.parametrize(("change", "code"), [
    ({"rr_per_min": 25}, "news2_5"),                              # a single red parameter
    ({"rr_per_min": 22, "hr_bpm": 95, "spo2_pct": 95, "temp_c": 37.0}, None),  # 4: nothing
    ({"rr_per_min": 22, "hr_bpm": 115, "spo2_pct": 95}, "news2_5"),            # 5
    ({"rr_per_min": 22, "hr_bpm": 115, "spo2_pct": 93, "temp_c": 38.5}, "news2_7")])
def test_news2_5_or_a_red_parameter_and_news2_7(change, code):
    codes = course(change)[1]
    assert [c for c in codes if c.startswith("news2")] == ([code] if code else [])


def test_tocilizumab_limits_are_flagged_when_reached():
    doses = [T0 + timedelta(hours=h, minutes=30) for h in (0, 1, 2)]
    codes = course({}, {}, {}, doses=doses)
    assert raised(codes, "tocilizumab_limit") == [3]  # the third dose within 24 h


def test_the_engines_review_flags_are_raised_when_new():
    codes = course({"spo2_pct": 89}, {"spo2_pct": 88})  # hypoxia, no oxygen documented
    assert raised(codes, "hypoxia_no_o2") == [1]


# ------------------------------------------------------------------------------ demo cases
EXPECTED = {  # (day after infusion, clock time, code) for each demo case, in order
    "DEMO-001": [],
    "DEMO-002": [(1, "18:00", "new_fever"), (1, "18:00", "crs_rise"),
                 (1, "22:00", "new_fever"), (1, "22:00", "crs_rise"),
                 (2, "02:00", "spo2_low"), (2, "02:00", "news2_7"), (2, "03:00", "crs_rise"),
                 (2, "03:00", "crs_2"), (2, "03:00", "hypotension"),
                 (2, "03:00", "oxygen_increase")],
    "DEMO-003": [(1, "18:00", "new_fever"), (1, "18:00", "crs_rise"),
                 (2, "02:00", "new_fever"), (2, "02:00", "crs_rise"),
                 (5, "10:00", "icans_rise"), (5, "10:00", "ice_fall"), (5, "10:00", "news2_5"),
                 (5, "14:00", "ice_fall"), (5, "18:00", "icans_rise"), (5, "18:00", "ice_fall"),
                 (5, "22:00", "ice_fall"), (6, "02:00", "icans_rise"),
                 (6, "02:00", "icu_review"), (6, "02:00", "ice_fall"),
                 # oriented with only the writing item lost (no new confusion, C21), then
                 # one orientation point lost again: a red NEWS2 parameter once more
                 (7, "14:00", "news2_5")],
    "DEMO-004": [(3, "10:00", "new_fever"), (3, "10:00", "crs_rise"), (3, "16:00", "crs_rise"),
                 (3, "16:00", "crs_2"), (3, "16:00", "hypotension"),
                 (6, "14:00", "icans_rise"), (6, "18:00", "icans_rise")],
    "DEMO-005": [(1, "14:00", "new_fever"), (1, "14:00", "crs_rise"), (1, "18:00", "crs_rise"),
                 (1, "18:00", "crs_2"), (1, "18:00", "hypotension"), (1, "18:00", "news2_7"),
                 (1, "20:00", "hypotension"), (1, "20:00", "spo2_low"),
                 (1, "20:00", "oxygen_increase"), (1, "22:00", "crs_rise"),
                 (1, "22:00", "icu_review"), (1, "22:00", "hypotension"),  # pressor started
                 (2, "00:00", "oxygen_increase")],
}


def demo_flags(store, pid):
    a, _ = store.timelines([pid])
    g = grading.grade(a)
    rows = store.timeline_rows(pid)
    flags = escalation.evaluate_course(rows, lambda i: g.result_at(i, i), store.patient(pid),
                                       tocilizumab_doses(rows, []))
    return [(g.result_at(f.index, f.index).day_post_infusion, f"{f.time:%H:%M}", f.flag["code"])
            for f in flags]


def load_cases(store, at: datetime | None = None) -> None:
    """The standard demo cases whole, by whole days (W7): the demo ward itself shows each only
    up to its now (W16)."""
    for case in standard_cases():
        library.load_case(store, case, at)


@pytest.mark.parametrize("pid", sorted(EXPECTED))
def test_each_demo_case_raises_exactly_its_flag_sequence(store, pid):
    load_cases(store, at=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    assert demo_flags(store, pid) == EXPECTED[pid]
    assert demo_flags(store, pid) == EXPECTED[pid]  # evaluating again: the same flags


# ------------------------------------------------------------------------------ the store
VITALS = [{"temp_c": 37.0, "sbp_mmhg": 120, "dbp_mmhg": 70, "spo2_pct": 97,
           "o2_device": "room_air"},
          {"temp_c": 38.6, "sbp_mmhg": 118, "dbp_mmhg": 70, "spo2_pct": 96},
          {"temp_c": 38.9, "sbp_mmhg": 86, "dbp_mmhg": 50, "spo2_pct": 95,
           "fluid_bolus_given": True},
          {"temp_c": 37.4, "sbp_mmhg": 112, "dbp_mmhg": 66, "spo2_pct": 96}]


def stored(store, pid):
    """The course's flags as stored (open or closed); the summary of a change to the past
    (E13) is about that change, not the course, so it is left out."""
    return sorted((f["code"], f["raised_at"]) for f in store.flags(pid)
                  if f["code"] != ward.SUMMARY_CODE)


@pytest.mark.parametrize("order", list(permutations(range(4)))[::5])
def test_flags_do_not_depend_on_the_order_rows_were_entered(store, order):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=6)
    store.admit({"patient_id": "A", "infusion_time": start - timedelta(days=1)}, by="drx")
    store.admit({"patient_id": "B", "infusion_time": start - timedelta(days=1)}, by="drx")
    for i in range(4):
        ward.save(store, "A", {"time": start + timedelta(hours=i), **VITALS[i]}, by="nina")
    for i in order:
        ward.save(store, "B", {"time": start + timedelta(hours=i), **VITALS[i]}, by="nina")
    assert [c for c, _ in stored(store, "B")] == [c for c, _ in stored(store, "A")]
    assert [t for _, t in stored(store, "B")] == [t for _, t in stored(store, "A")]


def test_a_correction_withdraws_a_flag_that_is_no_longer_true(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=2), **VITALS[0]}, by="nina")
    done = ward.save(store, "P", {"time": now - timedelta(hours=1), **VITALS[1]}, by="nina")
    assert {f["code"] for f in store.open_flags("P")} == {"new_fever", "crs_rise"}
    store.amend_assessment(done.assessment_id, {"time": now - timedelta(hours=1),
                                                "temp_c": 37.6, "sbp_mmhg": 118,
                                                "dbp_mmhg": 70, "spo2_pct": 96},
                           "typo: 37.6 charted as 38.6", by="nina")
    ward.sync_flags(store, "P", "nina", since=now - timedelta(hours=1))
    assert store.open_flags("P") == []
    assert {a["action"] for a in store.audit("P")} >= {"withdraw"}


def test_an_acknowledged_flag_is_never_withdrawn(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=2), **VITALS[0]}, by="nina")
    done = ward.save(store, "P", {"time": now - timedelta(hours=1), **VITALS[1]}, by="nina")
    fever = next(f for f in store.open_flags("P") if f["code"] == "new_fever")
    store.acknowledge_flag(fever["id"], "physician informed", by="nina")
    store.amend_assessment(done.assessment_id, {"time": now - timedelta(hours=1),
                                                "temp_c": 37.6}, "typo", by="nina")
    ward.sync_flags(store, "P", "nina", since=now - timedelta(hours=1))
    history = {f["code"]: f for f in store.flags("P")}
    assert history["new_fever"]["ack_action"] == "physician informed"


def test_overdue_observations_are_raised_once_and_again_when_an_hour_late(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=4, minutes=30), **VITALS[0],
                           "hr_bpm": 80, "rr_per_min": 16, "ice_orientation": 4,
                           "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
                           "ice_attention": 1, "consciousness": "alert"}, by="nina")
    due = now - timedelta(minutes=30)
    statuses = ward.ward_overview(store, now)
    assert statuses[0].overdue == ["vital signs"]
    assert ward.raise_overdue(store, statuses, now) == 1
    assert ward.raise_overdue(store, statuses, now + timedelta(minutes=5)) == 0
    (f,) = [f for f in store.open_flags("P") if f["code"].startswith("overdue")]
    assert (f["code"], f["severity"], f["raised_at"]) == ("overdue_vitals", "info", due)
    later = now + timedelta(minutes=31)  # 61 min late: urgent, a flag of its own
    assert ward.raise_overdue(store, ward.ward_overview(store, later), later) == 1
    urgent = [f for f in store.open_flags("P") if f["code"] == "overdue_vitals_1h"]
    assert [(f["severity"], f["raised_at"]) for f in urgent] == [
        ("urgent", due + timedelta(hours=1))]


def test_a_patient_never_observed_is_overdue_from_admission(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "Q", "admitted_at": now - timedelta(hours=2)}, by="drx")
    statuses = ward.ward_overview(store, now)
    assert ward.raise_overdue(store, statuses, now) == 4  # vitals and neuro, info and urgent
    codes = sorted(f["code"] for f in store.open_flags("Q"))
    assert codes == ["overdue_neuro", "overdue_neuro_1h", "overdue_vitals", "overdue_vitals_1h"]


# ------------------------------------------------------------------------------ schedule file
def test_the_shipped_schedule_file_is_the_documented_default():
    t = schedule.load()
    assert t == {"VITALS_EVERY": schedule.VITALS_EVERY, "NEURO_EVERY": schedule.NEURO_EVERY,
                 "NEWS2_EVERY": schedule.NEWS2_EVERY}


@pytest.mark.parametrize(("text", "problem"), [
    ("", "[vitals_every_hours] is missing"),
    ("[vitals_every_hours]\n0 = 4\n[neuro_every_hours]\n0 = 8\n[news2_every_hours]\n0 = -1\n",
     "0 = -1: hours above 0"),
    ("[vitals_every_hours]\n1 = 4\n[neuro_every_hours]\n0 = 8\n[news2_every_hours]\n0 = 1\n",
     "needs a row for 0"),
    ("[vitals_every_hours]\n0 = 4\n1 = 6\n[neuro_every_hours]\n0 = 8\n"
     "[news2_every_hours]\n0 = 1\n", "may not allow a longer gap"),
    ("[vitals_every_hours\n", "Expected"),
])
def test_a_bad_schedule_file_is_refused_naming_the_key(tmp_path, text, problem):
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    with pytest.raises(schedule.ScheduleError, match=None) as e:
        schedule.load(path)
    assert problem in str(e.value)


@pytest.mark.parametrize(("total", "red", "hours"), [
    (0, False, 4), (1, False, 4), (4, False, 4), (3, True, 1), (5, False, 1), (7, False, 0.25)])
def test_news2_tightens_the_vital_signs_interval(total, red, hours):
    d = schedule.due(T0, T0, 0, 0, total, red)
    assert d.vitals_due == T0 + timedelta(hours=hours)


# ------------------------------------------------------------------------------ review findings
def test_news2_adds_up_values_charted_on_separate_rows():
    # new confusion (ICE 8) on a neuro row, then RR 22, HR 115, SpO2 95 on air an hour later:
    # 3 + 2 + 2 + 1 = 8 -> NEWS2 >= 7
    codes = course({"ice_orientation": 2, "temp_c": None, "hr_bpm": None, "sbp_mmhg": None,
                    "dbp_mmhg": None, "rr_per_min": None, "spo2_pct": None},
                   {"rr_per_min": 22, "hr_bpm": 115, "spo2_pct": 95, "consciousness": None,
                    **dict.fromkeys(("ice_orientation", "ice_naming", "ice_commands",
                                     "ice_writing", "ice_attention"))})
    assert "news2_7" in codes[2]


def test_a_worsening_condition_raises_again():
    codes = course(*({"sbp_mmhg": sbp, "dbp_mmhg": 40} for sbp in (88, 70, 60, 62)))
    assert raised(codes, "hypotension") == [1, 2, 3]
    codes = course({"spo2_pct": 89}, {"spo2_pct": 84}, {"spo2_pct": 85})
    assert raised(codes, "spo2_low") == [1, 2]


def test_a_vasopressor_or_bolus_for_bp_counts_as_hypotension():
    assert raised(course({"vasopressors": "norepinephrine"}), "hypotension") == [1]
    assert raised(course({"fluid_bolus_given": True}), "hypotension") == [1]


def test_more_oxygen_by_fio2_or_a_stronger_device():
    codes = course({"o2_device": "high_flow_nasal_cannula", "o2_flow_l_min": 40,
                    "fio2_pct": 40, "spo2_pct": 94},
                   {"fio2_pct": 80, "spo2_pct": 94}, {"fio2_pct": 60, "spo2_pct": 95})
    assert raised(codes, "oxygen_increase") == [1, 2]
    codes = course({"o2_device": "simple_face_mask", "o2_flow_l_min": 10, "spo2_pct": 94},
                   {"o2_device": "high_flow_nasal_cannula", "spo2_pct": 94})
    assert raised(codes, "oxygen_increase") == [1, 2]


def test_a_row_without_vital_signs_does_not_repeat_unchanged_conditions():
    bad = {"sbp_mmhg": 85, "spo2_pct": 92, "rr_per_min": 25}
    neuro_only = {"temp_c": None, "hr_bpm": None, "sbp_mmhg": None, "dbp_mmhg": None,
                  "rr_per_min": None, "spo2_pct": None}
    codes = course(bad, neuro_only, bad)
    for code in ("hypotension", "spo2_low"):
        assert raised(codes, code) == [1]
    assert [c for c in codes[3] if c.startswith("news2")] == []


def test_age_carries_forward_so_a_child_gets_no_news2():
    rows_first_only = course({"age_years": None, "hr_bpm": 125, "rr_per_min": 28},
                             patient={})
    # BASE has age 50 on the first row: the adult gets NEWS2 flags ...
    assert any(c.startswith("news2") for c in rows_first_only[1])
    child = [{"patient_id": "C", "time": T0, **(BASE | {"age_years": 4})},
             {"patient_id": "C", "time": T0 + timedelta(hours=1), "temp_c": 37.0,
              "hr_bpm": 125, "rr_per_min": 28, "sbp_mmhg": 100, "dbp_mmhg": 60,
              "spo2_pct": 97}]
    g = grading.grade(grading.from_rows(child))
    flags = escalation.evaluate_course(child, lambda i: g.result_at(i, i), {}, [])
    assert not [f for f in flags if f.flag["code"].startswith("news2")]  # ... the child not


def test_marking_the_only_febrile_assessment_in_error_withdraws_its_flags(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    done = ward.save(store, "P", {"time": now - timedelta(hours=1), "temp_c": 39.0},
                     by="nina")
    assert {f["code"] for f in store.open_flags("P")} >= {"new_fever", "crs_rise"}
    store.mark_entered_in_error(done.assessment_id, "wrong patient", by="nina")
    ward.sync_flags(store, "P", "nina", since=now - timedelta(hours=1))
    assert [f["code"] for f in store.open_flags("P")] == []


def test_a_correction_that_changes_a_finding_replaces_its_flag(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=2), **VITALS[0]}, by="nina")
    done = ward.save(store, "P", {"time": now - timedelta(hours=1), "sbp_mmhg": 85,
                                  "dbp_mmhg": 50}, by="nina")
    store.amend_assessment(done.assessment_id, {"time": now - timedelta(hours=1),
                                                "sbp_mmhg": 65, "dbp_mmhg": 40},
                           "misread: 65 not 85", by="nina")
    ward.sync_flags(store, "P", "nina", since=now - timedelta(hours=1))
    (f,) = [f for f in store.open_flags("P") if f["code"] == "hypotension"]
    assert "SBP 65" in f["message"]


def test_every_flag_says_who_responds_and_how_soon():
    for rule in escalation.RULES:
        who, when = rule.respond.split(", ")
        assert who and when in ("immediately", "within 15 min", "within 30 min",
                                "before the next dose", "before the infusion")


def test_an_overdue_flag_closes_once_the_observations_are_recorded(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    full = {**VITALS[0], "hr_bpm": 80, "rr_per_min": 16, "ice_orientation": 4,
            "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1,
            "consciousness": "alert"}
    ward.save(store, "P", {"time": now - timedelta(hours=4, minutes=30), **full}, by="nina")
    ward.raise_overdue(store, ward.ward_overview(store, now), now)
    assert [f["code"] for f in store.open_flags("P")] == ["overdue_vitals"]
    ward.save(store, "P", {"time": now - timedelta(minutes=1),
                           **{k: v for k, v in full.items() if k != "o2_device"}}, by="nina")
    ward.raise_overdue(store, ward.ward_overview(store, now), now)
    assert store.open_flags("P") == []
    (f,) = [f for f in store.flags("P") if f["code"] == "overdue_vitals"]
    assert (f["ack_by"], f["ack_action"]) == ("system", "observations recorded since")


def test_after_a_recorded_death_nothing_is_due_and_open_overdue_flags_close(store):
    """Decision S12: a death is the last assessment; no observation is due after it, so no
    overdue flag is raised for a patient who died (however late), the open ones close with
    "death recorded", and the observations-due worklist leaves the patient out."""
    from monitoring.worklist import observations_due
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=1)}, by="drx")
    full = {**VITALS[0], "hr_bpm": 80, "rr_per_min": 16, "ice_orientation": 4,
            "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1,
            "consciousness": "alert"}
    ward.save(store, "P", {"time": now - timedelta(hours=6), **full}, by="nina")
    ward.raise_overdue(store, ward.ward_overview(store, now), now)
    assert sorted(f["code"] for f in store.open_flags("P")) == ["overdue_vitals",
                                                                "overdue_vitals_1h"]
    died = now - timedelta(minutes=10)
    ward.save(store, "P", {"time": died, "died_of": "crs"}, by="drx")
    for later in (now, now + timedelta(hours=9)):
        (s,) = ward.ward_overview(store, later)
        assert (s.overdue, s.due.died_at) == ([], died)
        assert ward.raise_overdue(store, [s], later) == 0
        assert [f for f in store.open_flags("P") if f["code"].startswith("overdue")] == []
        assert [i for i in observations_due(store, later) if i.patient["patient_id"] == "P"] \
            == []
    closed = [f for f in store.flags("P") if f["code"].startswith("overdue")]
    assert {(f["ack_by"], f["ack_action"]) for f in closed} == {("system", "death recorded")}
    assert escalation.overdue_flags("P", s.due, now + timedelta(days=2)) == []
    alive = schedule.Due(None, None)  # never observed, alive: overdue from admission
    assert escalation.overdue_flags("P", alive, now, since=now - timedelta(hours=2)) != []


def test_news2_and_clinical_flags_outrank_overdue_charting_on_the_overview(store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for pid, bed in (("SICK", "1"), ("LATE", "2")):
        store.admit({"patient_id": pid, "bed": bed, "infusion_time": now - timedelta(days=1)},
                    by="drx")
    ward.save(store, "LATE", {"time": now - timedelta(hours=9), **VITALS[0], "hr_bpm": 80,
                              "rr_per_min": 16}, by="nina")
    ward.save(store, "SICK", {"time": now - timedelta(minutes=5), "temp_c": 37.0,
                              "hr_bpm": 135, "sbp_mmhg": 118, "dbp_mmhg": 70,
                              "rr_per_min": 26, "spo2_pct": 94, "o2_device": "room_air"},
              by="nina")
    for f in store.open_flags("SICK"):
        store.acknowledge_flag(f["id"], "seen", by="nina")
    statuses = ward.ward_overview(store, now)
    ward.raise_overdue(store, statuses, now)
    order = [s.patient["patient_id"] for s in ward.ward_overview(store, now)]
    assert order == ["SICK", "LATE"]  # NEWS2 >= 7 (acknowledged) above overdue charting


@pytest.mark.parametrize(("second_sbp", "again"), [(81, False), (80, True)])
def test_hypotension_worsens_one_level_per_10_mmhg(second_sbp, again):
    # SBP 89: 1 below 90 -> level 1; 80 is 10 below -> level 2 (E1b); 81 stays level 1
    codes = course(*({"sbp_mmhg": sbp, "dbp_mmhg": 40} for sbp in (89, second_sbp)))
    assert raised(codes, "hypotension") == ([1, 2] if again else [1])


@pytest.mark.parametrize(("second_spo2", "again"), [(92, False), (91, True)])
def test_spo2_worsens_one_level_per_2_points(second_spo2, again):
    # target 94 (scale 1): 93 -> level 1, 92 still level 1, 91 -> level 2 (E1b)
    codes = course({"spo2_pct": 93}, {"spo2_pct": second_spo2})
    assert raised(codes, "spo2_low") == ([1, 2] if again else [1])


# ------------------------------------------------------------------- retrospective (E7)
SHOCK = {"temp_c": 38.6, "hr_bpm": 118, "sbp_mmhg": 80, "dbp_mmhg": 45, "rr_per_min": 24,
         "spo2_pct": 95, "vasopressors": "norepinephrine"}


def test_a_back_dated_entry_of_a_resolved_emergency_is_information_not_an_alarm(store):
    """Grade 3 CRS charted late, for eight hours ago (six hours before a later assessment that
    shows the patient well and off the vasopressor): each flag says it is retrospective and
    none is urgent."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=2)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=10), **BASE}, by="nina")
    ward.save(store, "P", {"time": now - timedelta(hours=2), **BASE}, by="nina")
    late = ward.save(store, "P", {"time": now - timedelta(hours=8), **SHOCK}, by="nina")
    assert late.result.crs.grade == 3
    flags = [f for f in store.flags("P") if f["code"] != ward.SUMMARY_CODE]
    assert {f["code"] for f in flags} >= {"crs_rise", "hypotension", "new_fever"}
    assert {f["severity"] for f in flags} == {"info"}
    assert all(f["message"].startswith("Retrospective: ") for f in flags)
    rise = next(f for f in flags if f["code"] == "crs_rise")
    assert rise["message"] == ("Retrospective: CRS grade 3 (was grade 0): physician review (no "
                               "longer present at the latest assessment)")
    assert rise["raised_at"] == late.result.time
    # filed in the history under one summary item, the only one left open (E13)
    assert {(f["ack_by"], f["ack_action"]) for f in flags} == {("system", ward.FILED)}
    (summary,) = store.open_flags("P")
    assert (summary["code"], summary["severity"]) == (ward.SUMMARY_CODE, "info")
    assert [f["code"] for f in late.flags] == [ward.SUMMARY_CODE]
    # evaluating again changes nothing: the retrospective flags are the same flags
    ward.sync_flags(store, "P", "nina", since=now - timedelta(hours=10))
    assert [f["id"] for f in store.open_flags("P")] == [summary["id"]]
    assert sorted(f["id"] for f in store.flags("P")) == sorted(
        [summary["id"], *(f["id"] for f in flags)])


@pytest.mark.parametrize(("before_latest", "severities"), [
    (timedelta(hours=4), {"emergency", "urgent"}),              # one routine round: about now
    (timedelta(hours=4, minutes=1), {"info"}),                  # longer: about the past
])
def test_an_emergency_charted_late_within_one_round_of_the_latest_assessment_stays_an_alarm(
        store, before_latest, severities):
    """Grade 3 CRS charted late, up to 4 h (the time a vital sign stays current) before the
    latest assessment that shows the patient well: still about now, so the alarms keep their
    severity (E14); a minute longer and they are filed as the past (E7, E13)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    latest = now - timedelta(hours=1)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=2)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=10), **BASE}, by="nina")
    ward.save(store, "P", {"time": latest, **BASE}, by="nina")
    late = ward.save(store, "P", {"time": latest - before_latest, **SHOCK}, by="nina")
    assert late.result.crs.grade == 3
    flags = [f for f in store.flags("P") if f["code"] != ward.SUMMARY_CODE]
    assert {f["code"] for f in flags} >= {"crs_rise", "hypotension", "new_fever"}
    assert {f["severity"] for f in flags} == severities


def test_a_back_dated_entry_of_a_condition_still_present_keeps_its_severity(store):
    """The same late entry while the vasopressor still runs at the latest assessment: the
    grade 3 CRS is the patient's state now, so its flag is the emergency it was."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "P", "infusion_time": now - timedelta(days=2)}, by="drx")
    ward.save(store, "P", {"time": now - timedelta(hours=10), **BASE}, by="nina")
    ward.save(store, "P", {"time": now - timedelta(hours=2),
                           **{k: v for k, v in SHOCK.items() if k != "vasopressors"}},
              by="nina")
    late = ward.save(store, "P", {"time": now - timedelta(hours=6), **SHOCK}, by="nina")
    assert late.result.crs.grade == 3
    latest = grading.grade(store.timelines(["P"])[0])
    assert list(latest.results())[-1].crs.grade == 3
    rise = [f for f in store.open_flags("P") if f["code"] == "crs_rise"
            and f["raised_at"] == late.result.time]
    assert [(f["severity"], f["message"]) for f in rise] == [
        ("emergency", "CRS grade 3 (was grade 0): physician review")]
    assert [f["severity"] for f in late.flags if f["code"] == "crs_rise"] == ["emergency"]


def test_an_attribution_on_a_demo_case_days_ago_raises_no_alarm_about_now(store):
    """The browser review's case: DEMO-005 (grade 3 CRS, now recovered), an attribution of
    hypotension on an assessment of days ago. Whatever that re-evaluation raises concerns
    the past: no emergency or urgent flag, each one marked retrospective."""
    load_cases(store)
    a, ids = store.timelines(["DEMO-005"])
    results = list(grading.grade(a).results())
    assert results[-1].crs.grade == 0
    i = next(k for k, r in enumerate(results) if r.crs.grade == 3) - 1
    store.attribute(ids[i], "hypotension", "line sepsis", by="drx")
    ward.sync_flags(store, "DEMO-005", "drx", since=results[i].time)
    clinical = [f for f in store.open_flags("DEMO-005") if not f["code"].startswith("overdue")]
    assert clinical, "the re-evaluation raises the course's flags"
    assert {f["severity"] for f in clinical} == {"info"}
    assert all(f["message"].startswith("Retrospective: ") for f in clinical)
