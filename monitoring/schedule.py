"""When the next observations are due (spec §4.5), as tables (site-configurable).

Vital signs at least every 4 h and ICE (or CAPD) with a motor exam at least every 8 h while
inpatient (spec §4.5 [S]); "more often once abnormal" is made concrete here as tighter intervals
for higher current grades (decision S5 in docs/clinical-decisions.md [I]). A grade that cannot be
evaluated counts as the highest tier, so the observations it lacks are due at once (S6).
NEWS2 minimum monitoring (RCP Chart 4) applies on top: vital signs are due at the shorter of
the two. A site changes the hours in ``config/schedule.toml`` (or the file named by
``WARD_SCHEDULE_FILE``); the defaults below are that file's contents.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from grading.instants import shifted

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
NEWS2_EVERY: tuple[tuple[int, timedelta], ...] = (
    (0, timedelta(hours=12)), (1, timedelta(hours=4)), (3, timedelta(hours=1)),
    (7, timedelta(minutes=15)))
NOT_EVALUABLE_TIER = 99        # S6: a grade that cannot be evaluated -> the tightest interval
SCHEDULE_FILE = Path(__file__).resolve().parents[1] / "config" / "schedule.toml"
TABLES = {"vitals_every_hours": "VITALS_EVERY", "neuro_every_hours": "NEURO_EVERY",
          "news2_every_hours": "NEWS2_EVERY"}


class ScheduleError(ValueError):
    """A schedule file that cannot be used, naming the key and what is allowed."""


def load(path: str | Path | None = None) -> dict[str, tuple[tuple[int, timedelta], ...]]:
    """The site's schedule tables from a TOML file (every table required)."""
    path = Path(path or os.environ.get("WARD_SCHEDULE_FILE") or SCHEDULE_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ScheduleError(f"{path}: {e}") from None
    out = {}
    for table in TABLES:
        rows = data.get(table)
        if not isinstance(rows, dict) or not rows:
            raise ScheduleError(f"{path}: [{table}] is missing; it maps a grade or NEWS2 "
                                "band to hours")
        parsed = []
        for k, v in rows.items():
            if not k.isdigit() or int(k) > 20:
                raise ScheduleError(f"{path}: [{table}] key '{k}': a whole number 0-20")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 24:
                raise ScheduleError(f"{path}: [{table}] {k} = {v!r}: hours above 0, at most 24")
            parsed.append((int(k), timedelta(hours=v)))
        parsed.sort()
        if parsed[0][0] != 0:
            raise ScheduleError(f"{path}: [{table}] needs a row for 0")
        if any(b[1] > a[1] for a, b in zip(parsed, parsed[1:])):
            raise ScheduleError(f"{path}: [{table}]: a higher grade may not allow a longer gap")
        out[TABLES[table]] = tuple(parsed)
    return out


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
    died_at: datetime | None = None  # a death recorded (the last assessment): nothing due (S12)

    def next_due(self, now: datetime) -> datetime:
        return min(d if d is not None else now for d in (self.vitals_due, self.neuro_due))

    def overdue(self, now: datetime) -> list[str]:
        """What is overdue at ``now`` (at the due time exactly it is due, not overdue);
        nothing once a death is recorded (decision S12)."""
        if self.died_at is not None:
            return []
        out = []
        for name, due in (("vital signs", self.vitals_due), ("neuro assessment", self.neuro_due)):
            if due is None or now > due:
                out.append(name)
        return out


def news2_band(total: int | None, red: bool) -> int | None:
    """The NEWS2 row of the schedule: 0, 1 (1-4), 3 (a red parameter or 5-6), 7 (>= 7)."""
    if total is None:
        return None
    if total >= 7:
        return 7
    if total >= 5 or red:
        return 3
    return 1 if total >= 1 else 0


def due(last_vitals: datetime | None, last_neuro: datetime | None, crs_grade: int | None,
        icans_grade: int | None, news2_total: int | None = None, news2_red: bool = False,
        tables: dict[str, tuple[tuple[int, timedelta], ...]] | None = None) -> Due:
    t = tables or {"VITALS_EVERY": VITALS_EVERY, "NEURO_EVERY": NEURO_EVERY,
                   "NEWS2_EVERY": NEWS2_EVERY}
    every = interval(t["VITALS_EVERY"], crs_grade)
    band = news2_band(news2_total, news2_red)
    if band is not None:
        every = min(every, interval(t["NEWS2_EVERY"], band))
    # real time after the last check, also across a DST change (decision D9)
    return Due(
        None if last_vitals is None else shifted(last_vitals, every),
        None if last_neuro is None else shifted(last_neuro, interval(t["NEURO_EVERY"],
                                                                     icans_grade)))
