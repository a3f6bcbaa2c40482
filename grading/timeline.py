"""Vectorised timeline grading: every row's snapshot, CRS and ICANS grade for a whole file.

The same rules as ``snapshot.py`` (per row) and ``reference.py`` (per timeline), expressed as
whole-array operations over the rows sorted by patient and time. ``GradedTimeline.results``
rebuilds each row's ``Snapshot`` from these arrays and lets the scalar rules write the reasons;
it checks that the scalar grade, status and flag codes equal the vectorised ones and refuses to
give a result if they ever differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import rules
from .fields import FIELD_BY_NAME, ICE_ITEMS, code_of
from .parse import Assessments
from .result import STATUSES, Flag, Grade
from .sequence import NO_ROW, PatientOrder, parallel_workers
from .snapshot import (
    ANTIPYRETIC,
    CORTICOSTEROID,
    TOCILIZUMAB,
    Snapshot,
    grade_crs,
    grade_icans,
    round_temp,
)

NS = {name: int(w.total_seconds() * 1e9) for name, w in (
    ("vitals", rules.VITALS_WINDOW), ("neuro", rules.NEURO_WINDOW),
    ("episode", rules.EPISODE_CLOSES_AFTER))}
FINAL, PROVISIONAL, NOT_EVALUABLE = (STATUSES.index(s) for s in STATUSES)
NE_GRADE = -1
UTC_ZONE = ZoneInfo("UTC")

# Flag codes the vectorised path computes; results() checks the scalar rules raise the same.
FLAG_CODES = ("hypoxia_no_o2", "fever_possibly_masked", "without_fever", "inotrope",
              "terlipressin", "hfnc_low_flow", "afebrile_open_episode", "attributed",
              "not_recorded", "neuro_not_assessable", "baseline_deficit", "instrument_age")
FLAG_BIT = {c: 1 << i for i, c in enumerate(FLAG_CODES)}


def _raise(flags: np.ndarray, where: np.ndarray, code: str) -> None:
    """Set flag ``code`` on the rows ``where`` (in place)."""
    np.bitwise_or(flags, FLAG_BIT[code], out=flags, where=where)


def _bit(field: str, value: str) -> int:
    return 1 << code_of(field, value)


def _mask_of(field: str, predicate: object) -> int:
    return sum(1 << i for i, v in enumerate(FIELD_BY_NAME[field].values)
               if predicate(v))  # type: ignore[operator]


COUNTED_MASK = _mask_of("vasopressors", lambda a: rules.VASOACTIVE_RULE[a].counts_as_vasopressor)
VASO_LIKE_MASK = _mask_of("vasopressors", lambda a: rules.VASOACTIVE_RULE[a].vasopressin_like)
INOTROPE_MASK = _mask_of("vasopressors",
                         lambda a: rules.VASOACTIVE_RULE[a].review_flag == "inotrope")
TERLIPRESSIN_MASK = _mask_of("vasopressors",
                             lambda a: rules.VASOACTIVE_RULE[a].review_flag == "terlipressin")
_DEVICES = FIELD_BY_NAME["o2_device"].values
DEVICE_LOW = np.array([rules.DEVICE_RULE[d].component_low_flow for d in _DEVICES] + [-1], np.int8)
DEVICE_HIGH = np.array([rules.DEVICE_RULE[d].component_high_flow for d in _DEVICES] + [-1],
                       np.int8)
DEVICE_FLOW_DEPENDENT = np.array([d in rules.FLOW_DEPENDENT_DEVICES for d in _DEVICES] + [False])
DEVICE_PRESSURE = np.array([d in rules.PRESSURE_DEVICES for d in _DEVICES] + [False])
DEVICE_REVIEW_LOW = np.array([rules.DEVICE_RULE[d].review_at_low_flow for d in _DEVICES]
                             + [False])
ICE_DOMAIN = np.array([rules.band_grade(rules.ICE_BANDS, s) for s in range(11)] + [-1], np.int8)
CAPD_DOMAIN = np.array([rules.band_grade(rules.CAPD_BANDS, s) for s in range(33)] + [-1], np.int8)


def _lookup(table: np.ndarray, code: np.ndarray) -> np.ndarray:
    """table[code], with code -1 (blank) reading the table's last entry (-1)."""
    return table[np.where(code < 0, len(table) - 1, code)]


def _table(field: str, grades: dict[str, int]) -> np.ndarray:
    return np.array([grades[v] for v in FIELD_BY_NAME[field].values] + [-1], np.int8)


LOC_DOMAIN = _table("consciousness", rules.CONSCIOUSNESS_GRADE)
SEIZURE_DOMAIN = _table("seizure", rules.SEIZURE_GRADE)
MOTOR_DOMAIN = _table("motor_weakness", rules.MOTOR_GRADE)
EDEMA_DOMAIN = _table("cerebral_edema", rules.CEREBRAL_EDEMA_GRADE)


@dataclass
class GradedTimeline:
    """Grades of every row. Arrays are in patient/time-sorted order (``order``)."""

    assessments: Assessments
    order: PatientOrder
    col: dict[str, np.ndarray]

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

        def choice(field: str, name: str) -> str | None:
            v = int(c[name][s])
            return None if v < 0 else FIELD_BY_NAME[field].values[v]

        def choices(field: str, name: str) -> frozenset[str] | None:
            v = int(c[name][s])
            return None if v < 0 else frozenset(
                x for i, x in enumerate(FIELD_BY_NAME[field].values) if v >> i & 1)

        def integer(name: str) -> int | None:
            v = c[name][s]
            return None if np.isnan(v) else int(v)

        waiver = int(c["waiver_pos"][s])
        return Snapshot(
            time=_dt(self.order.time_ns[s], tz), age_years=num("age"),
            temp_c=num("temp"), temp_time=at("temp_src"), fever_attributed=bool(c["fever_attr"][s]),
            sbp_mmhg=num("sbp"), dbp_mmhg=num("dbp"), bp_time=at("bp_src"),
            hypotension_attributed=bool(c["hypo_now"][s]), bp_attributed=bool(c["bp_attr"][s]),
            fluid_bolus_time=at("bolus_src"),
            spo2_pct=num("spo2"), spo2_time=at("spo2_src"),
            o2_device=choice("o2_device", "device"), o2_flow_l_min=num("flow"),
            o2_time=at("o2_src"), hypoxia_attributed=bool(c["o2_attr"][s]),
            vasopressors=choices("vasopressors", "vaso"), vasopressors_time=at("vaso_src"),
            episode_open=bool(c["open"][s]), episode_onset=at("onset_pos"),
            waiver_since=None if waiver == NO_ROW else _dt(self.order.time_ns[waiver], tz),
            waiver_drug=None if waiver == NO_ROW else self._drug_names(waiver),
            prior_anticytokine_or_steroid=at("prior_drug_src"),
            died_of=choice("died_of", "died_of"),
            ice_total=integer("ice"), ice_time=at("ice_src"),
            capd_total=integer("capd"), capd_time=at("capd_src"),
            consciousness=choice("consciousness", "loc"), consciousness_time=at("loc_src"),
            sedated=bool(c["sedated"][s]),
            sedated_time=at("sedated_src") if c["sedated"][s] else None,
            cognitive_attributed=bool(c["cognitive_attr"][s]),
            consciousness_attributed=bool(c["loc_attr"][s]),
            baseline_ice=integer("baseline_ice"),
            seizure=choice("seizure", "seizure"), seizure_time=at("seizure_src"),
            motor_weakness=choice("motor_weakness", "motor"), motor_time=at("motor_src"),
            cerebral_edema=choice("cerebral_edema", "edema"), edema_time=at("edema_src"),
            raised_icp_signs=choices("raised_icp_signs", "icp"), icp_time=at("icp_src"),
        )

    def _drug_names(self, s: int) -> str:
        c = self.col
        return " and ".join(d for d, k in ((ANTIPYRETIC, "antipyretic"),
                                           (TOCILIZUMAB, "tocilizumab"),
                                           (CORTICOSTEROID, "corticosteroid")) if c[k][s] == 1)

    def results(self) -> Iterator[RowResult]:
        """Explained results in input order."""
        inverse = np.empty(len(self.order), np.int64)
        inverse[self.order.order] = np.arange(len(self.order))
        for row in range(len(self.order)):
            yield self.result_at(int(inverse[row]), row)

    def result_at(self, s: int, row: int) -> RowResult:
        snap = self.snapshot(s)
        crs, icans = grade_crs(snap), grade_icans(snap)
        c = self.col
        for name, g in (("crs", crs), ("icans", icans)):
            fast = (None if c[f"{name}_grade"][s] == NE_GRADE else int(c[f"{name}_grade"][s]),
                    STATUSES[int(c[f"{name}_status"][s])])
            if fast != (g.grade, g.status):
                raise AssertionError(f"internal check failed: row {row + 1} {name} "
                                     f"{fast} vs {(g.grade, g.status)}")
        codes = {f.code for f in crs.flags + icans.flags}
        fast_codes = {code for code, bit in FLAG_BIT.items() if int(c["flags"][s]) & bit}
        if codes != fast_codes:
            raise AssertionError(f"internal check failed: row {row + 1} flags {sorted(fast_codes)}"
                                 f" vs {sorted(codes)}")
        soft = tuple(Flag("soft_limit", "review", m.split(": ", 1)[1])
                     for m in self.assessments.soft_flags.get(row, []))
        day = c["day_post_infusion"][s]
        ep_max = int(c["episode_max"][s])
        return RowResult(
            row=row + 1, patient_id=self.assessments.patient_of(row),
            time=snap.time, day_post_infusion=None if np.isnan(day) else int(day),
            crs=crs, icans=icans, crs_episode_max=None if ep_max < 0 else ep_max,
            icans_episode_max=None if c["icans_episode_max"][s] < 0
            else int(c["icans_episode_max"][s]),
            flags=tuple(dict.fromkeys(crs.flags + icans.flags + soft)))


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dt(ns: int, tz: object) -> datetime:
    return (_EPOCH + timedelta(microseconds=int(ns) // 1000)).astimezone(tz)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the grading
def grade(a: Assessments, workers: int | None = None) -> GradedTimeline:
    """Grade every row of validated assessments.

    Large files are split at patient boundaries into blocks graded in parallel threads (the
    array operations release the GIL); a patient's rows are never split.
    """
    po = a.order
    cols = {name: po.sort(v) for name, v in a.columns.items()}
    n = len(po)
    workers = workers or parallel_workers(n)
    blocks = po.blocks(workers)
    if len(blocks) == 1:
        return GradedTimeline(a, po, _grade_block(po, cols, a.tz))
    with ThreadPoolExecutor(len(blocks)) as pool:
        parts = list(pool.map(lambda b: _grade_block(
            po.slice(*b), {k: v[b[0]:b[1]] for k, v in cols.items()}, a.tz), blocks))
    c: dict[str, np.ndarray] = {}
    for key in parts[0]:
        pieces = []
        for (lo, _), part in zip(blocks, parts):
            v = part[key]
            if key.endswith(("_src", "_pos")):  # positions inside the block -> in the file
                v = np.where(v >= 0, v + lo, v)
            pieces.append(v)
        c[key] = np.concatenate(pieces)
    return GradedTimeline(a, po, c)


def _grade_block(po: PatientOrder, df: dict[str, np.ndarray], tz: object) -> dict[str, np.ndarray]:
    """Grade rows already in patient/time order (a whole file or a block of whole patients)."""
    n = len(po)
    t = po.time_ns
    c: dict[str, np.ndarray] = {}

    def col(name: str) -> np.ndarray:
        return df[name]

    def latest(recorded: np.ndarray, window: str | None) -> np.ndarray:
        return po.latest(recorded, None if window is None else NS[window])

    def take(values: np.ndarray, idx: np.ndarray, blank: object) -> np.ndarray:
        return po.take(values, idx, blank)

    attributed = col("attributed_elsewhere")
    attributed = np.where(attributed < 0, 0, attributed)
    any_attributed = bool(attributed.any())

    def attrib(idx: np.ndarray, finding: str) -> np.ndarray:
        if not any_attributed:
            return np.zeros(n, bool)
        bit = _bit("attributed_elsewhere", finding)
        return ((attributed & bit) != 0) | ((take(attributed, idx, 0) & bit) != 0)

    # --- vitals (latest inside the vitals window)
    age = po.patient_fill(col("age_years"))
    c["age"] = age
    temp = col("temp_c")
    c["temp_src"] = latest(~np.isnan(temp), "vitals")
    c["temp"] = take(temp, c["temp_src"], np.nan)
    c["fever_attr"] = attrib(c["temp_src"], "fever")
    sbp, dbp = col("sbp_mmhg"), col("dbp_mmhg")
    c["bp_src"] = latest(~np.isnan(sbp), "vitals")
    c["sbp"], c["dbp"] = take(sbp, c["bp_src"], np.nan), take(dbp, c["bp_src"], np.nan)
    hypo_bit = _bit("attributed_elsewhere", "hypotension")
    c["hypo_now"] = (attributed & hypo_bit) != 0
    c["bp_attr"] = (take(attributed, c["bp_src"], 0) & hypo_bit) != 0
    c["bolus_src"] = latest(col("fluid_bolus_given") == 1, "vitals")
    spo2 = col("spo2_pct")
    c["spo2_src"] = latest(~np.isnan(spo2), "vitals")
    c["spo2"] = take(spo2, c["spo2_src"], np.nan)

    # --- ongoing support (blank = unchanged)
    dev = col("o2_device")
    dev_src = latest(dev >= 0, None)
    device = take(dev, dev_src, -1).astype(np.int8)
    prev_device = np.where(po.positions > po.start, np.roll(device, 1), -1)
    change_src = latest((dev >= 0) & (dev != prev_device), None)
    flow = col("o2_flow_l_min")
    flow_src = latest(~np.isnan(flow), None)
    flow_src = np.where(flow_src >= change_src, flow_src, NO_ROW)
    c["device"], c["flow"] = device, take(flow, flow_src, np.nan)
    c["o2_src"] = np.where(device >= 0, np.maximum(dev_src, flow_src), NO_ROW)
    c["o2_attr"] = (attributed & _bit("attributed_elsewhere", "hypoxia")) != 0
    vaso = col("vasopressors")
    c["vaso_src"] = latest(vaso >= 0, None)
    c["vaso"] = take(vaso, c["vaso_src"], -1).astype(np.int16)

    # --- drugs
    for name in ("antipyretic", "tocilizumab", "corticosteroid"):
        c[name] = col(f"{name}_given")
    drug_given = (c["antipyretic"] == 1) | (c["tocilizumab"] == 1) | (c["corticosteroid"] == 1)
    c["prior_drug_src"] = latest((c["tocilizumab"] == 1) | (c["corticosteroid"] == 1), None)

    # --- neuro
    ice = sum(col(x) for x in ICE_ITEMS)  # NaN when blank (all-or-none is validated)
    capd = col("capd_total")
    loc = col("consciousness")
    # ICANS-R5: a neuro finding made under sedation never counts, even after sedation ends
    sedated_until = latest(col("sedated") == 1, None)
    any_sedated = bool((sedated_until >= 0).any())

    def unsedated(idx: np.ndarray) -> np.ndarray:
        return np.where(idx > sedated_until, idx, NO_ROW) if any_sedated else idx

    c["ice_src"] = unsedated(latest(~np.isnan(ice), "neuro"))
    c["ice"] = take(ice, c["ice_src"], np.nan)
    c["capd_src"] = unsedated(latest(~np.isnan(capd), "neuro"))
    c["capd"] = take(capd, c["capd_src"], np.nan)
    c["loc_src"] = unsedated(latest(loc >= 0, "neuro"))
    c["loc"] = take(loc, c["loc_src"], -1).astype(np.int8)
    sed = col("sedated").astype(np.int8)
    assessed = ~np.isnan(ice) | ~np.isnan(capd) | (loc >= 0)
    sed = np.where((sed < 0) & assessed, 0, sed)
    c["sedated_src"] = latest(sed >= 0, "neuro")
    c["sedated"] = take(sed, c["sedated_src"], 0) == 1
    use_capd = (c["capd_src"] >= 0) & ((c["ice_src"] < 0) | (c["capd_src"] > c["ice_src"]))
    cog_src = np.where(use_capd, c["capd_src"], c["ice_src"])
    c["cognitive_attr"] = attrib(cog_src, "neuro")
    c["loc_attr"] = attrib(c["loc_src"], "neuro")
    infusion = df["infusion_time"]
    infusion = _patient_value(po, infusion)
    pre = ~np.isnan(ice) & (infusion != np.iinfo(np.int64).min) & (t <= infusion)
    c["baseline_ice"] = take(ice, latest(pre, None), np.nan)
    for name, field in (("seizure", "seizure"), ("motor", "motor_weakness"),
                        ("edema", "cerebral_edema"), ("icp", "raised_icp_signs")):
        v = col(field)
        c[f"{name}_src"] = latest(v >= 0, None)
        c[name] = take(v, c[f"{name}_src"], -1)
    c["died_of"] = col("died_of")

    # --- day after infusion: calendar days in the ward time zone (design.md)
    c["day_post_infusion"] = _days_after(t, infusion, tz)

    _grade_crs(po, c, drug_given)
    _grade_icans(po, c)
    return c


def _patient_value(po: PatientOrder, values: np.ndarray) -> np.ndarray:
    """A per-patient value given on some rows (the same wherever given, as validated), on
    every row: the patient's first recorded one."""
    return po.take(values, po.first_index(values != np.iinfo(np.int64).min),
                   np.iinfo(np.int64).min)


def _days_after(t: np.ndarray, infusion: np.ndarray, tz: object) -> np.ndarray:
    """Calendar days from the infusion date to the assessment date in the ward zone; NaN
    where the infusion time is not known."""
    known = infusion != np.iinfo(np.int64).min
    day_ns = 86_400_000_000_000

    def local_day(ns: np.ndarray) -> np.ndarray:
        if tz == UTC_ZONE:  # no offset to apply
            return ns // day_ns
        local = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
        return local.tz_localize(None).asi8 // day_ns

    days = local_day(t) - local_day(np.where(known, infusion, t))
    return np.where(known, days, np.nan)


def _grade_crs(po: PatientOrder, c: dict[str, np.ndarray], drug_given: np.ndarray) -> None:
    n = len(po)
    pos = np.arange(n)
    flags = np.zeros(n, np.int32)

    # hypotension component (CRS-R4, §1.5, §1.6)
    vaso = c["vaso"].astype(np.int64)
    vaso_known = vaso >= 0
    vaso = np.where(vaso_known, vaso, 0)
    counted = np.bitwise_count(vaso & COUNTED_MASK)
    vaso_like = (vaso & VASO_LIKE_MASK) != 0
    limit, map_limit = _hypotension_limits(c["age"])
    sbp, dbp = c["sbp"], c["dbp"]
    with np.errstate(invalid="ignore"):
        low = (sbp < limit) | ((dbp + (sbp - dbp) / 3) < map_limit)
    vaso_present = (counted >= 1) | vaso_like
    bolus = c["bolus_src"] >= 0
    low_ok = low & ~c["hypo_now"] & ~c["bp_attr"]      # see snapshot.hypotension_component
    bolus_ok = bolus & ~c["hypo_now"]
    bp = np.where(counted >= 2, rules.HYPOTENSION_COMPONENT_MULTIPLE,
                  np.where(vaso_present, rules.HYPOTENSION_COMPONENT_BY_PRESSORS[1],
                           np.where(low | bolus, rules.HYPOTENSION_COMPONENT_BY_PRESSORS[0],
                                    np.where(np.isnan(sbp), -1, 0)))).astype(np.int8)
    bp_attr_hit = np.where(vaso_present, c["hypo_now"], (low | bolus) & ~(low_ok | bolus_ok))
    bp_attr_hit &= bp > 0
    bp = np.where(bp_attr_hit, 0, bp)
    _raise(flags, (vaso & INOTROPE_MASK) != 0, "inotrope")
    _raise(flags, (vaso & TERLIPRESSIN_MASK) != 0, "terlipressin")

    # hypoxia component (CRS-R5, §1.4)
    device = c["device"]
    flow = np.where(_lookup(DEVICE_PRESSURE, device), np.nan, c["flow"])
    high = flow > rules.LOW_FLOW_MAX_L_MIN
    o2 = np.where(high, _lookup(DEVICE_HIGH, device), _lookup(DEVICE_LOW, device)).astype(np.int8)
    flow_unknown = np.isnan(flow) & _lookup(DEVICE_FLOW_DEPENDENT, device)
    hfnc_low = _lookup(DEVICE_REVIEW_LOW, device) & ~np.isnan(flow) & ~high
    o2_attr_hit = (o2 > 0) & c["o2_attr"]
    o2_prov = (flow_unknown | hfnc_low) & ~o2_attr_hit
    _raise(flags, hfnc_low & ~o2_attr_hit, "hfnc_low_flow")
    o2 = np.where(o2_attr_hit, 0, o2)
    no_oxygen = (device < 0) | (device == code_of("o2_device", "room_air"))
    _raise(flags, (c["spo2"] < 90) & no_oxygen, "hypoxia_no_o2")

    # fever (CRS-R1 after the half-up rounding of §0.1)
    temp = c["temp"]
    hot = _rounded_temp(temp) >= float(rules.FEVER_C)
    fever = hot & ~c["fever_attr"]
    temp_known = ~np.isnan(temp)
    _raise(flags, (hot & c["fever_attr"]) | bp_attr_hit | o2_attr_hit, "attributed")

    # CRS episodes (CRS-R3b): runs of active rows less than 48 h apart, opened by a fever
    active = fever | (bp > 0) | (o2 > 0)
    run_of, onset, is_open = _episodes(po, active, fever)
    n_runs = int(run_of.max()) + 1 if n else 0
    first_drug = _first_per_run(np.where(is_open, run_of, -1), drug_given & is_open, n_runs)
    waiver_pos = np.where(is_open, first_drug[np.maximum(run_of, 0)], NO_ROW)
    waiver_pos = np.where((waiver_pos >= 0) & (waiver_pos <= pos), waiver_pos, NO_ROW)
    waiver = waiver_pos >= 0
    c["open"], c["onset_pos"], c["waiver_pos"] = is_open, onset, waiver_pos
    c["crs_episode"], c["crs_active"] = np.where(is_open, run_of, -1), active

    # the grade (CRS-R6 and the states of §1.7)
    worst = np.maximum(np.maximum(bp, 0), np.maximum(o2, 0))
    missing = (bp < 0) | (o2 < 0)
    grade = np.zeros(n, np.int8)
    status = np.full(n, FINAL, np.int8)
    ne = ~temp_known & ~waiver & ~is_open
    branch_fever = ~ne & fever
    branch_waiver = ~ne & ~fever & waiver
    branch_open = ~ne & ~fever & ~waiver & is_open
    open_ne = branch_open & ~temp_known
    branch_open &= temp_known
    branch_none = ~ne & ~fever & ~waiver & ~is_open
    grade = np.where(branch_fever, np.maximum(1, worst), grade)
    grade = np.where(branch_waiver | branch_open, worst, grade)
    provisional = ((branch_fever | branch_waiver | branch_open) & (o2_prov | missing)) | (
        branch_open & (worst > 0))
    _raise(flags, (branch_fever | branch_waiver | branch_open) & missing, "not_recorded")
    _raise(flags, branch_open & (worst > 0), "afebrile_open_episode")
    masked = branch_none & (worst > 0) & (c["prior_drug_src"] >= 0)
    _raise(flags, masked, "fever_possibly_masked")
    _raise(flags, branch_none & (worst > 0) & ~masked, "without_fever")
    provisional |= masked
    status = np.where(provisional, PROVISIONAL, status)
    died = c["died_of"] == code_of("died_of", "crs")
    grade = np.where(ne | open_ne, NE_GRADE, grade)
    status = np.where(ne | open_ne, NOT_EVALUABLE, status)
    grade = np.where(died, 5, grade)
    status = np.where(died, FINAL, status)
    flags = np.where(died, 0, flags)
    c["crs_grade"], c["crs_status"], c["crs_flags"] = grade.astype(np.int8), status, flags
    c["episode_max"] = _run_max(c["crs_episode"], grade)


def _episodes(po: PatientOrder, active: np.ndarray,
              opener: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Episodes as runs of active rows, each less than 48 h after the previous (CRS-R3b).

    An episode opens at the first ``opener`` row of a run (openers are active rows) and stays
    open until more than 48 h pass without an active row. Returns per row: the run of the
    latest active row (-1 none), the sorted position of the episode's onset (-1 none) and
    whether an episode is open. Runs are numbered through the file in row order.
    """
    t = po.time_ns
    rows = np.flatnonzero(active).astype(np.int32)  # the active rows, then runs among them
    starts_run = np.ones(len(rows), bool)
    starts_run[1:] = ((po.patient[rows[1:]] != po.patient[rows[:-1]])
                      | (t[rows[1:]] - t[rows[:-1]] > NS["episode"]))
    run_of_active = np.cumsum(starts_run, dtype=np.int32) - 1
    n_runs = int(run_of_active[-1]) + 1 if len(rows) else 0
    first_opener = _first_per_run(run_of_active, opener[rows], n_runs)
    onset_of_run = po.take(rows, first_opener, NO_ROW)
    # each row's latest active row: the last one counted so far, if it is this patient's
    k = np.cumsum(active, dtype=np.int32) - 1
    last_active = po.take(rows, k, NO_ROW)
    mine = last_active >= po.start
    run_of = np.where(mine, po.take(run_of_active, k, -1), np.int32(-1))
    onset = po.take(onset_of_run, run_of, NO_ROW)
    is_open = (mine & (t - t[last_active] <= NS["episode"]) & (onset >= 0)
               & (onset <= po.positions))
    return run_of, np.where(is_open, onset, NO_ROW), is_open


def _rounded_temp(temp: np.ndarray) -> np.ndarray:
    """Spec §0.1 half-up rounding to 0.1 °C, by the very function the row-wise rules use,
    applied once per distinct temperature."""
    codes, values = pd.factorize(temp)  # blank: code -1
    rounded = np.array([float(round_temp(float(v))) for v in values] + [np.nan])
    return rounded[codes]


def _first_per_run(run: np.ndarray, hit: np.ndarray, n_runs: int) -> np.ndarray:
    """Sorted position of the first ``hit`` row of each run; -1 where a run has none."""
    first = np.full(max(n_runs, 0) + 1, NO_ROW, np.int64)
    where = np.flatnonzero(hit & (run >= 0))
    if len(where):
        runs, at = np.unique(run[where], return_index=True)
        first[runs] = where[at]
    return first


def _run_max(run: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Highest grade so far in each row's episode (episode maximum up to that row)."""
    out = np.full(len(run), -1, np.int8)
    inside = run >= 0
    if inside.any():
        s = pd.Series(np.where(grade[inside] < 0, -1, grade[inside]))
        out[inside] = s.groupby(run[inside]).cummax().to_numpy()
    return out


# §1.6 as arrays: the age-ordered, gap-free rules and what each sets
_AGE_RULES = rules.HYPOTENSION_THRESHOLDS
assert all(a.age_to_years == b.age_from_years for a, b in zip(_AGE_RULES, _AGE_RULES[1:]))
AGE_FROM = np.array([r.age_from_years for r in _AGE_RULES])
SBP_BELOW = np.array([r.sbp_below for r in _AGE_RULES])
PLUS_TWICE_AGE = np.array([r.plus_twice_age for r in _AGE_RULES])
MAP_BELOW = np.array([-np.inf if r.map_below is None else r.map_below for r in _AGE_RULES])
UNKNOWN_AGE_RULE = _AGE_RULES.index(rules.UNKNOWN_AGE_THRESHOLD)


def _hypotension_limits(age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spec §1.6 by age: SBP threshold and MAP threshold (MAP: adults only) per row."""
    rule = np.searchsorted(AGE_FROM, age, side="right") - 1  # age_from <= age < age_to
    rule = np.where(np.isnan(age), UNKNOWN_AGE_RULE, rule)
    sbp = SBP_BELOW[rule] + np.where(PLUS_TWICE_AGE[rule], 2 * np.floor(age), 0)
    return sbp, MAP_BELOW[rule]


def _grade_icans(po: PatientOrder, c: dict[str, np.ndarray]) -> None:
    flags = np.zeros(len(po), np.int32)
    sedated = c["sedated"]
    ice = np.where(np.isnan(c["ice"]), -1, c["ice"]).astype(np.int64)
    capd = np.where(np.isnan(c["capd"]), -1, c["capd"]).astype(np.int64)
    use_capd = (c["capd_src"] >= 0) & ((c["ice_src"] < 0) | (c["capd_src"] > c["ice_src"]))
    cognitive = np.where(use_capd, _lookup(CAPD_DOMAIN, capd), _lookup(ICE_DOMAIN, ice))
    cog_attr_hit = (cognitive > 0) & c["cognitive_attr"]
    cognitive = np.where(cog_attr_hit, 0, cognitive)
    level = _lookup(LOC_DOMAIN, c["loc"])
    loc_attr_hit = (level > 0) & c["loc_attr"]
    level = np.where(loc_attr_hit, 0, level)
    cognitive = np.where(sedated, -1, cognitive)
    level = np.where(sedated, -1, level)
    icp = np.where(c["icp"] < 0, -1, np.where(c["icp"] == 0, 0, rules.RAISED_ICP_SIGN_GRADE))
    events = np.maximum(np.maximum(_lookup(SEIZURE_DOMAIN, c["seizure"]),
                                   _lookup(MOTOR_DOMAIN, c["motor"])),
                        np.maximum(_lookup(EDEMA_DOMAIN, c["edema"]), icp))
    bedside_none = (cognitive < 0) & (level < 0)
    grade = np.maximum(np.maximum(cognitive, level), events)
    ne = bedside_none & (events < 0)
    provisional = np.where(bedside_none, grade < 4, (grade < 4) & ((cognitive < 0) | (level < 0)))
    age = c["age"]
    baseline = c["baseline_ice"]
    ice_used = ~sedated & ~use_capd & (c["ice_src"] >= 0)
    deficit = (ice_used & (baseline < rules.ICE_MAX) & (_lookup(ICE_DOMAIN, ice) > 0)
               & (ice >= baseline) & ~c["cognitive_attr"])
    provisional |= deficit & (grade < 4)
    _raise(flags, deficit, "baseline_deficit")
    _raise(flags, sedated, "neuro_not_assessable")
    _raise(flags, (cog_attr_hit | loc_attr_hit) & ~sedated, "attributed")
    wrong_age = np.where(use_capd, np.floor(age) > rules.CAPD_MAX_AGE_YEARS,
                         (c["ice_src"] >= 0) & (age < rules.CAPD_MAX_AGE_YEARS))
    _raise(flags, wrong_age & ~sedated, "instrument_age")
    status = np.where(provisional, PROVISIONAL, FINAL).astype(np.int8)
    grade = np.where(ne, NE_GRADE, grade)
    status = np.where(ne, NOT_EVALUABLE, status)
    died = c["died_of"] == code_of("died_of", "icans")
    grade = np.where(died, 5, grade).astype(np.int8)
    status = np.where(died, FINAL, status)
    c["flags"] = c.pop("crs_flags") | np.where(died, 0, flags)
    c["icans_grade"], c["icans_status"] = grade, status
    # ICANS episodes ([I], like CRS-R3b): runs of grade >= 1 rows less than 48 h apart
    c["icans_active"] = grade >= 1
    run_of, _, is_open = _episodes(po, c["icans_active"], c["icans_active"])
    c["icans_episode"] = np.where(is_open, run_of, -1)
    c["icans_episode_max"] = _run_max(c["icans_episode"], grade)
