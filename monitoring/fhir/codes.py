"""The codes of the FHIR mapping (docs/fhir.md): LOINC vital signs with their UCUM units, and
our own code systems for the neuro items, the oxygen device and what our export computes."""

from __future__ import annotations

from typing import Any

from grading.fields import CONSCIOUSNESS_LEVELS, O2_DEVICES
from grading.rules import fahrenheit_to_celsius

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NEURO_SYSTEM = "https://car-t-ward-monitor.org/fhir/CodeSystem/neuro"  # docs/fhir.md
MAX_FILE_BYTES = 200 * 1024 * 1024
BUNDLE_TYPES = ("collection", "transaction", "searchset", "batch")
# Statuses whose values are charted; entered-in-error marks what an earlier import stored.
CHARTED = ("final", "amended", "corrected")
IN_ERROR = "entered-in-error"

# LOINC code -> (canonical field, {UCUM unit: conversion}); the BP panel is read by components.
_SAME = None
QUANTITIES: dict[str, tuple[str, dict[str, Any]]] = {
    "8310-5": ("temp_c", {"Cel": _SAME, "[degF]": lambda v: float(fahrenheit_to_celsius(v))}),
    "8867-4": ("hr_bpm", {"/min": _SAME}),
    "9279-1": ("rr_per_min", {"/min": _SAME}),
    "59408-5": ("spo2_pct", {"%": _SAME}),
    "2708-6": ("spo2_pct", {"%": _SAME}),
    "3151-8": ("o2_flow_l_min", {"L/min": _SAME}),
    "3150-0": ("fio2_pct", {"%": _SAME}),
    "29463-7": ("weight_kg", {"kg": _SAME}),
    "8480-6": ("sbp_mmhg", {"mm[Hg]": _SAME}),
    "8462-4": ("dbp_mmhg", {"mm[Hg]": _SAME}),
}
BP_PANEL = "85354-9"
BP_PARTS = ("8480-6", "8462-4")
NEURO_INTEGERS = {"ice-orientation": "ice_orientation", "ice-naming": "ice_naming",
                  "ice-commands": "ice_commands", "ice-writing": "ice_writing",
                  "ice-attention": "ice_attention", "capd-total": "capd_total"}
# coded items of our system: code -> (canonical field, the codes its value may take)
LOCAL_CHOICES = {"consciousness": ("consciousness", CONSCIOUSNESS_LEVELS),
                 "o2-device": ("o2_device", O2_DEVICES)}
GRADE_SYSTEM = "https://car-t-ward-monitor.org/fhir/CodeSystem/grade"
# the meta.tag our export puts on what it computed (grades, episodes, flags)
DERIVED = (GRADE_SYSTEM, "derived")

# ------------------------------------------------------------------ medications (docs/fhir.md)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
# kind of monitoring/medications.py DRUGS -> (RxNorm ingredient RxCUIs, words matched
# case-insensitively as whole words in medicationCodeableConcept.text / coding.display:
# the drug, its other names and common brand names). The RxCUIs are the ingredient (TTY IN)
# concepts; a site checks them against its own RxNorm release (docs/fhir.md).
MEDICATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tocilizumab": (("612865",), ("tocilizumab", "actemra", "roactemra", "tyenne",
                                      "tofidence", "avtozma")),
    "anakinra": (("72435",), ("anakinra", "kineret")),
    "siltuximab": (("1535218",), ("siltuximab", "sylvant")),
    "dexamethasone": (("3264",), ("dexamethasone", "decadron")),
    "methylprednisolone": (("6902",), ("methylprednisolone", "solu-medrol", "medrol")),
    "paracetamol": (("161",), ("paracetamol", "acetaminophen", "tylenol", "ofirmev",
                               "panadol")),
    "ibuprofen": (("5640",), ("ibuprofen", "advil", "motrin", "nurofen", "caldolor")),
    "noradrenaline": (("7512",), ("noradrenaline", "norepinephrine", "levophed",
                                  "levarterenol")),
    "vasopressin": (("11149",), ("vasopressin", "vasostrict", "argipressin")),
    "adrenaline": (("3992",), ("adrenaline", "epinephrine")),
    "phenylephrine": (("8163",), ("phenylephrine",)),
    "dopamine": (("3628",), ("dopamine",)),
}
# MedicationAdministration.status (decision F6): recorded; withdrawn; not given; refused
MED_RECORDED = ("completed", "in-progress")
MED_NOT_GIVEN = ("not-done",)
MED_REFUSED = {
    "stopped": "stopped before all of it was given: the amount given is not known; record "
               "what was given on the medications page",
    "on-hold": "on hold: part of it may have been given; record what was given on the "
               "medications page",
    "unknown": "the source does not know whether it was given; record what was given on "
               "the medications page",
}
# UCUM code -> the unit of monitoring/medications.py (a drug records some of them only)
DOSE_UNITS = {"mg": "mg", "g": "g", "ug": "µg", "mL": "mL", "ug/kg/min": "µg/kg/min",
              "ug/min": "µg/min", "[iU]/min": "units/min", "[IU]/min": "units/min",
              "[USP'U]/min": "units/min", "U/min": "units/min"}
DOSE_UNITS_OUT = {"mg": "mg", "g": "g", "µg": "ug", "mL": "mL", "µg/kg/min": "ug/kg/min",
                  "µg/min": "ug/min", "units/min": "[iU]/min"}
# route of monitoring/medications.py ROUTES -> (SNOMED CT code, words in text / display)
ROUTE_CODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "IV": ("47625008", ("intravenous", "iv")),
    "SC": ("34206005", ("subcutaneous", "sc", "sq", "subcut")),
    "PO": ("26643006", ("oral", "po", "by mouth", "enteral")),
    "PR": ("37161004", ("rectal", "pr")),
    "IM": ("78421000", ("intramuscular", "im")),
}

# ------------------------------------------------------------------ why a dose was given
# MedicationAdministration.reasonCode (decision F12, docs/fhir.md): CRS and ICANS by their
# ICD-10-CM codes (the Condition export's, D89.83x and G92.0x: any grade, or the category),
# the other indications of monitoring/medications.py by our own code system.
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
INDICATION_SYSTEM = "https://car-t-ward-monitor.org/fhir/CodeSystem/indication"
# ICD-10-CM code prefix -> indication (D89.83 and D89.831-835, D89.839; G92.0 and G92.00-05)
INDICATION_ICD = {"D89.83": "crs", "G92.0": "icans"}
# what our export sends for each syndrome: the grade-unspecified code
INDICATION_ICD_OUT = {"crs": ("D89.839", "Cytokine release syndrome, grade unspecified"),
                      "icans": ("G92.00", "Immune effector cell-associated neurotoxicity "
                                          "syndrome, grade unspecified")}
# our code -> indication (CRS and ICANS together are two reasonCodes, one of each)
INDICATION_CODES = {"crs": "crs", "icans": "icans", "iec-hs": "iec_hs",
                    "prophylaxis": "prophylaxis", "other": "other", "not-stated": "not_stated"}

# ------------------------------------------------------------------ labs (docs/fhir.md)
LAB_CATEGORY = ("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")
# UCUM code -> the unit spelling of grading/lab_scores/units.py (the analyte accepts some)
LAB_UNITS_UCUM = {
    "mg/L": "mg/L", "mg/dL": "mg/dL", "ng/mL": "ng/mL", "ug/L": "ug/L", "U/L": "U/L",
    "[IU]/L": "IU/L", "[iU]/L": "IU/L", "ukat/L": "ukat/L", "10*9/L": "10^9/L",
    "10*3/uL": "10^9/L", "/uL": "/uL", "/mm3": "/uL", "{cells}/uL": "/uL",
    "umol/L": "umol/L", "g/dL": "g/dL", "g/L": "g/L", "mmol/L": "mmol/L", "pg/mL": "pg/mL",
    "ng/L": "ng/L", "ug/mL{FEU}": "ug/mL FEU", "mg/L{FEU}": "mg/L FEU",
    "ng/mL{FEU}": "ng/mL FEU",
}
