"""The markers panel of the patient timeline (issue 20 point 2; docs/markers.md, decisions M4,
M5): each marker recorded for the patient as a course of results, each result with the
reference range for the patient's age at the time and whether it lies outside it, the
anti-cytokine and corticosteroid doses given, and the IL-6 results that follow a tocilizumab
dose. Plain functions over what the course holds (``monitoring.course``: the patient, the
assessment rows, the medications and the lab results); the chart is drawn by
``ui.marker_chart`` from what this returns.

The rule that matters clinically here (decision M4): serum IL-6 rises after tocilizumab because
the drug blocks the IL-6 receptor, through which IL-6 is normally cleared (Nishimoto N et al.,
Blood 2008;112:3959-64; Lee DW et al., Blood 2014;124:188-95). An IL-6 taken after a
tocilizumab dose is marked so, and the panel says that a rise is not by itself treatment
failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from grading.lab_scores.units import ANALYTES
from grading.words import lab_value

from .reference_ranges import SiteRanges, range_for
from .review import charted_only
from .tables import KIND_WORDS
from .ward import age_years_at, day_post_infusion

# The markers the panel shows first, when the patient has results of them (issue 20 point 2).
DEFAULT_MARKERS = ("il6", "crp", "ferritin", "fibrinogen")

# The doses the panel marks (issue 20 point 2): the medication kinds of the ward record
# (monitoring/medications.py) by the row they are drawn on, then the "given since the previous
# assessment" fields of an assessment that no recorded medication accounts for (imported
# records), by the same rows.
DOSE_ROWS = ("tocilizumab", "anakinra", "siltuximab", "other anti-cytokine", "corticosteroid")
DOSE_ROW_OF_KIND = {"tocilizumab": "tocilizumab", "anakinra": "anakinra",
                    "siltuximab": "siltuximab", "other_anticytokine": "other anti-cytokine",
                    "dexamethasone": "corticosteroid", "methylprednisolone": "corticosteroid"}
CHARTED_FIELDS = (("tocilizumab_given", "tocilizumab", "tocilizumab"),
                  ("anticytokine_given", "other anti-cytokine",
                   "anakinra, siltuximab or another anti-cytokine"),
                  ("corticosteroid_given", "corticosteroid", "corticosteroid"))

IL6_TOCILIZUMAB_SOURCE = ("Nishimoto N et al., Blood 2008;112:3959-64; Lee DW et al., "
                          "Blood 2014;124:188-95")
IL6_TOCILIZUMAB_NOTE = (
    "IL-6 taken after tocilizumab: serum IL-6 rises after tocilizumab because the drug blocks "
    "the IL-6 receptor and IL-6 is no longer cleared through it, so a rise is expected and is "
    f"not by itself a sign that the treatment has failed ({IL6_TOCILIZUMAB_SOURCE}). Judge the "
    "response by the patient: fever, blood pressure, oxygen and the CRS grade.")
IL6_TOCILIZUMAB_SHORT = "after tocilizumab: IL-6 rises as the receptor is blocked"
RANGE_NOTE = ("Shaded: the reference range for the patient's age at the time of the result "
              "(the laboratory's own ranges where the site has set them). Results outside it "
              "are drawn in a stronger colour. Markers play no part in the ASTCT grades "
              "(ASTCT 2019).")


@dataclass(frozen=True)
class MarkerResult:
    """One result as the panel shows it: in the panel's unit of the marker."""

    at: datetime                        # when it was taken (timezone-aware)
    value: float                        # in ``MarkerCourse.unit``
    day: int | None                     # calendar days after the infusion (Day 0 = infusion)
    low: float | None                   # the reference range at the time, ``unit`` (M2)
    high: float | None
    after_tocilizumab: datetime | None  # the latest tocilizumab dose before it (IL-6 only)

    @property
    def outside(self) -> str | None:
        """'above' or 'below' the reference range, None inside it."""
        if self.high is not None and self.value > self.high:
            return "above"
        if self.low is not None and self.value < self.low:
            return "below"
        return None


@dataclass(frozen=True)
class MarkerCourse:
    test: str
    words: str                          # how a clinician names it
    unit: str                           # the unit the results were entered in, else canonical
    log_scale: bool
    results: tuple[MarkerResult, ...]   # time order

    def value_text(self, value: float) -> str:
        return lab_value(value, self.test, self.unit)


@dataclass(frozen=True)
class Dose:
    at: datetime
    row: str                            # one of DOSE_ROWS
    words: str                          # the drug (and dose) as a clinician reads it
    charted_only: bool = False          # from an assessment's "given" field, not the MAR


def day_words(day: int | None) -> str:
    """'Day +3', 'Day 0', 'Day -5' ('' without an infusion time), as elsewhere in the app."""
    if day is None:
        return ""
    return "Day 0" if day == 0 else f"Day {day:+d}"


def age_at(patient: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], at: datetime,
           tz: Any) -> float | None:
    """The patient's age at ``at``: from the date of birth when the record has it
    (``ward.age_years_at``: a patient is 18 from the 18th birthday, not a day before), else the
    age on the latest assessment at or before ``at`` (the first one when none is before it)."""
    born = patient.get("date_of_birth")
    if isinstance(born, date):
        return age_years_at(born, at, tz)
    aged = [(r["time"], r["age_years"]) for r in rows if r.get("age_years") is not None]
    before = [a for t, a in aged if t <= at]
    if before:
        return float(before[-1])
    return float(aged[0][1]) if aged else None


def _unit(test: str, labs: Sequence[Mapping[str, Any]]) -> str:
    """The unit the panel shows ``test`` in: the one its results were entered in when they all
    agree (the laboratory's unit), else the canonical unit of the analyte table."""
    a = ANALYTES[test]
    entered = {x.get("entered_unit") for x in labs}
    (only,) = entered if len(entered) == 1 else (None,)
    return only if isinstance(only, str) and only in a.factors else a.canonical


def tocilizumab_times(rows: Sequence[Mapping[str, Any]],
                      administrations: Sequence[Mapping[str, Any]]) -> list[datetime]:
    """Every tocilizumab dose once (``review.tocilizumab_doses``'s rule: recorded doses, plus an
    assessment's "tocilizumab given" no recorded dose accounts for)."""
    return sorted(d.at for d in doses(rows, administrations) if d.row == "tocilizumab")


def marker_courses(labs: Iterable[Mapping[str, Any]], patient: Mapping[str, Any],
                   rows: Sequence[Mapping[str, Any]], administrations: Sequence[Mapping[str, Any]],
                   tz: Any, site: SiteRanges | None = None) -> dict[str, MarkerCourse]:
    """Every marker with at least one result, in the order of the analyte table: its results in
    time order, each with its reference range for the patient's age at the time (decision M2)
    and, for IL-6, the tocilizumab dose it follows (decision M4)."""
    by_test: dict[str, list[Mapping[str, Any]]] = {}
    for x in sorted(labs, key=lambda x: x["taken_at"]):
        if x["test"] in ANALYTES:
            by_test.setdefault(x["test"], []).append(x)
    toci = tocilizumab_times(rows, administrations)
    infusion = patient.get("infusion_time")
    out: dict[str, MarkerCourse] = {}
    for test, a in ANALYTES.items():
        got = by_test.get(test)
        if not got:
            continue
        unit = _unit(test, got)
        factor = a.factors[unit]
        results = []
        for x in got:
            at = x["taken_at"]
            lo, hi = range_for(test, age_at(patient, rows, at, tz), site)
            value = (float(x["entered_value"]) if x.get("entered_unit") == unit
                     else float(x["value"]) / factor)
            before = [t for t in toci if t <= at] if test == "il6" else []
            results.append(MarkerResult(
                at, value, day_post_infusion(infusion, at, tz),
                None if lo is None else lo / factor, None if hi is None else hi / factor,
                before[-1] if before else None))
        out[test] = MarkerCourse(test, a.words, unit, a.log_scale, tuple(results))
    return out


def default_markers(present: Iterable[str]) -> list[str]:
    """IL-6, CRP, ferritin and fibrinogen among the markers present; the first marker present
    when none of them is."""
    present = list(present)
    chosen = [t for t in DEFAULT_MARKERS if t in present]
    return chosen or present[:1]


def doses(rows: Sequence[Mapping[str, Any]],
          administrations: Sequence[Mapping[str, Any]]) -> list[Dose]:
    """The tocilizumab, anakinra, siltuximab, other anti-cytokine and corticosteroid doses, in
    time order, each once: the recorded medications, then an assessment's "given since the
    previous assessment" where no recorded medication of that kind accounts for it (drawn at
    the assessment: the dose was given at or before it)."""
    out = []
    for m in administrations:
        row = DOSE_ROW_OF_KIND.get(m["kind"])
        if row is None:
            continue
        amount = " ".join(x for x in (None if m.get("dose") is None else f"{m['dose']:g}",
                                      m.get("unit"), m.get("route")) if x)
        out.append(Dose(m["given_at"], row, " ".join(
            x for x in (KIND_WORDS.get(m["kind"], m["kind"]), amount) if x)))
    for field, row, words in CHARTED_FIELDS:
        for i in charted_only(list(rows), list(administrations), field):
            out.append(Dose(rows[i]["time"], row, words, charted_only=True))
    return sorted(out, key=lambda d: d.at)


def il6_after_tocilizumab(courses: Mapping[str, MarkerCourse]) -> bool:
    """Whether any IL-6 result follows a tocilizumab dose (the panel then says why it rises)."""
    c = courses.get("il6")
    return c is not None and any(r.after_tocilizumab is not None for r in c.results)
