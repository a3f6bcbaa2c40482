"""The Medications and labs page (issue 18 point 11, AppTest): a nurse records a medication
with its dose, unit and route and a lab result in another unit; an impossible dose is refused
before saving with the field and range named, an unusual one highlighted and saved; a
correction keeps the original visible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import go, texts

PAGE = "ui/pages/treatments.py"


@pytest.fixture
def page(signed_in, store):
    store.admit({"patient_id": "MAR-1", "infusion_time": datetime.now(UTC) - timedelta(days=2),
                 "weight_kg": 70}, by="demo.physician")

    def open_as(role: str):
        at = signed_in(role)
        at.session_state["patient_id"] = "MAR-1"
        return go(at, PAGE)
    return open_as


def test_a_nurse_records_a_tocilizumab_dose_in_mg_with_its_route(page, store):
    at = page("nurse")
    assert "Tocilizumab doses in the last 24 h: 0 (limit 3)" in texts(at)
    at.text_input(key="mar_dose_MAR-1_0").input("560").run()
    at.selectbox(key="mar_for_MAR-1_tocilizumab_0").select("crs").run()
    assert not at.error
    at.button(key="mar_save_MAR-1").click().run()
    assert not at.exception
    (m,) = store.administrations("MAR-1")
    assert (m["kind"], m["dose"], m["unit"], m["route"], m["recorded_by"],
            m["indication"]) == ("tocilizumab", 560.0, "mg", "IV", "demo.nurse", "crs")
    assert "tocilizumab 560 mg IV" in texts(at)
    assert "given for CRS, saved" in texts(at)
    assert list(at.dataframe[0].value["Given for"]) == ["CRS"]
    assert "Tocilizumab doses in the last 24 h: 1 (limit 3)" in texts(at)


def test_an_impossible_dose_is_refused_on_the_page_naming_the_field_and_range(page, store):
    at = page("nurse")
    at.text_input(key="mar_dose_MAR-1_0").input("5600").run()
    assert at.error and ("dose: tocilizumab 5600 mg is not possible: allowed above 0 up to "
                         "1200 mg") in texts(at)
    assert at.button(key="mar_save_MAR-1").disabled
    at.text_input(key="mar_dose_MAR-1_0").input("700").run()  # 70 kg: 560 mg (8 mg/kg)
    at.selectbox(key="mar_for_MAR-1_tocilizumab_0").select("crs").run()
    assert not at.error and not at.button(key="mar_save_MAR-1").disabled
    assert "Check the dose: 700 mg is above the reference dose 560 mg" in texts(at)
    at.text_input(key="mar_dose_MAR-1_0").input("5,6").run()
    assert "dose: '5,6' is not a number" in texts(at)
    assert store.administrations("MAR-1") == []


def test_an_unusual_vasopressor_dose_is_highlighted_and_can_be_saved(page, store):
    at = page("physician")
    at.selectbox(key="mar_kind_MAR-1").select("noradrenaline").run()
    at.text_input(key="mar_dose_MAR-1_0").input("1.5").run()
    assert any("unusual" in w.value for w in at.warning)
    assert "chart the infusion on the next assessment" in texts(at)
    at.button(key="mar_save_MAR-1").click().run()
    (m,) = store.administrations("MAR-1")
    assert (m["kind"], m["dose"], m["unit"]) == ("noradrenaline", 1.5, "µg/kg/min")
    assert "no bedside assessment has been charted since: chart the infusion" in texts(at)


def test_the_reason_for_a_steroid_or_anticytokine_dose_must_be_chosen_before_it_is_saved(
        page, store):
    """W20: no reason is chosen for the nurse; "not stated" is one of the choices."""
    at = page("nurse")
    for kind in ("tocilizumab", "dexamethasone", "anakinra"):
        at.selectbox(key="mar_kind_MAR-1").select(kind).run()
        at.text_input(key="mar_dose_MAR-1_0").input("10" if kind == "dexamethasone"
                                                    else "100").run()
        box = at.selectbox(key=f"mar_for_MAR-1_{kind}_0")
        assert box.value is None and box.label == "Given for (required)"
        assert box.options == ["CRS", "ICANS", "CRS and ICANS", "IEC-HS (HLH-like)",
                               "prophylaxis", "another reason", "not stated"]
        assert at.button(key="mar_save_MAR-1").disabled
        assert "to save it" in texts(at)
    at.selectbox(key="mar_for_MAR-1_anakinra_0").select("iec_hs").run()
    assert not at.button(key="mar_save_MAR-1").disabled
    at.button(key="mar_save_MAR-1").click().run()
    (m,) = store.administrations("MAR-1")
    assert (m["kind"], m["dose"], m["indication"]) == ("anakinra", 100.0, "iec_hs")
    assert "given for IEC-HS (HLH-like), saved" in texts(at)


def test_a_paracetamol_dose_is_not_stated_unless_the_nurse_says_why(page, store):
    at = page("nurse")
    at.selectbox(key="mar_kind_MAR-1").select("paracetamol").run()
    at.text_input(key="mar_dose_MAR-1_0").input("1000").run()
    box = at.selectbox(key="mar_for_MAR-1_paracetamol_0")
    assert box.value == "not_stated" and box.label == "Given for"
    at.button(key="mar_save_MAR-1").click().run()
    (m,) = store.administrations("MAR-1")
    assert (m["kind"], m["indication"]) == ("paracetamol", "not_stated")


def test_the_reason_a_dose_was_given_is_corrected_with_a_reason_and_the_original_stays(
        page, store):
    store.record_administration("MAR-1", "dexamethasone", datetime.now(UTC) - timedelta(hours=3),
                                by="demo.nurse", dose=10.0, route="IV")
    at = page("physician")
    (m,) = store.administrations("MAR-1")
    assert m["indication"] == "not_stated"
    assert at.selectbox(key=f"mar_fix_for_{m['id']}").value == "not_stated"
    at.selectbox(key=f"mar_fix_for_{m['id']}").select("icans").run()
    at.text_input(key=f"mar_reason_{m['id']}").input("given for ICANS grade 2, per the "
                                                     "neurology note").run()
    at.button(key=f"mar_fix_save_{m['id']}").click().run()
    assert not at.exception
    (new,) = store.administrations("MAR-1")
    assert (new["replaces_id"], new["indication"], new["dose"]) == (m["id"], "icans", 10.0)
    frame = at.dataframe[0].value
    assert list(frame["Given for"]) == ["ICANS", "not stated"]
    assert list(frame["Status"]) == ["current", "replaced by a correction"]


def test_an_imported_dose_recorded_without_an_amount_can_have_its_reason_corrected(
        page, store):
    store.record_administration("MAR-1", "methylprednisolone",
                                datetime.now(UTC) - timedelta(hours=5), by="demo.nurse")
    at = page("physician")
    (m,) = store.administrations("MAR-1")
    assert m["dose"] is None
    at.selectbox(key=f"mar_fix_for_{m['id']}").select("icans").run()
    assert at.button(key=f"mar_fix_save_{m['id']}").disabled    # no reason for it yet
    at.text_input(key=f"mar_reason_{m['id']}").input("pulse for ICANS grade 4").run()
    at.button(key=f"mar_fix_save_{m['id']}").click().run()
    (new,) = store.administrations("MAR-1")
    assert (new["dose"], new["indication"], new["replaces_id"]) == (None, "icans", m["id"])


def test_a_recorded_dose_is_never_blanked_by_a_correction(page, store):
    store.record_administration("MAR-1", "dexamethasone", datetime.now(UTC) - timedelta(hours=3),
                                by="demo.nurse", dose=10.0, route="IV")
    at = page("physician")
    (m,) = store.administrations("MAR-1")
    at.text_input(key=f"mar_fix_dose_{m['id']}").input("").run()
    at.text_input(key=f"mar_reason_{m['id']}").input("no dose").run()
    assert at.button(key=f"mar_fix_save_{m['id']}").disabled


def test_a_lab_in_another_unit_is_stored_converted_and_shown_as_entered(page, store):
    at = page("nurse")
    at.tabs[1]  # the Lab results tab is drawn on the same run
    at.selectbox(key="lab_test_MAR-1").select("creatinine").run()
    at.selectbox(key="lab_unit_MAR-1_creatinine").select("µmol/L").run()
    at.text_input(key="lab_value_MAR-1_0").input("106").run()
    assert "Stored as 1.2 mg/dL" in texts(at)
    at.button(key="lab_save_MAR-1").click().run()
    (x,) = store.labs("MAR-1")
    assert x["value"] == pytest.approx(106 / 88.4) and x["entered_unit"] == "µmol/L"


def test_a_medication_marked_entered_in_error_stays_listed_with_its_reason(page, store):
    at = page("nurse")
    at.text_input(key="mar_dose_MAR-1_0").input("560").run()
    at.selectbox(key="mar_for_MAR-1_tocilizumab_0").select("not_stated").run()
    at.button(key="mar_save_MAR-1").click().run()
    (m,) = store.administrations("MAR-1")
    at.radio(key=f"mar_action_{m['id']}").set_value("Mark entered in error").run()
    at.text_input(key=f"mar_reason_{m['id']}").input("charted for the wrong patient").run()
    at.button(key=f"mar_eie_{m['id']}").click().run()
    assert not at.exception
    assert store.administrations("MAR-1") == []
    frame = at.dataframe[0].value
    assert list(frame["Status"]) == ["marking: entered in error", "entered in error"]
    assert "charted for the wrong patient" in list(frame["Reason"])


def test_the_handover_lists_a_mar_dose_with_its_unit_and_route(store):
    from monitoring import services, ward
    from monitoring.review import patient_review
    from ui.handover import handover_html
    now = datetime.now(UTC)
    store.admit({"patient_id": "MAR-2", "infusion_time": now - timedelta(days=2)},
                by="demo.physician")
    ward.save(store, "MAR-2", {"time": now - timedelta(hours=2), "temp_c": 38.9},
              by="demo.nurse")
    services.record_medication(store, "MAR-2", "tocilizumab", now - timedelta(hours=1),
                               by="demo.physician", dose=560, unit="mg", route="IV",
                               indication="crs")
    services.record_medication(store, "MAR-2", "paracetamol", now - timedelta(minutes=30),
                               by="demo.nurse", dose=1, unit="g", route="PO")
    html = handover_html(patient_review(store, "MAR-2"), now, "demo.physician",
                         store.open_flags("MAR-2"), with_chart=False)
    assert "tocilizumab 560 mg IV for CRS" in html       # why, when stated (W20)
    assert ": paracetamol (acetaminophen) 1 g PO</li>" in html   # not stated: nothing said


# ------------------------------------------------------------------------------ lab CSV upload
LAB_HEADER = "patient_id,taken_at,test,value,unit\n"


def test_the_lab_tab_offers_a_csv_upload_and_refuses_an_implausible_marker_before_saving(
        page, store):
    at = page("nurse")
    assert at.get("file_uploader"), "the lab CSV upload is on the page"
    assert at.button(key="lab_csv_go").disabled     # nothing chosen yet
    at.selectbox(key="lab_test_MAR-1").select("ferritin").run()
    at.text_input(key="lab_value_MAR-1_0").input("1000001").run()
    assert "ferritin 1000001 ng/mL is not possible: allowed 0 to 1000000 ng/mL" in texts(at)
    assert at.button(key="lab_save_MAR-1").disabled
    assert store.labs("MAR-1") == []


def test_an_uploaded_lab_file_is_imported_whole_or_its_problems_listed_by_row(page, store):
    from ui import lab_upload
    page("nurse")
    done, problems, refused = lab_upload.import_file(store, (
        LAB_HEADER + "MAR-1,2026-03-03T08:00Z,crp,5,mg/dL\n"
        "MAR-1,2026-03-03T09:00Z,ferritin,2000000,ng/mL\n"
        "MAR-1,2026-03-03T10:00,il6,=1+1,pg/mL\n").encode(), "demo.nurse")
    assert done is None and refused is None
    assert problems[["Row", "File line", "Column", "Value"]].values.tolist() == [
        ["2", "3", "value", "2000000"], ["3", "4", "taken_at", "2026-03-03T10:00"],
        ["3", "4", "value", "=1+1"]]
    assert "allowed 0 to 1000000 ng/mL" in problems["Problem"][0]
    assert store.labs("MAR-1") == []
    done, problems, refused = lab_upload.import_file(
        store, (LAB_HEADER + "MAR-1,2026-03-03T08:00Z,crp,5,mg/dL\n").encode(), "demo.nurse",
        "ward-labs.csv")
    assert done == "1 lab result imported." and problems is None
    assert len(store.labs("MAR-1")) == 1
    (entry,) = [e for e in store.audit("MAR-1") if e["entity"] == "lab"]
    assert entry["action"] == "import" and '"file": "ward-labs.csv"' in entry["after"]


def test_a_tocilizumab_dose_charted_late_is_checked_against_the_dose_recorded_after_it(
        page, store):
    """A dose given 10 h ago, charted now, 6 h before a dose already recorded: the page counts
    at the time given and warns of the later dose (spec §4.4: at least 8 h apart)."""
    from monitoring import services
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    services.record_medication(store, "MAR-1", "tocilizumab", now - timedelta(hours=4),
                               by="demo.physician", dose=560, unit="mg", route="IV",
                               indication="crs")
    at = page("nurse")
    assert "Tocilizumab doses in the last 24 h: 1 (limit 3)" in texts(at)
    assert "h after this one" not in texts(at)
    given = now - timedelta(hours=10)
    at.date_input(key="mar_at_MAR-1_0_date").set_value(given.date()).run()
    at.time_input(key="mar_at_MAR-1_0_time").set_value(given.time()).run()
    assert f"Tocilizumab doses in the 24 h before {given:%d %b %H:%M}" in texts(at)
    assert "in total: 1 (limit 4)" in texts(at)
    assert ("Tocilizumab: the next recorded dose is 6.0 h after this one: doses are at least "
            "8 h apart (ASCO 2021)." in [w.value for w in at.warning])
