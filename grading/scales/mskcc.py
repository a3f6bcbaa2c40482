"""MSKCC CRS scale, spec §3.4.

Source: Park JH, Rivière I, Gonen M, et al. Long-term follow-up of CD19 CAR therapy in acute
lymphoblastic leukemia. N Engl J Med. 2018;378:449-459 (supplement). Vasopressors graded by the
cumulative time on them in the episode (< 24 h grade 2, >= 24 h grade 3; decision X9) and grade 4
for hypotension refractory to high-dose vasopressors (X19); O2 by FiO2 40 %; non-invasive
positive pressure 3, mechanical ventilation 4. Fluids alone and organ toxicity are not criteria.
"""

from __future__ import annotations

from datetime import timedelta

from ..result import Reason
from .common import (
    Criterion,
    Domain,
    ScaleGrade,
    blood_pressure_low,
    combine,
    duration_text,
    fever_state,
    high_dose_counts_from,
    hypotension_state,
    oxygen_state,
    state_domain,
    table,
)
from .inputs import ScaleInputs

SCALE = "mskcc"
TITLE = "MSKCC"
SOURCE = ("Park JH, Rivière I, Gonen M, et al. Long-term follow-up of CD19 CAR therapy in acute "
          "lymphoblastic leukemia. N Engl J Med. 2018;378:449-459 (supplement)")
LONG_VASOPRESSOR_USE = timedelta(hours=24)

CRITERIA = table((
    Criterion("MSKCC-1", 1, "mild symptoms, observation or supportive care (fever)"),
    Criterion("MSKCC-2-BP", 2, "hypotension needing any vasopressor for < 24 h"),
    Criterion("MSKCC-2-O2", 2, "hypoxia needing O2 < 40 %"),
    Criterion("MSKCC-3-BP", 3, "hypotension needing any vasopressor for >= 24 h"),
    Criterion("MSKCC-3-O2", 3, "hypoxia needing O2 >= 40 % (CPAP / BiPAP counted, the "
              "ward's reading)"),
    Criterion("MSKCC-4-BP", 4, "hypotension refractory to high-dose vasopressors"),
    Criterion("MSKCC-4-VENT", 4, "hypoxia needing mechanical ventilation"),
    Criterion("MSKCC-5", 5, "death"),
))
FEVER = {"fever": "MSKCC-1", "no_fever": None, "fever_attributed": None}
OXYGEN = {"room_air": None, "attributed": None, "fio2_below_40": "MSKCC-2-O2",
          "fio2_not_recorded": "MSKCC-2-O2", "fio2_40_or_more": "MSKCC-3-O2",
          "noninvasive": "MSKCC-3-O2", "invasive": "MSKCC-4-VENT"}


def vasopressor_domain(x: ScaleInputs) -> Domain:
    s, p = x.astct, x.pressors
    state = hypotension_state(x)
    if state.key is None:
        return Domain("hypotension", None, 4, missing="blood pressure or vasopressors")
    if not p.running or state.key == "attributed":
        return Domain("hypotension", 0, 4)
    long = p.hours >= LONG_VASOPRESSOR_USE.total_seconds() / 3600
    crit = CRITERIA["MSKCC-3-BP" if long else "MSKCC-2-BP"]
    names = " + ".join(sorted(p.running))
    since = " (already running at the first assessment: at least)" if p.hours_at_least else ""
    reasons = [Reason(crit.id, f"{names} for {duration_text(p.hours)} in this episode{since} -> "
                      f"{crit.text}: grade {crit.grade}", p.time or s.time)]
    pending: list[tuple[str, int]] = []
    if not long and p.hours_at_least:
        pending.append(("vasopressors started before the first assessment on record: "
                        ">= 24 h not excluded", 3))
    grade = crit.grade
    low = blood_pressure_low(s)
    refractory = CRITERIA["MSKCC-4-BP"]
    if p.high_held(s.time) and low:
        grade = refractory.grade
        reasons.append(Reason(refractory.id, f"high dose held >= 3 h ({p.high.text()}) and "
                              f"blood pressure still low -> {refractory.text}: grade 4",
                              s.bp_time or s.time))
    elif p.high_held(s.time) and low is None:
        pending.append(("on a high dose >= 3 h, blood pressure not recorded: refractory "
                        "hypotension not excluded", 4))
    elif p.high.high and low is not False:
        # X19: a high dose held < 3 h is not yet "high-dose" (spec §1.5), as for Lee and Penn
        bp = "blood pressure low" if low else "blood pressure not recorded"
        pending.append((f"high dose held < 3 h, {bp}: refractory to a high dose from "
                        f"{high_dose_counts_from(x)} if still low", 4))
    elif p.high.high is None:
        pending.append(("dose not known: high-dose vasopressors with refractory hypotension not "
                        "excluded", 4))
    return Domain("hypotension", grade, 4, tuple(reasons), tuple(pending))


def grade(x: ScaleInputs) -> ScaleGrade:
    return combine(SCALE, TITLE, x, (
        state_domain("fever", fever_state(x), FEVER, CRITERIA, "temperature"),
        vasopressor_domain(x),
        state_domain("oxygen", oxygen_state(x), OXYGEN, CRITERIA, "oxygen support"),
    ), CRITERIA["MSKCC-5"])
