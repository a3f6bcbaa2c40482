"""The markers of issue 20 in the one analyte table: units, conversions, plausibility limits,
LOINC codes and reference ranges (docs/markers.md; decisions M1-M3)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.lab_scores import units
from monitoring import reference_ranges

MARKERS = ("il6", "ifng", "il10", "sil2r", "crp", "ferritin", "ldh", "fibrinogen", "ddimer",
           "triglycerides", "ast", "alt", "creatinine", "wbc", "anc", "lymphocytes",
           "haemoglobin", "platelets")


def test_every_marker_the_issue_names_is_in_the_one_table_with_a_loinc_code_and_a_range():
    assert set(MARKERS) == set(units.ANALYTES)
    for key in MARKERS:
        a = units.ANALYTES[key]
        assert a.factors[a.canonical] == 1.0
        assert a.loinc, key
        lo, hi = a.reference
        assert lo is not None and hi is not None and 0 <= lo < hi <= a.maximum, key
        assert a.worse in ("high", "low")


def test_a_loinc_code_names_one_test_only():
    codes = [c for a in units.ANALYTES.values() for c in a.loinc]
    assert len(codes) == len(set(codes))
    assert units.BY_LOINC["26881-3"] == "il6"
    assert units.BY_LOINC["2276-4"] == "ferritin"
    assert units.BY_LOINC["3255-7"] == "fibrinogen"
    assert units.BY_LOINC["14682-9"] == "creatinine"   # the µmol/L code maps to creatinine too


@pytest.mark.parametrize(("test", "value", "unit", "canonical"), [
    ("il6", 250.0, "ng/L", 250.0),
    ("ifng", 40.0, "ng/L", 40.0),
    ("il10", 12.5, "pg/mL", 12.5),
    ("sil2r", 1.2, "ng/mL", 1200.0),
    ("sil2r", 900.0, "ng/L", 900.0),
    ("triglycerides", 3.0, "mmol/L", 265.71),        # spec §5.4: mmol/L x 88.57
    ("ddimer", 500.0, "ng/mL FEU", 0.5),
    ("ddimer", 2.5, "mg/L FEU", 2.5),
    ("wbc", 4500.0, "/µL", 4.5),
    ("lymphocytes", 0.8, "10^9/L", 800.0),
    ("ferritin", 1500.0, "µg/L", 1500.0),             # spec §6.3: identical
    ("fibrinogen", 1.5, "g/L", 150.0),                # spec §6.3: g/L x 100
])
def test_a_marker_is_converted_to_its_canonical_unit(test, value, unit, canonical):
    assert units.to_canonical(test, value, unit) == pytest.approx(canonical)


@pytest.mark.parametrize(("test", "value", "unit", "ok"), [
    ("il6", 1_000_000.0, "pg/mL", True), ("il6", 1_000_001.0, "pg/mL", False),
    ("sil2r", 10_000.0, "ng/mL", True), ("sil2r", 10_000.5, "ng/mL", False),
    ("ddimer", 500.0, "mg/L FEU", True), ("ddimer", 500.5, "mg/L FEU", False),
    ("triglycerides", 225.0, "mmol/L", True), ("triglycerides", 226.0, "mmol/L", False),
    ("wbc", 1000.0, "10^9/L", True), ("wbc", 1000.1, "10^9/L", False),
    ("lymphocytes", 0.0, "/µL", True), ("lymphocytes", -1.0, "/µL", False),
    ("ifng", math.nan, "pg/mL", False),
])
def test_a_marker_beyond_its_plausibility_limit_is_refused_naming_the_allowed_range(
        test, value, unit, ok):
    if ok:
        units.check_value(test, value, unit)
    else:
        with pytest.raises(units.LabUnitError, match=rf"allowed 0 to .* {re.escape(unit)}"):
            units.check_value(test, value, unit)


@pytest.mark.parametrize(("test", "unit"), [
    ("sil2r", "U/mL"),         # decision M1: no fixed conversion to pg/mL
    ("ddimer", "ng/mL DDU"),   # decision M1: DDU is not FEU
    ("il6", "IU/mL"),
])
def test_a_unit_without_an_exact_conversion_is_refused_naming_the_units_accepted(test, unit):
    with pytest.raises(units.LabUnitError, match="unit must be one of"):
        units.to_canonical(test, 10.0, unit)


def test_an_unusual_but_possible_marker_is_accepted_and_highlighted():
    units.check_value("ferritin", 150_000.0, "ng/mL")
    assert "unusual (above 100000 ng/mL)" in units.unusual("ferritin", 150_000.0, "ng/mL")
    assert units.unusual("ferritin", 8_000.0, "ng/mL") is None


@pytest.mark.parametrize(("age", "expected"), [
    (None, (20.0, 300.0)),     # unknown age: the adult range
    (17.99, (7.0, 140.0)),     # a child: the paediatric ferritin range
    (18, (20.0, 300.0)),
    (45, (20.0, 300.0)),
])
def test_ferritins_reference_range_differs_for_children(age, expected):
    assert units.reference_range("ferritin", age) == expected


def test_a_sites_own_ranges_replace_the_defaults_and_a_child_keeps_a_child_range():
    site = reference_ranges.parse("[ferritin]\nadult = [30, 400]\n[il6]\nadult = [0, 5.9]\n")
    assert units.reference_range("ferritin", 50, site) == (30.0, 400.0)
    assert units.reference_range("ferritin", 6, site) == (7.0, 140.0)   # the table's child range
    assert units.reference_range("il6", 6, site) == (0.0, 5.9)          # no child range: site's
    assert units.reference_range("crp", 50, site) == (0.0, 0.5)         # not set: the default
    site = reference_ranges.parse("[ferritin]\nchild = [10, 120]\n")
    assert units.reference_range("ferritin", 6, site) == (10.0, 120.0)


def test_the_example_reference_range_file_in_the_docs_is_valid():
    with open("docs/reference-ranges.example.toml", encoding="utf-8") as f:
        site = reference_ranges.parse(f.read())
    assert site["ferritin"]["child"] == (7.0, 140.0)


@pytest.mark.parametrize(("text", "message"), [
    ("[ferritn]\nadult = [1, 2]\n", "'ferritn' is not a test the ward records"),
    ("[ferritin]\nadult = [300, 20]\n", "ferritin adult [300, 20] is not possible"),
    ("[ferritin]\nadult = [20]\n", "must be two numbers"),
    ("[ferritin]\nadult = ['20', 300]\n", "must be two numbers"),
    ("[ferritin]\nadults = [20, 300]\n", "sets 'adult' and/or 'child' only"),
    ("[il6]\nadult = [-1, 7]\n", "IL-6 adult [-1, 7] is not possible"),
    ("[il6]\nadult = [0, 2000000]\n", "both from 0 to 1,000,000 pg/mL"),
    ("ferritin = 3\n", "sets 'adult' and/or 'child' only"),
    ("[ferritin\n", "not a TOML file"),
])
def test_a_bad_reference_range_file_is_refused_naming_the_test_and_the_rule(text, message):
    with pytest.raises(reference_ranges.ReferenceRangeError, match=re.escape(message)):
        reference_ranges.parse(text)


def test_the_app_does_not_start_on_a_bad_reference_range_file(tmp_path):
    from monitoring import settings as site_settings
    bad = tmp_path / "ranges.toml"
    bad.write_text("[ferritin]\nadult = [300, 20]\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="ferritin adult"):
        site_settings.load({"WARD_REFERENCE_RANGES": str(bad)})


@settings(max_examples=80, deadline=None)
@given(test=st.sampled_from(MARKERS), data=st.data())
def test_a_conversion_to_the_canonical_unit_and_back_gives_the_value_entered(test, data):
    a = units.ANALYTES[test]
    unit = data.draw(st.sampled_from(list(a.factors)))
    value = data.draw(st.floats(min_value=0, max_value=a.maximum / a.factors[unit]))
    canonical = units.to_canonical(test, value, unit)
    assert canonical / a.factors[unit] == pytest.approx(value, rel=1e-9, abs=1e-12)
    units.check_value(test, value, unit)   # within the limit: never refused


def test_the_markers_document_lists_every_test_with_its_unit_and_loinc_codes():
    with open("docs/markers.md", encoding="utf-8") as f:
        doc = f.read()
    for a in units.ANALYTES.values():
        line = next((x for x in doc.splitlines() if f"| `{a.key}` |" in x), None)
        assert line is not None, a.key
        assert f"| {a.canonical} |" in line and all(code in line for code in a.loinc), a.key
