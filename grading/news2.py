"""NEWS2 (Royal College of Physicians, 2017; spec §5.1) as tables plus small functions.

Each band table is ``(lowest value, highest value, points)`` rows, read straight off RCP Chart 1
(values in whole units except temperature, which is rounded half-up to 0.1 °C first, spec §0.1).
NEWS2 sits beside the ASTCT grades, never instead of them (spec §5.1: 38.0 °C scores 0 in NEWS2
but is CRS grade 1; a patient on a vasopressor can have a normal SBP).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .snapshot import round_temp

SOURCE = ("NEWS2, Royal College of Physicians 2017 (Chart 1 scoring, Chart 4 response); "
          "spec §5.1")
INF = float("inf")
Band = tuple[float, float, int]

RESPIRATION_RATE: tuple[Band, ...] = ((-INF, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2),
                                      (25, INF, 3))
SPO2_SCALE_1: tuple[Band, ...] = ((-INF, 91, 3), (92, 93, 2), (94, 95, 1), (96, INF, 0))
# Scale 2 (hypercapnic respiratory failure, target 88-92 %, on a clinician's instruction):
SPO2_SCALE_2_AIR: tuple[Band, ...] = ((-INF, 83, 3), (84, 85, 2), (86, 87, 1), (88, INF, 0))
SPO2_SCALE_2_OXYGEN: tuple[Band, ...] = ((-INF, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0),
                                         (93, 94, 1), (95, 96, 2), (97, INF, 3))
SUPPLEMENTAL_OXYGEN_POINTS = 2
SYSTOLIC_BP: tuple[Band, ...] = ((-INF, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0),
                                 (220, INF, 3))
PULSE: tuple[Band, ...] = ((-INF, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2),
                           (131, INF, 3))
TEMPERATURE: tuple[tuple[Decimal, Decimal, int], ...] = (
    (Decimal("-Infinity"), Decimal("35.0"), 3), (Decimal("35.1"), Decimal("36.0"), 1),
    (Decimal("36.1"), Decimal("38.0"), 0), (Decimal("38.1"), Decimal("39.0"), 1),
    (Decimal("39.1"), Decimal("Infinity"), 2))
# ACVPU from the ICANS consciousness levels: only "alert" is A. Drowsy but waking by itself is
# not alert: counted with C/V/P/U (decision N11, the reading that flags more).
CONSCIOUSNESS_POINTS = {"alert": 0, "awakens_spontaneously": 3, "awakens_to_voice": 3,
                        "awakens_to_touch": 3, "unarousable": 3}
NEW_CONFUSION_POINTS = 3
MIN_AGE_YEARS = 16  # spec §5.1: not for under-16s

# Chart 4: (lowest aggregate, risk, minimum monitoring, response). A single red parameter (3)
# raises a low aggregate to "low-medium", hourly.
RESPONSE: tuple[tuple[int, str, str, str], ...] = (
    (0, "low", "every 12 h", "routine NEWS monitoring"),
    (1, "low", "every 4-6 h", "registered nurse assesses and decides whether to increase "
                              "monitoring or escalate"),
    (5, "medium", "hourly", "inform the medical team immediately; urgent review by a clinician "
                            "skilled in acute illness; monitored setting"),
    (7, "high", "continuous", "emergency assessment by a critical-care team; medical team at "
                              "registrar level or above; consider level 2/3 care"),
)
RED_RESPONSE = ("low-medium", "hourly", "nurse informs the medical team, who review and decide "
                                        "on escalation")
PARAMETERS = ("respiration rate", "SpO2", "air or oxygen", "systolic BP", "pulse",
              "consciousness", "temperature")


@dataclass(frozen=True)
class News2:
    total: int | None              # None: not applicable (under 16)
    parts: dict[str, int]          # parameter -> points, for the parameters recorded
    missing: tuple[str, ...]       # parameters not recorded: the total is then a minimum
    red: bool                      # a single parameter scoring 3
    risk: str
    monitoring: str
    response: str
    why: str = ""

    @property
    def complete(self) -> bool:
        return not self.missing


def band_points(bands: tuple[Band, ...], value: float) -> int:
    for low, high, points in bands:
        if low <= value <= high:
            return points
    raise ValueError(f"{value} is outside every band")  # cannot happen: bands cover all values


def temperature_points(temp_c: float) -> int:
    t = round_temp(temp_c)
    for low, high, points in TEMPERATURE:
        if low <= t <= high:
            return points
    raise ValueError(f"{temp_c} is outside every band")


def response(total: int, red: bool) -> tuple[str, str, str]:
    risk, monitoring, what = next((r, m, w) for low, r, m, w in reversed(RESPONSE)
                                  if total >= low)
    if red and total < 5:
        return RED_RESPONSE
    return risk, monitoring, what


def news2(*, rr: float | None, spo2: float | None, on_oxygen: bool | None, sbp: float | None,
          pulse: float | None, consciousness: str | None, temp_c: float | None,
          new_confusion: bool = False, scale2: bool = False,
          age_years: float | None = None) -> News2:
    """The NEWS2 score of one set of observations. Missing parameters score nothing and are
    listed (the total is then a minimum); ``new_confusion`` scores 3 like V/P/U."""
    if age_years is not None and age_years < MIN_AGE_YEARS:
        return News2(None, {}, (), False, "not applicable", "", "",
                     "NEWS2 is not for under-16s (spec §5.1)")
    parts: dict[str, int] = {}
    if rr is not None:
        parts["respiration rate"] = band_points(RESPIRATION_RATE, rr)
    if spo2 is not None:
        scale_2 = SPO2_SCALE_2_OXYGEN if on_oxygen else SPO2_SCALE_2_AIR
        parts["SpO2"] = band_points(scale_2 if scale2 else SPO2_SCALE_1, spo2)
    if on_oxygen is not None:
        parts["air or oxygen"] = SUPPLEMENTAL_OXYGEN_POINTS if on_oxygen else 0
    if sbp is not None:
        parts["systolic BP"] = band_points(SYSTOLIC_BP, sbp)
    if pulse is not None:
        parts["pulse"] = band_points(PULSE, pulse)
    if consciousness is not None or new_confusion:
        level = CONSCIOUSNESS_POINTS.get(consciousness or "alert", 0)
        parts["consciousness"] = max(level, NEW_CONFUSION_POINTS if new_confusion else 0)
    if temp_c is not None:
        parts["temperature"] = temperature_points(temp_c)
    total = sum(parts.values())
    red = any(p == 3 for p in parts.values())
    risk, monitoring, what = response(total, red)
    missing = tuple(p for p in PARAMETERS if p not in parts)
    return News2(total, parts, missing, red, risk, monitoring, what)
