"""Guideline prompts, ICU prompts, tocilizumab dose and limits, ICD-10-CM codes (spec §4, §6.2).

Decision support only: the prompts paraphrase published guidance, each names its source, and
none orders or doses anything (spec §4: "local protocols and the product label come first").
Tables first; the functions that pick from them are short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .instants import elapsed, hours_between, instant, is_after
from .result import Grade

ASCO_2021 = ("ASCO guideline 2021 (Santomasso BD et al., J Clin Oncol 2021;39(35):3978-3992), "
             "paraphrased")
SPEC_46 = "ICU prompts: ASCO 2021 and NEWS2 (Royal College of Physicians 2017)"
TOCILIZUMAB_SOURCE = ("tocilizumab dosing: ASCO 2021 (8 mg/kg, max 800 mg, every >= 8 h, <= 3 "
                      "in 24 h, <= 4 in total); < 30 kg 12 mg/kg from the US label for CRS "
                      "(to be checked against the local protocol)")
ASTCT_2019 = "ASTCT consensus grading (Lee DW et al., Biol Blood Marrow Transplant 2019)"
DISCLAIMER = ("Decision support only: these prompts paraphrase published guidance and do not "
              "order or dose anything. The local protocol and the product label come first.")


@dataclass(frozen=True)
class Prompt:
    text: str
    source: str
    kind: str = "step"          # step, icu, dose, warning


# ASCO 2021 (spec §4.1), by CRS grade. Grade 0: nothing to prompt.
CRS_ALL_GRADES = ("Labs: CBC, CMP, Mg, phosphate, CRP, LDH, uric acid, fibrinogen, PT/PTT, "
                  "ferritin. If febrile: blood and urine cultures and a chest X-ray; "
                  "neutropenic-fever pathway if neutropenic.")
CRS_STEPS: dict[int, tuple[str, ...]] = {
    1: ("Supportive care: antipyretics, IV fluids, symptom treatment.",
        "If neutropenic, consider empiric broad-spectrum antibiotics and G-CSF (GM-CSF not "
        "recommended).",
        "Fever persisting > 3 days or refractory: manage as grade 2."),
    2: ("Supportive care as grade 1; continuous cardiac telemetry and pulse oximetry.",
        "Tocilizumab 8 mg/kg IV over 1 h (<= 800 mg a dose), repeatable every 8 h as needed; "
        "at most 3 doses in 24 h and 4 in total.",
        "Not improving despite fluids and tocilizumab: add a corticosteroid (dexamethasone 10 mg "
        "IV); manage as grade 3 if no improvement."),
    3: ("Supportive care as grade 2 plus vasopressors; admit to ICU; echocardiogram if not yet "
        "done; haemodynamic monitoring.",
        "Tocilizumab as grade 2 (if the 24-h maximum is not reached) plus dexamethasone 10 mg IV "
        "every 6 h (or equivalent), tapered quickly once better. Refractory: manage as grade 4."),
    4: ("As grade 3, plus mechanical ventilation as needed; tocilizumab as grade 2 if the 24-h "
        "maximum is not reached.",
        "Methylprednisolone 500 mg IV every 12 h x 3 days, then 250 mg every 12 h x 2 days, "
        "125 mg every 12 h x 2 days, 60 mg every 12 h until CRS <= grade 1. Not improving: "
        "consider methylprednisolone 1,000 mg IV twice daily or other therapy."),
}
CRS_STEPS[5] = ()
ICANS_ALL_GRADES = ("ICE and motor-weakness check at least twice daily; neurology consult; "
                    "aspiration precautions, head of bed raised. MRI (or CT) for grade >= 2; "
                    "EEG for unexplained mental-status change or grade >= 2; LP for grade >= 3 "
                    "(consider for grade 2).")
# (ICANS grade) -> (without CRS, with CRS)
ICANS_STEPS: dict[int, tuple[str, str]] = {
    1: ("Supportive care (IV fluids, aspiration precautions).",
        "Tocilizumab as for CRS; use repeated doses with caution when ICANS is present; "
        "consider adding steroids after the first dose."),
    2: ("Supportive care; for high-risk products or patients consider dexamethasone 10 mg IV x 2 "
        "doses and reassess; repeat every 6-12 h if not improving.",
        "Consider ICU if CRS >= grade 2; tocilizumab; if refractory after the first dose, "
        "dexamethasone 10 mg IV every 6-12 h or methylprednisolone 1 mg/kg IV every 12 h."),
    3: ("ICU for every grade 3. Dexamethasone 10 mg IV every 6-12 h or methylprednisolone "
        "1 mg/kg IV every 12 h.",
        "ICU; tocilizumab; steroids as without CRS if refractory after the first dose."),
    4: ("ICU; protect the airway / ventilate as needed. High-dose methylprednisolone "
        "(1,000 mg/day IV). Seizures: benzodiazepine plus levetiracetam per protocol. Cerebral "
        "oedema: osmotherapy, hyperventilation, neurosurgery consult.",
        "As without CRS, plus tocilizumab if CRS is present."),
    5: ("", ""),
}

# Spec §6.2: ICD-10-CM codes by maximum grade.
CRS_ICD10 = {1: "D89.831", 2: "D89.832", 3: "D89.833", 4: "D89.834", 5: "D89.835"}
CRS_ICD10_UNSPECIFIED = "D89.839"
ICANS_ICD10 = {1: "G92.01", 2: "G92.02", 3: "G92.03", 4: "G92.04", 5: "G92.05"}
ICANS_ICD10_UNSPECIFIED = "G92.00"


def icd10(syndrome: str, grade: int | None, present: bool = False) -> str | None:
    """ICD-10-CM code for a maximum CRS / ICANS grade: by grade 1-5; ``present`` (an episode
    is recorded) with no grade known gives the unspecified code; otherwise None (grade 0, or
    nothing known). The one mapping: the review page, the handover and the summary use it."""
    table = CRS_ICD10 if syndrome == "crs" else ICANS_ICD10
    if grade is None and present:
        return CRS_ICD10_UNSPECIFIED if syndrome == "crs" else ICANS_ICD10_UNSPECIFIED
    return None if grade is None else table.get(grade)


# ------------------------------------------------------------------------------ ICU (§4.6)
@dataclass(frozen=True)
class IcuTrigger:
    what: str
    source: str


def icu_prompts(crs: int | None, icans: int | None, *, seizure: bool = False,
                positive_pressure: bool = False, cerebral_edema: bool = False
                ) -> list[IcuTrigger]:
    """The §4.6 triggers that apply now (NEWS2 >= 7 joins with the escalation issue)."""
    c, i = crs or 0, icans or 0
    rules = (
        (c >= 3, "CRS grade >= 3 (vasopressor, or high-flow / mask oxygen): admit to ICU",
         "ASCO 2021"),
        (i >= 3, "ICANS grade >= 3: ICU for every grade 3", "ASCO 2021"),
        (i == 2 and c >= 2, "ICANS grade 2 with CRS grade >= 2: consider ICU", "ASCO 2021"),
        (seizure, "a seizure: involve the ICU", "ward default following ASCO 2021"),
        (positive_pressure, "positive-pressure ventilation: involve the ICU",
         "ward default following ASCO 2021"),
        (cerebral_edema, "cerebral oedema: involve the ICU", "ward default following ASCO 2021"),
    )
    return [IcuTrigger(what, source) for applies, what, source in rules if applies]


# ------------------------------------------------------------------------------ tocilizumab
TOCILIZUMAB_MG_PER_KG = 8.0            # weight >= 30 kg (spec §4.4 [S])
TOCILIZUMAB_MG_PER_KG_UNDER_30 = 12.0  # weight < 30 kg (US label for CRS, spec §4.4 [R])
TOCILIZUMAB_WEIGHT_SPLIT_KG = 30.0
TOCILIZUMAB_MAX_DOSE_MG = 800.0
TOCILIZUMAB_MIN_INTERVAL = timedelta(hours=8)
TOCILIZUMAB_MAX_PER_24H = 3
TOCILIZUMAB_MAX_TOTAL = 4


def tocilizumab_dose_mg(weight_kg: float) -> tuple[float, str]:
    """The reference dose for a weight, capped at 800 mg, and how it was reached."""
    per_kg = (TOCILIZUMAB_MG_PER_KG_UNDER_30 if weight_kg < TOCILIZUMAB_WEIGHT_SPLIT_KG
              else TOCILIZUMAB_MG_PER_KG)
    raw = per_kg * weight_kg
    dose = min(raw, TOCILIZUMAB_MAX_DOSE_MG)
    how = f"{per_kg:g} mg/kg x {weight_kg:g} kg = {raw:g} mg"
    if raw > TOCILIZUMAB_MAX_DOSE_MG:
        how += f", capped at {TOCILIZUMAB_MAX_DOSE_MG:g} mg a dose"
    return dose, how


def tocilizumab_dose_problem(dose_mg: float, weight_kg: float | None) -> str | None:
    """A tocilizumab dose above the 800 mg cap, or above the reference dose for the weight
    (spec §4.4), in words; None when it is within both."""
    if dose_mg > TOCILIZUMAB_MAX_DOSE_MG:
        return (f"{dose_mg:g} mg is above the {TOCILIZUMAB_MAX_DOSE_MG:g} mg maximum a dose "
                f"({TOCILIZUMAB_SOURCE})")
    if weight_kg:
        reference, how = tocilizumab_dose_mg(weight_kg)
        if dose_mg > reference:
            return (f"{dose_mg:g} mg is above the reference dose {reference:g} mg ({how}; "
                    f"{TOCILIZUMAB_SOURCE})")
    return None


@dataclass(frozen=True)
class TocilizumabCount:
    last_24h: int
    total: int
    last_given: datetime | None
    warnings: tuple[str, ...]


def tocilizumab_count(given: Sequence[datetime], now: datetime) -> TocilizumabCount:
    """Doses in the rolling 24 h and in total, with warnings at the limits (spec §4.4)."""
    past = sorted((t for t in given if not is_after(t, now)), key=instant)
    recent = [t for t in past if elapsed(now, t) < timedelta(hours=24)]
    warnings = []
    if len(recent) >= TOCILIZUMAB_MAX_PER_24H:
        warnings.append(f"{len(recent)} doses in the last 24 h: the limit is "
                        f"{TOCILIZUMAB_MAX_PER_24H} in 24 h")
    if len(past) >= TOCILIZUMAB_MAX_TOTAL:
        warnings.append(f"{len(past)} doses in total: the limit is {TOCILIZUMAB_MAX_TOTAL}")
    if past and elapsed(now, past[-1]) < TOCILIZUMAB_MIN_INTERVAL:
        warnings.append(f"last dose {hours_between(now, past[-1]):.1f} h ago: doses "
                        f"are at least {TOCILIZUMAB_MIN_INTERVAL.total_seconds() / 3600:g} h "
                        "apart")
    return TocilizumabCount(len(recent), len(past), past[-1] if past else None, tuple(warnings))


# ------------------------------------------------------------------------------ prompts
CHILD_NOTE = ("Child: the steps below are ASCO's adult wording; follow the paediatric protocol, "
              "weight-based doses (tocilizumab 12 mg/kg under 30 kg, US label) and CAPD rather "
              "than ICE for neuro checks under 12 years.")


def prompts(crs: int | None, icans: int | None,
            doses: TocilizumabCount | None = None, child: bool = False) -> list[Prompt]:
    """ASCO 2021 steps for the current grades (not-evaluable grades prompt nothing here; the
    page says what is missing). With the tocilizumab dose count, a step that offers another
    dose says so when a limit is reached (spec §4.4: check the history before each prompt)."""
    out: list[Prompt] = []
    if child and (crs or icans):
        out.append(Prompt(CHILD_NOTE, ASCO_2021, "warning"))
    limits = [w for w in (doses.warnings if doses else ()) if not w.startswith("last dose")]
    if crs:
        out.append(Prompt(CRS_ALL_GRADES, ASCO_2021))
        for text in CRS_STEPS[crs]:
            if limits and "ocilizumab" in text:
                out.append(Prompt("Tocilizumab limit reached (" + "; ".join(limits) + "): "
                                  "no further dose by this guideline - the physician decides "
                                  "on other options.", ASCO_2021, "warning"))
                text = text + " [limit reached - see above]"
            out.append(Prompt(text, ASCO_2021))
    if icans:
        out.append(Prompt(ICANS_ALL_GRADES, ASCO_2021))
        without, with_crs = ICANS_STEPS[icans]
        text = with_crs if crs else without
        if text:
            out.append(Prompt(("With CRS: " if crs else "Without CRS: ") + text, ASCO_2021))
    return out


# ------------------------------------------------------------------------------ explanations
def what_would_change(syndrome: str, g: Grade) -> str:
    """For a provisional or not-evaluable grade: what a nurse or physician can do about it."""
    if g.status == "final":
        return ""
    if g.status == "not_evaluable":
        if syndrome == "crs":
            return ("Not evaluable: record a temperature (and blood pressure and SpO2 with the "
                    "oxygen in use); the grade is worked out as soon as they are charted.")
        return ("Not evaluable: record an ICE (or CAPD for a child) with the level of "
                "consciousness, or note that the patient is sedated.")
    missing = "; ".join(f.message for f in g.flags if f.code == "not_recorded") or \
        "a finding needed for the final grade is missing or out of date"
    return (f"Provisional: {missing}. Charting it makes the grade final; a physician can also "
            "confirm the grade.")
