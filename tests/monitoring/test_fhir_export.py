"""FHIR R4 export of the grades (monitoring/fhir/export.py, started; docs/fhir.md "Export")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from monitoring import cli, services, ward
from monitoring.fhir.export import GRADE_SYSTEM, export_bundle, icd10cm
from monitoring.store import WardStore
from tests.fuzz_files import run_in_process

from .test_fhir_import import SAMPLE, cli_ward  # noqa: F401 - the fixture

CRS = "astct-crs-grade"
ICANS = "astct-icans-grade"


def grades(bundle: dict, code: str, patient_ref: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"
            and e["resource"]["subject"]["reference"] == patient_ref
            and (e["resource"]["code"]["coding"][0]["system"],
                 e["resource"]["code"]["coding"][0]["code"]) == (GRADE_SYSTEM, code)]


def patient_ref(bundle: dict, pid: str) -> str:
    (p,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
            and e["resource"]["identifier"][0]["value"] == pid]
    return f"Patient/{p['id']}"


def test_the_export_gives_each_assessments_grades_derived_from_the_imported_observations(
        store: WardStore) -> None:
    services.import_fhir(store, [SAMPLE], "nina")
    bundle = export_bundle(store)
    Bundle.model_validate(bundle)
    one = patient_ref(bundle, "FHIR-DEMO-1")
    crs = grades(bundle, CRS, one)
    assert [o["valueInteger"] for o in crs] == [0, 1, 2, 0]
    assert {"reference": "https://ehr.example/fhir/Observation/p1-bp-2"} in crs[2]["derivedFrom"]
    assert any("fever" in n["text"] for n in crs[1]["note"])
    icans = grades(bundle, ICANS, one)
    assert all("valueInteger" not in o and o["dataAbsentReason"]["text"] == "not evaluable"
               for o in icans)
    two = patient_ref(bundle, "FHIR-DEMO-2")
    assert [o.get("valueInteger") for o in grades(bundle, ICANS, two)] == [0, 0, 2, 0]


def test_open_flags_are_exported_as_active_flags_of_their_patient(store: WardStore) -> None:
    services.import_fhir(store, [SAMPLE], "nina")
    bundle = export_bundle(store, "FHIR-DEMO-2")
    flags = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Flag"]
    assert len(flags) == len(store.open_flags("FHIR-DEMO-2")) > 0
    assert {f["status"] for f in flags} == {"active"}
    assert {f["subject"]["reference"] for f in flags} == {patient_ref(bundle, "FHIR-DEMO-2")}


def test_the_export_command_prints_a_bundle_and_refuses_an_unknown_patient(
        cli_ward: Path) -> None:  # noqa: F811
    assert run_in_process(cli.main, "fhir", "import", str(SAMPLE), "--user", "n1")[0] == 0
    code, out, err = run_in_process(cli.main, "fhir", "export", "--patient", "FHIR-DEMO-1")
    assert code == 0, err
    Bundle.model_validate(json.loads(out))
    code, out, err = run_in_process(cli.main, "fhir", "export", "--patient", "nobody")
    assert (code, out, err.strip()) == (2, "", "unknown patient 'nobody'")


@pytest.mark.parametrize(("syndrome", "grade", "code"), [
    ("crs", 1, "D89.831"), ("crs", 2, "D89.832"), ("crs", 3, "D89.833"), ("crs", 4, "D89.834"),
    ("crs", 5, "D89.835"), ("crs", None, "D89.839"),
    ("icans", 1, "G92.01"), ("icans", 2, "G92.02"), ("icans", 3, "G92.03"),
    ("icans", 4, "G92.04"), ("icans", 5, "G92.05"), ("icans", None, "G92.00"),
])
def test_an_episodes_maximum_grade_gives_its_icd_10_cm_code(syndrome: str, grade: int | None,
                                                          code: str) -> None:
    assert icd10cm(syndrome, grade) == code


def test_each_episode_is_a_provisional_condition_with_its_onset_and_peak_grade(
        store: WardStore) -> None:
    services.import_fhir(store, [SAMPLE], "nina")
    bundle = export_bundle(store, "FHIR-DEMO-2")
    conditions = [e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Condition"]
    assert [(c["code"]["coding"][0]["code"], c["onsetDateTime"]) for c in conditions] == [
        ("D89.832", "2026-03-05T15:00:00+00:00"), ("G92.02", "2026-03-06T09:00:00+00:00")]
    assert {c["verificationStatus"]["coding"][0]["code"] for c in conditions} == {"provisional"}
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    for c in conditions:  # the evidence is the grade Observation at the peak, in the Bundle
        assert c["evidence"][0]["detail"][0]["reference"].split("/")[1] in ids


def given(store: WardStore, pid: str) -> list[tuple]:
    return [(m["kind"], m["given_at"], m["dose"], m["unit"], m["route"], m["indication"])
            for m in store.administrations(pid)]


def results(store: WardStore, pid: str) -> list[tuple]:
    return [(x["test"], x["taken_at"], x["value"], x["unit"]) for x in store.labs(pid)]


def test_medications_and_labs_are_exported_as_the_import_reads_them(store: WardStore) -> None:
    services.import_fhir(store, [SAMPLE], "nina")
    bundle = export_bundle(store, "FHIR-DEMO-2")
    (toci,) = [e["resource"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "MedicationAdministration"]
    assert (toci["medicationCodeableConcept"]["coding"][0]["code"], toci["status"],
            toci["effectiveDateTime"], toci["dosage"]["dose"]["value"],
            toci["dosage"]["dose"]["code"], toci["dosage"]["route"]["coding"][0]["code"]) == \
        ("612865", "completed", "2026-03-05T16:00:00+00:00", 660.0, "mg", "47625008")
    # given for CRS (the sample's D89.832): the grade-unspecified ICD-10-CM code, and ours
    assert toci["reasonCode"] == [{"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.839",
         "display": "Cytokine release syndrome, grade unspecified"},
        {"system": "https://car-t-ward-monitor.org/fhir/CodeSystem/indication", "code": "crs",
         "display": "CRS"}], "text": "given for CRS"}]
    labs = {e["resource"]["code"]["coding"][0]["code"]: e["resource"]["valueQuantity"]
            for e in bundle["entry"] if e["resource"].get("category", [{}])[0].get(
                "coding", [{}])[0].get("code") == "laboratory"}
    assert {k: (v["value"], v["code"]) for k, v in labs.items()} == {
        "1988-5": (pytest.approx(15.2), "mg/dL"), "2276-4": (2400.0, "ng/mL"),
        "26881-3": (850.0, "pg/mL")}


@pytest.mark.parametrize(("indication", "codes"), [
    ("crs", [["D89.839", "crs"]]), ("icans", [["G92.00", "icans"]]),
    ("crs_icans", [["D89.839", "crs"], ["G92.00", "icans"]]), ("iec_hs", [["iec-hs"]]),
    ("prophylaxis", [["prophylaxis"]]), ("other", [["other"]]), ("not_stated", None)])
def test_every_indication_is_exported_as_a_reason_code_and_read_back_the_same(
        store: WardStore, make_store, tmp_path: Path, indication: str, codes) -> None:
    store.admit({"patient_id": "IND-1"}, by="drx")
    store.record_administration("IND-1", "dexamethasone",
                                datetime(2026, 3, 5, 10, tzinfo=UTC), by="nina",
                                dose=10.0, route="IV", indication=indication)
    bundle = export_bundle(store, "IND-1")
    (m,) = [e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "MedicationAdministration"]
    assert ([[c["code"] for c in r["coding"]] for r in m["reasonCode"]]
            if "reasonCode" in m else None) == codes
    (tmp_path / "b.json").write_text(json.dumps(bundle), encoding="utf-8")
    again = make_store()
    done = services.import_fhir(again, [tmp_path / "b.json"], "nina")
    assert done.notices == []
    (back,) = again.administrations("IND-1")
    assert (back["kind"], back["dose"], back["indication"]) == ("dexamethasone", 10.0,
                                                                 indication)


def test_fhir_to_record_to_fhir_to_record_gives_the_same_timeline_and_grades(
        store: WardStore, make_store, tmp_path: Path) -> None:
    services.import_fhir(store, [SAMPLE], "nina")
    first = export_bundle(store)
    (tmp_path / "first.json").write_text(json.dumps(first), encoding="utf-8")
    again = make_store()
    done = services.import_fhir(again, [tmp_path / "first.json"], "nina")
    assert done.derived == sum(1 for e in first["entry"]
                               if e["resource"]["resourceType"] != "Patient"
                               and "meta" in e["resource"])
    assert (done.medications, done.labs) == (2, 5)
    assert [m["indication"] for pid in ("FHIR-DEMO-1", "FHIR-DEMO-2")
            for m in store.administrations(pid)] == ["not_stated", "crs"]   # F12
    for pid in ("FHIR-DEMO-1", "FHIR-DEMO-2"):
        assert again.timeline_rows(pid) == store.timeline_rows(pid)
        assert given(again, pid) == given(store, pid) != []
        assert results(again, pid) == results(store, pid) != []
        assert list(ward.grades_now(again, pid).values()) == \
            list(ward.grades_now(store, pid).values())
    second = export_bundle(again)

    def inputs(bundle: dict) -> list[dict]:
        return [e["resource"] for e in bundle["entry"] if "meta" not in e["resource"]]
    assert inputs(second) == inputs(first)
