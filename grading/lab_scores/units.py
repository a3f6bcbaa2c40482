"""Lab units (spec §6.3): the canonical unit of each test and the factors from other units.

value in the canonical unit = value as entered x factor. The ward record converts every lab
with this table when it is stored (``WardStore.record_lab``).
"""

from __future__ import annotations

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


class LabUnitError(ValueError):
    pass


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
