"""Shared drawing helpers: grade badges (colour and text), times in the ward's zone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import grading
from grading.fields import FIELD_BY_NAME
from grading.news2 import PARAMETERS as NEWS2_PARAMETERS
from grading.words import rule_words

from .text import CLOCK, clock, clock_times, md, whole_years

# Okabe-Ito colours (safe for the common colour-vision deficiencies); the text always carries
# the grade too, so colour is never the only cue.
GRADE_COLOURS = {0: "#DDDDDD", 1: "#F0E442", 2: "#E69F00", 3: "#D55E00", 4: "#CC79A7",
                 5: "#000000"}
NOT_EVALUABLE_COLOUR = "#56B4E9"
SEVERITY_ICONS = {"emergency": "EMERGENCY", "urgent": "URGENT", "review": "review",
                  "info": "info"}  # words, not emoji: ward PCs often lack an emoji font
STATUS_WORDS = {"final": "", "provisional": " (provisional)", "not_evaluable": ""}


def grade_text(syndrome: str, g: grading.Grade | None) -> str:
    if g is None:
        return f"{syndrome} —"
    if g.grade is None:
        return f"{syndrome} not evaluable"
    return f"{syndrome} {g.grade}{STATUS_WORDS[g.status]}"


SUMMARY_RULES = {"ICANS-R1", "CRS-R6"}  # "highest domain" / "grade from components": no finding


def based_on(g: grading.Grade | None, as_of: datetime | None, tz: Any) -> str:
    """' (from 21 Nov 22:00)' when a grade rests on observations over an hour older than the
    assessment it is shown for (e.g. ICANS from the last neuro check), else ''."""
    findings = [r.time for r in (g.reasons if g else ()) if r.rule not in SUMMARY_RULES]
    if not findings or as_of is None:
        return ""
    newest = max(findings)
    return f" (from {local(newest, tz)})" if as_of - newest > timedelta(hours=1) else ""


def grade_colours(g: grading.Grade | int | None) -> tuple[str, str]:
    """(background, text colour) for a grade badge."""
    if g is None:  # no assessment yet: no colour, the text says "—"
        return "#FFFFFF", "#000000"
    value = g.grade if isinstance(g, grading.Grade) else g
    if value is None:
        return NOT_EVALUABLE_COLOUR, "#000000"
    bg = GRADE_COLOURS[value]
    return bg, "#FFFFFF" if value >= 3 else "#000000"


def badge(syndrome: str, g: grading.Grade | None) -> str:
    """An HTML badge (for st.markdown with unsafe_allow_html) - colour plus words."""
    bg, fg = grade_colours(g)
    return (f'<span style="background:{bg};color:{fg};padding:2px 8px;border-radius:4px;'
            f'font-weight:600">{grade_text(syndrome, g)}</span>')


def local(at: datetime | None, tz: Any, fmt: str = CLOCK) -> str:
    """A time as the ward reads it (the one formatter: ui.text.clock)."""
    return clock(at, tz, fmt)


def reason_text(r: grading.Reason, tz: Any) -> str:
    """One reason as a clinician reads it: what the rule is about and its published source,
    the finding (its times on the ward clock) and when it was found - never the rule id."""
    about = rule_words(r.rule)
    return (f"**{about[:1].upper() + about[1:]}** — " if about else "") + \
        f"{clock_times(r.finding, tz)} ({local(r.time, tz)})"


def reasons_text(g: grading.Grade, tz: Any) -> list[str]:
    return [reason_text(r, tz) for r in g.reasons]


CONTEXT_FIELDS = ("patient_id", "time", "infusion_time")


def observations_text(values: Mapping[str, Any]) -> str:
    """What an assessment charted, field by field with its title and unit (blank fields left
    out: not assessed at that time)."""
    parts = []
    for name, v in values.items():
        if v is None or name in CONTEXT_FIELDS:
            continue
        f = FIELD_BY_NAME[name]
        if name == "age_years" and isinstance(v, (int, float)):
            parts.append(f"{f.title} {whole_years(v)}")  # completed years (decision G13)
            continue
        if isinstance(v, bool):
            shown = "yes" if v else "no"
        elif isinstance(v, float):
            shown = f"{v:g}"
        elif isinstance(v, (set, frozenset, list, tuple)):
            shown = "; ".join(sorted(map(str, v)))
        else:
            shown = str(v)
        parts.append(f"{f.title} {shown.replace('_', ' ')}"
                     f"{(' ' + f.unit) if f.unit and f.unit != 'points' else ''}")
    return "; ".join(parts)


def attribution_effect_text(effect: Any, finding: str, tz: Any) -> str:
    """What an attribution would change, in words, before it is recorded (decision C5)."""
    b, a = effect.before, effect.after
    if (a.crs, a.icans) == (b.crs, b.icans):
        text = (f"Attributing {finding} here changes no grade at {local(b.time, tz)}: it is "
                "not what decides them.")
    else:
        text = (f"With this attribution at {local(b.time, tz)}: {grade_text('CRS', a.crs)}, "
                f"{grade_text('ICANS', a.icans)} (now {grade_text('CRS', b.crs)}, "
                f"{grade_text('ICANS', b.icans)}).")
    later = effect.also_decides
    if later:
        text += (f" It applies to this assessment only: {finding} still counts at "
                 f"{len(later)} later assessment{'s' if len(later) != 1 else ''} "
                 f"({local(later[0], tz)}" + (f" to {local(later[-1], tz)}" if len(later) > 1
                                             else "") + "); attribute each one that has the "
                 "same cause.")
    return text


def news_text(n: Any) -> str:
    """A NEWS2 score by parameter, its risk band and the source, in ward words (RCP 2017);
    shown beside the ASTCT grades, never instead of them (spec §5.1)."""
    if n.total is None:
        return "NEWS2 not scored: it is not for under-16s (RCP 2017)."
    return (f"{n.breakdown()} — {n.risk} risk, monitoring {n.monitoring} (NEWS2, Royal College "
            "of Physicians 2017; beside the ASTCT grades, never instead of them)")


def news_lines(n: Any) -> tuple[str, str]:
    """A NEWS2 score as (headline, breakdown): "NEWS2 7 — high risk, monitoring ..." and the
    points by parameter ("respiration rate 2 · SpO2 0 · ..."), the parameters not recorded
    named; RCP 2017, beside the ASTCT grades, never instead of them."""
    if n.total is None:
        return "NEWS2 not scored: it is not for under-16s (RCP 2017).", ""
    parts = [f"{name} {n.parts[name]}" + (f" ({n.consciousness_why})" if name == "consciousness"
                                          and n.consciousness_why else "")
             for name in NEWS2_PARAMETERS if name in n.parts]
    missing = [f"{p} (sedated)" if p == "consciousness" and n.sedated else p for p in n.missing]
    head = (f"NEWS2 {n.total}{' or more' if n.missing else ''} — {n.risk} risk, monitoring "
            f"{n.monitoring} (Royal College of Physicians 2017)")
    return head, " · ".join(parts) + (f" · not recorded: {', '.join(missing)}" if missing
                                      else "")


def news_markdown(n: Any) -> str:
    """``news_lines`` as Markdown: the headline in bold, the points on the next line (the
    bedside preview and the save confirmation show the same)."""
    head, parts = news_lines(n)
    return f"**{md(head)}**" + (f"  \n{md(parts)}" if parts else "")


# New flags after a save, one group per severity, the most severe first (issue 18.5).
SEVERITY_ORDER = ("emergency", "urgent", "review", "info")


def flags_by_group(flags: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[Any]]]:
    """The flags grouped by severity, emergency first; groups without a flag left out and an
    unknown severity after the known ones (never dropped)."""
    groups: dict[str, list[Any]] = {}
    for f in flags:
        groups.setdefault(f["severity"], []).append(f)
    known = [s for s in SEVERITY_ORDER if s in groups]
    return [(s, groups[s]) for s in known + sorted(set(groups) - set(known))]
