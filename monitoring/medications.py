"""The medications the ward records: the ONE table of drugs, their routes, units and dose
limits (issue 18 point 11; decision W14).

A dose is checked against its drug and unit: above ``most`` (or zero, or not a number) it is
not possible, is refused, and the message names the field and the range allowed; outside
``usual`` but possible it is accepted and highlighted for a second look. The limits are
engineering defaults for adult and paediatric CAR-T care taken from the products' labels
(e.g. tocilizumab at most 800 mg a dose, Actemra prescribing information; noradrenaline
rarely above 1 µg/kg/min), not prescribing advice: the software records and checks, the
prescriber decides.

``field`` is the canonical "given since the previous assessment" column the drug sets for the
grade (spec §2.3): tocilizumab counts for the tocilizumab tracker and limits, steroids for
"corticosteroid given", the antipyretics for the fever waiver. The vasopressors have none:
the grade takes vasopressors from the bedside assessment's ongoing support, which says what
is running at the time of the assessment (ASTCT 2019); a MAR entry documents the dose given
and the page asks for the bedside chart to match (decision W14).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ROUTES = {"IV": "intravenous", "SC": "subcutaneous", "PO": "by mouth", "PR": "rectal",
          "IM": "intramuscular"}


@dataclass(frozen=True)
class DoseLimit:
    most: float                    # above: not possible, refused
    usual: tuple[float, float]     # outside (and possible): accepted, highlighted


@dataclass(frozen=True)
class Drug:
    kind: str
    words: str
    field: str | None                  # the canonical "given" column it sets, if any
    routes: tuple[str, ...]
    doses: dict[str, DoseLimit]        # unit -> limits; the first unit is the usual one

    @property
    def unit(self) -> str:
        return next(iter(self.doses))


_MG = "mg"
DRUGS: dict[str, Drug] = {d.kind: d for d in (
    Drug("tocilizumab", "tocilizumab", "tocilizumab_given", ("IV",),
         {_MG: DoseLimit(1200.0, (20.0, 800.0))}),
    Drug("dexamethasone", "dexamethasone", "corticosteroid_given", ("IV", "PO"),
         {_MG: DoseLimit(200.0, (1.0, 20.0))}),
    Drug("methylprednisolone", "methylprednisolone", "corticosteroid_given", ("IV", "PO"),
         {_MG: DoseLimit(3000.0, (10.0, 1000.0))}),
    # anti-IL-1 / anti-IL-6 agents other than tocilizumab: never counted as tocilizumab (its
    # dose limits), but they act like it for the fever waiver and A3 (decisions C20, W10)
    Drug("anakinra", "anakinra", "anticytokine_given", ("SC", "IV"),
         {_MG: DoseLimit(2000.0, (20.0, 400.0))}),
    Drug("siltuximab", "siltuximab", "anticytokine_given", ("IV",),
         {_MG: DoseLimit(3000.0, (50.0, 1200.0))}),
    Drug("other_anticytokine", "other anti-IL-6 / anti-IL-1 agent", "anticytokine_given",
         ("IV", "SC"), {_MG: DoseLimit(3000.0, (1.0, 1200.0))}),
    Drug("paracetamol", "paracetamol (acetaminophen)", "antipyretic_given", ("PO", "IV", "PR"),
         {_MG: DoseLimit(2000.0, (60.0, 1000.0)), "g": DoseLimit(2.0, (0.06, 1.0))}),
    Drug("ibuprofen", "ibuprofen", "antipyretic_given", ("PO", "IV"),
         {_MG: DoseLimit(2400.0, (50.0, 800.0))}),
    Drug("antipyretic", "antipyretic", "antipyretic_given", ("PO", "IV", "PR"),
         {_MG: DoseLimit(2400.0, (50.0, 1000.0))}),
    Drug("noradrenaline", "noradrenaline (norepinephrine)", None, ("IV",),
         {"µg/kg/min": DoseLimit(5.0, (0.01, 1.0)), "µg/min": DoseLimit(300.0, (1.0, 60.0))}),
    Drug("vasopressin", "vasopressin", None, ("IV",),
         {"units/min": DoseLimit(0.2, (0.01, 0.04))}),
    Drug("adrenaline", "adrenaline (epinephrine)", None, ("IV", "IM"),
         {"µg/kg/min": DoseLimit(5.0, (0.01, 1.0)), "µg/min": DoseLimit(300.0, (1.0, 30.0)),
          _MG: DoseLimit(5.0, (0.1, 1.0))}),
    Drug("phenylephrine", "phenylephrine", None, ("IV",),
         {"µg/min": DoseLimit(1000.0, (10.0, 200.0)),
          "µg/kg/min": DoseLimit(20.0, (0.1, 3.0)), "µg": DoseLimit(2000.0, (50.0, 500.0))}),
    Drug("dopamine", "dopamine", None, ("IV",),
         {"µg/kg/min": DoseLimit(50.0, (2.0, 20.0))}),
    Drug("fluid_bolus", "IV fluid bolus", "fluid_bolus_given", ("IV",),
         {"mL": DoseLimit(5000.0, (50.0, 2000.0))}),
)}
VASOPRESSORS = tuple(k for k, d in DRUGS.items() if d.field is None)
# The order the MAR offers them in (the unspecified "antipyretic" and the fluid bolus are
# kept for the case builder and older records).
MAR_KINDS = ("tocilizumab", "dexamethasone", "methylprednisolone", "anakinra", "siltuximab",
             "other_anticytokine", "paracetamol", "ibuprofen", *VASOPRESSORS, "fluid_bolus")


# Why a dose was given (decision W20): what a cellular-therapy registry asks of each therapy
# ("therapy for CRS", "therapy for neurotoxicity", CIBMTR form 4100; docs/registry.md) and
# what a clinician tells apart at the bedside. "crs_icans" is one dose for both at once (a
# dexamethasone dose with CRS and ICANS ongoing); "iec_hs" is IEC-associated HLH-like
# syndrome (Hines et al., ASTCT 2023); "prophylaxis" a dose before any CRS or ICANS to
# prevent it; "other" any other reason (an infection's fever, septic shock, an antiemetic
# steroid). "not_stated": nobody said - every dose recorded before the indication existed, an
# import that does not say, and never a guess. The indication changes no grade, flag, count
# or limit: a prophylactic tocilizumab dose still counts towards the tocilizumab limits.
INDICATIONS = {"crs": "CRS", "icans": "ICANS", "crs_icans": "CRS and ICANS",
               "iec_hs": "IEC-HS (HLH-like)", "prophylaxis": "prophylaxis",
               "other": "another reason", "not_stated": "not stated"}
NOT_STATED = "not_stated"
# The drugs whose reason the Medications page asks for before it saves (decision W20): the
# anti-cytokine agents and corticosteroids, the therapies a registry asks "for CRS" or "for
# neurotoxicity". "not stated" stays a choice: a nurse who does not know says so, never guesses.
INDICATION_ASKED = ("tocilizumab", "dexamethasone", "methylprednisolone", "anakinra",
                    "siltuximab", "other_anticytokine")
# the indications a dose counts under for each syndrome in the registry (decision R11)
FOR_SYNDROME = {"crs": ("crs", "crs_icans"), "icans": ("icans", "crs_icans")}


class IndicationError(ValueError):
    """An indication the ward does not record: names the field and the allowed values."""


def check_indication(indication: object) -> str:
    """The indication as stored, else ``IndicationError`` naming the field and what is
    allowed."""
    if not isinstance(indication, str) or indication not in INDICATIONS:
        raise IndicationError(
            f"given for: '{indication}' is not an indication the ward records; one of "
            + ", ".join(f"{k} ({w})" for k, w in INDICATIONS.items()))
    return indication


class DoseError(ValueError):
    """A dose that cannot be recorded: names the field and what is allowed."""


def _n(x: float) -> str:
    return f"{float(f'{x:.6g}'):f}".rstrip("0").rstrip(".")


def check_dose(kind: str, dose: float | None, unit: str | None, route: str | None) -> str | None:
    """Refuse what is not possible (``DoseError`` naming the field and the allowed values or
    range); return why a possible dose is unusual, else None. ``dose`` None (not known, as
    older and imported records) is allowed; a unit and a route of None mean the drug's
    usual unit and no route recorded."""
    drug = DRUGS.get(kind)
    if drug is None:
        raise DoseError("medication: not a kind the ward records; one of "
                        + ", ".join(DRUGS[k].words for k in DRUGS))
    if route is not None and route not in drug.routes:
        raise DoseError(f"route: {drug.words} is recorded as "
                        + " or ".join(f"{r} ({ROUTES[r]})" for r in drug.routes))
    unit = drug.unit if unit is None else unit
    if unit not in drug.doses:
        raise DoseError(f"unit: {drug.words} is recorded in " + " or ".join(drug.doses))
    if dose is None:
        return None
    limit = drug.doses[unit]
    if isinstance(dose, bool) or not isinstance(dose, (int, float)) or not math.isfinite(dose) \
            or not 0 < dose <= limit.most:
        raise DoseError(f"dose: {drug.words} {dose if not isinstance(dose, float) else _n(dose)}"
                        f" {unit} is not possible: allowed above 0 up to {_n(limit.most)} {unit}")
    lo, hi = limit.usual
    if lo <= dose <= hi:
        return None
    side = "below" if dose < lo else "above"
    return (f"{drug.words} {_n(dose)} {unit} is unusual ({side} the usual {_n(lo)} to "
            f"{_n(hi)} {unit}): check the dose and the unit")


def uncharted_vasopressors(administrations: Sequence[Mapping[str, Any]],
                           times: Sequence[datetime], pressors_in_force: Sequence[str | None],
                           since: datetime) -> list[tuple[Mapping[str, Any], datetime | None]]:
    """The vasopressor doses given since ``since`` that the bedside chart does not show
    (decision W14: the grade reads the bedside assessment): each with the first assessment at
    or after it whose vasopressors in force are none, or with None when no assessment
    follows it yet. ``times`` and ``pressors_in_force`` are the course's rows, time order."""
    out: list[tuple[Mapping[str, Any], datetime | None]] = []
    for m in administrations:
        if m["kind"] not in VASOPRESSORS or m["given_at"] < since:
            continue
        i = bisect.bisect_left(list(times), m["given_at"])
        if i == len(times):
            out.append((m, None))
        elif pressors_in_force[i] in (None, "", "none"):
            out.append((m, times[i]))
    return out
