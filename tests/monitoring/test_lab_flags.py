"""Marker flags (issue 20 point 4; decisions E15-E17): the IEC-HS screen with its ferritin
course and a low fibrinogen are flags of the lab course, sourced in plain words, raised at the
time the sample was taken, once, resynced when a result is recorded, amended or marked in
error; a result beyond its plausibility limit is refused at every way in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.lab_scores import iechs
from grading.lab_scores.labs import LabValue
from monitoring import escalation, services, ward
from monitoring.store import StoreError, WardStore

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
T = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)   # day +3
ULN = iechs.LIMITS["ferritin_uln"]           # 400 ng/mL (decision L12)


def at(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def flags(labs: list[tuple[str, float, datetime]], lln: float = 200.0,
          infusion: datetime | None = INFUSION) -> list[escalation.CourseFlag]:
    values = [LabValue(test, value, when) for test, value, when in labs]
    return escalation.evaluate_labs(escalation.lab_contexts(values, infusion, UTC,
                                                            lambda _: {"fibrinogen_lln": lln}))


def codes(found: list[escalation.CourseFlag]) -> list[tuple[str, str]]:
    return [(f.flag["code"], f.flag["severity"]) for f in found]


# ------------------------------------------------------------------------------ IEC-HS screen
PLATELETS_LOW = ("platelets", 20.0, at(0))   # no value at infusion: a new cytopenia


@pytest.mark.parametrize(("ferritin", "flagged"), [
    (2 * ULN, False),           # exactly 2 x ULN: not above it
    (2 * ULN + 0.1, True),      # just above
    (2 * ULN - 0.1, False),
])
def test_ferritin_above_2_x_uln_with_a_cytopenia_raises_the_iechs_flag_and_at_2_x_does_not(
        ferritin, flagged):
    found = flags([("ferritin", ferritin, at(0)), PLATELETS_LOW])
    assert codes(found) == ([("iechs_screen", "urgent")] if flagged else [])


@pytest.mark.parametrize(("at_infusion", "now", "flagged"), [
    (300.0, 600.0, False),      # exactly 2 x the value at infusion
    (300.0, 600.1, True),
])
def test_ferritin_above_2_x_the_value_at_infusion_counts_and_at_2_x_does_not(
        at_infusion, now, flagged):
    found = flags([("ferritin", at_infusion, INFUSION - timedelta(days=1)),
                   ("ferritin", now, at(0)), PLATELETS_LOW])
    assert [c for c, _ in codes(found)] == (["iechs_screen"] if flagged else [])


@pytest.mark.parametrize(("earlier", "hours_before", "flagged"), [
    (250.0, 36, True),          # doubled (500 = 2 x 250) within 48 h
    (250.1, 36, False),         # not quite doubled
    (250.0, 48, True),          # exactly 48 h
    (250.0, 48.1, False),       # just over 48 h
])
def test_ferritin_doubling_within_48_h_counts_as_rising_fast(earlier, hours_before, flagged):
    found = flags([("ferritin", earlier, at(-hours_before)), ("ferritin", 500.0, at(0)),
                   PLATELETS_LOW], infusion=None)
    assert [c for c, _ in codes(found)] == (["iechs_screen"] if flagged else [])


def test_a_high_ferritin_without_a_second_core_feature_raises_no_iechs_flag():
    assert flags([("ferritin", 9000.0, at(0)), ("platelets", 180.0, at(0))]) == []


def test_the_iechs_flag_gives_the_ferritin_course_its_source_and_says_it_is_not_a_diagnosis():
    (f,) = flags([("ferritin", 1200.0, at(-36)), ("ferritin", 5600.0, at(0)), PLATELETS_LOW])
    m = f.flag["message"]
    assert "ferritin 1,200 → 5,600 ng/mL in 36 h" in m
    assert "doubled within 48 h" in m and "platelets 20" in m
    assert "Hines et al. 2023" in m and "not a diagnosis" in m and "haematology" in m
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", m), m   # no ISO timestamps in words shown
    assert f.flag["respond"].startswith("physician")
    assert f.time == at(0)


def test_a_further_core_feature_raises_the_iechs_flag_again_and_an_unchanged_one_does_not():
    found = flags([("ferritin", 5600.0, at(0)), PLATELETS_LOW,
                   ("ferritin", 5900.0, at(12)),                    # still 2 of 5: nothing new
                   ("alt", 400.0, at(24))])                          # 3 of 5: raised again
    assert [(f.flag["code"], f.time) for f in found] == [("iechs_screen", at(0)),
                                                         ("iechs_screen", at(24))]
    assert "3 of 5 core features" in found[1].flag["message"]


# ------------------------------------------------------------------------------ fibrinogen
@pytest.mark.parametrize(("value", "lln", "expected"), [
    (150.0, 200.0, [("fibrinogen_low", "info")]),    # below the lower limit of normal
    (149.9, 200.0, [("fibrinogen_low", "urgent")]),  # below 150 mg/dL (spec §5.4)
    (200.0, 200.0, []),                              # at the lower limit of normal
    (199.9, 200.0, [("fibrinogen_low", "info")]),
    (149.9, 120.0, [("fibrinogen_low", "urgent")]),  # a site limit below 150: 150 still counts
    (150.0, 120.0, []),
    (180.0, 250.0, [("fibrinogen_low", "info")]),    # a site's higher limit is used
])
def test_fibrinogen_below_150_is_urgent_and_below_the_sites_lower_limit_is_information(
        value, lln, expected):
    found = flags([("fibrinogen", value, at(0))], lln=lln)
    assert codes(found) == expected
    for f in found:
        assert "Hines et al. 2023" in f.flag["message"]
        assert f"Fibrinogen {value:g} mg/dL" in f.flag["message"]


def test_a_falling_fibrinogen_raises_again_when_it_crosses_150_and_not_when_it_stays():
    found = flags([("fibrinogen", 180.0, at(0)), ("fibrinogen", 140.0, at(6)),
                   ("fibrinogen", 130.0, at(12))])
    assert [(f.flag["severity"], f.time) for f in found] == [("info", at(0)), ("urgent", at(6))]
    assert "coagulopathy" in found[1].flag["message"]


def test_a_low_fibrinogen_corrected_by_a_later_normal_one_is_retrospective_information():
    found = flags([("fibrinogen", 120.0, at(0)), ("fibrinogen", 260.0, at(10))])
    (f,) = found
    assert f.current is False
    assert escalation.retrospective(f.flag)["severity"] == "info"
    (g,) = flags([("fibrinogen", 120.0, at(0)), ("fibrinogen", 260.0, at(3))])
    assert g.current is True   # within 4 h of the latest result: about now (E14)


# ------------------------------------------------------------------------------ in the record
def admitted(store: WardStore) -> None:
    services.admit(store, {"patient_id": "P1", "infusion_time": INFUSION}, by="drx")


def open_lab_flags(store: WardStore) -> list[dict]:
    return [f for f in store.flags("P1") if f["code"] in ward.LAB_CODES]


def test_a_lab_flag_is_raised_once_and_amending_or_marking_the_result_in_error_withdraws_it(
        store):
    admitted(store)
    lab = services.record_lab(store, "P1", "fibrinogen", 120, "mg/dL", at(0), by="nina")
    (f,) = open_lab_flags(store)
    assert (f["severity"], f["raised_at"], f["assessment_id"]) == ("urgent", at(0), None)
    services.record_lab(store, "P1", "crp", 5, "mg/dL", at(1), by="nina")   # resync again
    ward.sync_flags(store, "P1", "nina")
    assert [x["id"] for x in open_lab_flags(store)] == [f["id"]]            # not raised twice
    new = services.amend_lab(store, "P1", lab, 1.3, "g/L", at(0), "typed 1.2 for 1.3",
                             by="nina")
    (g,) = open_lab_flags(store)   # reworded: 130 mg/dL; the first one withdrawn
    assert g["id"] != f["id"] and "Fibrinogen 130 mg/dL" in g["message"]
    services.lab_in_error(store, "P1", new, "another patient's sample", by="nina")
    assert open_lab_flags(store) == []
    withdrawn = [a for a in store.audit("P1") if a["action"] == "withdraw"]
    assert len(withdrawn) == 2


def test_a_normal_result_amended_to_a_low_one_raises_the_flag(memory_store):
    admitted(memory_store)
    lab = services.record_lab(memory_store, "P1", "fibrinogen", 300, "mg/dL", at(0), by="nina")
    assert open_lab_flags(memory_store) == []
    services.amend_lab(memory_store, "P1", lab, 140, "mg/dL", at(0), "misread", by="nina")
    assert [f["severity"] for f in open_lab_flags(memory_store)] == ["urgent"]


def test_an_acknowledged_lab_flag_stays_when_its_result_is_corrected(memory_store):
    admitted(memory_store)
    lab = services.record_lab(memory_store, "P1", "fibrinogen", 120, "mg/dL", at(0), by="nina")
    (f,) = open_lab_flags(memory_store)
    services.acknowledge_flag(memory_store, "P1", f["id"], "physician informed", by="nina")
    services.lab_in_error(memory_store, "P1", lab, "wrong tube", by="nina")
    (kept,) = open_lab_flags(memory_store)
    assert kept["id"] == f["id"] and kept["ack_action"] == "physician informed"


def test_a_bedside_save_keeps_the_lab_flags_and_the_iechs_flag_comes_from_the_lab_page(
        memory_store):
    admitted(memory_store)
    for test, value, when in [("ferritin", 1200, at(-36)), ("ferritin", 5600, at(0)),
                              ("platelets", 20, at(0))]:
        services.record_lab(memory_store, "P1", test, value,
                            "ng/mL" if test == "ferritin" else "10^9/L", when, by="nina")
    (f,) = open_lab_flags(memory_store)
    assert f["code"] == "iechs_screen" and "1,200 → 5,600" in f["message"]
    services.record(memory_store, "P1", {"time": at(1), "temp_c": 37.0}, by="nina")
    assert [x["id"] for x in open_lab_flags(memory_store)] == [f["id"]]


# ------------------------------------------------------------------------------ refused at entry
@pytest.mark.parametrize(("test", "value", "unit"), [
    ("ferritin", 1_000_001.0, "ng/mL"),
    ("fibrinogen", 20.01, "g/L"),
    ("il6", -1.0, "pg/mL"),
])
def test_a_marker_beyond_its_plausibility_limit_is_refused_by_the_record_and_raises_nothing(
        memory_store, test, value, unit):
    admitted(memory_store)
    with pytest.raises(StoreError, match="is not possible: allowed 0 to"):
        services.record_lab(memory_store, "P1", test, value, unit, at(0), by="nina")
    assert memory_store.labs("P1") == [] and memory_store.flags("P1") == []


def test_a_lab_flag_for_a_result_over_72_h_before_the_latest_record_is_not_an_alarm_now():
    found = escalation.evaluate_labs(escalation.lab_contexts(
        [LabValue("fibrinogen", 120.0, at(0))], INFUSION, UTC,
        lambda _: {"fibrinogen_lln": 200.0}), latest=at(72.5))
    assert [f.current for f in found] == [False]
    found = escalation.evaluate_labs(escalation.lab_contexts(
        [LabValue("fibrinogen", 120.0, at(0))], INFUSION, UTC,
        lambda _: {"fibrinogen_lln": 200.0}), latest=at(72))
    assert [f.current for f in found] == [True]


def test_a_resync_after_a_bedside_save_days_later_files_an_old_lab_condition_as_information(
        memory_store):
    admitted(memory_store)
    services.record(memory_store, "P1", {"time": at(80), "temp_c": 37.0}, by="nina")
    services.record_lab(memory_store, "P1", "fibrinogen", 120, "mg/dL", at(0), by="nina")
    (f,) = open_lab_flags(memory_store)
    assert f["severity"] == "info" and f["message"].startswith("Retrospective: ")


def summaries(store: WardStore, pid: str = "P1") -> list[dict]:
    return [f for f in store.flags(pid) if f["code"] == ward.SUMMARY_CODE]


def test_an_old_lab_condition_is_filed_under_the_one_summary_of_the_change_as_flags_are(
        memory_store):
    """Decision E13 for the lab rules too: a result about the past raises its flag filed (kept
    in the history, closed by the system), and ONE open summary item says what changed."""
    admitted(memory_store)
    services.record(memory_store, "P1", {"time": at(80), "temp_c": 37.0}, by="nina")
    services.record_lab(memory_store, "P1", "fibrinogen", 120, "mg/dL", at(0), by="nina")
    (f,) = open_lab_flags(memory_store)
    assert (f["ack_action"], f["ack_by"]) == (ward.FILED, "system")
    (s,) = summaries(memory_store)
    assert s["ack_action"] is None and s["severity"] == "info" and s["raised_at"] == at(0)
    assert s["message"] == (
        "Retrospective: a lab result recorded as taken at 05 Mar 08:00. No bedside assessment "
        "at 05 Mar 08:00. 1 flag about that time, no longer present now, is in the flag "
        "history.")
    # a correction of that result that no longer supports the flag withdraws the filed flag
    services.amend_lab(memory_store, "P1", memory_store.labs("P1")[0]["id"], 260, "mg/dL",
                       at(0), "typo", by="nina")
    assert open_lab_flags(memory_store) == []
    assert [x["id"] for x in summaries(memory_store)] == [s["id"]]  # nothing new: no second


def test_a_current_lab_condition_is_not_filed_and_raises_no_summary(memory_store):
    admitted(memory_store)
    services.record(memory_store, "P1", {"time": at(1), "temp_c": 37.0}, by="nina")
    services.record_lab(memory_store, "P1", "fibrinogen", 120, "mg/dL", at(0), by="nina")
    (f,) = open_lab_flags(memory_store)
    assert f["ack_action"] is None and f["severity"] == "urgent"
    assert summaries(memory_store) == []


def test_a_lab_file_of_old_results_files_their_flags_under_one_summary(memory_store):
    admitted(memory_store)
    services.record(memory_store, "P1", {"time": at(80), "temp_c": 37.0}, by="nina")
    services.import_labs(memory_store, (
        b"patient_id,taken_at,test,value,unit\n"
        b"P1,2026-03-05T08:00Z,fibrinogen,120,mg/dL\n"
        b"P1,2026-03-05T09:00Z,fibrinogen,110,mg/dL\n"), by="nina")
    lab = open_lab_flags(memory_store)
    assert lab and all(f["ack_action"] == ward.FILED for f in lab)
    (s,) = summaries(memory_store)
    assert s["message"].startswith("Retrospective: an import of 2 lab results from a file. ")
    n = len(lab)
    assert s["message"].endswith(f"{n} flag{'s' if n != 1 else ''} about that time, no longer "
                                 f"present now, {'are' if n != 1 else 'is'} in the flag "
                                 "history.")


def test_a_fhir_import_files_old_lab_and_assessment_flags_under_one_summary(store, tmp_path):
    from tests.monitoring.fhir_helpers import bundle, patient, vital
    services.import_fhir(store, [bundle(tmp_path / "a.json", patient(), vital(
        "t0", "8310-5", 37.0, "Cel", at="2026-03-08T16:00:00+00:00"))], by="nina")
    services.import_fhir(store, [bundle(
        tmp_path / "b.json", patient(),
        vital("t1", "8310-5", 39.2, "Cel", at="2026-03-05T08:00:00+00:00"),
        vital("fg1", "3255-7", 1.2, "g/L", at="2026-03-05T08:00:00+00:00"))], by="nina")
    (p,) = store.patients()
    pid = p["patient_id"]
    old = [f for f in store.flags(pid) if f["code"] != ward.SUMMARY_CODE]
    codes_filed = {f["code"] for f in old if f["ack_action"] == ward.FILED}
    assert {"fibrinogen_low", "new_fever"} <= codes_filed
    assert all(f["ack_action"] == ward.FILED for f in old)   # nothing about the past is open
    (s,) = summaries(store, pid)
    assert s["ack_action"] is None
    assert s["message"].startswith("Retrospective: an import from the hospital record (FHIR). ")
    assert s["message"].endswith(f"{len(old)} flags about that time, no longer present now, "
                                 "are in the flag history.")


@pytest.mark.parametrize(("ucum", "value"), [("ng/mL", 2_000_000.0), ("ug/L", 1_000_001.0)])
def test_a_fhir_ferritin_beyond_its_limit_is_refused_naming_the_range_and_imports_nothing(
        memory_store, tmp_path, ucum, value):
    """The FHIR way in (E17): a lab Observation beyond its limit refuses the whole import,
    naming the test and the range allowed; nothing is stored, the patient not admitted."""
    from monitoring.fhir import FhirError
    from tests.monitoring.fhir_helpers import bundle, patient, vital
    f = bundle(tmp_path / "b.json", patient(),
               vital("t1", "8310-5", 37.0, "Cel"),
               vital("fe1", "2276-4", value, ucum))
    with pytest.raises(FhirError) as e:
        services.import_fhir(memory_store, [f], by="nina")
    assert "ferritin" in str(e.value) and "is not possible: allowed 0 to 1000000" in str(e.value)
    assert memory_store.patients() == []


def test_a_low_fibrinogen_imported_from_fhir_raises_the_flag(store, tmp_path):
    from tests.monitoring.fhir_helpers import bundle, patient, vital
    f = bundle(tmp_path / "b.json", patient(),
               vital("t1", "8310-5", 37.0, "Cel", at="2026-03-05T07:00:00+00:00"),
               vital("fg1", "3255-7", 1.2, "g/L", at="2026-03-05T08:00:00+00:00"))
    services.import_fhir(store, [f], by="nina")
    (p,) = store.patients()
    flags = [x for x in store.flags(p["patient_id"]) if x["code"] == "fibrinogen_low"]
    assert [(x["severity"], x["raised_at"]) for x in flags] == [("urgent", at(0))]


COURSE = [("ferritin", 300.0, "ng/mL", -100), ("ferritin", 1200.0, "ng/mL", -36),
          ("platelets", 140.0, "10^9/L", -36), ("ferritin", 5600.0, "ng/mL", 0),
          ("platelets", 20.0, "10^9/L", 0), ("fibrinogen", 180.0, "mg/dL", 2),
          ("fibrinogen", 140.0, "mg/dL", 6), ("fibrinogen", 260.0, "mg/dL", 30)]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(COURSE))))
def test_the_lab_flags_are_the_same_whatever_order_the_results_are_entered_in(order):
    store = WardStore.in_memory()
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    admitted(store)
    for i in order:
        test, value, unit, h = COURSE[i]
        services.record_lab(store, "P1", test, value, unit, at(h), by="nina")
    found = {escalation.key(f["code"], f["raised_at"], escalation.first_message(f["message"]))
             for f in open_lab_flags(store)}
    expected = {escalation.key(c.flag["code"], c.time, c.flag["message"])
                for c in ward.lab_course_flags(store, store.patient("P1"))}
    # IEC-HS at 2 features, again at 3 (the low fibrinogen), fibrinogen information, urgent
    assert found == expected and len(expected) == 4
