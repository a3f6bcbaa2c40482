"""Issue 15 on the pages (AppTest): the bedside form records anakinra, siltuximab or another
anti-cytokine agent; the NEWS2 is shown by parameter in the preview, the save confirmation, the
overview, the patient review and the handover; the case builder offers the new medications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from monitoring import review, ward
from ui.handover import handover_html
from ui.tables import NEWS_COLUMNS

from .conftest import go, texts
from .test_pages import entry_for, fill, key_of, save_button

REVIEW = "ui/pages/review.py"


def test_the_form_records_an_anticytokine_agent_and_the_grade_counts_it(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    box = at.checkbox(key=f"{k}_anticytokine_given")
    assert box.label == "Anakinra, siltuximab or other anti-cytokine"
    box.check()
    fill(at, "DEMO-001", temp_c=37.0)
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    last = store.timeline_rows("DEMO-001")[-1]
    assert last["anticytokine_given"] is True and not last.get("tocilizumab_given")


def test_the_preview_and_the_save_confirmation_show_news2_by_parameter(signed_in, store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    at.radio(key=f"{k}_instrument").set_value("ICE").run()
    for name, v in (("ice_orientation", 4), ("ice_naming", 3), ("ice_commands", 1),
                    ("ice_writing", 0), ("ice_attention", 1)):
        at.radio(key=f"{k}_{name}").set_value(v)
    at.selectbox(key=f"{k}_consciousness").select("alert")
    fill(at, "DEMO-001", temp_c=39.2, hr_bpm=80, sbp_mmhg=120, dbp_mmhg=70, rr_per_min=16,
         spo2_pct=97)
    shown = texts(at)
    preview = next(line for line in shown.splitlines() if line.startswith("**NEWS2 "))
    preview = preview + "\n" + shown.splitlines()[shown.splitlines().index(preview) + 1]
    # fever 39.2 scores 2; ICE 9 from the writing item alone is not new confusion (C21)
    assert preview.replace("\\", "") == (
        "**NEWS2 2 — low risk, monitoring every 4-6 h (Royal College of Physicians 2017)**  \n"
        "respiration rate 0 · SpO2 0 · air or oxygen 0 · systolic BP 0 · pulse 0 · "
        "consciousness 0 (alert) · temperature 2")
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    assert preview in texts(at)  # the confirmation shows the same breakdown


# The demo ward as it starts (decision W16), each last assessment scored by hand from RCP
# Chart 1; DEMO-004 is a child. DEMO-001 (bed 1) then gets the assessment below.
BY_BED = {
    # bed: NEWS2, resp. rate, SpO2, air or O2, systolic BP, pulse, consciousness, temp., why
    "1": ["12", "2", "1", "2", "1", "2", "3", "1", "wakes only to voice"],
    # DEMO-002 (CRS 2): RR 20 -> 0, SpO2 95 -> 1, nasal cannula -> 2, SBP 104 -> 1,
    # pulse 102 -> 1, alert, 37.8 °C -> 0
    "2": ["5", "0", "1", "2", "1", "1", "0", "0", "alert"],
    # DEMO-003 (ICANS 3): every vital sign in the zero band; new confusion -> 3
    "3": ["3", "0", "0", "0", "0", "0", "3", "0",
          "wakes only to voice; new confusion: ICE orientation 1/4 (baseline 4); "
          "ICE attention 0/1 (baseline 1)"],
    # DEMO-005 (CRS 3): RR 24 -> 2, SpO2 95 -> 1, high-flow oxygen -> 2, SBP 98 -> 2,
    # pulse 118 -> 2, alert, 38.6 °C -> 1
    "5": ["10", "2", "1", "2", "2", "2", "0", "1", "alert"],
    "4": ["not scored (under 16)"] + [""] * 8,
}


def test_the_overview_lists_each_patients_news2_by_parameter(signed_in, store):
    # RR 22 -> 2, SpO2 95 -> 1, nasal cannula -> 2, SBP 105 -> 1, pulse 112 -> 2,
    # wakes only to voice -> 3, 38.2 °C -> 1: NEWS2 12
    ward.save(store, "DEMO-001", {
        "time": datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5),
        "rr_per_min": 22, "spo2_pct": 95, "o2_device": "nasal_cannula", "o2_flow_l_min": 2,
        "sbp_mmhg": 105, "dbp_mmhg": 60, "hr_bpm": 112, "consciousness": "awakens_to_voice",
        "temp_c": 38.2}, by="demo.nurse")
    at = signed_in("nurse")
    (frame,) = [d.value for d in at.dataframe if "Why consciousness" in d.value.columns]
    shown = {row["Bed"]: [row["NEWS2"], *(row[label] for _, label in NEWS_COLUMNS),
                          row["Why consciousness"]] for _, row in frame.iterrows()}
    assert shown == BY_BED


def test_the_review_page_and_the_handover_show_news2_by_parameter(signed_in, store):
    at = signed_in("physician")
    at.session_state["patient_id"] = "DEMO-005"
    go(at, REVIEW)
    rv = review.patient_review(store, "DEMO-005")
    news = review.news_now(rv)
    assert news is not None
    assert any(line.startswith(news.breakdown()) for line in texts(at).splitlines())
    html = handover_html(rv, rv.current.time, "demo.physician", [], with_chart=False)
    assert escape(news.breakdown()) in html
    # DEMO-005's last assessment (CRS 3 on the demo ward as it starts, W16), by hand
    assert news.breakdown() == ("NEWS2 10: respiration rate 2, SpO2 1, air or oxygen 2, "
                                "systolic BP 2, pulse 2, consciousness 0 (alert), "
                                "temperature 1")


def test_the_handover_names_an_anticytokine_medication_in_words(store):
    store.record_administration("DEMO-005", "other_anticytokine",
                                datetime.now(UTC) - timedelta(hours=1), by="demo.nurse",
                                dose=100)
    rv = review.patient_review(store, "DEMO-005")
    html = handover_html(rv, rv.current.time, "x", [], with_chart=False)
    assert "other anti-IL-6 / anti-IL-1 agent 100 mg" in html
    assert "other_anticytokine" not in html


def test_the_case_builder_offers_siltuximab_and_other_anticytokine_agents(signed_in):
    from .test_case_builder import new_case
    at, pid = new_case(signed_in)
    options = at.selectbox(key=f"builder_med_{pid}").options
    assert {"anakinra", "siltuximab", "other anti-IL-6 / anti-IL-1 agent"} <= set(options)
