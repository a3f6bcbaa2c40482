"""The registry summary (issue 19 point 3; docs/registry.md, decisions R1-R5): CRS and ICANS
from the course's episodes, treatments counted once each, vasopressors and ventilation from the
support in force and the medication record, death and its cause, ICU admission from the
stays the ward charted ("none recorded" otherwise, R10), the
markers' peak and fold; CSV formula-safe with dates as dates, FHIR a valid R4 Bundle."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import cli
from monitoring.fhir.export import GRADE_SYSTEM
from monitoring.medications import INDICATIONS
from monitoring.registry import registry_export, registry_summaries
from monitoring.store import WardStore
from tests.fuzz_files import run_in_process

INFUSION = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
ICE_10 = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
          "ice_attention": 1, "consciousness": "alert"}
VITALS = {"hr_bpm": 90, "sbp_mmhg": 118, "dbp_mmhg": 70, "rr_per_min": 16, "spo2_pct": 97}


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 3, 6, hour, 0, tzinfo=UTC) + timedelta(days=day)


def new_ward() -> WardStore:
    s = WardStore.in_memory("UTC")
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    return s


def crs_course(s: WardStore, pid: str = "P1") -> None:
    """Fever on Day +1, fever with hypotension on norepinephrine (grade 3) that afternoon,
    better next morning with ICE 9 (ICANS grade 1), all normal from Day +3."""
    s.admit({"patient_id": pid, "infusion_time": INFUSION, "product": "axi-cel",
             "lymphodepletion_at": at(-5)}, by="drx")
    for row in (
            {"time": at(0, 20), "temp_c": 37.0, **VITALS, "o2_device": "room_air",
             "vasopressors": "none", **ICE_10},
            {"time": at(1), "temp_c": 38.6, **VITALS},
            {"time": at(1, 14), "temp_c": 39.2, **VITALS, "sbp_mmhg": 84, "dbp_mmhg": 48,
             "vasopressors": "norepinephrine", "tocilizumab_given": True},
            {"time": at(2), "temp_c": 37.4, **VITALS, "vasopressors": "none",
             **ICE_10, "ice_writing": 0, "corticosteroid_given": True},
            {"time": at(3), "temp_c": 36.9, **VITALS, **ICE_10},
            {"time": at(6), "temp_c": 36.8, **VITALS, **ICE_10}):
        s.record_assessment(pid, row, by="nina")
    # two tocilizumab doses in the medication record; the 14:00 tick is the 12:00 dose
    s.record_administration(pid, "tocilizumab", at(1, 12), by="drx", dose=560)
    s.record_administration(pid, "tocilizumab", at(1, 20), by="drx", dose=560)
    s.record_administration(pid, "anakinra", at(2, 10), by="drx", dose=100)
    s.record_labs(pid, [("il6", 6.2, "pg/mL", at(-5, 6)), ("il6", 1850, "pg/mL", at(1, 14)),
                        ("crp", 8, "mg/L", at(-6)), ("crp", 217, "mg/L", at(2)),
                        ("ferritin", 420, "ng/mL", at(-5, 6)),
                        ("ferritin", 12600, "ng/mL", at(4)),
                        ("fibrinogen", 3.8, "g/L", at(-5, 6)),
                        ("fibrinogen", 0.95, "g/L", at(3))], by="drx")
    # grade 3 on norepinephrine: to intensive care at 15:00, back on the ward 36 h later
    stay = s.record_icu_transfer(pid, at(1, 15), by="nina")
    s.record_icu_return(pid, stay, at(3, 3), by="nina")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def ward() -> WardStore:
    s = new_ward()
    crs_course(s)
    return s


# ------------------------------------------------------------------ CRS and ICANS (R1)
def test_crs_onset_maximum_grade_its_date_and_resolution_come_from_the_course(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert {k: row[k] for k in (
        "CRS (yes/no)", "CRS onset date", "CRS onset day after infusion",
        "CRS maximum grade (ASTCT 2019)", "CRS date of maximum grade",
        "CRS resolution date", "CRS at the last assessment", "CRS episodes")} == {
        "CRS (yes/no)": "yes", "CRS onset date": "2026-03-07",
        "CRS onset day after infusion": "1", "CRS maximum grade (ASTCT 2019)": "3",
        "CRS date of maximum grade": "2026-03-07", "CRS resolution date": "2026-03-08",
        "CRS at the last assessment": "resolved", "CRS episodes": "1"}


def test_icans_from_an_ice_score_of_nine_is_grade_one_with_its_dates(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["ICANS (yes/no)"], row["ICANS maximum grade (ASTCT 2019)"],
            row["ICANS onset date"], row["ICANS resolution date"]) == (
        "yes", "1", "2026-03-08", "2026-03-09")


def test_an_ongoing_episode_has_no_resolution_date_and_says_so():
    s = new_ward()
    s.admit({"patient_id": "P2", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P2", {"time": at(1), "temp_c": 38.4, **VITALS}, by="nina")
    (x,) = registry_summaries(s, "P2")
    assert (x.crs.occurred, x.crs.maximum, x.crs.resolved, x.crs.state) == (
        True, 1, None, "ongoing at the last assessment")
    assert (x.icans.occurred, x.icans.state) == (None, "not evaluable")  # no neuro check


def test_a_patient_without_assessments_is_not_assessed_never_no():
    s = new_ward()
    s.admit({"patient_id": "P3", "infusion_time": INFUSION}, by="drx")
    (row,) = csv_rows(registry_export(s, "P3"))
    assert (row["CRS (yes/no)"], row["ICANS (yes/no)"], row["CRS episodes"]) == (
        "not assessed", "not assessed", "0")


def test_no_crs_when_every_assessment_is_graded_zero():
    s = new_ward()
    s.admit({"patient_id": "P4", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P4", {"time": at(1), "temp_c": 37.1, **VITALS,
                               "o2_device": "room_air", "vasopressors": "none", **ICE_10},
                        by="nina")
    (row,) = csv_rows(registry_export(s, "P4"))
    assert (row["CRS (yes/no)"], row["CRS maximum grade (ASTCT 2019)"],
            row["ICANS (yes/no)"]) == ("no", "", "no")


# ------------------------------------------------------------------ treatments (R2)
def test_each_dose_is_counted_once_from_the_medication_record_or_the_assessment_tick(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    # tocilizumab: two MAR doses; the tick at 14:00 is the 12:00 dose, not a third
    assert (row["Tocilizumab given (yes/no)"], row["Tocilizumab first date"],
            row["Tocilizumab doses"],
            row["Tocilizumab doses known only from an assessment tick (a minimum)"]) == (
        "yes", "2026-03-07", "2", "0")
    # a corticosteroid only ticked on an assessment: one dose, flagged as a minimum
    assert (row["Corticosteroid doses"],
            row["Corticosteroid doses known only from an assessment tick (a minimum)"],
            row["Corticosteroids named"]) == ("1", "1", "")
    assert (row["Anakinra given (yes/no)"], row["Anakinra first date"],
            row["Anakinra doses"]) == ("yes", "2026-03-08", "1")
    assert (row["Siltuximab given (yes/no)"], row["Siltuximab doses"]) == ("no", "0")


def test_an_entered_in_error_dose_is_not_counted(ward):
    (dose,) = [m for m in ward.administrations("P1") if m["kind"] == "anakinra"]
    ward.mark_administration_in_error("P1", dose["id"], "wrong patient", by="drx")
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["Anakinra given (yes/no)"], row["Anakinra doses"]) == ("no", "0")


def test_an_anticytokine_tick_without_a_named_dose_counts_as_an_unnamed_agent():
    s = new_ward()
    s.admit({"patient_id": "P5", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P5", {"time": at(1), "temp_c": 38.2, **VITALS,
                               "anticytokine_given": True}, by="nina")
    s.record_administration("P5", "dexamethasone", at(1, 9), by="drx", dose=10)
    s.record_administration("P5", "methylprednisolone", at(2, 9), by="drx", dose=1000)
    (x,) = registry_summaries(s, "P5")
    other = next(t for t in x.treatments if t.key == "other_anticytokine")
    steroid = next(t for t in x.treatments if t.key == "corticosteroid")
    assert (other.doses, other.from_assessments) == (1, 1)
    assert (steroid.doses, steroid.agents, steroid.first) == (
        2, ("dexamethasone", "methylprednisolone"), at(1, 9))


# ------------------------------------------------------------------ given for CRS, ICANS (R11)
def reasons_course() -> WardStore:
    """Tocilizumab twice for CRS; dexamethasone for CRS and ICANS at once, then for ICANS,
    then once with no reason stated, and a steroid ticked on an assessment with no dose
    recorded; anakinra for IEC-HS."""
    s = new_ward()
    s.admit({"patient_id": "P7", "infusion_time": INFUSION}, by="drx")
    for row in ({"time": at(1), "temp_c": 38.6, **VITALS, "corticosteroid_given": True},
                {"time": at(2, 12), "temp_c": 37.0, **VITALS},
                {"time": at(4), "temp_c": 36.9, **VITALS}):
        s.record_assessment("P7", row, by="nina")
    s.record_administrations("P7", [
        ("tocilizumab", at(1, 12), 560, None, "IV", "crs"),
        ("tocilizumab", at(1, 20), 560, None, "IV", "crs"),
        ("dexamethasone", at(2, 9), 10, None, "IV", "crs_icans"),
        ("dexamethasone", at(2, 21), 10, None, "IV", "icans"),
        ("dexamethasone", at(3, 9), 10, None, "IV"),
        ("anakinra", at(2, 10), 100, None, "SC", "iec_hs")], by="drx")
    return s


def given_for(row: dict[str, str], words: str) -> tuple[str, ...]:
    return tuple(row[f"{words} {c}"] for c in (
        "given for CRS (yes/no)", "given for CRS: first date", "given for CRS: doses",
        "given for ICANS (yes/no)", "given for ICANS: first date", "given for ICANS: doses",
        "doses with the reason not stated"))


def test_the_doses_given_for_crs_and_for_icans_are_counted_beside_every_dose():
    s = reasons_course()
    (row,) = csv_rows(registry_export(s, "P7"))
    assert (row["Tocilizumab doses"], row["Corticosteroid doses"], row["Anakinra doses"]) == (
        "2", "4", "1")                               # the any-reason columns as before
    assert given_for(row, "Tocilizumab") == ("yes", "2026-03-07", "2", "no", "", "0", "0")
    # a dose for CRS and ICANS at once counts under each; the tick and the unstated dose
    # are counted apart and make no "no" of the columns they could belong to
    assert given_for(row, "Corticosteroid") == (
        "yes", "2026-03-08", "1", "yes", "2026-03-08", "2", "2")
    assert given_for(row, "Anakinra") == ("no", "", "0", "no", "", "0", "0")   # IEC-HS
    assert given_for(row, "Siltuximab") == ("no", "", "0", "no", "", "0", "0")


def test_a_steroid_whose_reason_is_not_stated_is_never_reported_as_not_given_for_crs():
    s = new_ward()
    s.admit({"patient_id": "P8", "infusion_time": INFUSION}, by="drx")
    s.record_administration("P8", "methylprednisolone", at(1), by="drx", dose=1000)
    (row,) = csv_rows(registry_export(s, "P8"))
    assert given_for(row, "Corticosteroid") == (
        "reason not stated", "", "0", "reason not stated", "", "0", "1")


def test_a_reason_corrected_with_a_reason_moves_the_dose_to_its_column():
    s = reasons_course()
    (dose,) = [m for m in s.administrations("P7")
               if m["kind"] == "dexamethasone" and m["indication"] == "not_stated"]
    s.amend_administration("P7", dose["id"], dose["given_at"], 10, "mg", "IV",
                           "for CRS, per the ward round note", by="drx", indication="crs")
    (row,) = csv_rows(registry_export(s, "P7"))
    assert given_for(row, "Corticosteroid") == (
        "yes", "2026-03-08", "2", "yes", "2026-03-08", "2", "1")
    assert row["Corticosteroid doses"] == "4"


def test_the_fhir_registry_says_what_each_treatment_was_given_for():
    bundle = json.loads(registry_export(reasons_course(), "P7", "fhir"))
    Bundle.model_validate(bundle)
    statements = {e["resource"]["medicationCodeableConcept"]["text"]: e["resource"]
                  for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "MedicationStatement"}
    toci, steroid = statements["tocilizumab"], statements["dexamethasone"]
    assert [c["coding"][0]["code"] for c in toci["reasonCode"]] == ["D89.839"]
    assert [c["coding"][0]["code"] for c in steroid["reasonCode"]] == ["D89.839", "G92.00"]
    assert steroid["note"][1]["text"] == (
        "1 given for CRS (first 2026-03-08T09:00:00+00:00); 2 given for ICANS (first "
        "2026-03-08T09:00:00+00:00); 2 with the reason not stated")
    assert "reasonCode" not in statements["anakinra"]
    parts = {c["code"]["coding"][0]["code"]: c.get("valueInteger") for c in
             bundle["entry"][-1]["resource"]["component"]}
    assert (parts["tocilizumab-for-crs-doses"], parts["tocilizumab-for-icans-doses"],
            parts["corticosteroid-for-icans-doses"],
            parts["corticosteroid-reason-not-stated-doses"]) == (2, 0, 2, 2)
    assert "siltuximab-for-crs-doses" not in parts     # nothing given: nothing said


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("dexamethasone", "methylprednisolone")),
                          st.sampled_from(sorted(INDICATIONS))), min_size=0, max_size=6))
def test_every_steroid_dose_is_counted_under_the_reasons_it_was_given_for(doses):
    """R11 for any doses: a dose counts for CRS when its reason names CRS, for ICANS when it
    names ICANS, apart when not stated; "no" only when every reason is stated."""
    s = new_ward()
    s.admit({"patient_id": "P9", "infusion_time": INFUSION}, by="drx")
    s.record_administrations("P9", [(kind, at(1, 0) + timedelta(hours=i), 10, None, "IV", why)
                                    for i, (kind, why) in enumerate(doses)], by="drx")
    (x,) = registry_summaries(s, "P9")
    t = next(t for t in x.treatments if t.key == "corticosteroid")
    whys = [why for _, why in doses]
    assert t.doses == len(doses)
    assert t.crs_doses == sum(w in ("crs", "crs_icans") for w in whys)
    assert t.icans_doses == sum(w in ("icans", "crs_icans") for w in whys)
    assert t.not_stated == whys.count("not_stated")
    for name in ("crs", "icans"):
        n = getattr(t, f"{name}_doses")
        assert t.given_for(name) == ("yes" if n else "reason not stated" if t.not_stated
                                     else "no")
        first = getattr(t, f"{name}_first")
        assert first == (None if not n else at(1, 0) + timedelta(hours=next(
            i for i, w in enumerate(whys) if w in (name, "crs_icans"))))


# ------------------------------------------------------------------ support, ICU, death
def test_vasopressors_come_from_the_bedside_chart_and_the_medication_record(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["Vasopressors (yes/no)"], row["Vasopressors first date"],
            row["Vasopressors given"]) == ("yes", "2026-03-07", "norepinephrine")
    ward.record_administration("P1", "vasopressin", at(1, 6), by="drx", dose=0.03,
                               unit="units/min")
    (x,) = registry_summaries(ward, "P1")
    assert (x.vasopressors_from, x.vasopressor_agents) == (at(1, 6),
                                                           ("norepinephrine", "vasopressin"))


def test_an_inotrope_alone_is_not_a_vasopressor():
    s = new_ward()
    s.admit({"patient_id": "P6", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P6", {"time": at(1), "temp_c": 37.0, **VITALS,
                               "vasopressors": "dobutamine"}, by="nina")
    (x,) = registry_summaries(s, "P6")
    assert (x.vasopressors_from, x.vasopressor_agents) == (None, ())


def test_ventilation_death_and_its_cause_and_no_icu_stay_charted_is_none_recorded():
    s = new_ward()
    s.admit({"patient_id": "P7", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P7", {"time": at(2), "temp_c": 39.0, **VITALS, "o2_device": "bipap",
                               "fio2_pct": 60}, by="nina")
    s.record_assessment("P7", {"time": at(3), "temp_c": 39.4, **VITALS,
                               "o2_device": "mechanical_ventilation", "fio2_pct": 80},
                        by="nina")
    s.record_assessment("P7", {"time": at(4, 3), "died_of": "crs"}, by="drx")
    (row,) = csv_rows(registry_export(s, "P7"))
    assert (row["Non-invasive ventilation, CPAP or BiPAP (yes/no)"],
            row["Non-invasive ventilation first date"], row["Mechanical ventilation (yes/no)"],
            row["Mechanical ventilation first date"]) == ("yes", "2026-03-08", "yes",
                                                          "2026-03-09")
    assert (row["Death recorded (yes/no)"], row["Date of death"], row["Cause of death"]) == (
        "yes", "2026-03-10", "cytokine release syndrome")
    assert (row["ICU admission"], row["ICU first transfer date"], row["ICU stays"],
            row["ICU days, stays with a recorded return"]) == ("none recorded", "", "0", "")
    # ASTCT 2019: death from CRS is grade 5; the episode never resolved
    assert (row["CRS maximum grade (ASTCT 2019)"], row["CRS date of maximum grade"],
            row["CRS resolution date"], row["CRS at the last assessment"]) == (
        "5", "2026-03-10", "", "not resolved: death recorded")


# ------------------------------------------------------------------ ICU admission (R10)
def test_icu_admission_is_the_first_transfer_with_the_stays_and_days_charted(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["ICU admission"], row["ICU first transfer date"],
            row["ICU first transfer day after infusion"], row["ICU stays"],
            row["ICU days, stays with a recorded return"],
            row["ICU stay without a recorded return, since"]) == (
        "yes", "2026-03-07", "1", "1", "1.5", "")
    # a second stay of 12 h; one entered in error and one corrected count as the record has them
    second = ward.record_icu_transfer("P1", at(4, 8), by="nina", returned_at=at(4, 18))
    ward.amend_icu_stay("P1", second, at(4, 8), at(4, 20), "return charted 2 h early",
                        by="drx")
    wrong = ward.record_icu_transfer("P1", at(5, 8), by="nina", returned_at=at(5, 20))
    ward.mark_icu_stay_in_error("P1", wrong, "wrong patient", by="nina")
    (x,) = registry_summaries(ward, "P1")
    assert x.icu.stays == ((at(1, 15), at(3, 3)), (at(4, 8), at(4, 20)))
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["ICU first transfer date"], row["ICU stays"],
            row["ICU days, stays with a recorded return"]) == ("2026-03-07", "2", "2")


def test_a_stay_before_the_infusion_is_counted_with_its_negative_day_never_hidden():
    """R10, the conservative reading: the registry asks about intensive care after the
    infusion; a stay charted before it is still "yes", its day after infusion negative, so the
    registrar sees it and decides (never a silent "none recorded")."""
    s = new_ward()
    s.admit({"patient_id": "P9", "infusion_time": INFUSION}, by="drx")
    s.record_icu_transfer("P9", at(-2, 9), by="nina", returned_at=at(-1, 9))
    (row,) = csv_rows(registry_export(s, "P9"))
    assert (row["ICU admission"], row["ICU first transfer date"],
            row["ICU first transfer day after infusion"], row["ICU stays"],
            row["ICU days, stays with a recorded return"]) == (
        "yes", "2026-03-04", "-2", "1", "1")


def test_a_stay_with_no_return_is_counted_as_a_stay_but_not_in_the_days():
    s = new_ward()
    s.admit({"patient_id": "P9", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P9", {"time": at(2), "temp_c": 39.0, **VITALS}, by="nina")
    s.record_icu_transfer("P9", at(2, 22), by="nina")
    s.record_assessment("P9", {"time": at(4, 3), "died_of": "crs"}, by="drx")
    (row,) = csv_rows(registry_export(s, "P9"))
    assert (row["ICU admission"], row["ICU first transfer date"], row["ICU stays"],
            row["ICU days, stays with a recorded return"],
            row["ICU stay without a recorded return, since"]) == (
        "yes", "2026-03-08", "1", "", "2026-03-08")
    parts = {c["code"]["coding"][0]["code"]: c for c in json.loads(registry_export(
        s, "P9", "fhir"))["entry"][-1]["resource"]["component"]}
    assert parts["icu-open-since"]["valueDateTime"] == "2026-03-08T22:00:00+00:00"
    assert "icu-days" not in parts


def test_no_icu_stay_charted_is_absent_in_fhir_never_false():
    s = new_ward()
    s.admit({"patient_id": "P10", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P10", {"time": at(2), "temp_c": 37.0, **VITALS}, by="nina")
    bundle = json.loads(registry_export(s, "P10", "fhir"))
    Bundle.model_validate(bundle)
    (icu,) = [c for c in bundle["entry"][-1]["resource"]["component"]
              if c["code"]["coding"][0]["code"].startswith("icu")]
    assert "valueBoolean" not in icu
    assert icu["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert icu["dataAbsentReason"]["text"].startswith("none recorded")


# ------------------------------------------------------------------ markers (issue 20)
def test_the_export_carries_the_peak_and_fold_of_il6_crp_ferritin_and_lowest_fibrinogen(ward):
    (row,) = csv_rows(registry_export(ward, "P1"))
    assert (row["IL-6 baseline (pg/mL)"], row["IL-6 baseline taken"],
            row["IL-6 peak after infusion (pg/mL)"], row["IL-6 peak after infusion: date"],
            row["IL-6 peak after infusion: day after infusion"],
            row["IL-6 fold change from baseline"]) == (
        "6.2", "before lymphodepletion", "1850", "2026-03-07", "1", "298.4")
    assert (row["CRP baseline (mg/dL)"], row["CRP peak after infusion (mg/dL)"],
            row["CRP fold change from baseline"]) == ("0.8", "21.7", "27.13")
    assert (row["Ferritin peak after infusion (ng/mL)"],
            row["Ferritin fold change from baseline"]) == ("12600", "30")
    assert (row["Fibrinogen baseline (mg/dL)"], row["Fibrinogen lowest after infusion (mg/dL)"],
            row["Fibrinogen lowest after infusion: day after infusion"],
            row["Fibrinogen fold change from baseline"]) == ("380", "95", "3", "0.25")


# ------------------------------------------------------------------ CSV and patients (R5)
def test_the_csv_is_formula_safe_and_dates_are_plain_dates():
    s = new_ward()
    crs_course(s, "=HYPERLINK(\"http://x\")")
    text = registry_export(s)
    (row,) = csv_rows(text)
    assert row["Patient"] == "'=HYPERLINK(\"http://x\")"
    assert row["Infusion date"] == "2026-03-06" and "T" not in row["CRS onset date"]


def test_demo_patients_are_left_out_unless_asked_for_by_id(ward):
    ward.admit({"patient_id": "DEMO-9", "infusion_time": INFUSION, "is_demo": True}, by="drx")
    assert [r["Patient"] for r in csv_rows(registry_export(ward))] == ["P1"]
    (row,) = csv_rows(registry_export(ward, "DEMO-9"))
    assert row["Synthetic demo patient"] == "yes"


def test_an_export_with_no_patient_still_has_its_header():
    text = registry_export(new_ward())
    assert text.startswith("Patient,Synthetic demo patient,") and text.count("\n") == 1


# ------------------------------------------------------------------ FHIR
def test_the_fhir_bundle_is_valid_r4_with_conditions_medications_and_the_summary(ward):
    bundle = json.loads(registry_export(ward, "P1", "fhir"))
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Condition", "Condition", "MedicationStatement",
                     "MedicationStatement", "MedicationStatement", "Observation"]
    crs, icans = (e["resource"] for e in bundle["entry"][1:3])
    assert crs["code"]["coding"][0]["code"] == "D89.833"
    assert (crs["onsetDateTime"], crs["abatementDateTime"]) == (
        "2026-03-07T08:00:00+00:00", "2026-03-08T08:00:00+00:00")
    assert crs["severity"]["coding"][0]["code"] == "astct-crs-grade-3"
    assert icans["code"]["coding"][0]["code"] == "G92.01"
    toci = bundle["entry"][3]["resource"]
    assert toci["effectivePeriod"] == {"start": "2026-03-07T12:00:00+00:00",
                                       "end": "2026-03-07T20:00:00+00:00"}
    assert toci["note"][0]["text"] == "2 doses recorded"
    parts = {c["code"]["coding"][0]["code"]: c for c in bundle["entry"][-1]["resource"][
        "component"]}
    assert parts["crs-maximum-grade"]["valueInteger"] == 3
    assert parts["vasopressors"]["valueBoolean"] is True
    assert parts["mechanical-ventilation"]["valueBoolean"] is False
    assert parts["icu-admission"]["valueBoolean"] is True
    assert parts["icu-admission-first"]["valueDateTime"] == "2026-03-07T15:00:00+00:00"
    assert parts["icu-stays"]["valueInteger"] == 1
    assert parts["icu-days"]["valueQuantity"] == {"value": 1.5, "unit": "d",
                                                  "system": "http://unitsofmeasure.org",
                                                  "code": "d"}
    assert "icu-open-since" not in parts
    assert parts["il6-peak"]["valueQuantity"] == {"value": 1850.0, "unit": "pg/mL"}
    assert parts["fibrinogen-lowest"]["valueQuantity"]["value"] == 95.0
    assert parts["ferritin-fold"]["valueQuantity"]["value"] == 30.0
    assert all(c["code"]["coding"][0]["system"] == GRADE_SYSTEM for c in parts.values())


def test_a_death_is_on_the_fhir_patient_and_its_cause_in_the_summary():
    s = new_ward()
    s.admit({"patient_id": "P8", "infusion_time": INFUSION}, by="drx")
    s.record_assessment("P8", {"time": at(5), "temp_c": 37.2, **VITALS, **ICE_10}, by="nina")
    s.record_assessment("P8", {"time": at(6), "died_of": "other"}, by="drx")
    bundle = json.loads(registry_export(s, "P8", "fhir"))
    patient = bundle["entry"][0]["resource"]
    assert patient["deceasedDateTime"] == "2026-03-12T08:00:00+00:00"
    summary = bundle["entry"][-1]["resource"]
    (cause,) = [c for c in summary["component"]
                if c["code"]["coding"][0]["code"] == "cause-of-death"]
    assert cause["valueCodeableConcept"]["text"] == "other cause (not CRS or ICANS)"


# ------------------------------------------------------------------ command line
@pytest.fixture
def cli_ward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ward.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert run_in_process(cli.main, "init")[0] == 0
    s = WardStore(f"sqlite:///{path}")
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    crs_course(s)
    s.engine.dispose()
    return path


def test_the_command_writes_csv_or_fhir_to_the_screen_or_a_file(cli_ward, tmp_path):
    code, out, err = run_in_process(cli.main, "registry-export")
    assert code == 0, err
    assert csv_rows(out)[0]["CRS maximum grade (ASTCT 2019)"] == "3"
    target = tmp_path / "registry.json"
    code, out, err = run_in_process(cli.main, "registry-export", "--patient", "P1",
                                    "--format", "fhir", "--out", str(target))
    assert (code, out) == (0, ""), err
    Bundle.model_validate(json.loads(target.read_text(encoding="utf-8")))


def test_the_command_refuses_an_unknown_patient_without_a_traceback(cli_ward):
    code, out, err = run_in_process(cli.main, "registry-export", "--patient", "nobody")
    assert (code, out, err.strip()) == (2, "", "unknown patient 'nobody'")


def test_the_command_refuses_a_format_it_does_not_write(cli_ward, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["registry-export", "--format", "xml"])
    captured = capsys.readouterr()
    assert stop.value.code == 2 and captured.out == ""
    assert "invalid choice: 'xml'" in captured.err and "Traceback" not in captured.err


def test_the_command_names_a_folder_it_cannot_write_to(cli_ward, tmp_path):
    code, out, err = run_in_process(cli.main, "registry-export", "--out", str(tmp_path))
    assert (code, out) == (2, "") and "is a folder" in err


def test_the_database_record_gives_the_same_export_as_the_in_memory_one(store):
    crs_course(store)
    assert registry_export(store, "P1") == registry_export(new_ward_with_course(), "P1")


def new_ward_with_course() -> WardStore:
    s = new_ward()
    crs_course(s)
    return s
