"""The markers panel (issue 20 point 2; docs/markers.md, decisions M4, M5): the patient's
markers on the same time axis as the grades - a plain function, tested without a browser.

One figure, stacked rows sharing one time axis whose range is the timeline's own
(``charts.time_range``): the CRS and ICANS grades (left out in a quiz, where they are the
answer), the anti-cytokine and corticosteroid doses by name, then one row per marker chosen -
its results as a line, the reference range for the patient's age shaded, a log axis for the
markers whose values span orders of magnitude, results outside the range in a stronger colour,
and, on IL-6, a note where a result follows tocilizumab. The same builder draws the teaching
replay's lab chart (results up to the step only: the replay's record is cut there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring import marker_panel as mp
from monitoring.review import Review
from monitoring.ward import day_post_infusion

from .charts import MAX_DAY_LABELS, QUICK_RANGES, TIME_TICKS, _Layers, time_range

GRADES_TITLE = "CRS / ICANS grade (ASTCT 2019)"
DOSES_TITLE = "Anti-cytokine and corticosteroid doses"
GRADES_PX, DOSE_ROW_PX, MARKER_PX, GAP_PX = 110, 26, 190, 52
MARGIN_TOP_PX, MARGIN_BOTTOM_PX = 96, 100
LEGEND_BELOW_PX = 58  # under the two-line time labels
DAY_LABEL_SHIFT_PX, RANGE_BUTTONS_SHIFT_PX = 22, 46
# Okabe-Ito: a line colour for each marker row in turn; out-of-range results in vermillion
LINE_COLOURS = ("#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
OUTSIDE_COLOUR = "#D55E00"
RANGE_FILL = "rgba(0, 158, 115, 0.14)"
DOSE_COLOURS = {"tocilizumab": "#0072B2", "anakinra": "#CC79A7", "siltuximab": "#E69F00",
                "other anti-cytokine": "#999999", "corticosteroid": "#009E73"}
DOSE_SYMBOLS = {"tocilizumab": "diamond", "anakinra": "diamond-open", "siltuximab": "square-open",
                "other anti-cytokine": "circle-open", "corticosteroid": "square"}
WHEN = "%d/%m/%Y %H:%M"  # the hover's date and time (issue 20: DD/MM/YYYY HH:MM)


def courses(review: Review) -> dict[str, mp.MarkerCourse]:
    """The markers with results in the review's record (a replay step's: up to the step)."""
    return mp.marker_courses(review.labs, review.patient, review.rows,
                             review.administrations, review.tz)


def choices(review: Review) -> dict[str, str]:
    """The markers that can be shown (those with results): key -> how a clinician names it."""
    return {t: c.words for t, c in courses(review).items()}


def _local(at: datetime, tz: Any) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)  # ward-local, as the timeline draws times


def _when(at: datetime, day: int | None, tz: Any) -> str:
    words = mp.day_words(day)
    return at.astimezone(tz).strftime(WHEN) + (f" · {words}" if words else "")


def _title(c: mp.MarkerCourse) -> str:
    """'Ferritin µg/L': the marker and the unit its values are shown in (a log axis says so on
    the axis)."""
    return f"{c.words[:1].upper()}{c.words[1:]} {c.unit}"


def _y_range(c: mp.MarkerCourse) -> tuple[float, float]:
    """The row's axis range: every result and the reference range in view (log10 bounds on a
    log axis)."""
    values = [r.value for r in c.results]
    edges = [x for r in c.results for x in (r.low, r.high) if x is not None]
    if c.log_scale:
        positive = [v for v in values + edges if v > 0] or [1.0]
        return math.log10(min(positive) / 2), math.log10(max(positive) * 2)
    top = max(values + edges + [0.0])
    return 0.0, (top * 1.15) or 1.0


def _hover(c: mp.MarkerCourse, r: mp.MarkerResult, tz: Any) -> str:
    text = f"{c.words} {c.value_text(r.value)} {c.unit}<br>{_when(r.at, r.day, tz)}"
    if r.low is not None or r.high is not None:
        lo = "" if r.low is None else f"{r.low:,.4g}"
        hi = "" if r.high is None else f"{r.high:,.4g}"
        band = (f"{lo}–{hi}" if lo and hi else f"up to {hi}" if hi else f"from {lo}")
        text += (f"<br>{r.outside} the reference range ({band} {c.unit})" if r.outside
                 else f"<br>within the reference range ({band} {c.unit})")
    if r.after_tocilizumab is not None:
        text += (f"<br>taken after tocilizumab ({r.after_tocilizumab.astimezone(tz):%d/%m %H:%M})"
                 ": a rise is expected, not by itself failure")
    return text


def _range_segments(c: mp.MarkerCourse, start: datetime, end: datetime, tz: Any
                    ) -> list[tuple[datetime, datetime, float | None, float | None]]:
    """The reference range over the time axis, in pieces where it changes (a patient turning
    18 during the stay gets the adult range from that result on, decision M2)."""
    pieces: list[tuple[datetime, datetime, float | None, float | None]] = []
    for r in c.results:
        if pieces and pieces[-1][2:] == (r.low, r.high):
            continue
        at = _local(r.at, tz)
        if pieces:
            pieces[-1] = (pieces[-1][0], at, *pieces[-1][2:])
        pieces.append((start if not pieces else at, end, r.low, r.high))
    return pieces


def markers_figure(review: Review, tests: Sequence[str], grades: bool = True) -> go.Figure:
    """The markers panel of ``review`` for the markers ``tests`` (those without results are
    left out), on the timeline's time range. ``grades`` False leaves the grade row out (a quiz
    question, where the grade is the answer)."""
    tz = review.tz
    all_courses = courses(review)
    shown = [all_courses[t] for t in tests if t in all_courses]
    given = mp.doses(review.rows, review.administrations)
    dose_rows = [r for r in mp.DOSE_ROWS if any(d.row == r for d in given)]
    rows: list[tuple[str, int]] = []  # (title, height px)
    if grades:
        rows.append((GRADES_TITLE, GRADES_PX))
    if dose_rows:
        rows.append((DOSES_TITLE, 40 + DOSE_ROW_PX * len(dose_rows)))
    rows += [(_title(c), MARKER_PX) for c in shown]
    if not rows:
        return go.Figure()
    plot_px = sum(h for _, h in rows) + GAP_PX * (len(rows) - 1)
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True,
                        vertical_spacing=GAP_PX / plot_px if len(rows) > 1 else 0,
                        row_heights=[h / plot_px for _, h in rows],
                        subplot_titles=[t for t, _ in rows])
    start, end = time_range(review)
    layers = _Layers()
    row = 1
    if grades:
        _grade_row(fig, review, row)
        row += 1
    if dose_rows:
        _dose_row(fig, given, dose_rows, row, tz)
        row += 1
    for k, c in enumerate(shown):
        _marker_row(fig, layers, c, row, LINE_COLOURS[k % len(LINE_COLOURS)], start, end, tz)
        row += 1
    # every dose a faint line down through the marker rows, in its drug's colour
    first_marker = row - len(shown)
    for d in given:
        for r_ in range(first_marker, row):
            layers.shapes.append({
                "type": "line", "xref": f"x{'' if r_ == 1 else r_}", "x0": _local(d.at, tz),
                "x1": _local(d.at, tz), "yref": f"y{'' if r_ == 1 else r_} domain", "y0": 0,
                "y1": 1, "layer": "below", "opacity": 0.55 if d.row != "corticosteroid" else 0.3,
                "line": {"color": DOSE_COLOURS[d.row], "width": 1.5, "dash": "dot"}})
    _day_lines(layers, review, start, end)
    layers.apply(fig)
    for a in fig.layout.annotations:
        if a.text in {t for t, _ in rows}:
            a.font.size = 12
    fig.update_xaxes(type="date", showgrid=True, range=[start, end],
                     tickformat=TIME_TICKS)
    buttons = [{"count": hours, "label": label, "step": "hour", "stepmode": "backward"}
               for label, hours in QUICK_RANGES] + [{"step": "all", "label": "whole stay"}]
    fig.update_xaxes(rangeselector={"buttons": buttons, "yanchor": "bottom",
                                    "y": 1 + RANGE_BUTTONS_SHIFT_PX / plot_px}, row=1, col=1)
    fig.update_layout(height=plot_px + MARGIN_TOP_PX + MARGIN_BOTTOM_PX, hovermode="closest",
                      margin={"l": 60, "r": 30, "t": MARGIN_TOP_PX, "b": MARGIN_BOTTOM_PX},
                      legend={"orientation": "h", "y": -LEGEND_BELOW_PX / plot_px,
                              "yanchor": "top", "x": 0},
                      template="plotly_white")
    return fig


def _grade_row(fig: go.Figure, review: Review, row: int) -> None:
    tz = review.tz
    infusion = review.patient.get("infusion_time")
    for name, colour, attr in (("CRS grade", "#D55E00", "crs"),
                               ("ICANS grade", "#0072B2", "icans")):
        x, y, text = [], [], []
        for r in review.results:
            g = getattr(r, attr).grade
            x.append(_local(r.time, tz))
            y.append(g)
            day = day_post_infusion(infusion, r.time, tz)
            text.append(f"{name} {'not evaluable' if g is None else g}<br>"
                        f"{_when(r.time, day, tz)}")
        fig.add_trace(go.Scatter(x=x, y=y, text=text, name=name, mode="lines+markers",
                                 line_shape="hv", connectgaps=False, marker={"size": 4},
                                 line={"color": colour}, hovertemplate="%{text}<extra></extra>"),
                      row=row, col=1)
    fig.update_yaxes(range=[-0.3, 4.3], dtick=1, row=row, col=1)


def _dose_row(fig: go.Figure, given: Sequence[mp.Dose], dose_rows: Sequence[str], row: int,
              tz: Any) -> None:
    for name in dose_rows:
        mine = [d for d in given if d.row == name]
        fig.add_trace(go.Scatter(
            x=[_local(d.at, tz) for d in mine], y=[name] * len(mine), mode="markers",
            name=name, showlegend=False,
            marker={"symbol": DOSE_SYMBOLS[name], "size": 11, "color": DOSE_COLOURS[name],
                    "line": {"width": 1.5, "color": DOSE_COLOURS[name]}},
            text=[f"{d.words}<br>{d.at.astimezone(tz).strftime(WHEN)}"
                  + ("<br>charted as given before this assessment" if d.charted_only else "")
                  for d in mine],
            hovertemplate="%{text}<extra></extra>"), row=row, col=1)
    fig.update_yaxes(type="category", categoryorder="array",
                     categoryarray=list(reversed(dose_rows)), tickfont={"size": 11},
                     range=[-0.6, len(dose_rows) - 0.4], row=row, col=1)


def _marker_row(fig: go.Figure, layers: _Layers, c: mp.MarkerCourse, row: int, colour: str,
                start: datetime, end: datetime, tz: Any) -> None:
    low, high = _y_range(c)
    bottom, top = (10 ** low, 10 ** high) if c.log_scale else (low, high)
    for x0, x1, lo, hi in _range_segments(c, start, end, tz):
        if lo is None and hi is None:
            continue
        y0, y1 = (bottom if lo is None or (lo <= 0 and c.log_scale) else lo,
                  top if hi is None else hi)
        fig.add_trace(go.Scatter(
            x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], mode="lines", fill="toself",
            fillcolor=RANGE_FILL, line={"width": 0}, hoverinfo="skip", showlegend=False,
            name=f"{c.words} reference range"), row=row, col=1)
    # a result of 0 cannot sit on a log axis: drawn at its foot, its hover says the value
    y = [max(r.value, bottom * 1.1) if c.log_scale else r.value for r in c.results]
    fig.add_trace(go.Scatter(
        x=[_local(r.at, tz) for r in c.results], y=y, name=c.words, mode="lines+markers",
        showlegend=False, line={"color": colour, "width": 2},
        marker={"size": [10 if r.outside else 7 for r in c.results],
                "color": [OUTSIDE_COLOUR if r.outside else colour for r in c.results],
                "line": {"width": 1, "color": "#FFFFFF"}},
        text=[_hover(c, r, tz) for r in c.results], hovertemplate="%{text}<extra></extra>"),
        row=row, col=1)
    if c.log_scale:  # a tick at each power of ten, written out: 10, 100, 1,000, 10,000
        powers = [10.0 ** k for k in range(math.ceil(low), math.floor(high) + 1)]
        if len(powers) < 3:  # a narrow range: 1, 2, 5, 10, 20, 50 ... as well
            powers = [m * 10.0 ** k for k in range(math.floor(low), math.ceil(high) + 1)
                      for m in (1, 2, 5) if low <= math.log10(m * 10.0 ** k) <= high]
        fig.update_yaxes(type="log", range=[low, high], tickvals=powers,
                         ticktext=[f"{v:,.10g}" for v in powers],
                         title={"text": "log scale", "font": {"size": 10}}, row=row, col=1)
    else:
        fig.update_yaxes(type="linear", range=[low, high], tickformat=",.3~g", row=row, col=1)
    after = next((r for r in c.results if r.after_tocilizumab is not None), None)
    if after is not None:  # decision M4: say why IL-6 rises after tocilizumab
        x = _local(after.at, tz)
        right = (x - start) > (end - start) / 2
        yv = max(after.value, bottom * 1.1)
        xa, ya = f"x{'' if row == 1 else row}", f"y{'' if row == 1 else row}"
        # the words in the row's upper corner away from the point (IL-6 rises to the right:
        # the upper left is most often empty), an arrow from them to the first such result
        layers.notes.append({
            "xref": xa, "yref": ya, "x": x, "y": math.log10(yv) if c.log_scale else yv,
            "axref": xa, "ayref": ya, "ax": start + (end - start) * (0.03 if right else 0.97),
            "ay": high - (high - low) * 0.03, "xanchor": "left" if right else "right",
            "yanchor": "top",
            "text": mp.IL6_TOCILIZUMAB_SHORT.replace(": ", ":<br>"), "showarrow": True,
            "arrowhead": 2, "arrowcolor": "#0072B2", "font": {"size": 11}, "align": "left",
            "bgcolor": "rgba(255,255,255,0.9)", "bordercolor": "#0072B2"})


def _day_lines(layers: _Layers, review: Review, start: datetime, end: datetime) -> None:
    """Midnight lines with 'Day N' above the first row, as the timeline draws them."""
    infusion = review.patient.get("infusion_time")
    if infusion is None:
        return
    inf_day = infusion.astimezone(review.tz).date()
    first = start.date()
    count = (end.date() - first).days + 1
    step = -(-count // MAX_DAY_LABELS)  # ceiling division: at most MAX_DAY_LABELS labels
    for k in range(count):
        day = first + timedelta(days=k)
        midnight = datetime.combine(day, datetime.min.time())
        if midnight >= start:
            layers.shapes.append({"type": "line", "xref": "x", "x0": midnight, "x1": midnight,
                                  "yref": "paper", "y0": 0, "y1": 1,
                                  "line": {"color": "#BBBBBB", "width": 1, "dash": "dot"}})
        if k % step == 0:  # over the middle of the part of the day shown (as the timeline)
            shown = max(midnight, start)
            middle = shown + (min(midnight + timedelta(days=1), end) - shown) / 2
            layers.notes.append({"xref": "x", "x": middle, "yref": "paper", "y": 1.0,
                                 "yshift": DAY_LABEL_SHIFT_PX,
                                 "text": f"Day {(day - inf_day).days}", "showarrow": False,
                                 "yanchor": "bottom", "font": {"size": 10}})


def notes(review: Review, tests: Sequence[str]) -> list[str]:
    """The caption lines under the panel: what the shading means, and - when an IL-6 shown
    follows a tocilizumab dose - why IL-6 rises after it (decision M4)."""
    out = [mp.RANGE_NOTE]
    if "il6" in tests and mp.il6_after_tocilizumab(courses(review)):
        out.append(mp.IL6_TOCILIZUMAB_NOTE)
    return out
