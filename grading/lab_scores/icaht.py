"""ICAHT: immune effector cell-associated haematotoxicity (EHA/EBMT 2023), spec §5.5.

Source: Rejeski K, Subklewe M, Aljurf M, et al. Immune effector cell-associated hematotoxicity:
EHA/EBMT consensus grading and best practice recommendations. Blood. 2023;142(10):865-877
(grade logic as checked against a published implementation [S, secondary]).

Early ICAHT (day 0 to +30): the longest run of days with ANC <= 500/µL (and <= 100/µL); a
recovery shorter than 3 consecutive days above the threshold does not break a run. Late ICAHT
(after day +30, to day +100): the nadir, with at least 2 measurements. Daily values: the lowest
of the day; days without a value are not filled unless interpolation is chosen (L7-L10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .labs import LabValue, day_of

SOURCE = ("Rejeski K, Subklewe M, Aljurf M, et al. ICAHT: EHA/EBMT consensus grading. Blood. "
          "2023;142(10):865-877")
EARLY_LAST_DAY = 30
LATE_LAST_DAY = 100
RECOVERY_DAYS = 3          # CIBMTR: ANC above the threshold on >= 3 consecutive days
MAX_INTERPOLATED_GAP = 7   # the reference implementation fills gaps of up to 7 days
LATE_MIN_MEASUREMENTS = 2

# Early ICAHT, ANC <= 500/µL: (shortest run in days, grade); "never recovers" is grade 4.
EARLY_500: tuple[tuple[int, int], ...] = ((1, 1), (7, 2), (14, 3))
# Early ICAHT, ANC <= 100/µL: (shortest run in days, grade).
EARLY_100: tuple[tuple[int, int], ...] = ((7, 3), (14, 4))
# Late ICAHT: (nadir at or below /µL, grade), most severe first.
LATE: tuple[tuple[float, int], ...] = ((100, 4), (500, 3), (1000, 2), (1500, 1))


def daily_lowest(labs: Sequence[LabValue], infusion: datetime, tz: Any, first: int,
                 last: int) -> dict[int, float]:
    """The lowest ANC (/µL) of each day after infusion in [first, last]."""
    out: dict[int, float] = {}
    for x in labs:
        if x.test != "anc":
            continue
        d = day_of(x.time, infusion, tz)
        if first <= d <= last:
            out[d] = min(out.get(d, x.value), x.value)
    return out


def interpolated(daily: dict[int, float], max_gap: int = MAX_INTERPOLATED_GAP
                 ) -> dict[int, float]:
    """Days without a value between two days with one, at most ``max_gap`` days missing in a
    row, filled linearly (the reference implementation's option)."""
    out = dict(daily)
    days = sorted(daily)
    for a, b in zip(days, days[1:]):
        if 1 < b - a <= max_gap + 1:
            for d in range(a + 1, b):
                out[d] = daily[a] + (daily[b] - daily[a]) * (d - a) / (b - a)
    return out


@dataclass(frozen=True)
class Run:
    first: int            # first day at or below the threshold
    last: int             # last day at or below the threshold
    recovered: bool       # followed by >= 3 consecutive days above it
    missing_days: int     # days inside the run without a value

    @property
    def days(self) -> int:
        return self.last - self.first + 1


def longest_run(daily: dict[int, float], threshold: float,
                last_day: int = EARLY_LAST_DAY) -> Run | None:
    """Runs of days up to ``last_day`` at or below ``threshold``, joined across recoveries
    shorter than 3 consecutive days above it (days without a value neither count nor
    recover; days after ``last_day`` only complete a recovery). The longest (first of equals)."""
    days = sorted(daily)
    runs: list[Run] = []
    start = end = None
    above_streak = 0
    for d in days:
        below = daily[d] <= threshold and d <= last_day
        if below:
            start = d if start is None else start
            end = d
            above_streak = 0
        elif start is not None and daily[d] > threshold:
            above_streak = above_streak + 1 if above_streak and _consecutive(days, d) else 1
            if above_streak >= RECOVERY_DAYS:
                runs.append(_run(daily, start, end, True))  # type: ignore[arg-type]
                start = end = None
                above_streak = 0
    if start is not None:
        runs.append(_run(daily, start, end, False))  # type: ignore[arg-type]
    return max(runs, key=lambda r: r.days) if runs else None


def _consecutive(days: list[int], d: int) -> bool:
    i = days.index(d)
    return i > 0 and days[i - 1] == d - 1


def _run(daily: dict[int, float], first: int, last: int, recovered: bool) -> Run:
    return Run(first, last, recovered, sum(1 for d in range(first, last + 1) if d not in daily))


def _band(bands: tuple[tuple[int, int], ...], days: int) -> int:
    grade = 0
    for shortest, g in bands:
        if days >= shortest:
            grade = g
    return grade


@dataclass(frozen=True)
class EarlyIcaht:
    grade: int | None
    provisional: bool
    run_500: Run | None
    run_100: Run | None
    interpolation: bool
    reasons: tuple[str, ...]


def early_icaht(labs: Sequence[LabValue], infusion: datetime, tz: Any, today: int,
                interpolate: bool = False) -> EarlyIcaht:
    """Early ICAHT from the ANC of days 0 to +30 (``today``: the current day after infusion).
    Days +31 and +32 only confirm a recovery that began by day +30."""
    daily = daily_lowest(labs, infusion, tz, 0, EARLY_LAST_DAY + RECOVERY_DAYS - 1)
    how = ("interpolated over gaps of up to 7 days" if interpolate
           else "days without a value not filled")
    if interpolate:
        daily = interpolated(daily)
    if not any(d <= EARLY_LAST_DAY for d in daily):
        return EarlyIcaht(None, False, None, None, interpolate,
                          ("no ANC from day 0 to day +30: not evaluable",))
    r500, r100 = longest_run(daily, 500), longest_run(daily, 100)
    reasons = [f"daily lowest ANC, {how}"]
    grade, pending = 0, False
    window_open = today <= EARLY_LAST_DAY
    if r500 is None:
        reasons.append("ANC never <= 500/µL from day 0 to day +30 -> grade 0")
    else:
        g = _band(EARLY_500, r500.days)
        words = f"ANC <= 500/µL on days {r500.first} to {r500.last} ({r500.days} days"
        words += f", {r500.missing_days} without a value)" if r500.missing_days else ")"
        if not r500.recovered and max(daily) >= EARLY_LAST_DAY:
            g = 4
            words += ", never recovered by day +30"
        elif not r500.recovered:
            pending = True
            words += ", recovery not yet documented"
        grade = g
        reasons.append(f"{words} -> grade {g}")
    if r100 is not None:
        g = _band(EARLY_100, r100.days)
        reasons.append(f"ANC <= 100/µL on days {r100.first} to {r100.last} ({r100.days} days)"
                       + (f" -> grade {g}" if g else ": under 7 days, no higher grade"))
        grade = max(grade, g)
    provisional = grade < 4 and (window_open or pending)
    if provisional:
        reasons.append("provisional: " + ("the day 0-30 window is still open" if window_open
                                          else "recovery not documented by day +30"))
    return EarlyIcaht(grade, provisional, r500, r100, interpolate, tuple(reasons))


@dataclass(frozen=True)
class LateIcaht:
    grade: int | None
    measurements: int
    nadir: float | None
    reasons: tuple[str, ...]


def late_icaht(labs: Sequence[LabValue], infusion: datetime, tz: Any) -> LateIcaht:
    """Late ICAHT: the nadir ANC after day +30 (to day +100), at least 2 measurements."""
    values = [x for x in labs if x.test == "anc"
              and EARLY_LAST_DAY < day_of(x.time, infusion, tz) <= LATE_LAST_DAY]
    if not values:
        return LateIcaht(None, 0, None, ("no ANC after day +30",))
    nadir = min(x.value for x in values)
    grade = next((g for limit, g in LATE if nadir <= limit), 0)
    if len(values) < LATE_MIN_MEASUREMENTS:
        return LateIcaht(None, len(values), nadir, (
            f"one ANC after day +30 ({nadir:g}/µL): late ICAHT needs at least "
            f"{LATE_MIN_MEASUREMENTS} measurements (it would be grade {grade})",))
    return LateIcaht(grade, len(values), nadir, (
        f"nadir ANC {nadir:g}/µL over {len(values)} measurements after day +30 -> grade {grade}"
        + ("; stop counting at relapse, new therapy or death (not recorded here)"),))
