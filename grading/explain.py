"""The words of every grade: the compiled pass's reason and flag bits rendered as text.

``kernel.grade_rows`` decides, for each row, which reasons and review flags apply (one bit each,
``kernel.CRS_SLOTS``, ``ICANS_SLOTS`` and ``FLAG_SLOTS``) and keeps the rows their values came
from. Here each bit becomes its text, from a template that reads those values. A template runs
once per distinct set of values it reads (``Slot.key``), never once per row, so a million rows
cost a few thousand renderings; the rows then share the rendered entries by number.

The texts are exactly those of the readable reference (``snapshot.grade_crs`` and
``grade_icans``); the tests hold every row's reasons and flags against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import kernel as kn
from . import rules
from .fields import FIELD_BY_NAME, RAISED_ICP_SIGNS
from .result import Flag, Reason, Severity

if TYPE_CHECKING:
    from .timeline import GradedTimeline

NO_ROW = -1
ROW_TIME = -1  # a reason timed at its own row (not at a source row)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def when(ns: int, tz: object) -> datetime:
    """A sorted row's time, in the ward zone, to the microsecond."""
    return (_EPOCH + timedelta(microseconds=int(ns) // 1000)).astimezone(tz)  # type: ignore[arg-type]


class View:
    """The values one template reads, at one (representative) sorted row ``s``."""

    def __init__(self, g: GradedTimeline, s: int) -> None:
        self.g, self.s, self.c, self.r = g, s, g.col, g.rows

    def col(self, name: str) -> int:
        """A whole-number column of the pass (a code, a component, or the sorted row a value
        was taken from: ``*_src``) at the row."""
        return int(self.c[name][self.s])

    src = col

    def at(self, name: str, src: str) -> float:
        """Input ``name`` at the row column ``src`` points to."""
        return float(getattr(self.r, name)[self.src(src)])

    def time(self, row: int) -> datetime:
        return when(self.g.order.time_ns[row], self.g.assessments.tz)

    def temp(self) -> str:
        return str(rules.round_temp(self.at("temp", "temp_src")))

    def choice(self, field: str, code: int) -> str:
        return FIELD_BY_NAME[field].values[code]

    def lookback(self, near_bit: int, why: str, window: timedelta) -> str:
        """How far back the row looked (snapshot._lookback): the window, or since the
        infusion when that is nearer (decision C17)."""
        if self.col(why) & near_bit:
            return "since the infusion"
        return f"in the last {int(window.total_seconds() // 3600)} h"

    def onset(self) -> str:
        return f"{self.time(self.src('onset_pos')):%d %b %H:%M}"

    def cognitive(self) -> tuple[str, str, int, int]:
        """(rule, words, domain grade, source row) of the cognitive assessment in force."""
        if self.col("icans_why") & kn.I_USE_CAPD:
            j = self.src("capd_src")
            total = int(self.r.capd[j])
            words = f"CAPD {total}" + (" (>= 9: screen positive)" if total >= 9 else "")
            return "ICANS §2.5", words, int(kn.TABLES.capd_domain[total]), j
        j = self.src("ice_src")
        total = int(self.r.ice[j])
        return "ICANS-R2", f"ICE {total}/10", int(kn.TABLES.ice_domain[total]), j


def _num(x: float) -> str:
    return f"{x:g}"


def _component(c: int) -> str:
    return "not recorded" if c < 0 else str(c)


def _combine(basis: str, bp: int, o2: int, grade: int) -> str:
    return (f"{basis} with hypotension {_component(bp)} and hypoxia {_component(o2)}: "
            f"CRS grade {grade}")


def _drugs(v: View, row: int) -> str:
    given = ((rules.ANTIPYRETIC, "antipyretic"), (rules.TOCILIZUMAB, "tocilizumab"),
             (rules.CORTICOSTEROID, "corticosteroid"), (rules.ANTICYTOKINE, "anticytokine"))
    return " and ".join(d for d, k in given if v.c[k][row] == 1)


def _agents(mask: int) -> list[str]:
    return [a for i, a in enumerate(FIELD_BY_NAME["vasopressors"].values) if mask >> i & 1]


# ------------------------------------------------------------------------- the templates
# Each slot: its bit, what its text reads (``key``: the value columns, at the row), where its
# time comes from (a ``*_src`` column, or the row itself), and the template.
Key = Callable[["GradedTimeline", np.ndarray], Sequence[np.ndarray]]


@dataclass(frozen=True)
class Slot:
    name: str
    bit: int
    key: Key
    render: Callable[[View], tuple[str, str]]  # (rule, finding) or (severity, message)
    time: str | None = None                    # the src column of the time; None: the row's
    word: str = "crs_why"                      # the bits' column
    code: str = ""                             # a flag's code
    extra: Callable[[GradedTimeline, np.ndarray], np.ndarray] | None = None  # more to be present


def _src_value(name: str, src: str) -> Key:
    return lambda g, s: (getattr(g.rows, name)[g.col[src][s]],)


def _cols(*names: str) -> Key:
    return lambda g, s: tuple(g.col[n][s] for n in names)


def _near(word: str, bit: int) -> Key:
    return lambda g, s: ((g.col[word][s] & bit) != 0,)


def _none(g: GradedTimeline, s: np.ndarray) -> Sequence[np.ndarray]:
    return ()


def _temp_hot(g: GradedTimeline, s: np.ndarray) -> Sequence[np.ndarray]:
    j = g.col["temp_src"][s]
    return g.rows.temp[j], g.rows.hot[j]


def _vaso_text(v: View) -> tuple[str, str]:
    running = _agents(v.col("vaso"))
    counted = sorted(a for a in running if rules.VASOACTIVE_RULE[a].counts_as_vasopressor)
    vaso_like = sorted(a for a in running if rules.VASOACTIVE_RULE[a].vasopressin_like)
    if len(counted) >= 2:
        what = f"{' + '.join(counted)} running together: multiple vasopressors"
    elif counted:
        what = f"{counted[0]} running: one vasopressor"
        if vaso_like:
            what += f" (with {', '.join(vaso_like)}, not counted as a second agent)"
    else:
        what = f"{', '.join(vaso_like)} alone: counted as one vasopressor"
    return "CRS-R4", f"{what} -> hypotension component {v.col('bp_raw')}"


def _low_bp_text(v: View) -> tuple[str, str]:
    sbp, dbp = v.at("sbp", "bp_src"), v.at("dbp", "bp_src")
    t = kn.AGE_RULES[v.col("age_rule")]
    limit = float(v.c["bp_limit"][v.s])
    if sbp < limit:
        why = f"SBP {_num(sbp)} mmHg < {_num(limit)} ({t.population})"
    else:
        why = (f"MAP {rules.estimated_map(sbp, dbp):.0f} mmHg < {_num(t.map_below or 0)} "
               f"({t.population})")
    return "CRS-R4", f"{why}, no vasopressor -> hypotension component 2"


def _o2_text(v: View) -> tuple[str, str]:
    device = v.choice("o2_device", v.col("device"))
    rule = rules.DEVICE_RULE[device]
    flow_v = float(v.c["flow"][v.s])
    flow = None if device in rules.PRESSURE_DEVICES or flow_v != flow_v else flow_v
    component = v.col("o2_raw")
    if flow is None and device in rules.FLOW_DEPENDENT_DEVICES:
        return "CRS-R5", (f"{rule.label}, flow not recorded -> low-flow assumed, component "
                          f"{component} (above {_num(rules.LOW_FLOW_MAX_L_MIN)} L/min it would "
                          f"be {rule.component_high_flow})")
    high = rule.component_low_flow != rule.component_high_flow and \
        component == rule.component_high_flow
    at = "" if flow is None else f" {_num(flow)} L/min"
    band = ("" if flow is None or rule.component_low_flow == rule.component_high_flow
            else (" (> 6 L/min: high-flow)" if high else " (<= 6 L/min: low-flow)"))
    return "CRS-R5", f"{rule.label}{at}{band} -> hypoxia component {component}"


CRS = (
    Slot("pre_infusion_fever", kn.C_PRE_FEVER, _src_value("temp", "temp_src"), lambda v: (
        "CRS-R1", f"temperature {v.temp()} °C before the infusion: a fever, but not CRS"),
        "temp_src"),
    Slot("baseline", kn.C_BASELINE, _none, lambda v: (
        "CRS §1.1", "before the infusion: a baseline observation, not graded as CRS (ASTCT "
        "2019: CRS follows the cell therapy) -> grade 0")),
    Slot("died", kn.C_DIED, _none, lambda v: ("CRS-R9", "death recorded as caused by CRS")),
    Slot("no_temperature", kn.C_NO_TEMP, _near("crs_why", kn.C_NEAR_INFUSION), lambda v: (
        "CRS-R1", f"no temperature {v.lookback(kn.C_NEAR_INFUSION, 'crs_why', rules.VITALS_WINDOW)}"
        ": CRS not evaluable")),
    Slot("temperature", kn.C_TEMP, _temp_hot, lambda v: (
        "CRS-R1", f"temperature {v.temp()} °C: " + (
            "fever (>= 38.0 °C)" if v.g.rows.hot[v.src("temp_src")] else "no fever (< 38.0 °C)")),
        "temp_src"),
    Slot("temperature_attributed", kn.C_TEMP_ATTR, _src_value("temp", "temp_src"), lambda v: (
        "CRS-R1", f"temperature {v.temp()} °C attributed to another cause: not counted as "
        "fever"), "temp_src"),
    Slot("waiver", kn.C_WAIVER, _cols("onset_pos", "waiver_pos"), lambda v: (
        "CRS-R3", f"CRS episode open since {v.onset()} and {_drugs(v, v.src('waiver_pos'))} "
        "given: fever no longer required"), "waiver_pos"),
    Slot("no_fever_no_episode", kn.C_R2, _none, lambda v: (
        "CRS-R2", "no qualifying fever and no open CRS episode: grade 0")),
    Slot("vasopressors", kn.C_VASO, _cols("vaso", "bp_raw"), _vaso_text, "vaso_src"),
    Slot("low_bp", kn.C_LOW, lambda g, s: (g.rows.sbp[g.col["bp_src"][s]],
                                          g.rows.dbp[g.col["bp_src"][s]],
                                          g.col["age_rule"][s], g.col["bp_limit"][s]),
         _low_bp_text, "bp_src"),
    Slot("bolus", kn.C_BOLUS, _none, lambda v: (
        "CRS-R4", "fluid bolus given for blood pressure, no vasopressor -> hypotension "
        "component 2"), "bolus_src"),
    Slot("hypotension_attributed", kn.C_HYPO_ATTR, _cols("bp_raw"), lambda v: (
        "CRS-R7", f"hypotension attributed to another cause: component {v.col('bp_raw')} not "
        "counted")),
    Slot("oxygen", kn.C_O2, _cols("device", "flow", "o2_raw"), _o2_text, "o2_src"),
    Slot("hypoxia_attributed", kn.C_HYPOX_ATTR, _cols("o2_raw"), lambda v: (
        "CRS-R7", f"hypoxia attributed to another cause: component {v.col('o2_raw')} not "
        "counted")),
    Slot("fever_grade", kn.C_R6_FEVER, _cols("bp_comp", "o2_comp", "crs_grade"), lambda v: (
        "CRS-R6", _combine("fever", v.col("bp_comp"), v.col("o2_comp"), v.col("crs_grade")))),
    Slot("waiver_grade", kn.C_R6_WAIVER, _cols("bp_comp", "o2_comp", "crs_grade"), lambda v: (
        "CRS-R6", _combine("fever waiver", v.col("bp_comp"), v.col("o2_comp"),
                           v.col("crs_grade"))
        + ("" if v.col("crs_grade") else " (episode open, no qualifying finding now)"))),
    Slot("open_episode_grade", kn.C_R3B, _cols("onset_pos", "crs_grade"), lambda v: (
        "CRS-R3b", f"CRS episode open since {v.onset()}, no fever now: grade "
        f"{v.col('crs_grade')} from hypotension/hypoxia")),
)


def _cognitive_key(g: GradedTimeline, s: np.ndarray) -> Sequence[np.ndarray]:
    capd = (g.col["icans_why"][s] & kn.I_USE_CAPD) != 0
    j = np.where(capd, g.col["capd_src"][s], g.col["ice_src"][s])
    return capd, np.where(capd, g.rows.capd[j], g.rows.ice[j])


def _cognitive_src(g: GradedTimeline, s: np.ndarray) -> np.ndarray:
    capd = (g.col["icans_why"][s] & kn.I_USE_CAPD) != 0
    return np.where(capd, g.col["capd_src"][s], g.col["ice_src"][s])


def _event(rule: str, name: str, field: str, column: str, table: np.ndarray) -> Callable[
        [View], tuple[str, str]]:
    def render(v: View) -> tuple[str, str]:
        code = v.col(column)
        return rule, (f"{name}: {v.choice(field, code).replace('_', ' ')} -> domain grade "
                      f"{int(table[code])}")
    return render


def _icp_text(v: View) -> tuple[str, str]:
    mask = v.col("icp")
    values = FIELD_BY_NAME["raised_icp_signs"].values
    signs = ", ".join(x.replace("_", " ") for x in RAISED_ICP_SIGNS
                      if mask >> values.index(x) & 1)
    return "ICANS §2.3", f"raised ICP sign: {signs} -> domain grade {rules.RAISED_ICP_SIGN_GRADE}"


def _disproved_text(v: View) -> tuple[str, str]:
    ended, shown = v.time(v.src("loc_ended_src")), v.src("aroused_src")
    ice = float(v.r.ice[shown])
    by = f"ICE {int(ice)}/10" if ice == ice else f"CAPD {int(v.r.capd[shown])}"
    open_grade = v.col("icans_events") < 4
    return "ICANS-R4", (f"unarousable recorded {ended:%d %b %H:%M} no longer counts: the later "
                        f"{by} shows the patient arousable (ASTCT 2019: an unarousable patient "
                        "cannot do the ICE or CAPD); level of consciousness not re-assessed "
                        "since" + (", so the grade is provisional until it is" if open_grade
                                   else ""))


def _neuro_lookback(v: View) -> str:
    return v.lookback(kn.I_NEAR_INFUSION, "icans_why", rules.NEURO_WINDOW)


def _loc_words(v: View) -> str:
    return v.choice("consciousness", v.col("loc")).replace("_", " ")


_I = {"word": "icans_why"}
ICANS = (
    Slot("baseline_ice", kn.I_BASELINE_ICE, _src_value("ice", "ice_src"), lambda v: (
        "ICANS-R2", f"ICE {int(v.at('ice', 'ice_src'))}/10 before the infusion: the baseline "
        "later ICE scores are read against"), "ice_src", **_I),
    Slot("baseline", kn.I_BASELINE, _none, lambda v: (
        "ICANS §2.1", "before the infusion: a baseline assessment, not graded as ICANS (ASTCT "
        "2019: ICANS follows the cell therapy) -> grade 0"), **_I),
    Slot("died", kn.I_DIED, _none, lambda v: ("ICANS-R9", "death recorded as caused by ICANS"),
         **_I),
    Slot("sedated", kn.I_SEDATED, _none, lambda v: (
        "ICANS-R5", "sedated: ICE/CAPD and consciousness cannot be assessed"), "sedated_src",
        **_I),
    Slot("cognitive", kn.I_COG, _cognitive_key, lambda v: (
        v.cognitive()[0], f"{v.cognitive()[1]} -> domain grade {v.cognitive()[2]}"),
        "cognitive", **_I),
    Slot("cognitive_attributed", kn.I_COG_ATTR, _cognitive_key, lambda v: (
        "ICANS-R5", f"{v.cognitive()[1]} attributed to another cause by a physician: not "
        "counted"), "cognitive", **_I),
    Slot("consciousness", kn.I_LOC, _cols("loc"), lambda v: (
        "ICANS-R4", f"{_loc_words(v)} -> domain grade "
        f"{int(kn.TABLES.loc_domain[v.col('loc')])}"), "loc_src", **_I),
    Slot("consciousness_attributed", kn.I_LOC_ATTR, _cols("loc"), lambda v: (
        "ICANS-R5", f"{_loc_words(v)} attributed to another cause: not counted"), "loc_src",
        **_I),
    Slot("seizure", kn.I_SEIZURE, _cols("seizure"), _event(
        "ICANS-R6", "seizure", "seizure", "seizure", kn.TABLES.seizure_domain), "seizure_src",
        **_I),
    Slot("motor", kn.I_MOTOR, _cols("motor"), _event(
        "ICANS §2.3", "motor weakness", "motor_weakness", "motor", kn.TABLES.motor_domain),
        "motor_src", **_I),
    Slot("edema", kn.I_EDEMA, _cols("edema"), _event(
        "ICANS §2.3", "cerebral oedema", "cerebral_edema", "edema", kn.TABLES.edema_domain),
        "edema_src", **_I),
    Slot("icp", kn.I_ICP, _cols("icp"), _icp_text, "icp_src", **_I),
    Slot("no_cognitive", kn.I_NO_COG, _near("icans_why", kn.I_NEAR_INFUSION), lambda v: (
        "ICANS-R2", f"no ICE or CAPD {_neuro_lookback(v)}"), **_I),
    Slot("unarousable_disproved", kn.I_LOC_DISPROVED,
         lambda g, s: (g.col["loc_ended_src"][s], g.col["aroused_src"][s],
                       g.col["icans_events"][s] < 4),
         _disproved_text, "aroused_src", **_I),
    Slot("no_consciousness", kn.I_NO_LOC, _near("icans_why", kn.I_NEAR_INFUSION), lambda v: (
        "ICANS-R4", f"level of consciousness not recorded {_neuro_lookback(v)}"), **_I),
    Slot("not_evaluable", kn.I_NE, lambda g, s: (
        g.col["icans_why"][s] & (kn.I_NEAR_INFUSION | kn.I_HAS_INFUSION),), lambda v: (
        "ICANS-R5", f"no neuro assessment {_neuro_lookback(v)} and no seizure, motor or imaging "
        "record" + (" since the infusion" if v.col("icans_why") & kn.I_HAS_INFUSION else "")
        + ": ICANS not evaluable"), **_I),
    Slot("highest_domain", kn.I_R1, _cols("icans_grade"), lambda v: (
        "ICANS-R1", f"highest domain grade: ICANS grade {v.col('icans_grade')}"), **_I),
)


def _flag(name: str, key: Key, render: Callable[[View], tuple[str, str]],
          extra: Callable[[GradedTimeline, np.ndarray], np.ndarray] | None = None,
          bit_name: str | None = None) -> Slot:
    slot = bit_name or name
    return Slot(name, kn.FLAG_BIT[slot], key, render, word="flags", code=kn.FLAG_CODE[slot],
                extra=extra)


def _inotrope(agent: str) -> Slot:
    bit = 1 << FIELD_BY_NAME["vasopressors"].values.index(agent)
    return _flag(f"inotrope_{agent}", _none, lambda v: (
        "review", f"{agent} running: an inotrope, not counted as a vasopressor (ASTCT 2019 "
        "counts vasopressors only): review the haemodynamics"),
        extra=lambda g, s: (g.col["vaso"][s] >= 0) & ((g.col["vaso"][s] & bit) != 0),
        bit_name="inotrope")


def _worst(g: GradedTimeline, s: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(g.col["bp_comp"][s], 0), np.maximum(g.col["o2_comp"][s], 0))


FLAGS = (
    *(_inotrope(a) for a in sorted(a for a, r in rules.VASOACTIVE_RULE.items()
                                   if r.review_flag == "inotrope")),
    _flag("terlipressin", _none, lambda v: (
        "review", "terlipressin running: counted like vasopressin (ASTCT 2019 names vasopressin "
        "only): review")),
    _flag("attributed_hypotension", _cols("bp_raw"), lambda v: (
        "review", f"hypotension (component {v.col('bp_raw')}) attributed to another cause by a "
        "physician: excluded (ASTCT 2019)")),
    _flag("hypoxia_no_o2", _src_value("spo2", "spo2_src"), lambda v: (
        "urgent", f"SpO2 {_num(v.at('spo2', 'spo2_src'))} % with no oxygen documented: hypoxia,"
        " no O2 documented. ASTCT 2019 grades by the support needed, so the grade stays as "
        "it is until O2 is recorded")),
    _flag("hfnc_low_flow", _cols("flow"), lambda v: (
        "review", f"high-flow nasal cannula run at {_num(float(v.c['flow'][v.s]))} L/min: graded"
        " 3 by device. ASTCT 2019 defines high flow as > 6 L/min, so 2 is defensible: clinician to "
        "confirm")),
    _flag("attributed_hypoxia", _cols("o2_raw"), lambda v: (
        "review", f"oxygen need (component {v.col('o2_raw')}) attributed to another cause by a "
        "physician: excluded (ASTCT 2019)")),
    _flag("attributed_fever", _src_value("temp", "temp_src"), lambda v: (
        "review", f"fever {v.temp()} °C attributed to another cause by a physician: excluded "
        "from the CRS grade (ASTCT 2019)")),
    _flag("afebrile_open_episode", lambda g, s: (g.col["onset_pos"][s], _worst(g, s)),
          lambda v: (
        "review", f"CRS episode open since {v.onset()}, afebrile without antipyretic or "
        f"anti-cytokine therapy, hypotension/hypoxia present: graded "
        f"{max(v.col('bp_comp'), v.col('o2_comp'), 0)} pending clinician confirmation")),
    _flag("not_recorded_bp", _none, lambda v: (
        "review", "blood pressure or vasopressors not recorded: the CRS grade may be higher "
        "once recorded")),
    _flag("not_recorded_o2", _none, lambda v: (
        "review", "oxygen support not recorded: the CRS grade may be higher once recorded")),
    _flag("fever_possibly_masked", lambda g, s: (g.col["prior_drug_src"][s], _worst(g, s)),
          lambda v: (
        "urgent", "fever possibly masked: hypotension/hypoxia with no open CRS episode after a "
        "corticosteroid, tocilizumab or another anti-cytokine agent (prophylaxis, or treatment "
        "of an earlier episode or of ICANS; given "
        f"{v.time(v.src('prior_drug_src')):%d %b %H:%M}), would be CRS grade "
        f"{max(v.col('bp_comp'), v.col('o2_comp'), 0)} if a clinician confirms CRS (ASTCT 2019)")),
    _flag("without_fever", lambda g, s: (g.col["bp_comp"][s] > 0, g.col["o2_comp"][s] > 0),
          lambda v: (
        "review", " and ".join(n for n, c in (("hypotension", v.col("bp_comp")),
                                             ("hypoxia", v.col("o2_comp"))) if c > 0)
        + " without fever: alternative cause or early CRS? (ASTCT 2019)")),
    _flag("pre_infusion_fever", _src_value("temp", "temp_src"), lambda v: (
        "info", f"fever {v.temp()} °C before the infusion: not CRS, which follows the cell "
        "infusion (ASTCT 2019); infection work-up, the infusion team decides whether to go "
        "ahead")),
    _flag("neuro_not_assessable", _none, lambda v: (
        "review", "neuro exam not assessable (sedation or paralysis): ICANS from seizure, motor "
        "and imaging findings only")),
    _flag("instrument_age", lambda g, s: ((g.col["icans_why"][s] & kn.I_USE_CAPD) != 0,
                                          g.col["age"][s]), lambda v: (
        "info", (f"CAPD used at age {int(v.c['age'][v.s])}: ICE is expected from 13 "
                 "years unless developmental delay (ASTCT 2019)")
        if v.col("icans_why") & kn.I_USE_CAPD else
        (f"ICE used at age {int(v.c['age'][v.s])}: CAPD is expected below 12 years "
         "(ASTCT 2019)"))),
    _flag("baseline_deficit", lambda g, s: (g.col["baseline_ice"][s],
                                            g.rows.ice[g.col["ice_src"][s]]), lambda v: (
        "review", f"baseline ICE {int(v.c['baseline_ice'][v.s])} before infusion and ICE "
        f"{int(v.at('ice', 'ice_src'))} now: the deficit may be pre-existing, attribution "
        "needed (ASTCT 2019 makes no baseline adjustment)")),
    _flag("attributed_cognitive", _cognitive_key, lambda v: (
        "review", f"{v.cognitive()[1]} attributed to another cause: excluded from the "
        "ICANS grade")),
    _flag("attributed_consciousness", _cols("loc"), lambda v: (
        "review", f"{_loc_words(v)} attributed to another cause: excluded from the ICANS "
        "grade")),
)


# --------------------------------------------------------------------------- the explaining
@dataclass
class Explained:
    """The reasons and flags of sorted rows ``s``: per slot, the entry number (-1: absent) and,
    for reasons, the sorted row whose time the reason gives."""

    s: np.ndarray
    crs: np.ndarray          # [rows, len(CRS)] entry numbers into Explainer.reasons
    crs_time: np.ndarray     # [rows, len(CRS)] sorted rows
    icans: np.ndarray
    icans_time: np.ndarray
    flags: np.ndarray        # [rows, len(FLAGS)] entry numbers into Explainer.flags


class Explainer:
    """Renders the explanation of a graded timeline, a block of rows at a time; the entries
    (distinct reason and flag texts) are shared by every block."""

    def __init__(self, g: GradedTimeline) -> None:
        self.g = g
        self.reasons: list[tuple[str, str]] = []  # (rule, finding)
        self.flags: list[Flag] = []
        self._reason_id: dict[tuple[str, str], int] = {}
        self._flag_id: dict[Flag, int] = {}
        self._rendered: dict[int, dict[tuple[object, ...], int]] = {}  # slot -> values -> entry

    def _reason(self, entry: tuple[str, str]) -> int:
        i = self._reason_id.get(entry)
        if i is None:
            i = self._reason_id[entry] = len(self.reasons)
            self.reasons.append(entry)
        return i

    def _flag(self, code: str, entry: tuple[str, str]) -> int:
        severity: Severity = entry[0]  # type: ignore[assignment]
        f = Flag(code, severity, entry[1])
        i = self._flag_id.get(f)
        if i is None:
            i = self._flag_id[f] = len(self.flags)
            self.flags.append(f)
        return i

    def explain(self, s: np.ndarray) -> Explained:
        s = np.asarray(s, np.int64)
        crs, crs_time = self._slots(CRS, s, True)
        icans, icans_time = self._slots(ICANS, s, True)
        flags, _ = self._slots(FLAGS, s, False)
        return Explained(s, crs, crs_time, icans, icans_time, flags)

    def _slots(self, slots: Sequence[Slot], s: np.ndarray,
               reasons: bool) -> tuple[np.ndarray, np.ndarray]:
        g = self.g
        ids = np.full((len(s), len(slots)), -1, np.int32)
        times = np.full((len(s), len(slots)), ROW_TIME, np.int32) if reasons else ids[:, :0]
        words = {w: g.col[w][s] for w in {slot.word for slot in slots}}  # gathered once
        for k, slot in enumerate(slots):
            present = (words[slot.word] & slot.bit) != 0
            if not present.any():
                continue
            if slot.extra is not None:
                present &= slot.extra(g, s)
            at = np.flatnonzero(present)
            if not len(at):
                continue
            rows = s[at]
            key = slot.key(g, rows)
            first, inverse = _groups(key, len(rows))
            seen = self._rendered.setdefault(id(slot), {})
            entry = np.empty(len(first), np.int32)
            # what the template reads, per group (Python numbers, as ``.item()`` gives them)
            keys = list(zip(*(a[first].tolist() for a in key))) if key else [()] * len(first)
            for j, (values, f_row) in enumerate(zip(keys, rows[first].tolist())):
                e = seen.get(values) if values == values else None  # (NaN: render again)
                if e is None:
                    text = slot.render(View(g, f_row))
                    e = self._reason(text) if reasons else self._flag(slot.code, text)
                    seen[values] = e
                entry[j] = e
            ids[at, k] = entry[inverse]
            if reasons:
                times[at, k] = (rows if slot.time is None
                                else _cognitive_src(g, rows) if slot.time == "cognitive"
                                else g.col[slot.time][rows])
        return ids, times


def _groups(key: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows sharing the same values of every ``key`` array: (the first row of each group,
    each row's group). Small whole numbers are combined by arithmetic, anything else is
    numbered by hashing (pandas.factorize)."""
    if not key:
        return np.zeros(1, np.int64), np.zeros(n, np.int64)
    combined = np.zeros(n, np.int64)
    size = 1
    for a in key:
        a = np.asarray(a)
        if a.dtype.kind in "biu" and n:
            lo = int(a.min())
            codes, width = a.astype(np.int64) - lo, int(a.max()) - lo + 1
        else:
            codes, uniques = pd.factorize(a)  # NaN: -1
            codes, width = codes.astype(np.int64) + 1, len(uniques) + 1
        if size * width > 1 << 22:  # keep the numbers small
            combined, uniques = pd.factorize(combined)
            size = len(uniques)
        combined = combined * width + codes
        size *= width
    if size <= max(4 * n, 1024):  # a table as long as the number of possible keys
        first_of = np.full(size, n, np.int64)
        first_of[combined[::-1]] = np.arange(n - 1, -1, -1)
        keys = np.flatnonzero(first_of < n)
        number = np.empty(size, np.int64)
        number[keys] = np.arange(len(keys))
        return first_of[keys], number[combined]
    inverse, uniques = pd.factorize(combined)
    first = np.empty(len(uniques), np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    return first, inverse


def reasons_of(ex: Explainer, e: Explained, i: int, crs: bool) -> tuple[Reason, ...]:
    """Row ``i`` of ``e``'s CRS (or ICANS) reasons as ``Reason`` objects."""
    ids, times = (e.crs, e.crs_time) if crs else (e.icans, e.icans_time)
    g, row = ex.g, int(e.s[i])
    tz, ns = g.assessments.tz, g.order.time_ns
    out = []
    for k in np.flatnonzero(ids[i] >= 0):
        rule, finding = ex.reasons[ids[i, k]]
        t = int(times[i, k])
        out.append(Reason(rule, finding, when(ns[row if t == ROW_TIME else t], tz)))
    return tuple(out)


def flags_of(ex: Explainer, e: Explained, i: int, crs: bool) -> tuple[Flag, ...]:
    """Row ``i`` of ``e``'s CRS (or ICANS) review flags."""
    ids = e.flags[i]
    return tuple(ex.flags[ids[k]] for k in np.flatnonzero(ids >= 0)
                 if (k < N_CRS_FLAGS) == crs)


N_CRS_FLAGS = next(k for k, f in enumerate(FLAGS) if f.name == "neuro_not_assessable")
