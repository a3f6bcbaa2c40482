"""The timeline grading as one compiled pass over the rows (numba): the fast path.

For every row, in patient/time order, ``grade_rows`` carries each input forward to the row
(the latest value inside its look-back window), follows the CRS and ICANS episodes, and
applies the CRS and ICANS rules, writing the arrays that ``timeline.GradedTimeline`` rebuilds
each row's ``Snapshot`` from, and which reasons and flags apply (bits that ``explain.py``
renders). It is the only grading path in production; the tests hold it against the row-wise
reference (``reference.py`` and ``snapshot.py``, decision V6).

Every threshold and table enters as an argument (``RULES`` and ``TABLES``, built from
``rules.py``): numba's disk cache of the compiled code is keyed on this file alone, so a
constant read from another module would stay frozen in the cached machine code after the rules
changed. The first run after a change to this file compiles it (some seconds); later runs load
the cache. The helpers called for every row take numbers only: handing a function an array
costs two atomic reference-count updates, which at a million rows weigh more than the rules.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from . import rules
from .fields import FIELD_BY_NAME, code_of
from .result import STATUSES

NO_ROW = -1
NE_GRADE = -1  # the grade array's "not evaluable"

# The explanation the pass emits, as bits per row (``explain.py`` renders each bit's text from
# the values the pass read; the order here is the order a reader sees them in).
# Review flags, one bit each (several bits share a code: ``FLAG_CODE``).
FLAG_SLOTS = ("inotrope", "terlipressin", "attributed_hypotension", "hypoxia_no_o2",
              "hfnc_low_flow", "attributed_hypoxia", "attributed_fever",
              "afebrile_open_episode", "not_recorded_bp", "not_recorded_o2",
              "fever_possibly_masked", "without_fever", "pre_infusion_fever",
              "neuro_not_assessable", "instrument_age", "baseline_deficit",
              "attributed_cognitive", "attributed_consciousness")
(F_INOTROPE, F_TERLIPRESSIN, F_ATTR_HYPO, F_HYPOXIA_NO_O2, F_HFNC_LOW, F_ATTR_HYPOX,
 F_ATTR_FEVER, F_AFEBRILE, F_NOT_REC_BP, F_NOT_REC_O2, F_MASKED, F_WITHOUT, F_PRE_FEVER,
 F_NEURO_NA, F_INSTR_AGE, F_DEFICIT, F_ATTR_COG, F_ATTR_LOC) = (
    1 << i for i in range(len(FLAG_SLOTS)))
FLAG_BIT = dict(zip(FLAG_SLOTS, (1 << i for i in range(len(FLAG_SLOTS)))))
FLAG_CODE = {slot: ("attributed" if slot.startswith("attributed_") else
                    "not_recorded" if slot.startswith("not_recorded_") else slot)
             for slot in FLAG_SLOTS}
# the flags a row before the infusion keeps (decision C17): patient safety, not CRS
PRE_INFUSION_KEEPS = F_HYPOXIA_NO_O2

# CRS reasons, one bit each, in the order they are read; C_NEAR_INFUSION qualifies the
# look-back ("since the infusion" rather than the window).
CRS_SLOTS = ("pre_infusion_fever", "baseline", "died", "no_temperature", "temperature",
             "temperature_attributed", "waiver", "no_fever_no_episode", "vasopressors",
             "low_bp", "bolus", "hypotension_attributed", "oxygen", "hypoxia_attributed",
             "fever_grade", "waiver_grade", "open_episode_grade")
(C_PRE_FEVER, C_BASELINE, C_DIED, C_NO_TEMP, C_TEMP, C_TEMP_ATTR, C_WAIVER, C_R2, C_VASO,
 C_LOW, C_BOLUS, C_HYPO_ATTR, C_O2, C_HYPOX_ATTR, C_R6_FEVER, C_R6_WAIVER, C_R3B) = (
    1 << i for i in range(len(CRS_SLOTS)))
C_NEAR_INFUSION = 1 << 30

# ICANS reasons, the same way; I_USE_CAPD: the cognitive domain is the CAPD's;
# I_NEAR_INFUSION as for CRS; I_HAS_INFUSION: an infusion time is recorded.
ICANS_SLOTS = ("baseline_ice", "baseline", "died", "sedated", "cognitive",
               "cognitive_attributed", "consciousness", "consciousness_attributed", "seizure",
               "motor", "edema", "icp", "no_cognitive", "unarousable_disproved",
               "no_consciousness", "not_evaluable", "highest_domain")
(I_BASELINE_ICE, I_BASELINE, I_DIED, I_SEDATED, I_COG, I_COG_ATTR, I_LOC, I_LOC_ATTR,
 I_SEIZURE, I_MOTOR, I_EDEMA, I_ICP, I_NO_COG, I_LOC_DISPROVED, I_NO_LOC, I_NE, I_R1) = (
    1 << i for i in range(len(ICANS_SLOTS)))
I_USE_CAPD, I_NEAR_INFUSION, I_HAS_INFUSION = 1 << 28, 1 << 29, 1 << 30


class Rows(NamedTuple):
    """One file's rows, sorted by patient then time (blank: NaN, -1 or NaT)."""

    start: np.ndarray           # first row of the row's patient
    end: np.ndarray             # just after the last row of the row's patient
    time_ns: np.ndarray
    age: np.ndarray
    temp: np.ndarray
    hot: np.ndarray             # temperature >= the fever threshold after rounding (§0.1)
    sbp: np.ndarray
    dbp: np.ndarray
    spo2: np.ndarray
    flow: np.ndarray
    ice: np.ndarray             # the ICE total
    capd: np.ndarray
    infusion: np.ndarray
    day: np.ndarray             # calendar day number, in the ward zone, of each time ...
    infusion_day: np.ndarray    # ... and of each infusion time (read where one is recorded)
    bolus: np.ndarray           # booleans: 1 true, 0 false, -1 blank
    device: np.ndarray          # choice codes: -1 blank
    vaso: np.ndarray            # choices bit masks: -1 blank, 0 the empty word
    antipyretic: np.ndarray
    tocilizumab: np.ndarray
    corticosteroid: np.ndarray
    anticytokine: np.ndarray    # anakinra, siltuximab or another anti-IL-6/IL-1 agent
    sedated: np.ndarray
    loc: np.ndarray
    seizure: np.ndarray
    motor: np.ndarray
    edema: np.ndarray
    icp: np.ndarray
    attributed: np.ndarray
    died_of: np.ndarray


# The one type of each input: the pass is compiled, and cached, for these types only.
ROW_TYPES: dict[str, type] = {
    "start": np.int32, "end": np.int32, "time_ns": np.int64, "age": np.float64,
    "temp": np.float64, "hot": np.bool_, "sbp": np.float64, "dbp": np.float64,
    "spo2": np.float64, "flow": np.float64, "ice": np.float64, "capd": np.float64,
    "infusion": np.int64, "day": np.int64, "infusion_day": np.int64, "bolus": np.int8,
    "device": np.int8, "vaso": np.int16,
    "antipyretic": np.int8, "tocilizumab": np.int8, "corticosteroid": np.int8,
    "anticytokine": np.int8,
    "sedated": np.int8, "loc": np.int8, "seizure": np.int8, "motor": np.int8, "edema": np.int8,
    "icp": np.int16, "attributed": np.int16, "died_of": np.int8,
}


def read_only(rows: Rows) -> Rows:
    """``rows`` as contiguous read-only arrays of ``ROW_TYPES`` (views where they already are)."""
    def view(name: str, x: np.ndarray) -> np.ndarray:
        v = np.ascontiguousarray(x, ROW_TYPES[name]).view()
        v.flags.writeable = False
        return v
    return Rows(*(view(name, x) for name, x in zip(Rows._fields, rows)))


class Rules(NamedTuple):
    """The numbers of ``rules.py`` (and the codes and bits they apply to)."""

    vitals_ns: int
    neuro_ns: int
    episode_ns: int
    fever_bit: int                  # attributed_elsewhere bits
    hypotension_bit: int
    hypoxia_bit: int
    neuro_bit: int
    counted_mask: int               # vasopressors bits
    vasopressin_like_mask: int
    inotrope_mask: int
    terlipressin_mask: int
    one_pressor: int                # CRS-R4 components
    no_pressor: int
    multiple_pressors: int
    unknown_age_rule: int           # §1.6
    low_flow_max: float             # §1.4
    room_air: int
    icp_sign_grade: int
    unarousable: int                # consciousness code a later ICE > 0 or CAPD disproves
    ice_max: int
    capd_max_age: float
    died_crs: int
    died_icans: int
    final: int
    provisional: int
    not_evaluable: int


class Tables(NamedTuple):
    """The tables of ``rules.py`` as arrays indexed by code or score; the last entry answers
    for a blank (code -1 reads it, as in Python)."""

    age_from: np.ndarray            # §1.6, ordered and gap-free
    sbp_below: np.ndarray
    plus_twice_age: np.ndarray
    map_below: np.ndarray
    device_low: np.ndarray          # §1.4 by o2_device
    device_high: np.ndarray
    device_flow_dependent: np.ndarray
    device_pressure: np.ndarray
    device_review_low: np.ndarray
    ice_domain: np.ndarray          # ICANS domains by score or code
    capd_domain: np.ndarray
    loc_domain: np.ndarray
    seizure_domain: np.ndarray
    motor_domain: np.ndarray
    edema_domain: np.ndarray


def _by_code(field: str, value_of: object, blank: object, dtype: object) -> np.ndarray:
    """One entry per value of a choice field, in code order, and ``blank`` last."""
    return np.array([value_of(v) for v in FIELD_BY_NAME[field].values]  # type: ignore[operator]
                    + [blank], dtype)


def _mask(field: str, predicate: object) -> int:
    return sum(1 << i for i, v in enumerate(FIELD_BY_NAME[field].values)
               if predicate(v))  # type: ignore[operator]


def _bit(field: str, value: str) -> int:
    return 1 << code_of(field, value)


def _ns(window: object) -> int:
    return int(window.total_seconds() * 1e9)  # type: ignore[attr-defined]


AGE_RULES = rules.HYPOTENSION_THRESHOLDS
assert all(a.age_to_years == b.age_from_years for a, b in zip(AGE_RULES, AGE_RULES[1:]))
VASOACTIVE = rules.VASOACTIVE_RULE
DEVICE = rules.DEVICE_RULE

RULES = Rules(
    vitals_ns=_ns(rules.VITALS_WINDOW), neuro_ns=_ns(rules.NEURO_WINDOW),
    episode_ns=_ns(rules.EPISODE_CLOSES_AFTER),
    fever_bit=_bit("attributed_elsewhere", "fever"),
    hypotension_bit=_bit("attributed_elsewhere", "hypotension"),
    hypoxia_bit=_bit("attributed_elsewhere", "hypoxia"),
    neuro_bit=_bit("attributed_elsewhere", "neuro"),
    counted_mask=_mask("vasopressors", lambda a: VASOACTIVE[a].counts_as_vasopressor),
    vasopressin_like_mask=_mask("vasopressors", lambda a: VASOACTIVE[a].vasopressin_like),
    inotrope_mask=_mask("vasopressors", lambda a: VASOACTIVE[a].review_flag == "inotrope"),
    terlipressin_mask=_mask("vasopressors",
                            lambda a: VASOACTIVE[a].review_flag == "terlipressin"),
    one_pressor=rules.HYPOTENSION_COMPONENT_BY_PRESSORS[1],
    no_pressor=rules.HYPOTENSION_COMPONENT_BY_PRESSORS[0],
    multiple_pressors=rules.HYPOTENSION_COMPONENT_MULTIPLE,
    unknown_age_rule=AGE_RULES.index(rules.UNKNOWN_AGE_THRESHOLD),
    low_flow_max=rules.LOW_FLOW_MAX_L_MIN,
    room_air=code_of("o2_device", "room_air"),
    icp_sign_grade=rules.RAISED_ICP_SIGN_GRADE,
    unarousable=code_of("consciousness", rules.DISPROVED_BY_LATER_ICE_OR_CAPD),
    ice_max=rules.ICE_MAX,
    capd_max_age=float(rules.CAPD_MAX_AGE_YEARS),
    died_crs=code_of("died_of", "crs"), died_icans=code_of("died_of", "icans"),
    final=STATUSES.index("final"), provisional=STATUSES.index("provisional"),
    not_evaluable=STATUSES.index("not_evaluable"),
)
TABLES = Tables(
    age_from=np.array([r.age_from_years for r in AGE_RULES]),
    sbp_below=np.array([r.sbp_below for r in AGE_RULES], np.float64),
    plus_twice_age=np.array([r.plus_twice_age for r in AGE_RULES]),
    map_below=np.array([-np.inf if r.map_below is None else r.map_below for r in AGE_RULES]),
    device_low=_by_code("o2_device", lambda d: DEVICE[d].component_low_flow, -1, np.int8),
    device_high=_by_code("o2_device", lambda d: DEVICE[d].component_high_flow, -1, np.int8),
    device_flow_dependent=_by_code("o2_device", lambda d: d in rules.FLOW_DEPENDENT_DEVICES,
                                   False, bool),
    device_pressure=_by_code("o2_device", lambda d: d in rules.PRESSURE_DEVICES, False, bool),
    device_review_low=_by_code("o2_device", lambda d: DEVICE[d].review_at_low_flow, False,
                               bool),
    ice_domain=np.array([rules.band_grade(rules.ICE_BANDS, s) for s in range(rules.ICE_MAX + 1)]
                        + [-1], np.int8),
    capd_domain=np.array([rules.band_grade(rules.CAPD_BANDS, s) for s in range(33)] + [-1],
                         np.int8),
    loc_domain=_by_code("consciousness", rules.CONSCIOUSNESS_GRADE.get, -1, np.int8),
    seizure_domain=_by_code("seizure", rules.SEIZURE_GRADE.get, -1, np.int8),
    motor_domain=_by_code("motor_weakness", rules.MOTOR_GRADE.get, -1, np.int8),
    edema_domain=_by_code("cerebral_edema", rules.CEREBRAL_EDEMA_GRADE.get, -1, np.int8),
)

# What grade_rows writes for every row: the snapshot's inputs (``*_src``: the sorted position
# of the row a value was taken from, -1 none; the value itself is read from that row when a
# snapshot is rebuilt), the episodes and the grades.
GRADED: dict[str, type] = {
    "age": np.float64, "temp_src": np.int32, "fever_attr": np.bool_, "bp_src": np.int32,
    "hypo_now": np.bool_, "bp_attr": np.bool_, "bolus_src": np.int32, "spo2_src": np.int32,
    "device": np.int8, "flow": np.float64, "o2_src": np.int32, "o2_attr": np.bool_,
    "vaso_src": np.int32, "vaso": np.int16, "prior_drug_src": np.int32,
    "ice_src": np.int32, "capd_src": np.int32, "loc_src": np.int32, "loc": np.int8,
    "loc_ended_src": np.int32, "aroused_src": np.int32,
    "sedated_src": np.int32, "sedated": np.bool_, "cognitive_attr": np.bool_,
    "loc_attr": np.bool_, "baseline_ice": np.float64,
    "seizure_src": np.int32, "seizure": np.int8, "motor_src": np.int32, "motor": np.int8,
    "edema_src": np.int32, "edema": np.int8, "icp_src": np.int32, "icp": np.int16,
    "day_post_infusion": np.float64, "infusion_ns": np.int64, "before_infusion": np.bool_,
    "open": np.bool_, "onset_pos": np.int32, "waiver_pos": np.int32, "crs_episode": np.int32,
    "crs_active": np.bool_, "crs_grade": np.int8, "crs_status": np.int8,
    "episode_max": np.int8, "flags": np.int32, "crs_why": np.int32, "icans_why": np.int32,
    "bp_raw": np.int8, "bp_comp": np.int8, "o2_raw": np.int8, "o2_comp": np.int8,
    "age_rule": np.int8, "bp_limit": np.float64, "icans_events": np.int8,
    "icans_grade": np.int8,
    "icans_status": np.int8, "icans_active": np.bool_, "icans_episode": np.int32,
    "icans_episode_max": np.int8,
}
Graded = NamedTuple("Graded", [(name, np.ndarray) for name in GRADED])  # type: ignore[misc]


def empty_graded(n: int) -> Graded:
    """Arrays for ``n`` rows, carved out of one allocation: fresh memory costs a page fault per
    page, and one large block gets large pages (far fewer faults) where many small ones do not."""
    sizes = [-(-n * np.dtype(dtype).itemsize // 64) * 64 for dtype in GRADED.values()]
    block = np.empty(sum(sizes), np.uint8)
    starts = np.cumsum([0, *sizes])
    return Graded(*(block[lo:lo + n * np.dtype(dtype).itemsize].view(dtype)
                    for lo, dtype in zip(starts, GRADED.values())))


def _probe() -> int:
    return 0


def _can_cache() -> bool:
    """Whether numba can keep the compiled pass on disk: next to this file, or in the user's
    cache. Neither writable (a read-only install, no home): compile in memory on every start
    rather than fail to import."""
    try:
        njit(cache=True)(_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


CACHE = _can_cache()


# ------------------------------------------------------------------------------ the pass
@njit(cache=CACHE, nogil=True)
def grade_rows(r: Rows, k: Rules, tab: Tables, out: Graded, lo: int, hi: int) -> None:
    """Fill ``out`` for rows lo..hi-1 of ``r`` (whole patients), one patient after the other.
    Threads may fill separate ranges of the same arrays at once."""
    while lo < hi:
        end = r.end[lo]
        _grade_patient(r, k, tab, out, lo, end)
        lo = end


@njit(cache=CACHE, nogil=True, inline="always")
def _window(j: int, elapsed_ns: int, window_ns: int) -> int:
    """Row ``j`` if it was recorded (j >= 0) at most ``window_ns`` before, else -1."""
    return j if j >= 0 and elapsed_ns <= window_ns else NO_ROW


@njit(cache=CACHE, nogil=True, inline="always")
def _since(j: int, floor: int) -> int:
    """Row ``j`` if it is at or after row ``floor``, else -1: a row after the infusion reads
    nothing recorded before it (decision C17)."""
    return j if j >= floor else NO_ROW


@njit(cache=CACHE, nogil=True, inline="always")
def _bits(j: int, attributed: int) -> int:
    """The attribution bits read on row ``j`` (none for no row or a blank cell)."""
    return attributed if j >= 0 and attributed > 0 else 0


@njit(cache=CACHE, nogil=True)
def _first_recorded(values: np.ndarray, lo: int, hi: int) -> int:
    """The first row among lo..hi-1 with a value (not NaN, not NaT); -1 none."""
    nat = np.iinfo(np.int64).min
    for j in range(lo, hi):
        if values[j] == values[j] and values[j] != nat:  # NaN != NaN
            return j
    return NO_ROW


@njit(cache=CACHE, nogil=True)
def _grade_patient(r: Rows, k: Rules, tab: Tables, out: Graded, lo: int, hi: int) -> None:
    t, attributed = r.time_ns, r.attributed
    first_age = _first_recorded(r.age, lo, hi)
    infusion_j = _first_recorded(r.infusion, lo, hi)  # one infusion time per patient
    # C17: rows before the infusion are baseline observations; a row at or after it reads
    # only what was recorded at or after it (its first such row: ``first_after``)
    infusion_t = r.infusion[infusion_j] if infusion_j >= 0 else np.iinfo(np.int64).min
    first_after = lo
    while first_after < hi and t[first_after] < infusion_t:
        first_after += 1
    # the latest row (-1 none) where each input was recorded
    age_j = temp_j = bp_j = bolus_j = spo2_j = dev_j = change_j = flow_j = vaso_j = -1
    prior_j = sedated_until = ice_j = capd_j = loc_j = sed_j = pre_j = -1
    seizure_j = motor_j = edema_j = icp_j = aroused_j = -1
    device_before = -1
    # episodes: the latest active row; the run's first active row (its number); its onset
    crs_last = crs_run = crs_onset = crs_drug = icans_last = icans_run = -1
    crs_max = icans_max = -1
    for i in range(lo, hi):
        # (an index of -1 reads the last row: harmless, _window and _bits then give none)
        a = _bits(i, attributed[i])
        before = t[i] < infusion_t  # never with no infusion time
        floor = lo if before else first_after
        out.infusion_ns[i], out.before_infusion[i] = infusion_t, before

        # --- vitals: the latest inside the vitals window
        if r.age[i] == r.age[i]:
            age_j = i
        age_src = age_j if age_j >= 0 else first_age  # the first age also holds before it
        age = r.age[age_src] if age_src >= 0 else np.nan
        out.age[i] = age
        if r.temp[i] == r.temp[i]:
            temp_j = i
        temp_src = _since(_window(temp_j, t[i] - t[temp_j], k.vitals_ns), floor)
        out.temp_src[i] = temp_src
        fever_attr = ((a | _bits(temp_src, attributed[temp_src])) & k.fever_bit) != 0
        out.fever_attr[i] = fever_attr
        if r.sbp[i] == r.sbp[i]:
            bp_j = i
        bp_src = _since(_window(bp_j, t[i] - t[bp_j], k.vitals_ns), floor)
        out.bp_src[i] = bp_src
        hypo_now = (a & k.hypotension_bit) != 0
        bp_attr = (_bits(bp_src, attributed[bp_src]) & k.hypotension_bit) != 0
        out.hypo_now[i], out.bp_attr[i] = hypo_now, bp_attr
        if r.bolus[i] == 1:
            bolus_j = i
        bolus_src = _since(_window(bolus_j, t[i] - t[bolus_j], k.vitals_ns), floor)
        out.bolus_src[i] = bolus_src
        if r.spo2[i] == r.spo2[i]:
            spo2_j = i
        spo2_src = _since(_window(spo2_j, t[i] - t[spo2_j], k.vitals_ns), floor)
        out.spo2_src[i] = spo2_src

        # --- ongoing support: blank means unchanged; a flow belongs to the device in force
        if r.device[i] >= 0:
            dev_j = i
        device = r.device[dev_j] if dev_j >= 0 else -1
        if r.device[i] >= 0 and r.device[i] != device_before:
            change_j = i
        device_before = device
        if r.flow[i] == r.flow[i]:
            flow_j = i
        flow_src = flow_j if flow_j >= change_j else NO_ROW
        flow = r.flow[flow_src] if flow_src >= 0 else np.nan
        out.device[i], out.flow[i] = device, flow
        out.o2_src[i] = max(dev_j, flow_src) if device >= 0 else NO_ROW
        o2_attr = (a & k.hypoxia_bit) != 0
        out.o2_attr[i] = o2_attr
        if r.vaso[i] >= 0:
            vaso_j = i
        vaso = r.vaso[vaso_j] if vaso_j >= 0 else -1
        out.vaso_src[i], out.vaso[i] = vaso_j, vaso

        # --- drugs
        # another anti-cytokine agent acts like tocilizumab (CRS-R3, A3; decision C20)
        anticytokine = r.tocilizumab[i] == 1 or r.anticytokine[i] == 1
        drug_given = r.antipyretic[i] == 1 or anticytokine or r.corticosteroid[i] == 1
        if anticytokine or r.corticosteroid[i] == 1:
            prior_j = i
        prior_src = _since(prior_j, floor)  # premedication never masks (C17)
        out.prior_drug_src[i] = prior_src

        # --- neuro: the latest inside the neuro window, never a finding made under sedation
        # (ICANS-R5: not even after sedation ends)
        if r.sedated[i] == 1:
            sedated_until = i
        if r.ice[i] == r.ice[i]:
            ice_j = i
        if r.capd[i] == r.capd[i]:
            capd_j = i
        if r.loc[i] >= 0:
            loc_j = i
        if r.ice[i] > 0 or r.capd[i] == r.capd[i]:  # the patient answered or was assessable
            aroused_j = i
        ice_src = _since(_window(ice_j, t[i] - t[ice_j], k.neuro_ns), floor)
        ice_src = ice_src if ice_src > sedated_until else NO_ROW
        capd_src = _since(_window(capd_j, t[i] - t[capd_j], k.neuro_ns), floor)
        capd_src = capd_src if capd_src > sedated_until else NO_ROW
        loc_src = _since(_window(loc_j, t[i] - t[loc_j], k.neuro_ns), floor)
        loc_src = loc_src if loc_src > sedated_until else NO_ROW
        # decision N13: a later ICE > 0 or CAPD shows the patient arousable, so an earlier
        # 'unarousable' no longer counts (consciousness then not re-assessed)
        loc_ended = NO_ROW
        if loc_src >= 0 and r.loc[loc_src] == k.unarousable and aroused_j > loc_src:
            loc_ended, loc_src = loc_src, NO_ROW
        out.loc_ended_src[i] = loc_ended
        out.aroused_src[i] = aroused_j if loc_ended >= 0 else NO_ROW
        loc = r.loc[loc_src] if loc_src >= 0 else -1
        out.ice_src[i], out.capd_src[i] = ice_src, capd_src
        out.loc_src[i], out.loc[i] = loc_src, loc
        # a neuro assessment without a sedation entry was made unsedated
        assessed = r.ice[i] == r.ice[i] or r.capd[i] == r.capd[i] or r.loc[i] >= 0
        if r.sedated[i] >= 0 or assessed:
            sed_j = i
        sedated_src = _since(_window(sed_j, t[i] - t[sed_j], k.neuro_ns), floor)
        sedated = sedated_src >= 0 and r.sedated[sedated_src] == 1
        out.sedated_src[i], out.sedated[i] = sedated_src, sedated
        use_capd = capd_src >= 0 and (ice_src < 0 or capd_src > ice_src)
        cognitive_src = capd_src if use_capd else ice_src
        cognitive_attr = ((a | _bits(cognitive_src, attributed[cognitive_src]))
                          & k.neuro_bit) != 0
        loc_attr = ((a | _bits(loc_src, attributed[loc_src])) & k.neuro_bit) != 0
        out.cognitive_attr[i], out.loc_attr[i] = cognitive_attr, loc_attr
        if (r.ice[i] == r.ice[i] and infusion_j >= 0
                and t[i] <= r.infusion[infusion_j]):  # an ICE score before the infusion
            pre_j = i
        baseline = r.ice[pre_j] if pre_j >= 0 else np.nan
        out.baseline_ice[i] = baseline
        if r.seizure[i] >= 0:
            seizure_j = i
        if r.motor[i] >= 0:
            motor_j = i
        if r.edema[i] >= 0:
            edema_j = i
        if r.icp[i] >= 0:
            icp_j = i
        seizure_src, motor_src = _since(seizure_j, floor), _since(motor_j, floor)
        edema_src, icp_src = _since(edema_j, floor), _since(icp_j, floor)
        seizure = r.seizure[seizure_src] if seizure_src >= 0 else -1
        motor = r.motor[motor_src] if motor_src >= 0 else -1
        edema = r.edema[edema_src] if edema_src >= 0 else -1
        icp = r.icp[icp_src] if icp_src >= 0 else -1
        out.seizure_src[i], out.seizure[i] = seizure_src, seizure
        out.motor_src[i], out.motor[i] = motor_src, motor
        out.edema_src[i], out.edema[i] = edema_src, edema
        out.icp_src[i], out.icp[i] = icp_src, icp
        out.day_post_infusion[i] = (r.day[i] - r.infusion_day[infusion_j] if infusion_j >= 0
                                    else np.nan)

        # --- CRS (the reference: snapshot.grade_crs)
        rule = k.unknown_age_rule  # §1.6: the last rule starting at or below the age
        if age == age:
            rule = 0
            while rule + 1 < len(tab.age_from) and tab.age_from[rule + 1] <= age:
                rule += 1
        limit = tab.sbp_below[rule] + (2 * np.floor(age) if tab.plus_twice_age[rule] else 0.0)
        out.age_rule[i], out.bp_limit[i] = rule, limit
        sbp = r.sbp[bp_src] if bp_src >= 0 else np.nan
        dbp = r.dbp[bp_src] if bp_src >= 0 else np.nan
        bp_raw, bp, flags, bp_why = _hypotension_component(
            k, vaso, sbp, dbp, limit, tab.map_below[rule], bolus_src >= 0, hypo_now, bp_attr)
        spo2 = r.spo2[spo2_src] if spo2_src >= 0 else np.nan
        o2_raw, o2, o2_provisional, o2_flags, o2_why = _hypoxia_component(
            k, tab.device_low[device], tab.device_high[device],
            tab.device_flow_dependent[device], tab.device_pressure[device],
            tab.device_review_low[device], device, flow, spo2, o2_attr)
        out.bp_raw[i], out.bp_comp[i], out.o2_raw[i], out.o2_comp[i] = bp_raw, bp, o2_raw, o2
        flags |= o2_flags
        hot = temp_src >= 0 and r.hot[temp_src]
        fever = hot and not fever_attr
        temp_why = 0
        if temp_src >= 0:
            temp_why = C_TEMP_ATTR if hot and fever_attr else C_TEMP
        if hot and fever_attr:
            flags |= F_ATTR_FEVER
        # CRS episodes (CRS-R3b): runs of active rows less than 48 h apart, opened by a fever;
        # the waiver from the first antipyretic or anti-cytokine drug while one is open
        # a death recorded as caused by CRS (CRS-R9) is part of an episode, opening one at
        # the death row if none is open (decision C14)
        died_crs = r.died_of[i] == k.died_crs
        # C17: a row before the infusion opens nothing and is not part of an episode
        active = (fever or bp > 0 or o2 > 0 or died_crs) and not before
        if active:
            if crs_last < 0 or t[i] - t[crs_last] > k.episode_ns:
                crs_run = i
                crs_onset = crs_drug = crs_max = -1
            crs_last = i
            if (fever or died_crs) and crs_onset < 0:
                crs_onset = i
        is_open = crs_last >= 0 and t[i] - t[crs_last] <= k.episode_ns and crs_onset >= 0
        if is_open and drug_given and crs_drug < 0:
            crs_drug = i
        waiver = is_open and crs_drug >= 0
        out.open[i], out.crs_active[i] = is_open, active
        out.onset_pos[i] = crs_onset if is_open else NO_ROW
        out.waiver_pos[i] = crs_drug if waiver else NO_ROW
        out.crs_episode[i] = crs_run if is_open else -1
        grade, status, grade_flags, why = _crs_grade(k, fever, temp_src >= 0, waiver, is_open,
                                                     bp, o2, o2_provisional, prior_src >= 0,
                                                     temp_why, bp_why | o2_why)
        flags |= grade_flags
        if infusion_j >= 0 and t[i] - infusion_t < k.vitals_ns:
            why |= C_NEAR_INFUSION
        if died_crs:
            grade, status, flags, why = 5, k.final, 0, C_DIED
        if before:  # C17: a baseline observation, CRS 0 final
            grade, status = 0, k.final
            flags = (flags & PRE_INFUSION_KEEPS) | (F_PRE_FEVER if hot else 0)
            why = C_BASELINE | (C_PRE_FEVER if hot else 0)
        out.crs_grade[i], out.crs_status[i], out.crs_why[i] = grade, status, why
        if is_open:
            crs_max = max(crs_max, grade)
        out.episode_max[i] = crs_max if is_open else -1

        # --- ICANS (the reference: snapshot.grade_icans)
        ice = int(r.ice[ice_src]) if ice_src >= 0 else -1
        capd = int(r.capd[capd_src]) if capd_src >= 0 else -1
        ice_grade = tab.ice_domain[ice]
        icp_grade = -1 if icp < 0 else (0 if icp == 0 else k.icp_sign_grade)
        events = max(max(tab.seizure_domain[seizure], tab.motor_domain[motor]),
                     max(tab.edema_domain[edema], icp_grade))
        out.icans_events[i] = events
        grade, status, icans_flags, why = _icans_grade(
            k, tab.capd_domain[capd] if use_capd else ice_grade, cognitive_attr,
            tab.loc_domain[loc], loc_attr, sedated, events, use_capd, ice_src >= 0, ice,
            ice_grade, age, baseline, loc_ended >= 0)
        why |= ((I_SEIZURE if tab.seizure_domain[seizure] > 0 else 0)
                | (I_MOTOR if tab.motor_domain[motor] > 0 else 0)
                | (I_EDEMA if tab.edema_domain[edema] > 0 else 0)
                | (I_ICP if icp_grade > 0 else 0)
                | (I_USE_CAPD if use_capd else 0)
                | (I_HAS_INFUSION if infusion_j >= 0 else 0))
        if infusion_j >= 0 and t[i] - infusion_t < k.neuro_ns:
            why |= I_NEAR_INFUSION
        if r.died_of[i] == k.died_icans:
            grade, status, icans_flags, why = 5, k.final, 0, I_DIED
        if before:  # C17: a baseline assessment, ICANS 0 final
            grade, status, icans_flags = 0, k.final, 0
            why = I_BASELINE | (I_BASELINE_ICE if ice_src >= 0 and not sedated else 0)
        out.icans_why[i] = why
        out.icans_grade[i], out.icans_status[i] = grade, status
        out.flags[i] = flags | icans_flags
        # ICANS episodes ([I], like CRS-R3b): runs of grade >= 1 rows less than 48 h apart
        active = grade >= 1
        if active:
            if icans_last < 0 or t[i] - t[icans_last] > k.episode_ns:
                icans_run = i
                icans_max = -1
            icans_last = i
        is_open = icans_last >= 0 and t[i] - t[icans_last] <= k.episode_ns
        out.icans_active[i] = active
        out.icans_episode[i] = icans_run if is_open else -1
        if is_open:
            icans_max = max(icans_max, grade)
        out.icans_episode_max[i] = icans_max if is_open else -1


@njit(cache=CACHE, nogil=True, inline="always")
def _hypotension_component(k: Rules, vaso: int, sbp: float, dbp: float, limit: float,
                           map_limit: float, bolus: bool, hypo_now: bool,
                           bp_attr: bool) -> tuple[int, int, int, int]:
    """CRS-R4, §1.5 and §1.6: (the component found, -1 when BP is not recorded; the component
    counted, 0 when a physician attributed it to another cause; flags; reasons)."""
    flags = why = 0
    pressors = vaso if vaso >= 0 else 0
    counted = 0
    bits = pressors & k.counted_mask
    while bits:
        counted += bits & 1
        bits >>= 1
    vaso_present = counted >= 1 or (pressors & k.vasopressin_like_mask) != 0
    if pressors & k.inotrope_mask:
        flags |= F_INOTROPE
    if pressors & k.terlipressin_mask:
        flags |= F_TERLIPRESSIN
    low = sbp < limit or (dbp + (sbp - dbp) / 3) < map_limit  # NaN: not low
    if counted >= 2:
        component = k.multiple_pressors
    elif vaso_present:
        component = k.one_pressor
    elif low or bolus:
        component = k.no_pressor
    else:
        component = -1 if sbp != sbp else 0
    if vaso_present:
        why |= C_VASO
        attributed = hypo_now
    else:  # a low reading attributed here or where it was taken; a bolus attributed here
        low_counts = low and not hypo_now and not bp_attr
        bolus_counts = bolus and not hypo_now
        why |= (C_LOW if low_counts else 0) | (C_BOLUS if bolus_counts else 0)
        attributed = (low or bolus) and not (low_counts or bolus_counts)
    attributed = attributed and component > 0
    if attributed:
        why |= C_HYPO_ATTR
        flags |= F_ATTR_HYPO
    return component, (0 if attributed else component), flags, why


@njit(cache=CACHE, nogil=True, inline="always")
def _hypoxia_component(k: Rules, low_flow: int, high_flow: int, flow_dependent: bool,
                       pressure: bool, review_low: bool, device: int, flow: float, spo2: float,
                       o2_attr: bool) -> tuple[int, int, bool, int, int]:
    """CRS-R5 and §1.4, given the device's components and properties: (the component found,
    -1 when no device is recorded; the component counted; provisional; flags; reasons)."""
    flags = why = 0
    if pressure:
        flow = np.nan  # a flow given with positive pressure is ignored
    high = flow > k.low_flow_max
    component = high_flow if high else low_flow
    flow_unknown = flow != flow and flow_dependent
    hfnc_low = review_low and flow == flow and not high
    attributed = component > 0 and o2_attr
    if spo2 < 90 and (device < 0 or device == k.room_air):
        flags |= F_HYPOXIA_NO_O2
    if hfnc_low and not attributed:
        flags |= F_HFNC_LOW
    if component > 0:
        why |= C_O2
    if attributed:
        why |= C_HYPOX_ATTR
        flags |= F_ATTR_HYPOX
    provisional = (flow_unknown or hfnc_low) and not attributed
    return component, (0 if attributed else component), provisional, flags, why


@njit(cache=CACHE, nogil=True, inline="always")
def _crs_grade(k: Rules, fever: bool, temp_known: bool, waiver: bool, is_open: bool, bp: int,
               o2: int, o2_provisional: bool, prior_drug: bool, temp_why: int,
               component_why: int) -> tuple[int, int, int, int]:
    """CRS-R6 and the states of §1.7: (grade, status, flags, reasons)."""
    flags = 0
    worst = max(max(bp, 0), max(o2, 0))
    missing = bp < 0 or o2 < 0
    if fever or waiver or is_open:
        if not fever and not waiver and not temp_known:
            return NE_GRADE, k.not_evaluable, 0, C_NO_TEMP  # an open episode, no temperature
        grade = max(1, worst) if fever else worst
        provisional = o2_provisional or missing
        flags |= (F_NOT_REC_BP if bp < 0 else 0) | (F_NOT_REC_O2 if o2 < 0 else 0)
        why = temp_why | component_why
        if fever:
            why |= C_R6_FEVER
        elif waiver:
            why |= C_WAIVER | C_R6_WAIVER
        else:
            why |= C_R3B
            if worst > 0:
                provisional = True
                flags |= F_AFEBRILE
    elif not temp_known:
        return NE_GRADE, k.not_evaluable, 0, C_NO_TEMP
    else:  # CRS-R2: no fever, no episode
        grade = 0
        provisional = False
        why = temp_why | C_R2
        if worst > 0:  # the findings are said; with none, only what attribution excluded
            why |= component_why
        else:
            why |= component_why & (C_HYPO_ATTR | C_HYPOX_ATTR)
        if worst > 0 and prior_drug:
            provisional = True
            flags |= F_MASKED
        elif worst > 0:
            flags |= F_WITHOUT
    return grade, (k.provisional if provisional else k.final), flags, why


@njit(cache=CACHE, nogil=True, inline="always")
def _icans_grade(k: Rules, cognitive: int, cognitive_attr: bool, level: int, loc_attr: bool,
                 sedated: bool, events: int, use_capd: bool, ice_recorded: bool, ice: int,
                 ice_grade: int, age: float, baseline: float,
                 loc_disproved: bool) -> tuple[int, int, int, int]:
    """ICANS-R1 to R8 and §2.5, given the domain grades (-1 not assessed; ``events``: the
    highest of seizure, motor, oedema and raised ICP): (grade, status, flags, reasons; the
    event domains' reasons are the caller's)."""
    flags = why = 0
    if sedated:
        why |= I_SEDATED
        flags |= F_NEURO_NA
        cognitive = level = -1
    else:
        if cognitive >= 0:
            why |= I_COG_ATTR if cognitive > 0 and cognitive_attr else I_COG
        if level > 0:
            why |= I_LOC_ATTR if loc_attr else I_LOC
        if cognitive < 0:
            why |= I_NO_COG
        if level < 0:
            why |= I_LOC_DISPROVED if loc_disproved else I_NO_LOC
    cognitive_attr_hit = cognitive > 0 and cognitive_attr
    if cognitive_attr_hit:
        cognitive = 0
    loc_attr_hit = level > 0 and loc_attr
    if loc_attr_hit:
        level = 0
    grade = max(max(cognitive, level), events)
    # a bedside domain not assessed leaves the grade open, unless it is 4 already
    provisional = grade < 4 and (cognitive < 0 or level < 0)
    if use_capd:
        wrong_age = np.floor(age) > k.capd_max_age
    else:
        wrong_age = ice_recorded and age < k.capd_max_age
    if wrong_age and not sedated:
        flags |= F_INSTR_AGE
    deficit = (ice_recorded and not sedated and not use_capd and baseline < k.ice_max
               and ice_grade > 0 and ice >= baseline and not cognitive_attr)
    if deficit:
        provisional = provisional or grade < 4
        flags |= F_DEFICIT
    if cognitive_attr_hit:
        flags |= F_ATTR_COG
    if loc_attr_hit:
        flags |= F_ATTR_LOC
    if cognitive < 0 and level < 0 and events < 0:
        return NE_GRADE, k.not_evaluable, flags, why | I_NE
    return grade, (k.provisional if provisional else k.final), flags, why | I_R1
