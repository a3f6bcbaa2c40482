"""Lab units (spec §6.3): the canonical unit of each test and the factors from other units.

value in the canonical unit = value as entered x factor. The ward record converts every lab
with this table when it is stored (``WardStore.record_lab``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Analyte:
    """One laboratory test the ward records: the ONE table of analytes (issue 18 point 11).

    ``factors``: value in the canonical unit = value as entered x factor (spec §6.3).
    ``maximum``: the hard plausibility limit in the canonical unit (decision L16): above it a
    value is not possible (most often a value in another unit) and is refused.
    ``expected``: the range (canonical unit) inside which a value is unremarkable for a CAR-T
    ward; a value outside it but within the limits is possible, accepted and highlighted for
    a second look (decision W14; engineering defaults, not reference ranges). A later issue
    (cytokines, issue 20) adds fields here (LOINC code, the site's reference range) without
    a second table."""

    key: str
    words: str                       # how a clinician names it
    canonical: str                   # the canonical unit
    factors: dict[str, float]        # accepted unit -> factor to the canonical unit
    maximum: float                   # hard limit, canonical unit (L16)
    expected: tuple[float, float]    # outside: accepted and highlighted (W14)


_KAT = {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}
ANALYTES: dict[str, Analyte] = {a.key: a for a in (
    Analyte("crp", "CRP", "mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}, 100.0, (0.0, 50.0)),
    Analyte("ferritin", "ferritin", "ng/mL", {"ng/mL": 1.0, "µg/L": 1.0, "ug/L": 1.0},
            1_000_000.0, (5.0, 100_000.0)),
    Analyte("ldh", "LDH", "U/L", dict(_KAT), 100_000.0, (50.0, 10_000.0)),
    Analyte("platelets", "platelets", "10^9/L",
            {"10^9/L": 1.0, "/µL": 0.001, "/uL": 0.001}, 5_000.0, (1.0, 1_500.0)),
    Analyte("creatinine", "creatinine", "mg/dL",
            {"mg/dL": 1.0, "µmol/L": 1 / 88.4, "umol/L": 1 / 88.4}, 40.0, (0.1, 15.0)),
    Analyte("anc", "neutrophils (ANC)", "/µL", {"/µL": 1.0, "/uL": 1.0, "10^9/L": 1000.0},
            1_000_000.0, (0.0, 50_000.0)),
    Analyte("haemoglobin", "haemoglobin", "g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.611},
            25.0, (4.0, 20.0)),
    Analyte("fibrinogen", "fibrinogen", "mg/dL", {"mg/dL": 1.0, "g/L": 100.0}, 2_000.0,
            (50.0, 1_000.0)),
    Analyte("il6", "IL-6", "pg/mL", {"pg/mL": 1.0, "ng/L": 1.0}, 1_000_000.0,
            (0.0, 100_000.0)),
    Analyte("alt", "ALT", "U/L", dict(_KAT), 100_000.0, (1.0, 5_000.0)),
    Analyte("ast", "AST", "U/L", dict(_KAT), 100_000.0, (1.0, 5_000.0)),
)}

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
