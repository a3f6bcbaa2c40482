"""``PatientCourse``: the one read model of a patient (design.md "Packages and their rooms").

One read of the record gives the effective rows and who recorded each, the engine's grades with
their reasons (the one compiled path, explained in one call), the ongoing support in force at
every row, the medications and labs, the open flags and when observations are next due. It is
kept per patient and data version: any write changes the data version (the newest audit entry),
so the next ``course`` call reads the record again; two app processes on one database never
show each other data older than one refresh.

"Support in force" has one definition, ``support_in_force`` (monitoring/support.py, also
importable from here): the course carries its answer for every row.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import grading
from grading import news2
from grading.fields import FIELD_BY_NAME
from grading.parse import NAT
from grading.timeline import NE_GRADE, GradedTimeline, RowResult

from . import escalation, schedule
from .store import StoreError, WardStore
from .support import NO_SUPPORT, Support, engine_oxygen_and_pressors, support_in_force

__all__ = ["NO_SUPPORT", "CourseNow", "PatientCourse", "Support", "course", "course_now",
           "engine_oxygen_and_pressors", "read_course", "support_in_force"]

log = logging.getLogger(__name__)

RECORD_PROBLEM_ADVICE = (": not graded until it is corrected; ask the administrator to mark the "
                         "wrong entry entered in error")


def record_problem(store: WardStore, patient_id: str, error: Exception) -> str:
    """The words for a patient whose stored record cannot be graded: what the record holds
    that it should not (e.g. two current assessments at one time), never a traceback, and no
    stored text (it is shown where Markdown renders); the details go to the log."""
    try:
        found = store.record_problems([patient_id]).get(patient_id, [])
    except Exception:  # the message must not fail in turn
        log.exception("record problems of patient %s", patient_id)
        found = []
    if isinstance(error, grading.InputError):
        log.warning("patient %s: the stored record does not validate: %s", patient_id,
                    " | ".join(error.lines))
    if not found:
        n = len(error.problems) if isinstance(error, grading.InputError) else 0
        found = [f"the stored record does not pass the ward's checks ({n} problem"
                 f"{'s' if n > 1 else ''}, listed in the server log)" if n
                 else "the stored record could not be read"]
    return "record problem: " + "; ".join(found) + RECORD_PROBLEM_ADVICE


ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
FULL_SET = ("temp_c", "hr_bpm", "sbp_mmhg", "rr_per_min", "spo2_pct")  # resets the vitals clock
VITALS = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_per_min", "spo2_pct")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KIND = {f.name: f.kind for f in FIELD_BY_NAME.values()}


# ------------------------------------------------------------------------ the course now
@dataclass(frozen=True)
class CourseNow:
    """Where a patient's course stands at its latest assessment: what the ward overview's row
    shows and the course carries (``PatientCourse.now``). Made by ``course_now`` alone, from
    the compiled arrays the grades come from - one patient's (the course) or the whole
    ward's graded at once (the overview) - so the two never give different answers."""

    last_assessed: datetime
    current: RowResult                        # the grades at the latest assessment
    crs_max: int | None                       # the maximum so far (None: never evaluable)
    icans_max: int | None
    vitals: dict[str, tuple[float, datetime]]  # each vital sign's latest value and its time
    age_years: float | None                   # the latest age recorded on a row
    o2_device: str | None                     # the support the latest grade was made with
    o2_flow_l_min: float | None
    vasopressors: tuple[str, ...]
    news: news2.News2 | None                  # NEWS2 now (escalation.news_now, C22)
    due: schedule.Due                         # when the next observations are due (S8)


def course_now(g: GradedTimeline, lo: int, hi: int, patient: Mapping[str, Any],
               tables: dict[str, Any] | None = None) -> CourseNow:
    """The course now of the patient whose rows are ``lo:hi`` of the graded (time-sorted)
    timeline ``g``. The latest row's result should already be explained (``g.prefetch``) when
    many patients are asked at once."""
    rows = g.order.order[lo:hi]
    cols = g.assessments.columns
    times = cols["time"][rows]

    def latest(name: str) -> int | None:
        v = cols[name][rows]
        hit = np.flatnonzero(~np.isnan(v)) if v.dtype.kind == "f" else np.flatnonzero(v >= 0)
        return None if not len(hit) else int(hit[-1])

    def when(i: int) -> datetime:
        return datetime.fromtimestamp(int(times[i]) / 1e9, UTC)

    vitals = {}
    for name in VITALS:
        i = latest(name)
        if i is not None:
            vitals[name] = (float(cols[name][rows][i]), when(i))
    i = latest("age_years")
    age = None if i is None else float(cols["age_years"][rows][i])
    last = hi - 1
    device, flow, pressors = engine_oxygen_and_pressors(g, last)  # what was graded
    result = g.result_at(last, int(g.order.order[last]))
    full = np.flatnonzero(np.all([~np.isnan(cols[k][rows]) for k in FULL_SET], axis=0))
    last_vitals = when(int(full[-1])) if len(full) else None  # S8: a full set resets the clock
    neuro = _neuro_rows(cols, rows)
    last_neuro = when(int(neuro[-1])) if len(neuro) else None
    score = escalation.news_now(_ColumnRows(cols, rows), patient)  # as the flags (C22)
    due = schedule.due(last_vitals, last_neuro, result.crs.grade, result.icans.grade,
                       None if score is None else score.total,
                       score is not None and score.red,
                       schedule.load() if tables is None else tables)
    if cols["died_of"][rows[-1]] >= 0:  # a death is the last assessment: nothing due (S12)
        due = replace(due, died_at=when(len(rows) - 1))
    return CourseNow(when(len(rows) - 1), result, _max(g.col["crs_grade"][lo:hi]),
                     _max(g.col["icans_grade"][lo:hi]), vitals, age, device, flow, pressors,
                     score, due)


class _RowView(Mapping[str, Any]):
    """One graded row as a canonical row (design.md) read from the typed columns on demand;
    a blank cell is absent (``get`` gives None), as in ``WardStore.timeline_rows``."""

    __slots__ = ("_cols", "_r")

    def __init__(self, cols: Mapping[str, np.ndarray], r: int) -> None:
        self._cols, self._r = cols, r

    def get(self, name: str, default: Any = None) -> Any:
        col = self._cols.get(name)
        kind = KIND.get(name)
        if col is None or kind is None:
            return default
        v = col[self._r]
        if kind == "time":
            return default if int(v) == NAT else EPOCH + timedelta(microseconds=int(v) // 1000)
        if kind in ("number", "integer"):
            return default if v != v else float(v)  # NaN: blank
        if int(v) < 0:
            return default
        if kind == "boolean":
            return bool(v)
        values = FIELD_BY_NAME[name].values
        if kind == "choice":
            return values[int(v)]
        return ";".join(x for b, x in enumerate(values) if int(v) >> b & 1) or "none"

    def __getitem__(self, name: str) -> Any:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._cols if k in FIELD_BY_NAME and k != "patient_id"
                and self.get(k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _ColumnRows(Sequence[Mapping[str, Any]]):
    """A patient's graded rows (time order) as canonical rows, decoded only when read: what
    ``escalation.news_now`` needs from a long course is a few rows near its end."""

    def __init__(self, cols: Mapping[str, np.ndarray], rows: np.ndarray) -> None:
        self._cols, self._rows = cols, rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, j: int) -> Mapping[str, Any]:  # type: ignore[override]
        return _RowView(self._cols, int(self._rows[j]))

    def latest_with(self, names: tuple[str, ...], before: int) -> int | None:
        """The latest row before ``before`` with every one of ``names`` recorded."""
        if before <= 0:
            return None
        rows = self._rows[:before]
        ok = np.ones(len(rows), bool)
        for n in names:
            v = self._cols[n][rows]
            ok &= ~np.isnan(v) if v.dtype.kind == "f" else v >= 0
        hit = np.flatnonzero(ok)
        return int(hit[-1]) if len(hit) else None


def _neuro_rows(cols: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows with a neuro assessment for the schedule (S8): a complete ICE, a CAPD total, or a
    note that the patient is sedated - a level of consciousness alone is not the ICE check."""
    ice = np.all([~np.isnan(cols[k][rows]) for k in ICE_ITEMS], axis=0)
    capd = ~np.isnan(cols["capd_total"][rows])
    sedated = cols["sedated"][rows] == 1
    return np.flatnonzero(ice | capd | sedated)


def _max(grades: np.ndarray) -> int | None:
    known = grades[grades != NE_GRADE]
    return None if not len(known) else int(known.max())




# ------------------------------------------------------------------------ the course
@dataclass(frozen=True)
class PatientCourse:
    """One patient's course, as every screen draws it. Lists are aligned with ``rows``."""

    patient: dict[str, Any]
    rows: list[dict[str, Any]]                 # effective canonical rows, time order
    ids: list[int]                             # stored assessment id of each row
    recorded: list[tuple[str, datetime | None]]  # who recorded each row, and when
    results: list[RowResult]                   # the engine's grades with reasons, each row
    support: list[Support]                     # the ongoing support in force at each row
    administrations: list[dict[str, Any]]      # medications given
    labs: list[dict[str, Any]]
    flags: list[dict[str, Any]]                # open flags (unacknowledged)
    now: CourseNow | None                      # the course now, as the overview has it
    summary: grading.PatientSummary | None     # maximum grades, onsets (None: no rows)
    version: int                               # the data version this course was read at
    tz: Any

    @property
    def current(self) -> RowResult | None:
        return self.results[-1] if self.results else None

    @property
    def support_now(self) -> Support:
        return self.support[-1] if self.support else NO_SUPPORT

    @property
    def news(self) -> news2.News2 | None:
        """NEWS2 now (escalation.news_now, C22)."""
        return None if self.now is None else self.now.news

    @property
    def due(self) -> schedule.Due:
        """When the next observations are due (S8)."""
        return schedule.Due(None, None) if self.now is None else self.now.due


@dataclass(frozen=True)
class _Record:
    """What one read of the record gives for a patient, before grading."""

    version: int
    patient: dict[str, Any]
    rows: list[dict[str, Any]]
    timeline: grading.Assessments | None
    ids: list[int]
    recorded: dict[int, tuple[str, datetime | None]]
    administrations: list[dict[str, Any]]
    labs: list[dict[str, Any]]
    flags: list[dict[str, Any]]


READ_ATTEMPTS = 3


def _read_record(store: WardStore, patient_id: str) -> _Record:
    """The patient's record as one state: the reads are taken between two equal data
    versions (no write committed in between: every write adds an audit entry), tried again
    when a write came between them, and at last under the patient's lock."""
    def read(version: int) -> _Record:
        patient = store.patient(patient_id)
        if patient is None:
            raise StoreError(f"unknown patient '{patient_id}'")
        a, ids = store.timelines([patient_id])
        return _Record(
            version, patient, store.timeline_rows(patient_id), a, ids,
            {h.id: (h.recorded_by, h.recorded_at) for h in store.history(patient_id)},
            store.administrations(patient_id), store.labs(patient_id),
            store.open_flags(patient_id))

    for _ in range(READ_ATTEMPTS):
        before = store.data_version()
        r = read(before)
        if store.data_version() == before:
            return r
    with store.locked([patient_id]):  # writes keep landing: read under the patient's lock
        return read(store.data_version())


def read_course(store: WardStore, patient_id: str) -> PatientCourse:
    """The course read from the record now, as one state of it (``course`` keeps it per data
    version). Raises ``StoreError`` for an unknown patient, or naming what is wrong with a
    stored record that cannot be read or graded (never a traceback)."""
    try:
        r = _read_record(store, patient_id)
        results: list[RowResult] = []
        summary = now = None
        if r.timeline is not None:
            g = grading.grade(r.timeline)
            results = g.results_at(g.sorted_of(np.arange(len(g.order))))  # explained at once
            summary = grading.summarize(g)[0]
            now = course_now(g, 0, len(g.order), r.patient)
    except StoreError:
        raise
    except Exception as e:  # a stored record that cannot be read or graded: say what
        if not isinstance(e, grading.InputError):
            log.exception("course: patient %s could not be graded", patient_id)
        raise StoreError(record_problem(store, patient_id, e)) from None
    if len(results) != len(r.rows):  # never draw one row's grade beside another row
        raise StoreError(record_problem(store, patient_id, RuntimeError("rows and grades")))
    return PatientCourse(
        patient=r.patient, rows=r.rows, ids=list(r.ids),
        recorded=[r.recorded.get(i, ("", None)) for i in r.ids],
        results=results, support=support_in_force(r.rows),
        administrations=r.administrations, labs=r.labs, flags=r.flags, now=now,
        summary=summary, version=r.version, tz=store.tz)


# The courses read, per store object: (patient id) -> course, the newest MAX_CACHED kept.
MAX_CACHED = 32
_CACHE_ATTR = "_patient_courses"
_lock = threading.Lock()


def course(store: WardStore, patient_id: str) -> PatientCourse:
    """The patient's course at the record's current data version: read again after any write
    (through this process or another one on the same database), else the one already read."""
    version = store.data_version()
    with _lock:
        cache: OrderedDict[str, PatientCourse] | None = getattr(store, _CACHE_ATTR, None)
        if cache is None:
            cache = OrderedDict()
            setattr(store, _CACHE_ATTR, cache)
        hit = cache.get(patient_id)
        if hit is not None and hit.version == version:
            cache.move_to_end(patient_id)
            return hit
    c = read_course(store, patient_id)
    with _lock:
        cache[patient_id] = c
        cache.move_to_end(patient_id)
        while len(cache) > MAX_CACHED:
            cache.popitem(last=False)
    return c
