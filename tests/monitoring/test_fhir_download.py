"""One patient's FHIR Bundle for a download (``services.fhir_bundle``; decisions W18, W19) on
every backend: read in one transaction under the patient's lock, audited, for a patient with
or without assessments; an educator exports demo patients only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle

from monitoring import services, tables
from monitoring.store import PatientIn, StoreError, WardStore

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "fhir" / "patient1_bundle.json"


def exports(store: WardStore) -> list:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(tables.audit_log).where(
            tables.audit_log.c.action == "fhir_export")).all()


def test_an_imported_patient_downloads_as_a_valid_bundle_and_the_export_is_audited(
        store: WardStore) -> None:
    services.import_fhir(store, [SAMPLE], "drx")
    data = services.fhir_bundle(store, "FHIR-DEMO-1", "nina")
    bundle = json.loads(data.decode("utf-8"))
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
    # 4 rows of the sample, each graded for CRS and ICANS (ASTCT 2019)
    grades = [e["resource"] for e in bundle["entry"]
              if e["resource"]["resourceType"] == "Observation"
              and "derived" in json.dumps(e["resource"].get("meta", {}))]
    assert len(grades) == 8
    (entry,) = exports(store)
    assert (entry.username, entry.patient_id) == ("nina", "FHIR-DEMO-1")
    assert json.loads(entry.after) == {"resources": len(bundle["entry"])}


def test_a_patient_with_no_assessments_exports_the_patient_alone(store: WardStore) -> None:
    store.admit(PatientIn(patient_id="NEW-1", name="Nobody Charted"), by="drx")
    bundle = json.loads(services.fhir_bundle(store, "NEW-1", "drx"))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def test_an_educator_may_not_export_a_real_patient_but_a_demo_one(store: WardStore) -> None:
    store.admit(PatientIn(patient_id="REAL-1"), by="drx")
    store.admit(PatientIn(patient_id="DEMO-9", is_demo=True), by="drx")
    with pytest.raises(StoreError, match="synthetic demo patients only"):
        services.fhir_bundle(store, "REAL-1", "eddie")
    assert exports(store) == []
    assert json.loads(services.fhir_bundle(store, "DEMO-9", "eddie"))["type"] == "collection"


def test_an_unknown_patient_or_user_is_refused(store: WardStore) -> None:
    with pytest.raises(StoreError, match="unknown patient 'NOPE'"):
        services.fhir_bundle(store, "NOPE", "drx")
    store.admit(PatientIn(patient_id="REAL-1"), by="drx")
    with pytest.raises(StoreError, match="no active account"):
        services.fhir_bundle(store, "REAL-1", "ghost")
    assert exports(store) == []
