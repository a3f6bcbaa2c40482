"""What every other scale reads at one assessment (spec §3): ``ScaleInputs``.

Built on the ASTCT snapshot of the same row (``GradedTimeline.snapshot``, which the tests hold
equal to the row-wise ``reference.snapshots``: carry-forward, look-back windows and attribution
exactly as ASTCT reads them, decisions D1-D8 and C5), plus what only the
other scales need: vasopressor doses and whether they are a high dose held for 3 h, cumulative
vasopressor time per episode (MSKCC), FiO2 recorded or estimated from the flow, organ-toxicity
grades, Penn's IV therapy and coagulation products, and the CARTOX-10 / CRES items.
One plain loop per patient in time order, a small tracker per input (decisions X1-X14).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from .. import rules
from ..fields import DOSE_FIELDS, FIELD_BY_NAME, ICE_ITEMS
from ..instants import elapsed, hours_between, instant, is_after
from ..parse import Assessments
from ..snapshot import Snapshot
from ..timeline import grade
from .vasopressors import HIGH_DOSE_MINIMUM, PRESSORS, Dose, HighDose, high_dose

PENN_LOOKBACK = timedelta(hours=24)         # X10: IV therapy, coagulation products, boluses
VASOPRESSOR_EPISODE_GAP = timedelta(hours=48)  # X9: like CRS-R3b, 48 h off pressors ends it
ORGANS = ("transaminitis", "creatinine", "other_organ")

# X11 / spec §3.1: FiO2 from the nasal-cannula flow, 21 % + 4 % per L/min (rough rule [R]).
FIO2_ROOM_AIR = 21.0
FIO2_PER_L_MIN = 4.0
# X11: devices whose usual FiO2 lies entirely on one side of 40 % when none is recorded
# (device -> (estimate %, wording)). Others (simple face mask 35-55 %, HFNC, Venturi, CPAP/BiPAP,
# ventilator: set on the device) are "not recorded".
DEVICE_FIO2_ESTIMATE: dict[str, tuple[float, str]] = {
    "non_rebreather_mask": (60.0, "a non-rebreather mask delivers about 60-90 %"),
}


@dataclass(frozen=True)
class Fio2:
    value: float | None        # % (None: not known)
    estimated: bool
    how: str                   # in ward words: "recorded 35 %", "≈ 29 % from 2 L/min", ...
    time: datetime | None


@dataclass(frozen=True)
class Pressors:
    """The vasopressors in force and their doses, for the older scales."""

    running: frozenset[str]            # counted agents and vasopressin-like (inotropes left out)
    doses: dict[str, Dose]
    high: HighDose
    high_since: datetime | None        # the dose has been high since (None: not high now)
    hours: float                       # cumulative time on vasopressors in this episode (X9)
    hours_at_least: bool               # already running at the patient's first assessment
    time: datetime | None              # when the vasopressors in force were recorded

    def high_for(self, now: datetime) -> timedelta | None:
        return None if self.high_since is None else elapsed(now, self.high_since)

    def high_held(self, now: datetime) -> bool:
        """Spec §1.5: a high dose counts once it has been needed for at least 3 h."""
        held = self.high_for(now)
        return held is not None and held >= HIGH_DOSE_MINIMUM


@dataclass(frozen=True)
class ScaleInputs:
    astct: Snapshot
    row: int                                   # input position
    weight_kg: float | None
    pressors: Pressors
    fio2: Fio2
    organ: dict[str, tuple[int, datetime]]     # organ -> CTCAE grade in force, when graded
    boluses: tuple[datetime, ...]              # fluid boluses in the last 24 h
    iv_therapy: datetime | None                # last IV therapy for CRS in the last 24 h
    coagulation_products: datetime | None      # last FFP / cryo / fibrinogen in the last 24 h
    ice_items: dict[str, int] | None           # the ICE the ASTCT grade used (same row)
    head_of_state: int | None                  # CARTOX-10 fifth orientation point (same row)
    seizure_type: str | None                   # of the seizure record in force
    papilledema_stage: int | None              # of the raised-ICP record in force
    csf_opening_pressure: tuple[float, datetime] | None
    capd_used: bool = False                    # the cognitive score in force is a CAPD
    first_time: datetime | None = None         # the patient's first assessment
    notes: tuple[str, ...] = field(default=())
    # the ASTCT domains the one compiled pass found (fever 0/1, hypotension and oxygen
    # components, None when not known), for comparing scales by domain
    astct_fever: int | None = None
    astct_hypotension: int | None = None
    astct_oxygen: int | None = None

    @property
    def time(self) -> datetime:
        return self.astct.time


def _value(f_kind: str, name: str, v: object, tz: object) -> object:
    if f_kind == "time":
        return None if pd.isna(v) else v.tz_convert(tz).to_pydatetime()  # type: ignore[union-attr]
    if f_kind in ("number", "integer"):
        return None if np.isnan(v) else float(v)  # type: ignore[arg-type]
    if f_kind == "boolean":
        return None if v < 0 else bool(v)  # type: ignore[operator]
    values = FIELD_BY_NAME[name].values
    if f_kind == "choice":
        return None if v < 0 else values[int(v)]  # type: ignore[call-overload,operator]
    if f_kind == "choices":
        mask = int(v)  # type: ignore[call-overload]
        return None if mask < 0 else frozenset(x for i, x in enumerate(values) if mask >> i & 1)
    return str(v)


NEEDED = ("patient_id", "time", "vasopressors", "fluid_bolus_given", "fio2_pct",
          "o2_flow_l_min", "o2_device", *ICE_ITEMS, "seizure", "raised_icp_signs",
          "attributed_elsewhere", *(f for f, _, _ in DOSE_FIELDS), "weight_kg",
          "transaminitis_ctcae_grade", "creatinine_ctcae_grade", "other_organ_ctcae_grade",
          "iv_therapy_given", "coagulopathy_products_given", "cartox_head_of_state", "seizure_type",
          "papilledema_frisen_stage", "csf_opening_pressure_mmhg")


def _rows(a: Assessments) -> list[dict[str, object]]:
    df = a.frame
    cols = {n: df[n].to_numpy() for n in NEEDED}
    kinds = {n: FIELD_BY_NAME[n].kind for n in NEEDED}
    times = df["time"]
    out = []
    for i in range(len(df)):
        r: dict[str, object] = {}
        for n in NEEDED:
            if n == "time":
                r[n] = times.iat[i].tz_convert(a.tz).to_pydatetime()
            elif n == "patient_id":
                r[n] = str(cols[n][i])
            else:
                r[n] = _value(kinds[n], n, cols[n][i], a.tz)
        out.append(r)
    return out


def astct_snapshots(a: Assessments) -> list[Snapshot]:
    """The ASTCT snapshot of every row, in input order."""
    return _astct(a)[0]


def _astct(a: Assessments) -> tuple[list[Snapshot], list[tuple[int | None, ...]]]:
    """Every row's ASTCT snapshot and the domains (fever, hypotension, oxygen) the compiled
    pass found, in input order."""
    g = grade(a)
    s = g.sorted_of(np.arange(len(a)))
    c = g.col
    temp_src = c["temp_src"][s]
    fever = np.where(temp_src < 0, -1,
                     g.rows.hot[temp_src] & ~c["fever_attr"][s]).astype(np.int64)
    domains = [tuple(None if v < 0 else int(v) for v in x)
               for x in zip(fever, c["bp_comp"][s], c["o2_comp"][s])]
    return [g.snapshot(int(i)) for i in s], domains


def scale_inputs(a: Assessments, weights: Mapping[str, float] | None = None
                 ) -> list[ScaleInputs]:
    """The inputs of every row, in input order. ``weights``: patient id -> weight (kg) to use
    when the rows record none (the ward record's admission weight; decision X7)."""
    snaps, domains = _astct(a)
    rows = _rows(a)
    by_patient: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_patient.setdefault(str(r["patient_id"]), []).append(i)
    out: list[ScaleInputs | None] = [None] * len(rows)
    for pid, idx in by_patient.items():
        idx.sort(key=lambda i: instant(rows[i]["time"]))  # type: ignore[arg-type]
        fallback = (weights or {}).get(pid)
        for i, x in zip(idx, _patient_inputs([rows[i] for i in idx], [snaps[i] for i in idx],
                                             idx, fallback)):
            out[i] = x
    return [replace(x, astct_fever=d[0], astct_hypotension=d[1], astct_oxygen=d[2])
            for x, d in zip(out, domains)]  # type: ignore[arg-type]


def _patient_inputs(rows: list[dict[str, object]], snaps: list[Snapshot], positions: list[int],
                    fallback_weight: float | None) -> list[ScaleInputs]:
    """One patient's rows in time order, each input kept by its own tracker below."""
    # keyed by instant: two wall-clock-equal times of a fall-back night are two assessments
    by_time = {instant(r["time"]): r for r in rows}  # type: ignore[arg-type]
    first_time: datetime = rows[0]["time"]  # type: ignore[assignment]
    weight = _Weight(rows, fallback_weight)
    pressors = _PressorTracker(first_time)
    fio2 = _Fio2Tracker()
    events = _EventTracker()
    out = []
    for r, s, pos in zip(rows, snaps, positions):
        t: datetime = r["time"]  # type: ignore[assignment]
        kg = weight.update(r)
        out.append(ScaleInputs(
            astct=s, row=pos, weight_kg=kg, pressors=pressors.update(r, s, t, kg),
            fio2=fio2.update(r, s, t), **events.update(r, t), **_neuro(s, by_time),
            first_time=first_time))
    return out


class _Weight:
    """X7: a patient attribute like age - the latest on a row applies forward, the first also
    back; without any, the ward record's admission weight."""

    def __init__(self, rows: list[dict[str, object]], fallback: float | None) -> None:
        weights = [r["weight_kg"] for r in rows if r["weight_kg"] is not None]
        self.kg: float | None = weights[0] if weights else fallback  # type: ignore[assignment]

    def update(self, r: dict[str, object]) -> float | None:
        if r["weight_kg"] is not None:
            self.kg = r["weight_kg"]  # type: ignore[assignment]
        return self.kg


class _PressorTracker:
    """The vasopressors in force with their doses (X5), how long a high dose has run (X14) and
    the cumulative time on vasopressors per episode (X9)."""

    def __init__(self, first_time: datetime) -> None:
        self.first_time = first_time
        self.doses: dict[str, tuple[float, bool, datetime]] = {}  # agent -> (charted, per kg, t)
        self.high_since: datetime | None = None
        self.hours, self.at_least = 0.0, False
        self.prev_time: datetime | None = None
        self.prev_on = False
        self.off_since: datetime | None = None   # vasopressors stopped at

    def update(self, r: dict[str, object], s: Snapshot, t: datetime,
               weight: float | None) -> Pressors:
        running = frozenset(a for a in (s.vasopressors or frozenset()) if a in PRESSORS)
        in_force = self._doses(r, t, running, weight)
        hd = high_dose(running, in_force)
        self.high_since = (self.high_since or t) if hd.high else None
        on = bool(running)
        self._clock(t, on)
        return Pressors(running, in_force, hd, self.high_since, self.hours if on else 0.0,
                        self.at_least and on, s.vasopressors_time)

    def _doses(self, r: dict[str, object], t: datetime, running: frozenset[str],
               weight: float | None) -> dict[str, Dose]:
        """X5: a dose is in force while its agent keeps running."""
        self.doses = {a: d for a, d in self.doses.items() if a in running}
        for column, agent, per_kg in DOSE_FIELDS:
            v = r[column]
            if v is not None:
                self.doses[agent] = (float(v), per_kg, t)  # type: ignore[arg-type]
        return {a: Dose(a, v, per_kg, when, _per_min(a, v, per_kg, weight))
                for a, (v, per_kg, when) in self.doses.items()}

    def _clock(self, t: datetime, on: bool) -> None:
        """X9: an interval counts when the previous row had a vasopressor in force; more than
        48 h off them starts a new episode."""
        if self.prev_on and self.prev_time is not None:
            self.hours += hours_between(t, self.prev_time)
        if on and not self.prev_on and (self.off_since is None
                                        or elapsed(t, self.off_since) > VASOPRESSOR_EPISODE_GAP):
            self.hours, self.at_least = 0.0, instant(t) == instant(self.first_time)
        if self.prev_on and not on:
            self.off_since = t
        self.prev_time, self.prev_on = t, on


class _Fio2Tracker:
    """X11: a recorded FiO2 since the device was set, else estimated from the flow."""

    def __init__(self) -> None:
        self.recorded: tuple[float, datetime] | None = None
        self.device: str | None = None
        self.flow_time: datetime | None = None

    def update(self, r: dict[str, object], s: Snapshot, t: datetime) -> Fio2:
        if r["o2_device"] is not None and r["o2_device"] != self.device:
            self.recorded = None
        if r["o2_device"] is not None:
            self.device = r["o2_device"]  # type: ignore[assignment]
        if r["o2_flow_l_min"] is not None:
            self.flow_time = t
        if r["fio2_pct"] is not None:
            self.recorded = (float(r["fio2_pct"]), t)  # type: ignore[arg-type]
        return _fio2(s, self.recorded, self.flow_time)


class _EventTracker:
    """Organ grades (carried until graded again, X8), Penn's 24 h events and fluid boluses
    (X10), and the CSF opening pressure (current until recorded again)."""

    def __init__(self) -> None:
        self.organ: dict[str, tuple[int, datetime]] = {}
        self.boluses: list[datetime] = []
        self.iv_time: datetime | None = None
        self.coag_time: datetime | None = None
        self.csf: tuple[float, datetime] | None = None

    def update(self, r: dict[str, object], t: datetime) -> dict[str, object]:
        for name in ORGANS:
            g = r[f"{name}_ctcae_grade"]
            if g is not None:
                self.organ[name] = (int(g), t)  # type: ignore[call-overload]
        if r["fluid_bolus_given"]:
            self.boluses.append(t)
        if r["iv_therapy_given"]:
            self.iv_time = t
        if r["coagulopathy_products_given"]:
            self.coag_time = t
        if r["csf_opening_pressure_mmhg"] is not None:
            self.csf = (float(r["csf_opening_pressure_mmhg"]), t)  # type: ignore[arg-type]
        return {"organ": dict(self.organ),
                "boluses": tuple(b for b in self.boluses if elapsed(t, b) <= PENN_LOOKBACK),
                "iv_therapy": _within(self.iv_time, t, PENN_LOOKBACK),
                "coagulation_products": _within(self.coag_time, t, PENN_LOOKBACK),
                "csf_opening_pressure": self.csf}


def _within(when: datetime | None, t: datetime, lookback: timedelta) -> datetime | None:
    return when if when is not None and elapsed(t, when) <= lookback else None


def _neuro(s: Snapshot, by_time: Mapping[object, dict[str, object]]) -> dict[str, object]:
    """The CARTOX-10 / CRES items of the rows the ASTCT snapshot took its neuro findings from."""
    ice_row = by_time.get(instant(s.ice_time)) if s.ice_time is not None else None
    seizure_row = by_time.get(instant(s.seizure_time)) if s.seizure_time is not None else None
    icp_row = by_time.get(instant(s.icp_time)) if s.icp_time is not None else None
    stage = None if icp_row is None else icp_row["papilledema_frisen_stage"]
    head = None if ice_row is None else ice_row["cartox_head_of_state"]
    return {
        "ice_items": None if ice_row is None else {k: int(ice_row[k])  # type: ignore[call-overload]
                                                   for k in ICE_ITEMS},
        "head_of_state": None if head is None else int(head),  # type: ignore[call-overload]
        "seizure_type": None if seizure_row is None else seizure_row["seizure_type"],
        "papilledema_stage": None if stage is None else int(stage),  # type: ignore[call-overload]
        "capd_used": s.capd_total is not None and (s.ice_total is None or (
            s.capd_time is not None and s.ice_time is not None
            and is_after(s.capd_time, s.ice_time))),
    }


def _per_min(agent: str, charted: float, per_kg: bool, weight: float | None) -> float | None:
    """The dose in the unit of the high-dose table: µg/min, except dopamine (µg/kg/min)."""
    if agent == "dopamine" or not per_kg:
        return charted
    return None if weight is None else charted * weight


def _fio2(s: Snapshot, recorded: tuple[float, datetime] | None,
          flow_time: datetime | None) -> Fio2:
    device = s.o2_device
    if device is None:
        return Fio2(None, False, "no oxygen device recorded", None)
    if device == "room_air":
        return Fio2(FIO2_ROOM_AIR, False, "room air (21 %)", s.o2_time)
    if device == "nasal_cannula":
        # the FiO2 follows the flow: a recorded FiO2 counts only if not older than the flow
        if recorded is not None and (flow_time is None
                                     or not is_after(flow_time, recorded[1])):
            return Fio2(recorded[0], False, f"FiO2 recorded {recorded[0]:g} %", recorded[1])
        if s.o2_flow_l_min is not None:
            est = min(100.0, FIO2_ROOM_AIR + FIO2_PER_L_MIN * s.o2_flow_l_min)
            return Fio2(est, True, f"FiO2 ≈ {est:g} % estimated from {s.o2_flow_l_min:g} L/min "
                        "(21 % + 4 % per L/min)", s.o2_time)
        return Fio2(None, False, "nasal cannula, flow and FiO2 not recorded", s.o2_time)
    if recorded is not None:
        return Fio2(recorded[0], False, f"FiO2 recorded {recorded[0]:g} %", recorded[1])
    if device in DEVICE_FIO2_ESTIMATE:
        value, why = DEVICE_FIO2_ESTIMATE[device]
        return Fio2(value, True, f"FiO2 not recorded: {why} (estimated)", s.o2_time)
    words = rules.DEVICE_RULE[device].label
    return Fio2(None, False, f"{words}, FiO2 not recorded", s.o2_time)
