"""When the next observations are due (spec §4.5), as a table.

Vital signs at least every 4 h and ICE (or CAPD) with a motor exam at least every 8 h while
inpatient (spec §4.5 [S]); "more often once abnormal" is made concrete here as tighter intervals
for higher current grades (decision S5 in docs/clinical-decisions.md [I]). A grade that cannot be
evaluated counts as the highest tier, so the observations it lacks are due at once (S6).
NEWS2 frequencies are added on top by the escalation issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# (lowest current grade, interval) - the last row that applies wins; rows rise with the grade.
VITALS_EVERY: tuple[tuple[int, timedelta], ...] = (
    (0, timedelta(hours=4)),   # spec §4.5: at least every 4 h
    (1, timedelta(hours=2)),   # CRS grade 1 [I]
    (2, timedelta(hours=1)),   # CRS >= 2: telemetry + pulse oximetry (spec §4.5); hourly set [I]
)
NEURO_EVERY: tuple[tuple[int, timedelta], ...] = (
    (0, timedelta(hours=8)),   # spec §4.5: every 8 h is common (at least twice daily)
    (1, timedelta(hours=4)),   # ICANS grade 1 [I]
    (2, timedelta(hours=2)),   # ICANS >= 2 [I]
)
NOT_EVALUABLE_TIER = 99        # S6: a grade that cannot be evaluated -> the tightest interval


def interval(table: tuple[tuple[int, timedelta], ...], grade: int | None) -> timedelta:
    g = NOT_EVALUABLE_TIER if grade is None else grade
    chosen = table[0][1]
    for lowest, every in table:
        if g >= lowest:
            chosen = every
    return chosen


@dataclass(frozen=True)
class Due:
    vitals_due: datetime | None   # None: never recorded -> due now
    neuro_due: datetime | None

    def next_due(self, now: datetime) -> datetime:
        return min(d if d is not None else now for d in (self.vitals_due, self.neuro_due))

    def overdue(self, now: datetime) -> list[str]:
        """What is overdue at ``now`` (at the due time exactly it is due, not overdue)."""
        out = []
        for name, due in (("vital signs", self.vitals_due), ("neuro assessment", self.neuro_due)):
            if due is None or now > due:
                out.append(name)
        return out


def due(last_vitals: datetime | None, last_neuro: datetime | None, crs_grade: int | None,
        icans_grade: int | None) -> Due:
    return Due(
        None if last_vitals is None else last_vitals + interval(VITALS_EVERY, crs_grade),
        None if last_neuro is None else last_neuro + interval(NEURO_EVERY, icans_grade))
