"""Why a scale differs from ASTCT, in words (spec §3.7 "main reasons for the differences").

Each function returns one sentence naming the domain, what ASTCT does, what the other scale
does, and which of the five reasons of spec §3.7 it is.
"""

from __future__ import annotations

from .. import rules
from ..result import Grade
from .common import ScaleGrade
from .inputs import ScaleInputs

# the five main reasons the scales differ (docs/grading-rules.md, "Where the scales disagree
# with ASTCT"; Pennisi 2020), in the words a clinician reads
REASONS = {1: "organ toxicity", 2: "oxygen by device or by FiO2", 3: "vasopressor dose",
           4: "fever at onset", 5: "the neurological domains"}
REASON = "a known difference between the scales: {what}; Pennisi 2020"


def _r(n: int) -> str:
    return "(" + REASON.format(what=REASONS[n]) + ")"


def fever(title: str) -> str:
    return (f"Fever: ASTCT needs fever at onset — no fever and no open CRS episode is grade 0 "
            f"(ASTCT 2019); {title} grades hypotension, hypoxia and organ toxicity without fever "
            f"{_r(4)}.")


def _organs(x: ScaleInputs) -> str:
    words = {"transaminitis": "transaminitis", "creatinine": "creatinine",
             "other_organ": "other organ"}
    shown = [f"{words[o]} grade {g}" for o, (g, _) in x.organ.items() if g]
    return ", ".join(shown) or "organ toxicity"


OXYGEN = {
    "lee2014": "by FiO2: < 40 % grade 2, >= 40 % grade 3, ventilator support (CPAP/BiPAP "
               "included) grade 4",
    "ctcae5": "by FiO2: < 40 % grade 2, >= 40 % grade 3, positive pressure grade 4",
    "penn": "any supplemental O2 (cannula, high-flow, CPAP, BiPAP) grade 3, mechanical "
            "ventilation grade 4",
    "mskcc": "by FiO2: < 40 % grade 2, >= 40 % (or CPAP/BiPAP) grade 3, mechanical "
             "ventilation grade 4",
    "cartox": "by FiO2: < 40 % grade 2, >= 40 % grade 3, ventilator support grade 4 "
              "(children: BiPAP grade 3)",
}
PRESSORS = {
    "lee2014": "one low-dose vasopressor grade 2, high-dose (held >= 3 h) or multiple grade 3",
    "ctcae5": "one pressor grade 3, multiple pressors grade 4 (the ward's reading)",
    "penn": "low-dose vasopressors grade 3, high-dose grade 4",
    "mskcc": "any vasopressor < 24 h grade 2, >= 24 h grade 3, refractory to high doses "
             "grade 4",
    "cartox": "one low-dose vasopressor grade 2, high-dose or multiple grade 3",
}
FLUIDS = {
    "lee2014": "hypotension responding to fluids grade 2",
    "ctcae5": "hypotension responding to fluids grade 2",
    "penn": "one fluid bolus grade 2, multiple boluses in 24 h grade 3",
    "mskcc": "no criterion for hypotension without a vasopressor",
    "cartox": "hypotension responding to IV fluids grade 2",
}


def domain(scale: str, title: str, name: str, x: ScaleInputs) -> str:
    s = x.astct
    if name == "organ":
        return (f"Organ toxicity: {title} counts it ({_organs(x)}); ASTCT leaves organ "
                f"toxicity to CTCAE and does not change the CRS grade (ASTCT 2019) {_r(1)}.")
    if name == "oxygen":
        device = "no device" if s.o2_device is None else rules.DEVICE_RULE[s.o2_device].label
        here = "" if scale == "penn" else f" — here {x.fio2.how}"
        return (f"Hypoxia: ASTCT grades the device and flow ({device}: low-flow <= 6 L/min 2, "
                f"high-flow or mask 3, positive pressure 4); {title} grades {OXYGEN[scale]}"
                f"{here} {_r(2)}.")
    if name == "hypotension":
        if x.pressors.running:
            hours = f"; {x.pressors.hours:.0f} h on vasopressors so far" if scale == "mskcc" \
                else ""
            return (f"Vasopressors: ASTCT counts agents without doses (one 3, more than one 4, "
                    f"vasopressin never a second agent); {title}: {PRESSORS[scale]}{hours} "
                    f"{_r(3)}.")
        return (f"Hypotension without vasopressors: ASTCT grade 2; {title}: {FLUIDS[scale]} "
                f"{_r(3)}.")
    if name == "iv_therapy":
        return (f"{title} grade 2 counts IV therapy for CRS other than fluid boluses (e.g. IV "
                "antibiotics); ASTCT grades only fever, hypotension and hypoxia.")
    if name == "coagulopathy":
        return (f"{title} grade 3 counts coagulopathy needing FFP, cryoprecipitate or "
                "fibrinogen; ASTCT grades only fever, hypotension and hypoxia.")
    return other(title)


def status(title: str, g: ScaleGrade, astct: Grade) -> str:
    def word(grade: int | None) -> str:
        return "not evaluable" if grade is None else f"grade {grade}"
    return (f"{title} is {word(g.grade)} where ASTCT is {word(astct.grade)}: the scales need "
            "different inputs (see each grade's reasons for what is not recorded).")


def other(title: str) -> str:
    return f"{title}'s criteria differ from ASTCT's here: see the reasons of each grade."


def neuro(g: ScaleGrade, icans: Grade, x: ScaleInputs) -> list[str]:
    """Spec §3.7 reason 5, domain by domain."""
    s = x.astct
    assert g.grade is not None and icans.grade is not None
    out: list[str] = []
    loc = None if s.consciousness is None else rules.CONSCIOUSNESS_GRADE[s.consciousness]
    if loc and not s.consciousness_attributed and loc == icans.grade and loc > g.grade:
        out.append(f"Consciousness: ASTCT grades it ({s.consciousness.replace('_', ' ')}: "
                   f"{loc}); CRES has no consciousness domain {_r(5)}.")
    if s.seizure == "resolved_rapidly" and x.seizure_type == "generalized":
        out.append(f"Seizure: CRES puts a generalised seizure in grade 4; ASTCT puts any "
                   f"rapidly resolving seizure in grade 3 {_r(5)}.")
    signs = s.raised_icp_signs or frozenset()
    if "papilledema" in signs and x.papilledema_stage in (1, 2, None):
        stage = "stage not recorded" if x.papilledema_stage is None else \
            f"stage {x.papilledema_stage}"
        out.append(f"Papilloedema: ASTCT makes any papilloedema grade 4; CRES grades its stage "
                   f"(1-2: grade 3; here {stage}) {_r(5)}.")
    if signs - {"papilledema"}:
        out.append(f"Raised ICP signs (posturing, CN VI palsy, Cushing's triad) are ASTCT grade "
                   f"4 and not CRES criteria {_r(5)}.")
    if s.cerebral_edema == "focal":
        out.append(f"Cerebral oedema: ASTCT grades focal oedema 3, CRES any oedema 4 {_r(5)}.")
    if x.csf_opening_pressure is not None and g.domain("icp") and g.domain("icp") == g.grade:
        out.append(f"CSF opening pressure ({x.csf_opening_pressure[0]:g} mmHg): a CRES "
                   f"criterion, not an ASTCT one {_r(5)}.")
    if g.domain("cartox10") is not None and s.ice_total is not None and not out:
        out.append(f"Encephalopathy score: CARTOX-10 (with the head-of-state question, without "
                   f"'follows commands') vs ICE {s.ice_total}/10 — the items differ "
                   f"{_r(5)}.")
    if s.sedated and not out:
        out.append("Sedated: neither score can be assessed; each grades the other domains "
                   "(decisions N5, X27).")
    return out or [other("CRES")]
