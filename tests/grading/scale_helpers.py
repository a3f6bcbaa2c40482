"""Helpers for the other-scale tests: courses of rows graded by ASTCT (both paths) and by every
other scale. Rows build on ``normal_adult`` with the organ toxicity recorded as none, so a grade
is final unless the test leaves something out on purpose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import grading
from grading.scales.compare import RowComparison, compare_course
from grading.scales.engine import SCALES, grade_inputs
from grading.scales.inputs import scale_inputs
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


def compared(rows: Sequence[Mapping[str, object]]) -> list[RowComparison]:
    """Every row compared with ASTCT by every scale (the review page's Scales tab)."""
    a = grading.from_rows(rows)
    inputs = scale_inputs(a)
    return compare_course(list(grading.grade(a).results()), inputs,
                          grade_inputs(inputs, tuple(SCALES)))


INFUSED = {"infusion_time": "2026-03-01T10:00"}   # T0 (08:00 on 2 March) is day +1
DAY_ROWS = [
    # day +1: Lee 1 final, then 2 provisional (cannula, flow not recorded), then 2 estimated
    # (2 L/min: FiO2 ≈ 29 % from the flow) - the maximum 2 is given by two rows
    adult(0, temp_c=38.6, **INFUSED),
    adult(2, temp_c=38.6, o2_device="nasal_cannula", **INFUSED),
    adult(4, temp_c=38.6, o2_device="nasal_cannula", o2_flow_l_min=2, **INFUSED),
    # day +2: the only assessment has no temperature and nothing else: not evaluable
    adult(28, temp_c=None, o2_device="room_air", **INFUSED),
    # day +3: 1 final, then 2 final
    adult(52, temp_c=38.6, **INFUSED),
    adult(56, temp_c=38.6, creatinine_ctcae_grade=2, **INFUSED),
]
