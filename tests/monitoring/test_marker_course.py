"""Each marker's course (issue 20 point 3; decisions R6-R9): baseline before lymphodepletion or
before infusion, the peak (the lowest for fibrinogen and the blood counts) with its time and
day after infusion, the fold change from baseline, the latest; corrections respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.lab_scores.units import ANALYTES
from monitoring.marker_course import (
    LOWEST_IS_WORST,
    current_labs,
    fold_change,
    fold_words,
    marker_courses,
    number,
)

INFUSION = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)          # Day 0
LYMPHODEPLETION = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)     # Day -5
LONDON = ZoneInfo("Europe/London")


def lab(test: str, value: float, at: datetime, **more: object) -> dict[str, object]:
    return {"test": test, "value": value, "taken_at": at, **more}


def day(n: int, hour: int = 6) -> datetime:
    return datetime(2026, 3, 6, hour, 0, tzinfo=UTC) + timedelta(days=n)


# A synthetic CRS course with real values: IL-6 and CRP rise with CRS on day +2, ferritin
# climbs until day +4, fibrinogen falls to its lowest on day +3.
COURSE = [
    lab("il6", 6.2, LYMPHODEPLETION - timedelta(hours=2)),   # before lymphodepletion
    lab("il6", 9.0, day(-1)),                                # after it, before infusion
    lab("il6", 48.0, day(1)),
    lab("il6", 1850.0, day(2, 14)),
    lab("il6", 1850.0, day(3)),                              # the same again: not the peak time
    lab("il6", 410.0, day(5)),
    lab("crp", 0.8, LYMPHODEPLETION - timedelta(days=1)),
    lab("crp", 12.4, day(2)),
    lab("crp", 21.7, day(3)),
    lab("crp", 9.1, day(6)),
    lab("ferritin", 420.0, LYMPHODEPLETION - timedelta(hours=3)),
    lab("ferritin", 3900.0, day(2)),
    lab("ferritin", 12600.0, day(4)),
    lab("ferritin", 8100.0, day(7)),
    lab("fibrinogen", 380.0, LYMPHODEPLETION - timedelta(hours=3)),
    lab("fibrinogen", 210.0, day(2)),
    lab("fibrinogen", 95.0, day(3)),
    lab("fibrinogen", 160.0, day(5)),
]


def by_key(labs, infusion=INFUSION, lymphodepletion=LYMPHODEPLETION, tz=UTC):
    return {m.key: m for m in marker_courses(labs, infusion, lymphodepletion, tz)}


@pytest.mark.parametrize(
    ("key", "baseline", "peak", "peak_at", "peak_day", "fold", "latest", "extreme"), [
        ("il6", 6.2, 1850.0, day(2, 14), 2, 1850.0 / 6.2, 410.0, "peak"),
        ("crp", 0.8, 21.7, day(3), 3, 21.7 / 0.8, 9.1, "peak"),
        ("ferritin", 420.0, 12600.0, day(4), 4, 30.0, 8100.0, "peak"),
        ("fibrinogen", 380.0, 95.0, day(3), 3, 0.25, 160.0, "lowest"),
    ])
def test_a_synthetic_crs_course_gives_baseline_peak_day_fold_and_latest(
        key, baseline, peak, peak_at, peak_day, fold, latest, extreme):
    m = by_key(COURSE)[key]
    assert m.baseline is not None and m.baseline.value == baseline
    assert m.baseline_basis == "lymphodepletion"
    assert m.peak is not None and (m.peak.value, m.peak.time, m.peak.day) == (
        peak, peak_at, peak_day)
    assert m.fold == pytest.approx(fold)
    assert m.latest.value == latest
    assert m.extreme == extreme


def test_the_markers_come_in_the_order_of_the_analyte_table_and_only_with_a_result():
    keys = [m.key for m in marker_courses(COURSE, INFUSION, LYMPHODEPLETION, UTC)]
    assert keys == [k for k in ANALYTES if k in {"il6", "crp", "ferritin", "fibrinogen"}]


def test_the_counts_and_fibrinogen_are_the_markers_whose_lowest_value_is_shown():
    """Decision M3 / R7, from the one analyte table."""
    assert {"fibrinogen", "platelets", "haemoglobin", "anc", "wbc",
                               "lymphocytes"} == LOWEST_IS_WORST


@pytest.mark.parametrize("key", sorted(LOWEST_IS_WORST))
def test_for_a_fall_marker_the_lowest_value_after_infusion_is_the_extreme(key):
    m = by_key([lab(key, 5.0, day(-6)), lab(key, 4.0, day(1)), lab(key, 0.5, day(2)),
                lab(key, 3.0, day(4))])[key]
    assert (m.extreme, m.peak.value, m.peak.day) == ("lowest", 0.5, 2)
    assert m.extreme_words == "lowest after infusion"


# ------------------------------------------------------------------ the baseline (R6)
def test_the_baseline_is_the_latest_result_at_or_before_the_lymphodepletion_start():
    m = by_key([lab("crp", 1.0, LYMPHODEPLETION - timedelta(days=2)),
                lab("crp", 1.4, LYMPHODEPLETION),           # at the start: still before it
                lab("crp", 3.0, LYMPHODEPLETION + timedelta(minutes=1)),
                lab("crp", 9.0, day(1))])["crp"]
    assert (m.baseline.value, m.baseline_basis) == (1.4, "lymphodepletion")


def test_a_result_more_than_seven_days_before_lymphodepletion_is_not_its_baseline():
    just_in = by_key([lab("crp", 1.0, LYMPHODEPLETION - timedelta(days=7))])["crp"]
    assert just_in.baseline_basis == "lymphodepletion"
    too_old = by_key([lab("crp", 1.0, LYMPHODEPLETION - timedelta(days=7, minutes=1)),
                      lab("crp", 2.5, day(-1)), lab("crp", 20.0, day(2))])["crp"]
    assert (too_old.baseline.value, too_old.baseline_basis) == (2.5, "infusion")
    assert too_old.fold == pytest.approx(8.0)


def test_without_a_lymphodepletion_start_the_baseline_is_the_latest_before_infusion():
    m = by_key([lab("il6", 3.0, day(-3)), lab("il6", 4.0, INFUSION),
                lab("il6", 400.0, INFUSION + timedelta(minutes=1))],
               lymphodepletion=None)["il6"]
    assert (m.baseline.value, m.baseline_basis, m.baseline.day) == (4.0, "infusion", 0)
    assert (m.peak.value, m.fold) == (400.0, 100.0)


def test_a_result_more_than_fourteen_days_before_infusion_is_no_baseline():
    m = by_key([lab("il6", 3.0, INFUSION - timedelta(days=14, minutes=1)),
                lab("il6", 30.0, day(1))], lymphodepletion=None)["il6"]
    assert (m.baseline, m.baseline_basis, m.fold) == (None, None, None)
    on_edge = by_key([lab("il6", 3.0, INFUSION - timedelta(days=14)),
                      lab("il6", 30.0, day(1))], lymphodepletion=None)["il6"]
    assert on_edge.fold == pytest.approx(10.0)


def test_without_an_infusion_time_there_is_no_peak_and_no_day():
    m = by_key([lab("crp", 2.0, day(-2)), lab("crp", 8.0, day(1))], infusion=None,
               lymphodepletion=None)["crp"]
    assert (m.baseline, m.peak, m.fold, m.latest.day) == (None, None, None, None)
    assert m.latest.value == 8.0


def test_only_results_before_infusion_give_a_baseline_and_no_peak_yet():
    m = by_key([lab("ferritin", 500.0, day(-2))])["ferritin"]
    assert (m.baseline.value, m.peak, m.fold, m.latest.value) == (500.0, None, None, 500.0)


# ------------------------------------------------------------------ the fold change (R8)
@pytest.mark.parametrize(("peak", "base", "fold"), [
    (100.0, 4.0, 25.0), (2.0, 8.0, 0.25), (5.0, 5.0, 1.0), (7.0, 0.0, None),
    (None, 3.0, None), (3.0, None, None)])
def test_the_fold_change_is_peak_over_baseline_and_none_without_a_ratio(peak, base, fold):
    assert fold_change(peak, base) == fold


def test_a_baseline_of_zero_gives_no_fold_change():
    m = by_key([lab("il6", 0.0, day(-6)), lab("il6", 120.0, day(2))])["il6"]
    assert (m.baseline.value, m.peak.value, m.fold) == (0.0, 120.0, None)


@pytest.mark.parametrize(("fold", "words"), [
    (1850 / 6.2, "298× baseline"), (0.25, "0.25× baseline"), (30.0, "30× baseline"),
    (None, "")])
def test_the_fold_change_reads_with_three_figures(fold, words):
    assert fold_words(fold) == words


# ------------------------------------------------------------------ corrections (R9)
def test_an_entered_in_error_result_is_left_out_and_an_amended_one_counts_as_amended():
    history = [
        lab("il6", 9000.0, day(2), id=1, status="final"),           # marked in error below
        lab("il6", 9000.0, day(2), id=2, status="entered_in_error", replaces_id=1),
        lab("il6", 200.0, day(3), id=3, status="final"),            # amended below
        lab("il6", 250.0, day(3), id=4, status="final", replaces_id=3),
        lab("il6", 5.0, day(-6), id=5, status="final"),
    ]
    assert [r["id"] for r in current_labs(history)] == [4, 5]
    m = by_key(history)["il6"]
    assert (m.peak.value, m.baseline.value, m.fold, m.results) == (250.0, 5.0, 50.0, 2)


def test_a_marker_whose_every_result_was_entered_in_error_is_not_shown():
    history = [lab("crp", 9.0, day(1), id=1), lab("crp", 9.0, day(1), id=2,
                                                  status="entered_in_error", replaces_id=1)]
    assert marker_courses(history, INFUSION, LYMPHODEPLETION, UTC) == ()


def test_the_day_after_infusion_is_the_ward_calendar_day():
    """Infusion at 23:30 London time on 6 March: a sample 01:00 the next morning is Day +1."""
    infusion = datetime(2026, 3, 6, 23, 30, tzinfo=LONDON)
    m = by_key([lab("crp", 3.0, datetime(2026, 3, 7, 1, 0, tzinfo=LONDON))],
               infusion=infusion, lymphodepletion=None, tz=LONDON)["crp"]
    assert m.peak.day == 1


# ------------------------------------------------------------------ properties
values = st.floats(min_value=0.0, max_value=1e5, allow_nan=False, allow_infinity=False)
hours = st.integers(min_value=-24 * 13, max_value=24 * 20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, hours), min_size=1, max_size=25),
       st.sampled_from(["il6", "crp", "fibrinogen", "platelets"]))
def test_the_peak_is_the_extreme_of_every_result_after_infusion_and_fold_is_its_ratio(
        results, key):
    labs = [lab(key, v, INFUSION + timedelta(hours=h)) for v, h in results]
    m = by_key(labs, lymphodepletion=None)[key]
    after = [v for v, h in results if h > 0]
    if not after:
        assert m.peak is None
    elif key in LOWEST_IS_WORST:
        assert all(m.peak.value <= v for v in after)
        assert m.peak.value in after
    else:
        assert all(m.peak.value >= v for v in after)
        assert m.peak.value in after
    if m.peak is not None and m.baseline is not None and m.baseline.value != 0:
        assert m.fold == pytest.approx(m.peak.value / m.baseline.value)
    else:
        assert m.fold is None
    assert m.latest.time == max(INFUSION + timedelta(hours=h) for _, h in results)
    assert m.results == len(results)


@pytest.mark.parametrize(("value", "words"), [
    (89 / 88.4, "1.01"), (1.52715, "1.53"), (0.95, "0.95"), (21.7, "21.7"), (139.0, "139"),
    (999.0, "999"), (1180.0, "1180"), (12600.0, "12600"), (45678.0, "45678"), (0.0123, "0.0123"),
    (0.0, "0")])
def test_a_value_reads_with_three_figures_and_thousands_whole(value, words):
    assert number(value) == words
