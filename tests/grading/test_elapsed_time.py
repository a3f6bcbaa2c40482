"""Every duration is real time between instants, never the ward's wall clock (spec §0.3,
decision D9): each window, episode rule, course duration and scale rule of the engine, on both
sides of its boundary, across both daylight-saving changes of America/New_York.

Times are written as UTC instants; the ward zone is America/New_York, so the engine sees them
on a wall clock that jumps forward (8 March 2026, 02:00 EST -> 03:00 EDT) or back (1 November
2026, 02:00 EDT -> 01:00 EST) between the two assessments. Every case first checks that its two
times really show different wall-clock and real spans, so it cannot pass without crossing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import grading
from grading import guidance
from grading.instants import elapsed, instant
from grading.lab_scores import iechs
from grading.lab_scores.labs import LabValue
from monitoring import schedule
from tests.grading.helpers import grade_both, ice, normal_adult
from tests.grading.scale_helpers import NO_ORGAN_TOXICITY, findings

NY = "America/New_York"
ZONE = ZoneInfo(NY)
# the instants the clocks change
CHANGES = {"spring_forward": datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
           "fall_back": datetime(2026, 11, 1, 6, 0, tzinfo=UTC)}
MINUTE = timedelta(minutes=1)
H = timedelta(hours=1)


def text(t: datetime) -> str:
    return t.isoformat()


def wall_span(a: datetime, b: datetime) -> timedelta:
    """The span a wall clock in the ward shows between two instants."""
    return b.astimezone(ZONE).replace(tzinfo=None) - a.astimezone(ZONE).replace(tzinfo=None)


def crossing(change: str, span: timedelta, before: timedelta) -> tuple[datetime, datetime]:
    """Two instants ``span`` apart, the first ``before`` the clock change; asserts that the
    ward's wall clock shows another span between them (one hour more or less)."""
    a = CHANGES[change] - before
    b = a + span
    assert abs(wall_span(a, b) - span) == H, "the case does not cross the clock change"
    return a, b


def row(t: datetime, **changes: object) -> dict[str, object]:
    return normal_adult(time=text(t), **changes)


def scale_row(t: datetime, **changes: object) -> dict[str, object]:
    return normal_adult(time=text(t), **(NO_ORGAN_TOXICITY | changes))


def graded(rows: Sequence[dict[str, object]]) -> list[grading.RowResult]:
    return grade_both(rows, tz=NY)  # the compiled pass and the row-wise reference agree


def scales(rows: Sequence[dict[str, object]], names: Sequence[str]) -> dict[str, object]:
    return grading.grade_scales(grading.from_rows(rows, tz=NY), names)[-1]


BOTH = pytest.mark.parametrize("change", list(CHANGES))


# ------------------------------------------------------------------ ASTCT windows and episodes
# (name, span, inside the window?, rows builder, what the last row shows)
def _vitals(a: datetime, b: datetime) -> object:  # D1: a temperature counts for 4 h
    return graded([row(a, temp_c=38.6), row(b, temp_c=None)])[-1].crs.grade


def _neuro(a: datetime, b: datetime) -> object:  # D2: an ICE counts for 12 h
    r = graded([row(a, **ice(5)), row(b, consciousness=None, **{k: None for k in ice(0)})])[-1]
    return r.icans.grade


def _crs_episode(a: datetime, b: datetime) -> object:  # C6: open while <= 48 h since a finding
    r = graded([row(a, temp_c=38.6), row(b, o2_device="nasal_cannula", o2_flow_l_min=2)])[-1]
    return r.crs_episode_max, r.crs.grade


def _icans_episode(a: datetime, b: datetime) -> object:  # S1: the same 48 h for ICANS
    return graded([row(a, **ice(5)), row(b)])[-1].icans_episode_max


WINDOWS: dict[str, tuple[timedelta, Callable[[datetime, datetime], object], object, object]] = {
    # name: (boundary, what the last row shows at the boundary, and one minute after it)
    "vitals_4h": (4 * H, _vitals, 1, None),
    "neuro_12h": (12 * H, _neuro, 2, 0),
    "crs_episode_48h": (48 * H, _crs_episode, (2, 2), (None, 0)),
    "icans_episode_48h": (48 * H, _icans_episode, 2, None),
}


@BOTH
@pytest.mark.parametrize("name", list(WINDOWS))
def test_a_window_ends_after_its_real_length_across_a_clock_change(change, name):
    boundary, show, at_boundary, after = WINDOWS[name]
    a, b = crossing(change, boundary, before=2 * H)
    assert show(a, b) == at_boundary, f"{name}: exactly {boundary} of real time still counts"
    a, b = crossing(change, boundary + MINUTE, before=2 * H)
    assert show(a, b) == after, f"{name}: one minute more no longer counts"


@BOTH
def test_a_vital_sign_4_hours_by_the_wall_clock_but_not_in_real_time_is_judged_by_real_time(
        change):
    # spring forward: 3.5 h real is 4.5 h on the wall; fall back: 4.5 h real is 3.5 h on it
    span = 3.5 * H if change == "spring_forward" else 4.5 * H
    a, b = crossing(change, span, before=H)
    expected = 1 if span <= 4 * H else None
    assert _vitals(a, b) == expected


# ------------------------------------------------------------------ the course summary
@BOTH
@pytest.mark.parametrize("syndrome, finding", [("crs", {"temp_c": 38.6}), ("icans", ice(5))])
def test_episode_duration_and_time_to_resolution_are_real_hours(change, syndrome, finding):
    """The review's case: an 11 h episode across the change reported 12 h."""
    onset, resolved = crossing(change, 11 * H, before=5 * H)
    rows = [row(onset, **finding), row(resolved), row(resolved + 50 * H)]
    graded(rows)
    (s,) = grading.summarize(grading.grade(grading.from_rows(rows, tz=NY)))
    (episode,) = getattr(s, f"{syndrome}_episodes")
    assert instant(episode.resolved) == resolved
    assert episode.duration_hours == 11.0
    assert s.time_to_resolution_hours(syndrome) == 11.0
    assert s.as_dict()[f"{syndrome}_time_to_resolution_hours"] == 11.0


@BOTH
@pytest.mark.parametrize("span, current", [(72 * H, True), (72 * H + MINUTE, False)])
def test_a_lab_counts_for_72_real_hours_in_the_iechs_screen(change, span, current):
    taken, now = (t.astimezone(ZONE) for t in crossing(change, span, before=2 * H))
    s = iechs.screen([LabValue("fibrinogen", 100, taken)], now, None, None)
    fibrinogen = next(f for f in s.features if f.name == "fibrinogen")
    assert fibrinogen.present is (True if current else None)


@BOTH
def test_the_day_after_infusion_stays_a_calendar_day_in_the_ward_zone(change):
    # infusion at 23:00 local the evening before the change: 23:30 local the next evening is
    # day 1 (23.5 real hours later in spring, 25.5 in autumn), 00:30 local after it day 2
    day0 = CHANGES[change].astimezone(ZONE).date() - timedelta(days=1)
    infusion = datetime.combine(day0, datetime.min.time(), ZONE).replace(hour=23)
    evening = datetime.combine(day0 + timedelta(days=1), datetime.min.time(), ZONE).replace(
        hour=23, minute=30)
    morning = datetime.combine(day0 + timedelta(days=2), datetime.min.time(), ZONE).replace(
        minute=30)
    assert elapsed(evening, infusion) != timedelta(hours=24, minutes=30)  # a DST day
    rows = [row(t.astimezone(UTC), infusion_time=text(infusion.astimezone(UTC)))
            for t in (infusion + 30 * MINUTE, evening, morning)]
    assert [r.day_post_infusion for r in graded(rows)] == [0, 1, 2]


# ------------------------------------------------------------------ the other scales
HIGH = {"temp_c": 38.6, "sbp_mmhg": 80, "dbp_mmhg": 50, "vasopressors": "norepinephrine",
        "norepinephrine_ug_min": 25}


@BOTH
@pytest.mark.parametrize("span, expected", [
    (3 * H, {"lee2014": 3, "penn": 4, "cartox": 3}),
    (3 * H - MINUTE, {"lee2014": 2, "penn": 3, "cartox": 2}),
])
def test_a_high_dose_counts_after_3_real_hours(change, span, expected):
    a, b = crossing(change, span, before=H)
    rows = [scale_row(a, **HIGH), scale_row(b, **HIGH)]
    graded(rows)
    got = scales(rows, list(expected))
    assert {n: g.grade for n, g in got.items()} == expected
    if span < 3 * H:  # provisional, naming the real instant it would count from
        counts_from = (a + 3 * H).astimezone(ZONE).isoformat(timespec="minutes")
        for g in got.values():
            assert g.status == "provisional"
            assert f"counts as high-dose from {counts_from}" in findings(g), findings(g)


@BOTH
def test_two_and_a_half_real_hours_are_not_three_on_either_clock_change(change):
    """The review's case: 2.5 real hours read as 3.5 in spring gave Lee 3, Penn 4, CARTOX 3."""
    a, b = crossing(change, 2.5 * H, before=H)
    got = scales([scale_row(a, **HIGH), scale_row(b, **HIGH)], ["lee2014", "penn", "cartox"])
    assert {n: g.grade for n, g in got.items()} == {"lee2014": 2, "penn": 3, "cartox": 2}


LOW_DOSE = {"temp_c": 38.6, "vasopressors": "norepinephrine", "norepinephrine_ug_min": 5}


@BOTH
@pytest.mark.parametrize("span, expected", [(24 * H, 3), (24 * H - MINUTE, 2),
                                            (24.5 * H, 3)])
def test_mskcc_counts_24_real_hours_on_vasopressors(change, span, expected):
    a, b = crossing(change, span, before=3 * H)
    rows = [scale_row(a, **LOW_DOSE), scale_row(b, **LOW_DOSE)]
    assert scales(rows, ["mskcc"])["mskcc"].grade == expected


@BOTH
@pytest.mark.parametrize("gap, expected", [(48 * H, 3), (48 * H + MINUTE, 2)])
def test_mskcc_starts_a_new_count_after_more_than_48_real_hours_off_vasopressors(change, gap,
                                                                                 expected):
    stopped, restarted = crossing(change, gap, before=7 * H)
    start, now = stopped - 23 * H, restarted + H
    rows = [scale_row(start, **LOW_DOSE), scale_row(stopped, vasopressors="none"),
            scale_row(restarted, **LOW_DOSE), scale_row(now, **LOW_DOSE)]
    # 23 h + 1 h in one episode is 24 h (grade 3); a new episode has 1 h (grade 2)
    assert scales(rows, ["mskcc"])["mskcc"].grade == expected


@BOTH
@pytest.mark.parametrize("span, counted", [(24 * H, True), (24 * H + MINUTE, False)])
def test_penn_looks_back_24_real_hours(change, span, counted):
    a, b = crossing(change, span, before=2 * H)
    iv = scales([scale_row(a, temp_c=38.6, iv_therapy_given=True), scale_row(b, temp_c=38.6)],
                ["penn"])["penn"]
    assert iv.grade == (2 if counted else 1)
    coag = scales([scale_row(a, temp_c=38.6, coagulopathy_products_given=True),
                   scale_row(b, temp_c=38.6)], ["penn"])["penn"]
    assert coag.grade == (3 if counted else 1)
    boluses = scales([scale_row(a, temp_c=38.6, fluid_bolus_given=True),
                      scale_row(b, temp_c=38.6, fluid_bolus_given=True)], ["penn"])["penn"]
    assert boluses.grade == (3 if counted else 2)  # multiple boluses in 24 h (X17) or one


# ------------------------------------------------------------------ guidance and the schedule
@BOTH
@pytest.mark.parametrize("span, in_24h", [(24 * H - MINUTE, 1), (24 * H, 0)])
def test_tocilizumab_doses_in_the_last_24_real_hours(change, span, in_24h):
    given, now = (t.astimezone(ZONE) for t in crossing(change, span, before=2 * H))
    assert guidance.tocilizumab_count([given], now).last_24h == in_24h


@BOTH
@pytest.mark.parametrize("span, warned", [(8 * H - MINUTE, True), (8 * H, False)])
def test_tocilizumab_doses_8_real_hours_apart(change, span, warned):
    given, now = (t.astimezone(ZONE) for t in crossing(change, span, before=2 * H))
    warnings = guidance.tocilizumab_count([given], now).warnings
    assert any(w.startswith("last dose") for w in warnings) == warned


@BOTH
def test_the_next_observations_are_due_after_real_hours(change):
    last = (CHANGES[change] - H).astimezone(ZONE)
    due = schedule.due(last, last, crs_grade=0, icans_grade=0)
    assert due.vitals_due == CHANGES[change] + 3 * H  # 4 h after, as instants
    assert due.neuro_due == CHANGES[change] + 7 * H   # 8 h after
    assert due.vitals_due.utcoffset() != last.utcoffset()  # shown in the ward zone


# ------------------------------------------------------------------ the repeated hour
def test_two_assessments_in_the_repeated_hour_of_a_fall_back_night_keep_their_real_order():
    # 01:30 EDT then 01:10 EST: the second is 40 minutes later though its wall clock is earlier
    first, second = CHANGES["fall_back"] - 30 * MINUTE, CHANGES["fall_back"] + 10 * MINUTE
    assert wall_span(first, second) < timedelta(0)
    rows = [row(second, **{k: None for k in ice(0)}, capd_total=12, age_years=8),
            row(first, age_years=8, **ice(10))]  # file order reversed on purpose
    results = graded(rows)
    # the CAPD (recorded later in real time) is the current cognitive score: grade 3 (>= 9)
    assert results[0].icans.grade == 3
    assert results[1].icans.grade == 0


def test_an_ice_in_the_repeated_hour_before_the_infusion_is_the_baseline():
    ice_at, infusion = CHANGES["fall_back"] - 20 * MINUTE, CHANGES["fall_back"] + 5 * MINUTE
    assert wall_span(ice_at, infusion) < timedelta(0)  # 01:40 EDT, then 01:05 EST
    rows = [row(ice_at, infusion_time=text(infusion), **ice(8)),
            row(infusion + 2 * H, **ice(8))]
    later = graded(rows)[-1]
    assert "baseline_deficit" in {f.code for f in later.icans.flags}
