"""FHIR import of MedicationAdministration and lab Observations (services.import_fhir,
monitoring/fhir/treatments.py, docs/fhir.md; decisions F6-F8): each drug by RxNorm or by
name, dose and rate in the drug table's units, the medications page's checks, lab results by
LOINC through the lab page's checks; idempotent, amended and withdrawn with a reason, all or
nothing, every refusal naming the resource, element, value and why."""

from __future__ import annotations

import json
import random
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import cli, medications, services, tables
from monitoring.fhir import FhirError, read_all
from monitoring.fhir.codes import DOSE_UNITS_OUT, MEDICATIONS
from monitoring.store import StoreError, WardStore
from tests.fuzz_files import run_in_process

from .fhir_helpers import LAB, bundle, lab, med, ndjson, patient, quantity, vital
from .test_fhir_import import SAMPLE, cli_ward  # noqa: F401 - the fixture

UG_KG = {"numerator": quantity(0.1, "ug/kg"), "denominator": quantity(1, "min")}


def count(store: WardStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def given_now(store: WardStore, pid: str = "MRN-1") -> list[tuple]:
    return [(m["kind"], m["given_at"].isoformat(), m["dose"], m["unit"], m["route"])
            for m in store.administrations(pid)]


def results(store: WardStore, pid: str = "MRN-1") -> list[tuple]:
    return [(x["test"], x["taken_at"].isoformat(), x["value"], x["unit"])
            for x in store.labs(pid)]


def read_meds(tmp_path: Path, *resources: dict) -> list:
    return read_all([ndjson(tmp_path / "x.ndjson", patient(), *resources)]).medications


def refused(tmp_path: Path, *resources: dict) -> str:
    with pytest.raises(FhirError) as e:
        read_all([ndjson(tmp_path / "x.ndjson", patient(), *resources)])
    return "\n".join(e.value.lines)


# ------------------------------------------------------------------ which drug (F7)
@pytest.mark.parametrize(("concept", "kind"), [
    ({"text": "Tocilizumab 560 mg in 100 mL NaCl 0.9%"}, "tocilizumab"),
    ({"text": "ACTEMRA IV"}, "tocilizumab"),
    ({"text": "Tocilizumab-aazg (Tyenne) 400 mg"}, "tocilizumab"),
    ({"coding": [{"system": "x", "code": "1", "display": "Norepinephrine 4 mg/250 mL"}]},
     "noradrenaline"),
    ({"text": "noradrenaline"}, "noradrenaline"),
    ({"text": "Epinephrine infusion"}, "adrenaline"),
    ({"text": "Acetaminophen 1 g PO"}, "paracetamol"),
    ({"text": "Solu-Medrol"}, "methylprednisolone"),
    ({"text": "Kineret"}, "anakinra"),
])
def test_a_drug_is_found_by_its_name_or_a_synonym_as_a_whole_word(
        tmp_path: Path, concept: dict, kind: str) -> None:
    m = {**med("m1"), "medicationCodeableConcept": concept}
    m.pop("dosage")
    (got,) = read_meds(tmp_path, m)
    assert got.kind == kind


@pytest.mark.parametrize("kind", list(MEDICATIONS))
def test_each_drug_is_found_by_its_rxnorm_ingredient_code(tmp_path: Path, kind: str) -> None:
    m = med("m1", rxnorm=MEDICATIONS[kind][0][0], route=None)
    (got,) = read_meds(tmp_path, m)
    assert (got.kind, got.dose, got.unit) == (kind, None, None)


def test_a_dose_in_ucum_is_read_in_the_drug_tables_unit_with_its_route(tmp_path: Path) -> None:
    (got,) = read_meds(tmp_path, med("m1", "tocilizumab", dose=560, route="47625008"))
    assert (got.kind, got.dose, got.unit, got.route, got.at.isoformat()) == \
        ("tocilizumab", 560.0, "mg", "IV", "2026-03-01T09:00:00+00:00")


def test_an_infusion_rate_is_read_from_rate_quantity_or_rate_ratio(tmp_path: Path) -> None:
    a = med("a", "norepinephrine", status="in-progress")
    a["dosage"]["rateQuantity"] = quantity(0.08, "ug/kg/min")
    b = med("b", "vasopressin", at="2026-03-01T09:30:00+00:00")
    b["dosage"]["rateRatio"] = {"numerator": quantity(0.03, "[iU]"),
                                "denominator": quantity(1, "min")}
    c = med("c", "phenylephrine", at="2026-03-01T10:00:00+00:00")
    c["dosage"]["rateRatio"] = {"numerator": quantity(100, "ug"),
                                "denominator": quantity(2, "min")}
    got = read_meds(tmp_path, a, b, c)
    assert [(m.kind, m.dose, m.unit) for m in got] == [
        ("noradrenaline", 0.08, "µg/kg/min"), ("vasopressin", 0.03, "units/min"),
        ("phenylephrine", 50.0, "µg/min")]


def test_a_period_start_is_the_time_given(tmp_path: Path) -> None:
    m = med("m1", "dexamethasone", dose=10, route="26643006")
    del m["effectiveDateTime"]
    m["effectivePeriod"] = {"start": "2026-03-01T11:00:00+01:00"}
    (got,) = read_meds(tmp_path, m)
    assert (got.at.isoformat(), got.route) == ("2026-03-01T11:00:00+01:00", "PO")


# ------------------------------------------------------------------ refused, by name (F6, F7)
@pytest.mark.parametrize(("resource", "words"), [
    (med("m1", "rituximab", dose=375),
     "MedicationAdministration/m1, medicationCodeableConcept 'rituximab': not a medication "
     "the ward records (by RxNorm ingredient code or by name); it records tocilizumab, "),
    (med("m1", rxnorm="999999"),
     "MedicationAdministration/m1, medicationCodeableConcept "
     "'http://www.nlm.nih.gov/research/umls/rxnorm|999999': not a medication"),
    (med("m1", "dexamethasone and ondansetron plus paracetamol", dose=8),
     "medicationCodeableConcept 'dexamethasone and ondansetron plus paracetamol': names more "
     "than one drug (dexamethasone, paracetamol (acetaminophen))"),
    (med("m1", "tocilizumab", dose=5000),
     "MedicationAdministration/m1, dosage.dose '5000': tocilizumab 5000 mg is not possible: "
     "allowed above 0 up to 1200 mg"),
    (med("m1", "tocilizumab", dose=0),
     "MedicationAdministration/m1, dosage.dose '0': tocilizumab 0 mg is not possible"),
    (med("m1", "tocilizumab", dose=560, unit="mg/kg"),
     "MedicationAdministration/m1, dosage.dose.code 'mg/kg': the unit must be UCUM mg for "
     "tocilizumab"),
    ({**med("m1", "norepinephrine"), "dosage": {"rateQuantity": quantity(9, "ug/kg/min")}},
     "dosage.rateQuantity '9': noradrenaline (norepinephrine) 9 µg/kg/min is not possible: "
     "allowed above 0 up to 5 µg/kg/min"),
    ({**med("m1", "norepinephrine"), "dosage": {"rateQuantity": quantity(5, "mL/h")}},
     "dosage.rateQuantity.code 'mL/h': the unit must be UCUM ug/kg/min or ug/min for "
     "noradrenaline"),
    (med("m1", "tocilizumab", dose=560, route="26643006"),
     "dosage.route 'PO': tocilizumab is recorded as IV (intravenous)"),
    (med("m1", "tocilizumab", dose=560, route="6064005"),
     "dosage.route 'http://snomed.info/sct|6064005': not a route the ward records"),
    ({k: v for k, v in med("m1", "tocilizumab", dose=560).items() if k != "effectiveDateTime"},
     "MedicationAdministration/m1, effectiveDateTime '': a MedicationAdministration needs the "
     "time it was given"),
    (med("m1", "tocilizumab", dose=560, at="2026-03-01"),
     "MedicationAdministration/m1, effectiveDateTime '2026-03-01': needs a date and time with "
     "its offset"),
    ({**med("m1", "tocilizumab", dose=560), "subject": {"reference": "Group/g"}},
     "MedicationAdministration/m1, subject.reference 'Group/g': must refer to a Patient"),
    ({**med("m1", "tocilizumab", dose=560), "subject": {"display": "someone"}},
     "MedicationAdministration/m1, subject.reference '': must refer to a Patient"),
    (med("m1", "tocilizumab", dose=560, status="stopped"),
     "MedicationAdministration/m1, status 'stopped': stopped before all of it was given"),
    (med("m1", "tocilizumab", dose=560, status="on-hold"),
     "status 'on-hold': on hold: part of it may have been given"),
    (med("m1", "tocilizumab", dose=560, status="unknown"),
     "status 'unknown': the source does not know whether it was given"),
    ({k: v for k, v in med("m1", "tocilizumab").items() if k != "medicationCodeableConcept"}
     | {"medicationReference": {"reference": "Medication/x"}},
     "MedicationAdministration/m1, medicationReference 'Medication/x': a referenced "
     "Medication is not read"),
])
def test_a_medication_the_ward_cannot_record_is_named_with_element_value_and_why(
        tmp_path: Path, resource: dict, words: str) -> None:
    message = refused(tmp_path, resource)
    name = f"{resource['resourceType']}/{resource['id']}, "
    assert any(line.split("x.ndjson line 2: ", 1)[-1].startswith(name) and words in line
               for line in message.splitlines()), message


# ------------------------------------------------------------------ into the record (F6)
def test_a_tocilizumab_dose_and_a_running_infusion_are_recorded_through_the_record(
        store: WardStore, tmp_path: Path) -> None:
    nor = med("n", "norepinephrine", status="in-progress", at="2026-03-01T10:00:00+00:00")
    nor["dosage"] = {"rateRatio": UG_KG}
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"),
               med("t", "Actemra", dose=560), nor)
    done = services.import_fhir(store, [f], "nina")
    assert (done.added, done.medications) == (1, 2)
    assert given_now(store) == [
        ("tocilizumab", "2026-03-01T09:00:00+00:00", 560.0, "mg", "IV"),
        ("noradrenaline", "2026-03-01T10:00:00+00:00", 0.1, "µg/kg/min", None)]
    # counted where the medications page's doses count: tocilizumab given for the grade
    rows = store.timeline_rows("MRN-1")
    assert [m["recorded_by"] for m in store.administrations("MRN-1")] == ["nina", "nina"]
    assert rows  # the vital-sign row is there too
    with store.engine.connect() as conn:
        prov = conn.execute(sa.select(tables.fhir_provenance).where(
            tables.fhir_provenance.c.resource_type == "MedicationAdministration")
            .order_by(tables.fhir_provenance.c.resource_id)).all()
    ids = {m["kind"]: m["id"] for m in store.administrations("MRN-1")}
    assert [(p.resource_id, p.administration_id, p.fhir_status) for p in prov] == [
        ("n", ids["noradrenaline"], "in-progress"), ("t", ids["tocilizumab"], "completed")]
    audit = [json.loads(a["after"]) for a in store.audit("MRN-1") if a["action"] == "fhir_import"]
    assert {e["resource_type"] for e in audit} == {"Patient", "Observation",
                                                  "MedicationAdministration"}


def test_importing_the_same_medications_again_adds_nothing(store: WardStore, tmp_path: Path
                                                          ) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), med("t", "tocilizumab", dose=560),
               med("p", "paracetamol", dose=1, unit="g", route="26643006",
                   at="2026-03-01T10:00:00+00:00"))
    services.import_fhir(store, [f], "nina")
    before = (count(store, tables.administrations), count(store, tables.audit_log))
    done = services.import_fhir(store, [f], "nina")
    assert (done.medications, done.unchanged) == (0, 3)
    assert (count(store, tables.administrations), count(store, tables.audit_log)) == before


def test_a_changed_administration_amends_the_stored_one_with_a_reason(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        med("t", "tocilizumab", dose=560))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                               med("t", "tocilizumab", dose=480))], "nina")
    assert done.amended == 1
    assert given_now(store) == [("tocilizumab", "2026-03-01T09:00:00+00:00", 480.0, "mg", "IV")]
    history = store.treatment_history("MRN-1")["administrations"]
    assert [h["dose"] for h in history] == [560.0, 480.0]  # the original stays
    assert history[1]["reason"] == ("changed in the source record (unspecified, "
                                    "MedicationAdministration/t)")


def test_an_infusion_in_progress_then_completed_as_it_was_changes_nothing(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(), med(
        "t", "tocilizumab", dose=560, status="in-progress"))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), med(
        "t", "tocilizumab", dose=560))], "nina")
    assert (done.amended, done.medications, done.unchanged) == (0, 0, 2)
    assert len(store.treatment_history("MRN-1")["administrations"]) == 1


@pytest.mark.parametrize(("status", "words"), [("entered-in-error", "entered in error"),
                                               ("not-done", "not done")])
def test_entered_in_error_or_not_done_later_withdraws_the_stored_administration(
        store: WardStore, tmp_path: Path, status: str, words: str) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        med("t", "tocilizumab", dose=560))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), med(
        "t", "tocilizumab", dose=560, status=status))], "nina")
    assert done.marked == 1
    assert store.administrations("MRN-1") == []
    last = store.treatment_history("MRN-1")["administrations"][-1]
    assert (last["status"], last["reason"].startswith(f"{words} in the source record")) == \
        ("entered_in_error", True)


def test_not_done_is_not_recorded_and_a_later_completed_version_is(
        store: WardStore, tmp_path: Path) -> None:
    done = services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(), med(
        "t", "tocilizumab", dose=560, status="not-done"))], "nina")
    assert (done.not_given, done.medications, store.administrations("MRN-1")) == (1, 0, [])
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), med(
        "t", "tocilizumab", dose=560))], "nina")
    assert done.medications == 1 and len(store.administrations("MRN-1")) == 1


def test_a_change_of_drug_for_one_resource_is_refused_and_nothing_changes(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        med("t", "tocilizumab", dose=560))], "nina")
    with pytest.raises(FhirError, match=re.escape(
            "MedicationAdministration/t, dosage '400 mg': imported before as tocilizumab, now "
            "siltuximab")):
        services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                            med("t", "siltuximab", dose=400))], "nina")
    assert given_now(store)[0][0] == "tocilizumab"


def test_a_dose_given_in_the_future_is_refused_by_the_record_naming_the_resource(
        store: WardStore, tmp_path: Path) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"),
               med("t", "tocilizumab", dose=560, at="2999-01-01T09:00:00+00:00"))
    with pytest.raises(FhirError, match=re.escape(
            "MedicationAdministration/t, effectiveDateTime '2999-01-01T09:00:00+00:00': "
            "the time given 01/01/2999 09:00 (UTC) is in the future")):
        services.import_fhir(store, [f], "nina")
    assert (count(store, tables.patients), count(store, tables.assessments),
            count(store, tables.administrations)) == (0, 0, 0)


# ------------------------------------------------------------------ labs (F8)
def test_lab_results_by_loinc_are_recorded_in_the_canonical_unit_with_the_entered_one(
        store: WardStore, tmp_path: Path) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), lab("c", "1988-5", 152, "mg/L"),
               lab("f", "2276-4", 12000, "ug/L"), lab("i", "26881-3", 850, "pg/mL"),
               lab("pl", "777-3", 45, "10*9/L"), lab("cr", "2160-0", 120, "umol/L"),
               {**lab("a", "751-8", 0.4, "10*3/uL"), "category": []})
    done = services.import_fhir(store, [f], "nina")
    assert done.labs == 6
    got = {t: (round(v, 3), u) for t, _, v, u in results(store)}
    assert got == {"crp": (15.2, "mg/dL"), "ferritin": (12000.0, "ng/mL"),
                   "il6": (850.0, "pg/mL"), "platelets": (45.0, "10^9/L"),
                   "creatinine": (1.357, "mg/dL"), "anc": (400.0, "/µL")}
    assert {x["entered_unit"] for x in store.labs("MRN-1")} >= {"mg/L", "umol/L"}
    assert services.import_fhir(store, [f], "nina").labs == 0  # again: nothing added


@pytest.mark.parametrize(("resource", "words"), [
    (lab("l1", "1988-5", 1500, "mg/L"),
     "Observation/l1, valueQuantity.value '1500': CRP 1500 mg/L is not possible: allowed 0 "
     "to 1000 mg/L"),
    (lab("l1", "1988-5", 15, "mg/mmol"),
     "Observation/l1, valueQuantity.code 'mg/mmol': the unit must be UCUM mg/L or mg/dL for "
     "CRP"),
    (lab("l1", "12345-6", 3, "mg/L"),
     "Observation/l1, code 'http://loinc.org|12345-6': a laboratory Observation of a test the "
     "ward does not record (by LOINC); it records "),
    (lab("l1", "1988-5", 15, "mg/L", status="preliminary"),
     "Observation/l1, status 'preliminary': allowed: final, amended, corrected"),
    ({**lab("l1", "1988-5", 15, "mg/L"), "effectiveDateTime": "2026-03-01"},
     "Observation/l1, effectiveDateTime '2026-03-01': needs a date and time with its offset"),
    ({**lab("l1", "1988-5", 15, "mg/L"), "subject": {"reference": "Device/d"}},
     "Observation/l1, subject.reference 'Device/d': must refer to a Patient"),
    ({k: v for k, v in lab("l1", "2276-4", 15, "ug/L").items() if k != "valueQuantity"},
     "Observation/l1, valueQuantity '': no value: ferritin needs a valueQuantity in UCUM"),
])
def test_a_lab_result_the_ward_cannot_record_is_named_with_element_value_and_why(
        tmp_path: Path, resource: dict, words: str) -> None:
    message = refused(tmp_path, resource)
    name = f"{resource['resourceType']}/{resource['id']}, "
    assert any(line.split("x.ndjson line 2: ", 1)[-1].startswith(name) and words in line
               for line in message.splitlines()), message


def test_a_new_lab_resource_at_a_time_the_patient_already_has_that_test_is_refused(
        store: WardStore, tmp_path: Path) -> None:
    # decision F9: another resource id (a resent result, our own export read back) for the
    # same test at the same instant would record the result twice; refused, nothing stored
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        lab("f1", "2276-4", 1200, "ng/mL"))], "nina")
    again = ndjson(tmp_path / "b.ndjson", patient(),
                   lab("f2", "2276-4", 1200, "ug/L", at="2026-03-01T08:30:00+01:00"),
                   lab("c", "1988-5", 52, "mg/L"))
    with pytest.raises(FhirError, match=re.escape(
            "Observation/f2, valueQuantity '1200 ug/L': the ward record already has a ferritin "
            "result at this time (result #")):
        services.import_fhir(store, [again], "nina")
    assert [r[0] for r in results(store)] == ["ferritin"]
    later = ndjson(tmp_path / "c.ndjson", patient(),
                   lab("f3", "2276-4", 1500, "ng/mL", at="2026-03-01T19:30:00+00:00"))
    assert services.import_fhir(store, [later], "nina").labs == 1
    twice = ndjson(tmp_path / "d.ndjson", patient(), lab("c1", "1988-5", 52, "mg/L"),
                   lab("c2", "1988-5", 52, "mg/L"))
    with pytest.raises(FhirError, match="already has a CRP result at this time"):
        services.import_fhir(store, [twice], "nina")
    assert [r[0] for r in results(store)] == ["ferritin", "ferritin"]


def test_a_new_medication_resource_for_a_dose_already_recorded_at_that_time_is_refused(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        med("t1", "tocilizumab", dose=560))], "nina")
    with pytest.raises(FhirError, match=re.escape(
            "MedicationAdministration/t2, dosage '560 mg': the ward record already has a "
            "tocilizumab dose at this time (dose #")):
        services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                            med("t2", "tocilizumab", dose=560))], "nina")
    assert len(given_now(store)) == 1
    other_drug = ndjson(tmp_path / "c.ndjson", patient(), med("d1", "dexamethasone", dose=10))
    assert services.import_fhir(store, [other_drug], "nina").medications == 1


def test_an_amended_lab_result_amends_and_entered_in_error_marks_it(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        lab("c", "1988-5", 152, "mg/L"))], "nina")
    with pytest.raises(FhirError, match=re.escape(
            "Observation/c, valueQuantity '15 mg/dL': imported before with another value")):
        services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                            lab("c", "1988-5", 15, "mg/dL"))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "c.ndjson", patient(), lab(
        "c", "1988-5", 15, "mg/dL", status="amended"))], "nina")
    assert done.amended == 1 and results(store)[0][2:] == (15.0, "mg/dL")
    assert "amended in the source record" in store.labs("MRN-1")[0]["reason"]
    done = services.import_fhir(store, [ndjson(tmp_path / "d.ndjson", patient(), lab(
        "c", "1988-5", 15, "mg/dL", status="entered-in-error"))], "nina")
    assert done.marked == 1 and store.labs("MRN-1") == []
    assert len(store.treatment_history("MRN-1")["labs"]) == 3  # nothing deleted


# ------------------------------------------------------------------ all or nothing (point 5)
BAD = {
    "unknown drug": med("m9", "rituximab", dose=375),
    "impossible dose": med("m9", "dexamethasone", dose=500, route="26643006"),
    "bad unit": med("m9", "tocilizumab", dose=560, unit="mL/h"),
    "missing time": {k: v for k, v in med("m9", "tocilizumab").items()
                     if k != "effectiveDateTime"},
    "missing subject": {k: v for k, v in med("m9", "tocilizumab").items() if k != "subject"},
    "unknown patient": med("m9", "tocilizumab", dose=560, subject="nobody"),
    "refused status": med("m9", "tocilizumab", dose=560, status="stopped"),
    "unknown LOINC of a lab": lab("l9", "99999-9", 1, "mg/L"),
    "lab above its limit": lab("l9", "2276-4", 2_000_000, "ng/mL"),
    "lab unit": lab("l9", "2276-4", 200, "ng/dL"),
    "lab in the future": lab("l9", "2276-4", 200, "ng/mL", at="2999-01-01T00:00:00+00:00"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_file_with_one_bad_medication_or_lab_imports_nothing_and_names_it(
        store: WardStore, tmp_path: Path, name: str) -> None:
    bad = BAD[name]
    f = bundle(tmp_path / "b.json", patient(), vital("h", "8867-4", 90, "/min"),
               med("ok", "tocilizumab", dose=560), lab("okl", "1988-5", 10, "mg/L"), bad)
    with pytest.raises(FhirError) as e:
        services.import_fhir(store, [f], "nina")
    line = next(x for x in e.value.lines if f"{bad['resourceType']}/{bad['id']}" in x)
    assert re.search(r"b\.json entry 5: \w+/\w+, [\w.\[\]()]+ '.*': \S", line), line
    assert [count(store, x) for x in (tables.patients, tables.assessments,
                                      tables.administrations, tables.labs,
                                      tables.fhir_provenance)] == [0, 0, 0, 0, 0]


def test_a_lab_code_alone_makes_a_lab_and_a_vital_sign_code_stays_a_vital_sign(
        tmp_path: Path) -> None:
    found = read_all([ndjson(tmp_path / "x.ndjson", patient(),
                             {**vital("v", "2276-4", 300, "ng/mL")},
                             {**vital("w", "8867-4", 80, "/min"), "category": [LAB]})])
    assert [x.test for x in found.labs] == ["ferritin"]
    assert [o.values for o in found.observations] == [{"hr_bpm": 80}]


def test_forty_damaged_medications_and_labs_are_refused_by_name_or_imported_and_never_crash(
        store: WardStore, tmp_path: Path) -> None:
    from .test_fhir_import import _mutated  # the same damage as the vital signs' test
    rng = random.Random(20)
    nor = med("n", "norepinephrine", at="2026-03-01T10:00:00+00:00")
    nor["dosage"]["rateRatio"] = UG_KG
    good = [patient(), med("t", "tocilizumab", dose=560), nor, lab("c", "1988-5", 152, "mg/L")]
    for i in range(40):
        damaged = list(good)
        k = rng.randrange(1, len(damaged))
        damaged[k] = _mutated(rng, damaged[k])
        f = ndjson(tmp_path / f"d{i}.ndjson", *damaged) if i % 2 else \
            bundle(tmp_path / f"d{i}.json", *damaged)
        before = (count(store, tables.administrations), count(store, tables.labs))
        try:
            services.import_fhir(store, [f], "nina")
        except (FhirError, StoreError) as e:
            assert str(e).strip() and "Traceback" not in str(e), i
            assert (count(store, tables.administrations), count(store, tables.labs)) == \
                before, (i, "nothing written")


def test_an_unusual_but_possible_dose_or_value_is_recorded_and_said_for_a_second_look(
        store: WardStore, tmp_path: Path) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), med("t", "tocilizumab", dose=1000),
               lab("f", "2276-4", 200_000, "ng/mL"))
    done = services.import_fhir(store, [f], "nina")
    assert (done.medications, done.labs) == (1, 1)
    assert done.notices == [
        "patient MRN-1: MedicationAdministration/t: tocilizumab 1000 mg is unusual (above the "
        "usual 20 to 800 mg): check the dose and the unit",
        "patient MRN-1: Observation/f: ferritin 200000 ng/mL is unusual (above 100000 ng/mL): "
        "check the value and the unit"]


# ------------------------------------------------------------------ properties, command line
DOSES = [(kind, unit, limit.most) for kind in MEDICATIONS
         for unit, limit in medications.DRUGS[kind].doses.items()]


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(DOSES), fraction=st.floats(0.001, 1.0), above=st.booleans())
def test_any_possible_dose_reads_as_sent_and_any_dose_above_the_limit_is_refused(
        case: tuple, fraction: float, above: bool) -> None:
    kind, unit, most = case
    dose = most * (1 + fraction) if above else most * fraction
    ucum = DOSE_UNITS_OUT[unit]
    m = med("m1", rxnorm=MEDICATIONS[kind][0][0], route=None)
    m["dosage"] = {("rateQuantity" if "/" in ucum else "dose"): quantity(dose, ucum)}
    with tempfile.TemporaryDirectory() as d:
        f = ndjson(Path(d) / "x.ndjson", patient(), m)
        if above:
            with pytest.raises(FhirError, match="is not possible"):
                read_all([f])
        else:
            (got,) = read_all([f]).medications
            assert (got.kind, got.dose, got.unit) == (kind, pytest.approx(dose), unit)


def test_the_command_says_how_many_medications_and_lab_results_it_recorded(
        cli_ward: Path) -> None:  # noqa: F811
    code, out, err = run_in_process(cli.main, "fhir", "import", str(SAMPLE), "--user", "n1")
    assert code == 0, err
    assert out.startswith("FHIR import: 8 assessments added, 2 medications and 5 lab results "
                          "recorded, 0 amended"), out
    # the progress, on stderr: the assessment rows, then the medications and lab results
    assert err.splitlines()[-2:] == ["imported 8 of 8 rows",
                                     "recorded 7 of 7 medications and lab results"], err


# ------------------------------------------------------------------ progress of the writes
def test_the_medication_and_lab_writes_report_progress_every_few_rows_and_at_the_last(
        store: WardStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring.fhir import load
    monkeypatch.setattr(load, "TREAT_STEP", 2)
    calls: list[tuple[str, int, int]] = []
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"),
               med("t", "tocilizumab", dose=560),
               med("p", "paracetamol", dose=1, unit="g", route="26643006",
                   at="2026-03-01T10:00:00+00:00"),
               med("d", "dexamethasone", dose=10, at="2026-03-01T11:00:00+00:00"),
               lab("c", "1988-5", 152, "mg/L"), lab("f", "2276-4", 900, "ng/mL"))
    services.import_fhir(store, [f], "nina",
                         progress=lambda d, t: calls.append(("rows", d, t)),
                         treating=lambda d, t: calls.append(("treatments", d, t)))
    # the assessment rows first, then every 2nd of the 5 doses and results, and the last
    assert calls == [("rows", 1, 1), ("treatments", 2, 5), ("treatments", 4, 5),
                     ("treatments", 5, 5)]
    calls.clear()  # again: nothing new, but each resource is still looked at
    services.import_fhir(store, [f], "nina",
                         progress=lambda d, t: calls.append(("rows", d, t)),
                         treating=lambda d, t: calls.append(("treatments", d, t)))
    assert calls == [("treatments", 2, 5), ("treatments", 4, 5), ("treatments", 5, 5)]


def test_an_import_without_medications_or_labs_says_once_that_the_writes_are_over(
        store: WardStore, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"))
    services.import_fhir(store, [f], "nina", treating=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 0)]


# ------------------------------------------------------------------ audited as an import (F10)
def _audited(store: WardStore, entity: str) -> list[tuple[str, dict]]:
    return [(a["action"], json.loads(a["after"])) for a in store.audit("MRN-1")
            if a["entity"] == entity]


def test_an_imported_dose_and_lab_result_are_audited_as_an_import_with_system_and_resource(
        store: WardStore, tmp_path: Path) -> None:
    f = bundle(tmp_path / "a.json", patient(), med("t", "tocilizumab", dose=560),
               lab("c", "1988-5", 152, "mg/L"))
    services.import_fhir(store, [f], "nina")
    (dose,) = store.administrations("MRN-1")
    (crp,) = store.labs("MRN-1")
    ((action, after),) = _audited(store, "administration")
    assert action == "import"
    assert after["imported_from"] == {"via": "FHIR", "source_system": "https://ehr.example/fhir",
                                      "resource": "MedicationAdministration/t"}
    assert (after["kind"], after["dose"], after["recorded_by"]) == ("tocilizumab", 560.0, "nina")
    ((action, after),) = _audited(store, "lab")
    assert action == "import"
    assert after["imported_from"] == {"via": "FHIR", "source_system": "https://ehr.example/fhir",
                                      "resource": "Observation/c"}
    assert (after["test"], after["entered_value"]) == ("crp", 152.0)
    # the same source and id as the provenance row kept with the dose and the result
    with store.engine.connect() as conn:
        prov = {(p.resource_type, p.resource_id): (p.source_system, p.administration_id, p.lab_id)
                for p in conn.execute(sa.select(tables.fhir_provenance))}
    assert prov[("MedicationAdministration", "t")] == ("https://ehr.example/fhir", dose["id"],
                                                       None)
    assert prov[("Observation", "c")] == ("https://ehr.example/fhir", None, crp["id"])


def test_a_correction_an_import_makes_is_audited_as_an_amendment_naming_the_source(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [bundle(tmp_path / "a.json", patient(),
                                        med("t", "tocilizumab", dose=560),
                                        lab("c", "1988-5", 152, "mg/L"))], "nina")
    services.import_fhir(store, [bundle(tmp_path / "b.json", patient(),
                                        med("t", "tocilizumab", dose=480),
                                        lab("c", "1988-5", 15, "mg/dL", status="amended"))],
                         "nina")
    services.import_fhir(store, [bundle(tmp_path / "c.json", patient(),
                                        med("t", "tocilizumab", dose=480,
                                            status="entered-in-error"))], "nina")
    src = "https://ehr.example/fhir"
    assert [(a, e["imported_from"]) for a, e in _audited(store, "administration")] == [
        ("import", {"via": "FHIR", "source_system": src,
                    "resource": "MedicationAdministration/t"}),
        ("amend", {"via": "FHIR", "source_system": src,
                   "resource": "MedicationAdministration/t"}),
        ("entered_in_error", {"via": "FHIR", "source_system": src,
                              "resource": "MedicationAdministration/t"})]
    assert [(a, e["imported_from"]["resource"], e.get("entered_value"))
            for a, e in _audited(store, "lab")] == [
        ("import", "Observation/c", 152.0), ("amend", "Observation/c", 15.0)]


def test_a_dose_typed_on_the_page_is_still_audited_as_recorded_without_a_source(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient())], "nina")
    services.record_medication(store, "MRN-1", "tocilizumab",
                               datetime(2026, 3, 1, 9, tzinfo=UTC), "nina", dose=560)
    ((action, after),) = _audited(store, "administration")
    assert action == "record" and "imported_from" not in after


# ------------------------------------------------------------------ tocilizumab limits (ASCO 2021)
def _tocilizumab(rid: str, at: str) -> dict:
    return med(rid, "tocilizumab", dose=560, at=f"2026-03-{at}:00+00:00")


FOUR_AT_THE_LIMITS = ["01T00:00", "01T08:00", "01T16:00", "02T00:00"]  # 8 h apart, 3 in 24 h


def test_four_imported_doses_within_the_limits_name_no_one(store: WardStore, tmp_path: Path
                                                          ) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(),
               *(_tocilizumab(f"t{i}", at) for i, at in enumerate(FOUR_AT_THE_LIMITS)))
    done = services.import_fhir(store, [f], "nina")
    assert done.medications == 4 and done.tocilizumab_limits == []


@pytest.mark.parametrize(("fifth", "why"), [
    ("02T08:00", "4 doses in total: the limit is 4"),
    # a fourth dose within 24 h of the first three, 7 h after the third
    (None, "3 doses in the last 24 h: the limit is 3 in 24 h; last dose 7.0 h ago: doses are "
           "at least 8 h apart"),
])
def test_an_imported_dose_past_the_tocilizumab_limits_names_the_patient_as_the_page_warns(
        store: WardStore, tmp_path: Path, fifth: str | None, why: str) -> None:
    times = [*FOUR_AT_THE_LIMITS, fifth] if fifth else [*FOUR_AT_THE_LIMITS[:3], "01T23:00"]
    f = ndjson(tmp_path / "a.ndjson", patient(),
               *(_tocilizumab(f"t{i}", at) for i, at in enumerate(times)))
    done = services.import_fhir(store, [f], "nina")
    given = "02 Mar 08:00" if fifth else "01 Mar 23:00"
    assert done.tocilizumab_limits == [
        f"patient MRN-1: an imported tocilizumab dose, given {given}, went past the dosing "
        f"limits; before it: {why} (ASCO 2021). A physician checks the doses on Medications "
        "and labs."]
    # the medications page's own warning before a dose at that time says the same
    from monitoring.review import tocilizumab_limits
    at = store.administrations("MRN-1")[-1]["given_at"]
    assert "; ".join(tocilizumab_limits(store.timeline_rows("MRN-1"),
                                        store.administrations("MRN-1"), at,
                                        leaving_out=at).warnings) == why


def test_doses_charted_on_the_page_before_count_towards_an_imported_ones_limit(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient())], "nina")
    for at in FOUR_AT_THE_LIMITS:
        services.record_medication(store, "MRN-1", "tocilizumab",
                                   datetime.fromisoformat(f"2026-03-{at}:00+00:00"), "nina",
                                   dose=560)
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                               _tocilizumab("t9", "03T09:00"))], "nina")
    assert len(done.tocilizumab_limits) == 1
    assert "given 03 Mar 09:00" in done.tocilizumab_limits[0]
    assert "4 doses in total: the limit is 4" in done.tocilizumab_limits[0]
    # imported again: nothing recorded, nothing said again
    again = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                                _tocilizumab("t9", "03T09:00"))], "nina")
    assert again.tocilizumab_limits == []


def test_the_command_names_the_patient_whose_imported_doses_pass_the_limit(
        cli_ward: Path, tmp_path: Path) -> None:  # noqa: F811
    f = ndjson(tmp_path / "a.ndjson", patient(),
               *(_tocilizumab(f"t{i}", at) for i, at in
                 enumerate([*FOUR_AT_THE_LIMITS, "02T08:00"])))
    code, out, err = run_in_process(cli.main, "fhir", "import", str(f), "--user", "n1")
    assert code == 0, err
    assert ("patient MRN-1: an imported tocilizumab dose, given 02 Mar 08:00, went past the "
            "dosing limits; before it: 4 doses in total: the limit is 4 (ASCO 2021).") in out


# ------------------------------------------------------------------ why it was given (F12)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
OURS = "https://car-t-ward-monitor.org/fhir/CodeSystem/indication"


def reason(*codings: tuple[str, str], text: str | None = None) -> dict:
    return {"coding": [{"system": s, "code": c} for s, c in codings],
            **({"text": text} if text else {})}


@pytest.mark.parametrize(("reasons", "indication"), [
    ([reason((ICD, "D89.839"))], "crs"),
    ([reason((ICD, "D89.832"))], "crs"),
    ([reason((ICD, "d89.83"))], "crs"),
    ([reason((ICD, "G92.00"))], "icans"),
    ([reason((ICD, "G92.03"))], "icans"),
    ([reason((ICD, "D89.839")), reason((ICD, "G92.02"))], "crs_icans"),
    ([reason((OURS, "crs")), reason((OURS, "icans"))], "crs_icans"),
    ([reason((OURS, "iec-hs"))], "iec_hs"),
    ([reason((OURS, "prophylaxis"))], "prophylaxis"),
    ([reason((OURS, "other"))], "other"),
    ([reason((OURS, "not-stated"))], "not_stated"),
    ([reason((ICD, "D89.839"), ("http://snomed.info/sct", "1153382006"))], "crs"),
    ([], "not_stated"),
])
def test_why_a_dose_was_given_is_read_from_its_reason_code(
        tmp_path: Path, reasons: list, indication: str) -> None:
    extra = {"reasonCode": reasons} if reasons else {}
    (m,) = read_meds(tmp_path, med("d", "dexamethasone", dose=10, **extra))
    assert (m.kind, m.indication, m.unread_reason) == ("dexamethasone", indication, None)


@pytest.mark.parametrize(("extra", "said"), [
    ({"reasonCode": [reason(("http://snomed.info/sct", "386661006"))]},
     "http://snomed.info/sct|386661006"),
    ({"reasonCode": [reason((ICD, "R50.9"))]}, "http://hl7.org/fhir/sid/icd-10-cm|R50.9"),
    ({"reasonCode": [reason(text="for CRS")]}, "'for CRS'"),
    ({"reasonReference": [{"reference": "Condition/c1"}]}, "reasonReference Condition/c1"),
])
def test_a_reason_the_ward_cannot_read_is_recorded_as_not_stated_and_said(
        store: WardStore, tmp_path: Path, extra: dict, said: str) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), med("p", "paracetamol", dose=1000, **extra))
    done = services.import_fhir(store, [f], "nina")
    (m,) = store.administrations("MRN-1")
    assert (m["kind"], m["indication"]) == ("paracetamol", "not_stated")
    (notice,) = done.notices
    assert notice.startswith("patient MRN-1: MedicationAdministration/p: reason not read (")
    assert said in notice and "recorded as given for a reason not stated" in notice


@pytest.mark.parametrize(("reasons", "said"), [
    ([reason((OURS, "sepsis"))], "reasonCode[0].coding "
     "'https://car-t-ward-monitor.org/fhir/CodeSystem/indication|sepsis': not a code of the "
     "ward's indication system: one of crs, icans, iec-hs, prophylaxis, other, not-stated"),
    ([reason((OURS, "crs")), reason((OURS, "prophylaxis"))], "reasonCode 'crs, prophylaxis': "
     "reasons that contradict each other (CRS, prophylaxis)"),
])
def test_an_unknown_code_of_our_system_or_contradicting_reasons_are_refused_by_name(
        store: WardStore, tmp_path: Path, reasons: list, said: str) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), med("d", "dexamethasone", dose=10,
                                                     reasonCode=reasons))
    with pytest.raises(FhirError) as e:
        services.import_fhir(store, [f], "nina")
    text = "\n".join(e.value.lines)
    assert "MedicationAdministration/d" in text and said in text, text
    assert store.patient("MRN-1") is None   # nothing imported


def test_a_dose_stored_for_crs_and_a_changed_reason_in_the_source_amends_it(
        store: WardStore, tmp_path: Path) -> None:
    crs = {"reasonCode": [reason((ICD, "D89.839"))]}
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        med("t", "tocilizumab", dose=560, **crs))], "nina")
    (m,) = store.administrations("MRN-1")
    assert m["indication"] == "crs"
    again = services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                                med("t", "tocilizumab", dose=560, **crs))],
                                 "nina")
    assert (again.unchanged, again.amended) == (2, 0)
    both = {"reasonCode": [reason((ICD, "D89.839")), reason((ICD, "G92.00"))]}
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), med(
        "t", "tocilizumab", dose=560, status="completed", **both))], "nina")
    assert done.amended == 1
    history = store.treatment_history("MRN-1")["administrations"]
    assert [h["indication"] for h in history] == ["crs", "crs_icans"]
    assert history[1]["reason"].startswith("changed in the source record")


@pytest.mark.parametrize(("recorded", "imported", "why"), [
    # the hospital record sends a dose given 4 h before one the ward already charted
    (["01T10:00", "01T20:00"], "01T06:00",
     "the next recorded dose is 4.0 h after this one: doses are at least 8 h apart"),
    # a fifth dose in all, given before the four the ward charted
    (["02T00:00", "02T08:00", "02T16:00", "03T00:00"], "01T12:00",
     "4 doses in total: the limit is 4"),
])
def test_an_imported_dose_given_before_doses_charted_on_the_page_is_judged_against_them(
        store: WardStore, tmp_path: Path, recorded: list[str], imported: str,
        why: str) -> None:
    """F11: the medications page judges a dose charted late against the doses recorded after
    its time too (review.tocilizumab_for_dose); an imported dose is charted late by nature,
    so the import names it by the same rule."""
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient())], "nina")
    for at in recorded:
        services.record_medication(store, "MRN-1", "tocilizumab",
                                   datetime.fromisoformat(f"2026-03-{at}:00+00:00"), "nina",
                                   dose=560)
    at = datetime.fromisoformat(f"2026-03-{imported}:00+00:00")
    from monitoring.review import tocilizumab_for_dose
    page = tocilizumab_for_dose(store.timeline_rows("MRN-1"), store.administrations("MRN-1"), at)
    assert why in page.warnings  # what the page says before a dose at that time
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                               _tocilizumab("t9", imported))], "nina")
    assert done.medications == 1
    assert len(done.tocilizumab_limits) == 1, done.tocilizumab_limits
    assert f"given {at:%d %b %H:%M}" in done.tocilizumab_limits[0]
    assert why in done.tocilizumab_limits[0]
