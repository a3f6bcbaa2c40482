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
