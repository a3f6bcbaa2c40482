"""Timeline grading: every row's CRS and ICANS grade, with its reasons, for a whole file.

One compiled pass (``kernel.py``) over the rows sorted by patient and time decides every grade,
status, episode, review flag and reason; ``explain.py`` renders the reasons' and flags' words
from what the pass decided. This is the only grading path in production: the row-wise rules
(``snapshot.py``, ``reference.py``) are the tests' oracle.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import kernel, rules
from .explain import Explained, Explainer, flags_of, reasons_of, when
from .fields import FIELD_BY_NAME, ICE_ITEMS
from .kernel import NE_GRADE
from .parse import Assessments
from .result import STATUSES, Flag, Grade
from .rules import ANTICYTOKINE, ANTIPYRETIC, CORTICOSTEROID, TOCILIZUMAB, round_temp
from .sequence import NO_ROW, PatientOrder, parallel_workers
from .snapshot import Snapshot

__all__ = ["NE_GRADE", "GradedTimeline", "RowResult", "grade"]

UTC_ZONE = ZoneInfo("UTC")


@dataclass
class GradedTimeline:
    """Grades of every row. Arrays are in patient/time-sorted order (``order``)."""

    assessments: Assessments
    order: PatientOrder
    col: dict[str, np.ndarray]
    rows: kernel.Rows  # the inputs in sorted order: values are read at each ``*_src`` row
    _inverse: np.ndarray | None = None  # the sorted position of each input row (when asked)
    _memo: dict[int, RowResult] = field(default_factory=dict)  # explained, by sorted row

    # ----------------------------------------------------------------- explained results
    def snapshot(self, s: int) -> Snapshot:
        """The snapshot of sorted row ``s``, rebuilt from the arrays."""
        c, tz = self.col, self.assessments.tz

        def at(name: str) -> datetime | None:
            i = int(c[name][s])
            return None if i == NO_ROW else _dt(self.order.time_ns[i], tz)

        def num(name: str) -> float | None:
            v = c[name][s]
            return None if np.isnan(v) else float(v)

        def taken(name: str, src: str) -> float | None:  # the value at the row it came from
            j = int(c[src][s])
            return None if j == NO_ROW else float(getattr(self.rows, name)[j])

        def choice(field: str, name: str) -> str | None:
            v = int(c[name][s])
            return None if v < 0 else FIELD_BY_NAME[field].values[v]

        def choices(field: str, name: str) -> frozenset[str] | None:
            v = int(c[name][s])
            return None if v < 0 else frozenset(
                x for i, x in enumerate(FIELD_BY_NAME[field].values) if v >> i & 1)

        def whole(v: float | None) -> int | None:
            return None if v is None else int(v)

        waiver = int(c["waiver_pos"][s])
        infusion = int(c["infusion_ns"][s])
        return Snapshot(
            infusion_time=None if infusion == np.iinfo(np.int64).min else _dt(infusion, tz),
            time=_dt(self.order.time_ns[s], tz), age_years=num("age"),
            temp_c=taken("temp", "temp_src"), temp_time=at("temp_src"),
            fever_attributed=bool(c["fever_attr"][s]),
            sbp_mmhg=taken("sbp", "bp_src"), dbp_mmhg=taken("dbp", "bp_src"),
            bp_time=at("bp_src"),
            hypotension_attributed=bool(c["hypo_now"][s]), bp_attributed=bool(c["bp_attr"][s]),
            fluid_bolus_time=at("bolus_src"),
            spo2_pct=taken("spo2", "spo2_src"), spo2_time=at("spo2_src"),
            o2_device=choice("o2_device", "device"), o2_flow_l_min=num("flow"),
            o2_time=at("o2_src"), hypoxia_attributed=bool(c["o2_attr"][s]),
            vasopressors=choices("vasopressors", "vaso"), vasopressors_time=at("vaso_src"),
            episode_open=bool(c["open"][s]), episode_onset=at("onset_pos"),
            waiver_since=None if waiver == NO_ROW else _dt(self.order.time_ns[waiver], tz),
            waiver_drug=None if waiver == NO_ROW else self._drug_names(waiver),
            prior_anticytokine_or_steroid=at("prior_drug_src"),
            died_of=choice("died_of", "died_of"),
            ice_total=whole(taken("ice", "ice_src")), ice_time=at("ice_src"),
            capd_total=whole(taken("capd", "capd_src")), capd_time=at("capd_src"),
            consciousness=choice("consciousness", "loc"), consciousness_time=at("loc_src"),
            sedated=bool(c["sedated"][s]),
            sedated_time=at("sedated_src") if c["sedated"][s] else None,
            cognitive_attributed=bool(c["cognitive_attr"][s]),
            consciousness_attributed=bool(c["loc_attr"][s]),
            unarousable_disproved=at("loc_ended_src"),
            arousable_shown_by=self._assessment(int(c["aroused_src"][s])),
            arousable_shown_time=at("aroused_src"),
            baseline_ice=whole(num("baseline_ice")),
            seizure=choice("seizure", "seizure"), seizure_time=at("seizure_src"),
            motor_weakness=choice("motor_weakness", "motor"), motor_time=at("motor_src"),
            cerebral_edema=choice("cerebral_edema", "edema"), edema_time=at("edema_src"),
            raised_icp_signs=choices("raised_icp_signs", "icp"), icp_time=at("icp_src"),
        )

    def _assessment(self, j: int) -> str | None:
        """The ICE or CAPD recorded on sorted row ``j`` in words (None: no row)."""
        if j == NO_ROW:
            return None
        ice = float(self.rows.ice[j])
        return (f"ICE {int(ice)}/10" if ice == ice
                else f"CAPD {int(self.rows.capd[j])}")

    def _drug_names(self, s: int) -> str:
        c = self.col
        return " and ".join(d for d, k in ((ANTIPYRETIC, "antipyretic"),
                                           (TOCILIZUMAB, "tocilizumab"),
                                           (CORTICOSTEROID, "corticosteroid"),
                                           (ANTICYTOKINE, "anticytokine")) if c[k][s] == 1)

    def results(self, block: int = 512) -> Iterator[RowResult]:
        """Explained results in input order, explained a block of rows at a time."""
        ex = Explainer(self)
        n = len(self.order)
        for lo in range(0, n, block):
            rows = np.arange(lo, min(n, lo + block))
            e = ex.explain(self.sorted_of(rows))
            for i, row in enumerate(rows):
                yield self._result(ex, e, i, int(row))

    def sorted_of(self, rows: np.ndarray) -> np.ndarray:
        """The sorted positions of input rows ``rows``."""
        if self._inverse is None:
            inverse = np.empty(len(self.order), np.int64)
            inverse[self.order.order] = np.arange(len(self.order))
            self._inverse = inverse
        return self._inverse[rows]

    def result_at(self, s: int, row: int) -> RowResult:
        """The explained result of sorted row ``s`` (input row ``row``); rows explained
        together beforehand (``prefetch``) are not explained again."""
        if s not in self._memo:
            self.prefetch(np.array([s]))
        return self._memo[s]

    def results_at(self, s: np.ndarray) -> list[RowResult]:
        """The explained results of sorted rows ``s``, explained together."""
        self.prefetch(s)
        return [self._memo[int(x)] for x in s]

    def prefetch(self, s: np.ndarray) -> None:
        """Explain sorted rows ``s`` in one go (explaining has a fixed cost per call, so a
        screen that needs many rows asks for them together) and keep their results."""
        todo = np.array([x for x in np.asarray(s, np.int64).tolist() if x not in self._memo],
                        np.int64)
        if not len(todo):
            return
        ex = Explainer(self)
        e = ex.explain(todo)
        rows = self.order.order[todo]
        for i in range(len(todo)):
            self._memo[int(todo[i])] = self._result(ex, e, i, int(rows[i]))

    def _result(self, ex: Explainer, e: Explained, i: int, row: int) -> RowResult:
        c, s = self.col, int(e.s[i])
        crs = Grade(None if c["crs_grade"][s] == NE_GRADE else int(c["crs_grade"][s]),
                    STATUSES[int(c["crs_status"][s])], reasons_of(ex, e, i, True),
                    flags_of(ex, e, i, True))
        icans = Grade(None if c["icans_grade"][s] == NE_GRADE else int(c["icans_grade"][s]),
                      STATUSES[int(c["icans_status"][s])], reasons_of(ex, e, i, False),
                      flags_of(ex, e, i, False))
        soft = tuple(Flag("soft_limit", "review", m.split(": ", 1)[1])
                     for m in self.assessments.soft_flags.get(row, []))
        day = c["day_post_infusion"][s]
        ep_max = int(c["episode_max"][s])
        return RowResult(
            row=row + 1, patient_id=self.assessments.patient_of(row),
            time=when(self.order.time_ns[s], self.assessments.tz),
            day_post_infusion=None if np.isnan(day) else int(day),
            crs=crs, icans=icans, crs_episode_max=None if ep_max < 0 else ep_max,
            icans_episode_max=None if c["icans_episode_max"][s] < 0
            else int(c["icans_episode_max"][s]),
            flags=tuple(dict.fromkeys(crs.flags + icans.flags + soft)),
            before_infusion=bool(c["before_infusion"][s]))


@dataclass(frozen=True)
class RowResult:
    row: int
    patient_id: str
    time: datetime
    day_post_infusion: int | None
    crs: Grade
    icans: Grade
    crs_episode_max: int | None
    icans_episode_max: int | None
    flags: tuple[Flag, ...]
    before_infusion: bool = False  # a baseline observation, never CRS or ICANS (decision C17)


def _dt(ns: int, tz: object) -> datetime:
    return when(ns, tz)


# ------------------------------------------------------------------------------ the grading
def grade(a: Assessments, workers: int | None = None) -> GradedTimeline:
    """Grade every row of validated assessments.

    Large files are split at patient boundaries into blocks graded at the same time in
    threads (the compiled pass releases the GIL), each writing its own rows of the same
    arrays; a patient's rows are never split.
    """
    po = a.order
    cols = {name: po.sort(v) for name, v in a.columns.items()}
    rows = kernel.read_only(kernel.Rows(
        start=po.start, end=po.end, time_ns=po.time_ns, age=cols["age_years"],
        temp=cols["temp_c"], hot=_fever_at(cols["temp_c"]), sbp=cols["sbp_mmhg"],
        dbp=cols["dbp_mmhg"], spo2=cols["spo2_pct"], flow=cols["o2_flow_l_min"],
        ice=_ice_total(cols), capd=cols["capd_total"], infusion=cols["infusion_time"],
        day=_local_day(po.time_ns, a.tz), infusion_day=_local_day(cols["infusion_time"], a.tz),
        bolus=cols["fluid_bolus_given"], device=cols["o2_device"], vaso=cols["vasopressors"],
        antipyretic=cols["antipyretic_given"], tocilizumab=cols["tocilizumab_given"],
        corticosteroid=cols["corticosteroid_given"], anticytokine=cols["anticytokine_given"],
        sedated=cols["sedated"],
        loc=cols["consciousness"], seizure=cols["seizure"], motor=cols["motor_weakness"],
        edema=cols["cerebral_edema"], icp=cols["raised_icp_signs"],
        attributed=cols["attributed_elsewhere"], died_of=cols["died_of"]))
    out = kernel.empty_graded(len(po))
    blocks = po.blocks(workers or parallel_workers(len(po)))
    if len(blocks) == 1:
        kernel.grade_rows(rows, kernel.RULES, kernel.TABLES, out, 0, len(po))
    else:
        with ThreadPoolExecutor(len(blocks)) as pool:
            list(pool.map(lambda b: kernel.grade_rows(rows, kernel.RULES, kernel.TABLES, out, *b),
                          blocks))
    c = out._asdict()
    for name in ("antipyretic", "tocilizumab", "corticosteroid", "anticytokine"):
        c[name] = cols[f"{name}_given"]
    c["died_of"] = cols["died_of"]
    return GradedTimeline(a, po, c, rows)


def _fever_at(temp: np.ndarray) -> np.ndarray:
    """Spec §0.1 and CRS-R1: 38.0 °C or more after half-up rounding to 0.1 °C, by the very
    function the row-wise rules use, applied once per distinct temperature."""
    codes, values = pd.factorize(temp)  # blank: code -1
    fever = [round_temp(float(v)) >= rules.FEVER_C for v in values]
    return np.array(fever + [False])[codes]


def _ice_total(cols: dict[str, np.ndarray]) -> np.ndarray:
    """The ICE score of each row, NaN when blank (all five items or none is validated)."""
    total = cols[ICE_ITEMS[0]].copy()
    for item in ICE_ITEMS[1:]:
        total += cols[item]
    return total


def _local_day(ns: np.ndarray, tz: object) -> np.ndarray:
    """The calendar day number of each time in the ward time zone (design.md: day after
    infusion counts calendar days there); NaT gives a meaningless number."""
    day_ns = 86_400_000_000_000
    if tz == UTC_ZONE:  # no offset to apply
        return ns // day_ns
    local = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return local.tz_localize(None).asi8 // day_ns
