"""Every grading threshold, tested on both sides (style.md: "every boundary has a test on both
sides"). Each table pairs the last value that stays on one side with the first that crosses.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import grading
from tests.grading.helpers import (
    ICE_10,
    T0,
    at,
    flag_codes,
    grade_both,
    grade_one,
    ice,
    normal_adult,
)

NO_ICE: dict[str, object] = {name: None for name in ICE_10}
NO_NEURO_EVENTS: dict[str, object] = {"seizure": None, "motor_weakness": None,
                                      "cerebral_edema": None, "raised_icp_signs": None}


def after(hours: int, minutes: int = 0) -> str:
    """An exact time ``hours`` h and ``minutes`` min after T0 (no float drift at a boundary)."""
    return (T0 + timedelta(hours=hours, minutes=minutes)).isoformat()


# ------------------------------------------------------------------- fever (CRS-R1, §0.1)
@pytest.mark.parametrize(("temp_c", "crs"), [
    pytest.param(37.9, 0, id="37.9-is-no-fever"),
    pytest.param(38.0, 1, id="38.0-is-fever"),
    pytest.param(37.94, 0, id="37.94-rounds-down-to-37.9-no-fever"),
    pytest.param(37.95, 1, id="37.95-rounds-half-up-to-38.0-fever"),
])
def test_fever_starts_at_38_0_after_half_up_rounding(temp_c: float, crs: int) -> None:
    r = grade_one(temp_c=temp_c)
    assert (r.crs.grade, r.crs.status) == (crs, "final")


# ------------------------------------------------------------- oxygen flow (§1.4, CRS-R5)
@pytest.mark.parametrize(("flow", "crs"), [
    pytest.param(6.0, 2, id="nasal-cannula-6.0-is-low-flow-grade-2"),
    pytest.param(6.1, 3, id="nasal-cannula-6.1-is-high-flow-grade-3"),
    pytest.param(6.5, 3, id="nasal-cannula-6.5-is-high-flow-grade-3"),
])
def test_nasal_cannula_above_6_litres_is_high_flow(flow: float, crs: int) -> None:
    r = grade_one(temp_c=38.3, o2_device="nasal_cannula", o2_flow_l_min=flow)
    assert (r.crs.grade, r.crs.status) == (crs, "final")
    assert "hfnc_low_flow" not in flag_codes(r)


@pytest.mark.parametrize(("flow", "status", "flags"), [
    pytest.param(6, "provisional", {"hfnc_low_flow"}, id="hfnc-at-6-is-3-provisional-flagged"),
    pytest.param(7, "final", set(), id="hfnc-at-7-is-3-final"),
])
def test_high_flow_cannula_run_at_6_litres_or_less_asks_the_clinician(
        flow: float, status: str, flags: set[str]) -> None:
    r = grade_one(temp_c=38.3, o2_device="high_flow_nasal_cannula", o2_flow_l_min=flow)
    assert (r.crs.grade, r.crs.status) == (3, status)
    assert flag_codes(r) == flags


# ------------------------------------------------------- hypotension by age (§1.6, CRS-R4)
# With fever 38.4 and no vasopressor: SBP below the age threshold -> grade 2, at it -> grade 1.
@pytest.mark.parametrize(("age_years", "sbp", "dbp", "crs"), [
    pytest.param(45, 89, 60, 2, id="adult-sbp-89-is-hypotension"),
    pytest.param(45, 90, 60, 1, id="adult-sbp-90-is-not"),
    pytest.param(None, 89, 60, 2, id="unknown-age-uses-adult-90-sbp-89-is-hypotension"),
    pytest.param(None, 90, 60, 1, id="unknown-age-uses-adult-90-sbp-90-is-not"),
    pytest.param(6, 81, 45, 2, id="child-6y-threshold-82-sbp-81-is-hypotension"),
    pytest.param(6, 82, 45, 1, id="child-6y-threshold-82-sbp-82-is-not"),
    pytest.param(10, 89, 45, 2, id="child-10y-threshold-90-sbp-89-is-hypotension"),
    pytest.param(10, 90, 45, 1, id="child-10y-threshold-90-sbp-90-is-not"),
    pytest.param(10.9, 89, 45, 2, id="child-10.9y-completed-years-10-sbp-89-is-hypotension"),
    pytest.param(10.9, 90, 45, 1, id="child-10.9y-completed-years-10-sbp-90-is-not"),
    pytest.param(11, 89, 45, 2, id="child-11y-threshold-90-sbp-89-is-hypotension"),
    pytest.param(11, 90, 45, 1, id="child-11y-threshold-90-sbp-90-is-not"),
    pytest.param(1, 71, 40, 2, id="child-1y-threshold-72-sbp-71-is-hypotension"),
    pytest.param(0.99, 71, 40, 1, id="infant-0.99y-threshold-70-sbp-71-is-not"),
    pytest.param(0.5, 69, 40, 2, id="infant-0.5y-threshold-70-sbp-69-is-hypotension"),
    pytest.param(0.5, 70, 40, 1, id="infant-0.5y-threshold-70-sbp-70-is-not"),
    pytest.param(0.08, 65, 35, 2, id="infant-29-days-threshold-70-sbp-65-is-hypotension"),
    pytest.param(0.07, 65, 35, 1, id="neonate-25-days-threshold-60-sbp-65-is-not"),
    pytest.param(0.05, 59, 35, 2, id="neonate-0.05y-threshold-60-sbp-59-is-hypotension"),
    pytest.param(0.05, 60, 35, 1, id="neonate-0.05y-threshold-60-sbp-60-is-not"),
])
def test_hypotension_is_sbp_below_the_age_threshold(
        age_years: float | None, sbp: int, dbp: int, crs: int) -> None:
    r = grade_one(age_years=age_years, temp_c=38.4, sbp_mmhg=sbp, dbp_mmhg=dbp)
    assert r.crs.grade == crs, r.crs.reasons
    hypotension = [x for x in r.crs.reasons if x.rule == "CRS-R4"]
    assert bool(hypotension) == (crs == 2)


@pytest.mark.parametrize(("age_years", "sbp", "dbp", "crs"), [
    pytest.param(45, 94, 50, 2, id="adult-sbp-94-dbp-50-map-64.7-is-hypotension"),
    pytest.param(45, 95, 50, 1, id="adult-sbp-95-dbp-50-map-65.0-is-not"),
    pytest.param(18, 95, 45, 2, id="age-18-is-adult-map-61.7-is-hypotension"),
    pytest.param(17.9, 95, 45, 1, id="age-17.9-is-a-child-map-not-used"),
])
def test_adult_map_below_65_is_hypotension_even_with_sbp_of_90_or_more(
        age_years: float, sbp: int, dbp: int, crs: int) -> None:
    r = grade_one(age_years=age_years, temp_c=38.4, sbp_mmhg=sbp, dbp_mmhg=dbp)
    assert r.crs.grade == crs, r.crs.reasons


# ------------------------------------------------------------------ ICE (ICANS-R2, R3)
@pytest.mark.parametrize(("ice_total", "consciousness", "icans"), [
    pytest.param(10, "alert", 0, id="ice-10-is-0"),
    pytest.param(9, "alert", 1, id="ice-9-is-1"),
    pytest.param(7, "alert", 1, id="ice-7-is-1"),
    pytest.param(6, "alert", 2, id="ice-6-is-2"),
    pytest.param(3, "alert", 2, id="ice-3-is-2"),
    pytest.param(2, "alert", 3, id="ice-2-is-3"),
    pytest.param(0, "alert", 3, id="ice-0-awake-is-3"),
    pytest.param(0, "unarousable", 4, id="ice-0-unarousable-is-4"),
])
def test_ice_bands(ice_total: int, consciousness: str, icans: int) -> None:
    r = grade_one(**ice(ice_total), consciousness=consciousness)
    assert (r.icans.grade, r.icans.status) == (icans, "final")


# ------------------------------------------------------------------------- CAPD (§2.5)
@pytest.mark.parametrize(("capd", "icans"), [
    pytest.param(0, 0, id="capd-0-is-0"),
    pytest.param(1, 1, id="capd-1-is-1"),
    pytest.param(8, 1, id="capd-8-is-1"),
    pytest.param(9, 3, id="capd-9-screens-positive-is-3"),
])
def test_capd_bands_for_an_alert_child(capd: int, icans: int) -> None:
    r = grade_one(**NO_ICE, age_years=8, capd_total=capd)
    assert (r.icans.grade, r.icans.status) == (icans, "final")


@pytest.mark.parametrize(("consciousness", "icans"), [
    pytest.param("awakens_spontaneously", 1, id="capd-5-waking-spontaneously-is-1"),
    pytest.param("awakens_to_voice", 2, id="capd-5-waking-to-voice-is-2"),
])
def test_capd_1_to_8_is_split_by_consciousness(consciousness: str, icans: int) -> None:
    r = grade_one(**NO_ICE, age_years=8, capd_total=5, consciousness=consciousness)
    assert r.icans.grade == icans


@pytest.mark.parametrize(("age_years", "instrument", "flagged"), [
    pytest.param(11.9, ice(10), True, id="ice-at-11.9-is-flagged"),
    pytest.param(12, ice(10), False, id="ice-at-12-is-not-flagged"),
    pytest.param(12, {"capd_total": 0}, False, id="capd-at-12-is-not-flagged"),
    pytest.param(12.9, {"capd_total": 0}, False, id="capd-at-12.9-completed-12-is-not-flagged"),
    pytest.param(13, {"capd_total": 0}, True, id="capd-at-13-is-flagged"),
])
def test_instrument_outside_its_age_gets_an_info_flag(
        age_years: float, instrument: dict[str, int], flagged: bool) -> None:
    r = grade_one(**{**NO_ICE, "age_years": age_years, **instrument})
    flags = [f for f in r.flags if f.code == "instrument_age"]
    assert [f.severity for f in flags] == (["info"] if flagged else [])
    assert r.icans.grade == 0


# --------------------------------------------------------------- consciousness (ICANS-R4)
@pytest.mark.parametrize(("consciousness", "icans"), [
    pytest.param("alert", 0, id="alert-is-0"),
    pytest.param("awakens_spontaneously", 1, id="waking-spontaneously-is-1"),
    pytest.param("awakens_to_voice", 2, id="waking-to-voice-is-2"),
    pytest.param("awakens_to_touch", 3, id="waking-only-to-touch-is-3"),
    pytest.param("unarousable", 4, id="unarousable-is-4"),
])
def test_each_consciousness_level(consciousness: str, icans: int) -> None:
    items = ice(0) if consciousness == "unarousable" else ice(10)
    r = grade_one(**items, consciousness=consciousness)
    assert r.icans.grade == icans


# ------------------------------------------------------------------- SpO2 on room air (A8)
@pytest.mark.parametrize(("spo2", "flags"), [
    pytest.param(89, {"hypoxia_no_o2"}, id="spo2-89-on-room-air-is-flagged"),
    pytest.param(90, set(), id="spo2-90-on-room-air-is-not"),
])
def test_low_spo2_without_oxygen_is_flagged_not_graded(spo2: int, flags: set[str]) -> None:
    r = grade_one(spo2_pct=spo2)
    assert (r.crs.grade, r.crs.status) == (0, "final")
    assert flag_codes(r) == flags
    assert all(f.severity == "urgent" for f in r.flags)


# ---------------------------------------------------------------- look-back windows (§0.3)
@pytest.mark.parametrize(("first_temp", "hours", "minutes", "crs", "status"), [
    pytest.param(38.4, 4, 0, 1, "final", id="fever-exactly-4h-ago-is-still-used"),
    pytest.param(38.4, 4, 1, None, "not_evaluable", id="fever-4h-1min-ago-is-not-used"),
    pytest.param(37.2, 4, 0, 0, "final", id="normal-temp-exactly-4h-ago-is-still-used"),
    pytest.param(37.2, 4, 1, None, "not_evaluable", id="normal-temp-4h-1min-ago-is-not-used"),
])
def test_vitals_look_back_is_4_hours(first_temp: float, hours: int, minutes: int,
                                     crs: int | None, status: str) -> None:
    rows = [normal_adult(time=at(0), temp_c=first_temp),
            normal_adult(time=after(hours, minutes), temp_c=None)]
    r = grade_both(rows)[-1]
    assert (r.crs.grade, r.crs.status) == (crs, status), r.crs.reasons


@pytest.mark.parametrize(("hours", "minutes", "icans", "status"), [
    pytest.param(12, 0, 1, "final", id="ice-8-and-alert-exactly-12h-ago-are-still-used"),
    pytest.param(12, 1, None, "not_evaluable", id="ice-8-and-alert-12h-1min-ago-are-not-used"),
])
def test_neuro_look_back_is_12_hours(hours: int, minutes: int, icans: int | None,
                                     status: str) -> None:
    rows = [normal_adult(time=at(0), **ice(8), **NO_NEURO_EVENTS),
            normal_adult(time=after(hours, minutes), **NO_ICE, consciousness=None,
                         **NO_NEURO_EVENTS)]
    r = grade_both(rows)[-1]
    assert (r.icans.grade, r.icans.status) == (icans, status), r.icans.reasons


@pytest.mark.parametrize(("hours", "minutes", "icans", "status"), [
    pytest.param(12, 0, 1, "final", id="exactly-12h-ice-8-still-grades-1"),
    pytest.param(12, 1, 0, "provisional", id="12h-1min-only-events-recorded-none-provisional-0"),
])
def test_once_the_ice_is_stale_only_the_event_domains_grade_and_provisionally(
        hours: int, minutes: int, icans: int, status: str) -> None:
    rows = [normal_adult(time=at(0), **ice(8)),
            normal_adult(time=after(hours, minutes), **NO_ICE, consciousness=None)]
    r = grade_both(rows)[-1]
    assert (r.icans.grade, r.icans.status) == (icans, status), r.icans.reasons


# ------------------------------------------------------------- CRS episode closure (R3b)
# After closure an afebrile hypotension is CRS 0. The flag depends on the drug given in the
# closed episode: after an antipyretic it is the CRS-R2 alert; after tocilizumab the fever may
# be masked (docs/clinical-decisions.md C9: any earlier tocilizumab/steroid), urgent A3 flag.
CLOSED_FLAG = {"antipyretic_given": ("without_fever", "final"),
               "tocilizumab_given": ("fever_possibly_masked", "provisional")}


@pytest.mark.parametrize("drug", ["antipyretic_given", "tocilizumab_given"])
@pytest.mark.parametrize(("hours", "minutes", "crs", "closed"), [
    pytest.param(48, 0, 2, False, id="exactly-48h-still-open-waiver-grades-2"),
    pytest.param(48, 1, 0, True, id="48h-1min-closed-grade-0"),
])
def test_crs_episode_closes_48_hours_after_the_last_active_finding(
        hours: int, minutes: int, crs: int, closed: bool, drug: str) -> None:
    rows = [normal_adult(time=at(0), temp_c=38.6, **{drug: True}),
            normal_adult(time=after(hours, minutes), temp_c=37.0, sbp_mmhg=84, dbp_mmhg=50)]
    first, later = grade_both(rows)
    assert first.crs.grade == 1
    flag, status = CLOSED_FLAG[drug] if closed else (None, "final")
    assert (later.crs.grade, later.crs.status) == (crs, status), later.crs.reasons
    assert flag_codes(later) == ({flag} if flag else set())
    assert ("CRS-R3" in [x.rule for x in later.crs.reasons]) == (not closed)


def test_a_second_episode_after_closure_starts_its_own_maximum_and_days_count_on() -> None:
    """Biphasic course: CRS 2 then quiet for > 48 h, then a fever again (CRS-R3b); ICANS 2,
    quiet, then ICANS 1 (decision S1). Each episode keeps its own maximum; the day after
    infusion is the calendar day in the ward zone (S4), Day 0 on the infusion date."""
    infusion = {"infusion_time": after(-2)}  # 06:00 on the day of T0
    rows = [normal_adult(time=at(0), temp_c=38.6, **infusion),
            normal_adult(time=at(6), temp_c=38.9, sbp_mmhg=84, dbp_mmhg=50,
                         fluid_bolus_given=True, **ice(6), **infusion),
            normal_adult(time=at(24), **infusion),
            normal_adult(time=after(54, 1), **infusion),  # 48 h 1 min after the last finding
            normal_adult(time=at(80), temp_c=38.2, **ice(8), **infusion)]
    got = [(r.day_post_infusion, r.crs.grade, r.crs_episode_max, r.icans.grade,
            r.icans_episode_max) for r in grade_both(rows)]
    assert got == [(0, 1, 1, 0, None), (0, 2, 2, 2, 2), (1, 0, 2, 0, 2),
                   (2, 0, None, 0, None), (3, 1, 1, 1, 1)]


# --------------------------------------------------------- input limits (§6.1, design.md)
@pytest.mark.parametrize("temp_c", [pytest.param(24.9, id="24.9"), pytest.param(45.1, id="45.1")])
def test_temperature_outside_the_hard_limits_is_rejected_naming_the_column(
        temp_c: float) -> None:
    with pytest.raises(grading.InputError) as raised:
        grade_one(temp_c=temp_c)
    assert any("temp_c" in p and str(temp_c) in p for p in raised.value.lines), \
        raised.value.lines


@pytest.mark.parametrize("temp_c", [pytest.param(25.0, id="25.0"), pytest.param(45.0, id="45.0")])
def test_temperature_at_the_hard_limits_is_accepted(temp_c: float) -> None:
    r = grade_one(temp_c=temp_c)
    assert r.crs.grade is not None


@pytest.mark.parametrize(("overrides", "soft"), [
    pytest.param({"temp_c": 33.9}, True, id="temp-33.9-is-soft-flagged"),
    pytest.param({"temp_c": 34.0}, False, id="temp-34.0-is-not"),
    pytest.param({"temp_c": 42.0}, False, id="temp-42.0-is-not"),
    pytest.param({"temp_c": 42.1}, True, id="temp-42.1-is-soft-flagged"),
    pytest.param({"o2_device": "nasal_cannula", "o2_flow_l_min": 15}, False,
                 id="nasal-cannula-15-l-min-is-not"),
    pytest.param({"o2_device": "nasal_cannula", "o2_flow_l_min": 16}, True,
                 id="nasal-cannula-16-l-min-is-soft-flagged"),
])
def test_values_outside_the_soft_limits_are_accepted_and_flagged(
        overrides: dict[str, object], soft: bool) -> None:
    r = grade_one(**overrides)
    soft_flags = [f for f in r.flags if f.code == "soft_limit"]
    assert len(soft_flags) == (1 if soft else 0), r.flags
    column = "temp_c" if "temp_c" in overrides else "o2_flow_l_min"
    assert all(column in f.message for f in soft_flags)


def test_sixteen_litres_by_nasal_cannula_is_still_graded_as_high_flow():
    r = grade_one(temp_c=38.3, o2_device="nasal_cannula", o2_flow_l_min=16)
    assert r.crs.grade == 3
    assert "soft_limit" in flag_codes(r)

