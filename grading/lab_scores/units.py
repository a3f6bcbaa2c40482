"""Lab units (spec §6.3): the canonical unit of each test and the factors from other units.

value in the canonical unit = value as entered x factor. The ward record converts every lab
with this table when it is stored (``WardStore.record_lab``).
"""

from __future__ import annotations

import math

LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {  # test -> (canonical unit, factors)
    "crp": ("mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}),
    "ferritin": ("ng/mL", {"ng/mL": 1.0, "µg/L": 1.0, "ug/L": 1.0}),
    "ldh": ("U/L", {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}),
    "platelets": ("10^9/L", {"10^9/L": 1.0, "/µL": 0.001, "/uL": 0.001}),
    "creatinine": ("mg/dL", {"mg/dL": 1.0, "µmol/L": 1 / 88.4, "umol/L": 1 / 88.4}),
    "anc": ("/µL", {"/µL": 1.0, "/uL": 1.0, "10^9/L": 1000.0}),
    "haemoglobin": ("g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.611}),
    "fibrinogen": ("mg/dL", {"mg/dL": 1.0, "g/L": 100.0}),
    "il6": ("pg/mL", {"pg/mL": 1.0, "ng/L": 1.0}),
    "alt": ("U/L", {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}),
    "ast": ("U/L", {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}),
}


# Hard plausibility limits in the canonical unit (decision L16, engineering defaults [I] like
# spec §6.1, not a published standard): above them a value is not possible, and is most often
# a value in another unit - a platelet count per µL in the 10^9/L field, a haemoglobin in g/L
# in the g/dL field, a creatinine in µmol/L in the mg/dL field, an ANC per µL as 10^9/L.
LAB_MAXIMUM: dict[str, float] = {
    "crp": 100.0,              # mg/dL (1000 mg/L)
    "ferritin": 1_000_000.0,   # ng/mL
    "ldh": 100_000.0,          # U/L
    "platelets": 5_000.0,      # 10^9/L
    "creatinine": 40.0,        # mg/dL (3536 µmol/L)
    "anc": 1_000_000.0,        # /µL (1000 x 10^9/L)
    "haemoglobin": 25.0,       # g/dL
    "fibrinogen": 2_000.0,     # mg/dL (20 g/L)
    "il6": 1_000_000.0,        # pg/mL
    "alt": 100_000.0,          # U/L
    "ast": 100_000.0,          # U/L
}


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
        raise LabUnitError(f"{test} {_number(value)} {unit} is not possible: allowed 0 to "
                           f"{_number(top, 6)} {unit} (check the unit: {test} may also be "
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
