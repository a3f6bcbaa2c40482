"""Build a case (AppTest): an educator admits a synthetic patient, charts it with the bedside
form, adds a medication and a lab result, saves the card to the library; the saved case then
loads, replays and quizzes like a built-in one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import library, teaching, ward

from .conftest import go, texts

BUILDER = "ui/pages/case_builder.py"


def button(at, label):
    return next(b for b in at.button if b.label == label)


def labelled(widgets, label):
    return next(w for w in widgets if w.label == label)


def new_case(signed_in) -> tuple[object, str]:
    at = go(signed_in("educator"), BUILDER)
    assert at.selectbox(key="builder_case").value == "— start a new case —"
    assert "New synthetic patient EDU-001" in texts(at)
    labelled(at.selectbox, "CAR-T product").select("ide-cel")
    labelled(at.text_input, "Disease").input("multiple myeloma")
    labelled(at.number_input, "Age (years)").set_value(70.0)
    labelled(at.selectbox, "Sex").select("female")
    labelled(at.number_input, "Weight (kg)").set_value(64.0)
    labelled(at.date_input, "Infusion date").set_value((datetime.now(UTC) - timedelta(days=2))
                                                        .date())
    button(at, "Create the synthetic patient").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="builder_case").value == "EDU-001"
    return at, "EDU-001"


ICE_10 = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
          "ice_attention": 1}


def chart(at, pid: str, at_time: datetime, ice: bool = False, **values: float) -> None:
    key = f"builder_{pid}_{at.session_state[f'builder_v_{pid}']}"
    at.date_input(key=f"{key}_at_date").set_value(at_time.date())
    at.time_input(key=f"{key}_at_time").set_value(at_time.time())
    for name, value in values.items():
        at.number_input(key=f"{key}_{'temp' if name == 'temp_c' else name}").set_value(value)
    if ice:  # the ICE items as the nurse scores them, alert
        at.radio(key=f"{key}_instrument").set_value("ICE").run()
        for name, points in ICE_10.items():
            at.radio(key=f"{key}_{name}").set_value(points)
        at.selectbox(key=f"{key}_consciousness").select("alert")
    at.run()
    assert not at.exception, at.exception
    button(at, "Add to the case").click().run()
    assert not at.exception, at.exception


@pytest.fixture
def built(signed_in, store):
    at, pid = new_case(signed_in)
    infusion = store.patient(pid)["infusion_time"]
    vitals = {"hr_bpm": 80, "sbp_mmhg": 124, "dbp_mmhg": 74, "rr_per_min": 16, "spo2_pct": 97}
    chart(at, pid, infusion - timedelta(hours=2), ice=True, temp_c=36.9, **vitals)
    chart(at, pid, infusion + timedelta(hours=20), ice=True, temp_c=38.4, **vitals)
    chart(at, pid, infusion + timedelta(hours=24), temp_c=37.4, **vitals)
    return at, pid, infusion


def test_an_educator_admits_a_synthetic_patient_and_charts_it_with_the_bedside_form(
        built, store):
    at, pid, _infusion = built
    p = store.patient(pid)
    assert (p["is_demo"], p["product"], p["weight_kg"], p["sex"]) == (True, "ide-cel", 64.0,
                                                                      "female")
    assert store.audit(pid)[0]["action"] == "admit"
    assert store.audit(pid)[0]["username"] == "demo.educator"
    rows = store.timeline_rows(pid)
    assert [r["temp_c"] for r in rows] == [36.9, 38.4, 37.4]
    assert {r["age_years"] for r in rows} == {70.0}
    assert {h.recorded_by for h in store.history(pid)} == {"demo.educator"}
    assert "Assessment at" in texts(at) and "CRS 0, ICANS" in texts(at)
    assert "The record so far: 3 assessments" in [e.label for e in at.expander]


def test_a_value_outside_the_limits_is_refused_under_its_field(built, store):
    at, pid, _infusion = built
    key = f"builder_{pid}_{at.session_state[f'builder_v_{pid}']}"
    at.number_input(key=f"{key}_temp").set_value(50.0).run()
    assert any("Temperature 50" in e.value for e in at.error)
    assert button(at, "Add to the case").disabled
    assert len(store.timeline_rows(pid)) == 3


def test_medications_and_labs_are_added_to_the_case(built, store):
    at, pid, infusion = built
    at.selectbox(key=f"builder_med_{pid}").select("antipyretic")
    at.number_input(key=f"builder_dose_{pid}_0").set_value(1000.0)
    at.date_input(key=f"builder_med_at_{pid}_3_date").set_value(
        (infusion + timedelta(hours=21)).date())
    at.time_input(key=f"builder_med_at_{pid}_3_time").set_value(
        (infusion + timedelta(hours=21)).time()).run()
    button(at, "Add the medication").click().run()
    assert not at.exception, at.exception
    assert "antipyretic 1000 mg added." in texts(at)
    at.selectbox(key=f"builder_lab_{pid}").select("crp").run()
    at.number_input(key=f"builder_lab_value_{pid}").set_value(42.0).run()
    button(at, "Add the result").click().run()
    assert "CRP 42 mg/L added." in texts(at)
    (med,) = store.administrations(pid)
    assert (med["kind"], med["dose"], med["recorded_by"]) == ("antipyretic", 1000.0,
                                                               "demo.educator")
    (lab,) = store.labs(pid)
    assert (lab["test"], lab["entered_value"], lab["entered_unit"]) == ("crp", 42.0, "mg/L")
    assert store.timeline_rows(pid)[2]["antipyretic_given"] is True  # counts on the next row
    assert at.number_input(key=f"builder_dose_{pid}_1").value is None  # no second click adds


def test_a_medication_whose_flag_update_fails_is_not_added_and_the_page_says_so(
        built, store, monkeypatch):
    """The medication and the flag resync are one transaction (monitoring/services.py)."""
    at, pid, infusion = built

    def fail(*args, **kwargs):
        raise RuntimeError("resync failed")

    monkeypatch.setattr(ward, "sync_flags", fail)
    at.selectbox(key=f"builder_med_{pid}").select("antipyretic")
    at.number_input(key=f"builder_dose_{pid}_0").set_value(1000.0)
    at.date_input(key=f"builder_med_at_{pid}_3_date").set_value(
        (infusion + timedelta(hours=21)).date())
    at.time_input(key=f"builder_med_at_{pid}_3_time").set_value(
        (infusion + timedelta(hours=21)).time()).run()
    button(at, "Add the medication").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("Not added: the patient's flags could not be brought up to "
                                  "date") and "nothing was saved" in e.value for e in at.error)
    assert store.administrations(pid) == []


def test_a_tocilizumab_dose_above_the_reference_is_questioned_before_it_is_added(built, store):
    at, pid, _infusion = built
    weight = store.patient(pid)["weight_kg"]
    at.selectbox(key=f"builder_med_{pid}").select("tocilizumab")
    at.number_input(key=f"builder_dose_{pid}_0").set_value(8 * weight).run()
    assert not at.warning or not any("Check the dose" in w.value for w in at.warning)
    at.number_input(key=f"builder_dose_{pid}_0").set_value(1000.0).run()
    (w,) = [w.value for w in at.warning if "Check the dose" in w.value]
    assert "1000 mg is above the 800 mg maximum a dose" in w


def test_a_medication_or_lab_result_in_the_future_is_refused(built, store):
    at, pid, _infusion = built
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    at.number_input(key=f"builder_dose_{pid}_0").set_value(1000.0)
    at.date_input(key=f"builder_med_at_{pid}_3_date").set_value(tomorrow)
    at.date_input(key=f"builder_lab_at_{pid}_3_date").set_value(tomorrow)
    at.number_input(key=f"builder_lab_value_{pid}").set_value(42.0).run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Given: the time is in the future") for e in errors)
    assert any(e.startswith("Taken: the time is in the future") for e in errors)
    assert button(at, "Add the medication").disabled and button(at, "Add the result").disabled
    assert store.administrations(pid) == [] and store.labs(pid) == []


def test_a_saved_case_joins_the_library_and_loads_replays_and_quizzes_like_a_built_in(
        built, store, signed_in):
    at, pid, _infusion = built
    assert button(at, "Save to the library").disabled  # no title, summary, learning point yet
    at.text_input(key=f"builder_title_{pid}").input("Fever on Day 1 after ide-cel")
    at.text_area(key=f"builder_summary_{pid}").input("A short fever on Day 1.")
    at.text_area(key=f"builder_points_{pid}").input("38.0 °C is fever\n- fever alone is grade 1")
    at.run()
    button(at, "Save to the library").click().run()
    assert not at.exception, at.exception
    assert "saved to the library, version 1: maximum CRS 1, ICANS 0" in texts(at)

    case = library.find_case(store, pid)
    assert (case.source, case.saved_by, case.version) == ("educator", "demo.educator", 1)
    assert case.card.learning_points == ["38.0 °C is fever", "fever alone is grade 1"]
    assert case.card.trial.trial == "KarMMa" and case.card.synthetic
    assert [(g.crs, g.icans) for g in case.card.expected.grades] == [(0, 0), (1, 0), (0, 0)]
    assert library.verify(case) == []
    files = library.export_zip(case)
    assert files[:2] == b"PK"

    # loads like a built-in: a fresh copy ending today, then replay and quiz
    n = library.load_case(store, case, datetime.now(UTC), by="demo.educator")
    assert n == 3 and len(store.timeline_rows(pid)) == 3
    assert [teaching.replay(store, pid, i).current.crs.grade for i in range(3)] == [0, 1, 0]
    quiz = teaching.start_quiz(store, pid, "L", "key moments", datetime.now(UTC))
    assert quiz.steps == [0, 1, 2] and quiz.title == "Fever on Day 1 after ide-cel"

    at2 = go(signed_in("educator"), "ui/pages/case_library.py")
    at2.selectbox(key="library_case").select(pid).run()
    assert "Every grade on this card is the grading engine's." in texts(at2)
    assert "Built by demo.educator; version 1" in texts(at2)


def test_saving_again_keeps_the_first_version(built, store):
    at, pid, _ = built
    for title in ("First title", "Second title"):
        at.text_input(key=f"builder_title_{pid}").input(title)
        at.text_area(key=f"builder_summary_{pid}").input("A short fever.")
        at.text_area(key=f"builder_points_{pid}").input("fever alone is grade 1")
        at.run()
        button(at, "Save to the library").click().run()
    versions = store.teaching_case_versions(pid)
    assert [library.parse_card(v["card"]).title for v in versions] == ["First title",
                                                                       "Second title"]
    assert library.find_case(store, pid).version == 2
