"""The other scales and the lab scores for the patient review page (issue 8): the course
graded by every scale with each disagreement explained, and the lab panel from the labs in
the ward record. The page only draws what this returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import grading
from grading.lab_scores import LabPanel, LabValue, lab_panel
from grading.output import grades_csv
from grading.scales.compare import DayMaxima, RowComparison, compare_course, daily_maxima
from grading.scales.engine import SCALES, grade_inputs
from grading.scales.inputs import scale_inputs

from . import reference_ranges
from .review import Review
from .store import WardStore


@dataclass(frozen=True)
class ScaleCourse:
    rows: list[RowComparison]           # one per assessment, time order (as review.results)
    daily: list[DayMaxima]              # maximum grade per day after infusion, every scale
    names: tuple[str, ...]              # the scales compared, in registry order

    def latest_disagreement(self) -> int:
        """The index of the latest assessment where a scale differs (else the latest)."""
        for i in range(len(self.rows) - 1, -1, -1):
            if self.rows[i].disagreements:
                return i
        return len(self.rows) - 1


def scale_course(review: Review) -> ScaleCourse:
    """Every assessment of the review graded by every scale (the admission weight converts
    doses charted per kg, decision X7) and compared with ASTCT."""
    a = grading.from_rows(review.rows, tz=review.tz)
    weight = review.patient.get("weight_kg")
    inputs = scale_inputs(a, {review.patient["patient_id"]: weight} if weight else None)
    names = tuple(SCALES)
    rows = compare_course(review.results, inputs, grade_inputs(inputs, names))
    return ScaleCourse(rows, daily_maxima(rows), names)


def scales_csv(review: Review, course: ScaleCourse) -> str:
    """The course graded by every scale, exactly as ``python -m grading grade --scales``
    writes it (one grade, status, estimated and reasons field per scale; design.md)."""
    return grades_csv(review.results, [{n: r.cells[n].grade for n in course.names}
                                       for r in course.rows])


def lab_values(store: WardStore, patient_id: str) -> list[LabValue]:
    """The patient's current labs in their canonical units (spec §6.3)."""
    return [LabValue(r["test"], float(r["value"]), r["taken_at"])
            for r in store.labs(patient_id)]


def lab_scores(store: WardStore, patient: dict, now: datetime, *, interpolate: bool = False
               ) -> LabPanel | None:
    """The lab panel as of ``now``; None when no lab is recorded."""
    labs = lab_values(store, patient["patient_id"])
    if not labs:
        return None
    # the IEC-HS limits of normal: the site's, for the patient's age now (L12, M2), as the
    # lab flags use them (ward.lab_flags)
    from .ward import age_years_at
    limits = reference_ranges.iechs_limits(
        age_years_at(patient.get("date_of_birth"), now, store.tz))
    return lab_panel(labs, now, store.tz, patient.get("infusion_time"),
                     patient.get("lymphodepletion_at"), interpolate=interpolate, limits=limits)
