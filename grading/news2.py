"""NEWS2 (Royal College of Physicians, 2017; spec §5.1) as tables plus small functions.

Each band table is ``(lowest value, highest value, points)`` rows, read straight off RCP Chart 1
(values in whole units except temperature, which is rounded half-up to 0.1 °C first, spec §0.1).
NEWS2 sits beside the ASTCT grades, never instead of them (spec §5.1: 38.0 °C scores 0 in NEWS2
but is CRS grade 1; a patient on a vasopressor can have a normal SBP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .rules import round_temp

# Shown to users: the published source only (the spec section stays in these comments, spec §5.1).
SOURCE = ("Royal College of Physicians, National Early Warning Score 2 (NEWS2), 2017: "
          "Chart 1 scoring, Chart 4 response")
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
# ACVPU from the ICANS consciousness levels (spec §5.1): "alert" and "drowsy, wakes
# spontaneously" are A (awake with eyes opening by themselves); waking only to voice or touch, or
# unarousable, is V/P/U and scores 3 on its own (decision C21).
CONSCIOUSNESS_POINTS = {"alert": 0, "awakens_spontaneously": 0, "awakens_to_voice": 3,
                        "awakens_to_touch": 3, "unarousable": 3}
CONSCIOUSNESS_WORDS = {"alert": "alert", "awakens_spontaneously": "drowsy, wakes spontaneously",
                       "awakens_to_voice": "wakes only to voice",
                       "awakens_to_touch": "wakes only to touch", "unarousable": "unarousable"}
NEW_CONFUSION_POINTS = 3
# "New confusion, disorientation or delirium" (RCP 2017) from the items that measure it (spec
# §5.1, decision C21): ICE orientation and attention, and a CAPD at its own delirium cut-off. An
# isolated naming, command or writing deficit is aphasia/dysgraphia: ICANS grades it, NEWS2 not.
CONFUSION_ITEMS: tuple[tuple[str, str, int], ...] = (("ice_orientation", "orientation", 4),
                                                      ("ice_attention", "attention", 1))
ICE_FULL_MARKS = 10
CAPD_DELIRIUM_FROM = 9  # CAPD 9 or more screens positive for delirium (Traube 2014)
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
class Confusion:
    """Whether the latest neuro assessment shows new confusion for NEWS2, and why, in words.
    ``known``: whether "new" is established (False: a deficit with no baseline that could say,
    scored 3 all the same). A deficit the baseline explains (``new`` False) is still named in
    ``why`` so the breakdown never drops the reason (decision C21)."""
    new: bool
    why: str
    known: bool = True
    deficit: bool = False   # an orientation/attention deficit (or CAPD >= 9) is recorded

    def describe(self) -> str:
        if not self.new:
            return self.why
        return ("new confusion: " if self.known else "confusion, not known whether new: ") + \
            self.why


def new_confusion(ice: Mapping[str, float] | None = None, capd_total: float | None = None, *,
                  baseline: Mapping[str, float] | None = None,
                  baseline_total: float | None = None,
                  before_infusion: bool = False) -> Confusion | None:
    """New confusion (NEWS2 "C") from the current neuro assessment: a complete ICE (its items)
    or a CAPD total, whichever is the latest; None when neither is recorded.

    ICE: orientation or attention below the baseline ICE's item (a pre-infusion ICE,
    ``baseline``): new confusion; a deficit no worse than the baseline is named, not scored.
    With only a baseline *total* (the admission form) below full marks, a deficit in those items
    scores 3 but is "not known whether new" (a total cannot say which items it lost); a total of
    10 means every item was full, so a deficit is new. With no baseline at all, a deficit scores
    3, "not known whether new" (``before_infusion``: the assessment itself is pre-infusion, so
    nothing earlier exists). CAPD: 9 or more (its delirium cut-off), whatever the baseline
    (decision C21)."""
    if capd_total is not None:
        n = int(capd_total)
        if n >= CAPD_DELIRIUM_FROM:
            return Confusion(True, f"CAPD {n} (delirium from {CAPD_DELIRIUM_FROM})",
                             deficit=True)
        return Confusion(False, f"CAPD {n} (below the delirium cut-off {CAPD_DELIRIUM_FROM})")
    if ice is None:
        return None
    if baseline is not None:
        worse, same = [], []
        for k, word, top in CONFUSION_ITEMS:
            now, was = int(ice[k]), int(baseline[k])
            if now < was:
                worse.append(f"ICE {word} {now}/{top} (baseline {was})")
            elif now < top:
                same.append(f"ICE {word} {now}/{top}, " + (
                    "as at baseline" if now == was else f"baseline {was}/{top}"))
        if worse:
            return Confusion(True, "; ".join(worse + same), deficit=True)
        if same:
            return Confusion(False, "; ".join(same), deficit=True)
        return Confusion(False, "ICE orientation and attention not below the baseline ICE")
    lost = [f"ICE {word} {int(ice[k])}/{top}" for k, word, top in CONFUSION_ITEMS
            if ice[k] < top]
    if not lost:
        return Confusion(False, "ICE orientation and attention full")
    words = "; ".join(lost)
    if baseline_total is not None:
        b = int(baseline_total)
        if b >= ICE_FULL_MARKS:
            return Confusion(True, f"{words} (baseline ICE {b}/10)", deficit=True)
        return Confusion(True, f"{words}; baseline ICE {b}/10 recorded as a total only",
                         known=False, deficit=True)
    return Confusion(True, words + (" (no earlier ICE)" if before_infusion
                                    else " (no baseline ICE)"), known=False, deficit=True)


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
    consciousness_why: str = ""    # the ACVPU level or new confusion behind the points, in words
    sedated: bool = False          # consciousness not recorded because the patient is sedated

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def red_parameters(self) -> tuple[str, ...]:
        return tuple(p for p in PARAMETERS if self.parts.get(p) == 3)

    def breakdown(self, *, name_red: bool = False) -> str:
        """The score by parameter in ward words, e.g. "NEWS2 7: respiration rate 2, SpO2 0,
        air or oxygen 2, systolic BP 0, pulse 1, consciousness 0 (alert), temperature 2".
        ``name_red``: a low total raised by a single parameter scoring 3 says so after the
        total, naming it ("NEWS2 3 — a single parameter scoring 3 (consciousness): ...")."""
        if self.total is None:
            return "NEWS2 not scored: " + self.why
        parts = []
        for name in PARAMETERS:
            if name in self.parts:
                extra = (f" ({self.consciousness_why})" if name == "consciousness"
                         and self.consciousness_why else "")
                parts.append(f"{name} {self.parts[name]}{extra}")
        head = f"NEWS2 {self.total}{'+' if self.missing else ''}"
        if name_red and self.red and self.total < 5:
            head += (" — a single parameter scoring 3 ("
                     + ", ".join(self.red_parameters) + ")")
        text = head + ": " + ", ".join(parts)
        if self.missing:
            text += "; not recorded: " + ", ".join(
                f"{p} (sedated)" if p == "consciousness" and self.sedated else p
                for p in self.missing)
        return text


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
          new_confusion: bool | Confusion | None = False, scale2: bool = False,
          age_years: float | None = None, sedated: bool = False) -> News2:
    """The NEWS2 score of one set of observations. Missing parameters score nothing and are
    listed (the total is then a minimum); new confusion (``True``, or a ``Confusion`` that says
    why) scores 3 like V/P/U. ``sedated``: no current consciousness, ICE or CAPD because the
    patient is sedated (the caller has discarded those recorded under sedation): consciousness
    is "not recorded (sedated)" and the total a minimum."""
    confusion = new_confusion if isinstance(new_confusion, Confusion) else \
        Confusion(bool(new_confusion), "new confusion") if new_confusion else None
    confused = confusion is not None and confusion.new
    if age_years is not None and age_years < MIN_AGE_YEARS:
        return News2(None, {}, (), False, "not applicable", "", "",
                     "NEWS2 is not for under-16s (RCP 2017)")
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
    why = ""
    if consciousness is not None or confused:
        level = CONSCIOUSNESS_POINTS.get(consciousness or "alert", 0)
        parts["consciousness"] = max(level, NEW_CONFUSION_POINTS if confused else 0)
        said = [CONSCIOUSNESS_WORDS.get(consciousness, consciousness)] if consciousness else []
        if confusion is not None and (confused or confusion.deficit):
            said.append(confusion.describe())  # a deficit the baseline explains is named too
        why = "; ".join(said)
    elif sedated:
        why = "not recorded (sedated)"
    if temp_c is not None:
        parts["temperature"] = temperature_points(temp_c)
    total = sum(parts.values())
    red = any(p == 3 for p in parts.values())
    risk, monitoring, what = response(total, red)
    missing = tuple(p for p in PARAMETERS if p not in parts)
    return News2(total, parts, missing, red, risk, monitoring, what, consciousness_why=why,
                 sedated=sedated and "consciousness" in missing)
