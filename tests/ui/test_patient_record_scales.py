"""Correcting an assessment keeps what the form does not show (AppTest): the other scales'
inputs (doses, organ grades, ...) and ongoing support the row left blank (= unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import go

PATIENT = "ui/pages/patient.py"


def test_an_amendment_keeps_scale_inputs_and_leaves_blank_support_blank(signed_in, store):
    t0 = datetime.now(UTC) - timedelta(hours=3)
    store.admit({"patient_id": "SC-1", "infusion_time": t0 - timedelta(days=1)},
                by="demo.physician")
    store.record_assessment("SC-1", {"time": t0, "temp_c": 38.4, "o2_device": "nasal_cannula",
                                     "o2_flow_l_min": 3, "vasopressors": "norepinephrine",
                                     "norepinephrine_ug_min": 8}, by="demo.nurse")
    row = store.record_assessment("SC-1", {"time": t0 + timedelta(hours=1), "temp_c": 38.9,
                                           "norepinephrine_ug_min": 14,
                                           "creatinine_ctcae_grade": 2}, by="demo.nurse")
    at = signed_in("nurse")
    at.session_state["patient_id"] = "SC-1"
    go(at, PATIENT)
    at.selectbox(key="correct_pick_SC-1").select(row).run()
    at.number_input(key=f"amend_{row}_temp").set_value(38.7)
    at.text_input(key=f"correct_reason_{row}").input("transcription error").run()

    at.button(key=f"amend_{row}_save").click().run()
    assert not at.exception
    latest = store.timeline_rows("SC-1")[-1]
    assert latest["temp_c"] == 38.7
    assert (latest["norepinephrine_ug_min"], latest["creatinine_ctcae_grade"]) == (14, 2)
    assert latest.get("o2_device") is None and latest.get("vasopressors") is None
