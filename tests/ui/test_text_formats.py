"""One formatter for what a clinician reads (issue 18.8, decision G13): times on the ward clock,
lab values at the lab's precision, ratios to two decimals, ages in completed years, and the
rules in words with their source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.result import Reason
from grading.words import rule_words
from ui.common import observations_text, reason_text
from ui.text import clock, clock_times, lab_value, ratio, whole_years

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("value", "test", "unit", "shown"), [
    (1.527, "creatinine", None, "1.53"),       # the example
    (1.527, "creatinine", "mg/dL", "1.53"),
    (0.9, "creatinine", None, "0.90"),
    (0.31, "crp", None, "0.31"),               # mg/dL
    (31.456, "crp", "mg/L", "31.5"),           # another unit: three significant figures
    (1234.5, "ferritin", None, "1234"),
    (45.6, "platelets", None, "46"),
    (480.4, "anc", None, "480"),
    (9.85, "haemoglobin", None, "9.8"),       # binary 9.85 is just below: rounds down
    (9.86, "haemoglobin", None, "9.9"),
    (0.9842, "", None, "0.984"),               # an unknown test: three significant figures
    (123.456, "", None, "123"),
    (0.0012, "", None, "0.0012"),
    (None, "creatinine", None, "—"),
    (float("nan"), "crp", None, "—"),
])
def test_a_lab_value_shows_at_the_precision_the_lab_reports(value, test, unit, shown):
    assert lab_value(value, test, unit) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (0.9842, "0.98"), (3.14159, "3.14"), (12.0, "12.00"), (None, "—"), (float("nan"), "—"),
])
def test_a_ratio_or_score_shows_two_decimals(value, shown):
    assert ratio(value) == shown


@pytest.mark.parametrize(("age", "words", "adjective"), [
    (54.0, "54 years", "54-year-old"),
    (11.9, "11 years", "11-year-old"),        # completed years: never rounded up
    (12.0, "12 years", "12-year-old"),
    (1.0, "1 year", "1-year-old"),
    (0.75, "9 months", "9-month-old"),
    (1 / 12, "1 month", "1-month-old"),
    (None, "age not recorded", "age not recorded"),
])
def test_an_age_shows_in_completed_years(age, words, adjective):
    assert whole_years(age) == words
    assert whole_years(age, adjective=True) == adjective


@pytest.mark.parametrize(("text", "tz", "shown"), [
    ("CRS episode open since 2026-12-05T14:30:00+00:00, afebrile", UTC,
     "CRS episode open since 05 Dec 14:30, afebrile"),
    ("given 2026-12-05T14:30:00+00:00), would be", BERLIN, "given 05 Dec 15:30), would be"),
    ("at 2026-12-05 22:00:00.123456+01:00 and 2026-12-06T01:00Z", UTC,
     "at 05 Dec 21:00 and 06 Dec 01:00"),
    ("naive 2026-12-05T08:00 read in the ward zone", BERLIN,
     "naive 05 Dec 08:00 read in the ward zone"),
    ("no time here: ICE 7/10, SBP 85", UTC, "no time here: ICE 7/10, SBP 85"),
])
def test_an_iso_time_inside_a_text_shows_on_the_ward_clock(text, tz, shown):
    assert clock_times(text, tz) == shown


def test_the_ward_clock_shows_day_month_and_time_in_the_ward_zone():
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks change in Berlin
    assert clock(at, UTC) == "29 Mar 00:30"
    assert clock(at + timedelta(hours=1), BERLIN) == "29 Mar 03:30"
    assert clock(None, UTC) == "—"


@settings(max_examples=50, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(-12, 14))
def test_no_iso_time_survives_in_a_text(when, offset):
    at = when.replace(tzinfo=timezone(timedelta(hours=offset)))
    shown = clock_times(f"since {at.isoformat()}; given {at.isoformat(timespec='minutes')}", UTC)
    assert "T" not in shown.replace("since", "").replace("given", "")
    assert shown == f"since {clock(at, UTC)}; given {clock(at, UTC)}"


@pytest.mark.parametrize(("rule", "words"), [
    ("CRS-R1", "fever (ASTCT 2019)"),
    ("CRS-R4", "hypotension (ASTCT 2019)"),
    ("CRS §1.1", "before the infusion: baseline (ASTCT 2019)"),
    ("ICANS §2.5", "CAPD (children) (ASTCT 2019)"),
    ("C8", "open CRS episode without fever (ward rule)"),
    ("CRES-ICP", ""),  # another scale's criterion: its scale's title names it
])
def test_a_rule_shows_in_words_with_its_source_never_its_id(rule, words):
    assert rule_words(rule) == words


def test_a_reason_reads_words_finding_and_time_without_the_rule_id():
    r = Reason("CRS-R3", "CRS episode open since 2026-12-05T14:30:00+00:00 and antipyretic "
               "given: fever no longer required", datetime(2026, 12, 5, 16, 0, tzinfo=UTC))
    shown = reason_text(r, UTC)
    assert shown == ("**Fever waiver after treatment (ASTCT 2019)** — CRS episode open since "
                     "05 Dec 14:30 and antipyretic given: fever no longer required (05 Dec 16:00)")
    assert "CRS-R3" not in shown


def test_an_assessment_shows_the_age_in_completed_years_and_no_column_name():
    shown = observations_text({"time": datetime(2026, 3, 2, tzinfo=UTC), "age_years": 11.9,
                               "temp_c": 38.25, "o2_device": "nasal_cannula"})
    assert shown == "Age 11 years; Temperature 38.25 °C; Oxygen support nasal cannula"


def test_lab_values_converted_from_another_unit_show_at_the_labs_precision():
    """Creatinine 135 µmol/L is 1.527... mg/dL and haemoglobin 4.1 mmol/L 6.6051 g/dL once
    stored: the screening and score texts show 1.53 and 6.6, never the raw quotient."""
    from grading.lab_scores import iechs
    from grading.lab_scores.labs import LabValue
    from grading.lab_scores.units import to_canonical
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    hb = LabValue("haemoglobin", to_canonical("haemoglobin", 4.1, "mmol/L"), t)
    fib = LabValue("fibrinogen", to_canonical("fibrinogen", 1.234, "g/L"), t)
    s = iechs.screen([hb, fib], t + timedelta(hours=1), None, 12)
    text = " ".join(f.finding for f in s.features)
    assert "haemoglobin 6.6 g/dL" in text and "fibrinogen 123 mg/dL" in text
    creatinine = LabValue("creatinine", to_canonical("creatinine", 135, "µmol/L"), t)
    assert creatinine.value != 1.53 and lab_value(creatinine.value, "creatinine") == "1.53"
