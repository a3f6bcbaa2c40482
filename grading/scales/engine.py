"""Grade a whole timeline by any set of scales (``python -m grading grade --scales ...``).

``SCALES`` is the registry: name (as on the command line and in the output field names),
title, which syndrome it grades, its source (spec §10) and its grading function.
``astct`` is the engine's own ASTCT grading (``grading.grade``), always present.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..parse import Assessments
from ..result import Reason
from . import cartox, cres, ctcae5, lee2014, mskcc, penn
from .common import ScaleGrade
from .inputs import ScaleInputs, scale_inputs

ASTCT = "astct"
ASTCT_SOURCE = ("Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine "
                "release syndrome and neurologic toxicity associated with immune effector "
                "cells. Biol Blood Marrow Transplant. 2019;25(4):625-638")


@dataclass(frozen=True)
class Scale:
    name: str
    title: str
    syndrome: str                 # "crs" or "icans" (the ASTCT grade it is compared with)
    source: str
    grade: Callable[[ScaleInputs], ScaleGrade]


SCALES: dict[str, Scale] = {s.name: s for s in (
    Scale(lee2014.SCALE, lee2014.TITLE, "crs", lee2014.SOURCE, lee2014.grade),
    Scale(ctcae5.SCALE, ctcae5.TITLE, "crs", ctcae5.SOURCE, ctcae5.grade),
    Scale(penn.SCALE, penn.TITLE, "crs", penn.SOURCE, penn.grade),
    Scale(mskcc.SCALE, mskcc.TITLE, "crs", mskcc.SOURCE, mskcc.grade),
    Scale(cartox.SCALE, cartox.TITLE, "crs", cartox.SOURCE, cartox.grade),
    Scale(cres.SCALE, cres.TITLE, "icans", cres.SOURCE, cres.grade),
)}
SCALE_NAMES: tuple[str, ...] = (ASTCT, *SCALES)


class UnknownScaleError(ValueError):
    pass


def parse_scales(text: str) -> tuple[str, ...]:
    """A comma list of scale names, in the order given, each once. Raises ``UnknownScaleError``."""
    names = [n.strip().lower() for n in text.split(",")]
    bad = [n for n in names if n not in SCALE_NAMES]
    if bad or not any(names):
        shown = ", ".join(f"'{n}'" for n in bad) if bad else "an empty list"
        raise UnknownScaleError(f"unknown scale {shown}; allowed: {', '.join(SCALE_NAMES)} "
                           "(comma-separated)")
    return tuple(dict.fromkeys(names))


def grade_scales(a: Assessments, names: Sequence[str],
                 weights: Mapping[str, float] | None = None) -> list[dict[str, ScaleGrade]]:
    """Every row graded by each named scale other than ``astct`` (input order).
    ``weights``: patient id -> weight (kg) used when the rows record none."""
    if not [n for n in names if n != ASTCT]:
        return [{} for _ in range(len(a))]
    return grade_inputs(scale_inputs(a, weights), names)


def grade_inputs(inputs: Sequence[ScaleInputs], names: Sequence[str]
                 ) -> list[dict[str, ScaleGrade]]:
    """Each row's ``ScaleInputs`` graded by the named scales (``astct`` left out)."""
    wanted = [SCALES[n] for n in names if n != ASTCT]
    return [{s.name: _before_infusion(s, x) if x.astct.before_infusion else s.grade(x)
             for s in wanted} for x in inputs]


def _before_infusion(scale: Scale, x: ScaleInputs) -> ScaleGrade:
    """Decision C17: a row before the infusion is a baseline observation by every scale, as
    by ASTCT: grade 0 final (each scale's toxicity follows the cell therapy)."""
    what = "CRS" if scale.syndrome == "crs" else "neurotoxicity"
    return ScaleGrade(scale.name, 0, "final", (Reason(
        "§1.1", f"before the infusion: a baseline observation, not graded as {what} "
        f"({scale.title} grades toxicity after the cell therapy) -> grade 0", x.astct.time),))
