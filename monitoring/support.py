"""What ongoing support is in force at each assessment: answered here and nowhere else.

design.md: ``o2_device``, ``o2_flow_l_min``, ``fio2_pct`` and ``vasopressors`` describe ongoing
support - blank means unchanged since the previous row, ``room_air`` / ``none`` ends it. An
oxygen flow (and FiO2) belongs to the device in force only when it was recorded with or after
the row where that device was last changed: the compiled pass's rule (grading/kernel.py),
pinned to it by a property test (tests/monitoring/test_course.py). The course
(``monitoring.course``), the bedside pre-fill, the charts, the overview and the flags all ask
this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grading.fields import DOSE_FIELDS, FIELD_BY_NAME
from grading.timeline import GradedTimeline

POSITIVE_PRESSURE = ("cpap", "bipap", "mechanical_ventilation")
ENDS_OXYGEN = "room_air"         # design.md: room_air ends oxygen support
NO_PRESSORS = "none"             # design.md: none ends the vasopressors
VASOPRESSOR_AGENTS = FIELD_BY_NAME["vasopressors"].values
O2_DEVICES = FIELD_BY_NAME["o2_device"].values


@dataclass(frozen=True)
class Support:
    """The ongoing support in force at one assessment. None: never recorded so far."""

    o2_device: str | None           # room_air once it was ended
    o2_flow_l_min: float | None     # None on room air, or when no flow was recorded for it
    fio2_pct: float | None          # as the flow: belongs to the device it was recorded with
    vasopressors: str | None        # canonical ';'-joined agents, or 'none'
    device_row: int | None = None   # the row where the device in force was last changed

    @property
    def on_oxygen(self) -> bool:
        return self.o2_device not in (None, ENDS_OXYGEN)

    @property
    def positive_pressure(self) -> bool:
        return self.o2_device in POSITIVE_PRESSURE

    @property
    def agents(self) -> tuple[str, ...]:
        """The vasopressor infusions running (empty: none recorded, or ended)."""
        if self.vasopressors in (None, NO_PRESSORS):
            return ()
        running = str(self.vasopressors).split(";")
        return tuple(a for a in VASOPRESSOR_AGENTS if a in running)  # the canonical order


NO_SUPPORT = Support(None, None, None, None)


def support_in_force(rows: Sequence[Mapping[str, Any]]) -> list[Support]:
    """The support in force at every row of one patient's course (rows in time order, as the
    record gives them; a blank cell is absent or None). The one definition: see the module."""
    out: list[Support] = []
    device: str | None = None
    changed: int | None = None     # the row where the device in force was last changed
    flow: tuple[int, float] | None = None   # (row, value) of the latest flow recorded
    fio2: tuple[int, float] | None = None
    pressors: str | None = None
    for i, row in enumerate(rows):
        d = row.get("o2_device")
        if d is not None:
            if d != device:
                changed = i
            device = str(d)
        if row.get("o2_flow_l_min") is not None:
            flow = (i, float(row["o2_flow_l_min"]))
        if row.get("fio2_pct") is not None:
            fio2 = (i, float(row["fio2_pct"]))
        if row.get("vasopressors") is not None:
            pressors = str(row["vasopressors"])
        on = device not in (None, ENDS_OXYGEN) and changed is not None
        out.append(Support(device, _since(flow, changed) if on else None,
                           _since(fio2, changed) if on else None, pressors, changed))
    return out


def _since(value: tuple[int, float] | None, changed: int | None) -> float | None:
    """A flow or FiO2 (row, value) if recorded with or after the device change, else None."""
    return None if value is None or changed is None or value[0] < changed else value[1]


def engine_oxygen_and_pressors(g: GradedTimeline, s: int
                               ) -> tuple[str | None, float | None, tuple[str, ...]]:
    """The oxygen device, flow and vasopressor agents the compiled pass graded sorted row
    ``s`` with: the same answer as ``support_in_force`` (tests/monitoring/test_course.py), for
    callers holding only the graded arrays (the ward overview)."""
    code = int(g.col["device"][s])
    device = None if code < 0 else O2_DEVICES[code]
    flow = float(g.col["flow"][s])
    mask = int(g.col["vaso"][s])
    agents = () if mask < 0 else tuple(v for b, v in enumerate(VASOPRESSOR_AGENTS)
                                       if mask >> b & 1)
    return (device, None if flow != flow or device in (None, ENDS_OXYGEN) else flow, agents)


# ----------------------------------------------------------------- what a new row records
SUPPORT_FIELDS = ("o2_device", "o2_flow_l_min", "fio2_pct", "vasopressors")  # ongoing support
# In force until recorded again (doses, organ grades; decisions X5, X8): blank when unchanged.
CARRIED_FIELDS = (*(f for f, _, _ in DOSE_FIELDS), "transaminitis_ctcae_grade",
                  "creatinine_ctcae_grade", "other_organ_ctcae_grade")


def changed_support(values: Mapping[str, Any], carried: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values with ongoing support and carried inputs left blank where they are
    unchanged from what is carried forward (design.md: blank = unchanged; decision W8).
    A changed flow or FiO2 is recorded with its device, and a dose with its infusions, so the
    row is valid on its own; room air ends flow and FiO2."""
    out = dict(values)
    for name in (*SUPPORT_FIELDS, *CARRIED_FIELDS):
        if name in out and out[name] == carried.get(name, "none" if name == "vasopressors"
                                                    else None):
            del out[name]
    if ("o2_flow_l_min" in out or "fio2_pct" in out) and "o2_device" not in out \
            and carried.get("o2_device"):
        out["o2_device"] = carried["o2_device"]  # a new flow on the same device
    if any(f in out for f, _, _ in DOSE_FIELDS) and "vasopressors" not in out:
        out["vasopressors"] = carried.get("vasopressors", "none")  # a dose with its infusion
    if out.get("o2_device") == "room_air":
        out.pop("o2_flow_l_min", None)
        out.pop("fio2_pct", None)
    return out
