"""Formula-safe CSV cells (OWASP, "CSV Injection"): every CSV file we write goes through here.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (``=HYPERLINK(...)`` as a patient id, a learner's name, a reason),
also after leading spaces (`` =1+1``), and some read the full-width forms ``＝`` ``＋`` ``－``
``＠`` (U+FF1D, U+FF0B, U+FF0D, U+FF20, typed with an East Asian keyboard) as the same.
On export such a text cell gets a leading single quote ``'`` (the spreadsheet then shows it as
text) and is written in double quotes. A number stays a number: ``-3.5`` or a day ``-1`` is
written as it is.

The rule is reversible, so our own files import back to the same record (docs/security.md,
"Untrusted text and exports"): a cell whose first character after its leading quotes (and then
any leading spaces) is one of those characters gets one more ``'`` on export (``=x`` -> ``'=x``,
``'=x`` -> ``''=x``, `` =x`` -> ``' =x``), and the importer takes one off (``restore``). Every
other cell is left exactly as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
QUOTE = "'"
SPACES = " \u00a0\u3000"  # a space, a no-break space, an ideographic (full-width) space
# a plain decimal number (what our numeric columns hold): never a formula, never prefixed
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _formula_like(text: str) -> bool:
    """Starts with a formula character, after any number of leading single quotes and then
    any leading spaces."""
    first = text.lstrip(QUOTE).lstrip(SPACES)[:1]
    return first != "" and first in FORMULA_STARTS


def needs_prefix(value: Any) -> bool:
    """True for a text cell a spreadsheet could run (or one already carrying our prefix)."""
    if not isinstance(value, str) or not _formula_like(value):
        return False
    return _NUMBER.fullmatch(value) is None


def neutralise(value: Any) -> Any:
    """The cell as it is written: ``'`` before a formula-like text cell, else unchanged."""
    return QUOTE + value if needs_prefix(value) else value


def restore(text: str) -> str:
    """The cell as it was before ``neutralise`` (the importer's half of the rule)."""
    if text.startswith(QUOTE) and needs_prefix(text):
        return text[1:]
    return text


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _special(cell: Any) -> bool:
    """Written by hand, quoted: a neutralised cell, or one holding a carriage return (which
    ``csv.writer`` leaves unquoted with a ``"\\n"`` line end, splitting the row on reading)."""
    return needs_prefix(cell) or (isinstance(cell, str) and "\r" in cell)


# in a row's text cells, each after a \0: a CR anywhere, or a formula start after quotes, spaces
_MAYBE = re.compile("\r|\0['" + SPACES + "]*[=+\\-@\t\uff1d\uff0b\uff0d\uff20]")


class SafeWriter:
    """``csv.writer`` (``lineterminator="\\n"``) that neutralises every cell; a neutralised
    cell is always quoted. Rows without such a cell are written by ``csv.writer`` itself."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._plain = csv.writer(out, lineterminator="\n")
        self._one = io.StringIO()
        self._cell = csv.writer(self._one, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        cells = list(row)
        # one search per row finds every row that may need care (a few false alarms, e.g. a
        # number -1 as text, are sorted out by _special): most rows go straight to csv.writer
        if not _MAYBE.search("\0" + "\0".join([c for c in cells if isinstance(c, str)])) \
                or not any(map(_special, cells)):
            self._plain.writerow(cells)
            return
        self._out.write(",".join(_quoted(neutralise(c)) if _special(c) else self._field(c)
                                 for c in cells) + "\n")

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)

    def _field(self, value: Any) -> str:
        """One cell exactly as ``csv.writer`` writes it (its quoting when needed)."""
        self._one.seek(0)
        self._one.truncate()
        self._cell.writerow([value, ""])  # two cells: a lone empty cell would be quoted
        return self._one.getvalue()[:-2]  # without the second cell's "," and the "\n"


def writer(out: TextIO) -> SafeWriter:
    return SafeWriter(out)
