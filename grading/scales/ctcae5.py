"""CTCAE v5.0 "Cytokine release syndrome" (Immune system disorders), spec §3.2.

Source: National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) v5.0,
2017. No organ-toxicity criterion; "life-threatening consequences; urgent intervention
indicated" is read as multiple vasopressors or positive-pressure support (decision X16).
"""

from __future__ import annotations

from .common import (
    Criterion,
    ScaleGrade,
    combine,
    fever_state,
    hypotension_state,
    oxygen_state,
    state_domain,
    table,
)
from .inputs import ScaleInputs

SCALE = "ctcae5"
TITLE = "CTCAE v5.0"
SOURCE = ("National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) "
          "v5.0. 2017")

CRITERIA = table((
    Criterion("CTCAE-1", 1, "fever, with or without constitutional symptoms"),
    Criterion("CTCAE-2-BP", 2, "hypotension responding to fluids"),
    Criterion("CTCAE-2-O2", 2, "hypoxia responding to < 40 % O2"),
    Criterion("CTCAE-3-BP", 3, "hypotension managed with one pressor"),
    Criterion("CTCAE-3-O2", 3, "hypoxia needing >= 40 % O2"),
    Criterion("CTCAE-4-BP", 4, "life-threatening, urgent intervention: multiple pressors "
                               "(the ward's reading)"),
    Criterion("CTCAE-4-VENT", 4, "life-threatening, urgent intervention: positive-pressure or "
                                 "ventilator support (the ward's reading)"),
    Criterion("CTCAE-5", 5, "death"),
))
FEVER = {"fever": "CTCAE-1", "no_fever": None, "fever_attributed": None}
HYPOTENSION = {"none": None, "attributed": None, "untreated": "CTCAE-2-BP",
               "fluid_bolus": "CTCAE-2-BP", "fluid_boluses": "CTCAE-2-BP",
               "one_low": "CTCAE-3-BP", "one_high": "CTCAE-3-BP",
               "multiple_low": "CTCAE-4-BP", "multiple_high": "CTCAE-4-BP"}
OXYGEN = {"room_air": None, "attributed": None, "fio2_below_40": "CTCAE-2-O2",
          "fio2_not_recorded": "CTCAE-2-O2", "fio2_40_or_more": "CTCAE-3-O2",
          "noninvasive": "CTCAE-4-VENT", "invasive": "CTCAE-4-VENT"}


def grade(x: ScaleInputs) -> ScaleGrade:
    return combine(SCALE, TITLE, x, (
        state_domain("fever", fever_state(x), FEVER, CRITERIA, "temperature"),
        state_domain("hypotension", hypotension_state(x), HYPOTENSION, CRITERIA,
                     "blood pressure or vasopressors"),
        state_domain("oxygen", oxygen_state(x), OXYGEN, CRITERIA, "oxygen support"),
    ), CRITERIA["CTCAE-5"])
