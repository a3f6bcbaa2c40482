"""FHIR R4 export of the grades (issue 19 point 2, started; docs/fhir.md "Export"): one
``collection`` Bundle with each patient, for each graded assessment an Observation with the
ASTCT 2019 CRS grade and one with the ICANS grade (our code system, ``GRADE_SYSTEM``; the
reasons in ``note``; ``derivedFrom`` the imported Observations of that row), each episode as a
provisional ``Condition`` with the ICD-10-CM code of its maximum grade, and each open flag as a
``Flag``; the inputs too (vital signs, neuro items, medications given, lab results), so that
our import reads the Bundle back into the same record. The Bundle is validated by the
``fhir.resources`` R4B models before it is given.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

import grading
from grading.lab_scores import units as lab_units

from .. import medications
from ..store import WardStore
from .codes import (
    BP_PANEL,
    DOSE_UNITS_OUT,
    GRADE_SYSTEM,
    ICD10CM,
    INDICATION_CODES,
    INDICATION_ICD_OUT,
    INDICATION_SYSTEM,
    LAB_CATEGORY,
    LAB_UNITS_UCUM,
    LOCAL_CHOICES,
    LOINC,
    MEDICATIONS,
    NEURO_INTEGERS,
    NEURO_SYSTEM,
    ROUTE_CODES,
    RXNORM,
    SNOMED,
    UCUM,
)

PATIENT_ID_SYSTEM = "https://car-t-ward-monitor.org/fhir/ward-patient-id"
GRADE_CODES = {"crs": ("astct-crs-grade", "ASTCT 2019 CRS grade"),
               "icans": ("astct-icans-grade", "ASTCT 2019 ICANS grade")}


def fhir_id(*parts: object) -> str:
    """A FHIR id ([A-Za-z0-9-.], at most 64) that is the same for the same parts."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def export_bundle(store: WardStore, patient_id: str | None = None) -> dict[str, Any]:
    """The Bundle as JSON-ready data (validated)."""
    pids = [patient_id] if patient_id else [p["patient_id"] for p in store.patients()]
    entries: list[dict[str, Any]] = []
    for pid in pids:
        p = store.patient(pid)
        if p is None:
            continue
        ref = f"Patient/{fhir_id('patient', pid)}"
        entries.append(_patient(pid, p))
        derived = _derived_from(store, pid)
        for row in store.timeline_rows(pid):
            entries += _inputs(pid, ref, row)
        entries += _medications(pid, ref, store.administrations(pid))
        entries += _labs(pid, ref, store.labs(pid))
        a, _ = store.timelines([pid])
        if a is not None:
            graded = grading.grade(a)
            for r in graded.results():
                at = r.time.astimezone(UTC)
                for syndrome, result in (("crs", r.crs), ("icans", r.icans)):
                    entries.append(_grade(pid, ref, syndrome, result, at, derived.get(at, [])))
            for summary in grading.summarize(graded):
                for ep in (*summary.crs_episodes, *summary.icans_episodes):
                    entries.append(_condition(pid, ref, ep))
        for f in store.open_flags(pid):
            entries.append(_flag(ref, f))
    for e in entries:
        if e["resourceType"] in ("Condition", "Flag") or (
                e["resourceType"] == "Observation"
                and e["code"]["coding"][0]["system"] == GRADE_SYSTEM):
            e["meta"] = {"tag": [DERIVED_TAG]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": datetime.now(UTC).isoformat(),
              "entry": [{"fullUrl": f"urn:uuid:{_uuid(e)}", "resource": e} for e in entries]}
    Bundle.model_validate(bundle)  # what we give must be valid FHIR R4
    return bundle


# canonical field -> (system, code, UCUM unit or None for a coded value), the inverse of read.py
_LOINC_OUT = {"temp_c": ("8310-5", "Cel"), "hr_bpm": ("8867-4", "/min"),
              "rr_per_min": ("9279-1", "/min"), "spo2_pct": ("59408-5", "%"),
              "o2_flow_l_min": ("3151-8", "L/min"), "fio2_pct": ("3150-0", "%"),
              "weight_kg": ("29463-7", "kg")}
_LOCAL_OUT = {**{field: code for code, field in NEURO_INTEGERS.items()},
              **{field: code for code, (field, _) in LOCAL_CHOICES.items()}}
DERIVED_TAG = {"system": GRADE_SYSTEM, "code": "derived",
               "display": "computed by the ward monitor from the observations"}


def _inputs(pid: str, patient_ref: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's vital signs, neuro items and oxygen device as Observations (the mapping of
    docs/fhir.md read backwards), at the row's time, so that our import reads them back."""
    at = row["time"].astimezone(UTC).isoformat()
    out = []

    def obs(field: str, system: str, code: str, **value: Any) -> None:
        out.append({"resourceType": "Observation", "id": fhir_id("obs", pid, at, field),
                    "status": "final", "code": {"coding": [{"system": system, "code": code}]},
                    "subject": {"reference": patient_ref}, "effectiveDateTime": at, **value})

    def qty(v: Any, unit: str) -> dict[str, Any]:
        return {"value": v, "unit": unit, "system": UCUM, "code": unit}

    for field, (code, unit) in _LOINC_OUT.items():
        if row.get(field) is not None:
            obs(field, LOINC, code, valueQuantity=qty(row[field], unit))
    parts = [(c, row.get(f)) for c, f in (("8480-6", "sbp_mmhg"), ("8462-4", "dbp_mmhg"))
             if row.get(f) is not None]
    if parts:
        obs("bp", LOINC, BP_PANEL, component=[
            {"code": {"coding": [{"system": LOINC, "code": c}]},
             "valueQuantity": qty(v, "mm[Hg]")} for c, v in parts])
    for field, code in _LOCAL_OUT.items():
        v = row.get(field)
        if v is None:
            continue
        if field in ("consciousness", "o2_device"):
            obs(field, NEURO_SYSTEM, code,
                valueCodeableConcept={"coding": [{"system": NEURO_SYSTEM, "code": v}]})
        else:
            obs(field, NEURO_SYSTEM, code, valueInteger=int(v))
    return out


def _medications(pid: str, patient_ref: str, given: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The current medications given as MedicationAdministrations (the import's mapping read
    backwards, decision F7): the RxNorm ingredient code and the drug's words, the dose (or,
    for a unit per minute, the rate) in UCUM, the route in SNOMED CT. Kinds without a code
    (another anti-cytokine agent, an unspecified antipyretic, a fluid bolus) are not
    exported yet (docs/fhir.md)."""
    out = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for m in given:
        if m["kind"] not in MEDICATIONS:
            continue
        at = m["given_at"].astimezone(UTC).isoformat()
        n = seen[(at, m["kind"])] = seen[(at, m["kind"])] + 1
        words = medications.DRUGS[m["kind"]].words
        dosage: dict[str, Any] = {}
        if m["dose"] is not None:
            unit = DOSE_UNITS_OUT[m["unit"]]
            q = {"value": m["dose"], "unit": m["unit"], "system": UCUM, "code": unit}
            dosage["rateQuantity" if "/" in unit else "dose"] = q
        if m.get("route"):
            dosage["route"] = {"coding": [{"system": SNOMED,
                                           "code": ROUTE_CODES[m["route"]][0]}],
                               "text": medications.ROUTES[m["route"]]}
        reasons = reason_codes(m.get("indication") or medications.NOT_STATED)
        out.append({
            "resourceType": "MedicationAdministration",
            "id": fhir_id("med", pid, at, m["kind"], n), "status": "completed",
            "medicationCodeableConcept": {"coding": [{
                "system": RXNORM, "code": MEDICATIONS[m["kind"]][0][0], "display": words}],
                "text": words},
            "subject": {"reference": patient_ref}, "effectiveDateTime": at,
            **({"reasonCode": reasons} if reasons else {}),
            **({"dosage": dosage} if dosage else {})})
    return out


def reason_codes(indication: str) -> list[dict[str, Any]]:
    """Why the dose was given as ``reasonCode``s (decision F12): CRS and ICANS by ICD-10-CM
    (grade unspecified: the grade is the grade Observations'), with our code beside it; the
    others by our code system; CRS and ICANS together as one of each; not stated: none."""
    ours = {v: k for k, v in INDICATION_CODES.items()}
    out = []
    for one in {"crs_icans": ("crs", "icans")}.get(indication, (indication,)):
        if one == medications.NOT_STATED:
            continue
        words = medications.INDICATIONS[one]
        coding = [{"system": INDICATION_SYSTEM, "code": ours[one], "display": words}]
        if one in INDICATION_ICD_OUT:
            code, display = INDICATION_ICD_OUT[one]
            coding.insert(0, {"system": ICD10CM, "code": code, "display": display})
        out.append({"coding": coding, "text": f"given for {words}"})
    return out


def lab_ucum(test: str, unit: str) -> str:
    """The UCUM code of one of the analyte's units (our spelling, µ or u)."""
    plain = unit.replace("µ", "u")
    accepted = lab_units.ANALYTES[test].factors
    return next(k for k, ours in LAB_UNITS_UCUM.items()
                if ours in (unit, plain) and ours in accepted)


def _labs(pid: str, patient_ref: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current lab results as laboratory Observations: the analyte's preferred LOINC
    code, the value in its canonical unit (UCUM), at the time the sample was taken."""
    out = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for x in results:
        a = lab_units.ANALYTES.get(x["test"])
        if a is None or not a.loinc:
            continue
        at = x["taken_at"].astimezone(UTC).isoformat()
        n = seen[(at, x["test"])] = seen[(at, x["test"])] + 1
        out.append({
            "resourceType": "Observation", "id": fhir_id("lab", pid, at, x["test"], n),
            "status": "final",
            "category": [{"coding": [{"system": LAB_CATEGORY[0], "code": LAB_CATEGORY[1]}]}],
            "code": {"coding": [{"system": LOINC, "code": a.loinc[0], "display": a.words}],
                     "text": a.words},
            "subject": {"reference": patient_ref}, "effectiveDateTime": at,
            "valueQuantity": {"value": x["value"], "unit": x["unit"], "system": UCUM,
                              "code": lab_ucum(x["test"], x["unit"])}})
    return out


def _uuid(resource: dict[str, Any]) -> str:
    h = fhir_id(resource["resourceType"], resource["id"])
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _patient(pid: str, p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "id": fhir_id("patient", pid),
                           "identifier": [{"system": PATIENT_ID_SYSTEM, "value": pid}]}
    if p.get("name"):
        out["name"] = [{"text": p["name"]}]
    if p.get("date_of_birth"):
        out["birthDate"] = str(p["date_of_birth"])
    if p.get("sex"):
        out["gender"] = p["sex"]
    return out


def _derived_from(store: WardStore, pid: str) -> dict[datetime, list[str]]:
    """The imported Observations of each row time (provenance), as references."""
    out: dict[datetime, list[str]] = defaultdict(list)
    for rid, source, at in store.uow.fhir.derived_from(pid):  # type: ignore[union-attr]
        # absolute where the source system is a FHIR server's base URL (F3)
        ref = (f"{source}/Observation/{rid}" if source.startswith(("http://", "https://"))
               else f"Observation/{rid}")
        if ref not in out[at]:
            out[at].append(ref)
    return out


def _grade(pid: str, patient_ref: str, syndrome: str, result: Any, at: datetime,
           derived: list[str]) -> dict[str, Any]:
    code, text = GRADE_CODES[syndrome]
    out: dict[str, Any] = {
        "resourceType": "Observation", "id": fhir_id(syndrome, pid, at.isoformat()),
        "status": "final" if result.status == "final" else "preliminary",
        "code": {"coding": [{"system": GRADE_SYSTEM, "code": code, "display": text}],
                 "text": text},
        "subject": {"reference": patient_ref}, "effectiveDateTime": at.isoformat(),
        "note": [{"text": f"ASTCT 2019: {x.finding}"} for x in result.reasons] or None,
    }
    if result.grade is None:
        out["dataAbsentReason"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
            "code": "not-performed"}], "text": "not evaluable"}
    else:
        out["valueInteger"] = int(result.grade)
    if result.status != "final":
        out.setdefault("note", []).append({"text": f"grade {result.status.replace('_', ' ')}"})
    if derived:
        out["derivedFrom"] = [{"reference": r} for r in derived]
    return {k: v for k, v in out.items() if v is not None}


# ICD-10-CM: cytokine release syndrome by grade (D89.831-835, D89.839 unspecified) and
# immune effector cell-associated neurotoxicity syndrome by grade (G92.01-05, G92.00)
ICD_CODES = {"crs": ("D89.83{}", "D89.839", "Cytokine release syndrome"),
             "icans": ("G92.0{}", "G92.00",
                       "Immune effector cell-associated neurotoxicity syndrome")}


def icd10cm(syndrome: str, grade: int | None) -> str:
    """The ICD-10-CM code of an episode's maximum ASTCT grade (1-5), else unspecified."""
    by_grade, unspecified, _ = ICD_CODES[syndrome]
    return by_grade.format(grade) if grade in (1, 2, 3, 4, 5) else unspecified


def _condition(pid: str, patient_ref: str, ep: Any) -> dict[str, Any]:
    """An episode as a Condition: provisional, since a grade computed here is a suggestion
    for a clinician to confirm, never a diagnosis (developers' guide)."""
    code = icd10cm(ep.syndrome, ep.max_grade)
    name = ICD_CODES[ep.syndrome][2]
    peak = ep.max_grade_time.astimezone(UTC)
    state = "resolved" if ep.resolved is not None else "inactive" if ep.closed else "active"
    out: dict[str, Any] = {
        "resourceType": "Condition", "id": fhir_id("episode", ep.syndrome, pid,
                                                   ep.onset.isoformat()),
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": state}]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "provisional"}]},
        "code": {"coding": [{"system": ICD10CM, "code": code}],
                 "text": f"{name}, ASTCT 2019 grade {ep.max_grade} at most"},
        "subject": {"reference": patient_ref},
        "onsetDateTime": ep.onset.astimezone(UTC).isoformat(),
        "evidence": [{"detail": [{"reference":
                                  f"Observation/{fhir_id(ep.syndrome, pid, peak.isoformat())}"}]}],
        "note": [{"text": f"highest grade first reached {peak.isoformat()}"}],
    }
    if ep.resolved is not None:
        out["abatementDateTime"] = ep.resolved.astimezone(UTC).isoformat()
    return out


def _flag(patient_ref: str, f: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Flag", "id": fhir_id("flag", f["id"]), "status": "active",
            "code": {"coding": [{"system": GRADE_SYSTEM, "code": f"flag-{f['code']}"}],
                     "text": f["message"]},
            "subject": {"reference": patient_ref},
            "period": {"start": f["raised_at"].astimezone(UTC).isoformat()}}


__all__ = ["GRADE_SYSTEM", "NEURO_SYSTEM", "export_bundle"]
