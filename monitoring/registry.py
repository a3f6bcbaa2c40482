"""The registry summary (issue 19 point 3; docs/registry.md, decisions R1-R5): per patient what
a cellular-therapy registry asks after infusion - CRS and ICANS (occurred, onset, maximum ASTCT
grade and when, resolution), the treatments given (first date, number of doses; and of them
those given for CRS and for ICANS, decision R11), vasopressors, ventilation, ICU admission (the
ICU stays the ward charted, decision R10), death and its cause - with the marker course
(decisions R6-R9).

Everything is read from the patient's one course (``monitoring.course``): the episodes and
maxima the engine already computed (``grading.summarize``), the support in force
(``monitoring.support``), the medication record and the labs. Nothing is graded a second time
here. What the ward record cannot hold is said to be "not recorded", never guessed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from grading import csvsafe
from grading.instants import instant
from grading.lab_scores.labs import day_of
from grading.lab_scores.units import ANALYTES
from grading.rules import VASOACTIVE_RULE

from .course import PatientCourse, course
from .marker_course import LOWEST_IS_WORST, MarkerCourse, marker_courses, number
from .medications import DRUGS, FOR_SYNDROME, NOT_STATED, VASOPRESSORS
from .review import charted_only
from .store import StoreError, WardStore

NOT_RECORDED = "not recorded"
NONE_RECORDED = "none recorded"  # R10: no ICU stay charted, which is not "no ICU stay"
CAUSE_WORDS = {"crs": "cytokine release syndrome", "icans": "ICANS (neurotoxicity)",
               "other": "other cause (not CRS or ICANS)"}
# R2: each treatment group with the medication record's kinds and the assessment's "given"
# column whose uncounted ticks add one dose each (review.charted_only: one count per dose).
TREATMENTS: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("tocilizumab", "Tocilizumab", ("tocilizumab",), "tocilizumab_given"),
    ("corticosteroid", "Corticosteroid", ("dexamethasone", "methylprednisolone"),
     "corticosteroid_given"),
    ("anakinra", "Anakinra", ("anakinra",), None),
    ("siltuximab", "Siltuximab", ("siltuximab",), None),
    ("other_anticytokine", "Other or unnamed anti-cytokine agent", ("other_anticytokine",),
     "anticytokine_given"),
)
# R3: vasopressors as ASTCT 2019 counts them (a vasopressor, or vasopressin-like); the
# inotropes dobutamine and milrinone are not vasopressors. The medication record's names
# mapped to the bedside chart's.
PRESSOR_AGENTS = tuple(a for a, r in VASOACTIVE_RULE.items()
                       if r.counts_as_vasopressor or r.vasopressin_like)
MAR_AGENT = {"noradrenaline": "norepinephrine", "adrenaline": "epinephrine",
             "vasopressin": "vasopressin", "phenylephrine": "phenylephrine",
             "dopamine": "dopamine"}
REGISTRY_MARKERS = ("il6", "crp", "ferritin", "fibrinogen")  # the export's marker columns


@dataclass(frozen=True)
class Syndrome:
    """CRS or ICANS over the stay, from the course summary's episodes."""

    occurred: bool | None          # None: never evaluable (no grade at any assessment)
    onset: datetime | None         # the first episode's onset
    maximum: int | None            # the highest ASTCT grade of any episode
    maximum_at: datetime | None    # when that grade was first reached
    resolved: datetime | None      # the last episode's resolution (None: not shown)
    state: str                     # none, resolved, ongoing at the last assessment, not
                                   # resolved: death recorded, resolution not documented,
                                   # not evaluable, not assessed
    episodes: int


@dataclass(frozen=True)
class Treatment:
    key: str
    words: str
    first: datetime | None
    last: datetime | None
    doses: int                     # each dose once (R2)
    from_assessments: int          # of them, ticks on an assessment with no MAR dose: a
                                   # minimum (one tick may stand for more than one dose)
    agents: tuple[str, ...]        # the drugs the medication record names
    # R11: the MAR doses given for CRS, for ICANS (a dose for both counts in each), first
    # date and number; and the doses whose reason is not stated (the ticks among them)
    crs_first: datetime | None = None
    crs_doses: int = 0
    icans_first: datetime | None = None
    icans_doses: int = 0
    not_stated: int = 0

    def given_for(self, syndrome: str) -> str:
        """R11: "yes" when a dose was given for it; "no" when every dose's reason is stated
        and none is it (or nothing was given); else "reason not stated" - never a guess."""
        if getattr(self, f"{syndrome}_doses"):
            return "yes"
        return "reason not stated" if self.not_stated else "no"


@dataclass(frozen=True)
class IcuAdmission:
    """R10: the patient's current ICU stays as the ward charted them, earliest first:
    (transferred to the ICU, returned to the ward or None while there)."""

    stays: tuple[tuple[datetime, datetime | None], ...] = ()

    @property
    def first(self) -> datetime | None:
        return self.stays[0][0] if self.stays else None

    @property
    def open_since(self) -> datetime | None:
        """The transfer of a stay with no return recorded (still there, or died there)."""
        return next((a for a, b in self.stays if b is None), None)

    @property
    def days(self) -> float | None:
        """Days in intensive care over the stays with a recorded return (None: none)."""
        done = [b - a for a, b in self.stays if b is not None]
        return sum(done, timedelta()) / timedelta(days=1) if done else None


@dataclass(frozen=True)
class RegistrySummary:
    patient_id: str
    is_demo: bool
    product: str | None
    infusion: datetime | None
    lymphodepletion: datetime | None
    first_assessed: datetime | None
    last_assessed: datetime | None
    discharged: datetime | None
    crs: Syndrome
    icans: Syndrome
    treatments: tuple[Treatment, ...]
    vasopressors_from: datetime | None
    vasopressor_agents: tuple[str, ...]
    noninvasive_from: datetime | None       # CPAP or BiPAP
    ventilated_from: datetime | None        # mechanical ventilation
    died: datetime | None
    death_cause: str | None                 # crs, icans, other (None: no death recorded)
    markers: tuple[MarkerCourse, ...]
    tz: Any
    details: dict[str, Any] = field(default_factory=dict)  # the admission details (FHIR Patient)
    icu: IcuAdmission = IcuAdmission()

    @property
    def icu_admission(self) -> str:
        """R10: "yes" when the ward charted a transfer to intensive care; else "none
        recorded", never "no" (a transfer the ward did not chart is not in the record)."""
        return "yes" if self.icu.stays else NONE_RECORDED


def _syndrome(c: PatientCourse, name: str) -> Syndrome:
    if c.summary is None:
        return Syndrome(None, None, None, None, None, "not assessed", 0)
    eps = c.summary.crs_episodes if name == "crs" else c.summary.icans_episodes
    if not eps:
        top = getattr(c.summary, f"{name}_max_grade")
        return Syndrome(None if top is None else False, None, None, None, None,
                        "not evaluable" if top is None else "none", 0)
    top = max(e.max_grade for e in eps)
    at = next(e.max_grade_time for e in eps if e.max_grade == top)
    last = eps[-1]
    died = any(r.get("died_of") for r in c.rows)
    state = ("resolved" if last.resolved is not None else
             "not resolved: death recorded" if died else
             "resolution not documented" if last.closed else "ongoing at the last assessment")
    return Syndrome(True, eps[0].onset, top, at, last.resolved, state, len(eps))


def _treatment(c: PatientCourse, key: str, words: str, kinds: tuple[str, ...],
               field: str | None) -> Treatment:
    mar = [m for m in c.administrations if m["kind"] in kinds]
    ticks = [c.rows[i]["time"] for i in charted_only(c.rows, c.administrations, field)] \
        if field else []
    times = sorted([m["given_at"] for m in mar] + ticks, key=instant)
    agents = tuple(DRUGS[k].words for k in kinds if any(m["kind"] == k for m in mar))
    by: dict[str, list[datetime]] = {
        name: sorted((m["given_at"] for m in mar if m.get("indication") in stated),
                     key=instant) for name, stated in FOR_SYNDROME.items()}
    unstated = sum(m.get("indication", NOT_STATED) == NOT_STATED for m in mar) + len(ticks)
    return Treatment(key, words, times[0] if times else None, times[-1] if times else None,
                     len(times), len(ticks), agents,
                     by["crs"][0] if by["crs"] else None, len(by["crs"]),
                     by["icans"][0] if by["icans"] else None, len(by["icans"]), unstated)


def _pressors(c: PatientCourse) -> tuple[datetime | None, tuple[str, ...]]:
    """R3: the first time a vasopressor ran (bedside chart: support in force; or a dose in the
    medication record) and every agent that ran."""
    seen: list[tuple[datetime, str]] = []
    for row, s in zip(c.rows, c.support):
        seen += [(row["time"], a) for a in s.agents if a in PRESSOR_AGENTS]
    seen += [(m["given_at"], MAR_AGENT[m["kind"]]) for m in c.administrations
             if m["kind"] in VASOPRESSORS]
    if not seen:
        return None, ()
    agents = {a for _, a in seen}
    return (min((t for t, _ in seen), key=instant),
            tuple(a for a in PRESSOR_AGENTS if a in agents))


def _first_device(c: PatientCourse, devices: Sequence[str]) -> datetime | None:
    return next((row["time"] for row, s in zip(c.rows, c.support) if s.o2_device in devices),
                None)


def icu_admission(stays: Sequence[dict[str, Any]]) -> IcuAdmission:
    """R10: the current ICU stays (``WardStore.icu_stays``: corrected ones as corrected,
    those entered in error left out), earliest first."""
    return IcuAdmission(tuple(sorted(((s["transferred_at"], s["returned_at"]) for s in stays),
                                     key=lambda x: instant(x[0]))))


def summarize(c: PatientCourse, icu: IcuAdmission = IcuAdmission()) -> RegistrySummary:
    """The registry summary of one patient's course (and ICU stays, R10)."""
    p = c.patient
    death = next(((r["time"], r["died_of"]) for r in c.rows if r.get("died_of")), (None, None))
    pressors_from, agents = _pressors(c)
    return RegistrySummary(
        patient_id=p["patient_id"], is_demo=bool(p.get("is_demo")), product=p.get("product"),
        infusion=p.get("infusion_time"), lymphodepletion=p.get("lymphodepletion_at"),
        first_assessed=c.rows[0]["time"] if c.rows else None,
        last_assessed=c.rows[-1]["time"] if c.rows else None,
        discharged=p.get("discharged_at"),
        crs=_syndrome(c, "crs"), icans=_syndrome(c, "icans"),
        treatments=tuple(_treatment(c, *t) for t in TREATMENTS),
        vasopressors_from=pressors_from, vasopressor_agents=agents,
        noninvasive_from=_first_device(c, ("cpap", "bipap")),
        ventilated_from=_first_device(c, ("mechanical_ventilation",)),
        died=death[0], death_cause=death[1],
        markers=marker_courses(c.labs, p.get("infusion_time"), p.get("lymphodepletion_at"),
                               c.tz),
        tz=c.tz, details=dict(p), icu=icu)


def registry_summaries(store: WardStore, patient_id: str | None = None
                       ) -> list[RegistrySummary]:
    """One summary per patient: the one asked for, or every patient but the synthetic demo
    ones (R5: a registry never receives a demo patient unless it is asked for by its id)."""
    if patient_id is not None:
        if store.patient(patient_id) is None:
            raise StoreError(f"unknown patient '{patient_id}'")
        ids = [patient_id]
    else:
        ids = [p["patient_id"] for p in store.patients(demo=False)]
    return [summarize(course(store, pid), icu_admission(store.icu_stays(pid))) for pid in ids]


# ------------------------------------------------------------------------------ CSV
def _date(t: datetime | None, tz: Any) -> str:
    """A date as the registry forms ask for it (YYYY-MM-DD), on the ward's calendar."""
    return "" if t is None else t.astimezone(tz).date().isoformat()


def _day(t: datetime | None, s: RegistrySummary) -> int | str:
    return "" if t is None or s.infusion is None else day_of(t, s.infusion, s.tz)


def _yes(v: bool | None) -> str:
    return "" if v is None else "yes" if v else "no"


def _num(v: float | None, digits: int = 3) -> str:
    """A value as written on a form: no exponent, no trailing zeros (20, not 20.0)."""
    return "" if v is None else number(v, digits)


def _syndrome_cells(name: str, x: Syndrome, s: RegistrySummary) -> list[tuple[str, Any]]:
    return [(f"{name} (yes/no)", _yes(x.occurred) or x.state),
            (f"{name} onset date", _date(x.onset, s.tz)),
            (f"{name} onset day after infusion", _day(x.onset, s)),
            (f"{name} maximum grade (ASTCT 2019)", "" if x.maximum is None else x.maximum),
            (f"{name} date of maximum grade", _date(x.maximum_at, s.tz)),
            (f"{name} resolution date", _date(x.resolved, s.tz)),
            (f"{name} at the last assessment", x.state),
            (f"{name} episodes", x.episodes)]


def _treatment_cells(t: Treatment, s: RegistrySummary) -> list[tuple[str, Any]]:
    out = [(f"{t.words} given (yes/no)", _yes(t.doses > 0)),
           (f"{t.words} first date", _date(t.first, s.tz)),
           (f"{t.words} doses", t.doses),
           (f"{t.words} doses known only from an assessment tick (a minimum)",
            t.from_assessments)]
    if t.key == "corticosteroid":
        out.append(("Corticosteroids named", "; ".join(t.agents)))
    for name, label in (("crs", "CRS"), ("icans", "ICANS")):  # R11
        out += [(f"{t.words} given for {label} (yes/no)", t.given_for(name)),
                (f"{t.words} given for {label}: first date",
                 _date(getattr(t, f"{name}_first"), s.tz)),
                (f"{t.words} given for {label}: doses", getattr(t, f"{name}_doses"))]
    out.append((f"{t.words} doses with the reason not stated", t.not_stated))
    return out


def _marker_cells(key: str, s: RegistrySummary) -> list[tuple[str, Any]]:
    a = ANALYTES[key]
    m = next((x for x in s.markers if x.key == key), None)
    word = "lowest after infusion" if key in LOWEST_IS_WORST else "peak after infusion"
    name = a.words[:1].upper() + a.words[1:]
    return [(f"{name} baseline ({a.canonical})", "" if m is None or m.baseline is None
             else _num(m.baseline.value)),
            (f"{name} baseline taken", "" if m is None or m.baseline_basis is None
             else f"before {m.baseline_basis}"),
            (f"{name} {word} ({a.canonical})", "" if m is None or m.peak is None
             else _num(m.peak.value)),
            (f"{name} {word}: date", "" if m is None or m.peak is None
             else _date(m.peak.time, s.tz)),
            (f"{name} {word}: day after infusion", "" if m is None or m.peak is None
             else _day(m.peak.time, s)),
            (f"{name} fold change from baseline", "" if m is None else _num(m.fold, 4))]


def _cells(s: RegistrySummary) -> list[tuple[str, Any]]:
    cells: list[tuple[str, Any]] = [
        ("Patient", s.patient_id),
        ("Synthetic demo patient", _yes(s.is_demo)),
        ("CAR-T product", s.product or ""),
        ("Infusion date", _date(s.infusion, s.tz)),
        ("Lymphodepletion start date", _date(s.lymphodepletion, s.tz)),
        ("First assessment date", _date(s.first_assessed, s.tz)),
        ("Last assessment date", _date(s.last_assessed, s.tz)),
        ("Discharge date", _date(s.discharged, s.tz)),
        *_syndrome_cells("CRS", s.crs, s),
        *_syndrome_cells("ICANS", s.icans, s),
    ]
    for t in s.treatments:
        cells += _treatment_cells(t, s)
    cells += [
        ("ICU admission", s.icu_admission),
        ("ICU first transfer date", _date(s.icu.first, s.tz)),
        ("ICU first transfer day after infusion", _day(s.icu.first, s)),
        ("ICU stays", len(s.icu.stays)),
        ("ICU days, stays with a recorded return", "" if s.icu.days is None
         else _num(round(s.icu.days, 1))),
        ("ICU stay without a recorded return, since", _date(s.icu.open_since, s.tz)),
        ("Vasopressors (yes/no)", _yes(s.vasopressors_from is not None)),
        ("Vasopressors first date", _date(s.vasopressors_from, s.tz)),
        ("Vasopressors given", "; ".join(a.replace("_", " ") for a in s.vasopressor_agents)),
        ("Non-invasive ventilation, CPAP or BiPAP (yes/no)",
         _yes(s.noninvasive_from is not None)),
        ("Non-invasive ventilation first date", _date(s.noninvasive_from, s.tz)),
        ("Mechanical ventilation (yes/no)", _yes(s.ventilated_from is not None)),
        ("Mechanical ventilation first date", _date(s.ventilated_from, s.tz)),
        ("Death recorded (yes/no)", _yes(s.died is not None)),
        ("Date of death", _date(s.died, s.tz)),
        ("Cause of death", "" if s.death_cause is None else CAUSE_WORDS[s.death_cause]),
    ]
    for key in REGISTRY_MARKERS:
        cells += _marker_cells(key, s)
    return cells


def registry_csv(summaries: Sequence[RegistrySummary]) -> str:
    """One row per patient, headers in words, dates as YYYY-MM-DD, formula-safe (G12)."""
    out = io.StringIO()
    w = csvsafe.writer(out)
    header = [name for name, _ in _cells(summaries[0])] if summaries else \
        [name for name, _ in _cells(_EMPTY)]
    w.writerow(header)
    for s in summaries:
        w.writerow([v for _, v in _cells(s)])
    return out.getvalue()


def registry_export(store: WardStore, patient_id: str | None = None, fmt: str = "csv") -> str:
    """The registry summary as text: CSV, or a FHIR R4 Bundle as JSON (docs/registry.md).
    What a page calls for a download, and the CLI for ``registry-export``."""
    summaries = registry_summaries(store, patient_id)
    if fmt == "csv":
        return registry_csv(summaries)
    if fmt == "fhir":
        import json

        from .fhir.registry import registry_bundle
        return json.dumps(registry_bundle(summaries), ensure_ascii=False, indent=1)
    raise StoreError("format must be csv or fhir")


_NONE = Syndrome(None, None, None, None, None, "not assessed", 0)
_EMPTY = RegistrySummary(  # the header of an export with no patient
    "", False, None, None, None, None, None, None, _NONE, _NONE,
    tuple(Treatment(k, w, None, None, 0, 0, ()) for k, w, _, _ in TREATMENTS),
    None, (), None, None, None, None, (), None)
