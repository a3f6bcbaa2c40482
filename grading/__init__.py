"""ASTCT CRS and ICANS grading over patient timelines, explained (no I/O beyond reading CSV).

    from grading import read_csv, grade, summarize
    graded = grade(read_csv("sample_data/grade2_crs_tocilizumab.csv", tz="Europe/London"))
    for r in graded.results():
        print(r.time, r.crs.grade, r.crs.status, [x.rule for x in r.crs.reasons])

Decision support only: the grades and flags are for a clinician to confirm.
"""

from .parse import Assessments, InputError, Problem, from_rows, read_csv
from .result import Flag, Grade, Reason
from .rules import fahrenheit_to_celsius, round_temp
from .scales.common import ScaleGrade
from .scales.engine import SCALE_NAMES, SCALES, grade_scales
from .snapshot import Snapshot
from .summary import Episode, PatientSummary, summarize
from .timeline import GradedTimeline, RowResult, grade

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
