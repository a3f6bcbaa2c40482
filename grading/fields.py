"""The canonical assessment format (design.md) as one table.

Every column of the CSV, the pydantic model, form labels, help text and error messages come from
``FIELDS``. Hard limits reject a value; soft limits accept it and raise a ``soft_limit`` flag
(spec §6.1; both are engineering defaults, see docs/clinical-decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "time", "number", "integer", "boolean", "choice", "choices"]
PATIENT_ID_MAX_LENGTH = 64  # the ward record's patient id column holds 64 characters


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    title: str
    description: str
    unit: str = ""
    hard_min: float | None = None
    hard_max: float | None = None
    soft_min: float | None = None  # below this: accepted and flagged
    soft_max: float | None = None  # above this: accepted and flagged
    values: tuple[str, ...] = ()  # allowed values of a choice / choices field
    empty_value: str = ""  # the word that means "none of them" in a choices field
    required: bool = False
    per_patient: bool = False  # the same on every row of a patient (design.md)

    def allowed(self) -> str:
        """What is allowed, in words, for error messages."""
        if self.kind in ("number", "integer"):
            whole = "a whole number" if self.kind == "integer" else "a number"
            span = f"{_fmt(self.hard_min)} to {_fmt(self.hard_max)}"
            return f"{whole} from {span} {self.unit}".rstrip()
        if self.kind == "boolean":
            return "true/false, yes/no or 1/0"
        if self.kind == "choice":
            return "one of " + ", ".join(self.values)
        if self.kind == "choices":
            return f"'{self.empty_value}' or a ';'-separated list of " + ", ".join(self.values)
        if self.kind == "time":
            return ("an ISO 8601 date and time in the years 2000 to 2199, e.g. 2026-03-01T14:05 "
                    "or 2026-03-01T14:05+01:00")
        if self.kind == "id":
            return f"one line of printable text, at most {PATIENT_ID_MAX_LENGTH} characters"
        return "text"


def _fmt(x: float | None) -> str:
    return "" if x is None else (f"{x:g}")


O2_DEVICES = (
    "room_air", "blow_by", "nasal_cannula", "high_flow_nasal_cannula", "simple_face_mask",
    "venturi_mask", "non_rebreather_mask", "cpap", "bipap", "mechanical_ventilation",
)
VASOACTIVE_AGENTS = (
    "norepinephrine", "epinephrine", "phenylephrine", "dopamine", "angiotensin_ii",
    "vasopressin", "terlipressin", "dobutamine", "milrinone",
)
CONSCIOUSNESS_LEVELS = (
    "alert", "awakens_spontaneously", "awakens_to_voice", "awakens_to_touch", "unarousable",
)
SEIZURE_KINDS = ("none", "resolved_rapidly", "prolonged_or_repetitive")
MOTOR_WEAKNESS = ("none", "deep_focal")
CEREBRAL_EDEMA = ("none", "focal", "diffuse")
RAISED_ICP_SIGNS = ("posturing", "cn6_palsy", "papilledema", "cushings_triad")
ATTRIBUTABLE_FINDINGS = ("fever", "hypotension", "hypoxia", "neuro")
CAUSES_OF_DEATH = ("crs", "icans", "other")
SEIZURE_TYPES = ("focal", "generalized", "nonconvulsive_eeg")

ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")

FIELDS: tuple[Field, ...] = (
    Field("patient_id", "id", "Patient", "Ward identifier of the patient.", required=True),
    Field("time", "time", "Assessment time",
          "When the assessment was made. A time without an offset is read in the ward time zone.",
          required=True),
    Field("age_years", "number", "Age", "Age in years; selects the age-based hypotension "
          "threshold and the expected neuro instrument (ICE from 12 years, CAPD below; ASTCT "
          "2019).", "years", 0, 125),
    Field("infusion_time", "time", "CAR-T infusion time",
          "Time of the CAR-T infusion (Day 0); the same on every row of a patient.",
          per_patient=True),
    Field("temp_c", "number", "Temperature", "Body temperature, rounded half-up to 0.1 °C before "
          "grading (ASTCT 2019: fever is 38.0 °C or more).", "°C", 25, 45, 34, 42),
    Field("hr_bpm", "integer", "Heart rate", "Heart rate.", "/min", 0, 300, 30, 200),
    Field("sbp_mmhg", "integer", "Systolic BP", "Systolic blood pressure.", "mmHg",
          30, 300, 60, 250),
    Field("dbp_mmhg", "integer", "Diastolic BP", "Diastolic blood pressure; below the systolic.",
          "mmHg", 10, 200, 30, 150),
    Field("rr_per_min", "integer", "Respiratory rate", "Respiratory rate.", "/min", 0, 80, 6, 50),
    Field("spo2_pct", "integer", "SpO2", "Oxygen saturation by pulse oximetry.", "%", 0, 100, 70),
    Field("o2_device", "choice", "Oxygen support",
          "Oxygen support now; blank means unchanged since the previous assessment.",
          values=O2_DEVICES),
    Field("o2_flow_l_min", "number", "Oxygen flow", "Oxygen flow; blank means unchanged.",
          "L/min", 0, 80),
    Field("fio2_pct", "number", "FiO2", "Inspired oxygen fraction as a percentage; blank means "
          "unchanged.", "%", 21, 100),
    Field("vasopressors", "choices", "Vasoactive infusions running",
          "Vasoactive infusions running now; blank means unchanged, 'none' ends them.",
          values=VASOACTIVE_AGENTS, empty_value="none"),
    Field("antipyretic_given", "boolean", "Antipyretic given",
          "An antipyretic was given since the previous assessment."),
    Field("tocilizumab_given", "boolean", "Tocilizumab given",
          "Tocilizumab (anti-IL-6) was given since the previous assessment."),
    Field("corticosteroid_given", "boolean", "Corticosteroid given",
          "A corticosteroid was given since the previous assessment."),
    Field("fluid_bolus_given", "boolean", "Fluid bolus given",
          "An IV fluid bolus was given since the previous assessment."),
    Field("anticytokine_given", "boolean", "Anakinra, siltuximab or other anti-cytokine given",
          "Anakinra, siltuximab or another anti-IL-6 / anti-IL-1 agent (not tocilizumab) was "
          "given since the previous assessment; for the fever waiver and a possibly masked "
          "fever it counts like tocilizumab (ASTCT 2019: 'antipyretic or anticytokine "
          "therapy')."),
    Field("ice_orientation", "integer", "ICE orientation",
          "Orientation to year, month, city and hospital (1 point each).", "points", 0, 4),
    Field("ice_naming", "integer", "ICE naming", "Names 3 objects (1 point each).", "points", 0, 3),
    Field("ice_commands", "integer", "ICE following commands",
          "Follows a simple command.", "points", 0, 1),
    Field("ice_writing", "integer", "ICE writing", "Writes a standard sentence.", "points", 0, 1),
    Field("ice_attention", "integer", "ICE attention",
          "Counts backwards from 100 in tens.", "points", 0, 1),
    Field("capd_total", "integer", "CAPD total", "Cornell Assessment of Pediatric Delirium total "
          "(8 items of 0-4; 9 or more screens positive).", "points", 0, 32),
    Field("sedated", "boolean", "Sedated",
          "Sedation or neuromuscular blockade prevents a neuro assessment (ASTCT 2019)."),
    Field("consciousness", "choice", "Level of consciousness",
          "How the patient wakes (ASTCT 2019).", values=CONSCIOUSNESS_LEVELS),
    Field("seizure", "choice", "Seizure", "Seizure since the previous neuro assessment; "
          "resolved_rapidly covers a clinical or EEG-only seizure resolving with intervention.",
          values=SEIZURE_KINDS),
    Field("motor_weakness", "choice", "Motor weakness",
          "Deep focal motor weakness such as hemiparesis or paraparesis.", values=MOTOR_WEAKNESS),
    Field("cerebral_edema", "choice", "Cerebral oedema", "Cerebral oedema on imaging.",
          values=CEREBRAL_EDEMA),
    Field("raised_icp_signs", "choices", "Raised ICP signs",
          "Signs of raised intracranial pressure.", values=RAISED_ICP_SIGNS, empty_value="none"),
    Field("attributed_elsewhere", "choices", "Attributed to another cause",
          "A physician's judgement that a finding on this row has another cause; the finding is "
          "shown but excluded from grading.", values=ATTRIBUTABLE_FINDINGS, empty_value="none"),
    Field("died_of", "choice", "Died of", "Cause of death as recorded by a clinician; blank while "
          "alive.", values=CAUSES_OF_DEATH),
    # --- inputs of the other grading scales (spec §3); optional, blank = not recorded.
    # ASTCT grading never reads them (docs/clinical-decisions.md X1).
    Field("weight_kg", "number", "Weight", "Body weight; converts vasopressor doses charted per "
          "kg to µg/min for the high-dose rules of the older CRS scales (Lee 2014, MSKCC, "
          "CARTOX). A patient attribute: the latest recorded weight applies forward (the first "
          "also back); the ward record uses the admission weight when no row has one.", "kg",
          0.5, 350, soft_max=250),
    Field("norepinephrine_ug_min", "number", "Norepinephrine dose",
          "Norepinephrine infusion rate now, for the high-dose rules of the older scales; "
          "the agent must be recorded as running. Blank means unchanged while it runs.",
          "µg/min", 0, 500, soft_max=100),
    Field("norepinephrine_ug_kg_min", "number", "Norepinephrine dose per kg",
          "Norepinephrine infusion rate now, per kg (multiplied by the weight for the high-dose "
          "rules of the older scales); the agent must be running. Blank means unchanged while it "
          "runs.",
          "µg/kg/min", 0, 10, soft_max=1),
    Field("epinephrine_ug_min", "number", "Epinephrine dose",
          "Epinephrine infusion rate now; the agent must be running. Blank means "
          "unchanged while it runs.", "µg/min", 0, 500, soft_max=50),
    Field("epinephrine_ug_kg_min", "number", "Epinephrine dose per kg",
          "Epinephrine infusion rate now, per kg (multiplied by the weight); the agent "
          "must be running. Blank means unchanged while it runs.", "µg/kg/min", 0, 10,
          soft_max=1),
    Field("phenylephrine_ug_min", "number", "Phenylephrine dose",
          "Phenylephrine infusion rate now; the agent must be running. Blank means "
          "unchanged while it runs.", "µg/min", 0, 2000, soft_max=400),
    Field("phenylephrine_ug_kg_min", "number", "Phenylephrine dose per kg",
          "Phenylephrine infusion rate now, per kg (multiplied by the weight); the "
          "agent must be running. Blank means unchanged while it runs.", "µg/kg/min", 0, 30,
          soft_max=6),
    Field("dopamine_ug_kg_min", "number", "Dopamine dose",
          "Dopamine infusion rate now, per kg (the norepinephrine-equivalent dose uses it per "
          "kg); the agent must be running. Blank means unchanged while it runs.", "µg/kg/min",
          0, 50,
          soft_max=20),
    Field("transaminitis_ctcae_grade", "integer", "Transaminitis",
          "CTCAE grade of the ALT/AST rise attributed to CRS (0 = none), for Lee 2014, Penn and "
          "CARTOX. Blank means unchanged since it was last graded.", "CTCAE grade", 0, 4),
    Field("creatinine_ctcae_grade", "integer", "Creatinine rise",
          "CTCAE grade of the creatinine rise attributed to CRS (0 = none), for Lee 2014, Penn "
          "and CARTOX. Blank means unchanged since it was last graded.",
          "CTCAE grade", 0, 4),
    Field("other_organ_ctcae_grade", "integer", "Other organ toxicity",
          "Highest CTCAE grade of any other organ toxicity attributed to CRS (e.g. cardiac, "
          "coagulopathy; 0 = none), for Lee 2014, Penn and CARTOX. Blank means unchanged since "
          "it was last graded.", "CTCAE grade", 0, 4),
    Field("iv_therapy_given", "boolean", "IV therapy for CRS given",
          "IV therapy other than fluid boluses for blood pressure (e.g. IV antibiotics for "
          "neutropenic fever) given since the previous assessment (Penn grade 2, Porter 2018)."),
    Field("coagulopathy_products_given", "boolean", "FFP / cryoprecipitate / fibrinogen given",
          "FFP, cryoprecipitate or fibrinogen concentrate given for coagulopathy since the "
          "previous assessment (Penn grade 3, Porter 2018)."),
    Field("cartox_head_of_state", "integer", "CARTOX-10 head of state",
          "Names the country's president or prime minister: the fifth orientation point of "
          "CARTOX-10 (Neelapu 2018), asked with the ICE items on the same assessment.", "points",
          0, 1),
    Field("seizure_type", "choice", "Seizure type",
          "Type of the seizure recorded on this row, for CRES (Neelapu 2018): focal (partial), "
          "generalized, or non-convulsive on EEG.", values=SEIZURE_TYPES),
    Field("papilledema_frisen_stage", "integer", "Papilloedema stage",
          "Stage 0-5 of the papilloedema on fundoscopy, for CRES (Neelapu 2018); a stage of 1 or "
          "more needs papilledema among the raised ICP signs on the same row.",
          "modified Frisén stage", 0, 5),
    Field("csf_opening_pressure_mmhg", "number", "CSF opening pressure",
          "CSF opening pressure at lumbar puncture, for CRES (Neelapu 2018); current until a later "
          "row records it again.", "mmHg", 0, 100, soft_max=40),
)

# The columns only the other scales read (spec §3): ASTCT grading ignores them.
SCALE_INPUT_FIELDS: tuple[str, ...] = (
    "weight_kg", "norepinephrine_ug_min", "norepinephrine_ug_kg_min", "epinephrine_ug_min",
    "epinephrine_ug_kg_min", "phenylephrine_ug_min", "phenylephrine_ug_kg_min",
    "dopamine_ug_kg_min", "transaminitis_ctcae_grade", "creatinine_ctcae_grade",
    "other_organ_ctcae_grade", "iv_therapy_given", "coagulopathy_products_given",
    "cartox_head_of_state", "seizure_type", "papilledema_frisen_stage",
    "csf_opening_pressure_mmhg",
)
# Vasopressor dose columns: (column, agent, per kg)
DOSE_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("norepinephrine_ug_min", "norepinephrine", False),
    ("norepinephrine_ug_kg_min", "norepinephrine", True),
    ("epinephrine_ug_min", "epinephrine", False),
    ("epinephrine_ug_kg_min", "epinephrine", True),
    ("phenylephrine_ug_min", "phenylephrine", False),
    ("phenylephrine_ug_kg_min", "phenylephrine", True),
    ("dopamine_ug_kg_min", "dopamine", True),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


def code_of(field: str, value: str) -> int:
    """The position of ``value`` among a choice field's values (its typed code)."""
    return FIELD_BY_NAME[field].values.index(value)
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)

BOOLEAN_WORDS: dict[str, bool] = {
    "true": True, "yes": True, "1": True, "false": False, "no": False, "0": False,
}

# Spec §6.1: age-dependent soft limits. (field, age below which the child limit applies, soft_max)
CHILD_SOFT_MAX: tuple[tuple[str, float, float], ...] = (
    ("hr_bpm", 18.0, 230.0),      # adult > 200, child > 230
    ("rr_per_min", 1.0, 70.0),    # adult > 50, infant > 70
)
# Spec §6.1 / §1.4: flow soft limits by device. (device, soft_min, soft_max)
DEVICE_FLOW_SOFT_LIMITS: tuple[tuple[str, float | None, float | None], ...] = (
    ("nasal_cannula", None, 15.0),   # standard cannulas are not run above 15 L/min
    ("simple_face_mask", None, 15.0),
    ("venturi_mask", None, 15.0),
    ("non_rebreather_mask", 10.0, None),
)
