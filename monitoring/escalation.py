"""Escalation flags as one table of rules, evaluated over a patient's whole course.

Each rule looks at one assessment in the context of the one before it (the course in time
order), so an unchanged condition raises nothing again and a new or worsening one raises a new
flag. Evaluating the course is a pure function of the effective record: the same record gives
the same flags whatever order its rows were entered in (``sync`` stores new flags and withdraws
unacknowledged ones a later correction or back-dated entry has made untrue). Decision support:
every flag asks a person to look; none decides. Sources are named in the messages' rules and in
docs/clinical-decisions.md (E1-E7).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grading
from grading import guidance, news2
from grading.instants import elapsed, instant, is_after, shifted
from grading.lab_scores import iechs
from grading.lab_scores.labs import LabValue, day_of, latest
from grading.rules import (
    DEVICE_RULE,
    DISPROVED_BY_LATER_ICE_OR_CAPD,
    FEVER_C,
    NEURO_WINDOW,
    VITALS_WINDOW,
    read_blood_pressure,
)
from grading.timeline import RowResult

from .schedule import Due
from .support import support_in_force

SEVERITIES = ("info", "urgent", "emergency")
ENGINE_SEVERITY = {"info": "info", "review": "info", "urgent": "urgent"}  # grading Flag -> ward
NOT_RAISED = {"soft_limit"}  # confirmed by the nurse at entry; shown with the row instead
ADULT_MAP_BELOW = 65         # spec §1.6 [I]
SPO2_TARGET_BELOW = {1: 94, 2: 88}  # below the usual target range of each NEWS2 scale (E3 [I])
ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
WITHDRAWN = "no longer present after a correction or a back-dated entry"


# Oxygen support from least to most (E6 [I]); the ASTCT component decides first.
SUPPORT_RANK = {"room_air": 0, "blow_by": 1, "nasal_cannula": 2, "simple_face_mask": 3,
                "venturi_mask": 4, "non_rebreather_mask": 5, "high_flow_nasal_cannula": 6,
                "cpap": 7, "bipap": 8, "mechanical_ventilation": 9}
VITAL_NAMES = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_per_min", "spo2_pct")
NEURO_NAMES = ("consciousness", "ice")
HYPOTENSION_STEP_MMHG = 10   # a worse hypotension level every 10 mmHg lower (E1)
SPO2_STEP_PCT = 2            # a worse SpO2 level every 2 points lower (E1)


@dataclass(frozen=True)
class Context:
    """One assessment in its course. ``values`` are the latest recorded values in force now
    (vital signs within 4 h, neuro within 12 h - spec §0.3 look-backs), so a row that records
    only some observations neither hides nor repeats the others."""

    result: RowResult
    row: Mapping[str, Any]                 # this assessment's own canonical values
    values: Mapping[str, Any]              # carried-forward values in force at this time
    device: str | None
    flow: float | None
    fio2: float | None
    pressors: str | None
    crs: int | None                        # the latest evaluable grades (not-evaluable rows
    icans: int | None                      # keep the last known grade)
    ice: int | None                        # a complete ICE on this row
    previous_ice: int | None               # the latest earlier complete ICE
    previous_temp: float | None            # the latest earlier recorded temperature
    baseline_ice: int | None
    age: float | None
    scale2: bool
    news: news2.News2
    tocilizumab: guidance.TocilizumabCount
    seizures: int                          # seizure rows so far, this one included
    before_infusion: bool = False          # timed before the CAR-T infusion (decision C17)
    icu: tuple[str, ...] = field(default=())
    before: Context | None = None


@dataclass(frozen=True)
class FlagRule:
    """``level(c)`` says how bad the condition is now (0 = absent; any comparable value) and
    why; the rule fires when the level is higher than at the previous assessment."""

    code: str
    severity: str | Callable[[Context], str]
    respond: str                            # who, and how soon
    level: Callable[[Context], tuple[Any, str]]


NONE: tuple[Any, str] = (0, "")


def _fever(c: Context) -> tuple[Any, str]:
    t = c.row.get("temp_c")
    if c.before_infusion or t is None or grading.round_temp(t) < FEVER_C:
        return NONE
    if c.previous_temp is not None and grading.round_temp(c.previous_temp) >= FEVER_C:
        return NONE
    if "fever" in str(c.row.get("attributed_elsewhere") or "").split(";"):
        return NONE  # a physician has attributed this fever to another cause (decision E13)
    # an event: each new fever is its own level (its time), so a second fever fires again
    return (c.result.time.timestamp(),
            f"New fever {grading.round_temp(t):.1f} °C: inform the physician (ASTCT 2019: "
            "fever ≥ 38.0 °C is grade 1 unless another cause is documented)")


def _pre_infusion_fever(c: Context) -> tuple[Any, str]:
    """Decision C17 / E8: a fever before the infusion is not CRS (the engine grades it 0 and
    flags it); the infusion team is told once, while the fever lasts."""
    flag = next((f for f in c.result.flags if f.code == "pre_infusion_fever"), None)
    if flag is None:
        return NONE
    return 1, flag.message[0].upper() + flag.message[1:]


def _grade_rise(syndrome: str) -> Callable[[Context], tuple[Any, str]]:
    def level(c: Context) -> tuple[Any, str]:
        g = getattr(c, syndrome)
        if not g:
            return NONE
        before = getattr(c.before, syndrome) if c.before else None
        was = "not evaluable or not graded yet" if before is None else f"grade {before}"
        return g, f"{syndrome.upper()} grade {g} (was {was}): physician review"
    return level


def _emergency_from_3(syndrome: str) -> Callable[[Context], str]:
    return lambda c: "emergency" if (getattr(c, syndrome) or 0) >= 3 else "urgent"


def _crs_2(c: Context) -> tuple[Any, str]:
    if (c.crs or 0) >= 2:
        return 1, ("CRS grade ≥ 2: notify the physician; continuous cardiac telemetry and pulse "
                   "oximetry (ASCO 2021)")
    return NONE


def _icu(c: Context) -> tuple[Any, str]:
    before = set(c.before.icu) if c.before else set()
    new = [t for t in c.icu if t not in before]
    if not new:
        return NONE
    # an event: a trigger that was not there at the previous assessment
    return c.result.time.timestamp(), "ICU review: " + "; ".join(new) + " (ASCO 2021)"


def _hypotension(c: Context) -> tuple[Any, str]:
    sbp, dbp = c.values.get("sbp_mmhg"), c.values.get("dbp_mmhg")
    bp = read_blood_pressure(sbp, dbp, c.age)
    found, depth = [], 0.0
    if bp.low_sbp:
        found.append(f"SBP {sbp:g} < {bp.sbp_limit:g} ({bp.threshold.population})")
        depth = bp.sbp_limit - sbp
    elif bp.low_map:
        found.append(f"MAP {bp.map_mmhg:.0f} < {bp.threshold.map_below:g}")
    level = 1 + int(depth // HYPOTENSION_STEP_MMHG) if found else 0
    if c.row.get("fluid_bolus_given"):
        found.append("fluid bolus given for BP")
        level = max(level, 1)
    if c.pressors not in (None, "none"):
        found.append(c.pressors.replace(";", " + ") + " running")
        level = max(level, 2) + (1 if found[0].startswith("SBP") else 0)
    if not found:
        return NONE
    return level, ("Hypotension: " + "; ".join(found)
                   + " (age-based limits after CARTOX, Mahadeo 2019): physician review")


def _spo2(c: Context) -> tuple[Any, str]:
    s = c.values.get("spo2_pct")
    target = SPO2_TARGET_BELOW[2 if c.scale2 else 1]
    if s is None or s >= target:
        return NONE
    return (1 + int((target - 1 - s) // SPO2_STEP_PCT),
            f"SpO2 {s:g} % below the target (≥ {target} %)")


def _oxygen(c: Context) -> tuple[Any, str]:
    if c.device in (None, "room_air"):
        return NONE
    rule = DEVICE_RULE[c.device]
    component = rule.component_high_flow if (c.flow or 0) > 6 else rule.component_low_flow
    what = rule.label + (f" {c.flow:g} L/min" if c.flow else "") + (
        f", FiO2 {c.fio2:g} %" if c.fio2 else "")
    return ((component, SUPPORT_RANK[c.device], c.fio2 or 0, c.flow or 0),
            f"New or increased oxygen: {what}: physician review")


def _ice_fall(c: Context) -> tuple[Any, str]:
    # an explicit comparison with the previous complete ICE (not a carried level)
    if c.ice is None:
        return NONE
    parts = []
    if c.previous_ice is not None and c.ice <= c.previous_ice - 1:
        parts.append(f"ICE {c.ice} fell from {c.previous_ice}")
    if c.baseline_ice is not None and c.ice < c.baseline_ice and (
            c.previous_ice is None or c.previous_ice >= c.baseline_ice):
        parts.append(f"ICE {c.ice} below the baseline {c.baseline_ice}")
    if not parts:
        return NONE
    return (c.result.time.timestamp(),
            "; ".join(parts) + ": physician review, neuro checks more often")


def _neuro_event(c: Context) -> tuple[Any, str]:
    found, level = [], 0
    if c.row.get("seizure") not in (None, "none"):
        found.append("seizure (" + str(c.row["seizure"]).replace("_", " ") + ")")
    if c.values.get("motor_weakness") == "deep_focal":
        found.append("deep focal motor weakness")
        level += 1
    if c.values.get("cerebral_edema") not in (None, "none"):
        found.append(f"cerebral oedema ({c.values['cerebral_edema']})")
        level += 1
    if c.values.get("raised_icp_signs") not in (None, "none"):
        found.append("raised-ICP signs (" + str(c.values["raised_icp_signs"]).replace(
            ";", ", ") + ")")
        level += 1
    if not found:
        return NONE
    # every seizure is a new event; motor weakness, oedema and ICP signs count when they appear
    return ((c.seizures, level), "Neuro emergency: " + ", ".join(found) + ": physician now")


def _news_level(n: news2.News2 | None) -> int:
    if n is None or n.total is None:
        return 0
    if n.total >= 7:
        return 2
    return 1 if n.total >= 5 or n.red else 0


def _news(band: int) -> Callable[[Context], tuple[Any, str]]:
    def level(c: Context) -> tuple[Any, str]:
        now = _news_level(c.news)
        if now < band:
            return NONE
        if now > band:  # NEWS2 >= 7 is news2_7's: keep the level, say nothing here
            return now, ""
        n = c.news
        return now, (f"{n.breakdown(name_red=True)}: {n.response} ({news2.SOURCE}; NEWS2 "
                     "never rules out CRS or ICANS)")
    return level


def _tocilizumab(c: Context) -> tuple[Any, str]:
    limits = [w for w in c.tocilizumab.warnings if not w.startswith("last dose")]
    if not limits:
        return NONE
    return len(limits), "Tocilizumab limit: " + "; ".join(limits) + " (ASCO 2021)"


RULES: tuple[FlagRule, ...] = (
    FlagRule("new_fever", "urgent", "physician, within 30 min", _fever),
    FlagRule("pre_infusion_fever", "info", "infusion team, before the infusion",
             _pre_infusion_fever),
    FlagRule("crs_rise", _emergency_from_3("crs"), "physician, within 30 min",
             _grade_rise("crs")),
    FlagRule("icans_rise", _emergency_from_3("icans"), "physician, within 30 min",
             _grade_rise("icans")),
    FlagRule("crs_2", "urgent", "physician, within 30 min", _crs_2),
    FlagRule("icu_review", "emergency", "physician and ICU outreach, immediately", _icu),
    FlagRule("hypotension", "urgent", "physician, within 15 min", _hypotension),
    FlagRule("spo2_low", "urgent", "nurse in charge and physician, within 15 min", _spo2),
    FlagRule("oxygen_increase", "urgent", "physician, within 30 min", _oxygen),
    FlagRule("ice_fall", "urgent", "physician, within 30 min", _ice_fall),
    FlagRule("neuro_event", "emergency", "physician, immediately", _neuro_event),
    FlagRule("news2_5", "urgent", "medical team, immediately", _news(1)),
    FlagRule("news2_7", "emergency", "critical-care team, immediately", _news(2)),
    FlagRule("tocilizumab_limit", "urgent", "physician, before the next dose", _tocilizumab),
)


LEVEL = "_level"  # a rule flag's level, kept by the course (``CourseFlag.level``) only


def evaluate(c: Context) -> list[dict[str, Any]]:
    """The flags one assessment raises: every rule whose level rose since the previous
    assessment, then the grading engine's review flags the previous one did not have."""
    out = []
    for rule in RULES:
        level, message = rule.level(c)
        before = rule.level(c.before)[0] if c.before is not None else 0
        if message and _higher(level, before):
            severity = rule.severity if isinstance(rule.severity, str) else rule.severity(c)
            out.append({"code": rule.code, "severity": severity, "message": message,
                        "respond": rule.respond, LEVEL: level})
    before_codes = {f.code for f in c.before.result.flags} if c.before else set()
    for f in c.result.flags:
        if f.code in NOT_RAISED or f.code in RULE_BY_CODE or f.code in before_codes:
            continue
        out.append({"code": f.code, "severity": ENGINE_SEVERITY[f.severity],
                    "message": f.message, "respond": "nurse in charge, at this round"})
    return out


def _higher(level: Any, before: Any) -> bool:
    """Tuple levels (oxygen, neuro events) compare with each other; against "absent" (0)
    any tuple level is higher, and "absent" is never higher than a tuple."""
    if isinstance(level, tuple) and not isinstance(before, tuple):
        return bool(before == 0)
    if isinstance(before, tuple) and not isinstance(level, tuple):
        return False
    return bool(level > before)


# ------------------------------------------------------------------------------ the course
@dataclass(frozen=True)
class CourseFlag:
    index: int                 # row of the course (time order)
    time: datetime
    flag: dict[str, str]
    level: Any = None          # the rule's level that raised it (None: an engine flag)
    current: bool = True       # still present at the latest assessment (decision E7)


RULE_BY_CODE = {r.code: r for r in RULES}
RETROSPECTIVE = "Retrospective: "
RETROSPECTIVE_END = " (no longer present at the latest assessment)"


RECENT = VITALS_WINDOW  # a flag this close to the latest assessment is about now (E14)


def still_present(f: CourseFlag, last: Context) -> bool:
    """Whether the condition a flag was raised for is still there at the latest assessment:
    a rule's level there is present, and not lower than the flag's unless the rule gives the
    same severity at the level now (SBP 85 now after a late SBP 70 is still hypotension, an
    urgent flag; a grade 3 emergency with grade 1 now is not); an engine flag is still
    on the latest result. A one-off event (a new fever, a seizure, a fall in ICE) is present
    only at its own assessment; what it leads to (the grade, the support) has rules of its
    own. An ICU review is present while a trigger it named is still in force. Whatever the
    rule, a flag raised at an assessment within 4 h (one routine round, the time a vital sign
    stays current) of the latest one is about now: a fever charted late, a seizure an hour
    ago, keep their full severity even if the latest assessment no longer shows them (E14)."""
    if elapsed(last.result.time, f.time) <= RECENT:
        return True  # charted late but within one routine round of now: about now (E14)
    rule = RULE_BY_CODE.get(f.flag["code"])
    if f.flag["code"] == "icu_review":
        # the trigger's first appearance is the event, but the trigger itself (CRS >= 3, ICANS
        # >= 3, ...) is a state: still in force at the latest assessment = about now
        return any(t in f.flag["message"] for t in last.icu)
    if rule is None or f.level is None:
        return f.flag["code"] in {x.code for x in last.result.flags}
    now = rule.level(last)[0]
    if isinstance(now, int | float) and now == 0:
        return False
    # present at a lower level: still about now when the flag is what the rule says now
    # (hypotension, SpO2, oxygen: one severity; a grade rise: urgent below grade 3 either way)
    severity = rule.severity if isinstance(rule.severity, str) else rule.severity(last)
    return not _higher(f.level, now) or severity == f.flag["severity"]


def retrospective(f: dict[str, str]) -> dict[str, str]:
    """A flag raised by a change to the past for a condition the patient no longer has: kept
    for acknowledgement as information, saying so, never as an alarm about now (E7)."""
    return {**f, "severity": "info", "message": RETROSPECTIVE + f["message"] + RETROSPECTIVE_END}


def first_message(message: str) -> str:
    """The message as the rule wrote it (a retrospective flag's marking taken off): part of
    the flag's identity (``key``, E2) whatever its severity turned out to be."""
    if message.startswith(RETROSPECTIVE) and message.endswith(RETROSPECTIVE_END):
        return message[len(RETROSPECTIVE):-len(RETROSPECTIVE_END)]
    return message


def _ages(rows: Sequence[Mapping[str, Any]]) -> list[float | None]:
    """Age on every row: carried forward, and back to rows before the first record (D7)."""
    out: list[float | None] = []
    last = None
    for r in rows:
        last = r.get("age_years", last) if r.get("age_years") is not None else last
        out.append(last)
    first = next((a for a in out if a is not None), None)
    return [first if a is None else a for a in out]


NEWS2_INPUTS = (*VITAL_NAMES, "consciousness", *ICE_ITEMS, "capd_total", "sedated",
                "o2_device")  # a row recording any of these changes the NEWS2 (``news_now``)
NEURO_SCORED = ("consciousness", "ice", "capd_total")


def course_news(rows: Sequence[Mapping[str, Any]], patient: Mapping[str, Any],
                start: int = 0) -> list[news2.News2 | None]:
    """NEWS2 at every assessment of the course (time order), each parameter its latest value
    in force (vital signs within 4 h, consciousness, ICE and CAPD within 12 h, oxygen support
    carried forward; spec §0.3). New confusion comes from ICE orientation and attention, or a
    CAPD of 9 or more, whichever neuro score is the latest, relative to the baseline: the latest
    complete ICE at or before the infusion on an earlier assessment (spec B4), else the
    admission's baseline ICE total (spec §5.1, decision C21). Consciousness, ICE and CAPD
    recorded at or before the latest ``sedated`` row are not current (ICANS-R5, decision N5):
    while the latest neuro record (within 12 h) is sedation, consciousness is "not recorded
    (sedated)" (decision C23). Scored from row ``start`` on (None before it: those rows are
    only read for what they carry forward)."""
    scale2 = patient.get("spo2_scale") == 2
    baseline_total = patient.get("baseline_ice")
    ages = _ages(rows)
    out: list[news2.News2 | None] = []
    in_force = support_in_force(rows)  # the oxygen device in force: the one answer (W12)
    seen: dict[str, tuple[Any, datetime]] = {}
    baseline: dict[str, float] | None = None
    sedated_until: datetime | None = None   # neuro values up to here were under sedation
    aroused_at: datetime | None = None      # the latest ICE with points or CAPD (N13)
    for i, row in enumerate(rows):
        t = row["time"]
        device = in_force[i].o2_device
        for name in (*VITAL_NAMES, "consciousness", "capd_total"):
            if row.get(name) is not None:
                seen[name] = (row[name], t)
        items = {k: row.get(k) for k in ICE_ITEMS}
        ice = None if any(v is None for v in items.values()) else items
        if ice is not None:
            seen["ice"] = (ice, t)
        if (ice is not None and sum(ice.values()) >= 1) or row.get("capd_total") is not None:
            aroused_at = t  # the patient answered, or was assessable (decision N13)
        sedated = row.get("sedated")
        if sedated is None and (ice is not None or row.get("capd_total") is not None
                                or row.get("consciousness") is not None):
            sedated = False  # a neuro assessment without the sedated tick is unsedated (N5)
        if sedated is not None:
            seen["sedated"] = (bool(sedated), t)
        if sedated:
            sedated_until = t

        infusion = row.get("infusion_time")
        if i < start:
            out.append(None)
            if ice is not None and infusion is not None and not is_after(t, infusion):
                baseline = ice
            continue

        def fresh(name: str, window: timedelta, t: datetime = t,
                  sedated_until: datetime | None = sedated_until) -> Any:
            v = seen.get(name)
            if v is None or elapsed(t, v[1]) > window:
                return None
            if name in NEURO_SCORED and sedated_until is not None and \
                    not is_after(v[1], sedated_until):
                return None  # recorded under sedation, or before it: not current
            return v[0]
        latest_ice = fresh("ice", NEURO_WINDOW)
        capd = fresh("capd_total", NEURO_WINDOW)
        level = fresh("consciousness", NEURO_WINDOW)
        if level == DISPROVED_BY_LATER_ICE_OR_CAPD and aroused_at is not None \
                and is_after(aroused_at, seen["consciousness"][1]):
            level = None  # decision N13: a later ICE with points, or a CAPD, shows arousal
        if capd is not None and latest_ice is not None:  # the newer instrument decides
            if is_after(seen["ice"][1], seen["capd_total"][1]):
                capd = None
            else:
                latest_ice = None
        confusion = news2.new_confusion(
            latest_ice, capd, baseline=baseline, baseline_total=baseline_total,
            before_infusion=infusion is not None and not is_after(t, infusion))
        out.append(news2.news2(
            rr=fresh("rr_per_min", VITALS_WINDOW), spo2=fresh("spo2_pct", VITALS_WINDOW),
            on_oxygen=None if device is None else device != "room_air",
            sbp=fresh("sbp_mmhg", VITALS_WINDOW), pulse=fresh("hr_bpm", VITALS_WINDOW),
            consciousness=level,
            temp_c=fresh("temp_c", VITALS_WINDOW), scale2=scale2, age_years=ages[i],
            new_confusion=confusion, sedated=bool(fresh("sedated", NEURO_WINDOW))))
        if ice is not None and infusion is not None and not is_after(t, infusion):
            baseline = ice  # a pre-infusion ICE: the baseline of the assessments after it
    return out


def news_anchor(rows: Sequence[Mapping[str, Any]]) -> int | None:
    """The row "NEWS2 now" is scored at: the latest assessment recording any NEWS2 input (a
    vital sign, oxygen support, consciousness, an ICE item, a CAPD or sedation); None when
    none does (decision C22)."""
    return next((i for i in range(len(rows) - 1, -1, -1)
                 if any(rows[i].get(k) is not None for k in NEWS2_INPUTS)), None)


def _latest_with(rows: Sequence[Mapping[str, Any]], names: tuple[str, ...], before: int
                 ) -> int | None:
    """The latest row before ``before`` recording every one of ``names`` (a row view over
    columns may answer it at once: ``latest_with``)."""
    finder = getattr(rows, "latest_with", None)
    if finder is not None:
        found: int | None = finder(names, before)
        return found
    return next((j for j in range(before - 1, -1, -1)
                 if all(rows[j].get(n) is not None for n in names)), None)


def news_now(rows: Sequence[Mapping[str, Any]], patient: Mapping[str, Any]
             ) -> news2.News2 | None:
    """NEWS2 now: the score at the latest assessment recording any NEWS2 input, with every
    parameter's latest value in force there - exactly what the flags scored for that row
    (``course_news``). The one answer for the overview, the schedule, the review and the
    handover (decision C22). Reads only the rows that can matter (the 12 h before it, the
    oxygen support and pre-infusion ICE in force, the age), so a long course costs no more."""
    last = news_anchor(rows)
    if last is None:
        return None
    t = rows[last]["time"]
    first = last
    while first > 0 and elapsed(t, rows[first - 1]["time"]) <= NEURO_WINDOW:
        first -= 1
    keep = set(range(first, last + 1))
    infusion = rows[last].get("infusion_time")
    for names, before in ((("o2_device",), first), (("age_years",), first)):
        j = _latest_with(rows, names, before)
        if j is not None:
            keep.add(j)
    if infusion is not None:  # the pre-infusion ICE: rows are in time (instant) order
        j = _latest_with(rows, ICE_ITEMS, bisect_right(rows, infusion, 0, first,
                                                       key=lambda r: r["time"]))
        if j is not None:
            keep.add(j)
    if not any(rows[j].get("age_years") is not None for j in keep):  # ages back-filled (D7)
        j = next((j for j in range(last + 1, len(rows)) if rows[j].get("age_years")
                  is not None), None)
        if j is not None:
            keep.add(j)
    chosen = sorted(keep)
    at = chosen.index(last)
    return course_news([rows[j] for j in chosen], patient, at)[at]


def evaluate_course(rows: Sequence[Mapping[str, Any]], result_of: Callable[[int], RowResult],
                    patient: Mapping[str, Any], tocilizumab_given: Sequence[datetime],
                    start: int = 0, scores: Sequence[news2.News2 | None] | None = None
                    ) -> list[CourseFlag]:
    """Every flag the course raises from row ``start`` on, assessment by assessment in time
    order (a pure function of the effective record). ``result_of(i)`` grades row i; rows
    before ``start - 1`` are only read for what they carry forward."""
    scale2 = patient.get("spo2_scale") == 2
    baseline = patient.get("baseline_ice")
    ages = _ages(rows)
    if scores is None:  # NEWS2 of each row (``course_news``) from start - 1 on
        scores = course_news(rows, patient, max(start - 1, 0))
    out: list[CourseFlag] = []
    in_force = support_in_force(rows)  # the one answer (monitoring/support.py)
    seen: dict[str, tuple[Any, datetime]] = {}   # latest recorded value and its time
    previous: Context | None = None
    last_temp = last_ice = None
    last_temp_at: int | None = None          # the row of ``last_temp``
    before_infusion: dict[int, bool] = {}    # rows graded so far: before the infusion (C17)
    crs = icans = None
    seizures = 0
    for i, row in enumerate(rows):
        t = row["time"]
        s = in_force[i]
        device, flow, fio2, pressors = s.o2_device, s.o2_flow_l_min, s.fio2_pct, s.vasopressors
        items = [row.get(k) for k in ICE_ITEMS]
        ice = None if any(x is None for x in items) else int(sum(items))
        for name in (*VITAL_NAMES, "consciousness", "motor_weakness", "cerebral_edema",
                     "raised_icp_signs"):
            if row.get(name) is not None:
                seen[name] = (row[name], t)
        if ice is not None:
            seen["ice"] = (ice, t)
        if row.get("seizure") not in (None, "none"):
            seizures += 1
        if i >= start - 1:
            r = result_of(i)
            before_infusion[i] = r.before_infusion
            previous_temp = last_temp
            if last_temp_at is not None and not r.before_infusion:
                if last_temp_at not in before_infusion:
                    before_infusion[last_temp_at] = result_of(last_temp_at).before_infusion
                if before_infusion[last_temp_at]:
                    previous_temp = None  # a fever after the infusion is new (C17)
            crs = r.crs.grade if r.crs.grade is not None else crs
            icans = r.icans.grade if r.icans.grade is not None else icans
            values = {k: v for k, (v, at) in seen.items()
                      if elapsed(t, at) <= (NEURO_WINDOW if k in (*NEURO_NAMES, "motor_weakness",
                                                         "cerebral_edema", "raised_icp_signs")
                                    else VITALS_WINDOW)}
            n = scores[i]
            assert n is not None  # scored from start - 1 on
            icu = tuple(x.what for x in guidance.icu_prompts(
                crs, icans, seizure=row.get("seizure") not in (None, "none"),
                positive_pressure=s.positive_pressure,
                cerebral_edema=values.get("cerebral_edema") not in (None, "none")))
            c = Context(
                result=r, row=row, values=values, device=device, flow=flow, fio2=fio2,
                pressors=pressors, crs=crs, icans=icans, ice=ice, previous_ice=last_ice,
                previous_temp=previous_temp, baseline_ice=baseline, age=ages[i], scale2=scale2,
                news=n, tocilizumab=guidance.tocilizumab_count(tocilizumab_given, r.time),
                seizures=seizures, icu=icu, before=previous,
                before_infusion=r.before_infusion)
            if i >= start:
                out.extend(CourseFlag(i, r.time, f, f.pop(LEVEL, None)) for f in evaluate(c))
            previous = c
        if row.get("temp_c") is not None:
            last_temp, last_temp_at = row["temp_c"], i
        if ice is not None:
            last_ice = ice
    last = len(rows) - 1
    return [f if f.index == last or previous is None
            else replace(f, current=still_present(f, previous)) for f in out]


def key(code: str, at: datetime, message: str = "") -> tuple[str, float, str]:
    """A flag's identity: its rule, the assessment time, and what it says (a correction that
    changes what it says replaces it)."""
    return code, at.timestamp(), message


OVERDUE_URGENT_AFTER = timedelta(minutes=60)  # E4 [I]


def overdue_flags(patient_id: str, due: Due, now: datetime, since: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """Overdue observations at ``now`` as flags keyed by their time: info once due, urgent
    (a second flag) from 60 min late. Never recorded at all counts from ``since`` (admission).
    None once a death is recorded (decision S12)."""
    out: list[dict[str, Any]] = []
    if due.died_at is not None:
        return out
    for what, at, code in (("vital signs", due.vitals_due, "overdue_vitals"),
                           ("neuro assessment", due.neuro_due, "overdue_neuro")):
        start = at if at is not None else since
        if start is None or now <= start:
            continue
        never = at is None
        text = (f"{what.capitalize()} not recorded since admission" if never
                else f"{what.capitalize()} overdue since {at:%d %b %H:%M} UTC")
        out.append({"code": code, "severity": "info", "message": text,
                    "respond": "nurse in charge, now", "raised_at": start})
        if now - start >= OVERDUE_URGENT_AFTER:
            out.append({"code": code + "_1h", "severity": "urgent",
                        "message": text + ": more than 60 min late",
                        "respond": "nurse in charge and physician, now",
                        "raised_at": start + OVERDUE_URGENT_AFTER})
    return out


# ------------------------------------------------------------------------------ lab flags
# The laboratory rules (issue 20 point 4; decisions E15-E17): evaluated over the lab course,
# result time by result time, each against the one before, as the assessment rules above are
# over the bedside course. A lab flag is raised at the time the sample was taken (no
# assessment is needed), and the lab course is evaluated whole on every resync (it is short),
# so recording, correcting or marking a result in error raises, rewords or withdraws it.
LAB_SOURCE = ("ASTCT consensus on immune effector cell-associated HLH-like syndrome (IEC-HS), "
              "Hines et al. 2023")
FIBRINOGEN_LOW_MG_DL = iechs.FIBRINOGEN_LOW_MG_DL   # spec §5.4: fibrinogen < 150 mg/dL
LAB_LOOK_BACK = iechs.CURRENT + iechs.RISING_WITHIN + timedelta(days=7)  # the trend's reach


@dataclass(frozen=True)
class LabContext:
    """The patient's labs known at one result time: ``labs`` holds every current result
    taken at or before ``time`` that any lab rule reads (the last days, and the week before
    the infusion for the value at infusion)."""

    time: datetime
    labs: tuple[LabValue, ...]
    infusion: datetime | None
    day: int | None
    limits: Mapping[str, float]    # the site's limits of normal for this patient (L12, M2)


@dataclass(frozen=True)
class LabRule:
    """A rule over the lab course: ``level(c)`` as for ``FlagRule``; the severity and who
    responds follow from the level."""

    code: str
    severity: Callable[[Any], str]
    respond: Callable[[Any], str]
    level: Callable[[LabContext], tuple[Any, str]]


def _number(v: float) -> str:
    """A result for a message, thousands separated, at most one decimal and never rounded
    onto a limit it is below: 5,600 ng/mL, 149.9 mg/dL."""
    text = f"{v:,.1f}".rstrip("0").rstrip(".")
    return text if float(text.replace(",", "")) == round(v, 1) else f"{v:,}"


def _span(earlier: datetime, later: datetime) -> str:
    hours = elapsed(later, earlier).total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f}".rstrip("0").rstrip(".") + " days"


def ferritin_trend(labs: Sequence[LabValue], at: datetime) -> str | None:
    """The ferritin course up to ``at`` in words: the latest ferritin of the last 72 h and the
    one before it (within a week): "ferritin 1,200 → 5,600 ng/mL in 36 h"; None without a
    current ferritin."""
    x = latest(labs, "ferritin", at, shifted(at, -iechs.CURRENT))
    if x is None:
        return None
    before = [y for y in labs if y.test == "ferritin" and is_after(x.time, y.time)
              and elapsed(x.time, y.time) <= timedelta(days=7)]
    if not before:
        return f"ferritin {_number(x.value)} ng/mL (no earlier value this week)"
    y = max(before, key=lambda v: v.time)
    return (f"ferritin {_number(y.value)} → {_number(x.value)} ng/mL "
            f"in {_span(y.time, x.time)}")


def _iechs(c: LabContext) -> tuple[Any, str]:
    s = iechs.screen(c.labs, c.time, c.infusion, c.day, c.limits)
    if not s.prompt:
        return NONE
    words = []
    for f in s.features:
        if not f.present:
            continue
        if f.name == "ferritin":
            why = f.finding.partition(": ")[2]
            words.append(f"{ferritin_trend(c.labs, c.time)}" + (f" ({why})" if why else ""))
        else:
            words.append(f.finding)
    return s.present, (f"IEC-HS screen: {s.present} of 5 core features: " + "; ".join(words)
                       + ". Ask haematology to review for IEC-HS: a screening prompt, not a "
                       f"diagnosis ({LAB_SOURCE})")


def _fibrinogen(c: LabContext) -> tuple[Any, str]:
    x = latest(c.labs, "fibrinogen", c.time, shifted(c.time, -iechs.CURRENT))
    if x is None:
        return NONE
    value = _number(x.value)
    if x.value < FIBRINOGEN_LOW_MG_DL:
        return 2, (f"Fibrinogen {value} mg/dL, below {FIBRINOGEN_LOW_MG_DL:g} mg/dL: "
                   "hypofibrinogenaemia, a risk of bleeding from coagulopathy and a feature of "
                   f"IEC-HS; physician review ({LAB_SOURCE})")
    lln = max(c.limits.get("fibrinogen_lln", iechs.LIMITS["fibrinogen_lln"]),
              FIBRINOGEN_LOW_MG_DL)
    if x.value < lln:
        return 1, (f"Fibrinogen {value} mg/dL, below the lower limit of normal ({lln:g} "
                   "mg/dL): a feature of IEC-HS; recheck it and watch for coagulopathy "
                   f"({LAB_SOURCE})")
    return NONE


LAB_RULES: tuple[LabRule, ...] = (
    LabRule("iechs_screen", lambda level: "urgent",
            lambda level: "physician, within 1 h (ask haematology to review)", _iechs),
    LabRule("fibrinogen_low", lambda level: "urgent" if level >= 2 else "info",
            lambda level: ("physician, within 1 h" if level >= 2
                           else "physician, at the next review"), _fibrinogen),
)
LAB_RULE_BY_CODE = {r.code: r for r in LAB_RULES}


def lab_contexts(labs: Sequence[LabValue], infusion: datetime | None, tz: Any,
                 limits: Callable[[datetime], Mapping[str, float]]) -> list[LabContext]:
    """One context per distinct result time, in time order; each holds only the results a
    lab rule can read then (so a long course costs little)."""
    ordered = sorted(labs, key=lambda x: instant(x.time))
    times = sorted({instant(x.time): x.time for x in ordered}.items())
    at_infusion: tuple[LabValue, ...] = ()
    if infusion is not None:
        since = shifted(infusion, -iechs.BASELINE_BEFORE)
        at_infusion = tuple(x for x in ordered if not is_after(x.time, infusion)
                            and not is_after(since, x.time))
    keys = [instant(x.time) for x in ordered]
    out = []
    for key_, t in times:
        hi = bisect_right(keys, key_)
        lo = bisect_left(keys, instant(shifted(t, -LAB_LOOK_BACK)))
        window = ordered[lo:hi]
        known = tuple(dict.fromkeys((*at_infusion, *window))) if at_infusion else tuple(window)
        out.append(LabContext(t, known, infusion,
                              None if infusion is None else day_of(t, infusion, tz),
                              limits(t)))
    return out


def evaluate_labs(contexts: Sequence[LabContext], latest: datetime | None = None
                  ) -> list[CourseFlag]:
    """Every flag the lab course raises: at each result time, each lab rule whose level rose
    since the result time before it. A flag whose condition the latest result time no longer
    shows, more than 4 h before it, is retrospective information (E7), and so is one raised
    for a result more than 72 h older than ``latest`` (the latest time in the patient's
    record, a bedside assessment included): a lab result that old is not a current finding
    (spec §5.4), so it is never an alarm about now (E16)."""
    out: list[CourseFlag] = []
    levels: dict[str, list[Any]] = {r.code: [] for r in LAB_RULES}
    for i, c in enumerate(contexts):
        for rule in LAB_RULES:
            level, message = rule.level(c)
            before = levels[rule.code][-1] if levels[rule.code] else 0
            levels[rule.code].append(level)
            if message and _higher(level, before):
                out.append(CourseFlag(i, c.time, {
                    "code": rule.code, "severity": rule.severity(level), "message": message,
                    "respond": rule.respond(level)}, level))
    if not contexts:
        return out
    last = len(contexts) - 1
    end = contexts[last].time

    def current(f: CourseFlag) -> bool:
        if latest is not None and elapsed(latest, f.time) > iechs.CURRENT:
            return False
        if f.index == last or elapsed(end, f.time) <= RECENT:
            return True
        now = levels[f.flag["code"]][last]
        if now == 0:
            return False
        rule = LAB_RULE_BY_CODE[f.flag["code"]]
        return not _higher(f.level, now) or rule.severity(now) == f.flag["severity"]
    return [replace(f, current=current(f)) for f in out]
