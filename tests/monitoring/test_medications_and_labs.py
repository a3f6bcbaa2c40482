"""Medications and labs for real patients (issue 18 point 11; decision W14) and attribution
over a time range (point 12; decision W15): the drug and analyte tables with their limits, the
use cases (write, audit and flag resync in one transaction; corrections keep the original),
and what they feed: the tocilizumab tracker and its flag, the steroid field, the lab scores,
the grade with a physician's attribution."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from grading import guidance
from grading.lab_scores import units
from monitoring import medications, services, tables, ward
from monitoring.review import patient_review, period_effect, tocilizumab
from monitoring.scale_review import lab_scores
from monitoring.store import StoreError, WardStore

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NORMAL = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 75, "rr_per_min": 16,
          "spo2_pct": 98}


def hours(n: float) -> datetime:
    return NOW - timedelta(hours=n)


def admitted(store: WardStore) -> None:
    services.admit(store, {"patient_id": "P1", "infusion_time": INFUSION, "weight_kg": 70},
                   by="drx")


# ------------------------------------------------------------------------------ the drug table
@pytest.mark.parametrize(("kind", "dose", "unit", "unusual"), [
    ("tocilizumab", 560.0, "mg", False),
    ("tocilizumab", 800.0, "mg", False),           # the label's most per dose
    ("tocilizumab", 800.5, "mg", True),            # possible, above the label: highlighted
    ("tocilizumab", 1200.0, "mg", True),           # the most possible
    ("tocilizumab", 19.9, "mg", True),
    ("dexamethasone", 10.0, "mg", False),
    ("dexamethasone", 20.0, "mg", False),
    ("dexamethasone", 20.5, "mg", True),
    ("methylprednisolone", 1000.0, "mg", False),
    ("methylprednisolone", 1001.0, "mg", True),
    ("paracetamol", 1.0, "g", False),
    ("paracetamol", 1000.0, "mg", False),
    ("paracetamol", 1.5, "g", True),
    ("noradrenaline", 0.1, "µg/kg/min", False),
    ("noradrenaline", 1.5, "µg/kg/min", True),
    ("vasopressin", 0.03, "units/min", False),
    ("vasopressin", 0.06, "units/min", True),
    ("dopamine", 5.0, "µg/kg/min", False),
])
def test_a_possible_dose_is_accepted_and_an_unusual_one_says_why(kind, dose, unit, unusual):
    why = medications.check_dose(kind, dose, unit, None)
    assert (why is not None) is unusual
    if unusual:
        assert "unusual" in why and unit in why


@pytest.mark.parametrize(("kind", "dose", "unit", "route", "field", "allowed"), [
    ("tocilizumab", 1200.5, "mg", "IV", "dose", "up to 1200 mg"),
    ("tocilizumab", 0.0, "mg", "IV", "dose", "above 0"),
    ("tocilizumab", -5.0, "mg", "IV", "dose", "above 0"),
    ("tocilizumab", math.nan, "mg", "IV", "dose", "above 0"),
    ("tocilizumab", 560.0, "g", "IV", "unit", "mg"),
    ("tocilizumab", 560.0, "mg", "PO", "route", "IV (intravenous)"),
    ("dexamethasone", 200.5, "mg", "IV", "dose", "up to 200 mg"),
    ("paracetamol", 2.5, "g", "PO", "dose", "up to 2 g"),
    ("noradrenaline", 5.5, "µg/kg/min", "IV", "dose", "up to 5 µg/kg/min"),
    ("vasopressin", 0.3, "units/min", "IV", "dose", "up to 0.2 units/min"),
    ("emapalumab", 10.0, "mg", "IV", "medication", "tocilizumab"),
])
def test_an_impossible_dose_is_refused_naming_the_field_and_what_is_allowed(
        kind, dose, unit, route, field, allowed):
    with pytest.raises(medications.DoseError) as e:
        medications.check_dose(kind, dose, unit, route)
    assert str(e.value).startswith(f"{field}:") and allowed in str(e.value)


def test_every_drug_has_a_route_and_a_unit_and_usual_limits_inside_the_possible_ones():
    for d in medications.DRUGS.values():
        assert d.routes and set(d.routes) <= set(medications.ROUTES)
        for limit in d.doses.values():
            lo, hi = limit.usual
            assert 0 < lo < hi <= limit.most
    assert set(medications.MAR_KINDS) <= set(medications.DRUGS)
    for name in ("paracetamol", "ibuprofen", "noradrenaline", "vasopressin", "adrenaline",
                 "phenylephrine", "dopamine", "anakinra", "siltuximab"):
        assert name in medications.MAR_KINDS


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(list(medications.DRUGS)),
       dose=st.floats(allow_nan=True, allow_infinity=True))
def test_a_dose_is_either_refused_or_within_the_drugs_limit(kind, dose):
    drug = medications.DRUGS[kind]
    try:
        medications.check_dose(kind, dose, drug.unit, drug.routes[0])
    except medications.DoseError:
        assert not (0 < dose <= drug.doses[drug.unit].most)
    else:
        assert 0 < dose <= drug.doses[drug.unit].most


# ------------------------------------------------------------------------------ the analyte table
def test_the_one_analyte_table_has_the_wards_tests_and_the_lab_scores_read_it():
    for test in ("crp", "ferritin", "ldh", "creatinine", "platelets", "anc", "haemoglobin",
                 "fibrinogen", "il6", "alt", "ast"):
        a = units.ANALYTES[test]
        assert a.factors[a.canonical] == 1.0
        assert units.LAB_UNITS[test] == (a.canonical, a.factors)
        assert units.LAB_MAXIMUM[test] == a.maximum
        assert 0 <= a.expected[0] < a.expected[1] <= a.maximum


@pytest.mark.parametrize(("test", "value", "unit", "canonical"), [
    ("creatinine", 88.4, "µmol/L", 1.0),
    ("crp", 120.0, "mg/L", 12.0),
    ("platelets", 150_000.0, "/µL", 150.0),
    ("anc", 1.5, "10^9/L", 1500.0),
    ("haemoglobin", 95.0, "g/L", 9.5),
    ("fibrinogen", 1.5, "g/L", 150.0),
    ("ldh", 5.0, "µkat/L", 300.0),
])
def test_a_value_is_converted_to_its_canonical_unit(test, value, unit, canonical):
    assert units.to_canonical(test, value, unit) == pytest.approx(canonical)


@pytest.mark.parametrize(("test", "value", "unit", "ok"), [
    ("platelets", 5000.0, "10^9/L", True), ("platelets", 5000.1, "10^9/L", False),
    ("crp", 1000.0, "mg/L", True), ("crp", 1000.5, "mg/L", False),
    ("creatinine", 40.0, "mg/dL", True), ("creatinine", 40.01, "mg/dL", False),
    ("haemoglobin", 25.0, "g/dL", True), ("haemoglobin", 25.1, "g/dL", False),
    ("crp", 0.0, "mg/dL", True), ("crp", -0.1, "mg/dL", False),
])
def test_a_lab_value_beyond_its_plausibility_limit_is_refused_naming_the_range(
        test, value, unit, ok):
    if ok:
        units.check_value(test, value, unit)
    else:
        with pytest.raises(units.LabUnitError, match=f"allowed 0 to .* {re.escape(unit)}"):
            units.check_value(test, value, unit)


@pytest.mark.parametrize(("test", "value", "unit", "unusual"), [
    ("crp", 500.0, "mg/L", False), ("crp", 501.0, "mg/L", True),
    ("platelets", 1500.0, "10^9/L", False), ("platelets", 1501.0, "10^9/L", True),
    ("haemoglobin", 4.0, "g/dL", False), ("haemoglobin", 3.9, "g/dL", True),
    ("creatinine", 15.0, "mg/dL", False), ("creatinine", 15.1, "mg/dL", True),
])
def test_a_possible_but_unusual_lab_value_is_highlighted(test, value, unit, unusual):
    assert (units.unusual(test, value, unit) is not None) is unusual


# ------------------------------------------------------------------------------ the use cases
def test_a_medication_is_recorded_with_dose_unit_and_route_and_audited(store):
    admitted(store)
    mid = services.record_medication(store, "P1", "noradrenaline", hours(2), by="nina",
                                     dose=0.08, unit="µg/kg/min", route="IV")
    m = store.administrations("P1")[0]
    assert (m["id"], m["kind"], m["dose"], m["unit"], m["route"]) == (
        mid, "noradrenaline", 0.08, "µg/kg/min", "IV")
    assert any(a["action"] == "record" and a["entity"] == "administration"
               and a["entity_id"] == str(mid) and a["username"] == "nina"
               for a in store.audit())


@pytest.mark.parametrize(("imported", "words"), [
    ([{"source_system": "x"}], "names how (via)"),
    ([{"via": "FHIR", "password": "x"}], "not password"),
    ([{"via": "FHIR"}, {"via": "FHIR"}], "2 import sources for 1 rows"),
])
def test_an_import_source_the_record_cannot_audit_is_refused_and_nothing_is_written(
        memory_store, imported, words):
    admitted(memory_store)
    before = len(memory_store.audit())
    with pytest.raises(StoreError, match=re.escape(words)):
        memory_store.record_labs("P1", [("crp", 5.0, "mg/dL", hours(2))], "nina",
                                 imported=imported)
    assert memory_store.labs("P1") == [] and len(memory_store.audit()) == before


def test_an_impossible_dose_is_refused_through_the_service_and_nothing_is_written(store):
    admitted(store)
    before = len(store.audit())
    with pytest.raises(StoreError, match=r"dose: tocilizumab 8000 mg is not possible: "
                                         r"allowed above 0 up to 1200 mg"):
        services.record_medication(store, "P1", "tocilizumab", hours(2), by="drx", dose=8000,
                                   unit="mg", route="IV")
    assert store.administrations("P1") == [] and len(store.audit()) == before


def test_a_medication_amended_keeps_the_original_visible_with_the_reason(store):
    admitted(store)
    mid = services.record_medication(store, "P1", "dexamethasone", hours(3), by="nina",
                                     dose=100, unit="mg", route="IV")
    new = services.amend_medication(store, "P1", mid, hours(3), 10.0, "mg", "IV",
                                    "100 mg was 10 mg", by="nina")
    assert [(m["id"], m["dose"]) for m in store.administrations("P1")] == [(new, 10.0)]
    history = store.treatment_history("P1")["administrations"]
    assert [(m["id"], m["dose"], m["replaces_id"], m["reason"]) for m in history] == [
        (mid, 100.0, None, None), (new, 10.0, mid, "100 mg was 10 mg")]
    with pytest.raises(StoreError, match=f"medication #{mid} is not a current entry"):
        services.amend_medication(store, "P1", mid, hours(3), 12.0, "mg", "IV", "again",
                                  by="nina")


# ------------------------------------------------------------------------------ why (W20)
def test_why_a_dose_was_given_is_recorded_and_audited_and_not_stated_unless_said(store):
    admitted(store)
    toci = services.record_medication(store, "P1", "tocilizumab", hours(3), by="drx",
                                      dose=560, unit="mg", route="IV", indication="crs")
    para = services.record_medication(store, "P1", "paracetamol", hours(2), by="nina",
                                      dose=1, unit="g", route="PO")
    assert [(m["id"], m["indication"]) for m in store.administrations("P1")] == [
        (toci, "crs"), (para, "not_stated")]
    audited = {a["entity_id"]: json.loads(a["after"])["indication"] for a in store.audit()
               if a["action"] == "record" and a["entity"] == "administration"}
    assert audited == {str(toci): "crs", str(para): "not_stated"}


@pytest.mark.parametrize("indication", ["sepsis", "CRS", "", None, 1])
def test_an_indication_the_ward_does_not_record_is_refused_naming_the_field(store, indication):
    admitted(store)
    before = len(store.audit())
    with pytest.raises(StoreError, match=re.escape(
            f"given for: '{indication}' is not an indication the ward records; one of crs "
            "(CRS), icans (ICANS), crs_icans (CRS and ICANS), iec_hs (IEC-HS (HLH-like)), "
            "prophylaxis (prophylaxis), other (another reason), not_stated (not stated)")):
        services.record_medication(store, "P1", "dexamethasone", hours(2), by="drx", dose=10,
                                   unit="mg", route="IV", indication=indication)
    assert store.administrations("P1") == [] and len(store.audit()) == before


def test_the_database_itself_refuses_an_indication_it_does_not_know(store):
    admitted(store)
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(tables.administrations.insert().values(
            patient_id="P1", given_at=hours(2), kind="dexamethasone", dose=10.0, unit="mg",
            indication="sepsis", recorded_at=NOW, recorded_by="drx", status="final"))
    assert store.administrations("P1") == []


def test_an_amendment_keeps_why_a_dose_was_given_unless_it_corrects_it(store):
    admitted(store)
    mid = services.record_medication(store, "P1", "dexamethasone", hours(3), by="drx",
                                     dose=10, unit="mg", route="IV", indication="crs")
    dose_fixed = services.amend_medication(store, "P1", mid, hours(3), 20.0, "mg", "IV",
                                           "10 mg was 20 mg", by="drx")
    why_fixed = services.amend_medication(store, "P1", dose_fixed, hours(3), 20.0, "mg", "IV",
                                          "for ICANS as well, per the ward round", by="drx",
                                          indication="crs_icans")
    history = store.treatment_history("P1")["administrations"]
    assert [(m["id"], m["dose"], m["indication"], m["replaces_id"]) for m in history] == [
        (mid, 10.0, "crs", None), (dose_fixed, 20.0, "crs", mid),
        (why_fixed, 20.0, "crs_icans", dose_fixed)]
    (audit,) = [a for a in store.audit() if a["action"] == "amend"
                and a["entity_id"] == str(dose_fixed)]
    assert (json.loads(audit["before"])["indication"],
            json.loads(audit["after"])["indication"]) == ("crs", "crs_icans")


@pytest.mark.parametrize("indication", ["crs", "icans", "prophylaxis", "other"])
def test_why_a_dose_was_given_changes_no_grade_flag_or_tocilizumab_count(indication):
    """W20: the reason is for the record and the registry; a prophylactic tocilizumab dose
    still counts towards the ASCO 2021 limits, a steroid "for another reason" still masks."""
    def course(why: str) -> tuple:
        s = WardStore.in_memory("UTC")
        s.add_user("nina", "nurse")
        s.add_user("drx", "physician")
        admitted(s)
        ward.save(s, "P1", {"time": hours(20), **NORMAL, "temp_c": 39.0}, by="nina")
        for h in (19, 11, 3):
            services.record_medication(s, "P1", "tocilizumab", hours(h), by="drx", dose=560,
                                       unit="mg", route="IV", indication=why)
        services.record_medication(s, "P1", "dexamethasone", hours(2), by="drx", dose=10,
                                   unit="mg", route="IV", indication=why)
        ward.save(s, "P1", {"time": hours(1), **NORMAL, "temp_c": 37.0, "sbp_mmhg": 84},
                  by="nina")
        count = tocilizumab(patient_review(s, "P1"), NOW)["count"]
        return (s.timeline_rows("P1"), ward.grades_now(s, "P1"),
                sorted(f["code"] for f in s.open_flags("P1")), count.last_24h, count.total)
    stated, unstated = course(indication), course("not_stated")
    assert stated[3:] == unstated[3:] == (3, 3)
    assert "tocilizumab_limit" in stated[2]
    assert [{k: v for k, v in r.items() if k not in ("id", "recorded_at")} for r in stated[0]] \
        == [{k: v for k, v in r.items() if k not in ("id", "recorded_at")} for r in unstated[0]]
    assert stated[1:3] == unstated[1:3]


def test_a_lab_marked_entered_in_error_leaves_the_lab_scores_and_stays_in_the_history(store):
    admitted(store)
    lid = services.record_lab(store, "P1", "crp", 120, "mg/L", hours(5), by="nina")
    services.lab_in_error(store, "P1", lid, "wrong patient's sample", by="nina")
    assert store.labs("P1") == []
    history = store.treatment_history("P1")["labs"]
    assert [x["status"] for x in history] == ["final", "entered_in_error"]
    assert history[0]["entered_value"] == 120 and history[0]["entered_unit"] == "mg/L"


def test_a_lab_amended_is_converted_again_and_keeps_the_original(store):
    admitted(store)
    lid = services.record_lab(store, "P1", "creatinine", 1.2, "mg/dL", hours(5), by="nina")
    new = services.amend_lab(store, "P1", lid, 106.0, "µmol/L", hours(5), "unit mistaken",
                             by="nina")
    (lab,) = store.labs("P1")
    assert lab["id"] == new and lab["value"] == pytest.approx(106 / 88.4)
    assert lab["entered_unit"] == "µmol/L"
    assert len(store.treatment_history("P1")["labs"]) == 2


def test_a_correction_needs_a_reason(memory_store):
    admitted(memory_store)
    lid = services.record_lab(memory_store, "P1", "crp", 12, "mg/dL", hours(5), by="nina")
    with pytest.raises(StoreError, match="needs a reason"):
        services.lab_in_error(memory_store, "P1", lid, "  ", by="nina")


# ------------------------------------------------------------------------------ what they feed
def test_tocilizumab_doses_recorded_for_a_real_patient_reach_the_tracker_flag_and_prompt(
        store):
    admitted(store)
    ward.save(store, "P1", {"time": hours(20), **NORMAL, "temp_c": 39.0}, by="nina")
    for h in (19, 11, 3):  # three doses in 24 h: the ASCO 2021 limit (spec §4.4)
        services.record_medication(store, "P1", "tocilizumab", hours(h), by="nina",
                                   dose=560, unit="mg", route="IV")
    ward.save(store, "P1", {"time": hours(1), **NORMAL, "temp_c": 38.6, "sbp_mmhg": 84},
              by="nina")
    rv = patient_review(store, "P1")
    count = tocilizumab(rv, NOW)["count"]
    assert (count.last_24h, count.total) == (3, 3)
    assert any("limit is 3 in 24 h" in w for w in count.warnings)
    assert "tocilizumab_limit" in {f["code"] for f in store.open_flags("P1")}
    assert rv.current.crs.grade == 2  # the page's ASCO 2021 prompt says the limit is reached
    prompts = guidance.prompts(rv.current.crs.grade, rv.current.icans.grade, count)
    assert any(p.text.startswith("Tocilizumab limit reached") for p in prompts)


def test_a_steroid_from_the_mar_counts_as_corticosteroid_given_on_the_next_assessment(
        memory_store):
    admitted(memory_store)
    ward.save(memory_store, "P1", {"time": hours(6), **NORMAL}, by="nina")
    ward.save(memory_store, "P1", {"time": hours(2), **NORMAL}, by="nina")
    services.record_medication(memory_store, "P1", "dexamethasone", hours(4), by="drx",
                               dose=10, unit="mg", route="IV")
    services.record_medication(memory_store, "P1", "paracetamol", hours(4), by="nina",
                               dose=1, unit="g", route="PO")
    services.record_medication(memory_store, "P1", "noradrenaline", hours(4), by="nina",
                               dose=0.05, unit="µg/kg/min", route="IV")
    rows = memory_store.timeline_rows("P1")
    assert rows[0].get("corticosteroid_given") is None
    assert rows[1]["corticosteroid_given"] is True and rows[1]["antipyretic_given"] is True
    assert rows[1].get("vasopressors") in (None, "none")  # the bedside chart says what runs


def test_labs_recorded_for_a_real_patient_reach_the_lab_scores(store):
    admitted(store)
    for test, value, unit in (("ldh", 450, "U/L"), ("creatinine", 1.1, "mg/dL"),
                              ("platelets", 90, "10^9/L"), ("crp", 80, "mg/L")):
        services.record_lab(store, "P1", test, value, unit, hours(3), by="nina")
    panel = lab_scores(store, store.patient("P1"), NOW)
    assert panel is not None
    _, scores = panel.easix[-1]
    easix = next(s for s in scores if s.score == "easix")
    assert easix.value == pytest.approx(450 * 1.1 / 90)


# ------------------------------------------------------------------------------ attribution range
def febrile_course(store: WardStore) -> list[int]:
    admitted(store)
    return [ward.save(store, "P1", {"time": hours(h), **NORMAL, "temp_c": 38.8},
                      by="nina").assessment_id for h in (8, 6, 4)]


def attributed(store: WardStore) -> list[str | None]:
    return [r.get("attributed_elsewhere") for r in store.timeline_rows("P1")]


def test_a_finding_attributed_from_a_time_until_a_time_covers_exactly_those_assessments(store):
    febrile_course(store)
    rv = patient_review(store, "P1")
    effect = period_effect(rv, "fever", hours(8), hours(6))
    assert effect.covered == [hours(8), hours(6)] and not effect.open_ended
    services.attribute_period(store, "P1", "fever", hours(8), hours(6),
                              "line infection, cultures positive", by="drx")
    assert attributed(store) == ["fever", "fever", None]
    after = {x.time: x for x in patient_review(store, "P1").results}
    assert effect.changed  # the fevers decided the grade: the preview says which change
    for now_graded, with_it in effect.changed:   # the preview is what the record then says
        assert (after[with_it.time].crs, after[with_it.time].icans) == (with_it.crs,
                                                                      with_it.icans)
        assert now_graded.time <= hours(6)
    assert any(a["entity"] == "attribution_period" and a["username"] == "drx"
               for a in store.audit())


def test_until_further_notice_covers_later_fevers_but_never_hides_a_new_hypotension(store):
    febrile_course(store)
    services.attribute_period(store, "P1", "fever", hours(6), None, "line infection",
                              by="drx")
    ward.save(store, "P1", {**NORMAL, "time": hours(3), "temp_c": 38.9}, by="nina")
    ward.save(store, "P1", {**NORMAL, "time": hours(2), "temp_c": 38.9, "sbp_mmhg": 82},
              by="nina")
    assert attributed(store) == [None, "fever", "fever", "fever", None]
    latest = patient_review(store, "P1").results[-1]
    assert latest.time == hours(2) and latest.crs.grade == 2  # fever with hypotension: CRS 2


@pytest.mark.parametrize(("later", "covered"), [
    ({"sbp_mmhg": 90}, True), ({"sbp_mmhg": 89}, False),
    ({"vasopressors": "norepinephrine", "norepinephrine_ug_min": 5}, False),
    ({"o2_device": "nasal_cannula", "o2_flow_l_min": 2}, False),
    ({"o2_device": "room_air"}, True),
])
def test_a_fever_attribution_over_a_range_leaves_out_rows_with_hypotension_or_oxygen(
        memory_store, later, covered):
    febrile_course(memory_store)
    ward.save(memory_store, "P1", {**NORMAL, "time": hours(3), "temp_c": 38.9, **later},
              by="nina")
    ward.save(memory_store, "P1", {**NORMAL, "time": hours(2), "temp_c": 38.9}, by="nina")
    rv = patient_review(memory_store, "P1")
    effect = period_effect(rv, "fever", hours(8), None)
    services.attribute_period(memory_store, "P1", "fever", hours(8), None, "line", by="drx")
    got = attributed(memory_store)
    assert got[3] == ("fever" if covered else None)
    # support in force is carried: an infusion or oxygen still running leaves the next out too
    carried = "vasopressors" in later or later.get("o2_device") == "nasal_cannula"
    assert got[4] == (None if carried else "fever")
    assert effect.covered == [t for t, a in zip([hours(h) for h in (8, 6, 4, 3, 2)], got) if a]


def test_an_attribution_of_hypotension_over_a_range_never_hides_a_fever(memory_store):
    febrile_course(memory_store)
    services.attribute_period(memory_store, "P1", "hypotension", hours(8), None, "sepsis",
                              by="drx")
    assert patient_review(memory_store, "P1").results[-1].crs.grade == 1  # the fever counts


def test_an_open_attribution_ended_no_longer_covers_later_assessments(store):
    febrile_course(store)
    pid = services.attribute_period(store, "P1", "fever", hours(8), None, "line infection",
                                    by="drx")
    services.end_attribution_period(store, "P1", pid, hours(6), "line removed", by="drx")
    assert attributed(store) == ["fever", "fever", None]
    (current,) = store.attribution_periods("P1")
    assert current["replaces_id"] == pid and current["ends_at"] == hours(6)


def test_an_attribution_over_a_range_is_for_physicians_and_needs_a_reason(store):
    febrile_course(store)
    with pytest.raises(StoreError):
        services.attribute_period(store, "P1", "fever", hours(8), None, "line", by="nina")
    with pytest.raises(StoreError, match="needs a reason"):
        services.attribute_period(store, "P1", "fever", hours(8), None, " ", by="drx")
    with pytest.raises(StoreError, match="until must be at or after from"):
        services.attribute_period(store, "P1", "fever", hours(4), hours(8), "line", by="drx")
    assert store.attribution_periods("P1") == []


def test_an_attribution_over_a_range_brings_the_flags_in_line_in_the_same_call(memory_store):
    febrile_course(memory_store)
    assert "crs_rise" in {f["code"] for f in memory_store.open_flags("P1")}
    services.attribute_period(memory_store, "P1", "fever", hours(9), None, "line infection",
                              by="drx")
    codes = {f["code"] for f in memory_store.open_flags("P1")}
    assert "crs_rise" not in codes and "attributed" in codes  # CRS 1 was the fever alone


# ------------------------------------------------------------------------------ one transaction
def _setup(store: WardStore) -> dict[str, int]:
    febrile_course(store)
    return {"med": services.record_medication(store, "P1", "tocilizumab", hours(5), by="drx",
                                              dose=560, unit="mg", route="IV"),
            "lab": services.record_lab(store, "P1", "crp", 80, "mg/L", hours(5), by="nina"),
            "period": services.attribute_period(store, "P1", "fever", hours(8), None,
                                                "line infection", by="drx")}


CORRECTIONS: list[tuple[str, Callable[[WardStore, dict[str, int]], Any]]] = [
    ("record_medication", lambda s, i: services.record_medication(
        s, "P1", "dexamethasone", hours(3), by="drx", dose=10, unit="mg", route="IV")),
    ("amend_medication", lambda s, i: services.amend_medication(
        s, "P1", i["med"], hours(5), 400.0, "mg", "IV", "dose mistyped", by="drx")),
    ("medication_in_error", lambda s, i: services.medication_in_error(
        s, "P1", i["med"], "wrong patient", by="drx")),
    ("amend_lab", lambda s, i: services.amend_lab(
        s, "P1", i["lab"], 8.0, "mg/dL", hours(5), "unit", by="nina")),
    ("lab_in_error", lambda s, i: services.lab_in_error(s, "P1", i["lab"], "haemolysed",
                                                        by="nina")),
    ("attribute_period", lambda s, i: services.attribute_period(
        s, "P1", "hypoxia", hours(8), hours(4), "atelectasis", by="drx")),
    ("end_attribution_period", lambda s, i: services.end_attribution_period(
        s, "P1", i["period"], hours(6), "line removed", by="drx")),
]


@pytest.mark.parametrize(("name", "call"), CORRECTIONS, ids=[n for n, _ in CORRECTIONS])
def test_a_failed_flag_resync_rolls_back_the_medication_lab_or_attribution_write(
        database_store, monkeypatch, name, call):
    ids = _setup(database_store)

    def reads() -> dict[str, Any]:
        return {"history": database_store.treatment_history("P1"),
                "periods": database_store.attribution_periods("P1"),
                "flags": database_store.flags("P1"), "audit": len(database_store.audit())}

    before = reads()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("resync failed")

    monkeypatch.setattr(ward, "sync_flags", fail)
    with pytest.raises(StoreError, match="nothing was saved"):
        call(database_store, ids)
    assert reads() == before


def test_a_vasopressor_in_the_mar_that_the_bedside_chart_does_not_show_is_named(memory_store):
    from monitoring.course import course
    from monitoring.medications import uncharted_vasopressors
    admitted(memory_store)
    ward.save(memory_store, "P1", {"time": hours(6), **NORMAL}, by="nina")
    ward.save(memory_store, "P1", {"time": hours(4), **NORMAL, "vasopressors": "norepinephrine",
                                   "norepinephrine_ug_min": 5}, by="nina")
    ward.save(memory_store, "P1", {"time": hours(2), **NORMAL}, by="nina")  # still running
    for h in (5, 3, 1):
        services.record_medication(memory_store, "P1", "noradrenaline", hours(h), by="nina",
                                   dose=5, unit="µg/min", route="IV")
    c = course(memory_store, "P1")
    found = uncharted_vasopressors(c.administrations, [r["time"] for r in c.rows],
                                   [s.vasopressors for s in c.support], hours(24))
    # 5 h: the 4 h assessment charts it; 3 h: carried to 2 h; 1 h: no assessment since
    assert [(m["given_at"], at) for m, at in found] == [(hours(1), None)]
    ward.save(memory_store, "P1", {"time": hours(0.5), **NORMAL, "vasopressors": "none"},
              by="nina")
    c = course(memory_store, "P1")
    found = uncharted_vasopressors(c.administrations, [r["time"] for r in c.rows],
                                   [s.vasopressors for s in c.support], hours(24))
    assert [(m["given_at"], at) for m, at in found] == [(hours(1), hours(0.5))]


def test_the_bedside_preview_shows_the_grade_a_standing_attribution_gives_once_saved(store):
    febrile_course(store)
    services.attribute_period(store, "P1", "fever", hours(8), None, "line infection",
                              by="drx")
    fever = {**NORMAL, "time": hours(2), "temp_c": 38.9}
    assert ward.preview(store, "P1", fever).result.crs.grade == 0
    saved = ward.save(store, "P1", fever, by="nina")
    assert saved.result.crs.grade == 0
    with_hypotension = {**NORMAL, "time": hours(1), "temp_c": 38.9, "sbp_mmhg": 84}
    assert ward.preview(store, "P1", with_hypotension).result.crs.grade == 2


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({
    "sbp_mmhg": st.none() | st.integers(60, 140),
    "vasopressors": st.none() | st.sampled_from(["none", "norepinephrine"]),
    "o2_device": st.none() | st.sampled_from(["room_air", "nasal_cannula"])}), max_size=8),
       finding=st.sampled_from(["fever", "hypotension", "hypoxia", "neuro"]),
       start=st.integers(0, 8), length=st.none() | st.integers(0, 8))
def test_a_period_covers_only_rows_in_its_range_and_never_a_fever_beside_another_finding(
        rows, finding, start, length):
    from monitoring.store import period_covers
    timed = [r | {"time": hours(10 - i)} for i, r in enumerate(rows)]
    starts = hours(10 - start)
    ends = None if length is None else hours(10 - start - length)
    covered = period_covers(timed, finding, starts, ends)
    pressors = device = None
    for i, r in enumerate(timed):
        pressors = r["vasopressors"] if r["vasopressors"] is not None else pressors
        device = r["o2_device"] if r["o2_device"] is not None else device
        in_range = r["time"] >= starts and (ends is None or r["time"] <= ends)
        other = ((r["sbp_mmhg"] or 999) < 90 or pressors == "norepinephrine"
                 or device == "nasal_cannula")
        assert (i in covered) == (in_range and not (finding == "fever" and other))


def test_two_corrections_of_one_medication_at_once_land_once_and_the_other_is_told(store):
    from tests.monitoring.test_concurrent_saves import at_once
    admitted(store)
    for i in range(5):
        given = hours(10 - i)
        mid = services.record_medication(store, "P1", "dexamethasone", given,
                                         by="nina", dose=100, unit="mg", route="IV")
        outcomes = at_once(*(
            lambda m=mid, dose=dose, at=given: services.amend_medication(
                store, "P1", m, at, dose, "mg", "IV", "misread", by="drx")
            for dose in (10.0, 12.0)))
        assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert isinstance(error, StoreError) and "is not a current entry" in str(error)
    history = store.treatment_history("P1")["administrations"]
    assert len(history) == 10 and len(store.administrations("P1")) == 5
    assert len({m["replaces_id"] for m in history if m["replaces_id"]}) == 5

