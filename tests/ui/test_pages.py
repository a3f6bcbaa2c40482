"""Ward overview, bedside entry, corrections, admission, users and the demo ward (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitoring.store import PatientIn

from .conftest import go, patient_ids, texts

ENTRY = "ui/pages/entry.py"
PATIENT = "ui/pages/patient.py"


def entry_for(signed_in, pid: str, role: str = "nurse"):
    at = signed_in(role)
    at.session_state["patient_id"] = pid
    return go(at, ENTRY)


def key_of(at, pid: str) -> str:
    return f"entry_{pid}_{at.session_state[f'entry_v_{pid}']}"


def fill(at, pid: str, **values: float):
    k = key_of(at, pid)
    for name, value in values.items():
        at.number_input(key=f"{k}_{'temp' if name == 'temp_c' else name}").set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def save_button(at, pid: str):
    return at.button(key=f"{key_of(at, pid)}_save")


# ------------------------------------------------------------------------------ overview
def test_the_overview_shows_one_row_per_admitted_patient_with_grades_and_due(signed_in):
    at = signed_in("nurse")
    frame = at.table[0].value
    assert list(frame.columns) == ["Bed", "Patient", "CRS", "ICANS", "NEWS2", "Flags",
                                   "Next obs"]  # the acuity columns alone (issue 18.2)
    ids = patient_ids(frame)
    assert sorted(ids) == ["DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005"]
    grades = dict(zip(ids, zip(frame["CRS"], frame["ICANS"])))  # an active ward (W16)
    words = {pid: (crs, icans.split(" (from")[0]) for pid, (crs, icans) in grades.items()}
    assert words["DEMO-005"] == ("CRS\u00a03", "ICANS\u00a00")
    assert words["DEMO-002"] == ("CRS\u00a02", "ICANS\u00a00")
    assert words["DEMO-003"] == ("CRS\u00a00", "ICANS\u00a03")
    assert words["DEMO-001"] == words["DEMO-004"] == ("CRS\u00a00", "ICANS\u00a00")
    assert set(ids[:2]) == {"DEMO-005", "DEMO-003"}  # emergency flags first
    details = at.dataframe[0].value  # behind the patient: the details expander
    assert list(details["Patient"]) == list(frame["Patient"])  # in the same order
    assert all(day.startswith("D+") for day in details["Day"])
    assert details.loc[details["ID"] == "DEMO-003", "Max CRS / ICANS"].item() == "1 / 3"
    assert at.session_state["_auto_refresh"] is True  # the one-minute refresh is on
    # the ICU stays of the cards (R10): the ICANS 3 and CRS 3 patients are in intensive care
    (icu,) = [c.value for c in at.caption if c.value.startswith("In intensive care: ")]
    assert "Demo Patient C" in icu and "Demo Patient E" in icu
    assert not any(f"Demo Patient {x}" in icu for x in "ABD")


def test_a_febrile_patient_with_a_flag_moves_up_the_overview(signed_in, store):
    from monitoring import ward
    before = patient_ids(signed_in("nurse").table[0].value)
    assert before[-1] == "DEMO-001"  # uneventful: last
    ward.save(store, "DEMO-001", {"time": datetime.now(UTC) - timedelta(minutes=2),
                                  "temp_c": 38.6, "sbp_mmhg": 120, "dbp_mmhg": 70,
                                  "spo2_pct": 97}, by="demo.nurse")
    at = signed_in("nurse")
    frame = at.table[0].value
    ids = patient_ids(frame)
    # above the patients without urgent flags, below the two with an emergency flag
    assert ids.index("DEMO-001") < ids.index("DEMO-004") and ids.index("DEMO-001") >= 2
    top = frame.iloc[ids.index("DEMO-001")]
    assert top["CRS"] == "CRS\u00a01"
    details = at.dataframe[0].value
    assert details.iloc[ids.index("DEMO-001")]["Temp °C"] == "▲\u00a038.6"  # never wraps apart
    assert top["Flags"].startswith("URGENT: New fever 38.6 °C (+")  # CRS rise, maybe overdue


def test_the_overview_leaves_out_discharged_patients(signed_in, store):
    store.discharge("DEMO-002", by="demo.physician")
    at = signed_in("nurse")
    assert "DEMO-002" not in set(patient_ids(at.table[0].value))


def test_record_an_assessment_opens_bedside_entry_for_the_chosen_patient(signed_in):
    at = signed_in("nurse")
    at.selectbox(key="overview_patient").select("DEMO-004").run()
    button(at, "Record an assessment").click().run()
    assert at.title[0].value == "Bedside entry"
    assert at.selectbox(key="entry_patient").value == "DEMO-004"


# ------------------------------------------------------------------------------ bedside entry
def test_a_febrile_assessment_previews_crs_1_then_saves_with_a_new_fever_flag(signed_in,
                                                                              store):
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", temp_c=38.6, hr_bpm=104, sbp_mmhg=118, dbp_mmhg=70, rr_per_min=18,
         spo2_pct=97)
    assert "CRS 1" in texts(at) and "Fever (ASTCT 2019)" in texts(at)
    assert "**Saving will raise:**" in texts(at) and "URGENT: New fever 38.6 °C" in texts(at)
    assert not save_button(at, "DEMO-001").disabled
    assert len(store.history("DEMO-001")) == before  # a preview saves nothing
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    rows = store.timeline_rows("DEMO-001")
    assert len(store.history("DEMO-001")) == before + 1 and rows[-1]["temp_c"] == 38.6
    assert store.history("DEMO-001")[-1].recorded_by == "demo.nurse"
    assert "Saved for" in texts(at)
    assert any(w.value.startswith("**Urgent**") and "- New fever 38.6 °C" in w.value
               for w in at.warning)  # one amber box for the urgent flags, one line each
    assert {f["code"] for f in store.open_flags("DEMO-001")} >= {"new_fever", "crs_rise"}


def test_a_save_whose_flags_cannot_be_updated_says_it_was_saved_and_to_reload(signed_in, store,
                                                                             monkeypatch):
    from monitoring import ward

    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", temp_c=38.6, hr_bpm=104, sbp_mmhg=118, dbp_mmhg=70, rr_per_min=18,
         spo2_pct=97)
    monkeypatch.setattr(ward, "_sync", broken)
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    assert len(store.history("DEMO-001")) == before + 1  # the row is kept
    assert "Saved for" in texts(at)
    assert any("the flags could not be updated" in w.value and "reload" in w.value
               for w in at.warning)
    assert "IndexError" not in texts(at) and "No new flags." not in texts(at)


def test_an_out_of_range_value_shows_its_error_on_the_field_and_saves_nothing(signed_in,
                                                                             store):
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", temp_c=50.0, hr_bpm=90)
    errors = [e.value for e in at.error]
    assert "Temperature 50.0: out of range; allowed: a number from 25 to 45 °C" in errors
    assert "Correct the values marked above; nothing has been saved." in errors
    assert save_button(at, "DEMO-001").disabled
    assert len(store.history("DEMO-001")) == before


def test_a_soft_limit_value_needs_a_confirmation_before_saving(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", hr_bpm=210)
    assert any("re-check" in w.value for w in at.warning)
    assert save_button(at, "DEMO-001").disabled
    at.checkbox(key=f"{key_of(at, 'DEMO-001')}_soft_ok").check().run()
    assert not save_button(at, "DEMO-001").disabled
    save_button(at, "DEMO-001").click().run()
    assert store.timeline_rows("DEMO-001")[-1]["hr_bpm"] == 210


def test_fahrenheit_is_converted_and_saved_in_celsius(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    at.radio(key=f"{k}_tunit").set_value("°F").run()
    fill(at, "DEMO-001", temp_c=100.4)
    assert "= 38.0 °C" in texts(at)
    assert "CRS 1" in texts(at)  # 100.4 °F is exactly the fever threshold
    save_button(at, "DEMO-001").click().run()
    assert store.timeline_rows("DEMO-001")[-1]["temp_c"] == 38.0


@pytest.mark.parametrize(("offset", "accepted"), [
    (timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=2), False),
    (timedelta(minutes=-5), False)])
def test_assessment_time_may_be_back_dated_up_to_24_hours_never_in_the_future(
        signed_in, offset, accepted):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    when = datetime.now(UTC) - offset
    at.date_input(key=f"{k}_date").set_value(when.date())
    at.time_input(key=f"{k}_time").set_value(when.time().replace(second=0, microsecond=0))
    fill(at, "DEMO-001", temp_c=37.0)
    time_errors = [e.value for e in at.error if "assessment time" in e.value]
    assert (not time_errors) == accepted, time_errors
    assert save_button(at, "DEMO-001").disabled != accepted


def test_ice_items_are_scored_all_or_none_and_grade_icans(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    at.radio(key=f"{k}_instrument").set_value("ICE").run()
    at.radio(key=f"{k}_ice_orientation").set_value(2).run()
    assert any("ICE: score all five items" in e.value for e in at.error)
    assert save_button(at, "DEMO-001").disabled
    for name, v in (("ice_naming", 3), ("ice_commands", 1), ("ice_writing", 0),
                    ("ice_attention", 0)):
        at.radio(key=f"{k}_{name}").set_value(v)
    at.selectbox(key=f"{k}_consciousness").select("alert")
    at.run()
    assert "ICE score: **6 / 10**" in texts(at)
    assert "ICANS 2" in texts(at)  # ICE 3-6 is grade 2 (ICANS-R2)
    save_button(at, "DEMO-001").click().run()
    last = store.timeline_rows("DEMO-001")[-1]
    assert (last["ice_orientation"], last["ice_naming"], last["ice_attention"]) == (2, 3, 0)


def test_capd_items_are_scored_in_their_direction_for_a_child(signed_in, store):
    at = entry_for(signed_in, "DEMO-004")
    k = key_of(at, "DEMO-004")
    at.radio(key=f"{k}_instrument").set_value("CAPD").run()
    # items 1-4 reverse-scored (never = 4), items 5-8 direct (always = 4)
    for i, answer in enumerate(["always", "often", "sometimes", "never",
                                "never", "rarely", "sometimes", "always"]):
        at.radio(key=f"{k}_capd{i}").set_value(answer)
    at.run()
    assert "CAPD total: **14 / 32**" in texts(at)  # (0+1+2+4) + (0+1+2+4)
    save_button(at, "DEMO-004").click().run()
    assert store.timeline_rows("DEMO-004")[-1]["capd_total"] == 14


def test_oxygen_flow_is_asked_for_a_nasal_cannula_and_support_is_carried_forward(signed_in,
                                                                                store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    assert not [n for n in at.number_input if n.key.startswith(f"{k}_flow")]  # room air
    at.selectbox(key=f"{k}_o2_device").select("nasal_cannula").run()
    at.number_input(key=f"{k}_flow_nasal_cannula").set_value(3.0)
    fill(at, "DEMO-001", temp_c=37.0, spo2_pct=93)
    assert "CRS 0" in texts(at)  # oxygen without fever is not CRS (CRS-R2) ...
    assert "without fever" in texts(at)  # ... but it is pointed out for review
    save_button(at, "DEMO-001").click().run()
    assert store.timeline_rows("DEMO-001")[-1]["o2_device"] == "nasal_cannula"
    k2 = key_of(at, "DEMO-001")
    assert at.selectbox(key=f"{k2}_o2_device").value == "nasal_cannula"  # carried forward
    assert at.number_input(key=f"{k2}_flow_nasal_cannula").value == 3.0


def test_a_new_oxygen_flow_on_the_same_device_is_saved_with_its_device(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    earlier = datetime.now(UTC) - timedelta(minutes=30)
    at.date_input(key=f"{k}_date").set_value(earlier.date())
    at.time_input(key=f"{k}_time").set_value(earlier.time().replace(second=0, microsecond=0))
    at.selectbox(key=f"{k}_o2_device").select("nasal_cannula").run()
    at.number_input(key=f"{k}_flow_nasal_cannula").set_value(2.0)
    fill(at, "DEMO-001", temp_c=37.0, spo2_pct=93)
    save_button(at, "DEMO-001").click().run()
    k2 = key_of(at, "DEMO-001")  # the cannula is carried forward; only the flow goes up
    assert at.number_input(key=f"{k2}_flow_nasal_cannula").value == 2.0
    at.number_input(key=f"{k2}_flow_nasal_cannula").set_value(4.0)
    fill(at, "DEMO-001", temp_c=37.1, spo2_pct=92)
    assert "oxygen flow but no o2_device" not in texts(at)
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    last = store.timeline_rows("DEMO-001")[-1]
    assert (last["temp_c"], last["o2_device"], last["o2_flow_l_min"]) == \
        (37.1, "nasal_cannula", 4.0)


def test_the_form_is_empty_again_after_a_save(signed_in):
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", temp_c=37.2)
    save_button(at, "DEMO-001").click().run()
    assert at.number_input(key=f"{key_of(at, 'DEMO-001')}_temp").value is None


# ------------------------------------------------------------------------------ corrections
def test_an_amendment_needs_a_reason_and_keeps_the_original_visible(signed_in, store):
    at = signed_in("nurse")
    at.session_state["patient_id"] = "DEMO-001"
    go(at, PATIENT)
    last = store.history("DEMO-001")[-1]
    at.selectbox(key="correct_pick_DEMO-001").select(last.id).run()
    k = f"amend_{last.id}"
    assert at.button(key=f"{k}_save").disabled  # no reason yet
    at.number_input(key=f"{k}_temp").set_value(37.4)
    at.text_input(key=f"correct_reason_{last.id}").input("transcription error").run()
    at.button(key=f"{k}_save").click().run()
    assert not at.exception
    history = store.history("DEMO-001")
    assert [h.status for h in history if h.id == last.id] == ["amended"]
    assert history[-1].replaces_id == last.id and history[-1].values["temp_c"] == 37.4
    shown = at.dataframe[0].value
    assert {"replaced by a correction", "current"} <= set(shown["Status"])
    assert "transcription error" in set(shown["Reason"])


def test_marking_entered_in_error_needs_a_reason_and_a_confirmation(signed_in, store):
    at = signed_in("nurse")
    at.session_state["patient_id"] = "DEMO-001"
    go(at, PATIENT)
    last = store.history("DEMO-001")[-1]
    at.selectbox(key="correct_pick_DEMO-001").select(last.id).run()
    at.radio(key=f"correct_action_DEMO-001_{last.id}").set_value("Mark entered in error").run()
    assert at.button(key=f"eie_{last.id}").disabled
    at.text_input(key=f"correct_reason_{last.id}").input("wrong patient")
    at.checkbox(key=f"eie_sure_{last.id}").check().run()
    at.button(key=f"eie_{last.id}").click().run()
    assert [h.status for h in store.history("DEMO-001") if h.id == last.id] == \
        ["entered_in_error"]
    assert last.id in set(at.dataframe[0].value["ID"])  # still listed


# ------------------------------------------------------------------------------ admission
def test_a_physician_admits_a_patient_who_then_appears_on_the_overview(signed_in, store):
    at = go(signed_in("physician"), "ui/pages/admission.py")
    at.text_input[0].input("P-100")
    at.text_input[2].input("Test Admission (synthetic)")
    at.number_input[0].set_value(70.5)
    at.number_input[1].set_value(10)
    at.text_input[4].input("12")
    at.selectbox[1].select("axi-cel")
    at.date_input[1].set_value(datetime.now(UTC).date())
    button(at, "Admit").click().run()
    assert not at.exception
    p = store.patient("P-100")
    assert p is not None and (p["weight_kg"], p["baseline_ice"], p["bed"]) == (70.5, 10, "12")
    assert p["infusion_time"] is not None and not p["is_demo"]
    go(at, "ui/pages/overview.py")
    assert "P-100" in set(patient_ids(at.table[0].value))


def test_an_impossible_weight_is_refused_with_the_allowed_range(signed_in, store):
    at = go(signed_in("physician"), "ui/pages/admission.py")
    at.text_input[0].input("P-101")
    at.number_input[0].set_value(400.0)
    button(at, "Admit").click().run()
    assert store.patient("P-101") is None
    assert any("Weight (kg)" in e.value and "350" in e.value for e in at.error)


def test_discharge_needs_a_confirmation_and_keeps_the_record(signed_in, store):
    at = go(signed_in("physician"), "ui/pages/admission.py")
    at.selectbox(key="discharge_pid").select("DEMO-002").run()
    assert at.button(key="discharge_DEMO-002").disabled
    at.checkbox(key="discharge_sure_DEMO-002").check().run()
    at.button(key="discharge_DEMO-002").click().run()
    assert store.patient("DEMO-002")["discharged_at"] is not None
    assert store.timeline_rows("DEMO-002")


# ------------------------------------------------------------------------------ users
def test_an_admin_adds_disables_and_resets_a_user(signed_in, store):
    at = go(signed_in("admin"), "ui/pages/users.py")
    at.text_input[0].input("new.nurse")
    at.text_input[1].input("New Nurse")
    at.selectbox[0].select("nurse")
    at.text_input[2].input("a-long-password")
    button(at, "Add user").click().run()
    assert store.user("new.nurse")["role"] == "nurse"
    assert store.sign_in("new.nurse", "a-long-password").ok
    at.selectbox(key="manage_user").select("new.nurse").run()
    button(at, "Disable account").click().run()
    assert store.user("new.nurse")["active"] is False
    at.selectbox(key="manage_user").select("new.nurse").run()
    at.text_input(key="reset_new.nurse").input("another-password").run()
    button(at, "Reset password").click().run()
    assert not store.sign_in("new.nurse", "another-password").ok  # still disabled


def test_a_short_password_is_refused(signed_in, store):
    at = go(signed_in("admin"), "ui/pages/users.py")
    at.text_input[0].input("short.pw")
    at.selectbox[0].select("nurse")
    at.text_input[2].input("short")
    button(at, "Add user").click().run()
    assert store.user("short.pw") is None
    assert any("at least 10 characters" in e.value for e in at.error)


# ------------------------------------------------------------------------------ educator
def test_an_educator_sees_the_demo_ward_only(signed_in, store):
    store.admit(PatientIn(patient_id="REAL-1", name="Real Person", bed="9"),
                by="demo.physician")
    at = signed_in("educator")
    assert at.title[0].value == "Demo ward"
    ids = set(patient_ids(at.table[0].value))
    assert ids == {"DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005"}
    assert "Real Person" not in texts(at)


def test_an_educator_cannot_reach_a_patient_page_nor_a_real_patient(signed_in, store):
    from streamlit.testing.v1 import AppTest

    from ui import session

    from .conftest import APP
    store.admit(PatientIn(patient_id="REAL-1", name="Real Person"), by="demo.physician")
    at = signed_in("educator")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PATIENT)  # not in the educator's navigation at all
    educator = at.session_state["user"]
    assert [p["patient_id"] for p in session.visible_patients(educator)] == [
        "DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005"]
    # and the page itself refuses the role on the server, whatever the browser asks for
    page = AppTest.from_file(str(Path(APP).parent / "ui/pages/patient.py"), default_timeout=60)
    page.session_state["user"] = educator
    page.session_state["patient_id"] = "REAL-1"
    page.run()
    assert [e.value for e in page.error] == ["The educator role cannot open this page."]
    assert "Real Person" not in texts(page)


def test_opening_a_real_patient_as_an_educator_is_refused_and_audited(signed_in, store):
    """The patient-level check behind every page (a second line after the role check)."""
    from streamlit.testing.v1 import AppTest
    store.admit(PatientIn(patient_id="REAL-1", name="Real Person"), by="demo.physician")
    script = AppTest.from_string(
        "from ui import session\n"
        "import streamlit as st\n"
        "p = session.open_patient(st.session_state['user'], 'REAL-1')\n"
        "st.write('opened' if p else 'refused')\n", default_timeout=60)
    script.session_state["user"] = {"username": "demo.educator", "display_name": "e",
                                    "role": "educator", "sso": False}
    script.run()
    assert [e.value for e in script.error] == ["Educators see demo patients only."]
    assert script.markdown[0].value == "refused"
    assert store.audit()[-1]["action"] == "patient_refused"


def test_an_educator_resets_the_demo_ward(signed_in, store):
    at = signed_in("educator")
    before = len(store.history("DEMO-001"))
    at.checkbox(key="demo_reset_sure").check().run()
    button(at, "Reset demo ward").click().run()
    assert not at.exception
    assert len(store.history("DEMO-001")) == 3 * before
    assert "Demo ward reset" in texts(at)
    assert at.checkbox(key="demo_reset_sure").value is False  # a second reset asks again
    assert at.button[[b.label for b in at.button].index("Reset demo ward")].disabled
    assert any(a["action"] == "demo_reset_requested" and a["username"] == "demo.educator"
               for a in store.audit())
    marks = [h for h in store.history("DEMO-001") if h.replaces_id is not None]
    assert marks and {h.recorded_by for h in marks} == {"demo.educator"}  # who reset it
    assert {a["username"] for a in store.audit("DEMO-001")
            if a["action"] == "teaching_case_loaded"} == {"system", "demo.educator"}
