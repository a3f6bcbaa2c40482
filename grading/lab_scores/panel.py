"""Every lab score of one patient at one time, for the review page's lab panel (spec §5).

Timing (L1): "before lymphodepletion" is the latest value of each lab taken at or before the
recorded lymphodepletion start and no more than 7 days before it; without a recorded start,
labs up to the end of day -5 (the usual start) are used and the panel says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..instants import shifted
from . import easix as easix_mod
from .easix import Easix, easix_at
from .hematotox import Hematotox, hematotox, pick
from .icaht import EarlyIcaht, LateIcaht, early_icaht, late_icaht
from .iechs import Screening, screen
from .labs import LabValue, day_of, start_of_day

ASSUMED_LYMPHODEPLETION_DAY = -5
PRE_LYMPHODEPLETION_WINDOW = timedelta(days=7)
LATEST_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class TimePoint:
    label: str
    until: datetime
    since: datetime | None
    note: str = ""


@dataclass(frozen=True)
class LabPanel:
    as_of: datetime
    day: int | None
    baseline: TimePoint | None                 # before lymphodepletion (None: no infusion time)
    easix: tuple[tuple[TimePoint, tuple[Easix, ...]], ...]
    hematotox: Hematotox | None
    early_icaht: EarlyIcaht | None
    late_icaht: LateIcaht | None
    iechs: Screening


def baseline_point(infusion: datetime, lymphodepletion: datetime | None, tz: Any) -> TimePoint:
    if lymphodepletion is not None:
        return TimePoint("before lymphodepletion", lymphodepletion,
                         shifted(lymphodepletion, -PRE_LYMPHODEPLETION_WINDOW),
                         f"lymphodepletion started {lymphodepletion.astimezone(tz):%d %b %H:%M}")
    end = start_of_day(ASSUMED_LYMPHODEPLETION_DAY + 1, infusion, tz) - timedelta(microseconds=1)
    return TimePoint("before lymphodepletion", end, shifted(end, -PRE_LYMPHODEPLETION_WINDOW),
                     "lymphodepletion start not recorded: labs up to the end of day -5 used")


def _day_point(label: str, day: int, infusion: datetime, tz: Any) -> TimePoint:
    start = start_of_day(day, infusion, tz)
    return TimePoint(label, start + timedelta(days=1) - timedelta(microseconds=1), start)


def lab_panel(labs: Sequence[LabValue], now: datetime, tz: Any, infusion: datetime | None,
              lymphodepletion: datetime | None = None, *, interpolate: bool = False,
              boundaries: Mapping[tuple[str, float], bool] | None = None,
              limits: Mapping[str, float] | None = None) -> LabPanel:
    points: list[TimePoint] = []
    base = None
    day = None if infusion is None else day_of(now, infusion, tz)
    if infusion is not None:
        base = baseline_point(infusion, lymphodepletion, tz)
        points += [base, _day_point("day -1", -1, infusion, tz),
                   _day_point("day +1", 1, infusion, tz)]
    points.append(TimePoint("latest", now, shifted(now, -LATEST_WINDOW),
                            "each lab's latest value in the last 72 h"))
    table = tuple((p, tuple(easix_at(labs, score, p.until, p.since, cutoff=p is base)
                            for score in easix_mod.FORMULAS)) for p in points)
    return LabPanel(
        as_of=now, day=day, baseline=base, easix=table,
        hematotox=None if base is None else hematotox(pick(labs, base.until, base.since),
                                                      boundaries),
        early_icaht=None if infusion is None or day is None or day < 0 else early_icaht(
            labs, infusion, tz, day, interpolate),
        late_icaht=None if infusion is None else late_icaht(labs, infusion, tz),
        iechs=screen(labs, now, infusion, day, limits))
