"""Helpers for the other-scale tests: courses of rows graded by ASTCT (both paths) and by every
other scale. Rows build on ``normal_adult`` with the organ toxicity recorded as none, so a grade
is final unless the test leaves something out on purpose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import grading
from grading.scales.engine import SCALES
from tests.grading.helpers import T0, grade_both, normal_adult

CRS_SCALES = tuple(n for n, s in SCALES.items() if s.syndrome == "crs")
NO_ORGAN_TOXICITY = {"transaminitis_ctcae_grade": 0, "creatinine_ctcae_grade": 0,
                     "other_organ_ctcae_grade": 0}


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def adult(hours: float = 0, **changes: object) -> dict[str, object]:
    """A normal adult assessment ``hours`` after T0 (organ toxicity none), with changes."""
    return normal_adult(time=at(hours), **(NO_ORGAN_TOXICITY | changes))


def graded(rows: Sequence[Mapping[str, object]], names: Sequence[str] = CRS_SCALES,
           weights: Mapping[str, float] | None = None
           ) -> tuple[list[grading.RowResult], list[dict[str, grading.ScaleGrade]]]:
    astct = grade_both(rows)
    return astct, grading.grade_scales(grading.from_rows(rows), names, weights)


def last(rows: Sequence[Mapping[str, object]], names: Sequence[str] = CRS_SCALES,
         weights: Mapping[str, float] | None = None
         ) -> tuple[grading.RowResult, dict[str, grading.ScaleGrade]]:
    """ASTCT and each named scale (the CRS scales unless named) at the last row."""
    astct, scales = graded(rows, names, weights)
    return astct[-1], scales[-1]


def grades(rows: Sequence[Mapping[str, object]]) -> dict[str, int | None]:
    """The last row's grade by every CRS scale, ASTCT CRS as ``astct``."""
    a, s = last(rows, CRS_SCALES)
    return {"astct": a.crs.grade} | {n: g.grade for n, g in s.items()}


def findings(g: grading.ScaleGrade) -> str:
    return "\n".join(f"{r.rule}: {r.finding}" for r in g.reasons)
