"""Lab units (spec §6.3): the canonical unit of each test and the factors from other units.

value in the canonical unit = value as entered x factor. The ward record converts every lab
with this table when it is stored (``WardStore.record_lab``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Analyte:
    """One laboratory test the ward records: the ONE table of analytes and markers (issue 18
    point 11, issue 20 point 1; docs/markers.md).

    ``factors``: value in the canonical unit = value as entered x factor (spec §6.3).
    ``maximum``: the hard plausibility limit in the canonical unit (decision L16): above it a
    value is not possible (most often a value in another unit) and is refused.
    ``expected``: the range (canonical unit) inside which a value is unremarkable for a CAR-T
    ward; a value outside it but within the limits is possible, accepted and highlighted for
    a second look (decision W14; engineering defaults, not reference ranges).
    ``loinc``: the LOINC codes a FHIR import maps to this test, the preferred one first.
    ``reference`` / ``child_reference``: the DEFAULT reference range (canonical unit) for
    adults and for children (under 18; None = same as adults); a site sets its laboratory's
    own ranges in its reference-range file (decision M2). A bound of None is open.
    ``log_scale``: charted on a log axis (the values span orders of magnitude).
    ``worse``: "high" or "low": the direction that matters clinically (the "peak" of a
    falling count is its nadir, decision M3)."""

    key: str
    words: str                       # how a clinician names it
    canonical: str                   # the canonical unit
    factors: dict[str, float]        # accepted unit -> factor to the canonical unit
    maximum: float                   # hard limit, canonical unit (L16)
    expected: tuple[float, float]    # outside: accepted and highlighted (W14)
    loinc: tuple[str, ...] = ()
    reference: tuple[float | None, float | None] = (None, None)
    child_reference: tuple[float | None, float | None] | None = None
    log_scale: bool = False
    worse: str = "high"


_KAT = {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}
_PG = {"pg/mL": 1.0, "ng/L": 1.0}
_COUNT_PER_UL = {"/µL": 1.0, "/uL": 1.0, "10^9/L": 1000.0}
_COUNT_10_9 = {"10^9/L": 1.0, "/µL": 0.001, "/uL": 0.001}
ANALYTES: dict[str, Analyte] = {a.key: a for a in (
    # cytokines (log axis: they rise a hundred- to a thousand-fold in CRS)
    Analyte("il6", "IL-6", "pg/mL", dict(_PG), 1_000_000.0, (0.0, 100_000.0),
            ("26881-3",), (0.0, 7.0), log_scale=True),
    Analyte("ifng", "IFN-γ", "pg/mL", dict(_PG), 1_000_000.0, (0.0, 100_000.0),
            ("27415-9",), (0.0, 5.0), log_scale=True),
    Analyte("il10", "IL-10", "pg/mL", dict(_PG), 1_000_000.0, (0.0, 100_000.0),
            ("26848-2",), (0.0, 18.0), log_scale=True),
    Analyte("sil2r", "soluble IL-2 receptor (sCD25)", "pg/mL", {**_PG, "ng/mL": 1000.0},
            10_000_000.0, (50.0, 1_000_000.0), ("76039-7",), (175.0, 858.0), log_scale=True),
    # inflammation, HLH-like features and organ function
    Analyte("crp", "CRP", "mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}, 100.0, (0.0, 50.0),
            ("1988-5",), (0.0, 0.5)),
    Analyte("ferritin", "ferritin", "ng/mL", {"ng/mL": 1.0, "µg/L": 1.0, "ug/L": 1.0},
            1_000_000.0, (5.0, 100_000.0), ("2276-4",), (20.0, 300.0), (7.0, 140.0),
            log_scale=True),
    Analyte("ldh", "LDH", "U/L", dict(_KAT), 100_000.0, (50.0, 10_000.0),
            ("2532-0", "14804-9"), (140.0, 280.0)),
    Analyte("fibrinogen", "fibrinogen", "mg/dL", {"mg/dL": 1.0, "g/L": 100.0}, 2_000.0,
            (50.0, 1_000.0), ("3255-7",), (200.0, 400.0), worse="low"),
    Analyte("ddimer", "D-dimer", "µg/mL FEU",
            {"µg/mL FEU": 1.0, "ug/mL FEU": 1.0, "mg/L FEU": 1.0, "ng/mL FEU": 0.001},
            500.0, (0.0, 80.0), ("48065-7",), (0.0, 0.5), log_scale=True),
    Analyte("triglycerides", "triglycerides", "mg/dL", {"mg/dL": 1.0, "mmol/L": 88.57},
            20_000.0, (10.0, 3_000.0), ("2571-8",), (0.0, 150.0)),
    Analyte("ast", "AST", "U/L", dict(_KAT), 100_000.0, (1.0, 5_000.0), ("1920-8",),
            (10.0, 40.0)),
    Analyte("alt", "ALT", "U/L", dict(_KAT), 100_000.0, (1.0, 5_000.0), ("1742-6",),
            (7.0, 56.0)),
    Analyte("creatinine", "creatinine", "mg/dL",
            {"mg/dL": 1.0, "µmol/L": 1 / 88.4, "umol/L": 1 / 88.4}, 40.0, (0.1, 15.0),
            ("2160-0", "14682-9"), (0.6, 1.2), (0.3, 0.7)),
    # blood counts (the low side matters: the "peak" is the nadir, decision M3)
    Analyte("wbc", "white cells (WBC)", "10^9/L", dict(_COUNT_10_9), 1_000.0, (0.0, 100.0),
            ("6690-2", "26464-8"), (4.0, 11.0), worse="low"),
    Analyte("anc", "neutrophils (ANC)", "/µL", dict(_COUNT_PER_UL), 1_000_000.0,
            (0.0, 50_000.0), ("751-8", "26499-4"), (1_500.0, 8_000.0), worse="low"),
    Analyte("lymphocytes", "lymphocytes (ALC)", "/µL", dict(_COUNT_PER_UL), 1_000_000.0,
            (0.0, 50_000.0), ("731-0", "26474-7"), (1_000.0, 4_800.0), worse="low"),
    Analyte("haemoglobin", "haemoglobin", "g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.611},
            25.0, (4.0, 20.0), ("718-7",), (12.0, 17.5), (11.0, 15.5), worse="low"),
    Analyte("platelets", "platelets", "10^9/L", dict(_COUNT_10_9), 5_000.0, (1.0, 1_500.0),
            ("777-3", "26515-7"), (150.0, 400.0), worse="low"),
)}
BY_LOINC: dict[str, str] = {code: a.key for a in ANALYTES.values() for code in a.loinc}
CHILD_UNDER_YEARS = 18   # a child's reference range applies below this age (decision M2)


def reference_range(test: str, age_years: float | None,
                    site: Mapping[str, Mapping[str, tuple[float | None, float | None]]]
                    | None = None) -> tuple[float | None, float | None]:
    """The reference range of ``test`` (canonical unit) for a patient of ``age_years``: the
    site's own range when its reference-range file sets one (``site[test]["adult"|"child"]``),
    else the default of the table. A child (under 18) gets a child range where the site or the
    table has one (the table's child range before the site's adult one: it is the narrower,
    the conservative reading); an unknown age gets the adult range (decision M2)."""
    a = ANALYTES[test]
    child = age_years is not None and age_years < CHILD_UNDER_YEARS
    mine = (site or {}).get(test, {})
    if child and "child" in mine:
        return mine["child"]
    if child and a.child_reference is not None:
        return a.child_reference
    return mine.get("adult", a.reference)


# Views of the one table, as the lab scores and the record have always read it.
LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {  # test -> (canonical unit, factors)
    k: (a.canonical, a.factors) for k, a in ANALYTES.items()}
# Hard plausibility limits in the canonical unit (decision L16, engineering defaults [I] like
# spec §6.1, not a published standard): above them a value is not possible, and is most often
# a value in another unit - a platelet count per µL in the 10^9/L field, a haemoglobin in g/L
# in the g/dL field, a creatinine in µmol/L in the mg/dL field, an ANC per µL as 10^9/L.
LAB_MAXIMUM: dict[str, float] = {k: a.maximum for k, a in ANALYTES.items()}


class LabUnitError(ValueError):
    pass


def _number(x: float, digits: int = 10) -> str:
    """A number as a person would write it: no exponent, no trailing zeros."""
    if not math.isfinite(x):
        return str(x)
    return f"{float(f'{x:.{digits}g}'):f}".rstrip("0").rstrip(".")


def check_value(test: str, value: float, unit: str) -> None:
    """A value of ``test`` in ``unit`` between 0 and the test's limit (L16), else
    ``LabUnitError`` naming the test, the value, the unit and the range allowed in that unit."""
    canonical = to_canonical(test, value, unit)
    top = LAB_MAXIMUM[test] / LAB_UNITS[test][1][unit]
    if not (math.isfinite(canonical) and 0 <= canonical <= LAB_MAXIMUM[test]):
        others = [u for u in LAB_UNITS[test][1] if u != unit]
        name = ANALYTES[test].words
        raise LabUnitError(f"{name} {_number(value)} {unit} is not possible: allowed 0 to "
                           f"{_number(top, 6)} {unit} (check the unit: {name} may also be "
                           f"entered in {', '.join(others)})")


def to_canonical(test: str, value: float, unit: str) -> float:
    """The value in the test's canonical unit (spec §6.3). Raises ``LabUnitError``."""
    if test not in LAB_UNITS:
        raise LabUnitError("test must be one of " + ", ".join(LAB_UNITS))
    _, factors = LAB_UNITS[test]
    if unit not in factors:
        raise LabUnitError(f"{test}: unit must be one of " + ", ".join(factors))
    return value * factors[unit]


def canonical_unit(test: str) -> str:
    return LAB_UNITS[test][0]


def unusual(test: str, value: float, unit: str) -> str | None:
    """None when a possible value is unremarkable, else why it deserves a second look (W14):
    possible, so accepted, but outside the range the ward expects."""
    a = ANALYTES[test]
    v = to_canonical(test, value, unit)
    lo, hi = a.expected
    if lo <= v <= hi:
        return None
    f = a.factors[unit]
    side = "below" if v < lo else "above"
    edge = (lo if v < lo else hi) / f
    return (f"{a.words} {_number(value)} {unit} is unusual ({side} {_number(edge, 6)} {unit}): "
            "check the value and the unit")
