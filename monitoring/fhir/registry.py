"""The registry summary as one FHIR R4 ``collection`` Bundle (issue 19 point 3; docs/registry.md):
per patient the Patient (with the date of death when one is recorded), a provisional
``Condition`` per syndrome that occurred (ICD-10-CM of the maximum grade, onset, abatement,
the ASTCT 2019 maximum grade as its severity), a ``MedicationStatement`` per treatment given
(first and last dose, the number of doses; why: R11), and one ``Observation`` holding the registry's
answers as components (CRS and ICANS occurred and maximum grade, vasopressors, ventilation,
ICU admission - yes with the first transfer, the number of stays and the days, or absent:
none recorded, decision R10 -, cause of death, the markers' peak and fold change). Validated
by the ``fhir.resources`` R4B models before it is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from ..registry import CAUSE_WORDS, REGISTRY_MARKERS, RegistrySummary, Syndrome
from .codes import GRADE_SYSTEM, UCUM
from .export import (
    DERIVED_TAG,
    ICD10CM,
    ICD_CODES,
    _patient,
    _uuid,
    fhir_id,
    icd10cm,
    reason_codes,
)

REGISTRY_CODE = ("registry-summary", "Cellular therapy registry summary after infusion")
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": GRADE_SYSTEM, "code": code, "display": display}],
            "text": display}


def _condition(s: RegistrySummary, ref: str, name: str, x: Syndrome) -> dict[str, Any]:
    words = ICD_CODES[name][2]
    state = ("resolved" if x.resolved is not None else
             "active" if x.state.startswith("ongoing") else "inactive")
    out: dict[str, Any] = {
        "resourceType": "Condition", "id": fhir_id("registry", name, s.patient_id),
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": state}]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "provisional"}]},  # computed here: a clinician confirms (as export.py)
        "severity": _code(f"astct-{name}-grade-{x.maximum}",
                          f"ASTCT 2019 {name.upper()} grade {x.maximum}"),
        "code": {"coding": [{"system": ICD10CM, "code": icd10cm(name, x.maximum)}],
                 "text": f"{words}, ASTCT 2019 grade {x.maximum} at most"},
        "subject": {"reference": ref},
        "onsetDateTime": _iso(x.onset) if x.onset else None,
        "note": [{"text": f"highest grade first reached {_iso(x.maximum_at)}"
                  if x.maximum_at else "highest grade not known"},
                 {"text": f"{x.episodes} episode{'s' if x.episodes != 1 else ''}; "
                          f"at the last assessment: {x.state}"}],
    }
    if x.resolved is not None:
        out["abatementDateTime"] = _iso(x.resolved)
    return {k: v for k, v in out.items() if v is not None}


def _medication(s: RegistrySummary, ref: str, t: Any) -> dict[str, Any]:
    note = f"{t.doses} dose{'s' if t.doses != 1 else ''} recorded"
    if t.from_assessments:
        note += (f", {t.from_assessments} of them known only from an assessment tick (a "
                 "minimum: one tick may stand for more than one dose)")
    why = []
    for name in ("crs", "icans"):  # R11: the reasons stated, with their doses
        n, first = getattr(t, f"{name}_doses"), getattr(t, f"{name}_first")
        if n:
            why.append(f"{n} given for {name.upper()} (first {_iso(first)})")
    why.append(f"{t.not_stated} with the reason not stated")
    out = {"resourceType": "MedicationStatement",
           "id": fhir_id("registry", t.key, s.patient_id), "status": "completed",
           "medicationCodeableConcept": {"text": ", ".join(t.agents) or t.words.lower()},
           "subject": {"reference": ref},
           "effectivePeriod": {"start": _iso(t.first), "end": _iso(t.last)},
           "note": [{"text": note}, {"text": "; ".join(why)}]}
    reasons = [r for name in ("crs", "icans") if getattr(t, f"{name}_doses")
               for r in reason_codes(name)]
    if reasons:
        out["reasonCode"] = reasons
    return out


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": _code(code, display), **value}


def _absent(text: str) -> dict[str, Any]:
    return {"dataAbsentReason": {"coding": [{"system": ABSENT, "code": "unknown"}],
                                 "text": text}}


def _icu(s: RegistrySummary) -> list[dict[str, Any]]:
    """R10: yes, with the first transfer, the stays and the days in intensive care; none
    charted is absent (unknown), never false: the record holds the transfers the ward charted."""
    x = s.icu
    if not x.stays:
        return [_component("icu-admission", "ICU admission", **_absent(
            "none recorded: no transfer to intensive care is charted in the ward record"))]
    out = [_component("icu-admission", "ICU admission", valueBoolean=True),
           _component("icu-admission-first", "ICU admission: first transfer",
                      valueDateTime=_iso(x.stays[0][0])),
           _component("icu-stays", "ICU stays", valueInteger=len(x.stays))]
    if x.days is not None:
        out.append(_component("icu-days", "Days in intensive care, stays with a recorded "
                              "return", valueQuantity={"value": round(x.days, 2), "unit": "d",
                                                       "system": UCUM, "code": "d"}))
    if x.open_since is not None:
        out.append(_component("icu-open-since", "In intensive care with no return recorded, "
                              "since", valueDateTime=_iso(x.open_since)))
    return out


def _summary(s: RegistrySummary, ref: str) -> dict[str, Any]:
    parts = []
    for name, x in (("crs", s.crs), ("icans", s.icans)):
        label = name.upper()
        parts.append(_component(f"{name}-occurred", f"{label} after infusion",
                                **({"valueBoolean": x.occurred} if x.occurred is not None
                                   else _absent(x.state))))
        if x.maximum is not None:
            parts.append(_component(f"{name}-maximum-grade",
                                    f"{label} maximum grade (ASTCT 2019)",
                                    valueInteger=x.maximum))
    for t in s.treatments:  # R11: the doses given for CRS, for ICANS, reason not stated
        if not t.doses:
            continue
        for name in ("crs", "icans"):
            parts.append(_component(f"{t.key}-for-{name}-doses",
                                    f"{t.words} doses given for {name.upper()}",
                                    valueInteger=getattr(t, f"{name}_doses")))
        parts.append(_component(f"{t.key}-reason-not-stated-doses",
                                f"{t.words} doses with the reason not stated",
                                valueInteger=t.not_stated))
    for key, display, since in (
            ("vasopressors", "Vasopressors", s.vasopressors_from),
            ("noninvasive-ventilation", "Non-invasive ventilation (CPAP or BiPAP)",
             s.noninvasive_from),
            ("mechanical-ventilation", "Mechanical ventilation", s.ventilated_from)):
        parts.append(_component(key, display, valueBoolean=since is not None))
        if since is not None:
            parts.append(_component(f"{key}-first", f"{display}: first date",
                                    valueDateTime=_iso(since)))
    parts += _icu(s)
    if s.died is not None:
        parts.append(_component("cause-of-death", "Cause of death", valueCodeableConcept=_code(
            f"death-{s.death_cause}", CAUSE_WORDS[str(s.death_cause)])))
    for m in s.markers:
        if m.key not in REGISTRY_MARKERS or m.peak is None:
            continue
        word = "lowest" if m.extreme == "lowest" else "peak"
        parts.append(_component(f"{m.key}-{word}", f"{m.words} {word} after infusion",
                                valueQuantity={"value": m.peak.value, "unit": m.unit}))
        if m.fold is not None:
            parts.append(_component(f"{m.key}-fold", f"{m.words} fold change from baseline",
                                    valueQuantity={"value": round(m.fold, 6), "unit": "fold",
                                                   "system": UCUM, "code": "1"}))
    code, text = REGISTRY_CODE
    out: dict[str, Any] = {
        "resourceType": "Observation", "id": fhir_id("registry", s.patient_id),
        "status": "preliminary",  # computed from the record: for a registrar to check
        "code": _code(code, text), "subject": {"reference": ref}, "component": parts}
    if s.infusion is not None:
        out["effectivePeriod"] = {"start": _iso(s.infusion)} | (
            {"end": _iso(s.last_assessed)} if s.last_assessed else {})
    return out


def registry_bundle(summaries: list[RegistrySummary]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for s in summaries:
        ref = f"Patient/{fhir_id('patient', s.patient_id)}"
        patient = _patient(s.patient_id, s.details)
        if s.died is not None:
            patient["deceasedDateTime"] = _iso(s.died)
        entries.append(patient)
        for name, x in (("crs", s.crs), ("icans", s.icans)):
            if x.occurred:
                entries.append(_condition(s, ref, name, x))
        entries += [_medication(s, ref, t) for t in s.treatments if t.doses]
        entries.append(_summary(s, ref))
    for e in entries:
        if e["resourceType"] != "Patient":
            e["meta"] = {"tag": [DERIVED_TAG]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": datetime.now(UTC).isoformat(),
              "entry": [{"fullUrl": f"urn:uuid:{_uuid(e)}", "resource": e} for e in entries]}
    Bundle.model_validate(bundle)  # what we give must be valid FHIR R4
    return bundle
