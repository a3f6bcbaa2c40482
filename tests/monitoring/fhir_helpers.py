"""Small FHIR R4 resources for the import tests (docs/fhir.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitoring.fhir import NEURO_SYSTEM

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def patient(rid: str = "p1", mrn: str = "MRN-1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid,
            "identifier": [{"system": "https://hospital.example/mrn", "value": mrn}],
            "name": [{"family": "Test", "given": ["Pat"]}], "gender": "female",
            "birthDate": "1970-06-15", **extra}


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def vital(rid: str, code: str, value: float, unit: str, at: str = "2026-03-01T08:00:00+00:00",
          subject: str = "p1", status: str = "final", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": status,
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": f"Patient/{subject}"}, "effectiveDateTime": at,
            "valueQuantity": quantity(value, unit), **extra}


def bp(rid: str, systolic: float, diastolic: float, at: str = "2026-03-01T08:00:00+00:00",
       unit: str = "mm[Hg]", status: str = "final") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": status,
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": at,
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                 "valueQuantity": quantity(systolic, unit)},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                 "valueQuantity": quantity(diastolic, unit)}]}


def neuro(rid: str, code: str, at: str = "2026-03-01T08:00:00+00:00", **value: Any
          ) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": NEURO_SYSTEM, "code": code}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": at, **value}


def coded(code: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": NEURO_SYSTEM, "code": code}]}}


def ndjson(path: Path, *resources: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def bundle(path: Path, *resources: dict[str, Any], kind: str = "collection",
           base: str = "https://ehr.example/fhir") -> Path:
    path.write_text(json.dumps({
        "resourceType": "Bundle", "type": kind,
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
                  for r in resources]}), encoding="utf-8")
    return path


RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LAB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                   "code": "laboratory"}]}


def med(rid: str, drug: str | None = None, rxnorm: str | None = None, dose: float | None = None,
        unit: str = "mg", at: str = "2026-03-01T09:00:00+00:00", subject: str = "p1",
        status: str = "completed", route: str | None = "47625008", **extra: Any
        ) -> dict[str, Any]:
    """A MedicationAdministration: the drug by text and/or RxNorm, a dose in UCUM ``unit``."""
    concept: dict[str, Any] = {}
    if drug:
        concept["text"] = drug
    if rxnorm:
        concept["coding"] = [{"system": RXNORM, "code": rxnorm}]
    dosage: dict[str, Any] = {}
    if dose is not None:
        dosage["dose"] = quantity(dose, unit)
    if route:
        dosage["route"] = {"coding": [{"system": SNOMED, "code": route}]}
    out = {"resourceType": "MedicationAdministration", "id": rid, "status": status,
           "medicationCodeableConcept": concept, "subject": {"reference": f"Patient/{subject}"},
           "effectiveDateTime": at, **({"dosage": dosage} if dosage else {}), **extra}
    return out


def lab(rid: str, code: str, value: float, unit: str, at: str = "2026-03-01T07:30:00+00:00",
        subject: str = "p1", status: str = "final", **extra: Any) -> dict[str, Any]:
    """A laboratory Observation (category laboratory, LOINC ``code``)."""
    return {**vital(rid, code, value, unit, at=at, subject=subject, status=status),
            "category": [LAB], **extra}
