"""The lab CSV format (docs/markers.md "Lab CSV format"): read and check a file of lab results
before anything is stored. Every problem is named (row, column, the value as written and what
is allowed); a file with any problem is refused whole (``services.import_labs``).

One row is one result: ``patient_id``, ``taken_at`` (ISO 8601 with its offset), ``test`` (the
test's key, e.g. ``ferritin``, or one of its LOINC codes, e.g. ``2276-4``), ``value`` (a number
with a point) and ``unit`` (one of the units the analyte table accepts for the test). The
checks of a result are the record's own (``record.checks.lab_problems``); this module adds only
what a file needs: the header, the cells, the time's text, duplicates within the file.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from grading import csvsafe
from grading.fields import PATIENT_ID_MAX_LENGTH
from grading.lab_scores.units import ANALYTES, BY_LOINC
from grading.parse import (
    MAX_CELL_CHARS,
    NUMBER_RE,
    OFFSET_RE,
    TIME_RE,
    YEAR_MAX,
    YEAR_MIN,
    InputError,
    Problem,
    file_problem,
)

from .record.checks import lab_problems

COLUMNS = ("patient_id", "taken_at", "test", "value", "unit")
MAX_BYTES = 1_000_000   # a lab file is a few hundred results; the app's upload limit is 1 MB
MAX_ROWS = 10_000
MAX_PROBLEMS = 200      # more are summarised in one line: the file needs fixing at its source
_CODES = {"unit": "not_allowed", "test": "not_allowed", "value": "hard_limit",
          "taken_at": "future_time"}


@dataclass(frozen=True)
class LabRow:
    row: int                 # 1-based data row (the header is row 0): file line row + 1
    patient_id: str
    taken_at: datetime
    test: str                # the analyte table's key
    value: float             # as written, in ``unit``
    unit: str
    taken_text: str = ""     # the time as written (for a problem found later)


def _problem(row: int, field: str, code: str, message: str, value: str | None) -> Problem:
    return Problem(field, code, message, row=row, value=value)


def _time(text: str) -> tuple[datetime | None, str | None]:
    """An ISO 8601 time with its offset, else why not (in words, naming what is allowed)."""
    allowed = ("a date and time with its offset from UTC, e.g. 2026-03-01T08:30+01:00 or "
               "2026-03-01T07:30Z")
    if not re.match(TIME_RE, text):
        return None, f"not a time: {allowed}"
    if not re.search(OFFSET_RE, text[10:]):
        return None, (f"the time has no offset from UTC, so the moment is not known: {allowed} "
                      "(a laboratory's time without its offset is never guessed)")
    try:
        at = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None, f"not a date and time that exists: {allowed}"
    if not YEAR_MIN <= at.year <= YEAR_MAX:
        return None, f"the year must be {YEAR_MIN} to {YEAR_MAX}"
    return at, None


def _test(text: str) -> str | None:
    if text in ANALYTES:
        return text
    return BY_LOINC.get(text)


def _tests_allowed() -> str:
    return ("test must be one of " + ", ".join(ANALYTES) + " (the test's key), or one of its "
            "LOINC codes (docs/markers.md)")


def read(data: bytes) -> list[LabRow]:
    """The rows of a lab CSV file, checked; else ``InputError`` with every problem."""
    if len(data) > MAX_BYTES:
        raise InputError([file_problem(f"the file has {len(data):,} bytes; a lab file may have "
                                       f"at most {MAX_BYTES:,} (split it)")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError([file_problem(f"bytes that are not UTF-8 text (file line {line}); "
                                       "save the file as UTF-8")]) from None
    if "\x00" in text:
        raise InputError([file_problem("the file holds a NUL character: it is not a text file")])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError([file_problem("the file is empty: a header row naming "
                                       + ", ".join(COLUMNS) + ", then one row per result")])
    body = text.rstrip("\n")
    lines = body.split("\n")
    problems: list[Problem] = []
    for i, line in enumerate(lines[1:], start=1):
        if not line.strip(" \t"):
            problems.append(file_problem("empty line; remove it", row=i,
                                         where=f"row {i} (file line {i + 1})"))
    if problems:
        raise InputError(problems)
    try:
        records = list(csv.reader(io.StringIO(body + "\n"), strict=True))
    except csv.Error as e:
        raise InputError([file_problem(f"not valid CSV: {e}")]) from None
    header = [h.strip(" \t").strip('"') for h in records[0]]
    for h in header:
        if h not in COLUMNS:
            shown = h if len(h) <= 80 and h.isprintable() else repr(h[:80])
            problems.append(Problem(None, "unknown_field", "unknown column; the lab CSV columns "
                                    "are: " + ", ".join(COLUMNS), row=0,
                                    where=f"row 0, column {shown}"))
    for h in sorted({h for h in header if header.count(h) > 1 and h in COLUMNS}):
        problems.append(Problem(h, "repeated_column", "column appears more than once", row=0))
    for h in COLUMNS:
        if h not in header:
            problems.append(Problem(h, "required", "required column is missing", row=0))
    if problems:
        raise InputError(problems)
    rows = records[1:]
    if not rows:
        raise InputError([file_problem("the file has a header but no result rows")])
    if len(rows) > MAX_ROWS:
        raise InputError([file_problem(f"the file has {len(rows):,} rows; a lab file may have "
                                       f"at most {MAX_ROWS:,} (split it)")])
    out: list[LabRow] = []
    seen: dict[tuple[str, str, datetime], int] = {}
    for r, cells in enumerate(rows, start=1):
        if len(cells) != len(header):
            problems.append(file_problem(f"{len(cells)} cells where the header has "
                                         f"{len(header)} columns; a blank cell is written as ,,",
                                         row=r))
            continue
        found = _row(r, dict(zip(header, cells)), problems)
        if found is None:
            continue
        key = (found.patient_id, found.test, found.taken_at)
        if key in seen:
            problems.append(_problem(r, "taken_at", "duplicate_time",
                                     f"a second {ANALYTES[found.test].words} of patient "
                                     f"{found.patient_id} taken at the same time as row "
                                     f"{seen[key]}; one sample has one result (remove one row)",
                                     found.taken_text))
            continue
        seen[key] = r
        out.append(found)
    if problems:
        raise InputError(bounded(problems))
    return out


def bounded(problems: Sequence[Problem]) -> list[Problem]:
    """At most ``MAX_PROBLEMS`` problems, then one line saying how many more."""
    if len(problems) <= MAX_PROBLEMS:
        return list(problems)
    return [*problems[:MAX_PROBLEMS], file_problem(
        f"{len(problems) - MAX_PROBLEMS:,} more problems not listed")]


def _row(r: int, cells: dict[str, str], problems: list[Problem]) -> LabRow | None:
    before = len(problems)
    raw = {k: v for k, v in cells.items()}
    for k, v in raw.items():
        if len(v) > MAX_CELL_CHARS:
            problems.append(_problem(r, k, "too_long", f"a cell may have at most "
                                     f"{MAX_CELL_CHARS} characters (this one has {len(v):,})",
                                     v))
    if len(problems) > before:
        return None
    v = {k: x.strip(" \t") for k, x in raw.items()}
    pid = csvsafe.restore(v["patient_id"])  # undo an export's formula prefix (docs/security.md)
    if not pid:
        problems.append(_problem(r, "patient_id", "required", "the patient id is required",
                                 raw["patient_id"]))
    elif len(pid) > PATIENT_ID_MAX_LENGTH:
        problems.append(_problem(r, "patient_id", "too_long", "the ward patient id may have at "
                                 f"most {PATIENT_ID_MAX_LENGTH} characters (this one has "
                                 f"{len(pid)})", raw["patient_id"]))
    at, why = (None, "the time the sample was taken is required") if not v["taken_at"] \
        else _time(v["taken_at"])
    if why:
        problems.append(_problem(r, "taken_at", "required" if not v["taken_at"]
                                 else "hard_limit" if "year" in why else "not_a_time", why,
                                 raw["taken_at"]))
    test = _test(v["test"])
    if test is None:
        problems.append(_problem(r, "test", "required" if not v["test"] else "not_allowed",
                                 _tests_allowed(), raw["test"]))
    value: float | None = None
    if not v["value"]:
        problems.append(_problem(r, "value", "required", "the result is required",
                                 raw["value"]))
    elif not NUMBER_RE.fullmatch(v["value"]) or not math.isfinite(float(v["value"])):
        problems.append(_problem(r, "value", "not_a_number", "not a number: write the result "
                                 "as a number with a point, e.g. 1250 or 0.8 (no thousands "
                                 "separator, no < or >)", raw["value"]))
    else:
        value = float(v["value"])
    if test is None:
        return None
    unit = v["unit"]
    for field, message in lab_problems(test, 0.0 if value is None else value, unit,
                                       at if at is not None else datetime.now().astimezone()):
        if (field == "value" and value is None) or (field == "taken_at" and at is None):
            continue
        problems.append(_problem(r, field, _CODES[field], message, raw[field]))
    if len(problems) > before:
        return None
    assert at is not None and value is not None
    return LabRow(r, pid, at, test, value, unit, raw["taken_at"])
