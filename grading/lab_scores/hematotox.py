"""CAR-HEMATOTOX before lymphodepletion (about day -5), spec §5.3.

Source: Rejeski K, Perez A, Sesques P, et al. CAR-HEMATOTOX: a model for CAR T-cell-related
hematologic toxicity in relapsed/refractory large B-cell lymphoma. Blood. 2021;138(24):2499-2513.
Cut-offs [R], recalled; 0-1 points = low risk (HT-low), >= 2 = high risk (HT-high). The source
does not settle a value exactly at a cut-off: each cut-off says which side it falls on
(``at_cutoff_worse``), with the spec's defaults, and a site may change them (L4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .labs import LabValue, latest

SOURCE = ("Rejeski K, Perez A, Sesques P, et al. CAR-HEMATOTOX. Blood. 2021;138(24):2499-2513 "
          "(cut-offs to be checked against the paper)")
HIGH_RISK_FROM = 2


@dataclass(frozen=True)
class Cutoff:
    """Beyond ``value`` (below it when ``low_is_worse``) the variable scores ``points``."""

    value: float
    points: int
    at_cutoff_worse: bool   # a value exactly at the cut-off scores these points too


@dataclass(frozen=True)
class Variable:
    test: str
    words: str
    unit: str
    low_is_worse: bool
    cutoffs: tuple[Cutoff, ...]


# Spec §5.3 point table with its default boundary rule:
# platelets 175 -> 1 and 75 -> 1; ANC 1.2 -> 0; Hb 9.0 -> 0; CRP 3.0 -> 0; ferritin 650 -> 1,
# 2000 -> 1.
VARIABLES: tuple[Variable, ...] = (
    Variable("platelets", "platelets", "10^9/L", True, (Cutoff(175, 1, True),
                                                        Cutoff(75, 2, False))),
    Variable("anc", "ANC", "/µL", True, (Cutoff(1200, 1, False),)),
    Variable("haemoglobin", "haemoglobin", "g/dL", True, (Cutoff(9.0, 1, False),)),
    Variable("crp", "CRP", "mg/dL", False, (Cutoff(3.0, 1, False),)),
    Variable("ferritin", "ferritin", "ng/mL", False, (Cutoff(650, 1, True),
                                                       Cutoff(2000, 2, False))),
)
DEFAULT_BOUNDARIES: dict[tuple[str, float], bool] = {
    (v.test, c.value): c.at_cutoff_worse for v in VARIABLES for c in v.cutoffs}


def points(v: Variable, value: float, boundaries: Mapping[tuple[str, float], bool]) -> int:
    got = 0
    for c in v.cutoffs:
        at_worse = boundaries.get((v.test, c.value), c.at_cutoff_worse)
        beyond = value < c.value if v.low_is_worse else value > c.value
        if beyond or (value == c.value and at_worse):
            got = max(got, c.points)
    return got


@dataclass(frozen=True)
class Hematotox:
    score: int | None                        # None: not evaluable
    known_points: int
    high_risk: bool | None                   # None: not evaluable
    items: tuple[tuple[str, LabValue, int], ...]   # (words, value used, points)
    missing: tuple[str, ...]
    note: str


def hematotox(picked: Mapping[str, LabValue | None],
              boundaries: Mapping[tuple[str, float], bool] | None = None) -> Hematotox:
    """CAR-HEMATOTOX from one value of each variable (``picked``: test -> value or None).

    With a variable missing the score is not evaluable - unless the points known already reach
    high risk, which the missing ones cannot undo (L5)."""
    rule = {**DEFAULT_BOUNDARIES, **(boundaries or {})}
    items, missing = [], []
    for v in VARIABLES:
        x = picked.get(v.test)
        if x is None:
            missing.append(v.words)
            continue
        items.append((v.words, x, points(v, x.value, rule)))
    known = sum(p for _, _, p in items)
    if not missing:
        high = known >= HIGH_RISK_FROM
        return Hematotox(known, known, high, tuple(items), (),
                         f"{known}/7: {'HT-high' if high else 'HT-low'} "
                         f"({'>= 2' if high else '0-1'} points)")
    if known >= HIGH_RISK_FROM:
        return Hematotox(None, known, True, tuple(items), tuple(missing),
                         f"at least {known}/7 without {', '.join(missing)}: HT-high")
    return Hematotox(None, known, None, tuple(items), tuple(missing),
                     f"not evaluable: no {', '.join(missing)} before lymphodepletion "
                     f"({known} points from the rest)")


def pick(labs: Sequence[LabValue], until: datetime, since: datetime | None
         ) -> dict[str, LabValue | None]:
    """The latest value of each variable taken in [since, until]."""
    return {v.test: latest(labs, v.test, until, since) for v in VARIABLES}
