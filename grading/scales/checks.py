"""Cross-field rules for the inputs of the other scales (spec §3), run by the CSV reader.

Called once from ``parse._cross_checks`` with the typed columns; every problem names the row,
the column, the value and the other field it contradicts, like the canonical cross-field rules
(docs/clinical-decisions.md X2-X4).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..fields import DOSE_FIELDS, FIELD_BY_NAME, ICE_ITEMS, code_of


class _Collector(Protocol):  # parse._Collector
    def rows(self, column: str, mask: np.ndarray, values: Any, message: str,
             related: tuple[str, ...] = (), code: str = "cross_field",
             words: str | None = None) -> None: ...


class _Num:
    """Formats only the cells a message names."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __getitem__(self, i: int) -> str:
        v = self.x[i]
        return "" if np.isnan(v) else f"{v:g}"


class _Word:
    def __init__(self, field: str, codes: np.ndarray) -> None:
        self.values, self.codes = FIELD_BY_NAME[field].values, codes

    def __getitem__(self, i: int) -> str:
        c = int(self.codes[i])
        return "" if c < 0 else self.values[c]


def _agents(mask: int) -> str:
    if mask < 0:
        return "no vasopressors recorded yet"
    if mask == 0:
        return "none"
    values = FIELD_BY_NAME["vasopressors"].values
    return ";".join(v for i, v in enumerate(values) if mask >> i & 1)


def check(c: dict[str, np.ndarray], po: Any, out: _Collector) -> None:
    """Add every problem with the scale inputs to ``out``. ``po`` is the PatientOrder.
    Each rule runs only when its column holds a value (most files have none of these)."""
    dosed = {column: ~np.isnan(c[column]) for column, _, _ in DOSE_FIELDS}
    if any(given.any() for given in dosed.values()):
        _check_doses(c, po, dosed, out)
    _check_neuro_inputs(c, out)


def _check_doses(c: dict[str, np.ndarray], po: Any, dosed: dict[str, np.ndarray],
                 out: _Collector) -> None:
    vaso = po.sort(c["vasopressors"])
    in_force = po.unsort(po.take(vaso, po.ffill_index(vaso >= 0), -1).astype(np.int64))
    agents = FIELD_BY_NAME["vasopressors"].values
    seen: dict[str, str] = {}
    for column, agent, _ in DOSE_FIELDS:
        dose = c[column]
        given = dosed[column]
        bit = 1 << agents.index(agent)
        out.rows(column, given & (dose == 0), _Num(dose),
                 f"a dose of 0: record {agent} as stopped in vasopressors instead",
                 words=f"a dose of 0: record {agent} as no longer running instead")
        off = given & (dose > 0) & ((in_force < 0) | ((in_force & bit) == 0))
        for mask in np.unique(in_force[off]):
            out.rows(column, off & (in_force == mask), _Num(dose),
                     f"a {agent} dose needs {agent} running in vasopressors (in force on this "
                     f"row: {_agents(int(mask))})", related=("vasopressors",),
                     words=f"a {agent} dose needs {agent} among the vasoactive infusions "
                     "running")
        other = seen.get(agent)
        if other is not None:
            out.rows(column, given & ~np.isnan(c[other]), _Num(dose),
                     f"give the {agent} dose once: in {other} or in {column}, not both",
                     related=(other,), words=f"give the {agent} dose once: "
                     f"{FIELD_BY_NAME[other].unit} or {FIELD_BY_NAME[column].unit}, not both")
        seen[agent] = column


def _check_neuro_inputs(c: dict[str, np.ndarray], out: _Collector) -> None:
    head = c["cartox_head_of_state"]
    asked = ~np.isnan(head)
    if asked.any():
        ice = np.logical_and.reduce([~np.isnan(c[x]) for x in ICE_ITEMS])
        out.rows("cartox_head_of_state", asked & ~ice, _Num(head),
                 "the CARTOX-10 head-of-state point is asked with the ICE items: record all "
                 "five ICE items on the same row")

    kind = c["seizure_type"]
    if (kind >= 0).any():
        seizure = c["seizure"]
        no_seizure = (seizure < 0) | (seizure == code_of("seizure", "none"))
        out.rows("seizure_type", (kind >= 0) & no_seizure, _Word("seizure_type", kind),
                 "a seizure type needs a seizure (resolved_rapidly or prolonged_or_repetitive) "
                 "on the same row", related=("seizure",),
                 words="a seizure type needs a seizure recorded on the same assessment")

    stage = c["papilledema_frisen_stage"]
    if np.isnan(stage).all():
        return
    signs = c["raised_icp_signs"]
    bit = 1 << FIELD_BY_NAME["raised_icp_signs"].values.index("papilledema")
    has_sign = (signs >= 0) & ((signs & bit) != 0)
    out.rows("papilledema_frisen_stage", (stage >= 1) & ~has_sign, _Num(stage),
             "a papilloedema stage of 1 or more needs papilledema among raised_icp_signs on the "
             "same row (ASTCT grades any papilloedema)", related=("raised_icp_signs",),
             words="a papilloedema stage of 1 or more needs papilloedema among the raised ICP "
             "signs (ASTCT grades any papilloedema)")
    out.rows("papilledema_frisen_stage", (stage == 0) & has_sign, _Num(stage),
             "stage 0 means no papilloedema, but raised_icp_signs on the same row records "
             "papilledema", related=("raised_icp_signs",),
             words="stage 0 means no papilloedema, but the raised ICP signs record it")
