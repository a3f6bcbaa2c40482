"""Each marker's course over the stay (issue 20 point 3): its baseline, its peak - or, for a
marker whose danger is a fall, its lowest value - with the time and the day after infusion,
the fold change from baseline and the latest result. Pure: lab rows in, summaries out, no
database and no clock (decisions R6-R9 in docs/clinical-decisions.md).

The markers are the analytes of the one table (``grading.lab_scores.units.ANALYTES``), in its
order; a marker with no result is left out. Values are in the analyte's canonical unit, as the
record stores them (spec §6.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from grading.instants import instant, is_after, shifted
from grading.lab_scores.labs import day_of
from grading.lab_scores.units import ANALYTES

# R7 (decision M3, the table's ``worse``): for these the clinically telling extreme is the
# lowest (coagulopathy, cytopenias: IEC-HS, ICAHT), so their "peak" is the nadir and is
# labelled "lowest" wherever it is shown.
LOWEST_IS_WORST = frozenset(k for k, a in ANALYTES.items() if a.worse == "low")
# R6: the baseline windows. Before lymphodepletion: the window of the lab scores (L1, 7 days);
# otherwise before the infusion, no more than 14 days before it (lymphodepletion usually starts
# on day -5, plus the same 7 days, rounded up) - an engineering default [I].
BEFORE_LYMPHODEPLETION = timedelta(days=7)
BEFORE_INFUSION = timedelta(days=14)
BASIS_WORDS = {"lymphodepletion": "before lymphodepletion", "infusion": "before infusion"}


@dataclass(frozen=True)
class MarkerPoint:
    """One result: its value (canonical unit), when it was taken, and the day after
    infusion (calendar day in the ward zone, S4; None without an infusion time)."""

    value: float
    time: datetime
    day: int | None


@dataclass(frozen=True)
class MarkerCourse:
    key: str                        # the analyte key (grading.lab_scores.units.ANALYTES)
    words: str                      # how a clinician names it
    unit: str                       # the canonical unit
    extreme: str                    # "peak", or "lowest" for the markers of LOWEST_IS_WORST
    baseline: MarkerPoint | None    # None: no result in the baseline window (R6)
    baseline_basis: str | None      # "lymphodepletion" or "infusion": what it is before
    peak: MarkerPoint | None        # the extreme after infusion, first reached (None: no
                                    # result after infusion, or no infusion time)
    fold: float | None              # peak / baseline; None without both, or baseline 0 (R8)
    latest: MarkerPoint             # the latest result of the stay, before infusion or after
    results: int                    # how many current results the summary is made from

    @property
    def extreme_words(self) -> str:
        return "lowest after infusion" if self.extreme == "lowest" else "peak after infusion"


def current_labs(labs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The current version of each result (R9): entered-in-error markings and the rows an
    amendment or a marking replaced are left out, the amendment stands. The record's own rule
    (``_effective``: final and not replaced), so a history or the current rows give the same."""
    rows = list(labs)
    replaced = {r.get("replaces_id") for r in rows} - {None}
    return [r for r in rows if r.get("status", "final") == "final"
            and (r.get("id") is None or r.get("id") not in replaced)]


def marker_courses(labs: Iterable[Mapping[str, Any]], infusion: datetime | None,
                   lymphodepletion: datetime | None, tz: Any) -> tuple[MarkerCourse, ...]:
    """The course of every marker with a result. ``labs``: the record's lab rows (``test``,
    ``value`` in the canonical unit, ``taken_at``; ``id``, ``status``, ``replaces_id`` when
    given), in any order."""
    by_test: dict[str, list[Mapping[str, Any]]] = {}
    for r in current_labs(labs):
        by_test.setdefault(str(r["test"]), []).append(r)
    return tuple(_course(k, by_test[k], infusion, lymphodepletion, tz)
                 for k in ANALYTES if k in by_test)


def _point(r: Mapping[str, Any], infusion: datetime | None, tz: Any) -> MarkerPoint:
    at = r["taken_at"]
    return MarkerPoint(float(r["value"]), at, None if infusion is None else day_of(at, infusion,
                                                                                    tz))


def baseline(rows: Sequence[Mapping[str, Any]], infusion: datetime | None,
             lymphodepletion: datetime | None) -> tuple[Mapping[str, Any] | None, str | None]:
    """R6: the latest result at or before the lymphodepletion start and no more than 7 days
    before it; else (no start recorded, or no result in that window) the latest at or before
    the infusion and no more than 14 days before it. None without either time."""
    def latest_in(until: datetime, back: timedelta) -> Mapping[str, Any] | None:
        since = shifted(until, -back)
        found = [r for r in rows if not is_after(r["taken_at"], until)
                 and not is_after(since, r["taken_at"])]
        return max(found, key=lambda r: instant(r["taken_at"])) if found else None

    if lymphodepletion is not None:
        found = latest_in(lymphodepletion, BEFORE_LYMPHODEPLETION)
        if found is not None:
            return found, "lymphodepletion"
    if infusion is not None:
        found = latest_in(infusion, BEFORE_INFUSION)
        if found is not None:
            return found, "infusion"
    return None, None


def fold_change(peak: float | None, base: float | None) -> float | None:
    """R8: peak / baseline; None when either is missing or the baseline is 0 (no ratio)."""
    if peak is None or base is None or base == 0:
        return None
    return peak / base


def _course(key: str, rows: list[Mapping[str, Any]], infusion: datetime | None,
            lymphodepletion: datetime | None, tz: Any) -> MarkerCourse:
    a = ANALYTES[key]
    rows = sorted(rows, key=lambda r: instant(r["taken_at"]))
    base, basis = baseline(rows, infusion, lymphodepletion)
    after = [] if infusion is None else [r for r in rows if is_after(r["taken_at"], infusion)]
    lowest = key in LOWEST_IS_WORST
    peak = None
    if after:  # the first time the extreme was reached (as an episode's maximum, summary.py)
        top = (min if lowest else max)(float(r["value"]) for r in after)
        peak = next(r for r in after if float(r["value"]) == top)
    p = None if peak is None else _point(peak, infusion, tz)
    b = None if base is None else _point(base, infusion, tz)
    return MarkerCourse(key, a.words, a.canonical, "lowest" if lowest else "peak", b, basis, p,
                        fold_change(None if p is None else p.value, None if b is None
                                    else b.value),
                        _point(rows[-1], infusion, tz), len(rows))


def number(v: float, digits: int = 3) -> str:
    """A value as a clinician writes it: ``digits`` significant figures (a whole number from
    1000 up, so 12600 and 45678 stay as they are), no exponent, no trailing zeros - a
    creatinine entered as 89 µmol/L reads 1.01 mg/dL, not 1.00679."""
    if abs(v) >= 10 ** digits:
        return str(round(v))
    text = f"{float(f'{v:.{digits}g}'):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fold_words(fold: float | None) -> str:
    """"312× baseline", "0.25× baseline" (3 significant figures); blank without a fold."""
    return "" if fold is None else f"{number(fold, 3)}× baseline"
