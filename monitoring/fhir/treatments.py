"""Read a ``MedicationAdministration`` and a lab ``Observation`` into what the ward records
(docs/fhir.md, decisions F6-F9): the drug of monitoring/medications.py ``DRUGS`` by RxNorm
ingredient code or by its words, its dose or rate in a unit of that drug, its route; the
analyte of grading/lab_scores/units.py ``ANALYTES`` by LOINC (the table's ``loinc`` codes),
its value in a unit the analyte accepts. The same checks as the medications page run here
(``medications.check_dose``, ``lab_units.check_value``) so that every problem of a file is
listed at once; the record checks each again when it writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation

from grading.lab_scores import units as lab_units

from .. import medications
from .codes import (
    BP_PANEL,
    CHARTED,
    DOSE_UNITS,
    ICD10CM,
    IN_ERROR,
    INDICATION_CODES,
    INDICATION_ICD,
    INDICATION_SYSTEM,
    LAB_CATEGORY,
    LAB_UNITS_UCUM,
    LOINC,
    MED_NOT_GIVEN,
    MED_RECORDED,
    MED_REFUSED,
    MEDICATIONS,
    QUANTITIES,
    ROUTE_CODES,
    RXNORM,
    SNOMED,
    UCUM,
)

VITAL_CODES = {*QUANTITIES, BP_PANEL}


@dataclass
class MedicationResource:
    resource_id: str
    source: str
    status: str
    subject: str                     # the Patient resource id it refers to
    at: datetime                     # given at (effectiveDateTime / effectivePeriod.start)
    kind: str                        # monitoring/medications.py DRUGS key
    dose: float | None
    unit: str | None
    route: str | None
    where: str = ""
    unusual: str | None = None       # why a possible dose deserves a second look (W14)
    indication: str = medications.NOT_STATED   # why it was given (reasonCode, F12)
    unread_reason: str | None = None  # a reason sent that is not read: said, never guessed

    @property
    def key(self) -> str:
        return f"MedicationAdministration/{self.resource_id}"


@dataclass
class LabResource:
    resource_id: str
    source: str
    status: str
    subject: str
    at: datetime                     # taken at
    test: str                        # grading/lab_scores/units.py ANALYTES key
    value: float
    unit: str                        # as the analyte table spells it
    where: str = ""
    unusual: str | None = None       # why a possible value deserves a second look (W14)

    @property
    def key(self) -> str:
        return f"Observation/{self.resource_id}"


def by_loinc() -> dict[str, str]:
    """LOINC code -> analyte, from the ONE analyte table (its ``loinc`` codes)."""
    return lab_units.BY_LOINC


def recorded_drugs() -> str:
    return ", ".join(medications.DRUGS[k].words for k in MEDICATIONS)


def recorded_labs() -> str:
    return ", ".join(f"{a.words} ({' or '.join(a.loinc)})"
                     for a in lab_units.ANALYTES.values() if a.loinc)


def _words(text: str) -> set[str]:
    """The drugs whose words stand in ``text`` as whole words (not "epinephrine" inside
    "norepinephrine"; a biosimilar's suffix may follow, "tocilizumab-aazg")."""
    low = text.lower()
    return {kind for kind, (_, words) in MEDICATIONS.items()
            if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in words)}


def _drug(concept: Any, bad: Any) -> str | None:
    """The drug a medicationCodeableConcept names: by RxNorm ingredient code, else by its
    text or a coding's display. Names of two drugs, or none we record: refused."""
    codings = concept.coding or []
    by_code = {kind for kind, (codes, _) in MEDICATIONS.items()
               for c in codings if c.system == RXNORM and c.code in codes}
    texts = [t for t in (concept.text, *(c.display for c in codings)) if t]
    by_text = set().union(*(_words(t) for t in texts)) if texts else set()
    found = by_code | by_text
    shown = "; ".join([*(f"{c.system or '?'}|{c.code or '?'}" for c in codings),
                       *([concept.text] if concept.text else [])])
    if len(found) > 1:
        bad("medicationCodeableConcept", shown, "names more than one drug ("
            + ", ".join(medications.DRUGS[k].words for k in sorted(found))
            + "): send one administration per drug")
        return None
    if not found:
        bad("medicationCodeableConcept", shown, "not a medication the ward records (by RxNorm "
            "ingredient code or by name); it records " + recorded_drugs())
        return None
    return found.pop()


def _number(v: Decimal | float | int) -> float:
    return float(v)


def _ucum(q: Any, element: str, table: dict[str, str], allowed: list[str], what: str,
          bad: Any) -> str | None:
    """Our spelling of a UCUM unit, if ``allowed`` takes it; else refused, never guessed."""
    code = q.code if q.system == UCUM else None
    ours = table.get(code or "")
    if ours is None or ours not in allowed:
        wanted = [u for u, o in table.items() if o in allowed]
        bad(f"{element}.code", q.code or q.unit or "", "the unit must be UCUM "
            + (" or ".join(wanted) if wanted else "(none that maps)") + f" for {what}")
        return None
    return ours


def _dose(m: MedicationAdministration, kind: str, bad: Any
          ) -> tuple[float | None, str | None, str] | None:
    """The dose or rate in a unit of the drug (decision F7): a rate (``rateQuantity``, or
    ``rateRatio`` numerator/denominator) for a drug recorded as a rate (the vasopressors'
    µg/kg/min, units/min), else ``dose``. None: refused (said through ``bad``)."""
    drug = medications.DRUGS[kind]
    d = m.dosage
    if d is None or (d.dose is None and d.rateQuantity is None and d.rateRatio is None):
        return None, None, "dosage"  # no dose sent: recorded without one (F7)
    allowed = list(drug.doses)
    rate_units = [u for u in allowed if "/" in u]
    if d.rateQuantity is not None and rate_units:
        q = d.rateQuantity
        unit = _ucum(q, "dosage.rateQuantity", DOSE_UNITS, rate_units, drug.words, bad)
        if q.value is None:
            bad("dosage.rateQuantity.value", "", "a rate needs a value")
            return None
        return None if unit is None else (_number(q.value), unit, "dosage.rateQuantity")
    if d.rateRatio is not None and rate_units:
        num, den = d.rateRatio.numerator, d.rateRatio.denominator
        if num is None or den is None or num.value is None or den.value is None \
                or den.value == 0 or den.system != UCUM or num.system != UCUM:
            bad("dosage.rateRatio", "", "a rate needs a numerator and a non-zero denominator, "
                "both with a value and a UCUM unit")
            return None
        code = f"{num.code}/{den.code}"
        unit = DOSE_UNITS.get(code)
        if unit not in rate_units:
            bad("dosage.rateRatio", code, "the rate must be UCUM " + " or ".join(
                u for u, o in DOSE_UNITS.items() if o in rate_units) + f" for {drug.words}")
            return None
        return _number(num.value) / _number(den.value), unit, "dosage.rateRatio"
    if d.dose is not None:
        q = d.dose
        unit = _ucum(q, "dosage.dose", DOSE_UNITS, allowed, drug.words, bad)
        if q.value is None:
            bad("dosage.dose.value", "", "a dose needs a value")
            return None
        return None if unit is None else (_number(q.value), unit, "dosage.dose")
    bad("dosage.rateQuantity" if d.rateQuantity is not None else "dosage.rateRatio", "",
        f"{drug.words} is recorded as a dose in " + " or ".join(allowed) + ", not as a rate")
    return None


def _route(m: MedicationAdministration, bad: Any) -> str | bool | None:
    """The route (SNOMED CT code, else the words of its text or display); None when not
    sent; False when not one the ward records (said through ``bad``)."""
    concept = m.dosage.route if m.dosage is not None else None
    if concept is None:
        return None
    for route, (code, _) in ROUTE_CODES.items():
        if any(c.system == SNOMED and c.code == code for c in concept.coding or []):
            return route
    texts = [t.lower() for t in (concept.text, *(c.display for c in concept.coding or []))
             if t]
    for route, (_, words) in ROUTE_CODES.items():
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", t) for t in texts for w in words):
            return route
    shown = "; ".join([*(f"{c.system or '?'}|{c.code or '?'}" for c in concept.coding or []),
                       *([concept.text] if concept.text else [])])
    bad("dosage.route", shown, "not a route the ward records: " + ", ".join(
        f"{r} ({medications.ROUTES[r]}, SNOMED CT {c})" for r, (c, _) in ROUTE_CODES.items()))
    return False


def _indication(m: MedicationAdministration, bad: Any) -> tuple[str, str | None] | None:
    """Why the dose was given (decision F12): from ``reasonCode``, CRS by ICD-10-CM D89.83x,
    ICANS by G92.0x, the others by our indication code system; CRS and ICANS together are
    both. Returns (indication, what was sent but not read) - a code of another system, an
    ICD-10-CM code that is not CRS or ICANS, a text alone or a ``reasonReference`` is "not
    stated", never guessed, and said; None (refused, through ``bad``): a code of our system we
    do not have, or reasons that contradict each other."""
    found: set[str] = set()
    unread: list[str] = []
    for n, concept in enumerate(m.reasonCode or []):
        mapped = False
        for c in concept.coding or []:
            if c.system == INDICATION_SYSTEM:
                if c.code not in INDICATION_CODES:
                    bad(f"reasonCode[{n}].coding", f"{c.system}|{c.code or ''}",
                        "not a code of the ward's indication system: one of "
                        + ", ".join(INDICATION_CODES))
                    return None
                found.add(INDICATION_CODES[c.code])
                mapped = True
            elif c.system == ICD10CM and any((c.code or "").upper().startswith(prefix)
                                             for prefix in INDICATION_ICD):
                found.add(next(v for k, v in INDICATION_ICD.items()
                               if (c.code or "").upper().startswith(k)))
                mapped = True
        if not mapped:
            unread.append("; ".join([*(f"{c.system or '?'}|{c.code or '?'}"
                                       for c in concept.coding or []),
                                     *([repr(concept.text)] if concept.text else [])]) or "empty")
    if m.reasonReference:
        unread.append("reasonReference " + ", ".join(
            r.reference or "?" for r in m.reasonReference))
    if len(found) > 1:  # a stated reason beside "not stated": the stated one
        found.discard(medications.NOT_STATED)
    if found == {"crs", "icans"}:
        found = {"crs_icans"}
    if len(found) > 1:
        bad("reasonCode", ", ".join(sorted(found)), "reasons that contradict each other ("
            + ", ".join(medications.INDICATIONS[x] for x in sorted(found)) + "): send the one "
            "the dose was given for (CRS and ICANS together are read as both)")
        return None
    note = None
    if unread:
        note = ("reason not read (" + " / ".join(unread) + "): only ICD-10-CM D89.83x (CRS), "
                "G92.0x (ICANS) and the ward's indication codes are read")
    return (found.pop() if found else medications.NOT_STATED), note


def _subject(ref: str | None, bad: Any) -> str | None:
    if not ref or not ref.startswith("Patient/") or len(ref) <= 8:
        bad("subject.reference", ref or "", "must refer to a Patient as Patient/<id>")
        return None
    return ref[8:]


def _aware(at: Any, element: str, bad: Any) -> datetime | None:
    if not isinstance(at, datetime) or at.tzinfo is None:
        bad(element, at or "", "needs a date and time with its offset "
            "(e.g. 2026-03-01T14:05:00+01:00)")
        return None
    return at


def medication(m: MedicationAdministration, source: str, where: str, bad: Any
               ) -> MedicationResource | None:
    """A MedicationAdministration as the medications page would record it, else None with
    every problem said through ``bad``."""
    status = m.status
    if status in MED_REFUSED:
        bad("status", status, MED_REFUSED[status])
        return None
    if status not in (*MED_RECORDED, *MED_NOT_GIVEN, IN_ERROR):
        bad("status", status or "", "allowed: completed, in-progress (recorded), not-done "
            "(not given: nothing recorded), entered-in-error")
        return None
    subject = _subject(m.subject.reference if m.subject is not None else None, bad)
    if m.effectiveDateTime is not None:
        at = _aware(m.effectiveDateTime, "effectiveDateTime", bad)
    else:
        start = m.effectivePeriod.start if m.effectivePeriod is not None else None
        at = _aware(start, "effectivePeriod.start", bad)
    if m.medicationCodeableConcept is None:
        bad("medicationReference", getattr(m.medicationReference, "reference", "") or "",
            "a referenced Medication is not read: send medicationCodeableConcept (an RxNorm "
            "code or the drug's name)")
        return None
    kind = _drug(m.medicationCodeableConcept, bad)
    if subject is None or at is None or kind is None:
        return None
    check = bad if status != IN_ERROR else (lambda *_: None)
    dose = _dose(m, kind, check)
    route = _route(m, check)
    why = _indication(m, check)
    if status != IN_ERROR and why is None:
        return None
    indication, unread = why or (medications.NOT_STATED, None)
    if dose is None or route is False:
        if status != IN_ERROR:
            return None
        dose, route = (None, None, "dosage"), None
    amount, unit, dose_element = dose
    note = None
    if status != IN_ERROR:
        try:
            note = medications.check_dose(kind, amount, unit, route)  # type: ignore[arg-type]
        except medications.DoseError as e:
            field, _, why = str(e).partition(": ")
            element = {"dose": dose_element, "route": "dosage.route",
                       "unit": dose_element}.get(field, "medicationCodeableConcept")
            shown = {"route": route, "unit": unit}.get(field, amount)
            bad(element, "" if shown is None else f"{shown:.10g}" if isinstance(shown, float)
                else str(shown), why)
            return None
    return MedicationResource(m.id, source, status, subject, at, kind, amount, unit,
                              route if isinstance(route, str) else None, where, note,
                              indication, unread)


def is_lab(o: Observation) -> bool:
    """A LOINC code of the analyte table; or category laboratory without a vital-sign code
    (then refused by ``lab`` as a test the ward does not record, never dropped)."""
    table = by_loinc()
    loinc = [c.code for c in (o.code.coding or [] if o.code else []) if c.system == LOINC]
    if any(c in table for c in loinc):
        return True
    return any((c.system, c.code) == LAB_CATEGORY for cat in o.category or []
               for c in cat.coding or []) and not any(c in VITAL_CODES for c in loinc)


def lab(o: Observation, source: str, where: str, bad: Any) -> LabResource | None:
    """A lab Observation as the lab page would record it, else None (said through ``bad``).
    Statuses as the vital signs (F2, F4)."""
    if o.status not in (*CHARTED, IN_ERROR):
        bad("status", o.status, "allowed: " + ", ".join((*CHARTED, IN_ERROR))
            + " (a preliminary or cancelled result is not recorded)")
        return None
    subject = _subject(o.subject.reference if o.subject is not None else None, bad)
    at = _aware(o.effectiveDateTime or o.effectiveInstant, "effectiveDateTime", bad)
    table = by_loinc()
    codes = [c.code for c in (o.code.coding or [] if o.code else []) if c.system == LOINC]
    tests = list(dict.fromkeys(table[c] for c in codes if c in table))
    if not tests:
        shown = ", ".join(f"{c.system or '?'}|{c.code or '?'}"
                          for c in (o.code.coding or [] if o.code else []))
        bad("code", shown, "a laboratory Observation of a test the ward does not record (by "
            "LOINC); it records " + recorded_labs())
        return None
    if len(tests) > 1:
        bad("code", ", ".join(codes), "names more than one test: send one per Observation")
        return None
    if subject is None or at is None:
        return None
    test = tests[0]
    a = lab_units.ANALYTES[test]
    q = o.valueQuantity
    if q is None or q.value is None:
        if o.status == IN_ERROR:
            return LabResource(o.id, source, o.status, subject, at, test, 0.0, a.canonical,
                               where)
        bad("valueQuantity", "", f"no value: {a.words} needs a valueQuantity in UCUM "
            + " or ".join(u for u, ours in LAB_UNITS_UCUM.items() if ours in a.factors))
        return None
    unit = _ucum(q, "valueQuantity", LAB_UNITS_UCUM, list(a.factors), a.words, bad)
    if unit is None:
        return None
    value = _number(q.value)
    note = None
    if o.status != IN_ERROR:
        try:
            lab_units.check_value(test, value, unit)
        except lab_units.LabUnitError as e:
            bad("valueQuantity.value", f"{value:.10g}", str(e))
            return None
        note = lab_units.unusual(test, value, unit)
    return LabResource(o.id, source, o.status, subject, at, test, value, unit, where, note)
