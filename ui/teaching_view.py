"""Drawing helpers for the teaching pages (plain functions, tested without a browser): the case
card, medications and events so far, lab results and their chart, and the quiz chart that does
not show the grade being asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from monitoring.library import CaseCard
from monitoring.marker_panel import default_markers
from monitoring.review import Review
from monitoring.vocabulary import KIND_WORDS, LAB_UNITS

from .charts import timeline_figure
from .common import local, observations_text
from .marker_chart import choices, markers_figure
from .text import lab_value, whole_years

# How lab results are shown (spec §6.3 conversions from the stored canonical unit)
LAB_DISPLAY: dict[str, tuple[str, str]] = {  # test -> (label, unit shown)
    "crp": ("CRP", "mg/L"), "ferritin": ("Ferritin", "µg/L"), "ldh": ("LDH", "U/L"),
    "platelets": ("Platelets", "10^9/L"), "anc": ("ANC", "10^9/L"),
    "haemoglobin": ("Haemoglobin", "g/L"), "creatinine": ("Creatinine", "µmol/L"),
    "fibrinogen": ("Fibrinogen", "g/L"), "il6": ("IL-6", "pg/mL"),
}
GRADE_TRACES = ("CRS grade", "ICANS grade", "CRS episode maximum", "ICANS episode maximum")
LABS_NOTE = ("Lab results are shown for context; they play no part in the ASTCT grades "
             "(ASTCT 2019).")


def patient_line(card: CaseCard) -> str:
    p = card.patient
    return (f"{whole_years(p.age_years, adjective=True)} {p.sex}, {p.weight_kg:g} kg · "
            f"{p.disease} · {p.product}")


def trial_line(card: CaseCard) -> str:
    t = card.trial
    if not t.has_figures:  # a child: no trial of the reference applies (decision T14)
        named = "" if t.trial is None else (
            f" **{t.trial}** ({t.citation}) is the pivotal paediatric {t.product} trial; its "
            "figures are not in the reference and are not quoted.")
        return ("No paediatric trial in the case library's table of published pivotal trials."
                + named + " The timing follows the published pattern for the product type.")
    onset = f"median CRS onset Day {t.median_crs_onset_day:g}" + (
        f" ({t.crs_onset_range})" if t.crs_onset_range else "")
    return (f"Follows the timing of **{t.trial}** ({t.citation}): CRS {t.crs_any_pct:g} % any "
            f"grade, {t.crs_grade3_plus_pct:g} % grade ≥ 3, {onset}; neurotoxicity median "
            f"onset Day {t.median_neurotoxicity_onset_day:g}. Trial scales: {t.scales}.")


def display_value(lab: dict[str, Any]) -> tuple[float, str]:
    """A stored lab result in the unit the page shows it in."""
    test = lab["test"]
    unit = LAB_DISPLAY.get(test, (test, lab["unit"]))[1]
    factor = LAB_UNITS[test][1].get(unit)
    if factor is None:
        return float(lab["value"]), lab["unit"]
    return round(float(lab["value"]) / factor, 2), unit


def latest_labs(labs: list[dict[str, Any]], tz: Any) -> pd.DataFrame:
    """The latest result of each test so far, with when it was taken."""
    latest: dict[str, dict[str, Any]] = {}
    for x in labs:
        latest[x["test"]] = x
    rows = []
    for test in LAB_DISPLAY:
        if test in latest:
            value, unit = display_value(latest[test])
            rows.append({"Test": LAB_DISPLAY[test][0], "Latest": lab_value(value, test, unit),
                         "Unit": unit, "Taken": local(latest[test]["taken_at"], tz)})
    return pd.DataFrame(rows, columns=["Test", "Latest", "Unit", "Taken"])


def labs_figure(rv: Review, tests: Sequence[str] | None = None) -> go.Figure:
    """The markers known at this replay step - the replay's record holds only the results
    taken at or before the step (``monitoring.teaching.replay``) - drawn by the timeline's
    markers panel (``ui.marker_chart``, the one builder), without its grade row: in a quiz
    the grade is the answer. ``tests`` None: IL-6, CRP, ferritin and fibrinogen."""
    if tests is None:
        tests = default_markers(choices(rv))
    return markers_figure(rv, tests, grades=False)


def medications_frame(review: Review, tz: Any) -> pd.DataFrame:
    rows = [{"Given": local(m["given_at"], tz), "Medication": KIND_WORDS.get(m["kind"], m["kind"]),
             "Dose": "" if m["dose"] is None else f"{m['dose']:g} {m['unit']}",
             "Recorded by": m["recorded_by"]} for m in review.administrations]
    return pd.DataFrame(rows, columns=["Given", "Medication", "Dose", "Recorded by"])


def charted_frame(review: Review, tz: Any, hours: int = 12) -> pd.DataFrame:
    """What was charted in the ``hours`` up to this step, latest first: every finding the
    grades can rest on (a neuro assessment counts for 12 h, spec §0.3), as the nurse wrote it,
    so a learner can grade from the record and not only from the chart."""
    now = review.current.time
    rows = [{"Time": local(r["time"], tz), "Charted": observations_text(r)}
            for r in reversed(review.rows) if now - timedelta(hours=hours) <= r["time"] <= now]
    return pd.DataFrame(rows, columns=["Time", "Charted"])


def events_frame(events: list[dict[str, Any]], tz: Any) -> pd.DataFrame:
    def dose(e: dict[str, Any]) -> str:
        amount = None if e.get("dose") is None else f"{e['dose']:g}"
        return " ".join(x for x in (amount, e.get("unit"), e.get("route")) if x)

    rows = [{"Time": local(e["time"], tz), "What": e["what"], "Dose": dose(e),
             "Note": e.get("note", "")} for e in events]
    return pd.DataFrame(rows, columns=["Time", "What", "Dose", "Note"])


def quiz_figure(review: Review) -> go.Figure:
    """The timeline as the learner sees it at a question: everything recorded up to now, but
    the CRS and ICANS grade lines stop at the previous assessment and the ICE/CAPD bands carry
    no grade label or grade colour (the answer is not shown, decision T8)."""
    fig = timeline_figure(review, grade_bands=False)
    for trace in fig.data:
        if trace.name in GRADE_TRACES and trace.x is not None and len(trace.x):
            trace.x = tuple(trace.x)[:-1]
            trace.y = tuple(trace.y)[:-1]
            if trace.customdata is not None:
                trace.customdata = trace.customdata[:-1]
    return fig


def step_line(step: int, n: int, at: datetime, day: int | None, tz: Any,
              key_moment: bool = False) -> str:
    return (f"Step **{step + 1} of {n}** · {local(at, tz)}"
            + ("" if day is None else f" · D+{day}") + (" · key moment" if key_moment else ""))
