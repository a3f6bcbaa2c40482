"""Penn (UPenn/CHOP) CRS scale, spec §3.3.

Source: Porter D, Frey N, Wood PA, Weng Y, Grupp SA. Grading of cytokine release syndrome
associated with the CAR T cell therapy tisagenlecleucel. J Hematol Oncol. 2018;11:35.
Fever is not required. Any supplemental O2 is grade 3; a single fluid bolus is read as grade 2
and multiple boluses as grade 3 (decision X17); IV therapy other than boluses for BP (grade 2)
and FFP / cryoprecipitate / fibrinogen (grade 3) count for 24 h (X10).
"""

from __future__ import annotations

from .common import (
    Criterion,
    ScaleGrade,
    combine,
    event_domain,
    fever_state,
    hypotension_state,
    organ_domain,
    oxygen_state,
    state_domain,
    table,
)
from .inputs import ScaleInputs

SCALE = "penn"
TITLE = "Penn"
SOURCE = ("Porter D, Frey N, Wood PA, Weng Y, Grupp SA. Grading of cytokine release syndrome "
          "associated with the CAR T cell therapy tisagenlecleucel. J Hematol Oncol. 2018;11:35")

CRITERIA = table((
    Criterion("PENN-1", 1, "mild reaction, supportive care only (fever)"),
    Criterion("PENN-2-ORGAN", 2, "organ dysfunction: grade 2 creatinine or grade 3 LFTs (other "
                                 "organs: grade 2)"),
    Criterion("PENN-2-IV", 2, "IV therapy for CRS other than fluid resuscitation for BP"),
    Criterion("PENN-2-BP", 2, "hypotension with a single fluid bolus or untreated (the source's "
                              "1-2; the ward's reading)"),
    Criterion("PENN-3-BP", 3, "hypotension treated with multiple fluid boluses or low-dose "
                              "vasopressors"),
    Criterion("PENN-3-O2", 3, "hypoxia needing any supplemental O2 (nasal cannula, high-flow, "
                              "CPAP or BiPAP)"),
    Criterion("PENN-3-ORGAN", 3, "organ dysfunction: grade 4 LFTs or grade 3 creatinine (other "
                                 "organs: grade 3)"),
    Criterion("PENN-3-COAG", 3, "coagulopathy needing FFP, cryoprecipitate or fibrinogen "
                                "concentrate"),
    Criterion("PENN-4-BP", 4, "hypotension needing high-dose vasopressors"),
    Criterion("PENN-4-VENT", 4, "hypoxia needing mechanical ventilation"),
    Criterion("PENN-4-ORGAN", 4, "life-threatening (grade 4) organ toxicity other than LFTs "
                                 "(the ward's reading)"),
    Criterion("PENN-5", 5, "death"),
))
FEVER = {"fever": "PENN-1", "no_fever": None, "fever_attributed": None}
HYPOTENSION = {"none": None, "attributed": None, "untreated": "PENN-2-BP",
               "fluid_bolus": "PENN-2-BP", "fluid_boluses": "PENN-3-BP",
               "one_low": "PENN-3-BP", "multiple_low": "PENN-3-BP",
               "one_high": "PENN-4-BP", "multiple_high": "PENN-4-BP"}
OXYGEN = {"room_air": None, "attributed": None, "fio2_below_40": "PENN-3-O2",
          "fio2_not_recorded": "PENN-3-O2", "fio2_40_or_more": "PENN-3-O2",
          "noninvasive": "PENN-3-O2", "invasive": "PENN-4-VENT"}
#        CTCAE grade:  0     1     2               3               4
ORGAN = {"transaminitis": (None, None, None, "PENN-2-ORGAN", "PENN-3-ORGAN"),
         "creatinine": (None, None, "PENN-2-ORGAN", "PENN-3-ORGAN", "PENN-4-ORGAN"),
         "other_organ": (None, None, "PENN-2-ORGAN", "PENN-3-ORGAN", "PENN-4-ORGAN")}


def grade(x: ScaleInputs) -> ScaleGrade:
    return combine(SCALE, TITLE, x, (
        state_domain("fever", fever_state(x), FEVER, CRITERIA, "temperature"),
        state_domain("hypotension", hypotension_state(x), HYPOTENSION, CRITERIA,
                     "blood pressure or vasopressors"),
        state_domain("oxygen", oxygen_state(x), OXYGEN, CRITERIA, "oxygen support"),
        organ_domain(x, ORGAN, CRITERIA),
        event_domain("iv_therapy", x.iv_therapy, CRITERIA["PENN-2-IV"],
                     "IV therapy for CRS in the last 24 h"),
        event_domain("coagulopathy", x.coagulation_products, CRITERIA["PENN-3-COAG"],
                     "FFP, cryoprecipitate or fibrinogen in the last 24 h"),
    ), CRITERIA["PENN-5"])
