"""Bedside entry of the other scales' inputs (AppTest): a dose for a running vasopressor in
the unit chosen, organ-toxicity grades, a dose left unchanged recorded blank (= unchanged),
with the infusion kept on the row so the row stands on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .test_pages import entry_for, key_of, save_button


def at_minutes_ago(at, k: str, minutes: int) -> None:
    """Back-date the entry a few minutes, so that entries made in one test never share a time."""
    when = datetime.now(UTC) - timedelta(minutes=minutes)
    at.date_input(key=f"{k}_date").set_value(when.date())
    at.time_input(key=f"{k}_time").set_value(when.time().replace(second=0, microsecond=0))


def test_a_nurse_records_a_vasopressor_dose_and_an_organ_grade(signed_in, store):
    pid = "DEMO-001"
    at = entry_for(signed_in, pid)
    k = key_of(at, pid)
    at.number_input(key=f"{k}_temp").set_value(38.6)
    at.multiselect(key=f"{k}_pressors").select("norepinephrine").run()
    at.radio(key=f"{k}_sc_norepinephrine_unit").set_value("µg/kg/min").run()
    at.number_input(key=f"{k}_sc_norepinephrine_ug_kg_min").set_value(0.08)
    at.selectbox(key=f"{k}_sc_creatinine_ctcae_grade").select(2).run()
    assert not at.exception
    save_button(at, pid).click().run()
    assert not at.exception
    last = store.timeline_rows(pid)[-1]
    assert (last["vasopressors"], last["norepinephrine_ug_kg_min"],
            last["creatinine_ctcae_grade"]) == ("norepinephrine", 0.08, 2)
    assert last.get("norepinephrine_ug_min") is None


def test_an_unchanged_dose_and_grade_are_left_blank_and_a_new_dose_keeps_its_infusion(
        signed_in, store):
    pid = "DEMO-001"
    # three saves after the demo ward's latest assessment (the demo ward ends now)
    latest = store.timeline_rows(pid)[-1]["time"]
    gap = int((datetime.now(UTC) - latest).total_seconds() // 60)
    assert gap >= 4, "the demo patient's latest assessment leaves room for three more"
    first, second, third = gap * 3 // 4, gap // 2, gap // 4
    at = entry_for(signed_in, pid)
    k = key_of(at, pid)
    at_minutes_ago(at, k, first)
    at.number_input(key=f"{k}_temp").set_value(38.6)
    at.multiselect(key=f"{k}_pressors").select("norepinephrine").run()
    at.number_input(key=f"{k}_sc_norepinephrine_ug_min").set_value(6.0)
    at.selectbox(key=f"{k}_sc_transaminitis_ctcae_grade").select(3).run()
    save_button(at, pid).click().run()
    k = key_of(at, pid)  # a fresh form, pre-filled with what is in force
    assert at.number_input(key=f"{k}_sc_norepinephrine_ug_min").value == 6.0
    at_minutes_ago(at, k, second)
    at.number_input(key=f"{k}_temp").set_value(38.2).run()
    save_button(at, pid).click().run()
    last = store.timeline_rows(pid)[-1]
    assert last["temp_c"] == 38.2
    assert last.get("norepinephrine_ug_min") is None and last.get("vasopressors") is None
    assert last.get("transaminitis_ctcae_grade") is None
    k = key_of(at, pid)
    at_minutes_ago(at, k, third)
    at.number_input(key=f"{k}_temp").set_value(38.0)
    at.number_input(key=f"{k}_sc_norepinephrine_ug_min").set_value(12.0).run()
    save_button(at, pid).click().run()
    last = store.timeline_rows(pid)[-1]
    assert (last["norepinephrine_ug_min"], last["vasopressors"]) == (12.0, "norepinephrine")
