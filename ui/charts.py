"""The patient timeline as stacked plotly panels on one shared time axis (plain functions,
tested without a browser). Draws what ``monitoring.review`` computed; no rule logic here except
the published thresholds it marks (which come from ``grading.rules``).

A line joins two observations only when the second came within the routine interval of the
observation schedule (``monitoring.schedule``: vital signs 4 h, neuro 8 h by default) plus half
of it again; a longer wait is drawn as a gap (decision G10).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grading import news2
from grading.rules import (
    CAPD_BANDS,
    DEVICE_RULE,
    FEVER_C,
    ICE_BANDS,
    estimated_map,
    hypotension_threshold,
    sbp_threshold,
)
from monitoring import schedule
from monitoring.escalation import course_news
from monitoring.review import Review
from monitoring.support import support_in_force

from .common import GRADE_COLOURS
from .text import plot

PANELS = ("Temperature °C", "Heart rate /min", "Blood pressure mmHg", "SpO2 % and oxygen",
          "Resp. rate /min", "NEWS2 (RCP 2017)", "Level of consciousness (ACVPU)", "Neuro score",
          "CRS / ICANS grade", "Treatments and events")
ROW = {name: i + 1 for i, name in enumerate(PANELS)}
(TEMP, HR, BP, SPO2, RR, NEWS, CONSCIOUSNESS, NEURO, GRADES, EVENTS) = PANELS
HEIGHTS = (0.11, 0.08, 0.12, 0.11, 0.08, 0.1, 0.09, 0.1, 0.09, 0.12)
HEIGHT_PX = 1850
MARGIN_TOP_PX = 110
TITLE_FONT_PX = 12          # panel titles sit just above their panel
DAY_LABEL_SHIFT_PX = 20     # day labels above the first panel's title, never on it
RANGE_BUTTONS_SHIFT_PX = 44  # the quick-range buttons above the day labels
MAX_DAY_LABELS = 8          # "Day 10" ~35 px: 8 fit the chart's width on an 820 px tablet
# A line is drawn between two observations only when the second came within the schedule's
# routine interval plus this share of it (decision G10).
GAP_GRACE = 0.5
# The ICANS levels of consciousness (design.md ``consciousness``) on the ACVPU scale of NEWS2
# (RCP 2017): drowsy but waking by itself is still A, waking only to touch is P (decision G11).
ACVPU = {"alert": "A", "awakens_spontaneously": "A", "awakens_to_voice": "V",
         "awakens_to_touch": "P", "unarousable": "U"}
CONSCIOUSNESS_TICKS = {"alert": "A alert", "awakens_spontaneously": "A drowsy",
                       "awakens_to_voice": "V voice", "awakens_to_touch": "P touch",
                       "unarousable": "U unrousable"}
SEDATED_TICK = "sedated"
NEWS2_BANDS = ((5, 6, "#E69F00", "5-6 medium"), (7, 20, "#D55E00", "7+ high"))
# The anti-cytokine row covers anakinra, siltuximab and any other agent (decision W10); two
# lines keep the event panel's labels narrow at tablet width.
ANTICYTOKINE_LABEL = "anakinra, siltuximab<br>or other anti-cytokine"
TREATMENTS = (("tocilizumab_given", "tocilizumab", "diamond", "#0072B2"),
              ("corticosteroid_given", "corticosteroid", "square", "#009E73"),
              ("antipyretic_given", "antipyretic", "triangle-up", "#E69F00"),
              ("fluid_bolus_given", "fluid bolus", "circle", "#56B4E9"),
              ("anticytokine_given", ANTICYTOKINE_LABEL, "diamond-open", "#CC79A7"))
EVENT_ROWS = ("tocilizumab", ANTICYTOKINE_LABEL, "corticosteroid", "antipyretic", "fluid bolus",
              "vasopressor", "seizure", "imaging")
OXYGEN_FILL = "rgba(86, 180, 233, 0.18)"
QUICK_RANGES = (("24 h", 24), ("72 h", 72))


def routine_intervals() -> tuple[timedelta, timedelta]:
    """The longest interval the site's observation schedule ever allows between vital signs and
    between neuro assessments (``monitoring.schedule``: the grade-0 rows, 4 h and 8 h by
    default, spec §4.5): the routine minimum monitoring of every patient (decision G10)."""
    tables = schedule.load()
    return (max(every for _, every in tables["VITALS_EVERY"]),
            max(every for _, every in tables["NEURO_EVERY"]))


def gap_note() -> str:
    """What a break in a line means, in words, for the page's caption (decision G10)."""
    vitals, neuro = (every * (1 + GAP_GRACE) for every in routine_intervals())

    def hours(d: timedelta) -> str:
        return f"{d.total_seconds() / 3600:g} h"
    return (f"A break in a line: no observation for more than {hours(vitals)} (vital signs, "
            f"NEWS2, CRS grade) or {hours(neuro)} (consciousness, neuro score, ICANS grade).")


def gapped(f: pd.DataFrame, column: str, every: timedelta, blank_breaks: bool = False,
           extra: Sequence[str] = ()) -> tuple[list[datetime], list[Any], list[list[Any]]]:
    """The points of ``column`` (x, y, hover data) with a break - a point whose y is None
    between them - wherever the next value came more than ``every`` plus ``GAP_GRACE`` of it
    after the one before (real time, also across a daylight-saving change).
    ``blank_breaks``: a blank value (a grade that cannot be evaluated) breaks the line too.
    The hover data is who recorded the value and when, then the ``extra`` columns."""
    xs: list[datetime] = []
    ys: list[Any] = []
    custom: list[list[Any]] = []
    blank = ["", ""] + [""] * len(extra)
    values, utc, times = f[column].tolist(), f["utc"].tolist(), f["time"].tolist()
    by, at = f["by"].tolist(), f["at"].tolist()
    more = [f[c].tolist() for c in extra]
    limit = every * (1 + GAP_GRACE)
    prev: int | None = None
    for i, v in enumerate(values):
        if v is None or v != v:  # not recorded (None or NaN)
            if blank_breaks and prev is not None:
                xs.append(times[i])
                ys.append(None)
                custom.append(blank)
                prev = None
            continue
        if prev is not None and utc[i] - utc[prev] > limit:  # a gap, not a line
            xs.append(times[prev] + (times[i] - times[prev]) / 2)
            ys.append(None)
            custom.append(blank)
        xs.append(times[i])
        ys.append(v)
        custom.append([by[i], at[i], *(m[i] for m in more)])
        prev = i
    return xs, ys, custom


def frame(review: Review) -> pd.DataFrame:
    """One row per assessment: local time, values, grades, NEWS2, who recorded it (as hover
    text: HTML-escaped, plotly renders tags there)."""
    out = []
    in_force = support_in_force(review.rows)  # the one answer (monitoring/support.py)
    news = course_news(review.rows, review.patient)  # what the flags scored (decision C22)
    vitals_every, neuro_every = routine_intervals()
    for i, (row, r) in enumerate(zip(review.rows, review.results)):
        s = in_force[i]
        device, flow, pressors = s.o2_device, s.o2_flow_l_min, s.vasopressors or "none"
        ice = [row.get(k) for k in ("ice_orientation", "ice_naming", "ice_commands",
                                    "ice_writing", "ice_attention")]
        by, at = review.recorded.get(review.ids[i], ("", None))
        sbp, dbp = row.get("sbp_mmhg"), row.get("dbp_mmhg")
        out.append({
            # ward-local clock time without an offset: plotly draws times as given, and the
            # day lines, bands and quick ranges must all use the same clock
            "time": r.time.astimezone(review.tz).replace(tzinfo=None),
            "utc": r.time.astimezone(UTC),
            "day": r.day_post_infusion,
            "temp_c": row.get("temp_c"), "hr_bpm": row.get("hr_bpm"), "sbp": sbp, "dbp": dbp,
            "map": None if sbp is None or dbp is None else round(estimated_map(sbp, dbp)),
            "rr": row.get("rr_per_min"), "spo2": row.get("spo2_pct"),
            "device": device, "flow": flow, "pressors": pressors,
            "ice": None if any(x is None for x in ice) else int(sum(ice)),
            "capd": row.get("capd_total"),
            "consciousness": CONSCIOUSNESS_TICKS.get(row.get("consciousness") or "")
            or (SEDATED_TICK if row.get("sedated") else None),
            "consciousness_words": news2.CONSCIOUSNESS_WORDS.get(row.get("consciousness") or "")
            or ("sedated: not assessable" if row.get("sedated") else ""),
            "news": None if news[i] is None else news[i].total,
            "news_red": news[i] is not None and news[i].red,
            "news_partial": news[i] is not None and bool(news[i].missing),
            "news_words": "" if news[i] is None else news[i].breakdown(name_red=True),
            "crs": r.crs.grade, "icans": r.icans.grade,
            "crs_max": r.crs_episode_max, "icans_max": r.icans_episode_max,
            "seizure": row.get("seizure"), "edema": row.get("cerebral_edema"),
            "icp": row.get("raised_icp_signs"),
            **{k: bool(row.get(k)) for k, *_ in TREATMENTS},
            "by": plot(by),
            "at": "" if at is None else at.astimezone(review.tz).strftime("%d %b %H:%M"),
        })
    f = pd.DataFrame(out)
    f.attrs.update(vitals=vitals_every, neuro=neuro_every)  # the gaps the lines may bridge
    return f


def _ax(row: int, axis: str) -> str:
    return axis if row == 1 else f"{axis}{row}"


QUIZ_BAND_SHADES = ("#DDDDDD", "#F4F4F4")  # alternating, no grade colour


class _Layers:
    """Shapes and annotations collected and set once (plotly's add_hline / add_vrect check
    every subplot per call: seconds for a two-week stay)."""

    def __init__(self) -> None:
        self.shapes: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def hline(self, row: int, y: float, colour: str, text: str, below: bool = False) -> None:
        self.shapes.append({"type": "line", "xref": f"{_ax(row, 'x')} domain", "x0": 0,
                            "x1": 1, "yref": _ax(row, "y"), "y0": y, "y1": y,
                            "line": {"color": colour, "dash": "dash", "width": 1}})
        self.notes.append({"xref": f"{_ax(row, 'x')} domain", "x": 0, "yref": _ax(row, "y"),
                           "y": y, "text": text, "showarrow": False, "xanchor": "left",
                           "yanchor": "top" if below else "bottom",
                           "font": {"size": 10, "color": colour}})

    def hband(self, row: int, y0: float, y1: float, colour: str, text: str) -> None:
        self.shapes.append({"type": "rect", "xref": f"{_ax(row, 'x')} domain", "x0": 0,
                            "x1": 1, "yref": _ax(row, "y"), "y0": y0, "y1": y1,
                            "fillcolor": colour, "opacity": 0.25, "line": {"width": 0},
                            "layer": "below"})
        if text:
            self.notes.append({"xref": f"{_ax(row, 'x')} domain", "x": 1,
                               "yref": _ax(row, "y"), "y": (y0 + y1) / 2, "text": text,
                               "showarrow": False, "xanchor": "right", "font": {"size": 9}})

    def vband(self, row: int, x0: datetime, x1: datetime, colour: str, text: str,
              level: int = 0) -> None:
        self.shapes.append({"type": "rect", "xref": _ax(row, "x"), "x0": x0, "x1": x1,
                            "yref": f"{_ax(row, 'y')} domain", "y0": 0, "y1": 1,
                            "fillcolor": colour, "line": {"width": 0}, "layer": "below"})
        self.notes.append({"xref": _ax(row, "x"), "x": x0, "yref": f"{_ax(row, 'y')} domain",
                           "y": 1 - 0.14 * (level % 4), "text": text, "showarrow": False,
                           "xanchor": "left", "yanchor": "top", "font": {"size": 10},
                           "bgcolor": "rgba(255,255,255,0.7)"})

    def day(self, x: datetime, text: str, label_x: datetime) -> None:
        """A dotted line at local midnight ``x`` through every panel, and the day's label at
        ``label_x`` above the first panel's title (shifted up in pixels: it never sits on a
        title)."""
        self.shapes.append({"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "paper",
                            "y0": 0, "y1": 1, "line": {"color": "#BBBBBB", "width": 1,
                                                       "dash": "dot"}})
        if text:
            self.notes.append({"xref": "x", "x": label_x, "yref": "paper",
                               "y": 1.0, "yshift": DAY_LABEL_SHIFT_PX, "text": text,
                               "showarrow": False, "yanchor": "bottom", "font": {"size": 10}})

    def apply(self, fig: go.Figure) -> None:
        fig.update_layout(shapes=self.shapes,
                          annotations=list(fig.layout.annotations) + self.notes)


def _hover(unit: str) -> str:
    return ("%{y}" + unit + "<br>%{x|%d %b %H:%M}<br>recorded by %{customdata[0]} at "
            "%{customdata[1]}<extra>%{fullData.name}</extra>")


def _line(fig: go.Figure, f: pd.DataFrame, column: str, name: str, panel: str, unit: str,
          colour: str, dash: str | None = None, every: str = "vitals") -> None:
    x, y, custom = gapped(f, column, f.attrs[every])
    fig.add_trace(go.Scatter(
        x=x, y=y, name=name, mode="lines+markers", connectgaps=False,
        line={"color": colour, "dash": dash}, marker={"size": 5},
        customdata=custom, hovertemplate=_hover(unit)),
        row=ROW[panel], col=1)


def _news_panel(fig: go.Figure, f: pd.DataFrame, layers: _Layers) -> None:
    """NEWS2 at each assessment (``monitoring.escalation.course_news``, what the flags scored),
    a marker in red where a single parameter scores 3, an open marker where parameters were not
    recorded (the total is a minimum), the medium and high bands of RCP 2017 Chart 4 shaded.
    Under 16 it is not scored, and the panel says so."""
    if not f.empty and f["news"].isna().all():  # under 16 (or nothing scored): no bands
        layers.notes.append({"xref": f"{_ax(ROW[NEWS], 'x')} domain", "x": 0.5,
                             "yref": f"{_ax(ROW[NEWS], 'y')} domain", "y": 0.5,
                             "text": "NEWS2 is not scored under 16 (RCP 2017)",
                             "showarrow": False, "font": {"size": 11}})
    else:
        for low, high, colour, text in NEWS2_BANDS:
            layers.hband(ROW[NEWS], low - 0.5, high + 0.5, colour, text)
    x, y, custom = gapped(f, "news", f.attrs["vitals"],
                          extra=("news_words", "news_red", "news_partial"))
    fig.add_trace(go.Scatter(
        x=x, y=[None if v is None else int(v) for v in y], name="NEWS2",
        mode="lines+markers", connectgaps=False, line={"color": "#333333"},
        marker={"size": 7, "line": {"width": 1.5},
                # red: a single parameter scoring 3; open: parameters not recorded (a minimum)
                "color": ["#D55E00" if c[3] != "" and c[3] else "#333333" for c in custom],
                "symbol": ["circle-open" if c[4] != "" and c[4] else "circle"
                           for c in custom]},
        customdata=[c[:3] for c in custom],
        hovertemplate="%{customdata[2]}<br>%{x|%d %b %H:%M}<br>recorded by %{customdata[0]} "
                      "at %{customdata[1]}<extra>%{fullData.name}</extra>"),
        row=ROW[NEWS], col=1)


def _runs(f: pd.DataFrame, column: str) -> list[tuple[Any, datetime, datetime]]:
    """Consecutive runs of one value: (value, start, end) - end is the next change (or the
    last assessment)."""
    runs: list[tuple[Any, datetime, datetime]] = []
    for t, v in zip(f["time"], f[column]):
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1], t)
        else:
            if runs:
                runs[-1] = (runs[-1][0], runs[-1][1], t)
            runs.append((v, t, t))
    return runs


def timeline_figure(review: Review, grade_bands: bool = True) -> go.Figure:
    """The patient's course, panel by panel. ``grade_bands`` False: the ICE/CAPD bands are
    drawn in one neutral shade without their "ICANS n" labels (a quiz question, where they
    would give the answer away)."""
    f = frame(review)
    fig = make_subplots(rows=len(PANELS), cols=1, shared_xaxes=True, vertical_spacing=0.018,
                        row_heights=list(HEIGHTS), subplot_titles=PANELS)
    age = next((r.get("age_years") for r in reversed(review.rows)
                if r.get("age_years") is not None), None)
    layers = _Layers()

    # 1 temperature, with the ASTCT fever line
    _line(fig, f, "temp_c", "temperature", TEMP, " °C", "#D55E00")
    layers.hline(ROW[TEMP], float(FEVER_C), "#D55E00", "38.0 °C fever (ASTCT)")
    # 2 heart rate
    _line(fig, f, "hr_bpm", "heart rate", HR, " /min", "#CC79A7")
    # 3 blood pressure, MAP, the hypotension trigger for this age (spec §1.6)
    _line(fig, f, "sbp", "systolic BP", BP, " mmHg", "#0072B2")
    _line(fig, f, "dbp", "diastolic BP", BP, " mmHg", "#56B4E9")
    _line(fig, f, "map", "MAP (calculated)", BP, " mmHg", "#999999", dash="dot")
    t = hypotension_threshold(age)
    layers.hline(ROW[BP], sbp_threshold(t, age), "#0072B2",
                 f"SBP < {sbp_threshold(t, age):g}: hypotension trigger ({t.population})",
                 below=True)
    # 4 SpO2 with oxygen support as shaded bands labelled by device and flow
    _line(fig, f, "spo2", "SpO2", SPO2, " %", "#009E73")
    f["support"] = [None if d in (None, "room_air") else
                    DEVICE_RULE[d].label + ("" if fl is None or fl != fl else f" {fl:g} L/min")
                    for d, fl in zip(f["device"], f["flow"])]
    bands = [(label, start, end) for label, start, end in _runs(f, "support")
             if isinstance(label, str)]
    for level, (label, start, end) in enumerate(bands):  # labels stepped down: no overlap
        layers.vband(ROW[SPO2], start, end, OXYGEN_FILL, label, level)
    # 5 respiratory rate
    _line(fig, f, "rr", "respiratory rate", RR, " /min", "#E69F00")
    # 6 NEWS2 as the flags scored it, with the RCP 2017 response bands
    _news_panel(fig, f, layers)
    # 7 level of consciousness (ACVPU), sedation where no level could be assessed
    x, y, custom = gapped(f, "consciousness", f.attrs["neuro"], extra=("consciousness_words",))
    fig.add_trace(go.Scatter(
        x=x, y=y, name="level of consciousness", mode="lines+markers", connectgaps=False,
        line={"color": "#555555"}, marker={"size": 6, "color": "#000000"},
        customdata=custom,
        hovertemplate="%{customdata[2]}<br>%{x|%d %b %H:%M}<br>recorded by %{customdata[0]} at "
                      "%{customdata[1]}<extra>%{fullData.name}</extra>"),
        row=ROW[CONSCIOUSNESS], col=1)
    # 8 ICE (adults) or CAPD (children), with the grade bands (spec §2.3, §2.5)
    neuro = "capd" if f["capd"].notna().any() and not f["ice"].notna().any() else "ice"
    bands = CAPD_BANDS if neuro == "capd" else ICE_BANDS
    for k, (low, high, grade) in enumerate(bands):
        if grade_bands:
            layers.hband(ROW[NEURO], low - 0.5, high + 0.5, GRADE_COLOURS[grade],
                         f"ICANS {grade}" if neuro == "ice" else f"CAPD {low}-{high}")
        else:  # the band edges stay visible, the grade they stand for does not
            layers.hband(ROW[NEURO], low - 0.5, high + 0.5, QUIZ_BAND_SHADES[k % 2], "")
    _line(fig, f, neuro, "ICE score" if neuro == "ice" else "CAPD total", NEURO, "",
          "#000000", every="neuro")
    # 9 grades as step lines with the episode maximum. A grade stops at a gap in the charting
    # (CRS after the vital-signs interval, ICANS after the neuro one); the episode maximum is
    # the highest grade so far and runs on across it.
    for column, name, colour, dash, every in (
            ("crs", "CRS grade", "#D55E00", None, "vitals"),
            ("icans", "ICANS grade", "#0072B2", None, "neuro"),
            ("crs_max", "CRS episode maximum", "#D55E00", "dot", None),
            ("icans_max", "ICANS episode maximum", "#0072B2", "dot", None)):
        if every is None:
            x, y, custom = list(f["time"]), list(f[column]), f[["by", "at"]].values.tolist()
        else:
            x, y, custom = gapped(f, column, f.attrs[every], blank_breaks=True)
        fig.add_trace(go.Scatter(
            x=x, y=y, name=name, mode="lines+markers", line_shape="hv",
            line={"color": colour, "dash": dash}, connectgaps=False,
            marker={"size": 3 if dash else 4},  # a single assessment still shows
            customdata=custom, hovertemplate=_hover("")),
            row=ROW[GRADES], col=1)
    # 8 treatments (markers), vasopressor infusions (bars), seizures and imaging (events)
    for column, name, symbol, colour in TREATMENTS:
        d = f[f[column]]
        fig.add_trace(go.Scatter(
            x=d["time"], y=[name] * len(d), name=name, mode="markers",
            marker={"symbol": symbol, "size": 11, "color": colour},
            customdata=d[["by", "at"]].to_numpy(),
            hovertemplate="%{x|%d %b %H:%M}: given since the previous assessment<br>recorded "
                          "by %{customdata[0]} at %{customdata[1]}<extra>%{fullData.name}</extra>"),
            row=ROW[EVENTS], col=1)
    for agents, start, end in _runs(f, "pressors"):
        if isinstance(agents, str) and agents != "none":
            fig.add_trace(go.Scatter(
                x=[start, end], y=["vasopressor", "vasopressor"], mode="lines",
                line={"width": 10, "color": "#D55E00"}, name=agents.replace(";", " + "),
                hovertemplate=f"{agents.replace(';', ' + ')}: %{{x|%d %b %H:%M}}<extra></extra>"),
                row=ROW[EVENTS], col=1)
    events = [(t, "seizure", s.replace("_", " ")) for t, s in zip(f["time"], f["seizure"])
              if isinstance(s, str) and s != "none"]
    events += [(t, "imaging", f"cerebral oedema: {e}") for t, e in zip(f["time"], f["edema"])
               if isinstance(e, str) and e != "none"]
    events += [(t, "imaging", f"raised ICP: {x.replace(';', ', ')}")
               for t, x in zip(f["time"], f["icp"]) if isinstance(x, str) and x != "none"]
    if events:
        fig.add_trace(go.Scatter(
            x=[e[0] for e in events], y=[e[1] for e in events], text=[e[2] for e in events],
            mode="markers", name="neuro events", marker={"symbol": "x", "size": 12,
                                                         "color": "#000000"},
            hovertemplate="%{text}<br>%{x|%d %b %H:%M}<extra></extra>"),
            row=ROW[EVENTS], col=1)

    _day_lines(layers, review, f)
    layers.apply(fig)
    _axes(fig, f)
    # the markers panel's range and time labels too (ui/marker_chart.py)
    fig.update_xaxes(range=list(time_range(review)), tickformat=TIME_TICKS)
    return fig


TIME_TICKS = "%H:%M<br>%d %b"  # "14:00" over "05 Dec": the ward's clock, the day before month
TIME_PAD = 0.02  # of the span, each side (at least an hour): the first and last points show


def time_range(review: Review) -> tuple[datetime, datetime]:
    """The time axis of the patient's timeline and of its markers panel (ward-local clock
    times, as the points): from the earliest to the latest of the assessments, the lab results
    and the medications, a little more each side. Both charts use it, so a time sits at the
    same place on the two (issue 20 point 2)."""
    times = [r["time"] for r in review.rows] + [x["taken_at"] for x in review.labs] + \
        [m["given_at"] for m in review.administrations]
    local = [t.astimezone(review.tz).replace(tzinfo=None) for t in times]
    if not local:
        now = datetime.now(UTC).astimezone(review.tz).replace(tzinfo=None)
        return now - timedelta(hours=12), now + timedelta(hours=12)
    first, last = min(local), max(local)
    pad = max((last - first) * TIME_PAD, timedelta(hours=1))
    return first - pad, last + pad


def _day_lines(layers: _Layers, review: Review, f: pd.DataFrame) -> None:
    """Day after infusion on the shared time axis: a line at each local midnight, 'Day N'
    over the middle of the part of that day the axis shows (the first and last days are
    partly off it: a label at noon would not be drawn, depending on the time of day the stay
    began) - on every day up to ``MAX_DAY_LABELS`` days, else on every k-th day (from the
    first), so the labels never run into each other at tablet width."""
    infusion = review.patient.get("infusion_time")
    if infusion is None or f.empty:
        return
    inf_day = infusion.astimezone(review.tz).date()
    first, last = f["time"].min().date(), f["time"].max().date()
    shown_from, shown_to = time_range(review)
    count = (last - first).days + 1
    step = -(-count // MAX_DAY_LABELS)  # ceiling division
    for k in range(count):
        day = first + timedelta(days=k)
        midnight = datetime.combine(day, datetime.min.time())  # ward-local, like the points
        start = max(midnight, shown_from)
        end = min(midnight + timedelta(days=1), shown_to)
        layers.day(midnight, f"Day {(day - inf_day).days}" if k % step == 0 else "",
                   start + (end - start) / 2)


def _axes(fig: go.Figure, f: pd.DataFrame) -> None:
    fig.update_yaxes(type="category", categoryorder="array",
                     categoryarray=list(reversed(EVENT_ROWS)), row=ROW[EVENTS], col=1)
    fig.update_yaxes(range=[-0.3, 5.3], dtick=1, row=ROW[GRADES], col=1)
    fig.update_yaxes(type="category", categoryorder="array", tickfont={"size": 10},
                     categoryarray=[SEDATED_TICK, *reversed(CONSCIOUSNESS_TICKS.values())],
                     range=[-0.5, len(CONSCIOUSNESS_TICKS) + 0.5], row=ROW[CONSCIOUSNESS], col=1)
    news = f["news"].dropna()
    fig.update_yaxes(range=[-0.5, max(10.0, float(news.max()) + 1) if len(news) else 10.0],
                     row=ROW[NEWS], col=1)
    fig.update_xaxes(showgrid=True, type="date")  # also when a panel has no points at all
    spo2 = f["spo2"].dropna()
    low = min(88.0, float(spo2.min()) - 2) if len(spo2) else 88.0
    fig.update_yaxes(range=[low, 100.5], row=ROW[SPO2], col=1)  # no 97-99 autoscale
    buttons = [{"count": hours, "label": label, "step": "hour", "stepmode": "backward"}
               for label, hours in QUICK_RANGES] + [{"step": "all", "label": "whole stay"}]
    plot_px = HEIGHT_PX - MARGIN_TOP_PX - 30
    fig.update_xaxes(rangeselector={"buttons": buttons, "yanchor": "bottom",
                                    "y": 1 + RANGE_BUTTONS_SHIFT_PX / plot_px},
                     row=1, col=1)
    for a in fig.layout.annotations:
        if a.text in PANELS:
            a.font.size = TITLE_FONT_PX
    fig.update_layout(height=HEIGHT_PX, margin={"l": 60, "r": 30, "t": MARGIN_TOP_PX, "b": 30},
                      hovermode="closest", legend={"orientation": "h", "y": -0.03},
                      template="plotly_white")
