"""CARTOX (MD Anderson) CRS scale, spec §3.5; paediatric CARTOX (Mahadeo 2019) for under-18s.

Source: Neelapu SS, Tummala S, Kebriaei P, et al. Chimeric antigen receptor T-cell therapy -
assessment and management of toxicities. Nat Rev Clin Oncol. 2018;15(1):47-62; paediatric:
Mahadeo KM, et al. Nat Rev Clin Oncol. 2019;16:45-63 (BiPAP grade 3, invasive ventilation 4,
age-based hypotension thresholds of spec §1.6). The grade is the most severe feature.
"""

from __future__ import annotations

from .common import (
    Criterion,
    ScaleGrade,
    combine,
    fever_state,
    hypotension_state,
    organ_domain,
    oxygen_state,
    state_domain,
    table,
)
from .inputs import ScaleInputs

SCALE = "cartox"
TITLE = "CARTOX"
SOURCE = ("Neelapu SS, Tummala S, Kebriaei P, et al. Chimeric antigen receptor T-cell therapy - "
          "assessment and management of toxicities. Nat Rev Clin Oncol. 2018;15:47-62; "
          "children: Mahadeo KM, et al. Nat Rev Clin Oncol. 2019;16:45-63")
CHILD_BELOW_YEARS = 18  # paediatric CARTOX; unknown age reads as adult (decision X20)

CRITERIA = table((
    Criterion("CARTOX-1", 1, "temperature >= 38 °C"),
    Criterion("CARTOX-1-ORGAN", 1, "grade 1 organ toxicity"),
    Criterion("CARTOX-2-BP", 2, "hypotension responding to IV fluids or a low-dose vasopressor"),
    Criterion("CARTOX-2-O2", 2, "O2 at FiO2 < 40 % to keep SpO2 > 90 %"),
    Criterion("CARTOX-2-ORGAN", 2, "grade 2 organ toxicity"),
    Criterion("CARTOX-3-BP", 3, "hypotension needing high-dose or multiple vasopressors"),
    Criterion("CARTOX-3-O2", 3, "O2 at FiO2 >= 40 %"),
    Criterion("CARTOX-3-NIV", 3, "BiPAP / CPAP (paediatric CARTOX: grade 3)"),
    Criterion("CARTOX-3-ORGAN", 3, "grade 3 organ toxicity or grade 4 transaminitis"),
    Criterion("CARTOX-4-VENT", 4, "ventilator support needed (adults: BiPAP / CPAP included)"),
    Criterion("CARTOX-4-ORGAN", 4, "grade 4 organ toxicity (transaminitis excluded)"),
    Criterion("CARTOX-5", 5, "death"),
))
FEVER = {"fever": "CARTOX-1", "no_fever": None, "fever_attributed": None}
HYPOTENSION = {"none": None, "attributed": None, "untreated": "CARTOX-2-BP",
               "fluid_bolus": "CARTOX-2-BP", "fluid_boluses": "CARTOX-2-BP",
               "one_low": "CARTOX-2-BP", "one_high": "CARTOX-3-BP",
               "multiple_low": "CARTOX-3-BP", "multiple_high": "CARTOX-3-BP"}
OXYGEN = {"room_air": None, "attributed": None, "fio2_below_40": "CARTOX-2-O2",
          "fio2_not_recorded": "CARTOX-2-O2", "fio2_40_or_more": "CARTOX-3-O2",
          "noninvasive": "CARTOX-4-VENT", "invasive": "CARTOX-4-VENT"}
OXYGEN_CHILD = OXYGEN | {"noninvasive": "CARTOX-3-NIV"}
#        CTCAE grade:  0     1                 2                 3                 4
ORGAN = {"transaminitis": (None, "CARTOX-1-ORGAN", "CARTOX-2-ORGAN", "CARTOX-3-ORGAN",
                           "CARTOX-3-ORGAN"),
         "creatinine": (None, "CARTOX-1-ORGAN", "CARTOX-2-ORGAN", "CARTOX-3-ORGAN",
                        "CARTOX-4-ORGAN"),
         "other_organ": (None, "CARTOX-1-ORGAN", "CARTOX-2-ORGAN", "CARTOX-3-ORGAN",
                         "CARTOX-4-ORGAN")}


def grade(x: ScaleInputs) -> ScaleGrade:
    age = x.astct.age_years
    child = age is not None and age < CHILD_BELOW_YEARS
    return combine(SCALE, TITLE, x, (
        state_domain("fever", fever_state(x), FEVER, CRITERIA, "temperature"),
        state_domain("hypotension", hypotension_state(x), HYPOTENSION, CRITERIA,
                     "blood pressure or vasopressors"),
        state_domain("oxygen", oxygen_state(x), OXYGEN_CHILD if child else OXYGEN, CRITERIA,
                     "oxygen support"),
        organ_domain(x, ORGAN, CRITERIA),
    ), CRITERIA["CARTOX-5"])
