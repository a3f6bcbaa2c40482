"""The same course graded by every scale, each disagreement with ASTCT explained (spec §3.7).

For each assessment: the ASTCT grade (CRS, or ICANS for CRES), each scale's grade, whether it
differs, and why — the domain that makes the difference, named with spec §3.7's "main reasons":
1 organ toxicity, 2 hypoxia by device/flow vs FiO2 40 %, 3 vasopressors without doses vs
high-dose / duration, 4 fever required at onset, 5 the neurotoxicity domains of CRES.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..result import Grade, Status
from ..timeline import RowResult
from . import rules_text
from .common import ScaleGrade
from .engine import SCALES
from .inputs import ScaleInputs

REFERENCE = ("Pennisi M, Jain T, Santomasso BD, et al. Comparing CAR T-cell toxicity grading "
             "systems: application of the ASTCT grading system and implications for "
             "management. Blood Adv. 2020;4(4):676-686")
AGREEMENT = ("The scales agreed on the grade in only 25 % of CRS and 54 % of ICANS cases "
             "(Pennisi 2020). The ward's grade is ASTCT; the others are for comparison only.")


@dataclass(frozen=True)
class ScaleCell:
    scale: str
    grade: ScaleGrade
    astct: Grade
    differs: bool
    why: tuple[str, ...]          # empty when the grades agree

    @property
    def direction(self) -> str:
        """'higher', 'lower', '' (same) or 'status' (one not evaluable)."""
        a, b = self.astct.grade, self.grade.grade
        if a == b:
            return ""
        if a is None or b is None:
            return "status"
        return "higher" if b > a else "lower"


@dataclass(frozen=True)
class RowComparison:
    time: datetime
    day_post_infusion: int | None
    astct_crs: Grade
    astct_icans: Grade
    cells: dict[str, ScaleCell]

    @property
    def disagreements(self) -> list[ScaleCell]:
        return [c for c in self.cells.values() if c.differs]


def astct_domains(x: ScaleInputs) -> dict[str, int | None]:
    """ASTCT CRS by domain, to hold against a scale's domains."""
    return {"fever": x.astct_fever, "hypotension": x.astct_hypotension,
            "oxygen": x.astct_oxygen, "organ": 0}


def _crs_why(scale: str, g: ScaleGrade, astct: Grade, x: ScaleInputs) -> list[str]:
    mine = dict(g.domains)
    theirs = astct_domains(x)
    title = SCALES[scale].title
    why: list[str] = []
    if astct.grade == 0 and (g.grade or 0) > 0 and max(
            v for v in (theirs["hypotension"], theirs["oxygen"], 0) if v is not None) > 0:
        why.append(rules_text.fever(title))
    if g.grade is not None and astct.grade is not None:
        high, low = max(g.grade, astct.grade), min(g.grade, astct.grade)
        for domain in ("organ", "oxygen", "hypotension", "iv_therapy", "coagulopathy"):
            m, t = mine.get(domain), theirs.get(domain, 0)
            if m is None or t is None or m == t:
                continue
            decides = (m == g.grade and m > low) if g.grade > astct.grade else \
                (t == astct.grade and t > (m or 0) and t == high)
            if decides:
                why.append(rules_text.domain(scale, title, domain, x))
    if not why and g.grade != astct.grade:
        if g.grade is None or astct.grade is None:
            why.append(rules_text.status(title, g, astct))
        else:
            why.append(rules_text.other(title))
    return list(dict.fromkeys(why))


def _cres_why(g: ScaleGrade, icans: Grade, x: ScaleInputs) -> list[str]:
    if g.grade == icans.grade:
        return []
    if g.grade is None or icans.grade is None:
        return [rules_text.status(SCALES["cres"].title, g, icans)]
    return rules_text.neuro(g, icans, x)


def compare_row(result: RowResult, x: ScaleInputs, grades: dict[str, ScaleGrade]
                ) -> RowComparison:
    cells = {}
    for name, g in grades.items():
        astct = result.icans if SCALES[name].syndrome == "icans" else result.crs
        differs = g.grade != astct.grade
        why = () if not differs else tuple(
            _cres_why(g, astct, x) if name == "cres" else _crs_why(name, g, astct, x))
        cells[name] = ScaleCell(name, g, astct, differs, why)
    return RowComparison(result.time, result.day_post_infusion, result.crs, result.icans, cells)


def compare_course(results: Sequence[RowResult], inputs: Sequence[ScaleInputs],
                   grades: Sequence[dict[str, ScaleGrade]]) -> list[RowComparison]:
    """Every row compared (the three sequences in the same row order)."""
    return [compare_row(r, x, g) for r, x, g in zip(results, inputs, grades, strict=True)]


# The less certain status wins when rows of one day give the same maximum.
UNCERTAINTY: dict[Status, int] = {"final": 0, "provisional": 1, "not_evaluable": 2}


@dataclass(frozen=True)
class DayMaximum:
    """One day's highest grade by one scale, as certain as the least certain row giving it."""

    grade: int | None          # None: every assessment of the day not evaluable
    status: Status
    estimated: bool = False


@dataclass(frozen=True)
class DayMaxima:
    day: int                            # day after infusion
    maxima: dict[str, DayMaximum]       # "astct_crs", "astct_icans" and each scale


def _day_maximum(graded: Sequence[tuple[int | None, Status, bool]]) -> DayMaximum:
    """The highest grade of the day's rows; among the rows giving it the least certain status,
    estimated if any of them is; not evaluable only when no row has a grade."""
    top = max((g for g, _, _ in graded if g is not None), default=None)
    giving = [(s, e) for g, s, e in graded if g == top]
    status = max((s for s, _ in giving), key=UNCERTAINTY.__getitem__)
    return DayMaximum(top, status, any(e for _, e in giving))


def _graded(r: RowComparison) -> dict[str, tuple[int | None, Status, bool]]:
    return {"astct_crs": (r.astct_crs.grade, r.astct_crs.status, False),
            "astct_icans": (r.astct_icans.grade, r.astct_icans.status, False),
            **{n: (c.grade.grade, c.grade.status, c.grade.estimated)
               for n, c in r.cells.items()}}


def daily_maxima(rows: Sequence[RowComparison]) -> list[DayMaxima]:
    """The highest grade of each day after infusion, by ASTCT and by every scale, with the
    status and estimate of the rows that give it (decision X31)."""
    by_day: dict[int, dict[str, list[tuple[int | None, Status, bool]]]] = {}
    for r in rows:
        if r.day_post_infusion is None:
            continue
        day = by_day.setdefault(r.day_post_infusion, {})
        for key, graded in _graded(r).items():
            day.setdefault(key, []).append(graded)
    return [DayMaxima(d, {k: _day_maximum(v) for k, v in by_day[d].items()})
            for d in sorted(by_day)]
