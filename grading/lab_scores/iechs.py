"""IEC-HS screening flag (spec §5.4): "n/5 core features" with a prompt for haematology
review. Never a grade: the ASTCT IEC-HS grading table (Hines MR, et al. Transplant Cell Ther.
2023;29(7):438.e1-438.e16) is recalled only [R] and is not implemented.

Core features [R]: ferritin > 2 x ULN or > 2 x the value at infusion (and/or rising quickly);
ALT/AST > 5 x ULN (normal baseline) or > 5 x baseline (abnormal baseline); fibrinogen < 150 mg/dL
or below the lower limit of normal; haemophagocytosis in marrow or tissue; new, worsening or
refractory cytopenias. Reference limits are site settings with the defaults below (L12): the
analyte table's default adult reference range, or the site's range for the patient (M2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..instants import elapsed, shifted
from ..words import lab_name, lab_value
from .labs import LabValue, latest
from .units import ANALYTES


def _upper(test: str) -> float:
    return float(ANALYTES[test].reference[1] or 0.0)


def _lower(test: str) -> float:
    return float(ANALYTES[test].reference[0] or 0.0)


SOURCE = ("Hines MR, Knight TE, McNerney KO, et al. Immune effector cell-associated "
          "hemophagocytic lymphohistiocytosis-like syndrome. Transplant Cell Ther. "
          "2023;29(7):438.e1-438.e16 (screening only)")
CURRENT = timedelta(hours=72)        # a lab older than this is not a current finding
BASELINE_BEFORE = timedelta(days=7)  # the value "at infusion": the latest in the week before
RISING_WITHIN = timedelta(hours=48)  # ferritin doubling within 48 h = rising quickly
PROMPT_FROM = 2                      # core features present -> prompt haematology review
# Site reference limits (defaults [I]): upper limits of normal, fibrinogen lower limit, and
# the counts below which a cytopenia is counted (CTCAE grade 3).
# The limits of normal are the analyte table's default adult reference range (decision M2);
# the ward passes the site's range for the patient's age (``reference_ranges.iechs_limits``).
LIMITS: dict[str, float] = {
    "ferritin_uln": _upper("ferritin"), "alt_uln": _upper("alt"), "ast_uln": _upper("ast"),
    "fibrinogen_lln": _lower("fibrinogen"),
    "anc_below": 1000.0, "haemoglobin_below": 8.0, "platelets_below": 50.0,
}
FIBRINOGEN_LOW_MG_DL = 150.0
REFRACTORY_FROM_DAY = 14
CORE = ("ferritin", "transaminases", "fibrinogen", "haemophagocytosis", "cytopenias")


@dataclass(frozen=True)
class Feature:
    name: str
    present: bool | None       # None: not recorded (no current value)
    finding: str


@dataclass(frozen=True)
class Screening:
    features: tuple[Feature, ...]
    present: int
    prompt: bool
    text: str


def _baseline(labs: Sequence[LabValue], test: str, infusion: datetime | None
              ) -> LabValue | None:
    if infusion is None:
        return None
    return latest(labs, test, infusion, shifted(infusion, -BASELINE_BEFORE))


def _ferritin(labs: Sequence[LabValue], now: datetime, infusion: datetime | None,
              limits: Mapping[str, float]) -> Feature:
    x = latest(labs, "ferritin", now, shifted(now, -CURRENT))
    if x is None:
        return Feature("ferritin", None, "no ferritin in the last 72 h")
    uln = limits["ferritin_uln"]
    base = _baseline(labs, "ferritin", infusion)
    earlier = [y for y in labs if y.test == "ferritin"
               and timedelta(0) < elapsed(x.time, y.time) <= RISING_WITHIN]
    why = []
    if x.value > 2 * uln:
        why.append(f"> 2 x ULN ({uln:g})")
    if base is not None and x.value > 2 * base.value:
        why.append(f"> 2 x the value at infusion ({lab_value(base.value, 'ferritin')})")
    if any(x.value >= 2 * y.value for y in earlier):
        why.append("doubled within 48 h")
    return Feature("ferritin", bool(why), f"ferritin {lab_value(x.value, 'ferritin')} ng/mL"
                   + (": " + ", ".join(why) if why else ""))


def _transaminases(labs: Sequence[LabValue], now: datetime, infusion: datetime | None,
                   limits: Mapping[str, float]) -> Feature:
    found, words = False, []
    for test in ("alt", "ast"):
        x = latest(labs, test, now, shifted(now, -CURRENT))
        if x is None:
            continue
        uln = limits[f"{test}_uln"]
        base = _baseline(labs, test, infusion)
        limit, basis = ((5 * base.value, f"5 x baseline {lab_value(base.value, test)}")
                        if base is not None and base.value > uln else (5 * uln, f"5 x ULN {uln:g}"))
        hit = x.value > limit
        found |= hit
        words.append(f"{test.upper()} {lab_value(x.value, test)} U/L "
                     f"({'>' if hit else '<='} {basis})")
    if not words:
        return Feature("transaminases", None, "no ALT or AST in the last 72 h")
    return Feature("transaminases", found, "; ".join(words))


def _fibrinogen(labs: Sequence[LabValue], now: datetime, limits: Mapping[str, float]) -> Feature:
    x = latest(labs, "fibrinogen", now, shifted(now, -CURRENT))
    if x is None:
        return Feature("fibrinogen", None, "no fibrinogen in the last 72 h")
    lln = max(limits["fibrinogen_lln"], FIBRINOGEN_LOW_MG_DL)
    low = x.value < lln
    return Feature("fibrinogen", low, f"fibrinogen {lab_value(x.value, 'fibrinogen')} mg/dL"
                   + (f" (< {lln:g})" if low else ""))


def _cytopenias(labs: Sequence[LabValue], now: datetime, infusion: datetime | None,
                day: int | None, limits: Mapping[str, float]) -> Feature:
    words, found, seen = [], False, False
    for test, unit in (("anc", "/µL"), ("haemoglobin", "g/dL"), ("platelets", "10^9/L")):
        x = latest(labs, test, now, shifted(now, -CURRENT))
        if x is None:
            continue
        seen = True
        if x.value >= limits[f"{test}_below"]:
            continue
        base = _baseline(labs, test, infusion)
        if base is None or x.value < base.value:
            why = "new or worse than at infusion"
        elif day is not None and day >= REFRACTORY_FROM_DAY:
            why = f"refractory (day +{day})"
        else:
            continue
        found = True
        words.append(f"{lab_name(test)} {lab_value(x.value, test)} {unit} ({why})")
    if not seen:
        return Feature("cytopenias", None, "no blood count in the last 72 h")
    return Feature("cytopenias", found, "; ".join(words) if words else "no new, worsening or "
                   "refractory cytopenia")


def screen(labs: Sequence[LabValue], now: datetime, infusion: datetime | None,
           day: int | None, limits: Mapping[str, float] | None = None) -> Screening:
    lim = {**LIMITS, **(limits or {})}
    features = (
        _ferritin(labs, now, infusion, lim),
        _transaminases(labs, now, infusion, lim),
        _fibrinogen(labs, now, lim),
        Feature("haemophagocytosis", None, "marrow or tissue finding: not a structured input "
                "(record it in a note)"),
        _cytopenias(labs, now, infusion, day, lim),
    )
    n = sum(1 for f in features if f.present)
    unknown = [f.name for f in features if f.present is None]
    prompt = n >= PROMPT_FROM
    text = f"IEC-HS features present: {n}/5 core" + (
        f" ({', '.join(unknown)} not recorded)" if unknown else "")
    if prompt:
        text += (": ask haematology to review for IEC-HS (screening flag, not a diagnosis or "
                 "a grade)")
    return Screening(features, n, prompt, text)
