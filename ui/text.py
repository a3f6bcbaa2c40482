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
from typing import Any

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
