"""Lee 2014 CRS scale ("NCI / Lee criteria"), spec §3.1.

Source: Lee DW, Gardner R, Porter DL, et al. Current concepts in the diagnosis and management of
cytokine release syndrome. Blood. 2014;124(2):188-195. Fever is not required; O2 requirement is
FiO2 (40 %); high-dose vasopressors per spec §1.5; organ toxicity by CTCAE (v4.0 in the source).
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

SCALE = "lee2014"
TITLE = "Lee 2014"
SOURCE = ("Lee DW, Gardner R, Porter DL, et al. Current concepts in the diagnosis and "
          "management of cytokine release syndrome. Blood. 2014;124(2):188-195")

CRITERIA = table((
    Criterion("LEE-1", 1, "symptoms only, not life-threatening (fever)"),
    Criterion("LEE-1-ORGAN", 1, "grade 1 organ toxicity (not life-threatening)"),
    Criterion("LEE-2-O2", 2, "O2 requirement < 40 %"),
    Criterion("LEE-2-BP", 2, "hypotension responsive to fluids or one low-dose vasopressor"),
    Criterion("LEE-2-ORGAN", 2, "grade 2 organ toxicity"),
    Criterion("LEE-3-O2", 3, "O2 requirement >= 40 %"),
    Criterion("LEE-3-BP", 3, "hypotension needing high-dose or multiple vasopressors"),
    Criterion("LEE-3-ORGAN", 3, "grade 3 organ toxicity or grade 4 transaminitis"),
    Criterion("LEE-4-VENT", 4, "ventilator support (CPAP and BiPAP counted, the ward's reading)"),
    Criterion("LEE-4-ORGAN", 4, "grade 4 organ toxicity (transaminitis excluded)"),
    Criterion("LEE-5", 5, "death"),
))
FEVER = {"fever": "LEE-1", "no_fever": None, "fever_attributed": None}
HYPOTENSION = {"none": None, "attributed": None, "untreated": "LEE-2-BP",
               "fluid_bolus": "LEE-2-BP", "fluid_boluses": "LEE-2-BP", "one_low": "LEE-2-BP",
               "one_high": "LEE-3-BP", "multiple_low": "LEE-3-BP", "multiple_high": "LEE-3-BP"}
OXYGEN = {"room_air": None, "attributed": None, "fio2_below_40": "LEE-2-O2",
          "fio2_not_recorded": "LEE-2-O2", "fio2_40_or_more": "LEE-3-O2",
          "noninvasive": "LEE-4-VENT", "invasive": "LEE-4-VENT"}
#        CTCAE grade:  0     1              2              3              4
ORGAN = {"transaminitis": (None, "LEE-1-ORGAN", "LEE-2-ORGAN", "LEE-3-ORGAN", "LEE-3-ORGAN"),
         "creatinine": (None, "LEE-1-ORGAN", "LEE-2-ORGAN", "LEE-3-ORGAN", "LEE-4-ORGAN"),
         "other_organ": (None, "LEE-1-ORGAN", "LEE-2-ORGAN", "LEE-3-ORGAN", "LEE-4-ORGAN")}


def grade(x: ScaleInputs) -> ScaleGrade:
    return combine(SCALE, TITLE, x, (
        state_domain("fever", fever_state(x), FEVER, CRITERIA, "temperature"),
        state_domain("hypotension", hypotension_state(x), HYPOTENSION, CRITERIA,
                     "blood pressure or vasopressors"),
        state_domain("oxygen", oxygen_state(x), OXYGEN, CRITERIA, "oxygen support"),
        organ_domain(x, ORGAN, CRITERIA),
    ), CRITERIA["LEE-5"])
