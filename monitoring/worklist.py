"""The observations-due worklist (issue 18.15): every admitted patient's next vital signs and
neuro assessment, most overdue first, then the soonest due.

The due times are the course model's (``monitoring.course``: the schedule of
``monitoring.schedule``, spec §4.5 with decisions S5, S6 and S8, NEWS2 minimum monitoring of
RCP 2017 on top); this module only lists and orders them, with the interval that applies and
why, for a nurse to work down. A patient whose record cannot be graded is listed first: when
their observations are due cannot be known, so they count as due now (the conservative reading,
decision W17).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import schedule
from .course import course
from .store import StoreError, WardStore

SOON = timedelta(hours=1)   # "due soon": within the next hour (W17)
VITALS, NEURO = "vital signs", "neuro assessment"


@dataclass(frozen=True)
class DueItem:
    """One observation a patient is due for."""

    patient: dict[str, Any]
    what: str                        # "vital signs" or "neuro assessment"
    due: datetime                    # when it is (or was) due
    last: datetime | None            # the last one recorded (None: never)
    every: timedelta | None          # the interval that applies (None: unknown)
    why: str                         # what sets that interval, in words
    problem: str | None = None       # the record cannot be graded: what is wrong

    def overdue_by(self, now: datetime) -> timedelta | None:
        """How long overdue at ``now`` (None: not overdue; at the due time it is due)."""
        return now - self.due if now > self.due else None

    def state(self, now: datetime) -> str:
        """'overdue' (also: never recorded, or the record cannot be graded), 'due soon'
        (within the hour) or 'later'."""
        if self.problem is not None or self.last is None or now > self.due:
            return "overdue"
        return "due soon" if self.due - now <= SOON else "later"


def _why_vitals(crs: int | None, news: Any, tables: dict[str, Any]) -> tuple[timedelta, str]:
    by_grade = schedule.interval(tables["VITALS_EVERY"], crs)
    grade = ("CRS grade not evaluable" if crs is None else f"CRS grade {crs}")
    band = None if news is None else schedule.news2_band(news.total, news.red)
    if band is None:
        return by_grade, grade
    by_news = schedule.interval(tables["NEWS2_EVERY"], band)
    if by_news < by_grade:
        red = news.red and news.total < 5  # RCP 2017: a score of 3 in one parameter
        return by_news, f"NEWS2 {news.total}" + (", a parameter scoring 3" if red else "")
    return by_grade, grade


def observations_due(store: WardStore, now: datetime, *, demo_only: bool = False
                     ) -> list[DueItem]:
    """Every admitted patient's next vital signs and neuro assessment, in the order to work
    them: a record that cannot be graded first, then by due time (the longest overdue first,
    then the soonest due), then by bed."""
    tables = schedule.load()
    items: list[DueItem] = []
    for p in store.patients(admitted_only=True, demo=True if demo_only else None):
        pid = p["patient_id"]
        try:
            c = course(store, pid)
        except StoreError as e:  # cannot be graded: the schedule is unknown, due now
            items.append(DueItem(p, "all observations", now, None, None, "", str(e)))
            continue
        since = p.get("admitted_at") or now  # never recorded: due since admission
        if c.current is None:
            for what in (VITALS, NEURO):
                items.append(DueItem(p, what, min(since, now), None, None,
                                     "nothing recorded yet"))
            continue
        if c.due.died_at is not None:  # a death recorded: no observation is due (S12)
            continue
        crs, icans = c.current.crs.grade, c.current.icans.grade
        every_v, why_v = _why_vitals(crs, c.news, tables)
        every_n = schedule.interval(tables["NEURO_EVERY"], icans)
        why_n = "ICANS grade not evaluable" if icans is None else f"ICANS grade {icans}"
        for what, due, every, why in ((VITALS, c.due.vitals_due, every_v, why_v),
                                      (NEURO, c.due.neuro_due, every_n, why_n)):
            if due is None:
                items.append(DueItem(p, what, min(since, now), None, every,
                                     "never recorded: " + why))
            else:
                last = (due.astimezone(UTC) - every).astimezone(due.tzinfo)
                items.append(DueItem(p, what, due, last, every, why))
    return sorted(items, key=lambda i: (i.problem is None, i.due, _bed(i.patient.get("bed")),
                                        i.what))


def _bed(bed: str | None) -> tuple[int, str]:
    b = bed or ""
    return (int(b), "") if b.isdigit() else (10**9, b)


def duration_words(d: timedelta) -> str:
    """A duration as a nurse says it: '45 min', '1 h 20 min', '2 days 3 h'."""
    minutes = int(d.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


def every_words(every: timedelta) -> str:
    """An interval as 'every 15 min', 'hourly', 'every 4 h'."""
    if every == timedelta(hours=1):
        return "hourly"
    return "every " + duration_words(every)
