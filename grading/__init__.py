"""ASTCT CRS and ICANS grading over patient timelines, explained (no I/O beyond reading CSV).

    from grading import read_csv, grade, summarize
    graded = grade(read_csv("sample_data/grade2_crs_tocilizumab.csv", tz="Europe/London"))
    for r in graded.results():
        print(r.time, r.crs.grade, r.crs.status, [x.rule for x in r.crs.reasons])

Decision support only: the grades and flags are for a clinician to confirm.

The names below are imported on first use (PEP 562), so ``python -m grading`` can start reading
its file before pandas and numba are imported (``arrow_csv``, docs/speed.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .parse import Assessments, InputError, Problem, from_rows, read_csv
    from .result import Flag, Grade, Reason
    from .rules import fahrenheit_to_celsius, round_temp
    from .scales.common import ScaleGrade
    from .scales.engine import SCALE_NAMES, SCALES, grade_scales
    from .snapshot import Snapshot
    from .summary import Episode, PatientSummary, summarize
    from .timeline import GradedTimeline, RowResult, grade

# each public name -> the module that defines it
_HOME = {
    **dict.fromkeys(("Assessments", "InputError", "Problem", "from_rows", "read_csv"), ".parse"),
    **dict.fromkeys(("Flag", "Grade", "Reason"), ".result"),
    **dict.fromkeys(("fahrenheit_to_celsius", "round_temp"), ".rules"),
    "ScaleGrade": ".scales.common",
    **dict.fromkeys(("SCALE_NAMES", "SCALES", "grade_scales"), ".scales.engine"),
    "Snapshot": ".snapshot",
    **dict.fromkeys(("Episode", "PatientSummary", "summarize"), ".summary"),
    **dict.fromkeys(("GradedTimeline", "RowResult", "grade"), ".timeline"),
}

__all__ = [
    "SCALES",
    "SCALE_NAMES",
    "Assessments",
    "Episode",
    "Flag",
    "Grade",
    "GradedTimeline",
    "InputError",
    "PatientSummary",
    "Problem",
    "Reason",
    "RowResult",
    "ScaleGrade",
    "Snapshot",
    "fahrenheit_to_celsius",
    "from_rows",
    "grade",
    "grade_scales",
    "read_csv",
    "round_temp",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:  # a submodule (grading.kernel after ``import grading``), or nothing
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
