"""A printable handover summary (SBAR: situation, background, assessment, recommendation) as
one self-contained HTML file: open it in any browser and print (or save as PDF)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import plotly.io as pio

from grading import guidance
from grading.instants import is_after
from grading.words import rule_words
from monitoring.marker_course import (
    BASIS_WORDS,
    MarkerCourse,
    MarkerPoint,
    fold_words,
    marker_courses,
    number,
)
from monitoring.review import (
    Review,
    charted_only,
    course_table,
    icu_now,
    news_now,
    tocilizumab,
)
from monitoring.vocabulary import INDICATIONS, KIND_WORDS, NOT_STATED

from .charts import timeline_figure
from .common import grade_colours, grade_text, local, news_text
from .text import clock_times

CSS = """
body { font-family: sans-serif; margin: 24px; color: #111; }
h1 { font-size: 20px; margin-bottom: 4px; } h2 { font-size: 16px; margin: 18px 0 6px;
  border-bottom: 1px solid #999; } table { border-collapse: collapse; margin: 4px 0; }
td, th { border: 1px solid #bbb; padding: 2px 6px; font-size: 12px; text-align: left; }
.badge { padding: 1px 6px; border-radius: 3px; font-weight: bold; }
.note { font-size: 11px; color: #444; } ul { margin: 2px 0; }
@media print { .chart { page-break-before: always; } body { margin: 8mm; } }
"""



def _why(x: Any, tz: Any) -> str:
    """A reason in words (issue 18.8): what the rule is about, its source and the finding."""
    about = rule_words(x.rule)
    return (f"{about}: " if about else "") + clock_times(x.finding, tz)

def _badge(syndrome: str, g: Any) -> str:
    bg, fg = grade_colours(g)
    return (f'<span class="badge" style="background:{bg};color:{fg}">'
            f"{escape(grade_text(syndrome, g))}</span>")


def _li(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>" if items else "<p>none</p>"


def handover_html(review: Review, now: datetime, by: str, open_flags: list[dict[str, Any]],
                  with_chart: bool = True) -> str:
    p, tz, r = review.patient, review.tz, review.current
    s = review.summary
    name = escape(p.get("name") or p["patient_id"])
    last_row = review.rows[-1]
    vitals = ", ".join(f"{label} {last_row[k]:g}" for k, label in (
        ("temp_c", "T °C"), ("hr_bpm", "HR"), ("sbp_mmhg", "SBP"), ("dbp_mmhg", "DBP"),
        ("rr_per_min", "RR"), ("spo2_pct", "SpO2 %")) if last_row.get(k) is not None)
    toci = tocilizumab(review, now)
    count = toci["count"]
    news = news_now(review)
    news_line = "NEWS2: no vital signs recorded" if news is None else news_text(news)
    episodes = []
    for syndrome, eps in (("CRS", s.crs_episodes), ("ICANS", s.icans_episodes)):
        for e in eps:
            episodes.append(
                f"{syndrome}: onset {local(e.onset, tz)} (Day {e.onset_day}), maximum grade "
                f"{e.max_grade} at {local(e.max_grade_time, tz)}, "
                + (f"resolved {local(e.resolved, tz)} after {e.duration_hours:g} h"
                   if e.resolved else "resolution not documented" if e.closed else "ongoing"))
    codes = [c for c in (s.icd10("crs"), s.icd10("icans")) if c]  # one mapping (S10)
    events: list[tuple[datetime, str]] = [
        (m["given_at"], escape(KIND_WORDS.get(m["kind"], m["kind"]))
         + (f" {m['dose']:g} {escape(m['unit'] or '')}"
                                             if m.get("dose") else "")
         + (f" {escape(m['route'])}" if m.get("route") else "")
         + (f" for {escape(INDICATIONS[m['indication']])}"   # why, when stated (W20)
            if m.get("indication") in INDICATIONS and m["indication"] != NOT_STATED else ""))
        for m in review.administrations]
    for key, what in (("tocilizumab_given", "tocilizumab"),
                      ("corticosteroid_given", "corticosteroid"),
                      ("antipyretic_given", "antipyretic"),
                      ("fluid_bolus_given", "fluid bolus"),
                      ("anticytokine_given", "anti-cytokine agent (anakinra, siltuximab ...)")):
        # a dose the medication record holds is listed once, from it (as counted)
        events += [(review.results[i].time, f"{what} (charted on the assessment)")
                   for i in charted_only(review.rows, review.administrations, key)]
    pressors_before = "none"
    for i, (held, x) in enumerate(zip(review.support, review.results)):
        # support started, changed or stopped (monitoring/support.py: the one answer)
        if held.vasopressors is not None and held.vasopressors != pressors_before:
            events.append((x.time, "vasoactive infusions "
                           + escape(held.vasopressors.replace(";", " + "))))
            pressors_before = held.vasopressors
        if held.o2_device is not None and held.device_row == i:
            flow = f" {held.o2_flow_l_min:g} L/min" if held.o2_flow_l_min else ""
            events.append((x.time, "oxygen " + escape(held.o2_device.replace("_", " "))
                           + flow))
    treatments = [f"{local(t, tz)}: {text}" for t, text in sorted(events, key=lambda e: e[0])]
    daily = "".join(f"<tr><td>D+{d['day']}</td><td>{_g(d['crs'])}</td><td>{_g(d['icans'])}</td>"
                    "</tr>" for d in course_table(review))
    prompts = [f"{escape(x.text)} <span class='note'>({escape(x.source)})</span>"
               for x in guidance.prompts(r.crs.grade, r.icans.grade, count)]
    icu = [f"{escape(x.what)} <span class='note'>({escape(x.source)})</span>"
           for x in icu_now(review)]
    chart = ""
    if with_chart:
        chart = ("<h2 class='chart'>Timeline</h2>" + pio.to_html(
            timeline_figure(review), full_html=False, include_plotlyjs=True,
            config={"displaylogo": False}))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Handover - {name}</title><style>{CSS}</style></head><body>
<h1>Handover summary: {name} ({escape(p['patient_id'])}) · bed {escape(p.get('bed') or '—')}</h1>
<p class="note">Generated {local(now, tz, '%d %b %Y %H:%M')} ({escape(str(tz))}) by
{escape(by)} from the ward record. Grades: ASTCT consensus (Lee et al., BBMT 2019).
{escape(guidance.DISCLAIMER)}</p>
<h2>S - Situation</h2>
<p>Day after infusion: D+{r.day_post_infusion if r.day_post_infusion is not None else '—'}.
Now: {_badge('CRS', r.crs)} {_badge('ICANS', r.icans)} at {local(r.time, tz)}.</p>
<p>Open flags:</p>{_li([escape(f"{f['severity']}: {clock_times(f['message'], tz)}")
                           for f in open_flags])}
<p>ICU prompts (ASCO 2021; NEWS2, RCP 2017):</p>{_li(icu)}
<h2>B - Background</h2>
<p>{escape(p.get('product') or 'product not recorded')} for
{escape(p.get('indication') or 'indication not recorded')}; infusion
{local(p.get('infusion_time'), tz, '%d %b %Y %H:%M')}; weight
{p['weight_kg'] if p.get('weight_kg') else '—'} kg; baseline ICE
{p['baseline_ice'] if p.get('baseline_ice') is not None else '—'}.</p>
<p>Maximum grades: CRS {_g(s.crs_max_grade)}, ICANS {_g(s.icans_max_grade)}
{('(ICD-10-CM ' + ', '.join(codes) + ')') if codes else ''}.</p>{_li(episodes)}
<table><tr><th>Day</th><th>max CRS</th><th>max ICANS</th></tr>{daily}</table>
<h2>A - Assessment</h2>
<p>Latest observations ({local(r.time, tz)}): {escape(vitals) or 'none'}.</p>
<p>{escape(news_line)}</p>
{markers_html(review)}
<p>Why CRS {_g(r.crs.grade)}:</p>{_li([escape(_why(x, tz)) for x in r.crs.reasons])}
<p>Why ICANS {_g(r.icans.grade)}:</p>{_li([escape(_why(x, tz)) for x in r.icans.reasons])}
<p>Treatments given:</p>{_li(treatments)}
<p>Tocilizumab: {count.last_24h} dose(s) in the last 24 h, {count.total} in total.
{' '.join(escape(w) for w in count.warnings)}</p>
<p>Physician attributions and confirmed grades:</p>{_li(judgements(review))}
<p>Physician notes:</p>{_li([f"{local(n['written_at'], tz)} {escape(n['recorded_by'])}: "
                             f"{escape(n['text'])}" for n in review.notes])}
<h2>R - Recommendation (prompts for the responsible physician to decide)</h2>
{_li(prompts)}
<p class="note">{escape(guidance.DISCLAIMER)}</p>
{chart}
</body></html>"""


SBAR_CLOCK = "%d/%m/%Y %H:%M"  # 08/03/2026 14:00, as the handover's marker table writes it
IL6_AFTER_TOCILIZUMAB = ("IL-6 measured after a tocilizumab dose: tocilizumab blocks the IL-6 "
                         "receptor, so serum IL-6 rises for days after it and a rise is not by "
                         "itself a sign of failure (Nishimoto N et al., Blood 2008)")


def day_words(day: int | None) -> str:
    """"Day 0", "Day +3", "Day -5"."""
    return "" if day is None else "Day 0" if day == 0 else f"Day {day:+d}"


def _at(p: MarkerPoint, tz: Any) -> str:
    when = local(p.time, tz, SBAR_CLOCK)
    return f"{when}, {day_words(p.day)}" if p.day is not None else when


def marker_cells(m: MarkerCourse, tz: Any) -> list[str]:
    """Marker, baseline, peak (or lowest) after infusion, change from baseline, latest: the
    marker course summary (issue 20 point 3, decisions R6-R9) in ward words."""
    unit = m.unit
    base = ("none before lymphodepletion or infusion" if m.baseline is None else
            f"{number(m.baseline.value)} {unit} ({local(m.baseline.time, tz, SBAR_CLOCK)}, "
            f"{BASIS_WORDS[m.baseline_basis or 'infusion']})")
    word = "lowest" if m.extreme == "lowest" else "peak"
    top = ("no result after infusion yet" if m.peak is None else
           f"{word} {number(m.peak.value)} {unit} ({_at(m.peak, tz)})")
    fold = (fold_words(m.fold) if m.fold is not None else
            "" if m.peak is None else "no baseline" if m.baseline is None else
            "baseline 0: no ratio")
    latest = f"{number(m.latest.value)} {unit} ({_at(m.latest, tz)})"
    return [m.words[:1].upper() + m.words[1:], base, top, fold, latest]


def markers_html(review: Review) -> str:
    """The markers' course as a table (none recorded: one line), with the note on IL-6 after
    tocilizumab when an IL-6 was taken after a dose."""
    p, tz = review.patient, review.tz
    courses = marker_courses(review.labs, p.get("infusion_time"), p.get("lymphodepletion_at"),
                             tz)
    if not courses:
        return "<p>Markers: no laboratory results recorded.</p>"
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in marker_cells(m, tz))
                   + "</tr>" for m in courses)
    note = ""
    il6 = [x["taken_at"] for x in review.labs if x["test"] == "il6"]
    if review.tocilizumab_given and any(is_after(t, min(review.tocilizumab_given))
                                        for t in il6):
        note = f"<p class='note'>{escape(IL6_AFTER_TOCILIZUMAB)}.</p>"
    return ("<p>Markers (peak after infusion; the lowest for fibrinogen and the blood counts, "
            "whose danger is a fall):</p><table><tr><th>Marker</th><th>Baseline</th>"
            "<th>Peak or lowest after infusion</th><th>Change from baseline</th>"
            f"<th>Latest</th></tr>{rows}</table>{note}")


def judgements(review: Review) -> list[str]:
    """The physicians' attributions (a finding given another cause, excluded from the grade)
    and grade confirmations, with the assessment they concern, who and when."""
    tz = review.tz
    at = {rid: x.time for rid, x in zip(review.ids, review.results)}
    out = [f"{escape(a['finding'])} at {local(at.get(a['assessment_id']), tz)} attributed to "
           f"another cause: {escape(a['reason'])} ({escape(a['recorded_by'])}, "
           f"{local(a['recorded_at'], tz)})" for a in review.attributions]
    out += [f"{escape(c['syndrome'].upper())} grade {c['grade']} at "
            f"{local(at.get(c['assessment_id']), tz)} confirmed ({escape(c['recorded_by'])}, "
            f"{local(c['recorded_at'], tz)})" + (f": {escape(c['note'])}" if c["note"] else "")
            for c in review.confirmations]
    return out


def _g(v: int | None) -> str:
    return "—" if v is None else str(v)
