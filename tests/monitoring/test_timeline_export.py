"""The timeline CSV a clinician reads (issue 18.14, decision G12): observations, support in
force, neuro items, NEWS2 and the grades with why, headers in words with units, ward times in a
clinical format plus one unambiguous column with the UTC offset, formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from grading import news2
from monitoring import review
from monitoring.store import WardStore
from monitoring.timeline_export import timeline_csv, with_offset

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
HEADER = [
    "Patient", "Date", "Time", "Date and time with UTC offset", "Day after infusion",
    "Temperature (°C)", "Heart rate (/min)", "Systolic BP (mmHg)", "Diastolic BP (mmHg)",
    "Respiratory rate (/min)", "SpO2 (%)", "Oxygen support in force",
    "Oxygen flow in force (L/min)", "FiO2 in force (%)", "Vasoactive infusions running",
    "Level of consciousness", "ICE orientation (0-4 points)", "ICE naming (0-3 points)",
    "ICE following commands (0-1 points)", "ICE writing (0-1 points)",
    "ICE attention (0-1 points)", "ICE total (0-10 points)", "CAPD total (0-32 points)",
    "Sedated", "Seizure", "Motor weakness", "Cerebral oedema", "Raised ICP signs",
    "Attributed to another cause", "Given since the previous assessment",
    "NEWS2 (RCP 2017; + = a minimum, parameters not recorded)", "NEWS2 by parameter",
    "CRS grade (ASTCT 2019)", "CRS grade status", "CRS grade: why",
    "ICANS grade (ASTCT 2019)", "ICANS grade status", "ICANS grade: why",
    "Recorded by", "Recorded at"]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def record(pid: str = "P1", tz: str = "UTC", by: str = "nina") -> WardStore:
    s = WardStore.in_memory(tz)
    s.add_user(by, "nurse")
    s.add_user("drx", "physician")
    s.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
    return s


def test_the_export_has_clinician_headers_in_words_with_units():
    s = record()
    s.record_assessment("P1", {"time": T0, "temp_c": 37.0}, by="nina")
    text = timeline_csv(review.patient_review(s, "P1"))
    assert next(csv.reader(io.StringIO(text))) == HEADER
    assert "temp_c" not in text and "crs_grade" not in text and "T08:00" not in text


def test_each_row_holds_the_vitals_support_in_force_neuro_items_news2_and_grades():
    s = record()
    s.record_assessment("P1", {"time": T0, "temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120,
                               "dbp_mmhg": 70, "rr_per_min": 16, "spo2_pct": 97,
                               "o2_device": "room_air", "vasopressors": "none",
                               "consciousness": "alert", "ice_orientation": 4, "ice_naming": 3,
                               "ice_commands": 1, "ice_writing": 1, "ice_attention": 1},
                        by="nina")
    s.record_assessment("P1", {"time": T0 + timedelta(hours=2), "temp_c": 38.0,
                               "hr_bpm": 112, "sbp_mmhg": 86, "dbp_mmhg": 50,
                               "rr_per_min": 24, "spo2_pct": 92, "o2_device": "nasal_cannula",
                               "o2_flow_l_min": 4.0, "vasopressors": "norepinephrine",
                               "consciousness": "awakens_to_voice", "ice_orientation": 2,
                               "ice_naming": 3, "ice_commands": 1, "ice_writing": 0,
                               "ice_attention": 0, "antipyretic_given": True,
                               "fluid_bolus_given": True}, by="nina")
    # support left blank: still in force (design.md), as the course has it
    s.record_assessment("P1", {"time": T0 + timedelta(hours=3), "temp_c": 37.6}, by="nina")
    rv = review.patient_review(s, "P1")
    first, febrile, later = rows_of(timeline_csv(rv))
    assert (first["Date"], first["Time"], first["Date and time with UTC offset"]) == (
        "02 Mar 2026", "08:00", "2026-03-02 08:00 +00:00")
    assert first["Day after infusion"] == "1"
    assert [febrile[k] for k in HEADER[5:11]] == ["38.0", "112", "86", "50", "24", "92"]
    assert (febrile["Oxygen support in force"], febrile["Oxygen flow in force (L/min)"],
            febrile["Vasoactive infusions running"]) == ("nasal cannula", "4", "norepinephrine")
    assert (later["Oxygen support in force"], later["Oxygen flow in force (L/min)"],
            later["Vasoactive infusions running"]) == ("nasal cannula", "4", "norepinephrine")
    assert (first["Oxygen support in force"], first["Vasoactive infusions running"]) == (
        "room air", "none")
    assert febrile["Level of consciousness"] == "wakes only to voice"
    assert [febrile[k] for k in HEADER[16:22]] == ["2", "3", "1", "0", "0", "6"]
    assert later["ICE total (0-10 points)"] == "" and first["ICE total (0-10 points)"] == "10"
    assert febrile["Given since the previous assessment"] == "antipyretic, fluid bolus"
    # NEWS2 by the RCP 2017 table: RR 24 -> 2, SpO2 92 -> 2, oxygen 2, SBP 86 -> 3,
    # pulse 112 -> 2, voice -> 3, 38.0 -> 0
    assert febrile["NEWS2 (RCP 2017; + = a minimum, parameters not recorded)"] == "14"
    assert news2.news2(rr=24, spo2=92, on_oxygen=True, sbp=86, pulse=112,
                       consciousness="awakens_to_voice", temp_c=38.0).total == 14
    assert first["NEWS2 (RCP 2017; + = a minimum, parameters not recorded)"] == "0"
    assert febrile["NEWS2 by parameter"].startswith("NEWS2 14")
    # CRS 4 would need more; fever + a vasopressor is grade 3 (ASTCT 2019)
    assert (febrile["CRS grade (ASTCT 2019)"], febrile["CRS grade status"]) == ("3", "final")
    assert "norepinephrine" in febrile["CRS grade: why"]
    assert "(02 Mar 10:00)" in febrile["CRS grade: why"]
    assert febrile["ICANS grade (ASTCT 2019)"] == str(rv.results[1].icans.grade)
    assert (first["Recorded by"], first["Recorded at"][:6]) == ("nina", rv.recorded[
        rv.ids[0]][1].astimezone(UTC).strftime("%d %b"))


def test_local_times_are_clinical_and_the_offset_column_tells_the_repeated_hour_apart():
    s = record(tz="Europe/London")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)    # 01:30 BST
    s.record_assessment("P1", {"time": first, "temp_c": 37.0}, by="nina")
    s.record_assessment("P1", {"time": first + timedelta(hours=1), "temp_c": 37.2},
                        by="nina")                      # 01:30 GMT, the hour again
    a, b = rows_of(timeline_csv(review.patient_review(s, "P1")))
    assert (a["Date"], a["Time"]) == (b["Date"], b["Time"]) == ("25 Oct 2026", "01:30")
    assert (a["Date and time with UTC offset"], b["Date and time with UTC offset"]) == (
        "2026-10-25 01:30 +01:00", "2026-10-25 01:30 +00:00")


@pytest.mark.parametrize(("at", "text"), [
    (datetime(2026, 12, 5, 13, 30, tzinfo=UTC), "2026-12-05 14:30 +01:00"),
    (datetime(2026, 12, 5, 13, 30, 15, tzinfo=UTC), "2026-12-05 14:30:15 +01:00")])
def test_the_offset_column_reads_like_a_ward_time_with_its_offset(at, text):
    from zoneinfo import ZoneInfo
    assert with_offset(at, ZoneInfo("Europe/Berlin")) == text


def test_a_formula_like_patient_id_or_user_name_is_written_as_text():
    pid, user = "=cmd|' /C calc'!A0", "@SUM(A1:A9)"
    s = record(pid, by=user)
    s.record_assessment(pid, {"time": INFUSION - timedelta(hours=20), "temp_c": 37.0},
                        by=user)
    text = timeline_csv(review.patient_review(s, pid))
    (row,) = rows_of(text)
    assert row["Patient"] == "'" + pid and row["Recorded by"] == "'" + user
    assert f'"\'{pid}"' in text                          # quoted, one quote in front
    assert row["Day after infusion"] == "-1"             # a number stays a number
