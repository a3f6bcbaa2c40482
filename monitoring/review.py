"""A patient's whole course for the review page: the graded timeline (with and without the
physicians' attributions), who recorded each row, treatments, the course summary, tocilizumab
doses and the guideline prompts for the current grades. The page only draws what this returns.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grading
from grading import guidance, news2
from grading.fields import FIELD_BY_NAME
from grading.instants import elapsed, hours_between, instant, is_after

from .course import course
from .store import StoreError, WardStore, period_covers
from .support import NO_SUPPORT, Support
from .tables import ADMINISTRATION_KINDS

ATTRIBUTION_FINDINGS = FIELD_BY_NAME["attributed_elsewhere"].values  # fever, hypotension, ...
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Review:
    patient: dict[str, Any]
    rows: list[dict[str, Any]]                 # effective canonical rows, time order
    ids: list[int]                             # stored assessment id of each row
    recorded: dict[int, tuple[str, datetime]]  # id -> (recorded by, recorded at)
    results: list[grading.RowResult]           # graded with the attributions
    unattributed: list[grading.RowResult] | None  # graded without them (None: none recorded)
    summary: grading.PatientSummary
    administrations: list[dict[str, Any]]
    attributions: list[dict[str, Any]]
    confirmations: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    tocilizumab_given: list[datetime]          # every dose: recorded administrations + row flags
    tz: Any
    labs: list[dict[str, Any]] = field(default_factory=list)  # lab results
    flags: list[dict[str, Any]] = field(default_factory=list)  # open flags (the course's)
    news: news2.News2 | None = None            # NEWS2 now (the course's, C22)
    support: list[Support] = field(default_factory=list)  # in force at each row (W12)
    periods: list[dict[str, Any]] = field(default_factory=list)  # attributions over a range

    @property
    def current(self) -> grading.RowResult:
        return self.results[-1]

    def at(self, index: int) -> grading.RowResult:
        return self.results[index]

    @property
    def support_now(self) -> Support:
        """The ongoing support in force at the latest assessment (monitoring/support.py)."""
        return self.support[-1] if self.support else NO_SUPPORT


def patient_review(store: WardStore, patient_id: str) -> Review:
    """The review of the patient's course (``course.course``: read once per data version),
    with the grades without the physicians' attributions beside it when any are recorded."""
    c = course(store, patient_id)
    if not c.rows or c.summary is None:
        raise StoreError(f"patient '{patient_id}' has no assessments yet")
    rows = c.rows
    attributions = store.attributions(patient_id)
    imported = any(r.get("attributed_elsewhere") not in (None, "none") for r in rows)
    unattributed = None
    if attributions or imported:
        bare = [{k: v for k, v in r.items() if k != "attributed_elsewhere"} for r in rows]
        unattributed = list(grading.grade(grading.from_rows(bare, tz=store.tz)).results())
    return Review(
        patient=c.patient, rows=rows, ids=c.ids, recorded=dict(zip(c.ids, c.recorded)),
        results=c.results, unattributed=unattributed, summary=c.summary,
        administrations=c.administrations, attributions=attributions,
        confirmations=store.confirmations(patient_id), notes=store.notes(patient_id),
        tocilizumab_given=tocilizumab_doses(rows, c.administrations), tz=store.tz,
        labs=c.labs, flags=c.flags, news=c.news, support=c.support,
        periods=store.attribution_periods(patient_id))


def news_now(review: Review) -> news2.News2 | None:
    """NEWS2 now (``escalation.news_now``: the latest assessment recording any NEWS2 input), as
    the overview, the schedule and the flags have it (RCP 2017; beside the ASTCT grades, never
    instead of them): the course's (``PatientCourse.news``)."""
    return review.news


def charted_only(rows: list[dict[str, Any]], administrations: list[dict[str, Any]],
                 field: str) -> list[int]:
    """The rows whose ``field`` ('tocilizumab given', 'corticosteroid given', ...) no recorded
    administration of that kind accounts for: none falls between the previous row and that
    row (imported data). Each dose is then counted once, from one of the two."""
    kinds = {k for k, (_, f) in ADMINISTRATION_KINDS.items() if f == field}
    given = [m["given_at"] for m in administrations if m["kind"] in kinds]
    times = [r["time"] for r in rows]
    return [i for i, r in enumerate(rows) if r.get(field) and not any(
        (i == 0 or t > times[i - 1]) and t <= times[i] for t in given)]


def tocilizumab_doses(rows: list[dict[str, Any]], administrations: list[dict[str, Any]]
                      ) -> list[datetime]:
    """Each dose once: recorded administrations, plus a row's 'tocilizumab given' when no
    recorded administration falls between the previous row and that row (imported data)."""
    given = [m["given_at"] for m in administrations if m["kind"] == "tocilizumab"]
    return sorted(given + [rows[i]["time"] for i in
                           charted_only(rows, administrations, "tocilizumab_given")])


def tocilizumab_limits(rows: list[dict[str, Any]], administrations: list[dict[str, Any]],
                       at: datetime, *, leaving_out: datetime | None = None
                       ) -> guidance.TocilizumabCount:
    """The patient's tocilizumab doses (``tocilizumab_doses``) given by ``at`` against the
    limits (spec §4.4, ASCO 2021: <= 3 in 24 h, <= 4 in total, >= 8 h apart), with the
    warnings the medications page shows before another dose at ``at``. The ONE rule for that
    page and for a FHIR import's doses (``tocilizumab_past_limits``). ``leaving_out``: the
    dose being judged, so that it is not counted against itself."""
    doses = tocilizumab_doses(rows, administrations)
    if leaving_out is not None:
        same = next((d for d in doses if instant(d) == instant(leaving_out)), None)
        if same is not None:
            doses.remove(same)
    return guidance.tocilizumab_count(doses, at)


def tocilizumab_for_dose(rows: list[dict[str, Any]], administrations: list[dict[str, Any]],
                        at: datetime, *, leaving_out: Collection[datetime] = ()
                        ) -> guidance.TocilizumabCount:
    """The limits before a dose given at ``at`` - the time typed on the medications page,
    which may be hours ago. ``tocilizumab_limits`` at that time, and, because a dose charted
    late may come before doses already recorded, those later doses too (conservative, spec
    §4.4): every recorded dose counts towards the total, a later dose within 8 h is too close,
    and no 24 h window holding this dose may hold 3 others. ``leaving_out``: recorded doses
    not to count (the dose being judged, when it is recorded already)."""
    doses = tocilizumab_doses(rows, administrations)
    for gone in leaving_out:
        same = next((d for d in doses if instant(d) == instant(gone)), None)
        if same is not None:
            doses.remove(same)
    count = guidance.tocilizumab_count(doses, at)
    doses = sorted(doses, key=instant)
    later = [d for d in doses if is_after(d, at)]
    if not later:
        return count
    day, gap = timedelta(hours=24), guidance.TOCILIZUMAB_MIN_INTERVAL
    near = [d for d in doses if abs(instant(d) - instant(at)) < day]
    crowded = max(sum(1 for d in near if instant(s) <= instant(d) < instant(s) + day)
                  for s in [at, *near] if instant(s) <= instant(at) < instant(s) + day)
    warnings = [w for w in count.warnings if " in total" not in w and " in the last 24 h" not in w]
    if crowded >= guidance.TOCILIZUMAB_MAX_PER_24H:
        warnings.insert(0, f"{crowded} other doses within a 24 h period that includes this one: "
                           f"the limit is {guidance.TOCILIZUMAB_MAX_PER_24H} in 24 h")
    if len(doses) >= guidance.TOCILIZUMAB_MAX_TOTAL:
        warnings.append(f"{len(doses)} doses in total: the limit is "
                        f"{guidance.TOCILIZUMAB_MAX_TOTAL}")
    if elapsed(later[0], at) < gap:
        warnings.append(f"the next recorded dose is {hours_between(later[0], at):.1f} h after "
                        f"this one: doses are at least {gap.total_seconds() / 3600:g} h apart")
    return replace(count, total=len(doses), warnings=tuple(warnings))


def tocilizumab_past_limits(rows: list[dict[str, Any]], administrations: list[dict[str, Any]],
                            given: Collection[datetime]) -> list[tuple[datetime, str]]:
    """Of these doses (recorded by an import), those given when the medications page would
    have warned before them: the page's rule for a dose charted late
    (``tocilizumab_for_dose`` at the dose's time), counting every dose recorded before the
    import (also those given after it: an imported dose is charted late by nature) and the
    import's own doses given by then (so that of an imported series, the dose past a limit
    is named, not every one): (time, the page's warnings in words with their source)."""
    out = []
    times = sorted({instant(t) for t in given})
    for at in times:
        warnings = tocilizumab_for_dose(
            rows, administrations, at,
            leaving_out=[t for t in times if not is_after(at, t)]).warnings
        if warnings:
            out.append((at, "; ".join(warnings) + " (ASCO 2021)"))
    return out


def tocilizumab(review: Review, now: datetime) -> dict[str, Any]:
    """Reference dose from the recorded weight, and doses against the limits (spec §4.4)."""
    weight = review.patient.get("weight_kg")
    dose = guidance.tocilizumab_dose_mg(weight) if weight else None
    return {"dose": dose, "count": guidance.tocilizumab_count(review.tocilizumab_given, now),
            "source": guidance.TOCILIZUMAB_SOURCE}


@dataclass(frozen=True)
class AttributionEffect:
    """What attributing ``finding`` at one assessment would change (decision C5: it applies to
    that assessment only)."""

    before: grading.RowResult                  # the assessment as graded now
    after: grading.RowResult                   # with the attribution
    also_decides: list[datetime]               # later assessments the finding still changes


def attribution_effect(review: Review, index: int, finding: str) -> AttributionEffect:
    """Grade the course with ``finding`` attributed at assessment ``index``, and once more
    with it attributed at every later one too: the later assessments whose grade that would
    change are those where the same finding still counts, each needing its own attribution."""
    def attributed(rows: list[dict[str, Any]], at: set[int]) -> list[dict[str, Any]]:
        out = []
        for j, r in enumerate(rows):
            had = r.get("attributed_elsewhere")
            found = set() if had in (None, "none") else set(str(had).split(";"))
            out.append(r | {"attributed_elsewhere": ";".join(sorted(found | {finding}))}
                       if j in at else r)
        return out

    n = len(review.rows)
    one = list(grading.grade(grading.from_rows(attributed(review.rows, {index}),
                                               tz=review.tz)).results())
    every = list(grading.grade(grading.from_rows(attributed(review.rows, set(range(index, n))),
                                                 tz=review.tz)).results())
    later = [every[j].time for j in range(index + 1, n)
             if (every[j].crs, every[j].icans) != (one[j].crs, one[j].icans)]
    return AttributionEffect(review.results[index], one[index], later)


@dataclass(frozen=True)
class PeriodEffect:
    """What attributing ``finding`` from one time until another (or until further notice)
    would change (decision W15), before it is recorded."""

    covered: list[datetime]                    # the assessments it covers, now
    left_out: list[datetime]                   # in the range, not covered (W15: a fever with
                                               # hypotension or an oxygen need)
    changed: list[tuple[grading.RowResult, grading.RowResult]]  # (now, with it) where a grade
    open_ended: bool                           # until further notice: later ones too


def period_effect(review: Review, finding: str, starts_at: datetime,
                  ends_at: datetime | None) -> PeriodEffect:
    """Grade the course with ``finding`` attributed on the assessments the record will cover
    (``period_covers``, the record's own rule), and list those whose grade that changes."""
    at = set(period_covers(review.rows, finding, starts_at, ends_at))
    rows = []
    for j, r in enumerate(review.rows):
        had = r.get("attributed_elsewhere")
        found = set() if had in (None, "none") else set(str(had).split(";"))
        rows.append(r | {"attributed_elsewhere": ";".join(sorted(found | {finding}))}
                    if j in at else r)
    after = list(grading.grade(grading.from_rows(rows, tz=review.tz)).results())
    changed = [(review.results[j], after[j]) for j in range(len(rows))
               if (after[j].crs, after[j].icans) != (review.results[j].crs,
                                                     review.results[j].icans)]
    in_range = [j for j, r in enumerate(review.rows)
                if r["time"] >= starts_at and (ends_at is None or r["time"] <= ends_at)]
    return PeriodEffect([review.rows[j]["time"] for j in sorted(at)],
                        [review.rows[j]["time"] for j in in_range if j not in at],
                        changed, ends_at is None)


def icu_now(review: Review) -> list[guidance.IcuTrigger]:
    r = review.current
    last = review.rows[-1]
    oxygen = review.support_now  # the course's: the one answer (monitoring/support.py)
    return guidance.icu_prompts(
        r.crs.grade, r.icans.grade,
        seizure=last.get("seizure") not in (None, "none"),
        positive_pressure=oxygen.positive_pressure,
        cerebral_edema=last.get("cerebral_edema") not in (None, "none"))


def maximum_row(review: Review, syndrome: str) -> int | None:
    """The assessment at which ``syndrome`` ('crs' or 'icans') first reached the highest
    grade of the stay, as the course summary has it (the time of its episode's maximum); None
    while no episode has been recorded."""
    s = review.summary
    top = getattr(s, f"{syndrome}_max_grade")
    eps = s.crs_episodes if syndrome == "crs" else s.icans_episodes
    at = next((e.max_grade_time for e in eps if e.max_grade == top), None)
    if at is None:
        return None
    return next((i for i, r in enumerate(review.results)
                 if instant(r.time) == instant(at)), None)


def course_table(review: Review) -> list[dict[str, Any]]:
    """Maximum grade for each day after infusion (Day 0 ... the last day charted)."""
    return [{"day": day, "crs": crs, "icans": icans}
            for day, crs, icans in review.summary.daily_max]
