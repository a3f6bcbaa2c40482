"""The figure-building functions: traces, threshold lines, bands, markers, axes (no browser)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from monitoring import review
from monitoring.demo import load_demo, standard_cases
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
    """The standard teaching cases in full (the demo ward shows them only up to now, W16)."""
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
    assert names[:10] == ["temperature", "heart rate", "systolic BP", "diastolic BP",
                          "MAP (calculated)", "SpO2", "respiratory rate", "NEWS2",
                          "level of consciousness", "ICE score"]
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
            str(a.text).startswith("Day ")]
    assert days == [f"Day {n}" for n in range(0, 8)]
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
    assert markers.name in fig.layout[f"yaxis{charts.ROW[charts.EVENTS]}"].categoryarray


# ------------------------------------------------------------------ issue 18.13
H = timedelta(hours=1)
ALERT_ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
             "ice_attention": 1}


def vitals(temp: float, hr: int, sbp: int, rr: int, spo2: int, **more) -> dict:
    return {"temp_c": temp, "hr_bpm": hr, "sbp_mmhg": sbp, "dbp_mmhg": 70, "rr_per_min": rr,
            "spo2_pct": spo2, **more}


def charted(rows: list[tuple[float, dict]]):
    """A memory record of one patient, each row (hours after the first, values) by nina."""
    s = WardStore.in_memory()
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    s.admit({"patient_id": "P1", "infusion_time": t0 - timedelta(days=1)}, by="drx")
    for hours, values in rows:
        s.record_assessment("P1", {"time": t0 + hours * H, **values}, by="nina")
    return review.patient_review(s, "P1")


def gaps(t) -> list[int]:
    """The positions of the breaks in a trace."""
    return [i for i, y in enumerate(t.y) if y is None]


FOUR_HOURLY_WITH_A_13_HOUR_GAP = [
    (0, vitals(37.0, 80, 120, 16, 97, o2_device="room_air", consciousness="alert",
               **ALERT_ICE)),
    (4, vitals(37.4, 84, 118, 18, 96)),
    (8, vitals(38.3, 96, 112, 20, 95, consciousness="alert")),
    (21, vitals(38.6, 104, 104, 22, 94, consciousness="awakens_to_voice", **ALERT_ICE)),
    (25, vitals(37.8, 92, 110, 18, 96, consciousness="alert")),
]


def test_a_13_hour_gap_in_four_hourly_observations_is_a_gap_in_every_line_not_a_line():
    fig = charts.timeline_figure(charted(FOUR_HOURLY_WITH_A_13_HOUR_GAP))
    for name in ("temperature", "heart rate", "systolic BP", "respiratory rate", "SpO2",
                 "NEWS2", "CRS grade"):
        t = trace(fig, name)
        assert gaps(t) == [3], name          # between the 8 h and the 21 h observations only
        assert t.connectgaps is False
        assert t.x[2] < t.x[3] < t.x[4]      # the break sits inside the gap
    assert list(trace(fig, "temperature").y) == [37.0, 37.4, 38.3, None, 38.6, 37.8]
    # the consciousness levels at 8 h and 21 h are 13 h apart: within the 12 h of the
    # neuro schedule (8 h plus half) they would join; 13 h does not
    assert gaps(trace(fig, "level of consciousness")) == [2]
    assert list(trace(fig, "ICE score").y) == [10, None, 10]   # 21 h apart


def _series(hours: list[float]) -> pd.DataFrame:
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    utc = [t0 + h * H for h in hours]
    return pd.DataFrame({"time": [t.replace(tzinfo=None) for t in utc], "utc": utc,
                         "value": [1.0] * len(hours), "by": "nina", "at": ""})


@pytest.mark.parametrize(("second_after", "joined"), [
    (timedelta(hours=6), True),                       # 4 h + half of it: still a line
    (timedelta(hours=6, minutes=1), False),           # one minute more: a gap
    (timedelta(hours=3), True)])
def test_a_line_joins_observations_up_to_the_routine_interval_and_half_again(
        second_after, joined):
    f = _series([0, second_after / H])
    x, y, custom = charts.gapped(f, "value", timedelta(hours=4))
    assert y == ([1.0, 1.0] if joined else [1.0, None, 1.0])
    assert len(custom) == len(x) == len(y)


def test_the_gap_interval_comes_from_the_site_schedule(tmp_path, monkeypatch):
    from monitoring import schedule
    assert charts.routine_intervals() == (timedelta(hours=4), timedelta(hours=8))
    text = schedule.SCHEDULE_FILE.read_text().replace("0 = 4 ", "0 = 6 ", 1)
    (tmp_path / "s.toml").write_text(text)
    monkeypatch.setenv("WARD_SCHEDULE_FILE", str(tmp_path / "s.toml"))
    assert charts.routine_intervals()[0] == timedelta(hours=6)
    assert "more than 9 h (vital signs" in charts.gap_note()


def test_a_grade_that_cannot_be_evaluated_breaks_the_grade_line():
    f = _series([0, 1, 2])
    f["value"] = [2, None, 3]
    _, y, _ = charts.gapped(f, "value", timedelta(hours=4), blank_breaks=True)
    assert y == [2, None, 3]


def test_the_news2_panel_shows_the_scores_of_grading_news2_at_each_assessment():
    from grading import news2
    rows = [(0, vitals(37.0, 80, 120, 16, 97, o2_device="room_air", consciousness="alert")),
            (1, vitals(38.4, 112, 98, 23, 93, o2_device="nasal_cannula", o2_flow_l_min=2,
                       consciousness="alert")),
            (2, vitals(39.3, 132, 88, 26, 91, consciousness="awakens_to_voice")),
            (3, vitals(35.0, 45, 225, 8, 96, o2_device="room_air", consciousness="alert"))]
    fig = charts.timeline_figure(charted(rows))
    expected = [news2.news2(rr=v["rr_per_min"], spo2=v["spo2_pct"],
                            on_oxygen=device != "room_air", sbp=v["sbp_mmhg"], pulse=v["hr_bpm"],
                            consciousness=v["consciousness"], temp_c=v["temp_c"]).total
                for (_, v), device in zip(rows, ("room_air", "nasal_cannula", "nasal_cannula",
                                                  "room_air"))]
    assert expected == [0, 11, 19, 10]   # table values, so a wrong oracle cannot pass
    t = trace(fig, "NEWS2")
    assert list(t.y) == expected
    assert "NEWS2 11: respiration rate 2, SpO2 2, air or oxygen 2" in t.customdata[1][2]
    assert list(t.marker.color) == ["#333333", "#333333", "#D55E00", "#D55E00"]  # red: a 3
    assert list(t.marker.symbol) == ["circle"] * 4                   # every parameter recorded
    assert fig.layout[f"yaxis{charts.ROW[charts.NEWS]}"].range == (-0.5, 20.0)
    bands = [(x.y0, x.y1) for x in fig.layout.shapes if x.yref == f"y{charts.ROW[charts.NEWS]}"]
    assert bands == [(4.5, 6.5), (6.5, 20.5)]   # RCP 2017 Chart 4: 5-6 medium, 7+ high


def test_news2_is_not_drawn_for_a_child_and_the_panel_says_why():
    fig = charts.timeline_figure(charted([(0, vitals(37.0, 100, 100, 22, 97, age_years=12))]))
    assert list(trace(fig, "NEWS2").y) == []
    assert "NEWS2 is not scored under 16 (RCP 2017)" in [a.text for a in fig.layout.annotations]
    news_axis = f"y{charts.ROW[charts.NEWS]}"
    assert not [x for x in fig.layout.shapes if x.yref == news_axis]  # no bands to misread


def test_the_level_of_consciousness_is_drawn_on_the_acvpu_scale_with_sedation():
    rows = [(0, {"consciousness": "alert", **ALERT_ICE}),
            (2, {"consciousness": "awakens_spontaneously"}),
            (4, {"consciousness": "awakens_to_touch"}),
            (6, {"sedated": True}),
            (8, {"consciousness": "unarousable"})]
    fig = charts.timeline_figure(charted(rows))
    t = trace(fig, "level of consciousness")
    # NEWS2 from the consciousness alone: a minimum, drawn as an open marker
    assert set(trace(fig, "NEWS2").marker.symbol) == {"circle-open"}
    assert list(t.y) == ["A alert", "A drowsy", "P touch", "sedated", "U unrousable"]
    assert [c[2] for c in t.customdata] == ["alert", "drowsy, wakes spontaneously",
                                            "wakes only to touch", "sedated: not assessable",
                                            "unarousable"]
    axis = fig.layout[f"yaxis{charts.ROW[charts.CONSCIOUSNESS]}"]
    assert list(axis.categoryarray) == ["sedated", "U unrousable", "P touch", "V voice",
                                        "A drowsy", "A alert"]    # alert at the top


def test_a_long_stay_labels_every_other_day_so_the_labels_never_run_together(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-004"))  # 13 days
    days = [a.text for a in fig.layout.annotations if str(a.text).startswith("Day ")]
    assert days == [f"Day {n}" for n in range(0, 13, 2)]
    lines = [x for x in fig.layout.shapes if x.yref == "paper" and x.type == "line"]
    assert len(lines) == 13                             # every midnight keeps its line


@pytest.mark.parametrize(("start", "labels", "midnights"), [
    # the demo ward ends at the minute it starts (W16): DEMO-004's stay, from 2 h before the
    # infusion to 30 min ago, spans 8 calendar days or, across one more midnight, 9
    ((23, 52), range(0, 8), 8),
    ((0, 45), range(0, 9, 2), 9),    # the first assessment before midnight, the last after
    ((4, 10), range(-1, 8, 2), 9),   # the infusion after midnight: the first day is Day -1
    ((5, 40), range(0, 8), 8),
])
def test_the_demo_wards_day_labels_follow_the_clock_time_it_starts_at(tmp_path, start, labels,
                                                                      midnights):
    s = WardStore(f"sqlite:///{tmp_path}/ward.db", tz="UTC")
    load_demo(s, at=datetime(2026, 1, 14, *start, tzinfo=UTC))  # any past day
    rv = review.patient_review(s, "DEMO-004")
    fig = charts.timeline_figure(rv)
    notes = [a for a in fig.layout.annotations if str(a.text).startswith("Day ")]
    assert [a.text for a in notes] == [f"Day {n}" for n in labels]
    assert [rv.results[0].day_post_infusion, rv.results[-1].day_post_infusion] == [
        labels[0], labels[0] + midnights - 1]
    lines = [x for x in fig.layout.shapes if x.yref == "paper" and x.type == "line"]
    assert len(lines) == midnights
    # every label on the axis as drawn (plotly leaves out a label off the axis): the first
    # day's over the part of it the axis shows, whatever the time the stay began
    low, high = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    at = [pd.Timestamp(a.x) for a in notes]
    assert all(low < x < high for x in at), (low, at, high)
    midnight = pd.Timestamp(lines[0].x0)
    assert at[0] == max(midnight, low) + (midnight + pd.Timedelta(days=1) - max(midnight, low)) / 2
    s.engine.dispose()


def test_day_labels_sit_above_the_panel_titles_and_below_the_quick_range_buttons(demo_store):
    fig = charts.timeline_figure(review.patient_review(demo_store, "DEMO-005"))
    titles = [a for a in fig.layout.annotations if a.text in charts.PANELS]
    days = [a for a in fig.layout.annotations if str(a.text).startswith("Day ")]
    assert {a.font.size for a in titles} == {charts.TITLE_FONT_PX}
    top = max(a.y for a in titles)
    assert top == pytest.approx(1.0)  # the first panel's title sits on the plot's top edge
    # the day labels: on the same top edge, shifted up by more than a title is high
    assert {(a.y, a.yref, a.yanchor, a.yshift) for a in days} == {
        (1.0, "paper", "bottom", charts.DAY_LABEL_SHIFT_PX)}
    assert charts.DAY_LABEL_SHIFT_PX > charts.TITLE_FONT_PX + 4
    # the quick-range buttons above the day labels (10 px font) and inside the top margin
    selector = fig.layout.xaxis.rangeselector
    plot_px = charts.HEIGHT_PX - fig.layout.margin.t - fig.layout.margin.b
    above_px = (selector.y - 1) * plot_px
    assert selector.yanchor == "bottom"
    assert above_px >= charts.DAY_LABEL_SHIFT_PX + 14
    assert above_px + 30 <= fig.layout.margin.t
