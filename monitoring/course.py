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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

import grading
from grading import news2
from grading.timeline import RowResult

from . import escalation, schedule
from .store import StoreError, WardStore
from .support import NO_SUPPORT, Support, engine_oxygen_and_pressors, support_in_force

__all__ = ["NO_SUPPORT", "PatientCourse", "Support", "course", "engine_oxygen_and_pressors",
           "read_course", "support_in_force"]

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
    news: news2.News2 | None                   # NEWS2 now (escalation.news_now, C22)
    due: schedule.Due                          # when the next observations are due
    summary: grading.PatientSummary | None     # maximum grades, onsets (None: no rows)
    version: int                               # the data version this course was read at
    tz: Any

    @property
    def current(self) -> RowResult | None:
        return self.results[-1] if self.results else None

    @property
    def support_now(self) -> Support:
        return self.support[-1] if self.support else NO_SUPPORT


def _last_time(rows: Sequence[Mapping[str, Any]], ok: Any) -> datetime | None:
    for r in reversed(rows):
        if ok(r):
            return r["time"]  # type: ignore[no-any-return]
    return None


def _due(rows: Sequence[Mapping[str, Any]], current: RowResult | None,
         news: news2.News2 | None) -> schedule.Due:
    """As the overview has it (S8): a full set of vitals resets the vitals clock; a complete
    ICE, a CAPD total or a note that the patient is sedated resets the neuro clock."""
    if current is None:
        return schedule.Due(None, None)
    vitals = _last_time(rows, lambda r: all(r.get(k) is not None for k in FULL_SET))
    neuro = _last_time(rows, lambda r: all(r.get(k) is not None for k in ICE_ITEMS)
                       or r.get("capd_total") is not None or r.get("sedated") is True)
    return schedule.due(vitals, neuro, current.crs.grade, current.icans.grade,
                        None if news is None else news.total, news is not None and news.red,
                        schedule.load())


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
        summary = None
        if r.timeline is not None:
            g = grading.grade(r.timeline)
            results = g.results_at(g.sorted_of(np.arange(len(g.order))))  # explained at once
            summary = grading.summarize(g)[0]
    except StoreError:
        raise
    except Exception as e:  # a stored record that cannot be read or graded: say what
        if not isinstance(e, grading.InputError):
            log.exception("course: patient %s could not be graded", patient_id)
        raise StoreError(record_problem(store, patient_id, e)) from None
    if len(results) != len(r.rows):  # never draw one row's grade beside another row
        raise StoreError(record_problem(store, patient_id, RuntimeError("rows and grades")))
    news = escalation.news_now(r.rows, r.patient) if r.rows else None
    current = results[-1] if results else None
    return PatientCourse(
        patient=r.patient, rows=r.rows, ids=list(r.ids),
        recorded=[r.recorded.get(i, ("", None)) for i in r.ids],
        results=results, support=support_in_force(r.rows),
        administrations=r.administrations, labs=r.labs, flags=r.flags,
        news=news, due=_due(r.rows, current, news), summary=summary, version=r.version,
        tz=store.tz)


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
