"""The patient review page and the physician actions (AppTest; charts are tested directly)."""

from __future__ import annotations

from .conftest import go, texts

REVIEW = "ui/pages/review.py"


def open_review(signed_in, role: str, pid: str):
    at = signed_in(role)
    at.session_state["patient_id"] = pid
    return go(at, REVIEW)


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_grade_3_case_shows_its_course_codes_and_tocilizumab_dose(signed_in, store):
    from monitoring import library
    # the whole case (the demo ward shows it only up to now, W16)
    library.load_case(store, library.builtin_case("DEMO-005"))
    at = open_review(signed_in, "physician", "DEMO-005")
    shown = texts(at)
    assert "Maximum so far: CRS 3, ICANS 0" in shown
    assert "CRS grade 3: D89.833" in shown
    assert "Reference dose from the recorded weight: **656 mg** (8 mg/kg x 82 kg = 656 mg)." \
        in shown
    assert "in total: **2** (limit 4)" in shown
    frames = [d.value for d in at.dataframe]
    (daily,) = [d for d in frames if "max CRS" in d.index]
    assert list(daily.loc["max CRS"])[:4] == [0, 3, 3, 0]
    (episodes,) = [d for d in frames if "Syndrome" in d.columns]
    assert episodes.iloc[0][["Syndrome", "Maximum", "Duration (h)"]].tolist() == ["CRS", 3, 36.0]
    assert "Decision support only" in shown


def test_why_this_grade_explains_any_assessment(signed_in, store):
    at = open_review(signed_in, "nurse", "DEMO-005")
    rows = store.timeline_rows("DEMO-005")
    peak = next(i for i, r in enumerate(rows) if r.get("vasopressors") == "norepinephrine")
    at.selectbox(key="why_DEMO-005").select(peak).run()
    shown = texts(at)
    assert "**Hypotension (ASTCT 2019)**" in shown and "norepinephrine" in shown
    assert "Episode maximum so far: CRS 3" in shown


def test_a_physician_attributes_a_fever_and_sees_both_grades(signed_in, store):
    at = open_review(signed_in, "physician", "DEMO-005")
    rows = store.timeline_rows("DEMO-005")
    first_fever = next(i for i, r in enumerate(rows) if (r.get("temp_c") or 0) >= 38)
    at.selectbox(key="attr_row_DEMO-005").select(first_fever)
    at.selectbox(key="attr_finding_DEMO-005").select("fever")
    at.text_input(key="attr_reason_DEMO-005").input("phlebitis at the cannula site").run()
    button(at, "Record attribution").click().run()
    assert not at.exception
    (a,) = store.attributions("DEMO-005")
    assert (a["finding"], a["reason"], a["recorded_by"]) == (
        "fever", "phlebitis at the cannula site", "demo.physician")
    at.selectbox(key="why_DEMO-005").select(first_fever).run()
    assert any("Without them: CRS 1" in w.value for w in at.warning)
    assert "attribution: fever" in texts(at)


def test_a_physician_confirms_a_grade_and_adds_a_note(signed_in, store):
    at = open_review(signed_in, "physician", "DEMO-005")
    at.selectbox(key="conf_syn_DEMO-005").select("crs").run()
    at.text_input(key="conf_note_DEMO-005").input("agree").run()
    button(at, "Confirm grade").click().run()
    (c,) = store.confirmations("DEMO-005")
    assert (c["syndrome"], c["grade"], c["note"], c["recorded_by"]) == (
        "crs", 3, "agree", "demo.physician")  # the demo ward's CRS 3 now (W16)
    at.text_area(key="note_DEMO-005").input("resolved; plan discharge D+10").run()
    button(at, "Add note").click().run()
    assert [n["text"] for n in store.notes("DEMO-005")] == ["resolved; plan discharge D+10"]
    assert "Note added." in texts(at)
    actions = [e["action"] for e in store.audit("DEMO-005")]
    assert "confirm" in actions and "note" in actions


def test_a_nurse_sees_the_review_but_not_the_physician_actions(signed_in):
    at = open_review(signed_in, "nurse", "DEMO-005")
    assert "Attribution, grade confirmation and notes are physician actions." in texts(at)
    labels = {b.label for b in at.button}
    assert not labels & {"Record attribution", "Confirm grade", "Add note"}


def test_the_page_refuses_roles_without_it(ward_url):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from .conftest import APP
    for role, name in (("educator", "demo.educator"), ("admin", "demo.admin")):
        at = AppTest.from_file(str(Path(APP).parent / REVIEW), default_timeout=60)
        at.session_state["user"] = {"username": name, "display_name": name, "role": role,
                                    "sso": False}
        at.run()
        assert [e.value for e in at.error] == [f"The {role} role cannot open this page."]


def test_guideline_prompts_follow_the_current_grade(signed_in, store):
    from datetime import UTC, datetime, timedelta

    from monitoring import ward
    ward.save(store, "DEMO-001", {"time": datetime.now(UTC) - timedelta(minutes=5),
                                  "temp_c": 38.9, "sbp_mmhg": 84, "dbp_mmhg": 50,
                                  "fluid_bolus_given": True, "spo2_pct": 96}, by="demo.nurse")
    at = open_review(signed_in, "physician", "DEMO-001")
    shown = texts(at)
    assert "Tocilizumab 8 mg/kg IV over 1 h" in shown
    assert "Source: ASCO guideline 2021" in shown


def test_why_this_grade_jumps_to_the_assessment_with_the_highest_grade(signed_in, store):
    from monitoring import library, review
    # the whole case, recovered (the demo ward shows it only up to now, W16)
    library.load_case(store, library.builtin_case("DEMO-005"))
    at = open_review(signed_in, "nurse", "DEMO-005")
    results = review.patient_review(store, "DEMO-005").results
    last = len(results) - 1
    assert at.selectbox(key="why_DEMO-005").value == last          # the latest first
    assert results[last].crs.grade == 0
    button(at, "Show the highest CRS grade (3)").click().run()
    assert not at.exception
    first_3 = next(i for i, r in enumerate(results) if r.crs.grade == 3)
    assert at.selectbox(key="why_DEMO-005").value == first_3
    assert "Episode maximum so far: CRS 3" in texts(at)
    # no ICANS episode in this case: nothing to jump to, and the button says so
    assert button(at, "No ICANS episode so far").disabled
    # choosing another assessment by hand still works after the jump
    at.selectbox(key="why_DEMO-005").select(0).run()
    assert at.selectbox(key="why_DEMO-005").value == 0
