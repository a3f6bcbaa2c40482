"""Ward lab scores (spec §5.2-§5.5, §6.3): spec §8 cases E1, E2, H1, I1, I2, I3, and both sides
of every threshold — EASIX platelets 0 and the 4.67 cut-off, each CAR-HEMATOTOX cut-off with its
default and a changed boundary rule, the ICAHT day counts and recovery rule, the late-ICAHT
nadir bands and measurement count, the IEC-HS prompt."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from grading.lab_scores import LabValue, lab_panel
from grading.lab_scores.easix import easix_at
from grading.lab_scores.hematotox import hematotox
from grading.lab_scores.icaht import early_icaht, late_icaht
from grading.lab_scores.iechs import screen
from grading.lab_scores.units import LabUnitError, to_canonical

INFUSION = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def on_day(day: float, hour: int = 8) -> datetime:
    return INFUSION.replace(hour=hour) + timedelta(days=day)


def lab(test: str, value: float, day: float = -6, hour: int = 8) -> LabValue:
    return LabValue(test, value, on_day(day, hour))


def anc(days: dict[int, float]) -> list[LabValue]:
    return [lab("anc", v, d) for d, v in days.items()]


def run_of(first: int, last: int, value: float) -> dict[int, float]:
    return dict.fromkeys(range(first, last + 1), value)


# ------------------------------------------------------------------------------ units §6.3
@pytest.mark.parametrize(("test", "value", "unit", "canonical"), [
    ("creatinine", 88.4, "µmol/L", 1.0), ("crp", 50, "mg/L", 5.0),
    ("platelets", 150_000, "/µL", 150.0), ("anc", 1.2, "10^9/L", 1200.0),
    ("haemoglobin", 90, "g/L", 9.0), ("haemoglobin", 5.0, "mmol/L", 8.055),
    ("ferritin", 700, "µg/L", 700.0), ("fibrinogen", 1.5, "g/L", 150.0),
    ("ldh", 5, "µkat/L", 300.0), ("alt", 80, "IU/L", 80.0)])
def test_every_unit_of_spec_6_3_converts_to_the_canonical_unit(test, value, unit, canonical):
    assert to_canonical(test, value, unit) == pytest.approx(canonical)


def test_an_unknown_unit_is_refused_naming_the_allowed_ones():
    with pytest.raises(LabUnitError, match="mg/dL, mg/L"):
        to_canonical("crp", 5, "mmol/L")


# ------------------------------------------------------------------------------ EASIX §5.2
def easix(score: str, *labs: LabValue):
    return easix_at(labs, score, on_day(-5), on_day(-12), cutoff=True)


def test_spec_e1_easix_is_4_with_log2_2_and_not_above_4_67():
    creatinine = to_canonical("creatinine", 88.4, "µmol/L")
    e = easix("easix", lab("ldh", 400), lab("creatinine", creatinine), lab("platelets", 100))
    assert (e.value, e.log2, e.above_cutoff) == (pytest.approx(4.0), pytest.approx(2.0), False)


def test_spec_e2_modified_easix_with_crp_50_mg_l_is_25():
    crp = to_canonical("crp", 50, "mg/L")
    e = easix("m_easix", lab("ldh", 300), lab("crp", crp), lab("platelets", 60))
    assert e.value == pytest.approx(25.0)


def test_simplified_easix_is_ldh_over_platelets():
    assert easix("s_easix", lab("ldh", 300), lab("platelets", 60)).value == pytest.approx(5.0)


@pytest.mark.parametrize(("ldh", "above"), [(467, False), (468, True)])
def test_easix_above_4_67_before_lymphodepletion_and_not_at_it(ldh, above):
    e = easix("easix", lab("ldh", ldh), lab("creatinine", 1.0), lab("platelets", 100))
    assert e.above_cutoff is above and math.isclose(e.value, ldh / 100)


@pytest.mark.parametrize("platelets", [0, 0.0])
def test_easix_with_platelets_0_is_not_evaluable_never_infinite(platelets):
    e = easix("easix", lab("ldh", 400), lab("creatinine", 1.0), lab("platelets", platelets))
    assert e.value is None and "platelets 0" in e.note


def test_easix_with_a_lab_missing_names_it():
    e = easix("easix", lab("ldh", 400), lab("platelets", 100))
    assert e.value is None and "creatinine" in e.note


def test_the_panel_uses_labs_before_the_recorded_lymphodepletion_only():
    start = on_day(-5, hour=9)
    labs = [lab("ldh", 400, -5, 7), lab("creatinine", 1.0, -6), lab("platelets", 100, -5, 7),
            lab("platelets", 20, -5, 10),       # after lymphodepletion began: not used
            lab("ldh", 900, -13)]               # more than 7 days before: not used
    p = lab_panel(labs, on_day(2), UTC, INFUSION, start)
    base = dict(p.easix)[p.baseline]
    assert base[0].value == pytest.approx(4.0)
    assert "lymphodepletion started" in p.baseline.note


def test_without_a_recorded_lymphodepletion_labs_up_to_the_end_of_day_minus_5_are_used():
    labs = [lab("ldh", 400, -5, 23), lab("creatinine", 1.0, -5), lab("platelets", 100, -5),
            lab("ldh", 1000, -4, 0)]
    p = lab_panel(labs, on_day(2), UTC, INFUSION)
    assert dict(p.easix)[p.baseline][0].value == pytest.approx(4.0)
    assert "not recorded" in p.baseline.note


# ------------------------------------------------------------------------------ CAR-HEMATOTOX
def ht(platelets=200, anc_=1500, hb=12, crp=1, ferritin=300, boundaries=None):
    picked = {"platelets": lab("platelets", platelets), "anc": lab("anc", anc_),
              "haemoglobin": lab("haemoglobin", hb), "crp": lab("crp", crp),
              "ferritin": lab("ferritin", ferritin)}
    return hematotox(picked, boundaries)


def test_spec_h1_hematotox_is_7_and_high_risk():
    """Platelets 60, ANC 1.0 x 10^9/L, Hb 8.5, CRP 4.0 mg/dL, ferritin 2500: 2+1+1+1+2."""
    h = ht(60, to_canonical("anc", 1.0, "10^9/L"), 8.5, 4.0, 2500)
    assert (h.score, h.high_risk) == (7, True)
    assert [p for _, _, p in h.items] == [2, 1, 1, 1, 2]


@pytest.mark.parametrize(("values", "points"), [
    (dict(platelets=176), 0), (dict(platelets=175), 1), (dict(platelets=76), 1),
    (dict(platelets=75), 1), (dict(platelets=74), 2),
    (dict(anc_=1201), 0), (dict(anc_=1200), 0), (dict(anc_=1199), 1),
    (dict(hb=9.1), 0), (dict(hb=9.0), 0), (dict(hb=8.9), 1),
    (dict(crp=2.9), 0), (dict(crp=3.0), 0), (dict(crp=3.1), 1),
    (dict(ferritin=649), 0), (dict(ferritin=650), 1), (dict(ferritin=2000), 1),
    (dict(ferritin=2001), 2)])
def test_each_hematotox_cut_off_on_both_sides_with_the_default_boundary_rule(values, points):
    assert ht(**values).score == points


def test_a_site_may_move_a_boundary_value_to_the_other_side():
    assert ht(anc_=1200, boundaries={("anc", 1200): True}).score == 1
    assert ht(platelets=75, boundaries={("platelets", 75): True}).score == 2
    assert ht(ferritin=650, boundaries={("ferritin", 650): False}).score == 0


@pytest.mark.parametrize(("values", "high"), [(dict(platelets=100), False),
                                              (dict(platelets=100, crp=4), True)])
def test_hematotox_1_is_low_risk_and_2_is_high_risk(values, high):
    assert ht(**values).high_risk is high


def test_a_missing_hematotox_variable_is_not_evaluable_unless_the_rest_is_already_high():
    picked = {"platelets": lab("platelets", 200), "anc": lab("anc", 1500),
              "haemoglobin": lab("haemoglobin", 12), "crp": lab("crp", 1), "ferritin": None}
    h = hematotox(picked)
    assert (h.score, h.high_risk) == (None, None) and "ferritin" in h.note
    h = hematotox(picked | {"platelets": lab("platelets", 60)})
    assert (h.score, h.high_risk) == (None, True) and "at least 2" in h.note


# ------------------------------------------------------------------------------ early ICAHT
def early(days: dict[int, float], today: int = 40, interpolate: bool = False):
    return early_icaht(anc(days), INFUSION, UTC, today, interpolate)


def test_spec_i1_anc_500_or_less_for_14_days_is_grade_3():
    g = early({0: 2000, 1: 1500, 2: 900, **run_of(3, 16, 300), **run_of(17, 30, 1200)})
    assert (g.grade, g.provisional, g.run_500.days) == (3, False, 14)


def test_spec_i2_a_two_day_recovery_does_not_break_the_run():
    days = {**run_of(0, 1, 1500), **run_of(2, 8, 400), 9: 600, 10: 600, **run_of(11, 15, 400),
            **run_of(16, 30, 1500)}
    g = early(days)
    assert (g.run_500.first, g.run_500.last, g.run_500.days, g.grade) == (2, 15, 14, 3)


def test_a_three_day_recovery_ends_the_run():
    days = {**run_of(2, 8, 400), **run_of(9, 11, 600), **run_of(12, 15, 400),
            **run_of(16, 30, 1500)}
    g = early(days)
    assert (g.run_500.days, g.grade) == (7, 2)


@pytest.mark.parametrize(("last", "grade"), [(7, 1), (8, 2), (14, 2), (15, 3)])
def test_6_days_is_grade_1_7_is_2_13_is_2_and_14_is_3(last, grade):
    g = early({**run_of(2, last, 450), **run_of(last + 1, 30, 1500)})
    assert g.grade == grade


@pytest.mark.parametrize(("value", "grade"), [(500, 1), (501, 0)])
def test_an_anc_of_exactly_500_counts_and_501_does_not(value, grade):
    assert early({0: 1500, 3: value, **run_of(4, 30, 1500)}).grade == grade


@pytest.mark.parametrize(("days_100", "grade"), [(6, 2), (7, 3), (13, 3), (14, 4)])
def test_anc_100_or_less_for_7_days_is_grade_3_and_for_14_days_grade_4(days_100, grade):
    days = {**run_of(2, 2 + days_100 - 1, 100), **run_of(2 + days_100, 30, 1500)}
    days[1] = 450  # the <= 500 run is days_100 + 1 days
    assert early(days).grade == max(grade, 1 if days_100 + 1 < 7 else 2)


@pytest.mark.parametrize(("value", "grade_100", "grade"), [(100, 3, 3), (101, 0, 2)])
def test_an_anc_of_exactly_100_counts_for_the_100_column_and_101_does_not(value, grade_100,
                                                                          grade):
    """7 days at the value: <= 500 for 7 days is grade 2 either way; <= 100 for 7 days is 3."""
    g = early({0: 1500, **run_of(1, 7, value), **run_of(8, 30, 1500)})
    assert (g.grade_500, g.grade_100, g.grade, g.provisional) == (2, grade_100, grade, False)


def read(g) -> str:
    return "\n".join(g.reasons)


# ------------------------------------------------------------------ early ICAHT: sparse ANC
@pytest.mark.parametrize(("days", "today", "unmeasured", "gap"), [
    ({0: 3000}, 40, 30, 30),                          # one ANC on day 0
    ({0: 3000, 30: 3000}, 40, 29, 29),                 # days 0 and 30 only
    ({**run_of(0, 16, 3000), **run_of(18, 30, 3000)}, 40, 1, 1),   # day 17 missing
    ({**run_of(0, 9, 3000)}, 10, 1, 1),                # the open window counts up to today
], ids=["day 0 only", "days 0 and 30", "one day missing", "today not yet measured"])
def test_days_without_an_anc_make_grade_0_provisional_naming_how_many_and_the_longest_gap(
        days, today, unmeasured, gap):
    g = early(days, today=today)
    assert (g.grade, g.provisional) == (0, True)
    assert (g.unmeasured_days, g.longest_gap) == (unmeasured, gap)
    assert (f"no ANC on {unmeasured} day{'s' if unmeasured > 1 else ''} (longest gap {gap} "
            f"day{'s' if gap > 1 else ''}): a neutropenia could be missed") in read(g)


@pytest.mark.parametrize(("days", "today"), [(run_of(0, 30, 3000), 40), (run_of(0, 10, 3000), 10)],
                         ids=["every day to day 30", "every day to today"])
def test_an_anc_on_every_day_of_the_window_names_no_missing_day(days, today):
    g = early(days, today=today)
    assert (g.grade, g.unmeasured_days) == (0, 0)
    assert "no ANC on" not in read(g)
    assert g.provisional is (today <= 30)  # the window still open: provisional, for that reason


def test_a_grade_0_with_an_anc_on_every_day_to_day_30_is_final():
    assert (early(run_of(0, 30, 3000)).grade, early(run_of(0, 30, 3000)).provisional) == (
        0, False)


def test_a_grade_4_stays_final_whatever_days_are_missing():
    g = early({0: 1500, **run_of(2, 20, 50), 25: 2000})   # <= 100 for 19 days
    assert (g.grade_100, g.grade, g.provisional) == (4, 4, False)
    assert g.unmeasured_days > 0


def test_with_interpolation_only_the_days_it_cannot_fill_are_counted():
    g = early({0: 3000, 7: 3000, 30: 3000}, interpolate=True)   # 1-6 filled, 8-29 (22) not
    assert (g.grade, g.provisional, g.unmeasured_days, g.longest_gap) == (0, True, 22, 22)
    assert "measured or interpolated" in read(g)


def test_no_anc_up_to_today_is_not_evaluable_and_a_later_lab_is_not_read():
    g = early({6: 300}, today=5)
    assert (g.grade, g.provisional) == (None, False)
    assert "not evaluable" in read(g)


# ------------------------------------------------------------ early ICAHT: never recovers
def test_anc_500_or_less_from_day_1_through_day_30_never_recovered_is_grade_4():
    g = early({0: 1500, **run_of(1, 30, 300)})
    assert (g.grade, g.provisional, g.never_recovered) == (4, False, True)
    assert "never recovered" in read(g)


@pytest.mark.parametrize(("first_low", "grade", "provisional"), [(3, 4, False), (4, 3, True)])
def test_never_recovers_needs_the_run_to_begin_by_day_3(first_low, grade, provisional):
    """Decision L8 (the reference implementation): a run that begins by day +3 and lasts
    through day +30 never recovered; one that begins later is graded by its duration."""
    g = early({**run_of(0, first_low - 1, 1500), **run_of(first_low, 30, 300)})
    assert (g.grade, g.provisional) == (grade, provisional)
    if provisional:
        assert "recovery not documented" in read(g)


def test_a_late_fall_below_500_without_recovery_is_graded_by_its_duration_not_4():
    """Review example: 3000 on days 0-24, then 300 on days 25-30 (6 days)."""
    g = early({**run_of(0, 24, 3000), **run_of(25, 30, 300)})
    assert (g.grade, g.provisional, g.never_recovered) == (1, True, False)
    assert "recovery not documented" in read(g) and "never recovered by" not in read(g)


def test_a_measured_value_above_500_is_not_never_recovered_even_without_stable_recovery():
    """Review example: <= 500 on days 1-10, 800 on days 11 and 12, 2000 on day 30."""
    g = early({**run_of(1, 10, 300), 11: 800, 12: 800, 30: 2000})
    assert (g.grade, g.provisional, g.never_recovered) == (2, True, False)
    assert "recovery not documented" in read(g) and "no ANC on" in read(g)


def test_one_day_above_500_inside_a_run_is_no_stable_recovery_but_no_never_recovered_either():
    g = early({0: 1500, **run_of(1, 15, 300), 16: 600, **run_of(17, 30, 300)})
    assert (g.run_500.days, g.grade, g.provisional) == (30, 3, True)
    assert "600/µL on day 16" in read(g)


@pytest.mark.parametrize("days", [{0: 1500, **run_of(1, 29, 300)},   # day 30 not measured
                                  {0: 1500, **run_of(5, 30, 300)}],  # days 1-4 not measured
                         ids=["day 30 missing", "start not measured"])
def test_a_run_that_may_never_have_recovered_is_provisional_naming_grade_4(days):
    g = early(days)
    assert (g.grade, g.provisional) == (3, True)
    assert "would be grade 4" in read(g)


def test_while_the_window_is_open_the_grade_is_provisional():
    g = early({0: 1500, **run_of(2, 9, 300)}, today=9)
    assert (g.grade, g.provisional) == (2, True)
    assert "window is still open" in read(g) and "would be grade 4" in read(g)


def test_days_without_a_value_are_not_filled_unless_interpolation_is_chosen():
    days = {2: 400, 3: 400, 9: 400, 10: 400, **run_of(11, 30, 1500)}
    plain = early(days)
    assert (plain.run_500.days, plain.run_500.missing_days, plain.grade) == (9, 5, 2)
    days = {2: 400, 6: 1400, 10: 400, **run_of(11, 30, 1500)}
    assert early(days).grade == 2  # a single day above is no recovery
    filled = early(days, interpolate=True)  # days 3-9 interpolated: 650 ... 1400 ... 650
    assert (filled.grade, filled.interpolation) == (1, True)


def test_no_anc_in_the_first_30_days_is_not_evaluable():
    assert early({35: 800}).grade is None


# ------------------------------------------------------------------------------ late ICAHT
def test_spec_i3_two_values_of_800_after_day_30_are_late_grade_2():
    g = late_icaht(anc({35: 800, 42: 800}), INFUSION, UTC)
    assert (g.grade, g.measurements) == (2, 2)


@pytest.mark.parametrize(("nadir", "grade"), [(1501, 0), (1500, 1), (1001, 1), (1000, 2),
                                              (501, 2), (500, 3), (101, 3), (100, 4)])
def test_late_icaht_nadir_bands_on_both_sides(nadir, grade):
    assert late_icaht(anc({40: nadir, 50: 2000}), INFUSION, UTC).grade == grade


def test_late_icaht_counts_from_day_31_and_needs_two_measurements():
    g = late_icaht(anc({30: 200, 31: 800}), INFUSION, UTC)
    assert (g.grade, g.measurements) == (None, 1)
    assert "would be grade 2" in g.reasons[0]
    assert late_icaht(anc({30: 200, 31: 800, 32: 900}), INFUSION, UTC).grade == 2


# ------------------------------------------------------------------------------ IEC-HS
NOW = on_day(12)


def recent(test: str, value: float, hours_ago: float = 2) -> LabValue:
    return LabValue(test, value, NOW - timedelta(hours=hours_ago))


def test_iechs_counts_core_features_and_prompts_review_from_2():
    baseline = [LabValue("ferritin", 500, INFUSION - timedelta(days=1)),
                LabValue("platelets", 120, INFUSION - timedelta(days=1))]
    one = screen([*baseline, recent("ferritin", 1200), recent("fibrinogen", 250)], NOW,
                 INFUSION, 12)
    assert (one.present, one.prompt) == (1, False)
    two = screen([*baseline, recent("ferritin", 1200), recent("fibrinogen", 140),
                  recent("platelets", 30)], NOW, INFUSION, 12)
    assert (two.present, two.prompt) == (3, True)
    assert "3/5 core" in two.text and "haematology" in two.text
    assert "haemophagocytosis" in two.text  # never a structured input: always named


def test_iechs_transaminases_use_5_x_baseline_when_the_baseline_is_abnormal():
    base = LabValue("alt", 100, INFUSION - timedelta(days=1))
    s = screen([base, recent("alt", 450)], NOW, INFUSION, 12)
    assert not next(f for f in s.features if f.name == "transaminases").present
    s = screen([base, recent("alt", 501)], NOW, INFUSION, 12)
    assert next(f for f in s.features if f.name == "transaminases").present


def test_iechs_labs_older_than_72_hours_are_not_current_findings():
    s = screen([recent("fibrinogen", 100, hours_ago=73)], NOW, INFUSION, 12)
    assert next(f for f in s.features if f.name == "fibrinogen").present is None


def feature(s, name: str) -> bool | None:
    return next(f for f in s.features if f.name == name).present


@pytest.mark.parametrize(("value", "present"), [(800, False), (800.1, True)])
def test_iechs_ferritin_counts_above_2_x_uln_and_not_at_it(value, present):
    """Default ULN 400 ng/mL (L12); no value at infusion, no earlier ferritin."""
    s = screen([recent("ferritin", value)], NOW, INFUSION, 12)
    assert feature(s, "ferritin") is present


@pytest.mark.parametrize("test", ["alt", "ast"])
@pytest.mark.parametrize(("value", "present"), [(200, False), (200.1, True)])
def test_iechs_transaminases_count_above_5_x_uln_and_not_at_it(test, value, present):
    """Default ULN 40 U/L, baseline unknown: 5 x ULN = 200."""
    s = screen([recent(test, value)], NOW, INFUSION, 12)
    assert feature(s, "transaminases") is present


@pytest.mark.parametrize(("lln", "value", "low"), [(200, 200, False), (200, 199.9, True),
                                                   (100, 150, False), (100, 149.9, True)])
def test_iechs_fibrinogen_counts_below_its_limit_and_not_at_it(lln, value, low):
    """The limit is the site's lower limit of normal, and never below 150 mg/dL (spec §5.4)."""
    s = screen([recent("fibrinogen", value)], NOW, INFUSION, 12, {"fibrinogen_lln": lln})
    assert feature(s, "fibrinogen") is low


@pytest.mark.parametrize(("labs", "present", "prompt"), [
    ([recent("ferritin", 1200)], 1, False),
    ([recent("ferritin", 1200), recent("fibrinogen", 140)], 2, True)],
    ids=["one core feature", "exactly two core features"])
def test_iechs_prompts_haematology_review_from_exactly_2_core_features(labs, present, prompt):
    s = screen(labs, NOW, INFUSION, 12)
    assert (s.present, s.prompt) == (present, prompt)
    assert ("ask haematology to review" in s.text) is prompt
