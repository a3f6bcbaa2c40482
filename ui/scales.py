"""The review page's "Scales" and "Labs" tabs (issue 8): the course graded by every scale with
the disagreements with ASTCT marked (▲ ▼ ≠, and shaded — never colour alone) and explained,
and the lab scores as risk context. Tables are built by plain functions, tested directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from grading.lab_scores import LabPanel
from grading.lab_scores import easix as easix_mod
from grading.lab_scores import hematotox as hematotox_mod
from grading.lab_scores import icaht as icaht_mod
from grading.lab_scores import iechs as iechs_mod
from grading.lab_scores.units import canonical_unit
from grading.result import Grade
from grading.scales.compare import AGREEMENT, REFERENCE, DayMaximum, ScaleCell
from grading.scales.engine import ASTCT_SOURCE, SCALES
from grading.words import lab_name
from monitoring.scale_review import ScaleCourse, lab_scores
from monitoring.services import Ward
from ui.common import local, reason_text
from ui.text import lab_value, ratio

MARKS = {"higher": "▲", "lower": "▼", "status": "≠", "": ""}
LEGEND = ("▲ higher than ASTCT · ▼ lower than ASTCT · ≠ one of the two not evaluable · "
          "prov. = provisional (an input the scale needs is not recorded) · est. = estimated "
          "(FiO2 from the flow, or CARTOX-10 without the head-of-state question) · NE = not "
          "evaluable. Shaded cells differ from ASTCT.")
SCALE_DECISIONS = ("Comparison for research and teaching: where a published table leaves a case "
                   "open, the finding says how the ward reads it (\"the ward's reading\").")
DIFFERS_STYLE = "background-color: #FDE7D2; font-weight: 700"
CRS_SCALES = tuple(n for n, s in SCALES.items() if s.syndrome == "crs")
NEURO_SCALES = tuple(n for n, s in SCALES.items() if s.syndrome == "icans")


def grade_word(grade: int | None, status: str, estimated: bool = False) -> str:
    if grade is None:
        return "NE"
    return f"{grade}" + (" prov." if status == "provisional" else "") + (
        " est." if estimated else "")


def astct_word(g: Grade) -> str:
    return grade_word(g.grade, g.status)


def cell_word(c: ScaleCell) -> str:
    mark = MARKS[c.direction]
    text = grade_word(c.grade.grade, c.grade.status, c.grade.estimated)
    return f"{mark} {text}" if mark else text


def course_frames(course: ScaleCourse, tz: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table shown, which cells differ from ASTCT): one row per assessment, the CRS
    scales after ASTCT CRS, then ASTCT ICANS and CRES."""
    rows, differs = [], []
    for r in course.rows:
        day = "" if r.day_post_infusion is None else f"D+{r.day_post_infusion}"
        row: dict[str, str] = {"Assessment": local(r.time, tz), "Day": day,
                               "ASTCT CRS": astct_word(r.astct_crs)}
        diff = dict.fromkeys(("Assessment", "Day", "ASTCT CRS"), False)
        for name in CRS_SCALES:
            row[SCALES[name].title] = cell_word(r.cells[name])
            diff[SCALES[name].title] = r.cells[name].differs
        row["ASTCT ICANS"] = astct_word(r.astct_icans)
        diff["ASTCT ICANS"] = False
        for name in NEURO_SCALES:
            row[SCALES[name].title] = cell_word(r.cells[name])
            diff[SCALES[name].title] = r.cells[name].differs
        rows.append(row)
        differs.append(diff)
    return pd.DataFrame(rows), pd.DataFrame(differs)


def daily_frames(course: ScaleCourse) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The highest grade of each day by every scale, marked against ASTCT's daily maximum and
    worded as the per-assessment view (prov., est., NE: the least certain row giving it)."""
    rows, differs = [], []
    for d in course.daily:
        row: dict[str, str] = {"Day": f"D+{d.day}" if d.day >= 0 else f"Day {d.day}"}
        diff = {"Day": False}
        for key, title, against in (("astct_crs", "ASTCT CRS", None),
                                    *((n, SCALES[n].title, "astct_crs") for n in CRS_SCALES),
                                    ("astct_icans", "ASTCT ICANS", None),
                                    *((n, SCALES[n].title, "astct_icans")
                                      for n in NEURO_SCALES)):
            m = d.maxima.get(key)
            text = "—" if m is None else grade_word(m.grade, m.status, m.estimated)
            mark = "" if against is None else _day_mark(m, d.maxima.get(against))
            row[title] = f"{mark} {text}" if mark else text
            diff[title] = bool(mark)
        rows.append(row)
        differs.append(diff)
    return pd.DataFrame(rows), pd.DataFrame(differs)


def _day_mark(value: DayMaximum | None, astct: DayMaximum | None) -> str:
    """▲ / ▼ against ASTCT's maximum of the day, ≠ when one side has no grade."""
    a = None if astct is None else astct.grade
    b = None if value is None else value.grade
    if a == b:
        return ""
    if a is None or b is None:
        return MARKS["status"]
    return MARKS["higher"] if b > a else MARKS["lower"]


def styled(frame: pd.DataFrame, differs: pd.DataFrame) -> Any:
    return frame.style.apply(lambda _: differs.replace({True: DIFFERS_STYLE, False: ""}),
                             axis=None)


def sources_frame() -> pd.DataFrame:
    return pd.DataFrame([{"Scale": "ASTCT (the ward's grade)", "Source": ASTCT_SOURCE},
                         *({"Scale": s.title, "Source": s.source} for s in SCALES.values())])


def draw_scales_tab(course: ScaleCourse, tz: Any, key: str) -> None:
    st.caption(AGREEMENT + " Source: " + REFERENCE + ".")
    view = st.radio("Show", ("each assessment", "maximum per day"), horizontal=True,
                    key=f"scales_view_{key}")
    frame, differs = (course_frames(course, tz) if view == "each assessment"
                      else daily_frames(course))
    st.dataframe(styled(frame, differs), hide_index=True, width="stretch",
                 key=f"scales_table_{key}")
    st.caption(LEGEND)
    rows = course.rows
    labels = [f"{local(r.time, tz)} · {len(r.disagreements)} "
              f"disagreement{'s' if len(r.disagreements) != 1 else ''}" for r in rows]
    i = st.selectbox("Why the scales differ at", range(len(rows)),
                     index=course.latest_disagreement(), format_func=labels.__getitem__,
                     key=f"scales_row_{key}")
    r = rows[i]
    st.markdown(f"**ASTCT** (the ward's grade): CRS {astct_word(r.astct_crs)}, ICANS "
                f"{astct_word(r.astct_icans)}")
    for name in (*CRS_SCALES, *NEURO_SCALES):
        c = r.cells[name]
        title = SCALES[name].title
        against = "ICANS" if name in NEURO_SCALES else "CRS"
        head = (f"**{title}** {cell_word(c)} (ASTCT {against} {astct_word(c.astct)})"
                if c.differs else f"**{title}** {cell_word(c)} — same as ASTCT {against}")
        st.markdown(head)
        if c.why:
            st.markdown("\n".join(f"- {w}" for w in c.why))
        with st.expander(f"{title}: criteria and findings"):
            st.markdown("  \n".join(reason_text(x, tz) for x in c.grade.reasons))
    st.markdown("**Sources**  \n" + "  \n".join(f"{r.Scale}: {r.Source}."
                                                  for r in sources_frame().itertuples()))
    st.caption(SCALE_DECISIONS)


# ------------------------------------------------------------------------------ labs
def _num(x: float | None, digits: int = 2) -> str:
    return ratio(x, digits)


def _lab(x: Any) -> str:
    """A lab used by a score, at the lab's precision (issue 18.8: creatinine 1.53, not 1.527)."""
    return f"{lab_name(x.test)} {lab_value(x.value, x.test)} {canonical_unit(x.test)}"


def easix_frame(panel: LabPanel, tz: Any) -> pd.DataFrame:
    rows = []
    for point, scores in panel.easix:
        by = {e.score: e for e in scores}
        used = {x.test: x for e in scores for x in e.inputs}
        rows.append({
            "Time point": point.label,
            "EASIX": _num(by["easix"].value), "log2 EASIX": _num(by["easix"].log2),
            "s-EASIX": _num(by["s_easix"].value), "m-EASIX": _num(by["m_easix"].value),
            "Labs used": "; ".join(f"{_lab(x)} ({local(x.time, tz)})"
                                   for x in sorted(used.values(), key=lambda v: v.test)),
            "Note": _easix_note(scores) or point.note,
        })
    return pd.DataFrame(rows)


def _easix_note(scores: tuple[Any, ...]) -> str:
    """One note per time point: the missing labs of all three scores named once."""
    if all(e.value is None and e.missing for e in scores):
        missing = dict.fromkeys(t for e in scores for t in e.missing)
        return "not evaluable: no " + ", ".join(missing) + " in the window"
    return "; ".join(dict.fromkeys(e.note for e in scores if e.note))


def hematotox_lines(panel: LabPanel) -> list[str]:
    h = panel.hematotox
    if h is None:
        return ["CAR-HEMATOTOX needs the infusion time (the labs before lymphodepletion)."]
    items = ", ".join(f"{words} {lab_value(x.value, x.test)} → {p}" for words, x, p in h.items)
    return [f"**CAR-HEMATOTOX**: {h.note}" + (f" ({items})" if items else "")]


def icaht_lines(panel: LabPanel) -> list[str]:
    out = []
    e = panel.early_icaht
    if e is not None:
        grade = "not evaluable" if e.grade is None else f"grade {e.grade}" + (
            " (provisional)" if e.provisional else "")
        out.append(f"**Early ICAHT** (day 0 to +30): {grade}\n"
                   + "\n".join(f"- {r}" for r in e.reasons))
    late = panel.late_icaht
    if late is not None:
        grade = "not evaluable" if late.grade is None else f"grade {late.grade}"
        out.append(f"**Late ICAHT** (after day +30): {grade} — " + "; ".join(late.reasons))
    return out or ["ICAHT needs the infusion time."]


def draw_labs_tab(store: Ward, patient: dict[str, Any], now: datetime, key: str) -> None:
    """The lab panel of ``patient`` as of ``now``, read from the ward record."""
    tz = store.tz
    interpolate = st.checkbox("ICAHT: fill days without an ANC by linear interpolation (gaps "
                              "of up to 7 days, as the reference implementation does)",
                              key=f"labs_interpolate_{key}")
    panel = lab_scores(store, patient, now, interpolate=interpolate)
    if panel is None:
        st.info("No labs recorded for this patient yet: nurses and physicians record them on "
                "the page Medications and labs.")
        return
    st.caption("Risk context from the labs in the record — **not a grade**. EASIX and "
               "CAR-HEMATOTOX predict toxicity; ICAHT grades haematotoxicity; IEC-HS is a "
               "screening flag for haematology review. Decision support only.")
    st.markdown(f"**EASIX, simplified and modified EASIX** (as of {local(panel.as_of, tz)})")
    st.table(easix_frame(panel, tz).set_index("Time point"))
    st.caption("Sources: " + "; ".join(dict.fromkeys(easix_mod.SOURCES.values()))
               + ". Only EASIX before lymphodepletion has a cut-off (> "
               f"{easix_mod.KORELL_CUTOFF:g}).")
    if panel.baseline is not None:
        st.caption(f"Before lymphodepletion: {panel.baseline.note}.")
    for line in hematotox_lines(panel):
        st.markdown(line)
    st.caption(f"Source: {hematotox_mod.SOURCE}. 0-1 points HT-low, >= 2 HT-high.")
    for line in icaht_lines(panel):
        st.markdown(line)
    st.caption(f"Source: {icaht_mod.SOURCE}. Interpolation between measured counts "
               f"{'on' if interpolate else 'off'} (a ward setting).")
    s = panel.iechs
    (st.warning if s.prompt else st.info)(s.text, icon=":material/biotech:")
    st.markdown("\n".join(f"- {f.name}: " + ("present — " if f.present else "not recorded — "
                                              if f.present is None else "absent — ") + f.finding
                          for f in s.features))
    st.caption(f"Source: {iechs_mod.SOURCE}. A screening flag, never a grade.")
