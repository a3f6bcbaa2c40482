"""ASTCT CRS and ICANS for one assessment (spec §1.7 and §2.6), with reasons and flags.

``Snapshot`` holds what is in force at one assessment time after carry-forward and look-back
(``reference.py`` and ``timeline.py`` build it). ``grade_crs`` and ``grade_icans`` are the
readable reference of the rules, the tests' oracle, never used in production: the one compiled
pass (``kernel.py``, explained by ``explain.py``) must agree with them row for row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import rules
from .fields import RAISED_ICP_SIGNS
from .instants import elapsed, is_after
from .result import Flag, Grade, Reason
from .rules import (  # noqa: F401 (re-exported: the reference's callers import them here)
    ANTICYTOKINE,
    ANTIPYRETIC,
    CORTICOSTEROID,
    TOCILIZUMAB,
    fahrenheit_to_celsius,
    round_temp,
)


@dataclass(frozen=True)
class Snapshot:
    time: datetime
    infusion_time: datetime | None = None  # the patient's CAR-T infusion, when recorded
    age_years: float | None = None
    # vitals: latest value inside the vitals window, with its time and whether the row it came
    # from attributed the finding to another cause
    temp_c: float | None = None
    temp_time: datetime | None = None
    fever_attributed: bool = False
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    bp_time: datetime | None = None
    hypotension_attributed: bool = False  # 'hypotension' attributed on this row
    bp_attributed: bool = False           # ... or on the row the blood pressure came from
    fluid_bolus_time: datetime | None = None
    spo2_pct: float | None = None
    spo2_time: datetime | None = None
    # ongoing support: in force now (None = never recorded), with the time it was recorded
    o2_device: str | None = None
    o2_flow_l_min: float | None = None
    o2_time: datetime | None = None
    hypoxia_attributed: bool = False
    vasopressors: frozenset[str] | None = None
    vasopressors_time: datetime | None = None
    # CRS episode state (CRS-R3b)
    episode_open: bool = False
    episode_onset: datetime | None = None
    waiver_since: datetime | None = None
    waiver_drug: str | None = None
    prior_anticytokine_or_steroid: datetime | None = None  # latest such drug so far (A3)
    died_of: str | None = None
    # neuro: latest inside the neuro window
    ice_total: int | None = None
    ice_time: datetime | None = None
    capd_total: int | None = None
    capd_time: datetime | None = None
    consciousness: str | None = None
    consciousness_time: datetime | None = None
    sedated: bool = False
    sedated_time: datetime | None = None
    cognitive_attributed: bool = False      # 'neuro' on this row or on the ICE/CAPD's row
    consciousness_attributed: bool = False  # 'neuro' on this row or on the consciousness row
    # decision N13: an 'unarousable' record that would be current, no longer counting because a
    # later ICE with points or CAPD (what, when) shows the patient arousable
    unarousable_disproved: datetime | None = None
    arousable_shown_by: str | None = None
    arousable_shown_time: datetime | None = None
    baseline_ice: int | None = None
    # neuro events: latest recorded value, current until a later record replaces it
    seizure: str | None = None
    seizure_time: datetime | None = None
    motor_weakness: str | None = None
    motor_time: datetime | None = None
    cerebral_edema: str | None = None
    edema_time: datetime | None = None
    raised_icp_signs: frozenset[str] | None = None
    icp_time: datetime | None = None

    @property
    def before_infusion(self) -> bool:
        """Timed before the infusion: a baseline observation, never CRS or ICANS (spec §1.1,
        decision C17). With no infusion time recorded, no row is."""
        return self.infusion_time is not None and is_after(self.infusion_time, self.time)


def _num(x: float) -> str:
    return f"{x:g}"


# ------------------------------------------------------------------------------------- CRS
def hypotension_component(s: Snapshot) -> tuple[int | None, list[Reason], list[Flag]]:
    """CRS-R4 / CRS-R4b / §1.5 / §1.6. None when nothing tells whether BP is low."""
    reasons: list[Reason] = []
    flags: list[Flag] = []
    running = s.vasopressors or frozenset()
    for agent in sorted(running):
        rule = rules.VASOACTIVE_RULE[agent]
        if rule.review_flag == "inotrope":
            flags.append(Flag("inotrope", "review", f"{agent} running: an inotrope, not counted "
                              "as a vasopressor (ASTCT 2019 counts vasopressors only): review the "
                              "haemodynamics"))
        elif rule.review_flag == "terlipressin":
            flags.append(Flag("terlipressin", "review", "terlipressin running: counted like "
                              "vasopressin (ASTCT 2019 names vasopressin only): review"))
    counted = sorted(a for a in running if rules.VASOACTIVE_RULE[a].counts_as_vasopressor)
    vaso_like = sorted(a for a in running if rules.VASOACTIVE_RULE[a].vasopressin_like)
    bp = rules.read_blood_pressure(s.sbp_mmhg, s.dbp_mmhg, s.age_years)
    t, limit, low_sbp, mean, low_map = (bp.threshold, bp.sbp_limit, bp.low_sbp, bp.map_mmhg,
                                        bp.low_map)
    if counted or vaso_like:
        component = (rules.HYPOTENSION_COMPONENT_MULTIPLE if len(counted) >= 2
                     else rules.HYPOTENSION_COMPONENT_BY_PRESSORS[1])
        if len(counted) >= 2:
            what = f"{' + '.join(counted)} running together: multiple vasopressors"
        elif counted:
            what = f"{counted[0]} running: one vasopressor"
            if vaso_like:
                what += f" (with {', '.join(vaso_like)}, not counted as a second agent)"
        else:
            what = f"{', '.join(vaso_like)} alone: counted as one vasopressor"
        assert s.vasopressors_time is not None
        reasons.append(Reason("CRS-R4", f"{what} -> hypotension component {component}",
                              s.vasopressors_time))
    elif low_sbp or low_map or s.fluid_bolus_time is not None:
        # An attribution covers the finding it was made about: the BP row's attribution covers
        # that low BP; only an attribution on this row covers a bolus (CRS-R7, decision C5).
        low_counts = (low_sbp or low_map) and not (s.hypotension_attributed or s.bp_attributed)
        bolus_counts = s.fluid_bolus_time is not None and not s.hypotension_attributed
        component = rules.HYPOTENSION_COMPONENT_BY_PRESSORS[0]
        if low_counts:
            assert s.bp_time is not None and s.sbp_mmhg is not None
            why = (f"SBP {_num(s.sbp_mmhg)} mmHg < {_num(limit)} ({t.population})" if low_sbp
                   else f"MAP {mean:.0f} mmHg < {_num(t.map_below or 0)} ({t.population})")
            reasons.append(Reason("CRS-R4", f"{why}, no vasopressor -> hypotension component 2",
                                  s.bp_time))
        if bolus_counts:
            assert s.fluid_bolus_time is not None
            reasons.append(Reason("CRS-R4", "fluid bolus given for blood pressure, no "
                                  "vasopressor -> hypotension component 2", s.fluid_bolus_time))
        if not (low_counts or bolus_counts):
            return _attributed_hypotension(s, component, reasons, flags)
        return component, reasons, flags
    elif s.sbp_mmhg is None:
        return None, reasons, flags  # no BP in the window and nothing running: not known
    else:
        component = 0
    if component and s.hypotension_attributed:
        return _attributed_hypotension(s, component, reasons, flags)
    return component, reasons, flags


def _attributed_hypotension(s: Snapshot, component: int, reasons: list[Reason],
                            flags: list[Flag]) -> tuple[int, list[Reason], list[Flag]]:
    flags.append(Flag("attributed", "review", f"hypotension (component {component}) "
                      "attributed to another cause by a physician: excluded (ASTCT 2019)"))
    reasons.append(Reason("CRS-R7", f"hypotension attributed to another cause: component "
                          f"{component} not counted", s.time))
    return 0, reasons, flags


def hypoxia_component(s: Snapshot) -> tuple[int | None, list[Reason], list[Flag], bool]:
    """CRS-R5 with the device table of §1.4. Returns (component, reasons, flags, provisional)."""
    reasons: list[Reason] = []
    flags: list[Flag] = []
    provisional = False
    if s.spo2_pct is not None and s.spo2_pct < 90 and s.o2_device in (None, "room_air"):
        assert s.spo2_time is not None
        flags.append(Flag("hypoxia_no_o2", "urgent", f"SpO2 {_num(s.spo2_pct)} % with no oxygen "
                          "documented: hypoxia, no O2 documented. ASTCT 2019 grades by the "
                          "support needed, so the grade stays as it is until O2 is recorded"))
    if s.o2_device is None:
        return None, reasons, flags, provisional
    rule = rules.DEVICE_RULE[s.o2_device]
    flow = None if s.o2_device in rules.PRESSURE_DEVICES else s.o2_flow_l_min
    if flow is None and s.o2_device in rules.FLOW_DEPENDENT_DEVICES:
        component = rule.component_low_flow
        provisional = True
        how = (f"{rule.label}, flow not recorded -> low-flow assumed, component {component} "
               f"(above {_num(rules.LOW_FLOW_MAX_L_MIN)} L/min it would be "
               f"{rule.component_high_flow})")
    else:
        high = flow is not None and flow > rules.LOW_FLOW_MAX_L_MIN
        component = rule.component_high_flow if high else rule.component_low_flow
        at = "" if flow is None else f" {_num(flow)} L/min"
        band = ("" if flow is None or rule.component_low_flow == rule.component_high_flow
                else (" (> 6 L/min: high-flow)" if high else " (<= 6 L/min: low-flow)"))
        how = f"{rule.label}{at}{band} -> hypoxia component {component}"
        if rule.review_at_low_flow and flow is not None and not high:
            provisional = True
            flags.append(Flag("hfnc_low_flow", "review", f"high-flow nasal cannula run at "
                              f"{_num(flow)} L/min: graded 3 by device. ASTCT 2019 defines high "
                              "flow as > 6 L/min, so 2 is defensible: clinician to confirm"))
    if component:
        assert s.o2_time is not None
        reasons.append(Reason("CRS-R5", how, s.o2_time))
    if component and s.hypoxia_attributed:
        flags = [f for f in flags if f.code != "hfnc_low_flow"]  # moot once attributed
        flags.append(Flag("attributed", "review", f"oxygen need (component {component}) "
                          "attributed to another cause by a physician: excluded (ASTCT 2019)"))
        reasons.append(Reason("CRS-R7", f"hypoxia attributed to another cause: component "
                              f"{component} not counted", s.time))
        component, provisional = 0, False
    return component, reasons, flags, provisional


def grade_crs(s: Snapshot) -> Grade:
    """ASTCT CRS grade of one snapshot (spec §1.7), with the review flags of §1.8."""
    if s.before_infusion:  # spec §1.1: a baseline observation (decision C17)
        return _before_infusion_crs(s)
    if s.died_of == "crs":  # CRS-R9: only a clinician's record of death caused by CRS
        return Grade(5, "final", (Reason("CRS-R9", "death recorded as caused by CRS", s.time),))
    bp, bp_reasons, bp_flags = hypotension_component(s)
    o2, o2_reasons, o2_flags, o2_provisional = hypoxia_component(s)
    reasons: list[Reason] = []
    flags = bp_flags + o2_flags
    temp = None if s.temp_c is None else round_temp(s.temp_c)
    fever = temp is not None and temp >= rules.FEVER_C and not s.fever_attributed
    if temp is not None:
        assert s.temp_time is not None
        if temp >= rules.FEVER_C and s.fever_attributed:
            reasons.append(Reason("CRS-R1", f"temperature {temp} °C attributed to another "
                                  "cause: not counted as fever", s.temp_time))
            flags.append(Flag("attributed", "review", f"fever {temp} °C attributed to another "
                              "cause by a physician: excluded from the CRS grade (ASTCT 2019)"))
        else:
            reasons.append(Reason("CRS-R1", f"temperature {temp} °C: " + (
                "fever (>= 38.0 °C)" if fever else "no fever (< 38.0 °C)"), s.temp_time))
    waiver = s.episode_open and s.waiver_since is not None
    components = [c for c in (bp, o2) if c is not None]
    worst = max(components, default=0)
    missing = [name for name, c in (("blood pressure or vasopressors", bp),
                                    ("oxygen support", o2)) if c is None]
    provisional = o2_provisional

    if temp is None and not s.episode_open:  # (the waiver needs an open episode)
        return Grade(None, "not_evaluable", (Reason(
            "CRS-R1", f"no temperature {_lookback(s, rules.VITALS_WINDOW)}: CRS not "
            "evaluable", s.time),), tuple(flags))
    if fever:
        grade = max(1, worst)
        reasons += bp_reasons + o2_reasons
        reasons.append(Reason("CRS-R6", _combine("fever", bp, o2, grade), s.time))
        return _crs(grade, provisional or bool(missing), reasons, flags, missing, s)
    if waiver:
        assert s.waiver_since is not None and s.episode_onset is not None
        reasons.append(Reason("CRS-R3", f"CRS episode open since {s.episode_onset:%d %b %H:%M} "
                              f"and {s.waiver_drug} given: fever no longer required",
                              s.waiver_since))
        reasons += bp_reasons + o2_reasons
        reasons.append(Reason("CRS-R6", _combine("fever waiver", bp, o2, worst) + (
            "" if worst else " (episode open, no qualifying finding now)"), s.time))
        return _crs(worst, provisional or bool(missing), reasons, flags, missing, s)
    if s.episode_open:
        # Spec silent: an open episode, afebrile now, no antipyretic or anti-cytokine yet.
        # Conservative reading (docs/clinical-decisions.md): grade from the components,
        # provisional, and ask a clinician.
        assert s.episode_onset is not None
        if temp is None:
            return Grade(None, "not_evaluable", (Reason(
                "CRS-R1", f"no temperature {_lookback(s, rules.VITALS_WINDOW)}: CRS "
                "not evaluable", s.time),), tuple(flags))
        reasons += bp_reasons + o2_reasons
        if worst:
            flags.append(Flag("afebrile_open_episode", "review", f"CRS episode open since "
                              f"{s.episode_onset:%d %b %H:%M}, afebrile without antipyretic or "
                              f"anti-cytokine therapy, hypotension/hypoxia present: graded "
                              f"{worst} pending clinician confirmation"))
        reasons.append(Reason("CRS-R3b", f"CRS episode open since {s.episode_onset:%d %b %H:%M}"
                              f", no fever now: grade {worst} from hypotension/hypoxia", s.time))
        return _crs(worst, provisional or bool(missing) or worst > 0, reasons, flags, missing, s)
    # no fever and no open episode: CRS grade 0 whatever the other findings (CRS-R2)
    reasons.append(Reason("CRS-R2", "no qualifying fever and no open CRS episode: grade 0",
                          s.time))
    if worst and s.prior_anticytokine_or_steroid is not None:
        flags.append(Flag("fever_possibly_masked", "urgent", "fever possibly masked: "
                          "hypotension/hypoxia with no open CRS episode after a corticosteroid, "
                          "tocilizumab or another anti-cytokine agent (prophylaxis, or treatment "
                          "of an earlier episode or of "
                          f"ICANS; given {s.prior_anticytokine_or_steroid:%d %b %H:%M}), would be "
                          f"CRS grade {worst} if a clinician confirms CRS (ASTCT 2019)"))
        return Grade(0, "provisional", tuple(reasons + bp_reasons + o2_reasons), tuple(flags))
    if worst:
        what = " and ".join(n for n, c in (("hypotension", bp), ("hypoxia", o2)) if c)
        flags.append(Flag("without_fever", "review", f"{what} without fever: alternative cause "
                          "or early CRS? (ASTCT 2019)"))
        reasons += bp_reasons + o2_reasons
    else:  # a finding excluded by attribution is still said (spec §0.4: shown, not graded)
        reasons += [r for r in bp_reasons + o2_reasons if r.rule == "CRS-R7"]
    return Grade(0, "final", tuple(reasons), tuple(flags))


def _crs(grade: int, provisional: bool, reasons: list[Reason], flags: list[Flag],
         missing: list[str], s: Snapshot) -> Grade:
    for m in missing:
        flags.append(Flag("not_recorded", "review", f"{m} not recorded: the CRS grade may be "
                          "higher once recorded"))
    return Grade(grade, "provisional" if provisional else "final", tuple(reasons), tuple(flags))


def _combine(basis: str, bp: int | None, o2: int | None, grade: int) -> str:
    parts = []
    for name, c in (("hypotension", bp), ("hypoxia", o2)):
        parts.append(f"{name} {'not recorded' if c is None else c}")
    return f"{basis} with {' and '.join(parts)}: CRS grade {grade}"


def _hours(window: timedelta) -> int:
    return int(window.total_seconds() // 3600)


def _lookback(s: Snapshot, window: timedelta) -> str:
    """How far back a row looked for a finding: the window, or back to the infusion when that
    is nearer (a row after the infusion never reads a baseline observation, decision C17)."""
    if s.infusion_time is not None and elapsed(s.time, s.infusion_time) < window:
        return "since the infusion"
    return f"in the last {_hours(window)} h"


# ------------------------------------------------------------------- before the infusion
PRE_INFUSION_KEEPS = frozenset({"hypoxia_no_o2"})  # patient safety, not CRS (decision C17)


def _before_infusion_crs(s: Snapshot) -> Grade:
    """Spec §1.1 (decision C17): a row before the infusion is a baseline observation, CRS 0
    final; a fever there is an info flag for the infusion team, never CRS."""
    flags = [f for f in hypoxia_component(s)[2] if f.code in PRE_INFUSION_KEEPS]
    reasons = []
    temp = None if s.temp_c is None else round_temp(s.temp_c)
    if temp is not None and temp >= rules.FEVER_C:
        assert s.temp_time is not None
        reasons.append(Reason("CRS-R1", f"temperature {temp} °C before the infusion: a fever, "
                              "but not CRS", s.temp_time))
        flags.append(Flag("pre_infusion_fever", "info", f"fever {temp} °C before the infusion: "
                          "not CRS, which follows the cell infusion (ASTCT 2019); infection "
                          "work-up, the infusion team decides whether to go ahead"))
    reasons.append(Reason("CRS §1.1", "before the infusion: a baseline observation, not "
                          "graded as CRS (ASTCT 2019: CRS follows the cell therapy) -> grade 0",
                          s.time))
    return Grade(0, "final", tuple(reasons), tuple(flags))


def _before_infusion_icans(s: Snapshot) -> Grade:
    """Spec §1.1 and B4 (decision C17): a neuro assessment before the infusion is the
    baseline, ICANS 0 final, never ICANS onset."""
    reasons = []
    if s.ice_total is not None and not s.sedated:
        assert s.ice_time is not None
        reasons.append(Reason("ICANS-R2", f"ICE {s.ice_total}/10 before the infusion: the "
                              "baseline later ICE scores are read against", s.ice_time))
    reasons.append(Reason("ICANS §2.1", "before the infusion: a baseline assessment, not "
                          "graded as ICANS (ASTCT 2019: ICANS follows the cell therapy) -> "
                          "grade 0", s.time))
    return Grade(0, "final", tuple(reasons))


# ----------------------------------------------------------------------------------- ICANS
def grade_icans(s: Snapshot) -> Grade:
    """ASTCT ICANS grade of one snapshot (spec §2.6): the highest domain grade (ICANS-R1)."""
    if s.before_infusion:  # spec §1.1, B4: the baseline (decision C17)
        return _before_infusion_icans(s)
    if s.died_of == "icans":  # ICANS-R9
        return Grade(5, "final", (Reason("ICANS-R9", "death recorded as caused by ICANS",
                                         s.time),))
    reasons: list[Reason] = []
    flags: list[Flag] = []
    cognitive: int | None = None
    level: int | None = None
    if s.sedated:
        assert s.sedated_time is not None
        reasons.append(Reason("ICANS-R5", "sedated: ICE/CAPD and consciousness cannot be "
                              "assessed", s.sedated_time))
        flags.append(Flag("neuro_not_assessable", "review", "neuro exam not assessable "
                          "(sedation or paralysis): ICANS from seizure, motor and imaging "
                          "findings only"))
    else:
        cognitive = _cognitive_domain(s, reasons, flags)
        level = _consciousness_domain(s, reasons, flags)
    events = [_event("ICANS-R6", "seizure", s.seizure, s.seizure_time, rules.SEIZURE_GRADE,
                     reasons),
              _event("ICANS §2.3", "motor weakness", s.motor_weakness, s.motor_time,
                     rules.MOTOR_GRADE, reasons),
              _event("ICANS §2.3", "cerebral oedema", s.cerebral_edema, s.edema_time,
                     rules.CEREBRAL_EDEMA_GRADE, reasons),
              _icp_domain(s, reasons)]
    bedside = [cognitive, level]
    if not s.sedated:
        lookback = _lookback(s, rules.NEURO_WINDOW)
        if cognitive is None:
            reasons.append(Reason("ICANS-R2", f"no ICE or CAPD {lookback}", s.time))
        if level is None and s.unarousable_disproved is not None:  # decision N13
            assert s.arousable_shown_time is not None
            open_grade = max((e for e in events if e is not None), default=0) < 4
            reasons.append(Reason("ICANS-R4", f"unarousable recorded "
                                  f"{s.unarousable_disproved:%d %b %H:%M} no longer counts: the "
                                  f"later {s.arousable_shown_by} shows the patient arousable "
                                  "(ASTCT 2019: an unarousable patient cannot do the ICE or "
                                  "CAPD); level of consciousness not re-assessed since"
                                  + (", so the grade is provisional until it is" if open_grade
                                     else ""), s.arousable_shown_time))
        elif level is None:
            reasons.append(Reason("ICANS-R4", f"level of consciousness not recorded "
                                  f"{lookback}", s.time))
    if all(d is None for d in bedside):
        known = [d for d in events if d is not None]
        if not known:
            since = " since the infusion" if s.infusion_time is not None else ""
            reasons.append(Reason("ICANS-R5", f"no neuro assessment "
                                  f"{_lookback(s, rules.NEURO_WINDOW)} and no seizure, motor or "
                                  f"imaging record{since}: ICANS not evaluable", s.time))
            return Grade(None, "not_evaluable", tuple(reasons), tuple(flags))
        grade = max(known)
        provisional = grade < 4
    else:
        # with the bedside domains assessed, an unrecorded event domain is taken as absent
        grade = max([d for d in bedside + events if d is not None])
        provisional = grade < 4 and None in bedside
    if any(f.code == "baseline_deficit" for f in flags) and grade < 4:
        provisional = True
    reasons.append(Reason("ICANS-R1", f"highest domain grade: ICANS grade {grade}", s.time))
    return Grade(grade, "provisional" if provisional else "final", tuple(reasons), tuple(flags))


def _cognitive_domain(s: Snapshot, reasons: list[Reason], flags: list[Flag]) -> int | None:
    use_capd = s.capd_total is not None and (s.ice_total is None or (
        s.capd_time is not None and s.ice_time is not None and is_after(s.capd_time, s.ice_time)))
    if use_capd:
        assert s.capd_time is not None and s.capd_total is not None
        domain = rules.band_grade(rules.CAPD_BANDS, s.capd_total)
        if s.age_years is not None and int(s.age_years) > rules.CAPD_MAX_AGE_YEARS:
            flags.append(Flag("instrument_age", "info", f"CAPD used at age {int(s.age_years)}: "
                              "ICE is expected from 13 years unless developmental delay "
                              "(ASTCT 2019)"))
        text = f"CAPD {s.capd_total}" + (" (>= 9: screen positive)" if s.capd_total >= 9 else "")
        rule, when = "ICANS §2.5", s.capd_time
    elif s.ice_total is not None:
        assert s.ice_time is not None
        domain = rules.band_grade(rules.ICE_BANDS, s.ice_total)
        if s.age_years is not None and s.age_years < rules.CAPD_MAX_AGE_YEARS:
            flags.append(Flag("instrument_age", "info", f"ICE used at age {int(s.age_years)}: "
                              "CAPD is expected below 12 years (ASTCT 2019)"))
        text = f"ICE {s.ice_total}/10"
        rule, when = "ICANS-R2", s.ice_time
        if (s.baseline_ice is not None and s.baseline_ice < rules.ICE_MAX and domain
                and s.ice_total >= s.baseline_ice and not s.cognitive_attributed):
            flags.append(Flag("baseline_deficit", "review", f"baseline ICE {s.baseline_ice} "
                              f"before infusion and ICE {s.ice_total} now: the deficit may be "
                              "pre-existing, attribution needed (ASTCT 2019 makes no baseline "
                              "adjustment)"))
    else:
        return None
    if domain and s.cognitive_attributed:
        reasons.append(Reason("ICANS-R5", f"{text} attributed to another cause by a "
                              "physician: not counted", when))
        flags.append(Flag("attributed", "review", f"{text} attributed to another cause: "
                          "excluded from the ICANS grade"))
        return 0
    reasons.append(Reason(rule, f"{text} -> domain grade {domain}", when))
    return domain


def _consciousness_domain(s: Snapshot, reasons: list[Reason], flags: list[Flag]) -> int | None:
    if s.consciousness is None:
        return None
    assert s.consciousness_time is not None
    domain = rules.CONSCIOUSNESS_GRADE[s.consciousness]
    words = s.consciousness.replace("_", " ")
    if domain and s.consciousness_attributed:
        reasons.append(Reason("ICANS-R5", f"{words} attributed to another cause: not counted",
                              s.consciousness_time))
        flags.append(Flag("attributed", "review", f"{words} attributed to another cause: "
                          "excluded from the ICANS grade"))
        return 0
    if domain:
        reasons.append(Reason("ICANS-R4", f"{words} -> domain grade {domain}",
                              s.consciousness_time))
    return domain


def _event(rule: str, name: str, value: str | None, when: datetime | None,
           table: dict[str, int], reasons: list[Reason]) -> int | None:
    if value is None:
        return None
    domain = table[value]
    if domain:
        assert when is not None
        reasons.append(Reason(rule, f"{name}: {value.replace('_', ' ')} -> domain grade "
                              f"{domain}", when))
    return domain


def _icp_domain(s: Snapshot, reasons: list[Reason]) -> int | None:
    if s.raised_icp_signs is None:
        return None
    if not s.raised_icp_signs:
        return 0
    assert s.icp_time is not None
    signs = ", ".join(x.replace("_", " ") for x in RAISED_ICP_SIGNS if x in s.raised_icp_signs)
    reasons.append(Reason("ICANS §2.3", f"raised ICP sign: {signs} -> domain grade "
                          f"{rules.RAISED_ICP_SIGN_GRADE}", s.icp_time))
    return rules.RAISED_ICP_SIGN_GRADE
