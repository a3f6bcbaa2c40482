"""EASIX, simplified EASIX and modified EASIX (spec §5.2).

EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L)   Luft T, et al. Lancet Haematol 2017
s-EASIX = LDH / platelets;  m-EASIX = LDH x CRP (mg/dL) / platelets   Pennisi M, et al. Blood
Adv 2021. Analyses use log2(EASIX); both are kept. The only cut-off shown is EASIX > 4.67 before
lymphodepletion (Korell F, et al. Front Immunol 2022), and only at that time point (L2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..instants import shifted
from ..words import lab_name
from .labs import LabValue, latest

KORELL_CUTOFF = 4.67   # EASIX before lymphodepletion, raw scale: higher risk above it [S]
SOURCES = {
    "easix": "Luft T, et al. Lancet Haematol. 2017;4:e414-e423; cut-off before "
             "lymphodepletion: Korell F, et al. Front Immunol. 2022;13:877477",
    "s_easix": "Pennisi M, et al. Blood Adv. 2021;5(17):3397-3406",
    "m_easix": "Pennisi M, et al. Blood Adv. 2021;5(17):3397-3406 (no single cut-off adopted)",
}
# score -> (title, the tests it multiplies over the platelets)
FORMULAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "easix": ("EASIX", ("ldh", "creatinine")),
    "s_easix": ("simplified EASIX", ("ldh",)),
    "m_easix": ("modified EASIX", ("ldh", "crp")),
}


@dataclass(frozen=True)
class Easix:
    score: str                        # easix, s_easix, m_easix
    value: float | None               # None: not evaluable
    log2: float | None
    inputs: tuple[LabValue, ...]
    note: str                         # why not evaluable, or the cut-off reading
    above_cutoff: bool | None = None  # EASIX before lymphodepletion only
    missing: tuple[str, ...] = ()     # the labs not found in the window

    @property
    def title(self) -> str:
        return FORMULAS[self.score][0]


def formula(score: str, values: dict[str, float]) -> float:
    """The raw score from canonical values (platelets > 0)."""
    _, factors = FORMULAS[score]
    product = math.prod(values[t] for t in factors)
    return product / values["platelets"]


def easix_at(labs: Sequence[LabValue], score: str, until: datetime,
             since: datetime | None, cutoff: bool = False) -> Easix:
    """``score`` from the latest value of each input taken in [since, until]."""
    _, factors = FORMULAS[score]
    picked = {t: latest(labs, t, until, since) for t in (*factors, "platelets")}
    missing = [t for t, v in picked.items() if v is None]
    inputs = tuple(v for v in picked.values() if v is not None)
    if missing:
        return Easix(score, None, None, inputs, "not evaluable: no "
                     + ", ".join(map(lab_name, missing)) + " in the window",
                     missing=tuple(missing))
    values = {t: v.value for t, v in picked.items() if v is not None}
    if values["platelets"] <= 0:  # spec §5.2: platelets must be > 0
        return Easix(score, None, None, inputs, "not evaluable: platelets 0 (division by zero)")
    raw = formula(score, values)
    log2 = math.log2(raw) if raw > 0 else None
    note, above = "", None
    if cutoff and score == "easix":
        above = raw > KORELL_CUTOFF
        note = (f"{'above' if above else 'not above'} {KORELL_CUTOFF:g} (Korell 2022: about "
                "4.3-fold odds of grade >= 3 CRS and/or ICANS above it)")
    return Easix(score, raw, log2, inputs, note, above)


def window_before(reference: datetime, days: int = 7) -> datetime:
    return shifted(reference, -timedelta(days=days))
