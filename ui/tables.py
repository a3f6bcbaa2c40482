"""Tables the pages draw, built by plain functions (tested without a browser)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from monitoring.ward import PatientStatus

from .common import SEVERITY_ICONS, based_on, grade_colours, grade_text, local
from .text import md

ARROWS = {"low": "▼", "high": "▲"}
# st.table renders Markdown in its cells: what a user typed is shown literally (docs/security.md)
USER_TEXT_COLUMNS = ("Bed", "Patient")
VITAL_COLUMNS = (("Temp °C", "temp_c", "{:.1f}"), ("HR", "hr_bpm", "{:.0f}"),
                 ("RR", "rr_per_min", "{:.0f}"), ("SpO2 %", "spo2_pct", "{:.0f}"))


def _vital(s: PatientStatus, name: str, fmt: str) -> str:
    if name not in s.vitals:
        return "—"
    text = fmt.format(s.vitals[name][0])
    mark = s.marks.get(name)
    return f"{ARROWS[mark]}\u00a0{text}" if mark else text


def _bp(s: PatientStatus) -> str:
    if "sbp_mmhg" not in s.vitals:
        return "—"
    sbp = f"{s.vitals['sbp_mmhg'][0]:.0f}"
    dbp = f"{s.vitals['dbp_mmhg'][0]:.0f}" if "dbp_mmhg" in s.vitals else "?"
    mark = s.marks.get("sbp_mmhg")
    return f"{ARROWS[mark]}\u00a0{sbp}/{dbp}" if mark else f"{sbp}/{dbp}"


def _support(s: PatientStatus) -> str:
    parts = []
    if s.o2_device and s.o2_device != "room_air":
        flow = f" {s.o2_flow_l_min:g} L/min" if s.o2_flow_l_min is not None else ""
        parts.append(s.o2_device.replace("_", " ") + flow)
    if s.vasopressors:
        parts.append(", ".join(s.vasopressors))
    if not parts:
        return "—" if s.o2_device is None else "room air"
    return "; ".join(parts)


def _flags(s: PatientStatus) -> str:
    """The most severe open flag (the newest of equal severity, decision W13) and how many
    others are open: what the patient sorts by."""
    if s.problem:  # the record cannot be graded: that comes first, in full
        return "RECORD PROBLEM: " + s.problem.removeprefix("record problem: ") + (
            f" (+{len(s.flags)} open flags)" if s.flags else "")
    worst = s.worst_flag
    if worst is None:
        return ""
    more = f" (+{len(s.flags) - 1} more)" if len(s.flags) > 1 else ""
    # the first clause only: the full message and advice are on the patient record
    headline = worst["message"].split(": ")[0]
    return f"{SEVERITY_ICONS.get(worst['severity'], worst['severity'])}: {headline}{more}"


def _due(s: PatientStatus, now: datetime, tz: Any) -> str:
    if s.due.died_at is not None:  # decision S12
        return "none: death recorded " + local(s.due.died_at, tz, "%d %b %H:%M")
    if s.overdue:
        return "OVERDUE: " + ", ".join(s.overdue)
    return "due " + local(s.due.next_due(now), tz, "%H:%M")


def _grade(text: str) -> str:
    """The syndrome and its grade never wrap apart ("CRS\u00a01"); a status after them may
    wrap in a narrow (tablet) column."""
    return text.replace(" ", "\u00a0", 1)


def _patient(p: dict[str, Any]) -> str:
    name = p.get("name")
    return f"{name} · {p['patient_id']}" if name else p["patient_id"]


# The acuity columns, first and alone (issue 18, item 2): they fit a tablet's 820 px without
# scrolling; everything else is in ``overview_details``, behind the patient.
OVERVIEW_COLUMNS = ("Bed", "Patient", "CRS", "ICANS", "NEWS2", "Flags", "Next obs")


def overview_frame(statuses: list[PatientStatus], now: datetime, tz: Any) -> pd.DataFrame:
    """One row per patient, most acute first: bed, patient, CRS, ICANS, NEWS2, the most
    severe open flag, next observations due."""
    rows = []
    for s in statuses:
        p = s.patient
        rows.append({
            "Bed": p.get("bed") or "",
            "Patient": _patient(p),
            "CRS": "not graded" if s.problem else _grade(grade_text("CRS", s.crs)),
            "ICANS": "not graded" if s.problem else _grade(grade_text("ICANS", s.icans))
            + based_on(s.icans, s.last_assessed, tz),
            "NEWS2": "—" if s.news is None or s.news.total is None else
            f"{s.news.total}{'+' if s.news.missing else ''}",
            "Flags": _flags(s),
            "Next obs": _due(s, now, tz),
        })
    return pd.DataFrame(rows, columns=list(OVERVIEW_COLUMNS))


def overview_details(statuses: list[PatientStatus], tz: Any) -> pd.DataFrame:
    """The rest of each patient's row, in the overview's order: day after infusion, the
    latest observations and vital signs, oxygen and vasoactive support, maximum grades."""
    rows = []
    for s in statuses:
        p = s.patient
        rows.append({
            "Bed": p.get("bed") or "",
            "Patient": _patient(p),
            "Day": "—" if s.day_post_infusion is None else f"D+{s.day_post_infusion}",
            "Last obs": local(s.last_assessed, tz, "%d %b %H:%M"),
            **{label: _vital(s, name, fmt) for label, name, fmt in VITAL_COLUMNS[:2]},
            "BP": _bp(s),
            **{label: _vital(s, name, fmt) for label, name, fmt in VITAL_COLUMNS[2:]},
            "O2 / pressors": _support(s),
            "Max CRS / ICANS": f"{'—' if s.crs_max is None else s.crs_max} / "
                               f"{'—' if s.icans_max is None else s.icans_max}",
            "Product": p.get("product") or "",
            "ID": p["patient_id"],
        })
    return pd.DataFrame(rows, dtype=object)


NEWS_COLUMNS = (("respiration rate", "Resp. rate"), ("SpO2", "SpO2"),
                ("air or oxygen", "Air or O2"), ("systolic BP", "Systolic BP"),
                ("pulse", "Pulse"), ("consciousness", "Consciousness / new confusion"),
                ("temperature", "Temp."))


def news_frame(statuses: list[PatientStatus]) -> pd.DataFrame:
    """Each patient's NEWS2 by parameter (the overview table shows the total): the points of
    each parameter ("—" not recorded), and why consciousness scores, in words."""
    rows = []
    for s in statuses:
        n = s.news
        row: dict[str, str] = {"Bed": s.patient.get("bed") or "",
                               "Patient": s.patient.get("name") or s.patient["patient_id"]}
        if n is None or n.total is None:
            row["NEWS2"] = "no vital signs" if n is None else "not scored (under 16)"
        else:
            row["NEWS2"] = f"{n.total}{'+' if n.missing else ''}"
            row |= {label: str(n.parts[name]) if name in n.parts else "—"
                    for name, label in NEWS_COLUMNS}
            row["Why consciousness"] = n.consciousness_why or "—"
        rows.append(row)
    columns = ["Bed", "Patient", "NEWS2", *(label for _, label in NEWS_COLUMNS),
               "Why consciousness"]
    # object columns: a column no patient has a value in is float NaN, which would not take ""
    return pd.DataFrame(rows, columns=columns, dtype=object).fillna("")


def style_overview(frame: pd.DataFrame, statuses: list[PatientStatus]) -> Any:
    """Colours on top of the words: grade badges, marked vitals, flags and overdue."""
    def grade_cells(col: pd.Series) -> list[str]:
        attr = "crs" if col.name == "CRS" else "icans"
        out = []
        for s in statuses:
            bg, fg = grade_colours(getattr(s, attr))
            out.append(f"background-color:{bg};color:{fg};font-weight:600")
        return out

    def flag_cells(col: pd.Series) -> list[str]:
        return ["background-color:#B00020;color:#FFFFFF;font-weight:700"
                if str(v).startswith(("EMERGENCY", "RECORD PROBLEM"))
                else "background-color:#F8CBAD;font-weight:700" if str(v).startswith("URGENT")
                else "background-color:#FCE4D6;font-weight:600" if v else "" for v in col]

    def news_cells(col: pd.Series) -> list[str]:
        out = []
        for s in statuses:
            band = 0 if s.news is None or s.news.total is None else (
                2 if s.news.total >= 7 else 1 if s.news.total >= 5 or s.news.red else 0)
            out.append(("background-color:#B00020;color:#FFFFFF;font-weight:700",
                        "background-color:#E69F00;font-weight:700", "")[2 - band]
                       if band else "")
        return out

    def due_cells(col: pd.Series) -> list[str]:
        return ["color:#B00020;font-weight:700" if str(v).startswith("OVERDUE") else ""
                for v in col]

    keep_whole = ["Bed", "NEWS2"]
    return (frame.style.apply(grade_cells, subset=["CRS", "ICANS"])
            .apply(flag_cells, subset=["Flags"])
            .apply(due_cells, subset=["Next obs"]).apply(news_cells, subset=["NEWS2"])
            .set_properties(subset=keep_whole, **{"white-space": "nowrap"})
            .format(md, subset=list(USER_TEXT_COLUMNS))
            .hide(axis="index"))


def style_details(frame: pd.DataFrame) -> Any:
    """The details table: vital signs outside the normal range (W6) in red beside the arrow."""
    def marked(col: pd.Series) -> list[str]:
        return ["color:#B00020;font-weight:700" if str(v)[:1] in ("▲", "▼") else ""
                for v in col]

    vitals = [label for label, _, _ in VITAL_COLUMNS] + ["BP"]
    return frame.style.apply(marked, subset=vitals).hide(axis="index")


def emergency_lines(statuses: list[PatientStatus], width: int = 110) -> list[str]:
    """One line per patient with an open emergency flag, in the overview's order: bed, name,
    the first emergency's words (cut at ``width`` characters at a word, the whole text is on
    the patient's flags) and how many more emergencies that patient has. Markdown-safe."""
    out = []
    for s in statuses:
        found = [f["message"] for f in s.flags if f["severity"] == "emergency"]
        if not found:
            continue
        first = found[0] if len(found[0]) <= width else (
            found[0][:width].rsplit(" ", 1)[0].rstrip(",;:") + " …")
        more = f" (+{len(found) - 1} more emergency flag{'s' if len(found) > 2 else ''})" \
            if len(found) > 1 else ""
        out.append(f"bed {md(s.patient.get('bed') or '—')} · "
                   f"{md(s.patient.get('name') or s.patient['patient_id'])}: {md(first)}{more}")
    return out
