"""The patient's timeline as a CSV a clinician reads (the review page's Export, issue 18.14).

One row per assessment, in time order: when (ward date and time in words, and one column with
the UTC offset that stays unambiguous across a daylight-saving change), the vital signs, the
oxygen and vasoactive support in force, the neuro items, the treatments given, NEWS2 as the
flags scored it, the ASTCT 2019 grades with their reasons, and who recorded the row and when.
Column headers are words with units (the field titles of ``grading.fields``); values are what
the course holds - support in force from ``monitoring.support``, NEWS2 from
``monitoring.escalation.course_news``, grades and reasons from the engine - never worked out
again here. Written with the formula-safe writer (docs/security.md, decision G12).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from grading import csvsafe, news2
from grading.fields import FIELD_BY_NAME, ICE_ITEMS
from grading.result import Grade
from grading.rules import DEVICE_RULE

from .escalation import course_news
from .review import Review
from .support import Support, support_in_force

DATE_FORMAT = "%d %b %Y"              # 05 Dec 2026
TIME_FORMAT = "%H:%M"                 # 14:30
TREATMENTS = ("tocilizumab_given", "anticytokine_given", "corticosteroid_given",
              "antipyretic_given", "fluid_bolus_given")
STATUS_WORDS = {"final": "final", "provisional": "provisional",
                "not_evaluable": "not evaluable"}
# values in ward words where replacing the underscores is not enough
VALUE_WORDS = {"angiotensin_ii": "angiotensin II", "cn6_palsy": "sixth cranial nerve palsy",
               "cushings_triad": "Cushing's triad", "deep_focal": "deep focal weakness",
               "papilledema": "papilloedema", "nonconvulsive_eeg": "non-convulsive (EEG)"}
VITALS = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_per_min", "spo2_pct")
CHOICES = ("seizure", "motor_weakness", "cerebral_edema", "raised_icp_signs",
           "attributed_elsewhere")


def with_offset(t: datetime, tz: Any) -> str:
    """``t`` on the ward clock with its UTC offset, e.g. "2026-12-05 14:30 +01:00" (seconds
    only when recorded): one reading only, also in the repeated hour of a fall-back night."""
    local = t.astimezone(tz)
    clock = local.strftime("%Y-%m-%d %H:%M" + (":%S" if local.second else ""))
    offset = local.strftime("%z")
    return f"{clock} {offset[:3]}:{offset[3:]}"


def words(value: Any) -> str:
    """A recorded value in ward words: blank when not recorded, yes/no, numbers as typed,
    ';'-joined choices as a list."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (set, frozenset, list, tuple)):
        value = ";".join(sorted(map(str, value)))
    if isinstance(value, str):
        return ", ".join(VALUE_WORDS.get(v, v.replace("_", " ")) for v in value.split(";"))
    return str(value)


def _vital(name: str, value: Any) -> str:
    """A vital sign as charted: a temperature with its tenth (38.0, never 38)."""
    if name == "temp_c" and isinstance(value, (int, float)) and round(value, 1) == value:
        return f"{value:.1f}"
    return words(value)


def _title(name: str) -> str:
    """The field's title with its unit, or its range for a scored item: "Heart rate (/min)",
    "ICE naming (0-3 points)"."""
    f = FIELD_BY_NAME[name]
    if f.unit == "points":
        return f"{f.title} ({f.hard_min:g}-{f.hard_max:g} points)"
    return f"{f.title} ({f.unit})" if f.unit else f.title


def _reasons(g: Grade, tz: Any) -> str:
    return "; ".join(f"{r.finding} ({r.time.astimezone(tz).strftime('%d %b %H:%M')})"
                     for r in g.reasons)


def _support(s: Support) -> list[str]:
    device = "" if s.o2_device is None else DEVICE_RULE[s.o2_device].label
    agents = ("" if s.vasopressors is None else
              "none" if not s.agents else words(";".join(s.agents)))
    return [device, words(s.o2_flow_l_min), words(s.fio2_pct), agents]


def _news(n: news2.News2 | None) -> list[str]:
    if n is None:
        return ["", ""]
    if n.total is None:
        return ["", n.breakdown()]  # not scored (under 16), and why
    return [f"{n.total}{'+' if n.missing else ''}", n.breakdown(name_red=True)]


Column = tuple[str, Callable[[int], Any]]


def timeline_csv(review: Review) -> str:
    """The timeline for clinicians: one row per assessment (see the module)."""
    tz, rows, results = review.tz, review.rows, review.results
    support = support_in_force(rows)       # the one answer (monitoring/support.py)
    news = course_news(rows, review.patient)  # what the flags scored (decision C22)

    def ice_total(i: int) -> Any:
        items = [rows[i].get(k) for k in ICE_ITEMS]
        return "" if any(v is None for v in items) else int(sum(items))

    def given(i: int) -> str:
        return ", ".join(FIELD_BY_NAME[k].title.removesuffix(" given").lower()
                         if k != "anticytokine_given" else "anakinra, siltuximab or other "
                         "anti-cytokine" for k in TREATMENTS if rows[i].get(k))

    def recorded(i: int) -> tuple[str, datetime | None]:
        return review.recorded.get(review.ids[i], ("", None))

    columns: list[Column] = [
        ("Patient", lambda i: rows[i].get("patient_id") or review.patient.get("patient_id")),
        ("Date", lambda i: results[i].time.astimezone(tz).strftime(DATE_FORMAT)),
        ("Time", lambda i: results[i].time.astimezone(tz).strftime(TIME_FORMAT)),
        ("Date and time with UTC offset", lambda i: with_offset(results[i].time, tz)),
        ("Day after infusion", lambda i: results[i].day_post_infusion),
        *((_title(k), lambda i, k=k: _vital(k, rows[i].get(k))) for k in VITALS),
        ("Oxygen support in force", lambda i: _support(support[i])[0]),
        ("Oxygen flow in force (L/min)", lambda i: _support(support[i])[1]),
        ("FiO2 in force (%)", lambda i: _support(support[i])[2]),
        ("Vasoactive infusions running", lambda i: _support(support[i])[3]),
        ("Level of consciousness", lambda i: news2.CONSCIOUSNESS_WORDS.get(
            rows[i].get("consciousness") or "", "")),
        *((_title(k), lambda i, k=k: words(rows[i].get(k))) for k in ICE_ITEMS),
        ("ICE total (0-10 points)", ice_total),
        (_title("capd_total"), lambda i: words(rows[i].get("capd_total"))),
        ("Sedated", lambda i: words(rows[i].get("sedated"))),
        *((FIELD_BY_NAME[k].title, lambda i, k=k: words(rows[i].get(k))) for k in CHOICES),
        ("Given since the previous assessment", given),
        ("NEWS2 (RCP 2017; + = a minimum, parameters not recorded)",
         lambda i: _news(news[i])[0]),
        ("NEWS2 by parameter", lambda i: _news(news[i])[1]),
        ("CRS grade (ASTCT 2019)", lambda i: words(results[i].crs.grade)),
        ("CRS grade status", lambda i: STATUS_WORDS[results[i].crs.status]),
        ("CRS grade: why", lambda i: _reasons(results[i].crs, tz)),
        ("ICANS grade (ASTCT 2019)", lambda i: words(results[i].icans.grade)),
        ("ICANS grade status", lambda i: STATUS_WORDS[results[i].icans.status]),
        ("ICANS grade: why", lambda i: _reasons(results[i].icans, tz)),
        ("Recorded by", lambda i: recorded(i)[0]),
        ("Recorded at", lambda i: "" if recorded(i)[1] is None else
         recorded(i)[1].astimezone(tz).strftime(f"{DATE_FORMAT} {TIME_FORMAT}")),
    ]
    out = io.StringIO()
    w = csvsafe.writer(out)  # formula-safe cells (docs/security.md)
    w.writerow([name for name, _ in columns])
    for i in range(len(rows)):
        w.writerow([value(i) for _, value in columns])
    return out.getvalue()
