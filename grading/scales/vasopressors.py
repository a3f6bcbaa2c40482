"""High-dose vasopressors (spec §1.5, after Lee DW et al., Blood 2014;124:188, Table 2).

ASTCT grades without doses; Lee 2014, Penn, MSKCC and CARTOX need "high-dose". The table and the
norepinephrine-equivalent (NEE, VASST convention) formula are rows below; each high dose must be
needed for at least 3 h (``HIGH_DOSE_MINIMUM``). Decisions X5-X8 in docs/clinical-decisions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import rules

HIGH_DOSE_MINIMUM = timedelta(hours=3)  # spec §1.5: each dose needed for >= 3 h [R]

# NEE (µg/min) = norepinephrine (µg/min) + dopamine (µg/kg/min) / 2 + epinephrine (µg/min)
#               + phenylephrine (µg/min) / 10        (spec §1.5, VASST convention [R])
# agent -> (factor, the unit the term is in: per kg for dopamine only)
NEE_TERMS: dict[str, tuple[float, bool]] = {
    "norepinephrine": (1.0, False),
    "dopamine": (0.5, True),
    "epinephrine": (1.0, False),
    "phenylephrine": (0.1, False),
}
VASOPRESSIN_LIKE = tuple(r.agent for r in rules.VASOACTIVE_RULES if r.vasopressin_like)
# Agents that count as a vasopressor for the older scales (inotropes never do, spec §1.5).
PRESSORS = tuple(r.agent for r in rules.VASOACTIVE_RULES
                 if r.counts_as_vasopressor or r.vasopressin_like)


@dataclass(frozen=True)
class HighDoseRule:
    """One row of the high-dose table: the regimen, what is measured and the threshold."""

    regimen: str
    measure: str        # "norepinephrine", "dopamine", ... (one agent's dose) or "NEE"
    threshold: float    # high dose at or above this
    unit: str


# Spec §1.5, Lee 2014 Table 2 [R]: high dose if at or above.
HIGH_DOSE_RULES: dict[str, HighDoseRule] = {
    "norepinephrine": HighDoseRule("norepinephrine alone", "norepinephrine", 20, "µg/min"),
    "dopamine": HighDoseRule("dopamine alone", "dopamine", 10, "µg/kg/min"),
    "phenylephrine": HighDoseRule("phenylephrine alone", "phenylephrine", 200, "µg/min"),
    "epinephrine": HighDoseRule("epinephrine alone", "epinephrine", 10, "µg/min"),
    "vasopressin": HighDoseRule("on vasopressin", "NEE", 10, "µg/min NEE"),
    "combination": HighDoseRule("combination without vasopressin", "NEE", 20, "µg/min NEE"),
}


@dataclass(frozen=True)
class Dose:
    """A vasopressor dose in force: as charted, and in the unit the high-dose table uses."""

    agent: str
    charted: float
    per_kg: bool
    time: datetime                 # when it was charted
    value: float | None            # µg/min (dopamine: µg/kg/min); None: per kg, weight unknown

    def text(self) -> str:
        unit = "µg/kg/min" if self.per_kg else "µg/min"
        return f"{self.agent} {self.charted:g} {unit}"


@dataclass(frozen=True)
class HighDose:
    """Whether the vasopressors running now are a high dose (not yet the 3 h rule)."""

    high: bool | None              # None: a dose needed for the rule is not known
    rule: HighDoseRule | None      # None: no rule applies (no dose-rated agent running)
    value: float | None            # the measured dose or NEE (known part)
    missing: tuple[str, ...] = ()  # what is not known ("norepinephrine dose", "weight", ...)
    note: str = ""

    def text(self) -> str:
        if self.rule is None:
            return self.note
        shown = "not known" if self.value is None else f"{self.value:g} {self.rule.unit}"
        what = self.rule.measure if self.rule.measure == "NEE" else f"{self.rule.measure} dose"
        head = (f"{self.rule.regimen}: {what} {shown} (high dose at >= "
                f"{self.rule.threshold:g} {self.rule.unit})")
        if self.missing:
            head += "; not recorded: " + ", ".join(self.missing)
        return head + (f"; {self.note}" if self.note else "")


def nee(doses: Mapping[str, Dose], agents: frozenset[str]) -> tuple[float, tuple[str, ...]]:
    """NEE (µg/min) of the running dose-rated agents, and the doses missing from it."""
    total, missing = 0.0, []
    for agent in sorted(agents & set(NEE_TERMS)):
        factor, _ = NEE_TERMS[agent]
        d = doses.get(agent)
        if d is None or d.value is None:
            missing.append(f"{agent} dose" if d is None else "weight (dose charted per kg)")
            continue
        total += factor * d.value
    return total, tuple(missing)


def high_dose(running: frozenset[str], doses: Mapping[str, Dose]) -> HighDose:
    """Spec §1.5 high-dose table for the agents running now (3 h rule applied by the caller).

    A dose that is not recorded makes the answer unknown, unless the doses that are known
    already reach the threshold (decision X6).
    """
    rated = running & set(NEE_TERMS)
    vaso_like = running & set(VASOPRESSIN_LIKE)
    angiotensin = "angiotensin_ii" in running
    if not rated and not angiotensin:
        if vaso_like:  # vasopressin alone: NEE 0 on vasopressin, below 10
            return HighDose(False, HIGH_DOSE_RULES["vasopressin"], 0.0,
                            note=f"{', '.join(sorted(vaso_like))} without another vasopressor")
        return HighDose(False, None, None, note="no vasopressor running")
    if not rated:
        return HighDose(None, None, None, ("angiotensin II dose threshold",),
                        note="angiotensin II has no high-dose threshold in the published scales")
    if vaso_like:
        rule = HIGH_DOSE_RULES["vasopressin"]
    elif len(rated) == 1 and not angiotensin:
        (agent,) = rated
        rule = HIGH_DOSE_RULES[agent]
        d = doses.get(agent)
        if d is None or d.value is None:
            miss = f"{agent} dose" if d is None else "weight (dose charted per kg)"
            return HighDose(None, rule, None, (miss,))
        return HighDose(d.value >= rule.threshold, rule, d.value)
    else:
        rule = HIGH_DOSE_RULES["combination"]
    total, missing = nee(doses, rated)
    note = "angiotensin II is not in the NEE formula" if angiotensin else ""
    if total >= rule.threshold:
        return HighDose(True, rule, total, missing, note)
    if missing or angiotensin:
        return HighDose(None, rule, total, missing, note)
    return HighDose(False, rule, total)
