"""ASTCT 2019 CRS and ICANS rules as named tables (spec §1-§2, style.md "rules as data").

Each table can be held against the spec line by line. The functions that apply them live in
``snapshot.py`` (one assessment, row-wise reference) and ``kernel.py`` (the fast path, which
receives them as arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

# --- look-back windows and episode lifecycle (spec §0.3, CRS-R3b; defaults [I]) ---
VITALS_WINDOW = timedelta(hours=4)          # temperature, HR, BP, RR, SpO2, fluid bolus
NEURO_WINDOW = timedelta(hours=12)          # ICE / CAPD, consciousness, sedation
EPISODE_CLOSES_AFTER = timedelta(hours=48)  # CRS-R3b: episode closes after 48 h without findings

# --- CRS (spec §1) ---
FEVER_C = Decimal("38.0")        # CRS-R1: >= 38.0 °C is fever; 38.0 itself counts (A1)
LOW_FLOW_MAX_L_MIN = 6.0         # §1.4: low-flow is <= 6 L/min, high-flow > 6 L/min


@dataclass(frozen=True)
class DeviceRule:
    """§1.4: ASTCT hypoxia component for an oxygen device, at <= 6 L/min and above."""

    device: str
    component_low_flow: int      # flow <= 6 L/min (or flow not applicable)
    component_high_flow: int     # flow > 6 L/min
    label: str
    review_at_low_flow: bool = False  # §1.4: HFNC run at <= 6 L/min -> 3 + review flag


O2_DEVICE_RULES: tuple[DeviceRule, ...] = (
    DeviceRule("room_air", 0, 0, "room air"),
    DeviceRule("blow_by", 2, 2, "blow-by oxygen (low-flow)"),
    DeviceRule("nasal_cannula", 2, 3, "nasal cannula"),
    DeviceRule("high_flow_nasal_cannula", 3, 3, "high-flow nasal cannula", review_at_low_flow=True),
    DeviceRule("simple_face_mask", 3, 3, "simple face mask"),
    DeviceRule("venturi_mask", 3, 3, "Venturi mask"),
    DeviceRule("non_rebreather_mask", 3, 3, "non-rebreather mask"),
    DeviceRule("cpap", 4, 4, "CPAP (positive pressure)"),
    DeviceRule("bipap", 4, 4, "BiPAP (positive pressure)"),
    DeviceRule("mechanical_ventilation", 4, 4, "mechanical ventilation (positive pressure)"),
)
DEVICE_RULE = {r.device: r for r in O2_DEVICE_RULES}
# Devices whose grade depends on the flow (unknown flow -> the lower component, provisional).
FLOW_DEPENDENT_DEVICES = tuple(r.device for r in O2_DEVICE_RULES
                               if r.component_low_flow != r.component_high_flow)
# Devices that deliver no set flow; a flow given with them is ignored for grading.
PRESSURE_DEVICES = ("cpap", "bipap", "mechanical_ventilation")


@dataclass(frozen=True)
class VasoactiveRule:
    """§1.5: how an infusion counts towards the ASTCT hypotension component."""

    agent: str
    counts_as_vasopressor: bool   # counts 1 towards "multiple vasopressors"
    vasopressin_like: bool        # never a second agent; alone it is "a vasopressor" (CRS-R4b)
    review_flag: str | None       # flag code raised while it runs


VASOACTIVE_RULES: tuple[VasoactiveRule, ...] = (
    VasoactiveRule("norepinephrine", True, False, None),
    VasoactiveRule("epinephrine", True, False, None),
    VasoactiveRule("phenylephrine", True, False, None),
    VasoactiveRule("dopamine", True, False, None),
    VasoactiveRule("angiotensin_ii", True, False, None),
    VasoactiveRule("vasopressin", False, True, None),
    VasoactiveRule("terlipressin", False, True, "terlipressin"),
    VasoactiveRule("dobutamine", False, False, "inotrope"),
    VasoactiveRule("milrinone", False, False, "inotrope"),
)
VASOACTIVE_RULE = {r.agent: r for r in VASOACTIVE_RULES}

# CRS-R4: hypotension component by number of counted vasopressors (vasopressin-like alone -> 1).
HYPOTENSION_COMPONENT_BY_PRESSORS = {0: 2, 1: 3}   # 0 pressors with hypotension present -> 2
HYPOTENSION_COMPONENT_MULTIPLE = 4                  # >= 2 counted agents at the same moment


@dataclass(frozen=True)
class HypotensionThreshold:
    """§1.6: "hypotension present" trigger by age. SBP below ``sbp_below`` (mmHg)."""

    population: str
    age_from_years: float          # inclusive
    age_to_years: float            # exclusive
    sbp_below: float               # fixed threshold, or the base of 70 + 2 x completed years
    plus_twice_age: bool = False   # 70 + 2 x age (completed years), Mahadeo 2019
    map_below: float | None = None  # adults only: MAP < 65 mmHg [I]


NEONATE_MAX_YEARS = 28 / 365.25
HYPOTENSION_THRESHOLDS: tuple[HypotensionThreshold, ...] = (
    HypotensionThreshold("term neonate (0-28 days)", 0.0, NEONATE_MAX_YEARS, 60),
    HypotensionThreshold("infant (1-12 months)", NEONATE_MAX_YEARS, 1.0, 70),
    HypotensionThreshold("child 1-10 years", 1.0, 11.0, 70, plus_twice_age=True),
    HypotensionThreshold("child over 10 years", 11.0, 18.0, 90),
    HypotensionThreshold("adult", 18.0, float("inf"), 90, map_below=65),
)
# Unknown age: the adult rule, whose threshold is the highest and so flags the most [I].
UNKNOWN_AGE_THRESHOLD = HYPOTENSION_THRESHOLDS[-1]

# --- ICANS (spec §2) ---
# ICANS-R2: ICE score -> domain grade, as (lowest score, highest score, grade).
# ICE 0 is grade 3 when awake (B1); unarousable is grade 4 through the consciousness domain.
ICE_BANDS: tuple[tuple[int, int, int], ...] = ((10, 10, 0), (7, 9, 1), (3, 6, 2), (0, 2, 3))
ICE_MAX = 10
# §2.5: CAPD total -> domain grade (1-8 -> 1; the consciousness domain separates grade 1 from 2).
CAPD_BANDS: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (1, 8, 1), (9, 32, 3))
CAPD_MAX_AGE_YEARS = 12   # §2.5: CAPD below 12 y; at exactly 12 either instrument (B6)

CONSCIOUSNESS_GRADE = {   # ICANS-R4
    "alert": 0, "awakens_spontaneously": 1, "awakens_to_voice": 2, "awakens_to_touch": 3,
    "unarousable": 4,
}
# Decision N13 (spec §0.3): the one consciousness level that a later ICE with points, or a later
# CAPD, disproves - the patient answered or was assessable, so was arousable. The other levels
# describe how the patient wakes, which an ICE or CAPD done once awake does not measure (N14).
DISPROVED_BY_LATER_ICE_OR_CAPD = "unarousable"
SEIZURE_GRADE = {"none": 0, "resolved_rapidly": 3, "prolonged_or_repetitive": 4}  # ICANS-R6
MOTOR_GRADE = {"none": 0, "deep_focal": 4}
CEREBRAL_EDEMA_GRADE = {"none": 0, "focal": 3, "diffuse": 4}
RAISED_ICP_SIGN_GRADE = 4   # posturing, CN VI palsy, papilloedema, Cushing's triad: all grade 4


def band_grade(bands: tuple[tuple[int, int, int], ...], score: int) -> int:
    for low, high, grade in bands:
        if low <= score <= high:
            return grade
    raise ValueError(f"score {score} is outside every band")


def hypotension_threshold(age_years: float | None) -> HypotensionThreshold:
    if age_years is None:
        return UNKNOWN_AGE_THRESHOLD
    for t in HYPOTENSION_THRESHOLDS:
        if t.age_from_years <= age_years < t.age_to_years:
            return t
    raise ValueError(f"age {age_years} has no hypotension threshold")


def sbp_threshold(t: HypotensionThreshold, age_years: float | None) -> float:
    if t.plus_twice_age and age_years is not None:
        return t.sbp_below + 2 * int(age_years)  # completed years
    return t.sbp_below


def estimated_map(sbp_mmhg: float, dbp_mmhg: float) -> float:
    """Spec §0.1: a MAP not measured is estimated as DBP + (SBP - DBP) / 3."""
    return dbp_mmhg + (sbp_mmhg - dbp_mmhg) / 3


@dataclass(frozen=True)
class BloodPressureReading:
    """A blood pressure held against the §1.6 "hypotension present" trigger for the age."""

    threshold: HypotensionThreshold
    sbp_limit: float               # SBP below this is low
    low_sbp: bool
    map_mmhg: float | None         # estimated (None without both pressures)
    low_map: bool                  # adults: estimated MAP < 65

    @property
    def low(self) -> bool:
        return self.low_sbp or self.low_map


def read_blood_pressure(sbp_mmhg: float | None, dbp_mmhg: float | None,
                        age_years: float | None) -> BloodPressureReading:
    t = hypotension_threshold(age_years)
    limit = sbp_threshold(t, age_years)
    mean = None if sbp_mmhg is None or dbp_mmhg is None else estimated_map(sbp_mmhg, dbp_mmhg)
    return BloodPressureReading(t, limit, sbp_mmhg is not None and sbp_mmhg < limit, mean,
                                t.map_below is not None and mean is not None
                                and mean < t.map_below)


def round_temp(temp_c: float) -> Decimal:
    """Spec §0.1: round half-up to 0.1 °C before comparing with thresholds."""
    return Decimal(repr(temp_c)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def fahrenheit_to_celsius(temp_f: float) -> Decimal:
    """Spec §0.1: (F - 32) x 5/9, then round half-up to 0.1 °C. 100.4 °F -> 38.0 °C."""
    exact = (Decimal(repr(temp_f)) - 32) * 5 / 9
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# The drugs of the fever waiver (CRS-R3) and of A3, as the reasons name them.
ANTIPYRETIC, TOCILIZUMAB, CORTICOSTEROID = "antipyretic", "tocilizumab", "corticosteroid"
# anakinra, siltuximab or another anti-IL-6 / anti-IL-1 agent: acts like tocilizumab for the
# fever waiver (CRS-R3) and A3 (ASTCT 2019: "antipyretic or anticytokine therapy"; C20)
ANTICYTOKINE = "another anti-cytokine agent (anakinra, siltuximab or similar)"
