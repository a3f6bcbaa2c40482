"""What the scale modules share: criteria tables, the result type, and the input states.

A scale is a table of criteria (``Criterion``: id, grade, wording) and maps from input states to
criterion ids. The states are computed once per assessment from ``ScaleInputs``:

* fever: ``fever`` | ``no_fever`` | ``fever_attributed``
* hypotension: ``none`` | ``attributed`` | ``untreated`` | ``fluid_bolus`` | ``fluid_boluses`` |
  ``one_low`` | ``one_high`` | ``multiple_low`` | ``multiple_high``
* oxygen: ``room_air`` | ``attributed`` | ``fio2_below_40`` | ``fio2_40_or_more`` |
  ``fio2_not_recorded`` | ``noninvasive`` | ``invasive``
* organ: the CTCAE grade of each organ in force

A state the record cannot give is ``None`` ("not recorded"); a state that may be worse than it
looks (a dose or FiO2 not recorded, a high dose held < 3 h) carries the state it would be
(``would_be``). ``combine`` turns the domains into a grade with its status: an input not recorded
that could raise the grade makes it provisional, no temperature and nothing else found makes it
not evaluable (never a silent 0, spec §0.2); a grade that another true value of an estimated
input (FiO2 from the flow) would change is marked estimated (decisions X12-X14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .. import rules
from ..instants import is_after, shifted
from ..result import Flag, Reason, Status
from ..rules import round_temp
from ..snapshot import Snapshot
from .inputs import ScaleInputs
from .vasopressors import HIGH_DOSE_MINIMUM

FIO2_THRESHOLD_PCT = 40.0   # Lee 2014, CTCAE v5, MSKCC, CARTOX: "< 40 %" / ">= 40 %"
NONINVASIVE = ("cpap", "bipap")
INVASIVE = ("mechanical_ventilation",)


@dataclass(frozen=True)
class Criterion:
    id: str
    grade: int
    text: str


@dataclass(frozen=True)
class ScaleGrade:
    """A grade by one scale at one assessment, explained like the ASTCT grades."""

    scale: str
    grade: int | None                 # 0-5; None when not evaluable
    status: Status
    reasons: tuple[Reason, ...]
    estimated: bool = False           # reached only through an estimated input (FiO2 from flow)
    domains: tuple[tuple[str, int | None], ...] = ()   # domain -> grade (None: not recorded)
    flags: tuple[Flag, ...] = ()

    def __post_init__(self) -> None:
        assert (self.grade is None) == (self.status == "not_evaluable"), self
        assert self.grade is None or 0 <= self.grade <= 5, self

    def domain(self, name: str) -> int | None:
        return dict(self.domains).get(name)


@dataclass(frozen=True)
class State:
    key: str | None                   # None: not recorded
    finding: str                      # what was observed, in ward words
    time: datetime | None
    would_be: tuple[tuple[str, str], ...] = ()   # (state, why) it may really be
    estimated: bool = False
    alternatives: tuple[str, ...] = ()   # estimated: the states the true value could give


@dataclass(frozen=True)
class Domain:
    name: str
    grade: int | None                 # None: not recorded
    ceiling: int                      # the most this domain can give in this scale
    reasons: tuple[Reason, ...] = ()
    pending: tuple[tuple[str, int], ...] = ()    # (why, the grade it would give)
    alternatives: tuple[int, ...] = ()   # estimated input: the grades its true value could give
    missing: str = ""                 # what was not recorded (when grade is None)
    unrecorded: tuple[tuple[str, int], ...] = ()  # parts not recorded: (what, the most it gives)


def table(criteria: Sequence[Criterion]) -> dict[str, Criterion]:
    return {c.id: c for c in criteria}


def state_domain(name: str, state: State, mapping: Mapping[str, str | None],
                 criteria: Mapping[str, Criterion], missing: str) -> Domain:
    """Grade one input state by a scale's map (state -> criterion id; None = no criterion)."""
    ceiling = max((criteria[c].grade for c in mapping.values() if c), default=0)

    def grade_of(key: str) -> tuple[int, Criterion | None]:
        cid = mapping.get(key)
        return (0, None) if cid is None else (criteria[cid].grade, criteria[cid])

    if state.key is None:
        return Domain(name, None, ceiling, missing=missing)
    grade, crit = grade_of(state.key)
    reasons: tuple[Reason, ...] = ()
    if state.time is not None and (crit is not None or state.key == "attributed"):
        text = (f"{state.finding} -> {crit.text}: grade {grade}" if crit is not None
                else f"{state.finding}: not counted")
        reasons = (Reason(crit.id if crit else f"{name} attributed", text, state.time),)
    pending = []
    for key, why in state.would_be:
        g, _ = grade_of(key)
        if g > grade:
            pending.append((why, g))
    alternatives = tuple(sorted({grade_of(k)[0] for k in state.alternatives})) \
        if state.estimated else ()
    return Domain(name, grade, ceiling, reasons, tuple(pending), alternatives)


def combine(scale: str, title: str, x: ScaleInputs, domains: Sequence[Domain],
            death: Criterion) -> ScaleGrade:
    """The scale's grade: the highest criterion met, with its status (module docstring)."""
    s = x.astct
    summary = tuple((d.name, d.grade) for d in domains)
    if s.died_of == "crs":
        return ScaleGrade(scale, 5, "final", (Reason(death.id, f"death recorded as caused by "
                                                     f"CRS -> {death.text}", s.time),),
                          domains=summary)
    grade = max((d.grade for d in domains if d.grade is not None), default=0)
    reasons = [r for d in domains for r in d.reasons]
    fever = next((d for d in domains if d.name == "fever"), None)
    if grade == 0 and fever is not None and fever.grade is None:
        hours = int(rules.VITALS_WINDOW.total_seconds() // 3600)
        return ScaleGrade(scale, None, "not_evaluable", (*reasons, Reason(
            f"{scale.upper()}", f"no temperature in the last {hours} h and no other criterion "
            f"met: {title} not evaluable", s.time)), domains=summary)
    notes = []
    for d in domains:
        if d.grade is None and d.ceiling > grade:
            notes.append(f"{d.missing} not recorded: could give up to grade {d.ceiling}")
        for what, most in d.unrecorded:
            if most > grade:
                notes.append(f"{what} not recorded: could give up to grade {most}")
        for why, would in d.pending:
            if would > grade:
                notes.append(f"{why}: would be grade {would}")
    estimated = any(_depends_on(d, domains) for d in domains if d.alternatives)
    for n in notes:
        reasons.append(Reason(f"{scale.upper()} provisional", n, s.time))
    basis = "highest criterion met" if grade else "no criterion met"
    reasons.append(Reason(f"{scale.upper()}", f"{basis}: {title} grade {grade}"
                          + (" (estimated)" if estimated else ""), s.time))
    return ScaleGrade(scale, grade, "provisional" if notes else "final", tuple(reasons),
                      estimated, summary)


def _depends_on(estimate: Domain, domains: Sequence[Domain]) -> bool:
    """Would another true value of this domain's estimated input change the scale's grade?
    Then the grade is estimated (spec §3.1: mark any regrade that uses the estimate)."""
    others = max((d.grade for d in domains if d is not estimate and d.grade is not None),
                 default=0)
    return len({max(others, g) for g in estimate.alternatives}) > 1


# ------------------------------------------------------------------------------ states
def fever_state(x: ScaleInputs) -> State:
    s = x.astct
    if s.temp_c is None:
        return State(None, "no temperature", None)
    temp = round_temp(s.temp_c)
    if temp >= rules.FEVER_C and s.fever_attributed:
        return State("fever_attributed", f"temperature {temp} °C attributed to another cause",
                     s.temp_time)
    if temp >= rules.FEVER_C:
        return State("fever", f"temperature {temp} °C (fever, >= 38.0 °C)", s.temp_time)
    return State("no_fever", f"temperature {temp} °C", s.temp_time)


def duration_text(h: float) -> str:
    """3 h, 1 h 20 min, 45 min."""
    minutes = round(h * 60)
    whole, rest = divmod(minutes, 60)
    if not whole:
        return f"{rest} min"
    return f"{whole} h" + (f" {rest} min" if rest else "")


def high_dose_counts_from(x: ScaleInputs) -> str:
    """When the high dose running now will have been needed for 3 h (spec §1.5, X14)."""
    assert x.pressors.high_since is not None
    return shifted(x.pressors.high_since, HIGH_DOSE_MINIMUM).isoformat(timespec="minutes")


def hypotension_state(x: ScaleInputs) -> State:
    """Spec §1.5-§1.6 for the older scales: vasopressin counts as an agent (X4), high dose per
    the §1.5 table held >= 3 h (X5-X7); attribution as for ASTCT (C5)."""
    s, p = x.astct, x.pressors
    if p.running:
        names = " + ".join(sorted(p.running))
        if s.hypotension_attributed:
            return State("attributed", f"{names} running, hypotension attributed to another "
                         "cause", s.time)
        multiple = len(p.running) >= 2
        low, high = ("multiple_low", "multiple_high") if multiple else ("one_low", "one_high")
        doses = ", ".join(d.text() for d in sorted(p.doses.values(), key=lambda d: d.agent))
        what = f"{names} running" + (f" ({doses})" if doses else "")
        when = p.time or s.time
        held = p.high_for(s.time)
        span = "" if held is None else duration_text(held.total_seconds() / 3600)
        if p.high.high and held is not None and p.high_held(s.time):
            return State(high, f"{what}: high dose for {span} ({p.high.text()})", when)
        if p.high.high and held is not None:
            at = high_dose_counts_from(x)
            return State(low, f"{what}: high dose for {span} only ({p.high.text()})", when,
                         ((high, f"high dose held < 3 h; counts as high-dose from {at} if "
                           "still needed"),))
        if p.high.high is None:
            return State(low, f"{what}: {p.high.text()}", when,
                         ((high, "dose not known, so high dose not excluded"),))
        return State(low, f"{what}: low dose ({p.high.text()})", when)
    if s.sbp_mmhg is None and s.fluid_bolus_time is None:
        return State(None, "no blood pressure", None)
    bp = rules.read_blood_pressure(s.sbp_mmhg, s.dbp_mmhg, s.age_years)
    low_counts = bp.low and not (s.hypotension_attributed or s.bp_attributed)
    bolus_counts = s.fluid_bolus_time is not None and not s.hypotension_attributed
    if bolus_counts:
        assert s.fluid_bolus_time is not None
        earlier = [b for b in x.boluses if is_after(s.fluid_bolus_time, b)]
        if earlier:
            return State("fluid_boluses", f"{len(earlier) + 1} fluid boluses in 24 h for blood "
                         "pressure, no vasopressor", s.fluid_bolus_time)
        return State("fluid_bolus", "fluid bolus for blood pressure, no vasopressor",
                     s.fluid_bolus_time)
    if low_counts:
        why = (f"SBP {s.sbp_mmhg:g} mmHg < {bp.sbp_limit:g}" if bp.low_sbp
               else f"MAP {bp.map_mmhg:.0f} mmHg < {bp.threshold.map_below:g}")
        return State("untreated", f"{why} ({bp.threshold.population}), no vasopressor or bolus",
                     s.bp_time)
    if bp.low or s.fluid_bolus_time is not None:
        return State("attributed", "hypotension attributed to another cause", s.time)
    if s.sbp_mmhg is None:
        return State(None, "no blood pressure", None)
    return State("none", f"SBP {s.sbp_mmhg:g} mmHg, no vasopressor", s.bp_time)


def blood_pressure_low(s: Snapshot) -> bool | None:
    """SBP (or adult MAP) below the spec §1.6 threshold in the last 4 h, not attributed to
    another cause; None without a blood pressure."""
    if s.sbp_mmhg is None:
        return None
    low = rules.read_blood_pressure(s.sbp_mmhg, s.dbp_mmhg, s.age_years).low
    return low and not (s.hypotension_attributed or s.bp_attributed)


def oxygen_state(x: ScaleInputs) -> State:
    """Spec §3: FiO2 40 % for Lee, CTCAE, MSKCC, CARTOX; the device class for positive
    pressure; FiO2 recorded or estimated (X11)."""
    s, f = x.astct, x.fio2
    if s.o2_device is None:
        return State(None, "no oxygen device", None)
    label = rules.DEVICE_RULE[s.o2_device].label
    when = s.o2_time or s.time
    if s.o2_device != "room_air" and s.hypoxia_attributed:
        return State("attributed", f"{label}: oxygen need attributed to another cause", s.time)
    if s.o2_device == "room_air":
        return State("room_air", "room air", when)
    if s.o2_device in INVASIVE:
        return State("invasive", label, when)
    if s.o2_device in NONINVASIVE:
        return State("noninvasive", label, when)
    flow = "" if s.o2_flow_l_min is None or s.o2_device in rules.PRESSURE_DEVICES else \
        f" {s.o2_flow_l_min:g} L/min"
    if f.value is None:
        return State("fio2_not_recorded", f"{label}{flow}, {f.how}", when,
                     (("fio2_40_or_more", "FiO2 not recorded (>= 40 % not excluded)"),))
    key = "fio2_40_or_more" if f.value >= FIO2_THRESHOLD_PCT else "fio2_below_40"
    return State(key, f"{label}{flow}, {f.how}", f.time or when, estimated=f.estimated,
                 alternatives=("fio2_below_40", "fio2_40_or_more"))


ORGAN_WORDS = {"transaminitis": "transaminitis (ALT/AST)", "creatinine": "creatinine rise",
               "other_organ": "other organ toxicity"}


def organ_domain(x: ScaleInputs, mapping: Mapping[str, Sequence[str | None]],
                 criteria: Mapping[str, Criterion]) -> Domain:
    """Organ toxicity by CTCAE grade: ``mapping[organ][grade]`` is the criterion id. Each organ
    stands on its own (X8): one never graded for the patient is not recorded, and could give
    up to the highest grade of its row; with no organ graded at all the domain is not
    recorded."""
    most = {organ: max((criteria[c].grade for c in ids if c), default=0)
            for organ, ids in mapping.items()}
    ceiling = max(most.values(), default=0)
    if not x.organ:
        return Domain("organ", None, ceiling, missing="organ toxicity (CTCAE grades)")
    grade, reasons, unrecorded = 0, [], []
    for organ, ids in mapping.items():
        if organ not in x.organ:
            unrecorded.append((f"{ORGAN_WORDS[organ]} CTCAE grade", most[organ]))
            continue
        g, when = x.organ[organ]
        cid = ids[g]
        if cid is None:
            continue
        c = criteria[cid]
        grade = max(grade, c.grade)
        reasons.append(Reason(c.id, f"{ORGAN_WORDS[organ]} CTCAE grade {g} -> {c.text}: "
                              f"grade {c.grade}", when))
    return Domain("organ", grade, ceiling, tuple(reasons), unrecorded=tuple(unrecorded))


def event_domain(name: str, when: datetime | None, criterion: Criterion, finding: str) -> Domain:
    """A "given in the last 24 h" criterion (Penn's IV therapy, coagulation products)."""
    if when is None:
        return Domain(name, 0, criterion.grade)
    return Domain(name, criterion.grade, criterion.grade, (Reason(
        criterion.id, f"{finding} -> {criterion.text}: grade {criterion.grade}", when),))

