"""Escalation flags as one table of rules, evaluated over a patient's whole course.

Each rule looks at one assessment in the context of the one before it (the course in time
order), so an unchanged condition raises nothing again and a new or worsening one raises a new
flag. Evaluating the course is a pure function of the effective record: the same record gives
the same flags whatever order its rows were entered in (``sync`` stores new flags and withdraws
unacknowledged ones a later correction or back-dated entry has made untrue). Decision support:
every flag asks a person to look; none decides. Sources are named in the messages' rules and in
docs/clinical-decisions.md (E1-E6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import grading
from grading import guidance, news2
from grading.rules import DEVICE_RULE, FEVER_C, hypotension_threshold, sbp_threshold
from grading.timeline import RowResult

SEVERITIES = ("info", "urgent", "emergency")
ENGINE_SEVERITY = {"info": "info", "review": "info", "urgent": "urgent"}  # grading Flag -> ward
NOT_RAISED = {"soft_limit"}  # confirmed by the nurse at entry; shown with the row instead
ADULT_MAP_BELOW = 65         # spec §1.6 [I]
SPO2_TARGET_BELOW = {1: 94, 2: 88}  # below the usual target range of each NEWS2 scale (E3 [I])
ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
WITHDRAWN = "no longer present after a correction or a back-dated entry"


@dataclass(frozen=True)
class Context:
    """One assessment in its course: what is true now and what was true just before."""

    result: RowResult
    previous: RowResult | None
    row: Mapping[str, Any]                 # this assessment's own canonical values
    device: str | None                     # oxygen support in force now / before
    previous_device: str | None
    flow: float | None
    previous_flow: float | None
    previous_temp: float | None            # the latest earlier recorded temperature
    ice: int | None                        # a complete ICE on this row
    previous_ice: int | None               # the latest earlier complete ICE
    baseline_ice: int | None
    age: float | None
    news: news2.News2
    previous_news: news2.News2 | None
    tocilizumab: guidance.TocilizumabCount
    previous_tocilizumab: guidance.TocilizumabCount
    seizure_before: bool = False
    motor_before: bool = False
    icu: tuple[str, ...] = field(default=())
    previous_icu: tuple[str, ...] = field(default=())
    before: Context | None = None           # the previous assessment's context


@dataclass(frozen=True)
class FlagRule:
    code: str
    severity: str | Callable[[Context], str]
    respond: str
    message: Callable[[Context], str | None]   # None: the rule does not fire here


def _grade(r: RowResult | None, syndrome: str) -> int:
    g = None if r is None else getattr(r, syndrome).grade
    return -1 if g is None else g


def _new_fever(c: Context) -> str | None:
    t = c.row.get("temp_c")
    if t is None or grading.round_temp(t) < FEVER_C:
        return None
    if c.previous_temp is not None and grading.round_temp(c.previous_temp) >= FEVER_C:
        return None
    return (f"New fever {grading.round_temp(t):.1f} °C: inform the physician (ASTCT CRS: fever "
            "≥ 38.0 °C is grade 1 unless another cause is documented)")


def _rise(syndrome: str) -> Callable[[Context], str | None]:
    def message(c: Context) -> str | None:
        now, before = _grade(c.result, syndrome), _grade(c.previous, syndrome)
        if now <= max(before, 0):
            return None
        was = "not evaluable" if before < 0 else f"grade {before}"
        return f"{syndrome.upper()} grade {now} (was {was}): physician review"
    return message


def _emergency_from_3(syndrome: str) -> Callable[[Context], str]:
    return lambda c: "emergency" if _grade(c.result, syndrome) >= 3 else "urgent"


def _crs_2(c: Context) -> str | None:
    if _grade(c.result, "crs") >= 2 > _grade(c.previous, "crs"):
        return ("CRS grade ≥ 2: notify the physician; continuous cardiac telemetry and pulse "
                "oximetry (ASCO 2021)")
    return None


def _icu(c: Context) -> str | None:
    new = [t for t in c.icu if t not in c.previous_icu]
    return ("ICU review: " + "; ".join(new) + " (spec §4.6)") if new else None


def _hypotensive(sbp: float | None, dbp: float | None, age: float | None) -> str | None:
    if sbp is None:
        return None
    t = hypotension_threshold(age)
    limit = sbp_threshold(t, age)
    if sbp < limit:
        return f"SBP {sbp:g} < {limit:g} ({t.population})"
    if t.map_below is not None and dbp is not None and (sbp + 2 * dbp) / 3 < t.map_below:
        return f"MAP {(sbp + 2 * dbp) / 3:.0f} < {t.map_below:g}"
    return None


def _hypotension(c: Context) -> str | None:
    now = _hypotensive(c.row.get("sbp_mmhg"), c.row.get("dbp_mmhg"), c.age)
    return None if now is None else f"Hypotension: {now} (spec §1.6): physician review"


def _spo2(scale: int) -> Callable[[Context], str | None]:
    def message(c: Context) -> str | None:
        s = c.row.get("spo2_pct")
        if s is None or s >= SPO2_TARGET_BELOW[scale]:
            return None
        return f"SpO2 {s:g} % below the target (≥ {SPO2_TARGET_BELOW[scale]} %)"
    return message


def _oxygen_more(c: Context) -> str | None:
    def level(device: str | None, flow: float | None) -> tuple[int, float]:
        if device in (None, "room_air"):
            return (0, 0.0)
        rule = DEVICE_RULE[device]
        component = rule.component_high_flow if (flow or 0) > 6 else rule.component_low_flow
        return (component, flow or 0.0)
    now, before = level(c.device, c.flow), level(c.previous_device, c.previous_flow)
    if c.device in (None, "room_air") or now <= before:
        return None
    what = DEVICE_RULE[c.device].label + (f" {c.flow:g} L/min" if c.flow else "")
    return f"New or increased oxygen: {what}: physician review"


def _ice_fall(c: Context) -> str | None:
    if c.ice is None:
        return None
    parts = []
    if c.previous_ice is not None and c.ice <= c.previous_ice - 1:
        parts.append(f"ICE {c.ice} fell from {c.previous_ice}")
    if c.baseline_ice is not None and c.ice < c.baseline_ice and not (
            c.previous_ice is not None and c.previous_ice < c.baseline_ice):
        parts.append(f"ICE {c.ice} below the baseline {c.baseline_ice}")
    return ("; ".join(parts) + ": physician review, neuro checks more often") if parts else None


def _neuro_event(c: Context) -> str | None:
    found = []
    if c.row.get("seizure") not in (None, "none"):
        found.append("seizure (" + str(c.row["seizure"]).replace("_", " ") + ")")
    if c.row.get("motor_weakness") == "deep_focal" and not c.motor_before:
        found.append("new deep focal motor weakness")
    if c.row.get("cerebral_edema") not in (None, "none"):
        found.append(f"cerebral oedema ({c.row['cerebral_edema']})")
    if c.row.get("raised_icp_signs") not in (None, "none"):
        found.append("raised-ICP signs (" + str(c.row["raised_icp_signs"]).replace(";", ", ")
                     + ")")
    return ("Neuro emergency: " + ", ".join(found) + ": physician now") if found else None


def _news_level(n: news2.News2 | None) -> int:
    if n is None or n.total is None:
        return 0
    if n.total >= 7:
        return 2
    return 1 if n.total >= 5 or n.red else 0


def _news(level: int) -> Callable[[Context], str | None]:
    def message(c: Context) -> str | None:
        if _news_level(c.news) != level or _news_level(c.previous_news) >= level:
            return None
        n = c.news
        red = " (a single parameter scoring 3)" if n.red and (n.total or 0) < 5 else ""
        return (f"NEWS2 {n.total}{red}: {n.response} ({news2.SOURCE}; NEWS2 never rules out "
                "CRS or ICANS)")
    return message


def _tocilizumab(c: Context) -> str | None:
    new = [w for w in c.tocilizumab.warnings if w.split(":")[0] not in
           {x.split(":")[0] for x in c.previous_tocilizumab.warnings}]
    new = [w for w in new if not w.startswith("last dose")]
    return ("Tocilizumab limit: " + "; ".join(new) + " (ASCO 2021)") if new else None


RULES: tuple[FlagRule, ...] = (
    FlagRule("new_fever", "urgent", "physician", _new_fever),
    FlagRule("crs_rise", _emergency_from_3("crs"), "physician", _rise("crs")),
    FlagRule("icans_rise", _emergency_from_3("icans"), "physician", _rise("icans")),
    FlagRule("crs_2", "urgent", "physician", _crs_2),
    FlagRule("icu_review", "emergency", "physician and ICU outreach", _icu),
    FlagRule("hypotension", "urgent", "physician", _hypotension),
    FlagRule("spo2_low", "urgent", "nurse in charge and physician", _spo2(1)),
    FlagRule("oxygen_increase", "urgent", "physician", _oxygen_more),
    FlagRule("ice_fall", "urgent", "physician", _ice_fall),
    FlagRule("neuro_event", "emergency", "physician now", _neuro_event),
    FlagRule("news2_5", "urgent", "medical team (immediately)", _news(1)),
    FlagRule("news2_7", "emergency", "critical-care team", _news(2)),
    FlagRule("tocilizumab_limit", "urgent", "physician", _tocilizumab),
)
SCALE_2_RULES = {"spo2_low": FlagRule("spo2_low", "urgent", "nurse in charge and physician",
                                      _spo2(2))}
CONDITION_RULES = {"hypotension", "spo2_low"}  # raised when the condition starts, not each row


def evaluate(c: Context, scale2: bool = False) -> list[dict[str, str]]:
    """The flags one assessment raises: the rule table, then the grading engine's review flags
    that the previous assessment did not already have."""
    out = []
    for rule in RULES:
        rule = SCALE_2_RULES.get(rule.code, rule) if scale2 else rule
        message = rule.message(c)
        if message and rule.code in CONDITION_RULES and _was_true(rule, c):
            continue
        if message:
            severity = rule.severity if isinstance(rule.severity, str) else rule.severity(c)
            out.append({"code": rule.code, "severity": severity, "message": message,
                        "respond": rule.respond})
    before = {f.code for f in c.previous.flags} if c.previous else set()
    for f in c.result.flags:
        if f.code in NOT_RAISED or f.code in before:
            continue
        out.append({"code": f.code, "severity": ENGINE_SEVERITY[f.severity],
                    "message": f.message, "respond": "nurse in charge"})
    return out


def _was_true(rule: FlagRule, c: Context) -> bool:
    """For a condition rule: was it already true at the previous assessment?"""
    return bool(c.before is not None and rule.message(c.before))


# ------------------------------------------------------------------------------ the course
@dataclass(frozen=True)
class CourseFlag:
    index: int                 # row of the course (time order)
    time: datetime
    flag: dict[str, str]


def evaluate_course(rows: Sequence[Mapping[str, Any]], result_of: Callable[[int], RowResult],
                    patient: Mapping[str, Any], tocilizumab_given: Sequence[datetime],
                    start: int = 0) -> list[CourseFlag]:
    """Every flag the course raises from row ``start`` on, assessment by assessment in time
    order (a pure function of the effective record). ``result_of(i)`` grades row i; rows
    before ``start - 1`` are only read for what they carry forward (device, last temperature,
    last ICE), so a save regrades two rows, not the whole stay."""
    scale2 = patient.get("spo2_scale") == 2
    baseline = patient.get("baseline_ice")
    out: list[CourseFlag] = []
    device = flow = None
    previous: Context | None = None
    last_temp = last_ice = None
    seizure_seen = motor_seen = False
    for i, row in enumerate(rows):
        prev_device, prev_flow = device, flow
        if row.get("o2_device") is not None:
            if row["o2_device"] != device:
                flow = None
            device = row["o2_device"]
        if row.get("o2_flow_l_min") is not None:
            flow = row["o2_flow_l_min"]
        if device == "room_air":
            flow = None
        items = [row.get(k) for k in ICE_ITEMS]
        ice = None if any(x is None for x in items) else int(sum(items))
        if i >= start - 1:
            r = result_of(i)
            age = row.get("age_years")
            n = news2.news2(
                rr=row.get("rr_per_min"), spo2=row.get("spo2_pct"),
                on_oxygen=None if device is None else device != "room_air",
                sbp=row.get("sbp_mmhg"), pulse=row.get("hr_bpm"),
                consciousness=row.get("consciousness"), temp_c=row.get("temp_c"),
                scale2=scale2, age_years=age,
                new_confusion=ice is not None and ice < (baseline if baseline is not None
                                                         else 10))
            icu = tuple(t.what for t in guidance.icu_prompts(
                r.crs.grade, r.icans.grade, seizure=row.get("seizure") not in (None, "none"),
                positive_pressure=device in ("cpap", "bipap", "mechanical_ventilation"),
                cerebral_edema=row.get("cerebral_edema") not in (None, "none")))
            c = Context(
                result=r, previous=previous.result if previous else None, row=row,
                device=device, previous_device=prev_device, flow=flow, previous_flow=prev_flow,
                previous_temp=last_temp, ice=ice, previous_ice=last_ice,
                baseline_ice=baseline, age=age, news=n,
                previous_news=previous.news if previous else None,
                tocilizumab=guidance.tocilizumab_count(tocilizumab_given, r.time),
                previous_tocilizumab=previous.tocilizumab if previous else
                guidance.tocilizumab_count([], r.time),
                seizure_before=seizure_seen, motor_before=motor_seen, icu=icu,
                previous_icu=previous.icu if previous else (), before=previous)
            if i >= start:
                out.extend(CourseFlag(i, r.time, f) for f in evaluate(c, scale2))
            previous = c
        if row.get("temp_c") is not None:
            last_temp = row["temp_c"]
        if ice is not None:
            last_ice = ice
        seizure_seen = seizure_seen or row.get("seizure") not in (None, "none")
        if row.get("motor_weakness") is not None:
            motor_seen = row["motor_weakness"] == "deep_focal"
    return out


def key(code: str, at: datetime) -> tuple[str, float]:
    return code, at.timestamp()


def overdue_flags(patient_id: str, due: Any, now: datetime) -> list[dict[str, Any]]:
    """Overdue observations at ``now`` as flags keyed by the due time (raised once each)."""
    out = []
    for what, at, code in (("vital signs", due.vitals_due, "overdue_vitals"),
                           ("neuro assessment", due.neuro_due, "overdue_neuro")):
        if at is not None and now > at:
            late = int((now - at) / timedelta(minutes=1))
            out.append({"code": code, "severity": "urgent" if late >= 60 else "info",
                        "message": f"{what.capitalize()} overdue since {at:%H:%M} "
                                   f"({late} min)", "respond": "nurse in charge",
                        "raised_at": at})
    return out
