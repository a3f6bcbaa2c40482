"""The bedside assessment form: widgets grouped as a nurse charts, and the plain functions
behind them (scores, unit conversion, which error belongs to which field: from the problem's
``field``, never from its text) - tested directly.

The same form serves a new assessment (bedside entry) and a correction (patient record), so a
form and a correction can never disagree; both go through the canonical validator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

import grading
from grading.fields import DOSE_FIELDS, FIELD_BY_NAME, O2_DEVICES, VASOACTIVE_AGENTS
from grading.parse import Problem
from grading.rules import CAPD_MAX_AGE_YEARS, PRESSURE_DEVICES

# ASTCT 2019 ICE score (Lee et al., BBMT 2019; spec §2.2): the prompts a nurse reads out.
ICE_PROMPTS: tuple[tuple[str, str, int], ...] = (
    ("ice_orientation", "Orientation: year, month, city, hospital (1 point each)", 4),
    ("ice_naming", "Naming: name 3 objects, e.g. point to clock, pen, button (1 point each)", 3),
    ("ice_commands", "Following commands: e.g. \"show me 2 fingers\" or \"close your eyes and "
                     "stick out your tongue\"", 1),
    ("ice_writing", "Writing: write a standard sentence (e.g. \"Our national bird is the bald "
                    "eagle\")", 1),
    ("ice_attention", "Attention: count backwards from 100 by ten", 1),
)
# Cornell Assessment of Pediatric Delirium (Traube et al., Crit Care Med 2014; spec §2.5).
CAPD_ANSWERS = ("never", "rarely", "sometimes", "often", "always")
CAPD_ITEMS: tuple[tuple[str, bool], ...] = (  # (what the rater judges, reverse-scored)
    ("Does the child make eye contact with the caregiver?", True),
    ("Are the child's actions purposeful?", True),
    ("Is the child aware of his/her surroundings?", True),
    ("Does the child communicate needs and wants?", True),
    ("Is the child restless?", False),
    ("Is the child inconsolable?", False),
    ("Is the child underactive - very little movement while awake?", False),
    ("Does it take the child a long time to respond to interactions?", False),
)
CONSCIOUSNESS_WORDS = {
    "alert": "alert", "awakens_spontaneously": "drowsy, wakes spontaneously",
    "awakens_to_voice": "wakes only to voice", "awakens_to_touch": "wakes only to touch",
    "unarousable": "unarousable, or needs vigorous / repeated stimuli",
}
DEVICE_WORDS = {d: d.replace("_", " ") for d in O2_DEVICES} | {
    "high_flow_nasal_cannula": "high-flow nasal cannula", "cpap": "CPAP", "bipap": "BiPAP"}
FLOW_DEVICES = tuple(d for d in O2_DEVICES if d not in ("room_air", *PRESSURE_DEVICES))
FIO2_DEVICES = ("high_flow_nasal_cannula", "venturi_mask", *PRESSURE_DEVICES)
NEURO_CHOICES = ("ICE", "CAPD", "not done")
GIVEN_BOXES = (("antipyretic_given", "Antipyretic"), ("tocilizumab_given", "Tocilizumab"),
               ("corticosteroid_given", "Corticosteroid"), ("fluid_bolus_given", "IV fluid bolus"),
               # anakinra, siltuximab, other anti-IL-6/IL-1: like tocilizumab for the grade
               ("anticytokine_given", "Anakinra, siltuximab or other anti-cytokine"))
SUPPORT_HELP = ("Pre-filled with what was in force at the last assessment: change it only if it "
                "has changed (it is then recorded from this assessment on).")


def capd_score(answer: str, reverse: bool) -> int:
    """CAPD item score: direct items never 0 ... always 4; reverse items never 4 ... always 0."""
    i = CAPD_ANSWERS.index(answer)
    return 4 - i if reverse else i


def default_instrument(age_years: float | None) -> str:
    """Spec §2.5 default [I]: CAPD below 12 years, ICE from 12 (at exactly 12 the nurse may
    switch to CAPD for a child who cannot cooperate)."""
    return "CAPD" if age_years is not None and age_years < CAPD_MAX_AGE_YEARS else "ICE"


def temperature_c(value: float | None, unit: str) -> float | None:
    """°F converted to °C (spec §0.1, rounded half-up to 0.1 °C); °C as entered."""
    if value is None:
        return None
    return float(grading.fahrenheit_to_celsius(value)) if unit == "°F" else value


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """The validator's problems grouped by ``Problem.field`` ('' for a problem of no
    assessment field), worded for a form: the field's title (never its column name), the value
    as entered, the problem's form words (no row numbers: a form is one row)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        f = FIELD_BY_NAME.get(p.field or "")
        if f is None:
            out.setdefault("", []).append(p.shown)
            continue
        value = f" {p.value}" if p.value and p.words is None else ""
        out.setdefault(f.name, []).append(f"{f.title}{value}: {p.shown}")
    return out


def clash_words(when: str, by_someone_else: bool = False) -> str:
    """A second assessment of the patient at one time, and what to do about it, in words
    (``when``: the time as the ward reads it). ``by_someone_else``: the other one was saved
    by another user between this form's check and its save."""
    if by_someone_else:
        return (f"Someone else saved an assessment of this patient at {when} a moment ago, so "
                "this one was not saved. Check theirs on the patient page and amend it if your "
                "observations differ, or change the time of this one.")
    return (f"This patient already has an assessment at {when}. To change its values, amend "
            "that assessment on the patient page; to record a new one, change the time.")


def field_messages(problems: Iterable[Problem], when: str, *, by_someone_else: bool = False
                   ) -> dict[str, list[str]]:
    """``problems_by_field`` for the bedside entry: a clash with a recorded assessment (code
    ``duplicate_time``, from the check or from the record) says what to do, under the time."""
    problems = list(problems)
    out = problems_by_field(p for p in problems if p.code != "duplicate_time")
    if any(p.code == "duplicate_time" for p in problems):
        out.setdefault("time", []).insert(0, clash_words(when, by_someone_else))
    return out


def problem_lines(problems: Iterable[Problem]) -> list[str]:
    """The problems as a form words them, one line each (for a message that is not placed
    under a field, e.g. after a save was refused)."""
    return [m for ms in problems_by_field(problems).values() for m in ms]


@dataclass
class FormResult:
    values: dict[str, Any]                  # canonical fields (no time)
    problems: dict[str, list[str]]          # field -> messages found by the form itself
    slots: dict[str, Any]                   # field -> placeholder for its inline error
    drawn: frozenset[str] = frozenset()     # the other scales' fields the form showed


# A number box shows the number it holds, as typed: "%g" never rounds for the display (a
# fixed "%.0f" showed SpO2 97.5 as "98" beside the error "97.5: not a whole number"). Whole
# numbers are the validator's business (grading.parse), never the box's.
AS_TYPED = "%g"


def _num(label: str, name: str, key: str, default: Any, step: float,
         slots: dict[str, Any] | None, help_text: str | None = None) -> float | None:
    """A number input; its error slot right under it, or (``slots`` None) placed by the
    caller - the vital signs put theirs full width under their row of inputs."""
    f = FIELD_BY_NAME[name]
    default = None if default is None else float(default)  # ints from the record: one type
    v = st.number_input(f"{label} ({f.unit})" if f.unit else label, value=default, step=step,
                        format=AS_TYPED, key=key, help=help_text or _limits_help(name))
    if slots is not None:
        slots[name] = st.empty()
    return v


def _limits_help(name: str) -> str:
    f = FIELD_BY_NAME[name]
    soft = []
    if f.soft_min is not None:
        soft.append(f"below {f.soft_min:g}")
    if f.soft_max is not None:
        soft.append(f"above {f.soft_max:g}")
    extra = f" Values {' or '.join(soft)} ask for a re-check." if soft else ""
    return f"{f.description} Accepted: {f.allowed()}.{extra}"


STYLE = Path(__file__).with_name("bedside.css")


def bedside_style() -> None:
    """The tablet layout of the bedside form (ui/bedside.css): our own static CSS, scoped to
    containers keyed ``..._bedside_...``; no user text is ever part of it."""
    st.html(STYLE)


def assessment_form(key: str, defaults: Mapping[str, Any], age_years: float | None,
                    support_note: str = "") -> FormResult:
    """Draw the grouped form; return the canonical values entered (blank = not assessed).
    On a tablet its rows wrap to two or three fields a line (ui/bedside.css)."""
    bedside_style()
    with st.container(key=f"{key}_bedside_form"):
        return _assessment_form(key, defaults, age_years, support_note)


def _assessment_form(key: str, defaults: Mapping[str, Any], age_years: float | None,
                     support_note: str) -> FormResult:
    d = dict(defaults)
    slots: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    with st.container(border=True, key=f"{key}_bedside_vitals"):
        st.markdown("**Vital signs**")
        c = st.columns([1, 1, 1, 1, 1, 1])
        with c[0]:
            unit = st.session_state.get(f"{key}_tunit", "°C")
            temp = d.get("temp_c")
            raw = st.number_input(f"Temperature ({unit})",
                                  value=None if temp is None else float(temp), step=0.1,
                                  format=AS_TYPED, key=f"{key}_temp", help=_limits_help("temp_c"))
            st.radio("Temperature unit", ("°C", "°F"), horizontal=True, key=f"{key}_tunit",
                     label_visibility="collapsed")
            values["temp_c"] = temperature_c(raw, unit)
            if unit == "°F" and raw is not None:
                st.caption(f"= {values['temp_c']:.1f} °C")
        vitals = (("hr_bpm", "Heart rate"), ("sbp_mmhg", "Systolic BP"),
                  ("dbp_mmhg", "Diastolic BP"), ("rr_per_min", "Resp. rate"), ("spo2_pct", "SpO2"))
        for col, (name, label) in zip(c[1:], vitals):
            with col:
                values[name] = _num(label, name, f"{key}_{name}", d.get(name), 1.0, None)
        for name in ("temp_c", *(n for n, _ in vitals)):  # errors full width, in field order
            slots[name] = st.empty()

    with st.container(border=True):
        st.markdown("**Oxygen and circulation**" + (f"  \n{support_note}" if support_note else ""))
        c = st.columns([2, 1, 1, 2])
        device = c[0].selectbox(
            "Oxygen support now", O2_DEVICES,
            index=O2_DEVICES.index(d["o2_device"]) if d.get("o2_device") in O2_DEVICES else 0,
            format_func=DEVICE_WORDS.get, key=f"{key}_o2_device",
            help=SUPPORT_HELP)
        values["o2_device"] = device
        with c[0]:
            slots["o2_device"] = st.empty()
        if device in FLOW_DEVICES:
            with c[1]:
                values["o2_flow_l_min"] = _num(
                    "O2 flow", "o2_flow_l_min", f"{key}_flow_{device}",
                    d.get("o2_flow_l_min") if d.get("o2_device") == device else None, 0.5,
                    slots, SUPPORT_HELP + " " + _limits_help("o2_flow_l_min"))
        if device in FIO2_DEVICES:
            with c[2]:
                values["fio2_pct"] = _num("FiO2", "fio2_pct", f"{key}_fio2_{device}",
                                          d.get("fio2_pct") if d.get("o2_device") == device
                                          else None, 1.0, slots)
        running = [v for v in str(d.get("vasopressors") or "none").split(";") if v != "none"]
        pressors = c[3].multiselect("Vasoactive infusions running now", VASOACTIVE_AGENTS,
                                    default=running, key=f"{key}_pressors",
                                    help=SUPPORT_HELP + " Inotropes (dobutamine, milrinone) "
                                    "do not count as vasopressors for the grade (ASTCT 2019).")
        values["vasopressors"] = ";".join(pressors) if pressors else "none"
        with c[3]:
            slots["vasopressors"] = st.empty()

    with st.container(border=True):
        st.markdown("**Given since the last entry**")
        # two rows (3 + 2): five boxes in one row cut their labels short on a tablet
        c = [*st.columns(3), *st.columns([1, 2])]
        for col, (name, label) in zip(c, GIVEN_BOXES):
            values[name] = col.checkbox(label, value=bool(d.get(name)), key=f"{key}_{name}",
                                        help=FIELD_BY_NAME[name].description) or None
            with col:
                slots[name] = st.empty()

    with st.container(border=True):
        st.markdown("**Neuro assessment**")
        has_ice = any(d.get(n) is not None for n, _, _ in ICE_PROMPTS)
        instrument_default = "ICE" if has_ice else "CAPD" if d.get("capd_total") is not None \
            else "not done"
        instrument = st.radio(
            "Neuro score", NEURO_CHOICES, index=NEURO_CHOICES.index(instrument_default),
            horizontal=True, key=f"{key}_instrument",
            help=f"Suggested for this patient: {default_instrument(age_years)} "
                 "(CAPD below 12 years, ASTCT 2019). 'not done' leaves the score blank.")
        if instrument == "ICE":
            total = 0
            for name, prompt, top in ICE_PROMPTS:
                v = st.radio(prompt, list(range(top + 1)),
                             index=None if d.get(name) is None else int(d[name]),
                             horizontal=True,
                             key=f"{key}_{name}", help="points scored")
                values[name] = v
                total += v or 0
                slots[name] = st.empty()
            if any(values[n] is None for n, _, _ in ICE_PROMPTS):
                problems.setdefault("ice_orientation", []).append(
                    "ICE: score all five items, or choose 'not done'")
            st.markdown(f"ICE score: **{total} / 10**")
        elif instrument == "CAPD" and d.get("capd_total") is not None and st.checkbox(
                f"Keep the recorded CAPD total ({int(d['capd_total'])})", value=True,
                key=f"{key}_capd_keep"):
            values["capd_total"] = int(d["capd_total"])
            slots["capd_total"] = st.empty()
        elif instrument == "CAPD":
            total, answered = 0, 0
            st.caption("Cornell Assessment of Pediatric Delirium: rate over the shift. Items 1-4 "
                       "score never 4 ... always 0; items 5-8 score never 0 ... always 4.")
            for i, (item, reverse) in enumerate(CAPD_ITEMS):
                a = st.radio(f"{i + 1}. {item}", CAPD_ANSWERS, index=None, horizontal=True,
                             key=f"{key}_capd{i}")
                if a is not None:
                    answered += 1
                    total += capd_score(a, reverse)
            if answered < len(CAPD_ITEMS):
                problems.setdefault("capd_total", []).append(
                    f"CAPD: answer all eight items ({answered} of 8 so far), or choose "
                    "'not done'")
            else:
                values["capd_total"] = total
            st.markdown(f"CAPD total: **{total} / 32** (9 or more screens positive)")
            slots["capd_total"] = st.empty()
        c = st.columns(4)
        values["consciousness"] = c[0].selectbox(
            "Level of consciousness", list(CONSCIOUSNESS_WORDS), index=_index(
                CONSCIOUSNESS_WORDS, d.get("consciousness")),
            format_func=CONSCIOUSNESS_WORDS.get, placeholder="not assessed",
            key=f"{key}_consciousness", help=FIELD_BY_NAME["consciousness"].description)
        neuro_words = (
            (c[1], "seizure", {"none": "none", "resolved_rapidly": "resolved rapidly",
                               "prolonged_or_repetitive": "prolonged (> 5 min) or repetitive"}),
            (c[2], "motor_weakness", {"none": "none",
                                      "deep_focal": "deep focal (e.g. hemiparesis)"}),
            (c[3], "cerebral_edema", {"none": "none on imaging", "focal": "focal on imaging",
                                      "diffuse": "diffuse on imaging"}))
        for col, name, words in neuro_words:
            values[name] = col.selectbox(FIELD_BY_NAME[name].title, list(words),
                                         index=_index(words, d.get(name)),
                                         format_func=words.get, placeholder="not assessed",
                                         key=f"{key}_{name}",
                                         help=FIELD_BY_NAME[name].description)
        c = st.columns([3, 1])
        signs = c[0].multiselect("Raised ICP signs", FIELD_BY_NAME["raised_icp_signs"].values,
                                 default=[s for s in str(d.get("raised_icp_signs") or "")
                                          .split(";") if s and s != "none"],
                                 key=f"{key}_icp", placeholder="none seen / not assessed",
                                 help=FIELD_BY_NAME["raised_icp_signs"].description)
        values["raised_icp_signs"] = ";".join(signs) if signs else None
        values["sedated"] = c[1].checkbox("Sedated / paralysed", value=bool(d.get("sedated")),
                                          key=f"{key}_sedated",
                                          help=FIELD_BY_NAME["sedated"].description) or None
        for name in ("consciousness", "seizure", "motor_weakness", "cerebral_edema",
                     "raised_icp_signs", "sedated"):
            slots.setdefault(name, st.empty())
    drawn = _scale_inputs(key, d, values, slots, pressors, signs, instrument == "ICE")
    return FormResult({k: v for k, v in values.items() if v is not None}, problems, slots,
                      drawn)


ORGAN_FIELDS = (("transaminitis_ctcae_grade", "Transaminitis (ALT/AST)"),
                ("creatinine_ctcae_grade", "Creatinine rise"),
                ("other_organ_ctcae_grade", "Other organ toxicity"))
SEIZURE_TYPE_WORDS = {"focal": "focal (partial)", "generalized": "generalised",
                      "nonconvulsive_eeg": "non-convulsive, on EEG"}


def _scale_inputs(key: str, d: Mapping[str, Any], values: dict[str, Any],
                  slots: dict[str, Any], pressors: list[str], signs: list[str],
                  ice: bool) -> frozenset[str]:
    """Optional inputs of the other grading scales (spec §3; grading/fields.py): doses of the
    running vasopressors, organ-toxicity grades, Penn's IV therapy and coagulation products,
    and the CRES items. ASTCT never reads them."""
    drawn: list[str] = []
    with st.expander("Other grading scales (optional: Lee 2014, Penn, MSKCC, CARTOX, CRES)"):
        st.caption("Not used for the ASTCT grade. Doses and organ grades are pre-filled with "
                   "what is in force; blank means not recorded.")
        dosed = [a for a in pressors if any(a == agent for _, agent, _ in DOSE_FIELDS)]
        if dosed:
            c = st.columns(max(3, len(dosed)))
            for col, agent in zip(c, dosed):
                columns = [(f, per_kg) for f, a, per_kg in DOSE_FIELDS if a == agent]
                carried = next((f for f, _ in columns if d.get(f) is not None), None)
                units = [FIELD_BY_NAME[f].unit for f, _ in columns]
                with col:
                    unit = st.radio(f"{agent} unit", units, horizontal=True,
                                    index=[f for f, _ in columns].index(carried) if carried
                                    else 0, key=f"{key}_sc_{agent}_unit",
                                    label_visibility="collapsed") if len(units) > 1 \
                        else units[0]
                    name = next(f for f, _ in columns if FIELD_BY_NAME[f].unit == unit)
                    values[name] = _num(FIELD_BY_NAME[name].title, name,
                                        f"{key}_sc_{name}", d.get(name), 0.01, slots)
                    drawn += [f for f, _ in columns]
        c = st.columns(3)
        for col, (name, label) in zip(c, ORGAN_FIELDS):
            values[name] = col.selectbox(f"{label}, CTCAE grade", list(range(5)),
                                         index=None if d.get(name) is None else int(d[name]),
                                         placeholder="not graded", key=f"{key}_sc_{name}",
                                         help=FIELD_BY_NAME[name].description)
            with col:
                slots[name] = st.empty()
            drawn.append(name)
        c = st.columns(2)
        for col, name in zip(c, ("iv_therapy_given", "coagulopathy_products_given")):
            values[name] = col.checkbox(FIELD_BY_NAME[name].title, value=bool(d.get(name)),
                                        key=f"{key}_sc_{name}",
                                        help=FIELD_BY_NAME[name].description) or None
            drawn.append(name)
        c = st.columns(4)
        if ice:
            values["cartox_head_of_state"] = c[0].radio(
                "CARTOX-10: names the head of state", (1, 0), horizontal=True,
                index={1: 0, 0: 1}.get(d.get("cartox_head_of_state")),  # type: ignore[arg-type]
                format_func={1: "yes", 0: "no"}.get, key=f"{key}_sc_head",
                help=FIELD_BY_NAME["cartox_head_of_state"].description)
            drawn.append("cartox_head_of_state")
        if values.get("seizure") not in (None, "none"):
            values["seizure_type"] = c[1].selectbox(
                "Seizure type", list(SEIZURE_TYPE_WORDS), index=_index(
                    SEIZURE_TYPE_WORDS, d.get("seizure_type")),
                format_func=SEIZURE_TYPE_WORDS.get, placeholder="not recorded",
                key=f"{key}_sc_seizure_type", help=FIELD_BY_NAME["seizure_type"].description)
            drawn.append("seizure_type")
        if "papilledema" in signs:
            values["papilledema_frisen_stage"] = c[2].selectbox(
                "Papilloedema stage (Frisén)", [1, 2, 3, 4, 5],
                index=None if not d.get("papilledema_frisen_stage")
                else int(d["papilledema_frisen_stage"]) - 1, placeholder="not staged",
                key=f"{key}_sc_frisen", help=FIELD_BY_NAME["papilledema_frisen_stage"].description)
            drawn.append("papilledema_frisen_stage")
        with c[3]:
            values["csf_opening_pressure_mmhg"] = _num(
                "CSF opening pressure", "csf_opening_pressure_mmhg", f"{key}_sc_csf",
                d.get("csf_opening_pressure_mmhg"), 0.5, slots)
        drawn.append("csf_opening_pressure_mmhg")
    return frozenset(drawn)


def _index(options: Mapping[str, str] | tuple[str, ...], value: Any) -> int | None:
    keys = list(options)
    return keys.index(value) if value in keys else None


def show_problems(result: FormResult, problems: dict[str, list[str]]) -> None:
    """Each error inline under its field; the rest at the top of the caller's container."""
    for name, messages in problems.items():
        slot = result.slots.get(name)
        if slot is not None:
            slot.error("  \n".join(messages), icon=":material/error:")
