"""NEWS2 (RCP 2017, spec §5.1): every band on both sides, both SpO2 scales, the response."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grading import news2

NORMAL = {"rr": 16, "spo2": 97, "on_oxygen": False, "sbp": 120, "pulse": 70,
          "consciousness": "alert", "temp_c": 37.0}


def score(**change) -> news2.News2:
    return news2.news2(**(NORMAL | change))


@pytest.mark.parametrize(("rr", "points"), [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2),
                                            (24, 2), (25, 3)])
def test_respiration_rate_bands(rr, points):
    assert score(rr=rr).parts["respiration rate"] == points


@pytest.mark.parametrize(("spo2", "points"), [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1),
                                              (96, 0)])
def test_spo2_scale_1_bands(spo2, points):
    assert score(spo2=spo2).parts["SpO2"] == points


@pytest.mark.parametrize(("spo2", "on_oxygen", "points"), [
    (83, False, 3), (84, False, 2), (85, False, 2), (86, False, 1), (87, False, 1),
    (88, False, 0), (92, False, 0), (93, False, 0), (97, False, 0),     # >= 93 on air: 0
    (88, True, 0), (92, True, 0), (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2),
    (97, True, 3)])
def test_spo2_scale_2_bands_depend_on_air_or_oxygen(spo2, on_oxygen, points):
    assert score(spo2=spo2, on_oxygen=on_oxygen, scale2=True).parts["SpO2"] == points


@pytest.mark.parametrize(("on_oxygen", "points"), [(False, 0), (True, 2)])
def test_any_supplemental_oxygen_scores_2(on_oxygen, points):
    assert score(on_oxygen=on_oxygen).parts["air or oxygen"] == points


@pytest.mark.parametrize(("sbp", "points"), [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1),
                                             (111, 0), (219, 0), (220, 3)])
def test_systolic_bp_bands(sbp, points):
    assert score(sbp=sbp).parts["systolic BP"] == points


@pytest.mark.parametrize(("pulse", "points"), [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0),
                                               (91, 1), (110, 1), (111, 2), (130, 2),
                                               (131, 3)])
def test_pulse_bands(pulse, points):
    assert score(pulse=pulse).parts["pulse"] == points


@pytest.mark.parametrize(("temp", "points"), [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0),
                                              (38.0, 0), (38.05, 1), (38.1, 1), (39.0, 1),
                                              (39.1, 2)])
def test_temperature_bands_after_rounding(temp, points):
    # 38.05 rounds half-up to 38.1 (spec §0.1) -> 1 point; 38.0 is NEWS2 0 but CRS grade 1
    assert score(temp_c=temp).parts["temperature"] == points


@pytest.mark.parametrize(("level", "confused", "points"), [
    ("alert", False, 0), ("alert", True, 3),
    ("awakens_spontaneously", False, 0),  # spec §5.1: drowsy, waking by itself, is A (C21)
    ("awakens_spontaneously", True, 3),
    ("awakens_to_voice", False, 3), ("awakens_to_touch", False, 3), ("unarousable", False, 3)])
def test_new_confusion_and_vpu_score_3(level, confused, points):
    assert score(consciousness=level, new_confusion=confused).parts["consciousness"] == points


@pytest.mark.parametrize(("change", "total", "risk", "monitoring"), [
    ({}, 0, "low", "every 12 h"),
    ({"pulse": 95}, 1, "low", "every 4-6 h"),
    ({"rr": 22, "pulse": 95, "spo2": 95}, 4, "low", "every 4-6 h"),
    ({"rr": 8}, 3, "low-medium", "hourly"),                    # a single red parameter
    ({"rr": 22, "pulse": 95, "spo2": 95, "temp_c": 38.5}, 5, "medium", "hourly"),
    ({"rr": 22, "pulse": 115, "spo2": 95, "temp_c": 38.5}, 6, "medium", "hourly"),
    ({"rr": 22, "pulse": 115, "spo2": 93, "temp_c": 38.5}, 7, "high", "continuous"),
])
def test_aggregate_and_response(change, total, risk, monitoring):
    n = score(**change)
    assert (n.total, n.risk, n.monitoring) == (total, risk, monitoring)


def test_missing_parameters_are_listed_and_under_16s_get_no_score():
    n = news2.news2(rr=None, spo2=None, on_oxygen=None, sbp=120, pulse=None,
                    consciousness=None, temp_c=None)
    assert n.total == 0 and not n.complete
    assert n.missing == ("respiration rate", "SpO2", "air or oxygen", "pulse", "consciousness",
                         "temperature")
    child = score(age_years=15.9)
    assert child.total is None and "under-16s" in child.why
    assert score(age_years=16).total == 0


@given(st.integers(0, 80), st.integers(0, 100), st.booleans(), st.integers(30, 300),
       st.integers(0, 300), st.floats(25, 45), st.booleans())
def test_the_total_is_the_sum_of_its_parts_and_within_0_to_20(rr, spo2, o2, sbp, pulse, t, c):
    n = news2.news2(rr=rr, spo2=spo2, on_oxygen=o2, sbp=sbp, pulse=pulse,
                    consciousness="alert", temp_c=t, new_confusion=c)
    assert n.total == sum(n.parts.values())
    assert 0 <= n.total <= 20
    assert n.red == any(p == 3 for p in n.parts.values())


# ------------------------------------------------------------ new confusion (spec §5.1, C21)
FULL = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
        "ice_attention": 1}


def ice(**items: int) -> dict[str, int]:
    return FULL | items


@pytest.mark.parametrize(("items", "new"), [
    ({}, False),                                   # ICE 10
    ({"ice_writing": 0}, False),                   # dysgraphia alone: ICANS, not NEWS2 "C"
    ({"ice_naming": 0}, False),                    # naming deficit alone (aphasia)
    ({"ice_commands": 0, "ice_writing": 0, "ice_naming": 1}, False),  # ICE 6, oriented
    ({"ice_orientation": 3}, True),                # one orientation point lost: disorientation
    ({"ice_orientation": 0}, True),
    ({"ice_attention": 0}, True),                  # inattention (delirium)
    ({"ice_orientation": 3, "ice_writing": 0}, True),
])
def test_new_confusion_without_a_baseline_comes_from_orientation_and_attention(items, new):
    c = news2.new_confusion(ice(**items))
    assert c is not None and c.new is new


@pytest.mark.parametrize(("baseline", "items", "new"), [
    (ice(ice_orientation=3), ice(ice_orientation=3), False),   # as before the infusion
    (ice(ice_orientation=3), ice(ice_orientation=2), True),    # one point worse
    (ice(ice_orientation=3), ice(ice_orientation=4), False),   # better than the baseline
    (ice(ice_attention=0), ice(ice_attention=0), False),
    (ice(ice_attention=0), ice(ice_attention=0, ice_orientation=3), True),
    (ice(), ice(ice_attention=0), True),
    (ice(), ice(ice_writing=0, ice_naming=0), False),          # worse, but not in C items
])
def test_new_confusion_with_a_pre_infusion_ice_is_an_item_worse_than_it(baseline, items, new):
    c = news2.new_confusion(items, baseline=baseline)
    assert c is not None and c.new is new


@pytest.mark.parametrize(("baseline_total", "items", "new", "why"), [
    # decision C21: a total cannot say which items it lost, so an orientation or attention
    # deficit scores 3, "not known whether new" (the reviewer's case: baseline 6, now 0/4)
    (6, ice(ice_orientation=0, ice_naming=1), True,
     "ICE orientation 0/4; baseline ICE 6/10 recorded as a total only"),
    (9, ice(ice_orientation=3), True,
     "ICE orientation 3/4; baseline ICE 9/10 recorded as a total only"),
    (8, ice(ice_orientation=3, ice_attention=0), True,
     "ICE orientation 3/4; ICE attention 0/1; baseline ICE 8/10 recorded as a total only"),
    (10, ice(ice_orientation=3), True, "ICE orientation 3/4 (baseline ICE 10/10)"),  # known
    (9, ice(), False, "ICE orientation and attention full"),
    (8, ice(ice_writing=0, ice_naming=0, ice_commands=0), False,  # 5 < 8 but C items full
     "ICE orientation and attention full"),
])
def test_with_only_an_admission_total_an_orientation_or_attention_deficit_scores(
        baseline_total, items, new, why):
    c = news2.new_confusion(items, baseline_total=baseline_total)
    assert c is not None and c.new is new and c.why == why
    assert c.known is (baseline_total == 10 or not new)
    if new:
        n = score(new_confusion=c)
        assert n.parts["consciousness"] == 3
        prefix = "new confusion: " if c.known else "confusion, not known whether new: "
        assert n.consciousness_why == "alert; " + prefix + why


@pytest.mark.parametrize(("baseline", "items", "why"), [
    (ice(ice_orientation=3), ice(ice_orientation=3), "ICE orientation 3/4, as at baseline"),
    (ice(ice_orientation=2), ice(ice_orientation=3), "ICE orientation 3/4, baseline 2/4"),
    (ice(ice_attention=0), ice(ice_attention=0, ice_writing=0),
     "ICE attention 0/1, as at baseline"),
    (ice(ice_orientation=3, ice_attention=0), ice(ice_orientation=3, ice_attention=0),
     "ICE orientation 3/4, as at baseline; ICE attention 0/1, as at baseline"),
])
def test_a_deficit_the_baseline_explains_scores_0_but_is_still_named(baseline, items, why):
    c = news2.new_confusion(items, baseline=baseline)
    assert c is not None and not c.new and c.why == why
    n = score(new_confusion=c)
    assert n.parts["consciousness"] == 0
    assert f"consciousness 0 (alert; {why})" in n.breakdown()


def test_a_deficit_worse_than_baseline_names_the_explained_one_too():
    c = news2.new_confusion(ice(ice_orientation=2, ice_attention=0),
                            baseline=ice(ice_attention=0))
    assert c is not None and c.new and c.known
    assert c.describe() == ("new confusion: ICE orientation 2/4 (baseline 4); "
                            "ICE attention 0/1, as at baseline")


@pytest.mark.parametrize(("before_infusion", "text"), [
    (True, "confusion, not known whether new: ICE orientation 3/4 (no earlier ICE)"),
    (False, "confusion, not known whether new: ICE orientation 3/4 (no baseline ICE)"),
])
def test_a_deficit_with_no_baseline_scores_3_but_never_claims_to_be_new(before_infusion,
                                                                       text):
    c = news2.new_confusion(ice(ice_orientation=3), before_infusion=before_infusion)
    assert c is not None and c.new and not c.known and c.describe() == text
    assert score(new_confusion=c).parts["consciousness"] == 3


@pytest.mark.parametrize(("capd", "new"), [(0, False), (8, False), (9, True), (32, True)])
def test_a_capd_of_9_or_more_is_delirium_and_scores_as_new_confusion(capd, new):
    c = news2.new_confusion(None, capd)
    assert c is not None and c.new is new
    assert f"CAPD {capd}" in c.why


def test_no_ice_and_no_capd_says_nothing_about_confusion():
    assert news2.new_confusion(None, None) is None


def test_a_febrile_patient_failing_only_the_writing_item_is_not_an_emergency():
    """The issue's case: ICE 9 (writing 0), no baseline, fever: NEWS2 was 14 (EMERGENCY)."""
    c = news2.new_confusion(ice(ice_writing=0))
    n = score(temp_c=39.2, new_confusion=c)
    assert n.parts["consciousness"] == 0 and n.total == 2
    confused = score(temp_c=39.2, new_confusion=news2.new_confusion(ice(ice_orientation=3)))
    assert confused.parts["consciousness"] == 3 and confused.total == 5


def test_the_breakdown_names_every_parameter_and_why_consciousness_scores():
    n = news2.news2(rr=22, spo2=95, on_oxygen=True, sbp=105, pulse=112, consciousness="alert",
                    temp_c=38.0, new_confusion=news2.new_confusion(ice(ice_orientation=2)))
    assert n.breakdown() == (
        "NEWS2 11: respiration rate 2, SpO2 1, air or oxygen 2, systolic BP 1, pulse 2, "
        "consciousness 3 (alert; confusion, not known whether new: ICE orientation 2/4 (no "
        "baseline ICE)), "
        "temperature 0")
    partial = news2.news2(rr=16, spo2=None, on_oxygen=None, sbp=None, pulse=70,
                          consciousness="awakens_to_voice", temp_c=None)
    assert partial.breakdown() == ("NEWS2 3+: respiration rate 0, pulse 0, consciousness 3 "
                                   "(wakes only to voice); not recorded: SpO2, air or oxygen, "
                                   "systolic BP, temperature")
    assert news2.news2(rr=16, spo2=None, on_oxygen=None, sbp=None, pulse=None,
                       consciousness=None, temp_c=None, age_years=12).breakdown().startswith(
        "NEWS2 not scored")


ICE_ITEM_VALUES = st.fixed_dictionaries({
    "ice_orientation": st.integers(0, 4), "ice_naming": st.integers(0, 3),
    "ice_commands": st.integers(0, 1), "ice_writing": st.integers(0, 1),
    "ice_attention": st.integers(0, 1)})


@given(ICE_ITEM_VALUES, st.one_of(st.none(), ICE_ITEM_VALUES))
def test_naming_commands_and_writing_never_decide_new_confusion(items, baseline):
    c = news2.new_confusion(items, baseline=baseline)
    other = items | {"ice_naming": 3 - items["ice_naming"], "ice_commands": 1 - items[
        "ice_commands"], "ice_writing": 1 - items["ice_writing"]}
    assert c is not None and news2.new_confusion(other, baseline=baseline).new == c.new
    reference = baseline or FULL
    assert c.new == (items["ice_orientation"] < reference["ice_orientation"]
                     or items["ice_attention"] < reference["ice_attention"])


@given(ICE_ITEM_VALUES, st.integers(0, 10))
def test_a_lower_orientation_or_attention_never_removes_new_confusion(items, baseline_total):
    before = news2.new_confusion(items, baseline_total=baseline_total)
    for worse in (items | {"ice_orientation": max(0, items["ice_orientation"] - 1)},
                  items | {"ice_attention": 0}):
        after = news2.new_confusion(worse, baseline_total=baseline_total)
        assert before is not None and after is not None
        assert after.new or not before.new
