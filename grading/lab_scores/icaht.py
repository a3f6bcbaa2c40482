"""ICAHT: immune effector cell-associated haematotoxicity (EHA/EBMT 2023), spec §5.5.

Source: Rejeski K, Subklewe M, Aljurf M, et al. Immune effector cell-associated hematotoxicity:
EHA/EBMT consensus grading and best practice recommendations. Blood. 2023;142(10):865-877
(grade logic as checked against a published implementation [S, secondary]).

Early ICAHT (day 0 to +30): the longest run of days with ANC <= 500/µL (and <= 100/µL); a
recovery shorter than 3 consecutive days above the threshold does not break a run; "never
recovers" (grade 4) needs <= 500/µL from day +3 or earlier through day +30 (L8); days without a
value make a grade below 4 provisional (L15). Late ICAHT (after day +30, to day +100): the
nadir, with at least 2 measurements. Daily values: the lowest of the day; days without a value
are not filled unless interpolation is chosen (L7-L10).
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
ANC_500 = 500.0            # /µL, inclusive (L6)
ANC_100 = 100.0
NEVER_RECOVERED_START_BY = 3   # L8: a run from day +3 or earlier may "never recover"

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
class Recovery:
    """Whether the ANC never recovered above 500/µL in the window (decision L8)."""

    never: bool              # documented: <= 500 from day +3 or earlier through day +30
    possible: bool           # not documented, but no measured value rules it out
    words: str               # why, in ward words ("" when there is nothing to say)


def never_recovered(daily: dict[int, float], last_day: int) -> Recovery:
    """L8: "never recovers above 500" (spec §5.5, "the whole window") when the ANC is <= 500/µL
    from a day no later than +3 (the reference implementation's allowance for a nadir after
    lymphodepletion) through day +30, with no measured value above 500 after that start.
    ``last_day``: the last day of the window read so far (today, while it is open)."""
    in_window = sorted(d for d in daily if d <= EARLY_LAST_DAY)
    above = [d for d in in_window if daily[d] > ANC_500]
    after = above[-1] if above else -1              # the last value above 500
    low = [d for d in in_window if d > after]       # measured, all <= 500, since then
    if not low:
        return Recovery(False, False, "")
    start = low[0]
    since = (f", after {daily[after]:g}/µL on day {after}" if after >= 0 else "")
    if after >= NEVER_RECOVERED_START_BY:
        return Recovery(False, False, f"ANC <= 500/µL from day {start}{since}: not 'never "
                        f"recovered', which needs <= 500/µL from day +{NEVER_RECOVERED_START_BY} "
                        "or earlier through day +30 with no value above 500/µL (the ward's "
                        "reading)")
    if start <= NEVER_RECOVERED_START_BY and EARLY_LAST_DAY in daily:
        return Recovery(True, False, f"ANC <= 500/µL from day {start} through day +30 with no "
                        "value above 500/µL: never recovered")
    gaps = []
    if start > NEVER_RECOVERED_START_BY:
        gaps.append(f"no ANC on days {after + 1} to {start - 1}")
    if EARLY_LAST_DAY not in daily:
        gaps.append("no ANC on day +30" if last_day >= EARLY_LAST_DAY
                    else "the window is still open")
    return Recovery(False, True, f"ANC <= 500/µL from day {start} with no value above 500/µL "
                    f"since ({'; '.join(gaps)}): if it was <= 500/µL from day "
                    f"+{NEVER_RECOVERED_START_BY} or earlier through day +30 it never recovered")


def unmeasured(daily: dict[int, float], last_day: int) -> tuple[int, int]:
    """Days 0 to ``last_day`` without a value, and the longest run of them."""
    missing = total = longest = 0
    for d in range(0, last_day + 1):
        missing = missing + 1 if d not in daily else 0
        total += d not in daily
        longest = max(longest, missing)
    return total, longest


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class EarlyIcaht:
    grade: int | None
    provisional: bool
    run_500: Run | None
    run_100: Run | None
    interpolation: bool
    reasons: tuple[str, ...]
    grade_500: int | None = None      # the <= 500/µL column (never recovered: 4)
    grade_100: int | None = None      # the <= 100/µL column
    never_recovered: bool = False
    unmeasured_days: int = 0          # days 0 to min(today, +30) without a value (L15)
    longest_gap: int = 0


def early_icaht(labs: Sequence[LabValue], infusion: datetime, tz: Any, today: int,
                interpolate: bool = False) -> EarlyIcaht:
    """Early ICAHT from the ANC of days 0 to +30 (``today``: the current day after infusion;
    no later value is read). Days +31 and +32 only confirm a recovery that began by day +30."""
    last_day = min(today, EARLY_LAST_DAY)
    daily = daily_lowest(labs, infusion, tz, 0, min(today, EARLY_LAST_DAY + RECOVERY_DAYS - 1))
    how = ("interpolated over gaps of up to 7 days" if interpolate
           else "days without a value not filled")
    if interpolate:
        daily = interpolated(daily)
    if not any(d <= last_day for d in daily):
        return EarlyIcaht(None, False, None, None, interpolate,
                          (f"no ANC from day 0 to day +{last_day}: not evaluable",))
    r500, r100 = longest_run(daily, ANC_500), longest_run(daily, ANC_100)
    recovery = never_recovered(daily, last_day)
    g500 = _column_500(r500, recovery)
    g100 = 0 if r100 is None else _band(EARLY_100, r100.days)
    grade = max(g500, g100)
    reasons = [f"daily lowest ANC, {how}", _words_500(r500, recovery, g500)]
    if r100 is not None:
        reasons.append(f"ANC <= 100/µL on days {r100.first} to {r100.last} ({r100.days} days)"
                       + (f" -> grade {g100}" if g100 else ": under 7 days, no higher grade"))
    missing, gap = unmeasured(daily, last_day)
    notes = _provisional_notes(today, r500, recovery, missing, gap, interpolate)
    provisional = grade < 4 and bool(notes)
    if provisional:
        reasons += [f"provisional: {n}" for n in notes]
    return EarlyIcaht(grade, provisional, r500, r100, interpolate, tuple(reasons), g500, g100,
                      recovery.never, missing, gap)


def _column_500(run: Run | None, recovery: Recovery) -> int:
    if recovery.never:
        return 4
    return 0 if run is None else _band(EARLY_500, run.days)


def _words_500(run: Run | None, recovery: Recovery, grade: int) -> str:
    if run is None:
        return "ANC never <= 500/µL from day 0 to day +30 -> grade 0"
    words = f"ANC <= 500/µL on days {run.first} to {run.last} ({run.days} days"
    words += f", {run.missing_days} without a value)" if run.missing_days else ")"
    if not run.recovered and not recovery.never:
        words += ", recovery not documented (ANC > 500/µL on 3 consecutive days)"
    words += f" -> grade {grade}"
    return words + (f"; {recovery.words}" if recovery.words and not recovery.possible else "")


def _provisional_notes(today: int, run: Run | None, recovery: Recovery, missing: int, gap: int,
                       interpolate: bool) -> list[str]:
    """Why an early ICAHT grade below 4 may still rise (decisions L8, L15)."""
    notes = []
    if today <= EARLY_LAST_DAY:
        notes.append("the day 0-30 window is still open")
    if missing:
        what = "no ANC, measured or interpolated," if interpolate else "no ANC"
        notes.append(f"{what} on {_days(missing)} (longest gap {_days(gap)}): a neutropenia "
                     "could be missed")
    if run is not None and not run.recovered and not recovery.never:
        notes.append(f"recovery after day {run.last} not documented")
    if recovery.possible:
        notes.append(f"{recovery.words}: would be grade 4")
    return notes


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
