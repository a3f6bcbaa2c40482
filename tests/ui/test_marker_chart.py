"""The markers panel of the patient timeline (issue 20 point 2; decisions M4, M5), built
without a browser: one row per marker on the timeline's time axis, the reference range shaded,
log axes, out-of-range results in a stronger colour, the doses by name, clinician hover text,
and the IL-6-after-tocilizumab note."""

from __future__ import annotations

import re

import pytest

from monitoring import review
from monitoring.demo import standard_cases
from monitoring.library import load_case
from monitoring.store import WardStore
from ui import charts, marker_chart

DEFAULT = ["il6", "crp", "ferritin", "fibrinogen"]
ISO = re.compile(r"\d{4}-\d\d-\d\d")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> WardStore:
    s = WardStore(f"sqlite:///{tmp_path_factory.mktemp('markers')}/ward.db")
    for case in standard_cases():
        load_case(s, case)  # in full: the demo ward shows them only up to now (W16)
    return s


def rv_of(store: WardStore, pid: str) -> review.Review:
    return review.patient_review(store, pid)


def titles(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations if a.font.size == 12]


def marker(fig, name):
    (hit,) = [t for t in fig.data if t.name == name and t.mode == "lines+markers"]
    return hit


def test_the_grades_the_doses_and_each_marker_share_the_timelines_time_axis(demo_store):
    rv = rv_of(demo_store, "DEMO-002")
    fig = marker_chart.markers_figure(rv, DEFAULT)
    assert titles(fig) == [marker_chart.GRADES_TITLE, marker_chart.DOSES_TITLE, "IL-6 pg/mL",
                           "CRP mg/L", "Ferritin µg/L", "Fibrinogen g/L"]
    n = len(titles(fig))
    assert all(fig.layout[f"xaxis{i}"].matches == f"x{n}" for i in range(2, n))
    timeline = charts.timeline_figure(rv)
    assert list(fig.layout.xaxis.range) == list(timeline.layout.xaxis.range) == \
        list(charts.time_range(rv))
    # the baseline labs before the first assessment are inside the range
    assert fig.layout.xaxis.range[0] < min(marker(fig, "CRP").x)


def test_a_marker_without_results_is_not_drawn_and_the_choice_lists_only_those_with(demo_store):
    rv = rv_of(demo_store, "DEMO-002")
    assert "ifng" not in marker_chart.choices(rv) and "il6" in marker_chart.choices(rv)
    fig = marker_chart.markers_figure(rv, ["ifng", "crp"])
    assert titles(fig)[2:] == ["CRP mg/L"]


def test_il6_and_ferritin_are_on_log_axes_crp_and_fibrinogen_linear(demo_store):
    fig = marker_chart.markers_figure(rv_of(demo_store, "DEMO-002"), DEFAULT)
    assert [fig.layout[f"yaxis{i}"].type for i in range(3, 7)] == ["log", "linear", "log",
                                                                   "linear"]
    assert fig.layout.yaxis3.title.text == "log scale"


def test_the_reference_range_is_shaded_for_the_childs_age(demo_store):
    """DEMO-004 is 8 years old: the paediatric ferritin range 7-140 (decision M2)."""
    fig = marker_chart.markers_figure(rv_of(demo_store, "DEMO-004"), ["ferritin", "crp"])
    (band,) = [t for t in fig.data if t.name == "ferritin reference range"]
    assert band.fill == "toself" and sorted(set(band.y)) == [7, 140]
    (crp_band,) = [t for t in fig.data if t.name == "CRP reference range"]
    assert sorted(set(crp_band.y))[1] == 5  # 0-0.5 mg/dL, shown in mg/L as entered


def test_results_outside_the_range_are_drawn_in_a_stronger_colour(demo_store):
    fig = marker_chart.markers_figure(rv_of(demo_store, "DEMO-001"), ["crp"])
    crp = marker(fig, "CRP")
    colours = list(crp.marker.color)
    # CRP range 0-5 mg/L: 3.1 and 3.6 inside, 7.7 and 14 above
    by_value = dict(zip(crp.y, colours))
    assert by_value[3.1] == by_value[3.6] != marker_chart.OUTSIDE_COLOUR
    assert by_value[7.7] == by_value[14] == marker_chart.OUTSIDE_COLOUR


def test_hover_shows_value_unit_date_time_and_day_in_clinician_words(demo_store):
    rv = rv_of(demo_store, "DEMO-002")
    fig = marker_chart.markers_figure(rv, DEFAULT)
    crp = marker(fig, "CRP")
    first = crp.text[0]
    assert first.startswith("CRP 14 mg/L<br>") and "above the reference range (0–5 mg/L)" in first
    assert re.search(r"\d\d/\d\d/\d{4} 06:00 · Day -?\+?\d+", first)
    for t in fig.data:
        for text in (t.text or ()):
            assert not ISO.search(str(text)), text
            assert "il6" not in str(text) and "entered_value" not in str(text)


def test_days_in_the_hover_count_from_the_infusion(demo_store):
    rv = rv_of(demo_store, "DEMO-002")
    fig = marker_chart.markers_figure(rv, ["crp"])
    infusion = rv.patient["infusion_time"].astimezone(rv.tz).date()
    for x, text in zip(marker(fig, "CRP").x, marker(fig, "CRP").text):
        day = (x.date() - infusion).days
        assert (f"Day +{day}" if day > 0 else f"Day {day}") in text


def test_an_il6_after_tocilizumab_is_annotated_and_the_caption_names_the_source(demo_store):
    rv = rv_of(demo_store, "DEMO-002")
    fig = marker_chart.markers_figure(rv, DEFAULT)
    notes = [a for a in fig.layout.annotations if a.text and "after tocilizumab" in a.text]
    assert len(notes) == 1 and notes[0].showarrow and notes[0].yref == "y3"
    il6 = marker(fig, "IL-6")
    after = [t for t in il6.text if "taken after tocilizumab" in t]
    assert after and all("not by itself failure" in t for t in after)
    assert "310.0 pg/mL" in il6.text[2] and "after tocilizumab" not in il6.text[2]  # pre-dose
    captions = marker_chart.notes(rv, DEFAULT)
    assert any("Nishimoto N et al., Blood 2008;112:3959-64" in c for c in captions)
    # no tocilizumab (DEMO-001), or IL-6 not shown: no note
    assert len(marker_chart.notes(rv_of(demo_store, "DEMO-001"), DEFAULT)) == 1
    assert len(marker_chart.notes(rv, ["crp"])) == 1
    assert not [a for a in marker_chart.markers_figure(rv, ["crp"]).layout.annotations
                if a.text and "tocilizumab" in a.text]


def test_the_doses_are_marked_by_name_with_a_line_through_the_marker_rows(demo_store):
    rv = rv_of(demo_store, "DEMO-005")  # tocilizumab twice and dexamethasone
    fig = marker_chart.markers_figure(rv, ["il6", "crp"])
    doses = {t.name: t for t in fig.data if t.mode == "markers"}
    assert set(doses) == {"tocilizumab", "corticosteroid"}
    assert list(fig.layout.yaxis2.categoryarray) == ["corticosteroid", "tocilizumab"]
    toci = [m["given_at"] for m in rv.administrations if m["kind"] == "tocilizumab"]
    assert len(doses["tocilizumab"].x) == len(toci) == 2
    assert all(t.startswith("tocilizumab ") for t in doses["tocilizumab"].text)
    lines = [s for s in fig.layout.shapes if s.line.dash == "dot" and s.yref == "y3 domain"]
    assert len(lines) == len(doses["tocilizumab"].x) + len(doses["corticosteroid"].x)


def test_without_grades_the_panel_leaves_the_grade_row_out(demo_store):
    fig = marker_chart.markers_figure(rv_of(demo_store, "DEMO-003"), DEFAULT, grades=False)
    assert marker_chart.GRADES_TITLE not in titles(fig)
    assert not {"CRS grade", "ICANS grade"} & {t.name for t in fig.data}


def test_a_result_of_zero_on_a_log_axis_is_drawn_at_its_foot_never_dropped():
    from datetime import UTC, datetime, timedelta
    at = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
    labs = [{"test": "il6", "value": v, "unit": "pg/mL", "entered_value": v,
             "entered_unit": "pg/mL", "taken_at": at + timedelta(days=k)}
            for k, v in enumerate((0.0, 50.0))]
    rv = review.Review(patient={"infusion_time": at}, rows=[], ids=[], recorded={}, results=[],
                       unattributed=None, summary=None, administrations=[], attributions=[],
                       confirmations=[], notes=[], tocilizumab_given=[], tz=UTC, labs=labs)
    fig = marker_chart.markers_figure(rv, ["il6"], grades=False)
    il6 = marker(fig, "IL-6")
    assert len(il6.y) == 2 and 10 ** fig.layout.yaxis.range[0] < il6.y[0] < il6.y[1] == 50
    assert il6.text[0].startswith("IL-6 0.0 pg/mL<br>01/05/2026 06:00 · Day 0")
