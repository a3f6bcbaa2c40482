"""The ward as screens need it: the overview rows, and bedside entry (preview, save, regrade).

Pages call these functions and draw the result; no page computes a grade or reads the database
itself (design.md). Everything here goes through ``WardStore`` and ``grading``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

import grading
from grading import news2
from grading.fields import DOSE_FIELDS
from grading.lab_scores.labs import LabValue
from grading.parse import NAT, InputError, Problem
from grading.rules import hypotension_threshold, sbp_threshold
from grading.timeline import NE_GRADE, GradedTimeline, RowResult

from . import escalation, reference_ranges, schedule, support
from .course import RECORD_PROBLEM_ADVICE, course, course_now, record_problem
from .review import tocilizumab_doses
from .store import SYSTEM_USER as SYSTEM
from .store import StoreError, WardStore, period_covers
from .tables import ADMINISTRATION_KINDS

# Scale inputs that stay in force until recorded again (decisions X5, X8).
CARRIED_SCALE_INPUTS = (*(f for f, _, _ in DOSE_FIELDS), "transaminitis_ctcae_grade",
                        "creatinine_ctcae_grade", "other_organ_ctcae_grade")
NEWS2_ADULT_FROM_YEARS = 16  # spec §5.1: NEWS2 is not for under-16s

# Normal bands for marking the latest vitals on the overview (decision W6): the NEWS2 zero-score
# band (spec §5.1), except temperature, whose upper end is the ASTCT fever threshold (38.0 °C
# is CRS grade 1 although NEWS2 scores it 0). (low, high): a value below low or above high is
# marked; None = no limit on that side.
NORMAL_BANDS: dict[str, tuple[float | None, float | None]] = {
    "temp_c": (36.1, 37.9),
    "hr_bpm": (51, 90),
    "sbp_mmhg": (111, 219),
    "rr_per_min": (12, 20),
    "spo2_pct": (96, None),
}
# Children (< 16 y): NEWS2 bands do not apply. Temperature and SpO2 keep their bands, systolic
# BP is marked below the age threshold of spec §1.6, heart and breathing rate are not marked
# (the spec gives no age-specific ranges; W6).
CHILD_MARKED = ("temp_c", "spo2_pct")

SEVERITY_RANK = {"emergency": 4, "urgent": 3, "warning": 2, "review": 2, "info": 1}  # W13
NEWS2_BAND_SEVERITY = {3: "urgent", 7: "emergency"}  # schedule.news2_band -> the NEWS2 flags
log = logging.getLogger(__name__)


def out_of_range(name: str, value: float | None, age_years: float | None) -> str | None:
    """'low' or 'high' when a vital sign is outside its normal band (W6), else None."""
    if value is None or value != value:
        return None
    child = age_years is not None and age_years < NEWS2_ADULT_FROM_YEARS
    if child and name == "sbp_mmhg":
        t = hypotension_threshold(age_years)
        return "low" if value < sbp_threshold(t, age_years) else None
    if child and name not in CHILD_MARKED:
        return None
    low, high = NORMAL_BANDS.get(name, (None, None))
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return None


def day_post_infusion(infusion: datetime | None, at: datetime, tz: Any) -> int | None:
    """Calendar days from the infusion date to ``at`` in the ward time zone (Day 0 = infusion)."""
    if infusion is None:
        return None
    return (at.astimezone(tz).date() - infusion.astimezone(tz).date()).days


def _birthday(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:          # born on 29 February: the birthday is 28 February
        return born.replace(year=year, day=28)


def age_years_at(date_of_birth: date | None, at: datetime, tz: Any) -> float | None:
    """The age at ``at`` (ward calendar) in years: the completed years by the calendar plus the
    part of the current year, cut (never rounded up) to 2 decimals - so a patient is 12 or 18
    from that birthday and not a day before (the paediatric tools and ranges change there)."""
    if date_of_birth is None:
        return None
    on = at.astimezone(tz).date()
    years = on.year - date_of_birth.year - (
        (on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    last = _birthday(date_of_birth, date_of_birth.year + years)
    following = _birthday(date_of_birth, date_of_birth.year + years + 1)
    part = (on - last).days / max((following - last).days, 1)
    return math.floor((years + part) * 100) / 100


# ------------------------------------------------------------------------------ overview
@dataclass(frozen=True)
class PatientStatus:
    """A patient's row on the ward overview: the course now (``course.course_now``, the same
    answer as the patient's course) with the open flags read with it."""

    patient: dict[str, Any]
    day_post_infusion: int | None
    age_years: float | None
    last_assessed: datetime | None
    vitals: dict[str, tuple[float, datetime]]            # latest recorded value and its time
    marks: dict[str, str]                                # vital -> low / high
    o2_device: str | None
    o2_flow_l_min: float | None
    vasopressors: tuple[str, ...]
    crs: grading.Grade | None                            # at the latest assessment
    icans: grading.Grade | None
    crs_max: int | None
    icans_max: int | None
    flags: list[dict[str, Any]]
    due: schedule.Due
    overdue: list[str] = field(default_factory=list)
    news: news2.News2 | None = None                     # NEWS2 now (escalation.news_now)
    problem: str | None = None  # the stored record cannot be read or graded: what is wrong

    @property
    def clinical_flags(self) -> list[dict[str, Any]]:
        """Open flags about the patient's condition (not about overdue charting)."""
        return [f for f in self.flags if not f["code"].startswith("overdue")]

    @property
    def worst_flag(self) -> dict[str, Any] | None:
        """The most severe open flag, the newest of equal severity (decision W13): an urgent
        overdue-observations flag outranks an informational one about the past."""
        return max(self.flags, key=flag_order, default=None)

    @property
    def flag_rank(self) -> int:
        worst = self.worst_flag
        return 0 if worst is None else severity_rank(worst["severity"])

    def acuity(self) -> tuple[int, ...]:
        """Higher first (W13): the most severe open flag - or the flag the NEWS2 now calls for
        when that is more severe (>= 7 emergency, 5-6 or a red parameter urgent: an
        acknowledged NEWS2 flag never drops the sickest patient, W9) - then the current grade
        (not evaluable counts high), the NEWS2 band, overdue observations and the maximum
        grade so far."""
        def g(x: grading.Grade | None) -> int:
            return 6 if x is None or x.grade is None else x.grade
        band = schedule.news2_band(None if self.news is None else self.news.total,
                                   self.news is not None and self.news.red) or 0
        news_rank = severity_rank(NEWS2_BAND_SEVERITY[band]) if band in NEWS2_BAND_SEVERITY else 0
        return (max(self.flag_rank, news_rank), max(g(self.crs), g(self.icans)), band,
                len(self.overdue), max(self.crs_max or 0, self.icans_max or 0))


def severity_rank(severity: str) -> int:
    """emergency > urgent > warning (review) > info; an unknown severity counts as urgent
    (conservative: it is never sorted below what the ward knows to be urgent)."""
    return SEVERITY_RANK.get(severity, SEVERITY_RANK["urgent"])


def flag_order(f: Mapping[str, Any]) -> tuple[int, datetime]:
    """Most severe first, then the newest (``max`` of this is the flag to show)."""
    return severity_rank(f["severity"]), f["raised_at"]


def grade_patients(store: WardStore, patient_ids: Sequence[str]
                   ) -> tuple[GradedTimeline | None, list[int]]:
    a, ids = store.timelines(patient_ids)
    return (None, []) if a is None else (grading.grade(a), ids)


READ_ATTEMPTS = 3


def overview(store: WardStore, now: datetime, *, demo_only: bool = False
             ) -> list[PatientStatus]:
    """The ward overview as drawn: every admitted patient's status (``ward_overview``), the
    overdue observations raised as flags and those recorded since closed (``raise_overdue``),
    and read again whenever the record changed meanwhile - by that, or by another
    workstation - so the open flags shown are exactly the record's (issue 18, item 6)."""
    for _ in range(READ_ATTEMPTS):
        version = store.data_version()
        statuses = ward_overview(store, now, demo_only=demo_only)
        raise_overdue(store, statuses, now)
        if store.data_version() == version:
            return statuses
    return ward_overview(store, now, demo_only=demo_only)  # writes keep landing: the latest


def ward_overview(store: WardStore, now: datetime, *, demo_only: bool = False
                  ) -> list[PatientStatus]:
    """One status per admitted patient, most acute first (then by bed). A patient whose stored
    record cannot be read or graded gets a status naming the problem; the others are graded
    as usual (one patient's bad data never takes the ward overview down). Each patient's row
    is the course now (``course.course_now``) from the ward graded at once."""
    patients = store.patients(admitted_only=True, demo=True if demo_only else None)
    pids = [p["patient_id"] for p in patients]
    flags: dict[str, list[dict[str, Any]]] = {}
    for f in store.open_flags():
        flags.setdefault(f["patient_id"], []).append(f)
    problems = {pid: "record problem: " + "; ".join(ps) + RECORD_PROBLEM_ADVICE
                for pid, ps in store.record_problems(pids, duplicates=False).items()}
    graded = _graded(store, [pid for pid in pids if pid not in problems], problems)
    for g in {id(g): g for g, _ in graded.values()}.values():  # every latest row, explained at once
        g.prefetch(np.array([hi - 1 for g2, (_, hi) in graded.values() if g2 is g]))
    tables = schedule.load()
    out = []
    for p in patients:
        pid = p["patient_id"]
        g, span = graded.get(pid, (None, None))
        if pid in problems:
            out.append(_problem_status(store, p, flags.get(pid, []), now, problems[pid]))
            continue
        try:
            out.append(_status(store, p, g, span, flags.get(pid, []), now, tables))
        except Exception as e:  # contained to this patient's row, and logged
            log.exception("ward overview: patient %s could not be shown", pid)
            out.append(_problem_status(store, p, flags.get(pid, []), now,
                                       record_problem(store, pid, e)))
    out.sort(key=lambda s: (tuple(-x for x in s.acuity()), _bed_key(s.patient.get("bed"))))
    return out


def _graded(store: WardStore, pids: Sequence[str], problems: dict[str, str]
            ) -> dict[str, tuple[GradedTimeline, tuple[int, int]]]:
    """Each patient's graded timeline and rows in it: all patients graded at once, or when
    that fails, one by one (a failing patient's problem goes into ``problems``)."""
    try:
        return _spans(*grade_patients(store, pids))
    except Exception:  # find the patient(s) it belongs to, below
        log.warning("ward overview: grading the ward at once failed; grading patient by "
                    "patient", exc_info=True)
    out: dict[str, tuple[GradedTimeline, tuple[int, int]]] = {}
    for pid in pids:
        try:
            out |= _spans(*grade_patients(store, [pid]))
        except Exception as e:  # contained to this patient, and logged
            log.exception("ward overview: patient %s could not be graded", pid)
            problems[pid] = record_problem(store, pid, e)
    return out


def _spans(g: GradedTimeline | None, _ids: list[int]
           ) -> dict[str, tuple[GradedTimeline, tuple[int, int]]]:
    if g is None:
        return {}
    codes = g.assessments.columns["patient_id"][g.order.order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return {g.assessments.patients[int(codes[lo])]: (g, (int(lo), int(hi)))
            for lo, hi in zip(starts, np.r_[starts[1:], len(codes)])}


def _problem_status(store: WardStore, p: dict[str, Any], flags: list[dict[str, Any]],
                    now: datetime, problem: str) -> PatientStatus:
    """A patient who cannot be graded: no grades, vitals or schedule, the problem named."""
    due = schedule.Due(None, None)
    return PatientStatus(p, day_post_infusion(p["infusion_time"], now, store.tz),
                         age_years_at(p["date_of_birth"], now, store.tz), None, {}, {}, None,
                         None, (), None, None, None, None, flags, due, due.overdue(now),
                         problem=problem)


def _bed_key(bed: str | None) -> tuple[int, str]:
    b = bed or ""
    return (int(b), "") if b.isdigit() else (10**9, b)


def _status(store: WardStore, p: dict[str, Any], g: GradedTimeline | None,
            span: tuple[int, int] | None, flags: list[dict[str, Any]], now: datetime,
            tables: dict[str, Any]) -> PatientStatus:
    tz = store.tz
    dpi = day_post_infusion(p["infusion_time"], now, tz)
    if g is None or span is None:
        due = schedule.Due(None, None)
        return PatientStatus(p, dpi, age_years_at(p["date_of_birth"], now, tz), None, {}, {},
                             None, None, (), None, None, None, None, flags, due,
                             due.overdue(now))
    c = course_now(g, span[0], span[1], p, tables)
    age = age_years_at(p["date_of_birth"], now, tz)
    if age is None:
        age = c.age_years
    marks = {name: mark for name, (value, _) in c.vitals.items()
             if (mark := out_of_range(name, value, age))}
    return PatientStatus(
        p, dpi, age, c.last_assessed, c.vitals, marks, c.o2_device, c.o2_flow_l_min,
        c.vasopressors, c.current.crs, c.current.icans, c.crs_max, c.icans_max, flags, c.due,
        c.due.overdue(now), c.news)


# ------------------------------------------------------------------------------ bedside entry
@dataclass(frozen=True)
class Preview:
    result: RowResult
    previous: RowResult | None
    soft_limits: list[str]       # accepted values outside the usual range, to confirm
    flags: list[dict[str, str]] = field(default_factory=list)  # what saving would raise
    news: news2.News2 | None = None  # NEWS2 at the new assessment, by parameter (RCP 2017)


FLAGS_NOT_UPDATED = ("saved; the flags could not be updated — reload the page to see the "
                     "patient's grades and flags")


@dataclass(frozen=True)
class Saved:
    assessment_id: int
    result: RowResult | None     # None only with ``problem``
    flags: list[dict[str, str]]  # flags raised by this assessment
    news: news2.News2 | None = None  # NEWS2 at the saved assessment, by parameter
    problem: str | None = None   # saved, but grading it or updating the flags failed


def carried_forward(store: WardStore, patient_id: str) -> dict[str, Any]:
    """The ongoing support in force after the latest assessment (``support.support_in_force``:
    blank means unchanged, a flow belongs to the device it was recorded with), the vasopressor
    doses and organ-toxicity grades in force (decisions X5, X8) and the latest age, for
    pre-filling the bedside form."""
    rows = store.timeline_rows(patient_id)
    in_force = support.support_in_force(rows)
    out: dict[str, Any] = {}
    for row, s in zip(rows, in_force):
        for name in (*CARRIED_SCALE_INPUTS, "age_years"):
            if row.get(name) is not None:
                out[name] = row[name]
        for column, agent, _ in DOSE_FIELDS:  # a dose ends with its infusion (X5)
            if agent not in s.agents or (row.get(column) is None and any(
                    row.get(c) is not None for c, a, _ in DOSE_FIELDS if a == agent)):
                out.pop(column, None)
    now = in_force[-1] if in_force else support.NO_SUPPORT
    for name, value in (("o2_device", now.o2_device), ("o2_flow_l_min", now.o2_flow_l_min),
                        ("fio2_pct", now.fio2_pct), ("vasopressors", now.vasopressors)):
        if value is not None:
            out[name] = value
    return out


def with_context(store: WardStore, patient: Mapping[str, Any], values: Mapping[str, Any]
                 ) -> dict[str, Any]:
    """The canonical row for a form entry: patient id, infusion time and age added."""
    row = {k: v for k, v in values.items() if v is not None and v != ""}
    row["patient_id"] = patient["patient_id"]
    if patient.get("infusion_time") is not None:
        row["infusion_time"] = patient["infusion_time"]
    if "age_years" not in row and isinstance(row.get("time"), datetime):
        age = age_years_at(patient.get("date_of_birth"), row["time"], store.tz)
        if age is not None:
            row["age_years"] = age
    return row


def with_standing_attributions(store: WardStore, patient_id: str,
                               rows: Sequence[Mapping[str, Any]], row: dict[str, Any]
                               ) -> dict[str, Any]:
    """The new row with the physicians' attributions over a time range that will cover it
    once saved (decision W15: the record's own rule), so the preview shows the grade the save
    will give."""
    if not isinstance(row.get("time"), datetime):
        return row
    combined = sorted([*rows, row], key=lambda r: r["time"])
    at = next(i for i, r in enumerate(combined) if r is row)
    found = {p["finding"] for p in store.attribution_periods(patient_id)
             if at in period_covers(combined, p["finding"], p["starts_at"], p["ends_at"])}
    if not found:
        return row
    had = row.get("attributed_elsewhere")
    have = set() if had in (None, "none") else set(str(had).split(";"))
    return row | {"attributed_elsewhere": ";".join(sorted(have | found))}


def preview(store: WardStore, patient_id: str, values: Mapping[str, Any],
            now: datetime | None = None) -> Preview:
    """Grade the patient's record with the new assessment added, without saving it: the
    patient's course (``course.course``, kept per data version, so a preview while typing
    reads nothing again) and the row. Raises ``grading.InputError`` (each ``Problem`` names
    its field) or ``StoreError`` (an unknown patient, or a record that cannot be graded)."""
    c = course(store, patient_id)
    patient = c.patient
    row = with_context(store, patient, values)
    rows = c.rows
    problems = grading.from_rows([row], tz=store.tz)  # the row alone: its own errors first
    row = with_standing_attributions(store, patient_id, rows, row)
    _refuse_future(problems, now)
    a = grading.from_rows([*rows, row], tz=store.tz)
    g = grading.grade(a)
    s = int(np.flatnonzero(g.order.order == len(rows))[0])
    g.prefetch(np.arange(max(s - 1, 0), len(g.order)))  # the rows evaluated below, at once
    previous = g.result_at(s - 1, int(g.order.order[s - 1])) if s > 0 else None
    combined = [*rows, {**row, "time": g.result_at(s, len(rows)).time}]
    in_time_order = [combined[int(j)] for j in g.order.order]
    would = escalation.evaluate_course(
        in_time_order, lambda i: g.result_at(i, int(g.order.order[i])), patient,
        tocilizumab_doses(in_time_order, c.administrations), start=s)
    return Preview(g.result_at(s, len(rows)), previous,
                   [m for ms in problems.soft_flags.values() for m in ms],
                   [c.flag for c in would if c.index == s],
                   escalation.course_news(in_time_order, patient, s)[s])


def save(store: WardStore, patient_id: str, values: Mapping[str, Any], by: str,
         now: datetime | None = None) -> Saved:
    """Save a bedside assessment, regrade the record and raise the flags it calls for: one
    transaction under the patient's lock (``WardStore.locked``), so the flag resync reads
    exactly the record the save left and no other save for this patient runs in between.

    Once the row is stored, a failure of the regrade or the flag resync does not undo it: that
    part is rolled back alone, logged for the administrator, and ``Saved.problem`` tells the
    user it was saved but the flags could not be updated (the next save or correction
    resyncs them). An exception from here means nothing was saved: ``grading.InputError``,
    or ``StoreError`` (whose ``problems`` name the field when a value is refused, e.g. a
    second assessment at one time)."""
    with store.locked([patient_id]):
        patient = store.patient(patient_id)
        if patient is None:
            raise StoreError(f"unknown patient '{patient_id}'")
        row = with_context(store, patient, values)
        if row.get("time") not in (None, ""):
            _refuse_future(grading.from_rows([{"patient_id": patient_id, "time": row["time"]}],
                                             tz=store.tz), now)
        new_id = store.record_assessment(patient_id, row, by=by)
        try:
            with store.savepoint():
                at = row.get("time")
                raised, result, news = _sync(store, patient_id, by, changed_id=new_id,
                                             change=Change(
                                                 f"an assessment charted for {when(store, at)}"
                                                 if isinstance(at, datetime) else
                                                 "an assessment charted late"))
                if result is None:
                    raise RuntimeError(f"assessment {new_id} is not in the patient's timeline "
                                       "after it was saved")
        except Exception:  # the row is stored; the user is told, the error logged
            log.exception("save: assessment %s for patient %s stored, flags not updated",
                          new_id, patient_id)
            return Saved(new_id, None, [], None, problem=FLAGS_NOT_UPDATED)
    return Saved(new_id, result, raised, news)


# A change to the past (decision E13): the flags it raises about conditions the patient no
# longer has are filed (stored, and closed by the system with this action), and ONE open item
# per patient and change summarises them.
SUMMARY_CODE = "retrospective_change"
SUMMARY_RESPOND = "nurse in charge and physician, at the next review"
FILED = "filed under the summary of a change to the past (no longer present now)"
Grades = dict[float, tuple[int | None, int | None]]  # assessment time (s) -> CRS, ICANS


@dataclass(frozen=True)
class Change:
    """What a write changed, for the flags it leads to (decision E13). ``what``: in plain
    words, for the summary item and closing reasons ("the fever at 26 Nov 18:00 attributed to
    another cause by a physician"); ``explains``: a judgement that explains findings (an
    attribution), so an open flag it makes untrue is closed with that reason rather than
    withdrawn as a mistake; ``before``: the grades at each assessment before the write."""

    what: str
    explains: bool = False
    before: Grades | None = None


def when(store: WardStore, at: datetime) -> str:
    """A time for a message: day, month and clock time in the ward's zone."""
    return f"{at.astimezone(store.tz):%d %b %H:%M}"


def grades_now(store: WardStore, patient_id: str) -> Grades:
    """The CRS and ICANS grade at each of the patient's assessments (None: not evaluable),
    read before a change to the past so that its summary can say what changed."""
    a, _ = store.timelines([patient_id])
    return {} if a is None else _grades(grading.grade(a))


def _grades(g: GradedTimeline) -> Grades:
    times = g.assessments.columns["time"][g.order.order]
    crs, icans = g.col["crs_grade"], g.col["icans_grade"]

    def grade(x: Any) -> int | None:
        return None if x == NE_GRADE else int(x)
    return {int(t) / 1e9: (grade(crs[i]), grade(icans[i])) for i, t in enumerate(times)}


def sync_flags(store: WardStore, patient_id: str, by: str, *, changed_id: int | None = None,
               since: datetime | None = None, change: Change | None = None
               ) -> tuple[list[dict[str, str]], RowResult | None]:
    """Bring the patient's stored flags in line with the rule table over the course from the
    changed assessment (or ``since``) on: raise what is new, withdraw unacknowledged flags that
    are no longer true (close them, when ``change`` explains them), and file what concerns
    only the past under one summary item (E13). Returns the flags put on the worklist and the
    changed row's result. One transaction under the patient's lock: it reads one state of
    the record, and two workstations resyncing at once raise each flag once."""
    with store.locked([patient_id]):
        raised, result, _ = _sync(store, patient_id, by, changed_id=changed_id, since=since,
                                  change=change)
    return raised, result


def _kept_apart(code: str) -> bool:
    """Flags the course's rules do not raise: overdue charting (E4), change summaries (E13),
    and the lab rules' flags (kept in line by ``_sync_labs``)."""
    return code.startswith("overdue") or code == SUMMARY_CODE or code in LAB_CODES


LAB_CODES = frozenset(escalation.LAB_RULE_BY_CODE)


_READ = object()


def lab_course_flags(store: WardStore, patient: Mapping[str, Any],
                     last_assessment: datetime | object | None = _READ
                     ) -> list[escalation.CourseFlag]:
    """The flags the patient's current lab results raise (``escalation.evaluate_labs``):
    the limits of normal (ferritin, ALT, AST upper, fibrinogen lower) are the site's for the
    patient's age at each result (decisions L12, M2). ``last_assessment``: the time of the
    latest bedside assessment (None: none), read here when not given."""
    labs = [LabValue(r["test"], float(r["value"]), r["taken_at"])
            for r in store.labs(patient["patient_id"])]
    if not labs:
        return []
    born = patient.get("date_of_birth")

    def limits(at: datetime) -> dict[str, float]:
        return reference_ranges.iechs_limits(age_years_at(born, at, store.tz))
    if last_assessment is _READ:
        rows = store.timeline_rows(patient["patient_id"])
        last_assessment = rows[-1]["time"] if rows else None
    latest = max([x.time for x in labs] + (
        [last_assessment] if isinstance(last_assessment, datetime) else []))
    return escalation.evaluate_labs(escalation.lab_contexts(
        labs, patient.get("infusion_time"), store.tz, limits), latest)


def _sync_labs(store: WardStore, patient: Mapping[str, Any], by: str,
               last_assessment: datetime | None
               ) -> tuple[list[dict[str, str]], list[tuple[int, escalation.CourseFlag]]]:
    """Bring the lab rules' stored flags in line with the whole lab course (it is short): raise
    what is new (retrospective when no longer present, E7), withdraw an unacknowledged one
    the results no longer support (a correction, a result marked in error). Identity as E2:
    the rule, the result time and the words. Returns the flags raised about now, and the
    retrospective ones (id, flag) for the caller to file under the change's one summary, as
    the assessment rules' are (E13). Called inside ``store.locked``."""
    pid = patient["patient_id"]
    desired = lab_course_flags(store, patient, last_assessment)
    existing = [f for f in store.flags(pid) if f["code"] in LAB_CODES]

    def stored_key(f: Mapping[str, Any]) -> tuple[str, float, str]:
        return escalation.key(f["code"], f["raised_at"], escalation.first_message(f["message"]))
    have = {stored_key(f) for f in existing}
    want = {escalation.key(c.flag["code"], c.time, c.flag["message"]) for c in desired}
    raised = []
    filed: list[tuple[int, escalation.CourseFlag]] = []
    for c in desired:
        if escalation.key(c.flag["code"], c.time, c.flag["message"]) in have:
            continue
        flag = c.flag if c.current else escalation.retrospective(c.flag)
        flag_id = store.raise_flag(pid, flag["code"], flag["severity"], flag["message"], c.time,
                                   by=by, respond=flag["respond"])
        if c.current:
            raised.append(flag)
        else:
            filed.append((flag_id, c))
    for f in existing:
        if stored_key(f) not in want and (
                f["ack_action"] is None or (f["ack_by"] == SYSTEM and f["ack_action"] == FILED)):
            store.withdraw_flag(f["id"], escalation.WITHDRAWN, by=by)
    return raised, filed


def _file(store: WardStore, patient_id: str, by: str, filed: Sequence[escalation.CourseFlag],
          ids: Sequence[int], g: GradedTimeline | None, change: Change | None,
          assessment_id: int | None) -> dict[str, str]:
    """Raise the one summary of a change to the past (E13) over the flags ``ids`` it filed
    (the course's and the lab rules'), at the earliest of them, and file them under it."""
    summary = _summary(store, filed, g, change)
    store.raise_flag(patient_id, summary["code"], summary["severity"], summary["message"],
                     min(c.time for c in filed), by=by, assessment_id=assessment_id,
                     respond=summary["respond"])
    store.acknowledge_flags(list(ids), FILED, by=SYSTEM)
    return summary


def _sync(store: WardStore, patient_id: str, by: str, *, changed_id: int | None = None,
          since: datetime | None = None, change: Change | None = None
          ) -> tuple[list[dict[str, str]], RowResult | None, news2.News2 | None]:
    """``sync_flags``, and the NEWS2 at the changed row. Called inside ``store.locked``: every
    read below sees the same rows."""
    patient = store.patient(patient_id)
    a, ids = store.timelines([patient_id])
    if patient is None:
        return [], None, None
    if a is None:  # every assessment entered in error: no flag is supported any more
        _, lab_filed = _sync_labs(store, patient, by, None)
        for f in store.flags(patient_id):
            if f["ack_action"] is None and not _kept_apart(f["code"]) and (
                    since is None or f["raised_at"] >= since):
                store.withdraw_flag(f["id"], escalation.WITHDRAWN, by=by)
        if lab_filed:
            return [_file(store, patient_id, by, [c for _, c in lab_filed],
                          [i for i, _ in lab_filed], None, change, None)], None, None
        return [], None, None
    g = grading.grade(a)
    sorted_of = np.empty(len(g.order), np.int64)
    sorted_of[g.order.order] = np.arange(len(g.order))
    cache: dict[int, RowResult] = {}

    def result_of(i: int) -> RowResult:
        if i not in cache:
            cache[i] = g.result_at(int(sorted_of[i]), i)
        return cache[i]

    rows = store.timeline_rows(patient_id)  # the same rows, in the same (time) order
    _, lab_filed = _sync_labs(store, patient, by, rows[-1]["time"] if rows else None)
    times = [r["time"] for r in rows]
    if changed_id is not None:
        start = ids.index(changed_id)
    elif since is not None:
        start = next((i for i, t in enumerate(times) if t >= since), len(times))
    else:
        start = 0
    g.prefetch(sorted_of[max(start - 1, 0):])  # the rows evaluated below, explained at once
    doses = tocilizumab_doses(rows, store.administrations(patient_id))
    scores = escalation.course_news(rows, patient, max(start - 1, 0))
    desired = escalation.evaluate_course(rows, result_of, patient, doses, start, scores)
    first = times[start] if start < len(times) else since
    existing = [f for f in store.flags(patient_id)
                if first is not None and f["raised_at"] >= first
                and not _kept_apart(f["code"])]

    def stored_key(f: Mapping[str, Any]) -> tuple[str, float, str]:  # as first evaluated
        return escalation.key(f["code"], f["raised_at"], escalation.first_message(f["message"]))

    have = {stored_key(f) for f in existing}
    want = {escalation.key(c.flag["code"], c.time, c.flag["message"]) for c in desired}
    raised: list[dict[str, str]] = []
    filed: list[tuple[int, escalation.CourseFlag]] = []
    for c in desired:
        if escalation.key(c.flag["code"], c.time, c.flag["message"]) not in have:
            # a change to the past raising a condition the patient no longer has (E7): kept
            # in the history, filed under one summary (E13), never an alarm about now
            flag = c.flag if c.current else escalation.retrospective(c.flag)
            flag_id = store.raise_flag(patient_id, flag["code"], flag["severity"],
                                       flag["message"], c.time, by=by,
                                       assessment_id=ids[c.index], respond=flag["respond"])
            if not c.current:
                filed.append((flag_id, c))
            elif changed_id is None or ids[c.index] == changed_id:
                raised.append(flag)
    # a flag whose rule still fires at its time is only worded anew (E2), not explained
    still_flagged = {(c.flag["code"], c.time.timestamp()) for c in desired}
    for f in existing:  # open, or filed by the system (E13): a person's acknowledgement stays
        if stored_key(f) in want:
            continue
        reworded = (f["code"], f["raised_at"].timestamp()) in still_flagged
        if f["ack_action"] is None and change is not None and change.explains and reworded:
            store.withdraw_flag(f["id"], "replaced by its new wording after " + change.what,
                                by=by)
        elif f["ack_action"] is None and change is not None and change.explains:
            store.acknowledge_flag(f["id"], "closed: " + change.what, by=SYSTEM)  # explained
        elif f["ack_action"] is None or (f["ack_by"] == SYSTEM and f["ack_action"] == FILED):
            store.withdraw_flag(f["id"], escalation.WITHDRAWN, by=by)
    if filed or lab_filed:  # the lab rules' retrospective flags under the same summary (E13)
        raised.append(_file(store, patient_id, by, [c for _, c in [*filed, *lab_filed]],
                            [i for i, _ in [*filed, *lab_filed]], g, change,
                            ids[filed[0][1].index] if filed else None))
    if start >= len(rows):
        return raised, None, None
    return raised, result_of(start), scores[start]


def _summary(store: WardStore, filed: Sequence[escalation.CourseFlag],
             g: GradedTimeline | None, change: Change | None) -> dict[str, str]:
    """The one item on the worklist for a change to the past (E13): what changed, over which
    period, at how many assessments the grade changed, the highest grades in that period
    before and after, and how many flags about the past were filed in the flag history."""
    after = {} if g is None else _grades(g)
    before = change.before if change is not None else None
    changed = sorted(t for t, x in after.items()
                     if before is not None and t in before and before[t] != x)
    times = changed or [c.time.timestamp() for c in filed]
    lo, hi = min(times), max(times)

    def highest(grades: Grades, k: int) -> str:
        vals = [x[k] for t, x in grades.items() if lo <= t <= hi]
        known = [v for v in vals if v is not None]
        return str(max(known)) if known else "not evaluable"

    def span(t: float) -> str:
        return when(store, datetime.fromtimestamp(t, UTC))
    period = f"at {span(lo)}" if lo == hi else f"from {span(lo)} to {span(hi)}"
    if not any(lo <= t <= hi for t in after):  # e.g. lab results between two assessments
        grades = (f"No bedside assessment {period}" if not changed else
                  f"The grade changed {period}")
    elif before is None:
        grades = (f"Highest ASTCT 2019 grade {period} now: CRS {highest(after, 0)}, ICANS "
                  f"{highest(after, 1)}")
    elif not changed:
        grades = (f"No ASTCT 2019 grade changed; highest grade {period}: CRS "
                  f"{highest(after, 0)}, ICANS {highest(after, 1)}")
    else:
        n = len(changed)
        parts = []
        for k, name in ((0, "CRS"), (1, "ICANS")):
            b, a = highest(before, k), highest(after, k)
            parts.append(f"{name} {b} → {a}" if b != a else f"{name} {a} (unchanged)")
        grades = (f"The grade changed at {n} assessment{'s' if n != 1 else ''} {period}; "
                  "highest ASTCT 2019 grade then: " + ", ".join(parts))
    n = len(filed)
    what = change.what if change is not None else "a change to the record"
    return {"code": SUMMARY_CODE, "severity": "info", "respond": SUMMARY_RESPOND,
            "message": (f"{escalation.RETROSPECTIVE}{what}. {grades}. {n} flag"
                        f"{'s' if n != 1 else ''} about that time, no longer present now, "
                        f"{'are' if n != 1 else 'is'} in the flag history.")}


# Migration 0007 made anakinra doses recorded before it set ``anticytokine_given`` on old rows
# (W10): their past grades can change (the fever waiver, A3), so their stored flags are brought
# in line once, on the first open after it (the claim is the marker).
ANTICYTOKINE_RESYNC = "flags after migration 0007 (anti-cytokine agents)"


def resync_after_anticytokine_migration(store: WardStore) -> list[str]:
    """Once per database: re-evaluate the flags of every patient with an anti-cytokine
    medication on record (``sync_flags`` over the whole course), so a flag the new field
    makes true is raised (retrospective if no longer current, E7) and one it makes untrue is
    withdrawn. Returns the patients re-synced (none after the first call). A patient whose
    record cannot be graded is logged and skipped; it is re-synced at its next save."""
    if not store.claim_once(ANTICYTOKINE_RESYNC):
        return []
    kinds = {k for k, (_, f) in ADMINISTRATION_KINDS.items() if f == "anticytokine_given"}
    done = []
    for p in store.patients():
        pid = p["patient_id"]
        try:
            if any(m["kind"] in kinds for m in store.administrations(pid)):
                sync_flags(store, pid, SYSTEM, change=Change(
                    "the anti-cytokine medications on record re-read after an update of the "
                    "ward record (they now count towards the grade)"))
                done.append(pid)
        except Exception:  # one patient's record never stops the app from opening
            log.exception("flag re-sync after migration 0007: patient %s skipped", pid)
    return done


def raise_overdue(store: WardStore, statuses: Sequence[PatientStatus], now: datetime) -> int:
    """Overdue observations raised as flags, once per due time (called by the overview); an
    open overdue flag is closed (acknowledged by the system) once the observations it asked
    for have been recorded (E4). Each patient's check and raise run under the patient's lock
    (``WardStore.locked``), so two workstations refreshing at once raise each flag once."""
    n = 0
    for s in statuses:
        closing = []
        for f in s.flags:  # the open flags the overview already read
            kind = "vitals" if f["code"].startswith("overdue_vitals") else \
                "neuro" if f["code"].startswith("overdue_neuro") else None
            if kind is None:
                continue
            due = s.due.vitals_due if kind == "vitals" else s.due.neuro_due
            done = ("vital signs" if kind == "vitals" else "neuro assessment") not in s.overdue
            if s.due.died_at is not None or (due is not None and due > f["raised_at"] and done):
                closing.append(f["id"])  # recorded since, or a death recorded (S12)
        if not s.overdue and not closing:  # nothing to raise or close: no query
            continue
        pid = s.patient["patient_id"]
        wanted = escalation.overdue_flags(pid, s.due, now, s.patient.get("admitted_at")) \
            if s.overdue else []

        # the usual refresh: every overdue flag wanted is open already (the overview read
        # them), nothing to close - no query, no lock
        open_keys = {escalation.key(f["code"], f["raised_at"]) for f in s.flags}
        if not closing and all(escalation.key(f["code"], f["raised_at"]) in open_keys
                               for f in wanted):
            continue
        # else a read first: with nothing to do (e.g. acknowledged already), no lock
        if _overdue_todo(store.flags(pid), closing, wanted) == ([], []):
            continue
        with store.locked([pid]):  # decide again under the lock: what others did meanwhile
            close, raise_ = _overdue_todo(store.flags(pid), closing, wanted)
            for flag_id in close:
                store.acknowledge_flag(flag_id, "death recorded" if s.due.died_at is not None
                                       else "observations recorded since", by=SYSTEM)
            for f in raise_:
                store.raise_flag(pid, f["code"], f["severity"], f["message"], f["raised_at"],
                                 respond=f["respond"])
                n += 1
    return n


def _overdue_todo(current: list[dict[str, Any]], closing: list[int],
                  wanted: list[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
    """Of the overdue flags to close and to raise, those still to do given a patient's
    current flags (open and acknowledged)."""
    open_ids = {f["id"] for f in current if f["ack_action"] is None}
    have = {escalation.key(f["code"], f["raised_at"]) for f in current}
    return ([i for i in closing if i in open_ids],
            [f for f in wanted if escalation.key(f["code"], f["raised_at"]) not in have])


FUTURE = "assessment time is in the future: an assessment is charted when it was made"


def backdating_problem(at: datetime, now: datetime,
                       limit: timedelta = timedelta(hours=24)) -> Problem | None:
    """``assessed_at`` defaults to now, may be back-dated up to 24 h, never in the future."""
    if at.tzinfo is None:
        return Problem("time", "not_a_time", "assessment time: give a time with its time zone")
    if at > now:
        return Problem("time", "future_time", FUTURE)
    if now - at > limit:
        return Problem("time", "too_old", f"assessment time is more than "
                       f"{int(limit.total_seconds() // 3600)} h ago: older observations are "
                       "entered by import or by a correction")
    return None


def _refuse_future(checked: grading.Assessments, now: datetime | None) -> None:
    """A bedside assessment is charted when it was made: a time after ``now`` (default: the
    clock) is refused with a ``future_time`` problem, in preview and save alike."""
    ns = int(checked.columns["time"][0])
    limit = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    if ns != NAT and ns > int(np.datetime64(limit, "ns").astype(np.int64)):
        raise InputError([Problem("time", "future_time", FUTURE, row=1,
                                  value=checked.frame["time"].iat[0].isoformat(),
                                  words="in the future: an assessment is charted when it was "
                                  "made")])
