"""Text a user typed, shown literally (docs/security.md, "Untrusted text and exports").

Streamlit renders Markdown in st.markdown, st.caption, alerts, st.table cells and widget labels;
plotly renders a subset of HTML in hover and annotation text. A name, a note or a reason must
show as typed there: no image loaded from elsewhere (``![](http://...)``), no link, no HTML
tag, no coloured text (``:red[...]``), no formula (``$...$``), no heading or list. User text
never goes into ``unsafe_allow_html`` at all.

- ``md(text)``: for any Markdown context. Every character that can start Markdown is
  backslash-escaped (CommonMark shows an escaped punctuation character as itself).
- ``plot(text)``: for plotly text (hover, legend names, annotations): HTML-escaped.
- ``html.escape`` (quote=True) for our own HTML files (the handover).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from grading.words import LAB_DECIMALS, lab_value, ratio  # noqa: F401 (re-exported)

# Markdown-active anywhere in a line: escapes, code, emphasis, links and images, HTML and
# entities, strikethrough, tables, LaTeX, Streamlit directives (:red[...]), e-mail autolinks
_ANYWHERE = re.compile(r"([\\`*_\[\]<>!&~|$:@{}])")
# active at the start of a line only: headings, lists, setext underlines, ordered lists
_LINE_START = re.compile(r"^([ \t]*)([#+\-=])", re.MULTILINE)
_ORDERED = re.compile(r"^([ \t]*\d+)([.)])", re.MULTILINE)
# GFM turns http://, https://, www. and e-mail addresses into links after parsing, in the text
# itself, where a backslash escape is gone: an invisible WORD JOINER breaks the pattern
JOINER = "\u2060"
_SCHEME = re.compile(r"(https?)(?=\\:)", re.IGNORECASE)  # after escaping: http\://
_WWW = re.compile(r"(www)\.", re.IGNORECASE)


def md(value: Any) -> str:
    """``value`` as text that Markdown shows exactly as typed (None shows as ''): every
    Markdown character backslash-escaped, and a WORD JOINER (invisible) before the ``:`` of
    ``http://``, the ``.`` of ``www.`` and an ``@`` so that no link is made of them."""
    text = "" if value is None else str(value)
    text = _ANYWHERE.sub(r"\\\1", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _SCHEME.sub(lambda m: m[1] + JOINER, text)
    text = _WWW.sub(lambda m: m[1] + JOINER + "\\.", text)
    return text.replace("\\@", JOINER + "\\@")


def plot(value: Any) -> str:
    """``value`` for plotly text: tags and entities shown as typed."""
    return html.escape("" if value is None else str(value), quote=False)


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_JOINED = re.compile(JOINER + r"(?=\\[:.@])")


def shown(markdown_source: str) -> str:
    """The text a reader takes from a source ``md`` made: escapes and the joiners it put in
    taken out (tests use it to check that user text reaches the page whole)."""
    return _ESCAPED.sub(r"\1", _JOINED.sub("", markdown_source))


_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_part(value: Any, most: int = 40, empty: str = "file") -> str:
    """User text (a learner's name, a patient id) as part of a download's file name: ASCII
    letters, digits, ``.``, ``_`` and ``-`` only (no path separator, quote, control or
    formula character), every other run of characters one ``_``, at most ``most`` long."""
    part = _FILE_UNSAFE.sub("_", str(value)).strip("._-")[:most].strip("._-")
    return part or empty


# ------------------------------------------------------------------------ clinical words
# Issue 18.8: what a clinician reads shows times as the ward clock does, lab values at the
# precision the lab reports, ages in whole years, and never an ISO timestamp.
CLOCK = "%d %b %H:%M"  # "05 Dec 14:30": the one format of a time on a page


def clock(at: datetime | None, tz: Any, fmt: str = CLOCK) -> str:
    """``at`` in the ward's zone as the ward reads it ('—' when there is none)."""
    return "—" if at is None else at.astimezone(tz).strftime(fmt)


# an ISO 8601 time inside a sentence (the grading command's findings carry them)
_ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?"
                       r"(?:Z|[+-]\d\d:?\d\d)?")


def clock_times(text: str, tz: Any) -> str:
    """``text`` with every ISO time in it shown by ``clock`` (a time without an offset is
    read in the ward's zone)."""
    def one(m: re.Match[str]) -> str:
        try:
            at = datetime.fromisoformat(m[0].replace("Z", "+00:00"))
        except ValueError:
            return m[0]
        return clock(at if at.tzinfo else at.replace(tzinfo=tz), tz)
    return _ISO_TIME.sub(one, text)


# lab values and computed ratios: one formatter, in grading/words.py (the lab scores' own
# sentences use it too)
def whole_years(age: float | None, adjective: bool = False) -> str:
    """An age in completed years: 11.9 is "11 years" ("11-year-old" as an adjective); under
    one year in completed months."""
    if age is None or age != age:
        return "age not recorded"
    n, unit = (int(age * 12), "month") if age < 1 else (int(age), "year")
    if adjective:
        return f"{n}-{unit}-old"
    return f"{n} {unit}{'s' if n != 1 else ''}"
