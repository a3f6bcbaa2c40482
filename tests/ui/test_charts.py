"""The figure-building functions: traces, threshold lines, bands, markers, axes (no browser)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from monitoring import review
from monitoring.demo import standard_cases
from monitoring.library import load_case
from monitoring.store import WardStore
from ui import charts
from ui.handover import handover_html


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> WardStore:
    s = WardStore(f"sqlite:///{tmp_path_factory.mktemp('charts')}/ward.db")
    load_cases(s)
    return s


def load_cases(s: WardStore) -> None:
    """The standard teaching cases in full (the demo ward shows them only up to now, W13)."""
    for case in standard_cases():
        load_case(s, case)


def trace(fig, name):
    (hit,) = [t for t in fig.data if t.name == name]
    return hit


def test_every_panel_is_drawn_on_one_shared_time_axis(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-005"))
    titles = [a.text for a in fig.layout.annotations if a.text in charts.PANELS]
    assert titles == list(charts.PANELS)
    last = len(charts.PANELS)  # every panel's time axis follows the bottom one
    assert all(fig.layout[f"xaxis{'' if i == 1 else i}"].matches == f"x{last}"
               for i in range(1, last))
    names = [t.name for t in fig.data]
    assert names[:8] == ["temperature", "heart rate", "systolic BP", "diastolic BP",
                         "MAP (calculated)", "SpO2", "respiratory rate", "ICE score"]
    assert {"CRS grade", "ICANS grade", "CRS episode maximum", "tocilizumab", "corticosteroid",
            "antipyretic", "fluid bolus", "norepinephrine"} <= set(names)


def test_temperature_points_and_the_38_degree_fever_line(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    fig = charts.timeline_figure(rv)
    t = trace(fig, "temperature")
    assert list(t.y) == [r["temp_c"] for r in rv.rows if r.get("temp_c") is not None]
    fever = [s for s in fig.layout.shapes if s.yref == "y" and s.type == "line"]
    assert [s.y0 for s in fever] == [38.0]
    assert any(a.text == "38.0 °C fever (ASTCT)" for a in fig.layout.annotations)


def test_hover_shows_who_recorded_each_value_and_when(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-005"))
    t = trace(fig, "heart rate")
    assert "recorded by %{customdata[0]} at %{customdata[1]}" in t.hovertemplate
    assert {row[0] for row in t.customdata} == {"system"}


@pytest.mark.parametrize(("pid", "threshold", "population"), [
    ("DEMO-005", 90, "adult"), ("DEMO-004", 86, "child 1-10 years")])  # 70 + 2 x 8
def test_the_hypotension_line_is_the_threshold_for_the_patients_age(demo_store, pid, threshold,
                                                                    population):
    fig = charts.timeline_figure(review.patient_review(demo_store, pid))
    bp = [s for s in fig.layout.shapes if s.yref == "y3" and s.type == "line"]
    assert [s.y0 for s in bp] == [threshold]
    assert any(a.text == f"SBP < {threshold}: hypotension trigger ({population})"
               for a in fig.layout.annotations)


def test_oxygen_support_is_a_shaded_band_labelled_by_device_and_flow(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-005"))
    bands = [s for s in fig.layout.shapes if s.xref == "x4" and s.type == "rect"]
    labels = [a.text for a in fig.layout.annotations if a.xref == "x4"]
    assert len(bands) == 3
    assert labels == ["nasal cannula 3 L/min", "high-flow nasal cannula 40 L/min",
                      "nasal cannula 4 L/min"]


def test_grades_are_step_lines_and_the_episode_maximum_is_dotted(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    fig = charts.timeline_figure(rv)
    crs = trace(fig, "CRS grade")
    assert crs.line.shape == "hv" and max(y for y in crs.y if y is not None) == 3
    assert trace(fig, "CRS episode maximum").line.dash == "dot"
    assert list(crs.y) == [r.crs.grade for r in rv.results]


def test_treatments_are_markers_and_vasopressors_bars(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    fig = charts.timeline_figure(rv)
    toci = trace(fig, "tocilizumab")
    assert len(toci.x) == 2 and set(toci.y) == {"tocilizumab"}
    assert [pd.Timestamp(x) for x in toci.x] == [  # drawn in ward-local clock time
        pd.Timestamp(r.time.astimezone(rv.tz).replace(tzinfo=None))
        for row, r in zip(rv.rows, rv.results) if row.get("tocilizumab_given")]
    bar = trace(fig, "norepinephrine")
    assert bar.mode == "lines" and bar.line.width == 10 and set(bar.y) == {"vasopressor"}


def test_a_child_is_charted_with_capd_and_its_bands(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-004"))
    assert "CAPD total" in [t.name for t in fig.data]
    assert "ICE score" not in [t.name for t in fig.data]
    assert {a.text for a in fig.layout.annotations} >= {"CAPD 0-0", "CAPD 1-8", "CAPD 9-32"}


def test_seizures_and_imaging_findings_are_marked_as_events(demo_store):
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    demo_store.admit({"patient_id": "P-SZ", "infusion_time": at}, by="system")
    for hours, values in ((0, {"seizure": "none"}),
                          (5, {"seizure": "resolved_rapidly"}),
                          (9, {"cerebral_edema": "focal", "raised_icp_signs": "papilledema"})):
        demo_store.record_assessment("P-SZ", {"time": at + timedelta(hours=hours), **values},
                                     by="system")
    events = trace(charts.timeline_figure(review.patient_review(demo_store, "P-SZ")),
                   "neuro events")
    assert list(events.y) == ["seizure", "imaging", "imaging"]
    assert list(events.text) == ["resolved rapidly", "cerebral oedema: focal",
                                 "raised ICP: papilledema"]


def test_days_after_infusion_and_quick_ranges_on_the_time_axis(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    fig = charts.timeline_figure(rv)
    days = [a.text for a in fig.layout.annotations if a.yref == "paper" and
            str(a.text).startswith("D+")]
    assert days == [f"D+{n}" for n in range(0, 8)]
    buttons = fig.layout.xaxis.rangeselector.buttons
    assert [(b.label, b.count, b.step) for b in buttons] == [
        ("24 h", 24, "hour"), ("72 h", 72, "hour"), ("whole stay", None, "all")]


def test_the_handover_is_sbar_with_codes_treatments_and_the_chart(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    html = handover_html(rv, rv.current.time, "demo.physician", [])
    for heading in ("S - Situation", "B - Background", "A - Assessment",
                    "R - Recommendation"):
        assert heading in html
    assert "D89.833" in html and "Decision support only" in html
    # each of the two doses once: from the medication record, not again from the rows
    doses = [m for m in rv.administrations if m["kind"] == "tocilizumab"]
    assert len(doses) == 2 and sum(bool(r.get("tocilizumab_given")) for r in rv.rows) == 2
    assert html.count("tocilizumab (charted on the assessment)") == 0
    treatments = html.split("Treatments given:")[1].split("</ul>")[0]
    assert treatments.count("tocilizumab") == 2
    assert "Plotly" in html  # the chart, self-contained
    assert "Plotly" not in handover_html(rv, rv.current.time, "x", [], with_chart=False)


def test_the_handover_names_a_dose_charted_only_on_the_assessment_and_the_attributions(
        tmp_path):
    """Imported rows whose 'tocilizumab given' no medication record accounts for are listed
    from the row; a physician's attribution and confirmation are in the handover."""
    demo_store = WardStore(f"sqlite:///{tmp_path}/ward.db")  # written to: not the shared one
    load_cases(demo_store)
    demo_store.add_user("demo.physician", "physician")
    rv = review.patient_review(demo_store, "DEMO-005")
    rv = replace(rv, administrations=[])
    html = handover_html(rv, rv.current.time, "x", [], with_chart=False)
    assert html.count("tocilizumab (charted on the assessment)") == 2
    first = rv.ids[10]
    demo_store.attribute(first, "hypotension", "line sepsis", by="demo.physician")
    demo_store.confirm_grade(rv.ids[-1], "crs", rv.current.crs.grade, by="demo.physician")
    rv = review.patient_review(demo_store, "DEMO-005")
    html = handover_html(rv, rv.current.time, "x", [], with_chart=False)
    part = html.split("Physician attributions and confirmed grades:")[1].split("</ul>")[0]
    assert "hypotension at " in part and "attributed to another cause: line sepsis" in part
    assert f"CRS grade {rv.current.crs.grade} at " in part and "confirmed (demo.physician" in part


def test_the_handover_lists_vasopressors_and_oxygen_changes(demo_store):
    rv = review.patient_review(demo_store, "DEMO-005")
    html = handover_html(rv, rv.current.time, "x", [], with_chart=False)
    assert "vasoactive infusions norepinephrine" in html
    assert "oxygen high flow nasal cannula 40 L/min" in html


def test_a_grade_resting_on_older_observations_says_when_they_were_made():
    from ui.common import based_on
    rows = [{"patient_id": "P", "time": "2026-03-02T08:00", "ice_orientation": 4,
             "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1,
             "consciousness": "alert", "temp_c": 37.0},
            {"patient_id": "P", "time": "2026-03-02T17:00", "temp_c": 37.1}]
    import grading
    g = grading.grade(grading.from_rows(rows))
    late = g.result_at(1, 1)
    assert based_on(late.icans, late.time, UTC) == " (from 02 Mar 08:00)"
    assert based_on(late.crs, late.time, UTC) == ""
    early = g.result_at(0, 0)
    assert based_on(early.icans, early.time, UTC) == ""


def test_the_anticytokine_markers_name_every_agent_they_stand_for(tmp_path):
    """anticytokine_given is set by anakinra, siltuximab or any other anti-IL-6 / anti-IL-1
    agent (decision W10): the event row and legend say so, not 'anakinra / siltuximab'."""
    s = WardStore(f"sqlite:///{tmp_path}/ward.db")
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    s.admit({"patient_id": "P1", "infusion_time": t0 - timedelta(days=1)}, by="drx")
    s.record_assessment("P1", {"time": t0, "temp_c": 38.4}, by="nina")
    s.record_administration("P1", "other_anticytokine", t0 + timedelta(hours=1), by="nina",
                            dose=100)
    s.record_assessment("P1", {"time": t0 + timedelta(hours=2), "temp_c": 37.2}, by="nina")
    fig = charts.timeline_figure(review.patient_review(s, "P1"))
    (markers,) = [t for t in fig.data if t.marker.symbol == "diamond-open"]
    assert markers.name == "anakinra, siltuximab<br>or other anti-cytokine"
    assert list(markers.y) == [markers.name]                   # the one dose, on its row
    assert markers.name in fig.layout.yaxis8.categoryarray
