"""Read and validate canonical assessment rows (design.md) into typed columns.

Input is text (a CSV file, or rows of strings from a form). A clean CSV file is converted by
Arrow as it is read (``TYPED_READ``) and checked on whole columns. Otherwise, and for form
rows, each column is read as text and parsed through its distinct values (dictionary encoding),
so a million-row file with a few hundred distinct temperatures costs a few hundred conversions,
and every bad cell is reported by row, quoted as written.

Typed columns (``Assessments.frame``):
- ``patient_id`` str; ``time`` / ``infusion_time`` datetime64[ns, UTC] (NaT = blank)
- number and integer fields: float64, NaN = blank (integers are checked to be whole)
- boolean fields: int8, -1 = blank, 0 = false, 1 = true
- choice fields: int8 index into ``Field.values``, -1 = blank
- choices fields: int16 bit mask over ``Field.values``, -1 = blank, 0 = the empty word ('none')
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import csvsafe
from .arrow_csv import (  # noqa: F401 (TYPED_READ: the fast read's types, patched by tests)
    FALSE_WORDS,
    HEAD_BYTES,
    LONE_CR,
    TRUE_WORDS,
    TYPED_READ,
    EarlyRead,
    read_table,
)
from .fields import (
    BOOLEAN_WORDS,
    CHILD_SOFT_MAX,
    COLUMNS,
    DEVICE_FLOW_SOFT_LIMITS,
    FIELD_BY_NAME,
    FIELDS,
    ICE_ITEMS,
    PATIENT_ID_MAX_LENGTH,
    Field,
    code_of,
)
from .scales.checks import check as _scale_input_checks
from .sequence import NO_ROW, PatientOrder, parallel_workers

NAT = np.iinfo(np.int64).min
NUMBER_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
TIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
OFFSET_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"
# 2026-03-01T14:05 and 2026-03-01T14:05:30 (or a space for the T): the plain local forms
PLAIN_TIME_LENGTHS = (16, 19)
# a ward record's times: CAR-T began after 2000; a year past 2199 is a typing error (decision V4c)
YEAR_MIN, YEAR_MAX = 2000, 2199
BLANKS = " \t"  # the only characters trimmed around a value; any other is an error (V4d)
# Bounds on what a file may hold, so a malformed file is refused quickly and never blows up:
# no canonical cell is longer than a few hundred characters (the longest is a list of every
# vasoactive agent), and a header names each canonical column at most once.
MAX_CELL_CHARS = 1000
MAX_COLUMNS = 500
SHOWN_VALUE_CHARS = 80  # a longer value is shortened in an error message


# What a problem is, as a stable machine code (``Problem.code``): a form marks the field from
# ``Problem.field`` and may word a code its own way; nothing ever parses ``message``.
PROBLEM_CODES: dict[str, str] = {
    "required": "a required value, column or field is missing",
    "unknown_field": "a column or field that is not in the canonical format",
    "repeated_column": "a column named twice in the header",
    "not_a_number": "a number field holds something that is not a number",
    "not_whole": "an integer field holds a number with a fraction",
    "hard_limit": "outside the field's hard (reject) limits, or the years 2000 to 2199",
    "not_allowed": "a word that is not among the field's allowed values (choice, yes/no, list, "
                   "patient id characters, time zone)",
    "not_a_time": "not a date and time in an allowed form",
    "clock_change": "a local time the ward's clock change skips or repeats",
    "too_long": "text longer than its limit",
    "incomplete": "a value that needs its partners on the same row (all five ICE items, both "
                  "blood pressures)",
    "cross_field": "values that contradict each other on one row or across a patient's rows",
    "duplicate_time": "a second assessment of one patient at one time",
    "after_death": "an assessment after the row recording the patient's death",
    "future_time": "an assessment time in the future",
    "too_old": "a bedside assessment back-dated further than the form allows",
    "file_format": "the file itself: encoding, header line, cells per row, empty lines, no rows",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, as an object (design.md: problems travel as objects).

    ``str(problem)`` is the line ``python -m grading`` prints: the row, the column and the value
    as written, then ``message``. A form marks ``field`` and shows ``words`` (or ``message``).
    """

    field: str | None        # the canonical column it is about; None: the row or the file
    code: str                # one of PROBLEM_CODES
    message: str             # what is wrong and what is allowed, in plain words
    row: int | None = None   # 1-based data row (the header is row 0); None: not one row
    value: str | None = None  # the cell as written
    where: str | None = None  # the place as the command line names it, when that is not
    #                           "row N, column X" (an unknown column, a file line)
    words: str | None = None  # the message for a one-row form where ``message`` names other
    #                           columns or rows; None: ``message`` reads well on a form

    def __post_init__(self) -> None:
        assert self.code in PROBLEM_CODES, self.code

    @property
    def shown(self) -> str:
        """The message for a person at a form (no column names, no row numbers)."""
        return self.message if self.words is None else self.words

    def __str__(self) -> str:
        if self.where is not None:
            return f"{self.where}: {self.message}"
        where = [] if self.row is None else [f"row {self.row}"]
        if self.field:
            where.append(f"column {_shortened(self.field)}")
        if self.value is not None:
            shown = self.value if self.value.isprintable() else repr(self.value)[1:-1]
            where.append(f"value '{shown}'" if len(shown) <= SHOWN_VALUE_CHARS  # escaped
                         else f"value '{shown[:SHOWN_VALUE_CHARS]}…' ({len(self.value):,} "
                         "characters, shortened here)")  # a huge cell is never printed whole
        return (", ".join(where) + ": " if where else "") + self.message


class InputError(Exception):
    """Input that cannot be graded. ``problems`` holds one ``Problem`` each; ``lines`` the
    same as text, one line each, as the command line prints them."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: list[Problem] = list(problems)
        assert all(isinstance(p, Problem) for p in self.problems), "problems are objects"
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def file_problem(message: str, where: str | None = None, row: int | None = None,
                 field: str | None = None) -> Problem:
    """A problem with the file or the command rather than one cell."""
    return Problem(field, "file_format", message, row=row, where=where)


def _shortened(text: str) -> str:
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= SHOWN_VALUE_CHARS else f"{shown[:SHOWN_VALUE_CHARS]}…"


@dataclass
class Assessments:
    """Validated assessments in input order.

    ``columns`` holds the typed arrays described in this module's docstring, except that
    ``patient_id`` is an int32 code into ``patients`` and times are int64 ns since the epoch
    (UTC; ``NAT`` = blank). ``frame`` gives the same as a pandas DataFrame.
    """

    columns: dict[str, np.ndarray]
    patients: list[str]
    tz: ZoneInfo
    order: PatientOrder
    soft_flags: dict[int, list[str]] = field(default_factory=dict)  # row position -> messages
    _frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.columns["patient_id"])

    def patient_of(self, row: int) -> str:
        return self.patients[int(self.columns["patient_id"][row])]

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = _to_frame(self.columns, self.patients)
        return self._frame


def ward_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError([Problem(None, "not_allowed", f"'{name}' is not a known time zone "
                                  "(e.g. UTC, Europe/London)", where="--tz")]) from None


# ---------------------------------------------------------------------------- reading text
def read_csv(source: str | Path | bytes, tz: str | ZoneInfo = "UTC",
             early: EarlyRead | None = None) -> Assessments:
    """Parse and validate a canonical CSV file. Raises ``InputError`` listing every problem.

    A clean file is converted by Arrow as it is read (``TYPED_READ``), straight from the file
    (or taken from ``early``, the same read started before the heavy imports, when it read
    this very file: ``arrow_csv``). When that fails or any cell is invalid, the file is read
    again all as text and checked value by value (``_read_as_text``), so every problem is named
    with the cell as written: the typed read never decides an error.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ward_zone(tz)
    if isinstance(source, bytes):
        head, tail, size = source[:HEAD_BYTES], source[-3:], len(source)
    else:
        with Path(source).open("rb") as f:  # a missing file or a folder raises here
            head = f.read(HEAD_BYTES)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 3))
            tail = f.read()
    if LONE_CR.search(head[:-1]):  # CR-only line endings: read as text, lines made LF
        return _read_as_text(source if isinstance(source, bytes) else Path(source).read_bytes(),
                             zone)
    if _plain_layout(head, tail):
        try:
            _check_utf8(head)
            header = _read_header(head)
            table = (None if early is None or isinstance(source, bytes)
                     else early.take(source, head, size, header))
            if table is None:
                stream = (pa.BufferReader(pa.py_buffer(source)) if isinstance(source, bytes)
                          else pa.OSFile(str(source)))
                return from_columns(_read_table(stream, header, typed=True), zone)
            return from_columns(_without_formula_prefix(table), zone)
        except (pa.ArrowInvalid, InputError):
            pass  # some cell is not as the fast read expects: the text read names it
    return _read_as_text(source if isinstance(source, bytes) else Path(source).read_bytes(),
                         zone)


def _plain_layout(head: bytes, tail: bytes) -> bool:
    """A whole header line, and no empty line at the end (both the text read deals with)."""
    last = tail.removesuffix(b"\n").removesuffix(b"\r")
    return b"\n" in head and not last.endswith((b"\n", b"\r"))


def _read_as_text(data: bytes, zone: ZoneInfo) -> Assessments:
    if not data.strip():
        raise InputError([file_problem("the file is empty: a header row with at least "
                                       "patient_id and time, then one row per assessment, is "
                                       "expected")])
    if b"\r" in data:  # CR LF and CR alone (old Mac files) both end a line, as for Arrow
        data = LONE_CR.sub(b"\n", data.replace(b"\r\n", b"\n"))
    _check_utf8(data[:HEAD_BYTES])
    header = _read_header(data)
    _check_blank_lines(data)
    data = data.rstrip(b"\r\n") + b"\n"  # empty lines at the end are harmless
    try:
        table = _read_table(pa.BufferReader(pa.py_buffer(data)), header, typed=False)
    except pa.ArrowInvalid as e:
        _check_utf8(data)
        raise InputError(_shape_problems(data, len(header))
                         or [file_problem(f"the file is not valid CSV: {_arrow_message(e)}")]
                         ) from None
    _check_cell_lengths(table)
    return from_columns(table, zone)


def _read_table(stream: pa.NativeFile, header: list[str],
                typed: bool) -> dict[str, pa.ChunkedArray]:
    return _without_formula_prefix(read_table(stream, header, typed))


def _without_formula_prefix(cols: dict[str, pa.ChunkedArray]) -> dict[str, pa.ChunkedArray]:
    """Undo the ``'`` our CSV exports put before a patient id a spreadsheet could run as a
    formula (``csvsafe``; docs/security.md): ``'=X`` reads as ``=X``. Only the text column."""
    col = cols.get("patient_id")
    if col is None:
        return cols
    texts = ([c.dictionary for c in col.chunks] if pa.types.is_dictionary(col.type)
             else col.chunks)  # the typed read gives a dictionary: check its few values
    if not any(pc.any(pc.starts_with(t, csvsafe.QUOTE)).as_py() for t in texts):
        return cols
    ids = [None if v is None else csvsafe.restore(v) for v in col.to_pylist()]
    return cols | {"patient_id": pa.chunked_array([pa.array(ids, pa.string())])}


def _check_blank_lines(data: bytes) -> None:
    """An empty line would shift every later row number: name it instead of skipping it.
    Empty lines at the very end of the file are harmless and allowed."""
    body = data.rstrip(b"\r\n")
    problems = []
    for m in re.finditer(rb"\n[ \t\r]*(?=\n)", body):
        line = body[: m.start()].count(b"\n") + 2
        problems.append(file_problem("empty line; remove it", row=line - 1,
                                     where=f"row {line - 1} (file line {line})"))
    if problems:
        raise InputError(problems)


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 4 and len(data) == HEAD_BYTES:
            return  # a character cut by the sample boundary
        line = data[: e.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        column = data[start:e.start].count(b",")
        end = data.find(b"\n")
        header = data[: end if end >= 0 else len(data)].decode("utf-8", "replace").split(",")
        name = header[column].strip().strip('"') if column < len(header) else f"#{column + 1}"
        where = "the header" if line == 1 else f"row {line - 1}, column {name}"
        raise InputError([file_problem(
            f"bytes that are not UTF-8 text (file line {line}, byte {e.start}); save the file "
            "as UTF-8", where=where, row=None if line == 1 else line - 1,
            field=name if line > 1 and name in FIELD_BY_NAME else None)]) from None


def _read_header(data: bytes) -> list[str]:
    end = data.find(b"\n", 0, HEAD_BYTES)
    if end < 0 and len(data) > HEAD_BYTES:
        raise InputError([file_problem(
            f"no line break in the first {HEAD_BYTES:,} bytes; the first line names the columns "
            f"(at most one each of {len(COLUMNS)} canonical columns), then one line per "
            "assessment", where="the header", row=0)])
    first = (data if end < 0 else data[:end]).decode("utf-8").lstrip("\ufeff").rstrip("\r")
    if first.count(",") >= MAX_COLUMNS:
        raise InputError([file_problem(f"the header has {first.count(',') + 1:,} columns; the "
                                       f"canonical format has {len(COLUMNS)}, each at most "
                                       "once")])
    header = [h.strip().strip('"') for h in first.split(",")]
    problems: list[Problem] = []
    unknown = [h for h in header if h not in FIELD_BY_NAME]
    for h in unknown:
        problems.append(Problem(None, "unknown_field", "unknown column; the canonical columns "
                                "are: " + ", ".join(COLUMNS), row=0,
                                where=f"row 0, column {_shortened(h)}"))
    counts = Counter(header)
    for h in sorted(h for h, k in counts.items() if k > 1):
        problems.append(Problem(h, "repeated_column", "column appears more than once", row=0))
    for req in ("patient_id", "time"):
        if req not in header:
            problems.append(Problem(req, "required", "required column is missing", row=0))
    if problems:
        raise InputError(problems)
    return header


def _shape_problems(data: bytes, width: int) -> list[Problem]:
    """Every row whose number of cells differs from the header's, one line each (a quoted
    cell may hold a line break: rows are counted as records, as Arrow counts them)."""
    problems = []
    records = csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"), newline=""))
    next(records, None)
    row = 0
    try:
        for row, cells in enumerate(records, start=1):
            if len(cells) != width:
                n = f"{len(cells)} cell" + "s" * (len(cells) != 1)
                problems.append(file_problem(f"{n} where the header has {width} columns; a "
                                             "blank cell is written as ,,", row=row))
    except csv.Error as e:  # a cell over the csv module's limit (128 KiB), or a stray quote
        problems.append(file_problem(_cell_too_long() if "limit" in str(e)
                                     else f"not valid CSV: {e}", row=row + 1))
    return problems


def _cell_too_long() -> str:
    return f"a cell longer than {MAX_CELL_CHARS:,} characters; no canonical value is this long"


def _check_cell_lengths(table: Mapping[str, pa.ChunkedArray]) -> None:
    """Every cell within ``MAX_CELL_CHARS``: a huge cell is refused by row and column."""
    problems = []
    for name, col in table.items():
        lengths = pc.utf8_length(col)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            too_long = pc.fill_null(pc.greater(lengths, MAX_CELL_CHARS), False)
            for r in np.flatnonzero(too_long.to_numpy(zero_copy_only=False)):
                problems.append(Problem(name, "too_long", _cell_too_long(), row=int(r) + 1))
    if problems:
        raise InputError(problems)


def _arrow_message(e: Exception) -> str:
    return str(e).split("\n")[0]


def from_rows(rows: Iterable[Mapping[str, object]], tz: str | ZoneInfo = "UTC") -> Assessments:
    """Validate rows given as mappings (form entries, tests). Values are turned into text first,
    so exactly the CSV rules apply."""
    rows = list(rows)
    zone = tz if isinstance(tz, ZoneInfo) else ward_zone(tz)
    names: list[str] = []
    for r in rows:
        names.extend(k for k in r if k not in names)
    unknown = [n for n in names if n not in FIELD_BY_NAME]
    if unknown:
        raise InputError([Problem(None, "unknown_field", "unknown field; the canonical fields "
                                  "are: " + ", ".join(COLUMNS), where=f"column {_shortened(n)}")
                          for n in unknown])
    cols = {n: pa.chunked_array([pa.array([_as_text(r.get(n)) for r in rows], pa.string())])
            for n in names}
    for req in ("patient_id", "time"):
        if req not in cols:
            raise InputError([Problem(req, "required", "required field is missing")])
    return from_columns(cols, zone)


def _as_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if np.isnan(v) else repr(float(v))
    if isinstance(v, (list, tuple, set, frozenset)):
        return ";".join(str(x) for x in v)
    if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
        return v.isoformat()  # type: ignore[union-attr]
    return str(v)


# ---------------------------------------------------------------------------- column parsing
def _encode(col: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Codes and distinct texts of a column; a blank (null) cell is the text ''."""
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    chunks = col.unify_dictionaries().chunks if isinstance(col, pa.ChunkedArray) else [col]
    if not chunks:
        return np.zeros(0, np.int32), []
    uniques = chunks[0].dictionary.to_pylist() + [""]
    blank = len(uniques) - 1
    codes = np.concatenate([pc.fill_null(c.indices, blank).to_numpy() for c in chunks])
    return codes.astype(np.int32, copy=False), uniques


class _Collector:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.cross = False
        self.bad_cells: set[tuple[int | None, str | None]] = set()

    def start_cross_checks(self) -> None:
        self.cross = True
        self.bad_cells = {(p.row, p.field) for p in self.items}

    def cells(self, column: str, codes: np.ndarray, bad: Mapping[int, tuple[str, ...]],
              uniques: list[str]) -> None:
        """Report every row whose distinct value is in ``bad`` (its position among the distinct
        values -> (problem code, message), and the form's words where they differ)."""
        if not bad:
            return
        bad_codes = np.fromiter(bad, np.int32)
        rows = np.flatnonzero(np.isin(codes, bad_codes))
        for r in rows:
            code = int(codes[r])
            problem, message, *words = bad[code]
            self.items.append(Problem(column, problem, message, row=int(r) + 1,
                                      value=uniques[code], words=words[0] if words else None))

    def rows(self, column: str, mask: np.ndarray, values: Sequence[str] | np.ndarray | str,
             message: str, related: tuple[str, ...] = (), code: str = "cross_field",
             words: str | None = None) -> None:
        """Report every row of ``mask``, quoting its value (or the one value ``values``);
        ``code`` says what kind of problem it is (``PROBLEM_CODES``), ``words`` how a form
        says it when ``message`` names other columns."""
        for r in np.flatnonzero(mask):
            if self.cross and any((int(r) + 1, c) in self.bad_cells
                                  for c in (column, *related)):
                continue  # the rule's own cell was invalid and is reported already
            value = values if isinstance(values, str) else str(values[r])
            self.items.append(Problem(column, code, message, row=int(r) + 1, value=value,
                                      words=words))


def _parse_number(f: Field, text: str) -> tuple[float, tuple[str, str] | None]:
    """Syntax only; ranges are checked on the numbers (``_check_numbers``)."""
    t = text.strip(BLANKS)
    if not NUMBER_RE.fullmatch(t):
        hint = " (use a point as the decimal mark)" if re.fullmatch(r"[+-]?\d+,\d+", t) else ""
        return np.nan, ("not_a_number", f"not a number{hint}; allowed: {f.allowed()}")
    return float(t), None


def _check_numbers(f: Field, x: np.ndarray, cells: _Cells, out: _Collector) -> np.ndarray:
    """Hard limits and whole numbers (spec §6.1). Bad cells are reported and blanked."""
    assert f.hard_min is not None and f.hard_max is not None
    if _inside(x, f.hard_min, f.hard_max) and (f.kind != "integer" or _whole(x)):
        return x  # the usual case, known from three passes over the column
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(x) & ((x < f.hard_min) | (x > f.hard_max))
        bad |= np.isinf(x)
        if f.kind == "integer":
            bad |= ~np.isnan(x) & ~bad & (x != np.round(x))
    for r in np.flatnonzero(bad):
        v = x[r]
        code = "hard_limit"
        if f.kind == "integer" and f.hard_min <= v <= f.hard_max:
            code, msg = "not_whole", "not a whole number"
        elif f.name == "temp_c" and 77 <= v <= 113:
            msg = "out of range (this looks like °F: convert to °C)"
        elif f.name in ("fio2_pct", "spo2_pct") and 0 < v < 1:
            msg = "out of range (this looks like a fraction: give a percentage)"
        else:
            msg = "out of range"
        out.items.append(Problem(f.name, code, f"{msg}; allowed: {f.allowed()}", row=int(r) + 1,
                                 value=cells[r]))
    return np.where(bad, np.nan, x)


def _inside(x: np.ndarray, lo: float, hi: float) -> bool:
    """Every number of ``x`` (blanks, NaN, aside) is within lo..hi."""
    return bool(np.fmin.reduce(x, initial=np.inf) >= lo
                and np.fmax.reduce(x, initial=-np.inf) <= hi)


def _whole(x: np.ndarray) -> bool:
    """Every number of ``x`` (finite; blanks aside) is a whole number."""
    fraction = np.trunc(x)
    np.subtract(x, fraction, out=fraction)  # one scratch array: NaN where blank
    return bool(np.fmax.reduce(np.abs(fraction, out=fraction), initial=0.0) == 0)


def _parse_choices(f: Field, text: str) -> tuple[int, tuple[str, str] | None]:
    parts = [p.strip(BLANKS) for p in text.split(";")]
    if parts == [f.empty_value]:
        return 0, None
    mask = 0
    for p in parts:
        if p not in f.values:
            what = "an empty item" if p == "" else f"'{p}'"
            if p == f.empty_value:
                return -1, ("not_allowed",
                            f"'{f.empty_value}' cannot be combined with other values")
            return -1, ("not_allowed", f"{what} is not allowed; allowed: {f.allowed()}")
        mask |= 1 << f.values.index(p)
    return mask, None


def _parse_column(f: Field, col: pa.ChunkedArray, n: int, out: _Collector,
                  text: pa.ChunkedArray | None = None) -> np.ndarray:
    if pa.types.is_floating(col.type):
        cells = _Cells(col if text is None else text)  # errors quote the cell as written
        x = col.to_numpy().astype(np.float64, copy=False)  # NaN: blank
        if np.count_nonzero(np.isnan(x)) > col.null_count:  # and a cell that reads 'nan'
            nan_text = pc.fill_null(pc.is_nan(col), False).to_numpy(zero_copy_only=False)
            out.rows(f.name, nan_text, cells, f"not a number; allowed: {f.allowed()}",
                     code="not_a_number")
        return _check_numbers(f, x, cells, out)
    if pa.types.is_boolean(col.type):
        return pc.fill_null(pc.cast(col, pa.int8()), -1).to_numpy().astype(np.int8)
    if f.kind in ("number", "integer"):
        try:  # fast: Arrow converts the whole column; any odd cell -> the text path below
            as_float = pc.cast(col, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            x = _parse_text_column(f, col, n, out)
            return _check_numbers(f, x, _Cells(col), out)
        return _parse_column(f, as_float, n, out, text=col)
    return _parse_text_column(f, col, n, out)


def _parse_text_column(f: Field, col: pa.ChunkedArray, n: int,
                       out: _Collector) -> np.ndarray:
    codes, uniques = _encode(col)
    bad: dict[int, tuple[str, str]] = {}
    if f.kind in ("number", "integer"):
        table = np.full(len(uniques) + 1, np.nan)
        for i, u in enumerate(uniques):
            if u.strip(BLANKS) == "":
                continue
            table[i], err = _parse_number(f, u)
            if err:
                bad[i] = err
        values = table[codes]
    elif f.kind == "boolean":
        table = np.full(len(uniques), -1, np.int8)
        for i, u in enumerate(uniques):
            w = u.strip(BLANKS).lower()
            if w == "":
                continue
            if w in BOOLEAN_WORDS:
                table[i] = BOOLEAN_WORDS[w]
            else:
                bad[i] = ("not_allowed", f"not a yes/no value; allowed: {f.allowed()}")
        values = table[codes] if uniques else np.full(n, -1, np.int8)
    elif f.kind == "choice":
        table = np.full(len(uniques), -1, np.int8)
        for i, u in enumerate(uniques):
            w = u.strip(BLANKS)
            if w == "":
                continue
            if w in f.values:
                table[i] = f.values.index(w)
            else:
                bad[i] = ("not_allowed", f"not an allowed value; allowed: {f.allowed()}")
        values = table[codes] if uniques else np.full(n, -1, np.int8)
    elif f.kind == "choices":
        table = np.full(len(uniques), -1, np.int16)
        for i, u in enumerate(uniques):
            if u.strip(BLANKS) == "":
                continue
            table[i], err = _parse_choices(f, u)
            if err:
                bad[i] = err
        values = table[codes] if uniques else np.full(n, -1, np.int16)
    else:
        raise AssertionError(f.kind)
    out.cells(f.name, codes, bad, uniques)
    return values


YEARS = np.array([f"{YEAR_MIN}-01-01T00:00", f"{YEAR_MAX + 1}-01-01T00:00"],
                 "datetime64[ns]").view(np.int64)


def _years_message(f: Field) -> str:
    return f"outside the years {YEAR_MIN} to {YEAR_MAX} (UTC): mistyped?; allowed: {f.allowed()}"


def _years_problem(f: Field) -> tuple[str, str]:
    return "hard_limit", _years_message(f)


def _outside_years(ns: np.ndarray) -> np.ndarray:
    return (ns != NAT) & ((ns < YEARS[0]) | (ns >= YEARS[1]))


CLOCK_CHANGE = ("this local time does not exist or is ambiguous in the ward time zone {zone} "
                "(clock change); add a UTC offset")


def _parse_time_column(f: Field, col: pa.ChunkedArray, zone: ZoneInfo,
                       out: _Collector) -> np.ndarray:
    """ISO 8601 -> int64 ns since the epoch (UTC); NaT for blank or bad cells."""
    if pa.types.is_dictionary(col.type):  # the distinct texts, then spread over the rows
        codes, texts = _encode(col)  # the last text stands for the blank cells
        distinct = _Collector()
        ns = _parse_time_column(f, pa.chunked_array([pa.array(texts[:-1] + [None], pa.string())]),
                                zone, distinct)
        if distinct.items:  # named by row on the text path
            raise InputError(distinct.items)
        return ns[codes]
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        plain = _plain_local_times(col)
        col = col if plain is None else plain
    if pa.types.is_timestamp(col.type):
        if col.type.tz is not None:  # instants (a database)
            utc = pc.cast(col, pa.timestamp("ns", tz="UTC")).to_numpy()
            utc = utc.astype("datetime64[ns]", copy=False).view(np.int64)
        else:  # plain local times, parsed in one go by Arrow (only within the ns range)
            utc = local = col.to_numpy().astype("datetime64[ns]", copy=False).view(np.int64)
            if zone.key != "UTC":
                idx = pd.DatetimeIndex(local.view("datetime64[ns]"))
                utc = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").as_unit("ns").asi8
                out.rows(f.name, (utc == NAT) & (local != NAT), _TimeCells(col),
                         CLOCK_CHANGE.format(zone=zone.key), code="clock_change")
        outside = _outside_years(utc)
        if outside.any():
            out.rows(f.name, outside, _TimeCells(col), _years_message(f), code="hard_limit")
            utc = np.where(outside, NAT, utc)
        return utc
    codes, uniques = _encode(col)
    if not uniques:
        return np.full(len(codes), np.datetime64("NaT"), "datetime64[ns]").view(np.int64)
    arr = pa.array(uniques, pa.string())
    stripped = pc.utf8_trim(arr, BLANKS)
    blank = np.asarray(pc.equal(stripped, "").to_numpy(zero_copy_only=False))
    shaped = np.asarray(pc.match_substring_regex(stripped, TIME_RE).to_numpy(zero_copy_only=False))
    aware = np.asarray(pc.match_substring_regex(stripped, OFFSET_RE).to_numpy(zero_copy_only=False))
    texts = np.asarray(stripped.to_numpy(zero_copy_only=False), dtype=object)
    result = np.full(len(uniques), np.iinfo(np.int64).min, np.int64)
    bad: dict[int, tuple[str, str]] = {}
    ok = shaped & ~blank
    if ok.any():  # a year pandas cannot hold in nanoseconds must never reach it (V4c)
        year = pc.cast(pc.utf8_slice_codeunits(pc.if_else(pa.array(ok), stripped, "0000"), 0, 4),
                       pa.int32()).to_numpy()
        far = ok & ((year < YEAR_MIN - 1) | (year > YEAR_MAX + 1))  # a year either side: offsets
        bad |= dict.fromkeys(np.flatnonzero(far).tolist(), _years_problem(f))
        ok &= ~far
    if (ok & aware).any():
        idx = np.flatnonzero(ok & aware)
        t = pd.to_datetime(pd.Series(texts[idx]), format="ISO8601", utc=True, errors="coerce")
        result[idx] = t.to_numpy("datetime64[ns]").view(np.int64)
    if (ok & ~aware).any():
        idx = np.flatnonzero(ok & ~aware)
        naive = pd.DatetimeIndex(pd.to_datetime(pd.Series(texts[idx]), format="ISO8601",
                                                errors="coerce"))
        invalid = naive.isna()
        local = naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        for j in np.flatnonzero(local.isna() & ~invalid):
            bad[int(idx[j])] = ("clock_change", CLOCK_CHANGE.format(zone=zone.key))
        result[idx] = local.tz_convert("UTC").as_unit("ns").asi8
    outside = _outside_years(result)
    bad |= dict.fromkeys(np.flatnonzero(outside).tolist(), _years_problem(f))
    result[outside] = NAT
    for i in np.flatnonzero(~blank & (result == np.iinfo(np.int64).min)):
        bad.setdefault(int(i), ("not_a_time", f"not a valid date and time; allowed: "
                                              f"{f.allowed()}"))
    out.cells(f.name, codes, bad, uniques)
    return result[codes]


def _plain_local_times(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The whole column as naive timestamps when every cell is a plain local time, else None.

    Arrow's ISO 8601 parser is strict (no Feb 30, two digits per field, no seconds past 59)
    but also takes a date alone or an hour alone, which decision V4 rejects: only cells of the
    plain forms' lengths are taken here; anything else is checked value by value.
    """
    lengths = pc.binary_length(col)
    plain = pc.or_(*(pc.equal(lengths, k) for k in PLAIN_TIME_LENGTHS))
    if pc.all(plain).as_py() is False:
        return None
    try:
        return pc.cast(col, pa.timestamp("ns"))
    except pa.ArrowInvalid:
        return None


def from_columns(cols: Mapping[str, pa.ChunkedArray], zone: ZoneInfo) -> Assessments:
    n = len(next(iter(cols.values()))) if cols else 0
    out = _Collector()
    if n == 0:
        raise InputError([file_problem("the file has a header but no assessment rows")])
    patients: list[str] = []

    def parse(f: Field) -> np.ndarray:
        nonlocal patients
        col = cols.get(f.name)
        if f.kind == "id":
            assert col is not None
            codes, uniques = _encode(col)
            trimmed = [u.strip(BLANKS) for u in uniques]
            bad: dict[int, tuple[str, ...]] = {
                i: ("required", "required: every row needs a patient_id",
                    "required: every assessment needs a patient id")
                for i, u in enumerate(trimmed) if u == ""}
            bad |= {i: ("not_allowed", "a patient_id is one line of printable text",
                        "a patient id is one line of printable text")
                    for i, u in enumerate(trimmed) if u and not u.isprintable()}
            bad |= {i: ("too_long", f"a patient_id is at most {PATIENT_ID_MAX_LENGTH} characters "
                        f"(this one has {len(u):,})", f"a patient id is at most "
                        f"{PATIENT_ID_MAX_LENGTH} characters (this one has {len(u):,})")
                    for i, u in enumerate(trimmed)
                    if len(u) > PATIENT_ID_MAX_LENGTH and i not in bad}
            out.cells(f.name, codes, bad, uniques)
            patients = sorted({u for u in trimmed if u and u.isprintable()})  # others: above
            return _merge_codes(codes, trimmed, patients)
        if f.kind == "time":
            if col is None:
                return np.full(n, NAT, np.int64)
            ns = _parse_time_column(f, col, zone, out)
            if f.required and (ns == NAT).any():  # blank, or invalid and reported already
                blank = (pc.is_null(col) if pa.types.is_timestamp(col.type) else
                         pc.fill_null(pc.equal(pc.utf8_trim(col, BLANKS), ""), True))
                out.rows(f.name, np.asarray(blank.to_numpy(zero_copy_only=False), bool),
                         _Cells(col), "required: every row needs a time", code="required",
                         words="required: every assessment needs a time")
            return ns
        if col is None:
            return _blank(f, n)
        return _parse_column(f, col, n, out)

    # columns are independent and Arrow/numpy release the GIL: parse them side by side
    workers = parallel_workers(n)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            typed = dict(zip(COLUMNS, pool.map(parse, FIELDS)))
    else:
        typed = {f.name: parse(f) for f in FIELDS}
    po = PatientOrder.of(typed["patient_id"], typed["time"])
    out.start_cross_checks()
    soft = _cross_checks(typed, patients, cols, po, out)
    if out.items:
        out.items.sort(key=lambda p: (p.row or 0, COLUMNS.index(p.field)
                                      if p.field in COLUMNS else 99))
        raise InputError(out.items)
    return Assessments(typed, patients, zone, po, soft)


def _merge_codes(codes: np.ndarray, trimmed: list[str], cats: list[str]) -> np.ndarray:
    """Codes into the sorted distinct trimmed ids (' P1' and 'P1' are one patient)."""
    where = {c: i for i, c in enumerate(cats)}
    return np.array([where.get(t, 0) for t in trimmed], np.int32)[codes] if len(codes) else codes


class _Cells:
    """The original text of cells, fetched only for the rows an error message names."""

    def __init__(self, col: pa.ChunkedArray | None) -> None:
        self.col = col

    def __getitem__(self, i: int) -> str:
        if self.col is None:
            return ""
        v = self.col[int(i)].as_py()
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v).strip())


class _TimeCells(_Cells):
    def __getitem__(self, i: int) -> str:
        assert self.col is not None
        return self.col[int(i)].as_py().isoformat(timespec="minutes")


def _blank(f: Field, n: int) -> np.ndarray:
    """A column the input does not have: every cell blank. A read-only view of one value, so
    the many optional columns a file leaves out cost no memory (nothing writes to a column)."""
    if f.kind in ("number", "integer"):
        return np.broadcast_to(np.float64(np.nan), (n,))
    if f.kind == "choices":
        return np.broadcast_to(np.int16(-1), (n,))
    return np.broadcast_to(np.int8(-1), (n,))


def _to_frame(typed: dict[str, np.ndarray], patients: list[str]) -> pd.DataFrame:
    data: dict[str, object] = {}
    for name, arr in typed.items():
        kind = FIELD_BY_NAME[name].kind
        if kind == "time":
            data[name] = pd.DatetimeIndex(arr.view("datetime64[ns]")).tz_localize("UTC")
        elif kind == "id":
            data[name] = pd.Categorical.from_codes(arr, patients)
        else:
            data[name] = arr
    return pd.DataFrame(data, copy=False)


# ---------------------------------------------------------------------------- cross checks
def _cross_checks(c: dict[str, np.ndarray], patients: list[str],
                  cols: Mapping[str, pa.ChunkedArray], po: PatientOrder,
                  out: _Collector) -> dict[int, list[str]]:
    n = len(c["patient_id"])
    raw = {name: _Cells(cols.get(name)) for name in ("time", "infusion_time")}
    pid = c["patient_id"]
    t = c["time"]
    nat = NAT

    # one assessment per patient and time: equal neighbours in (patient, time) order
    same = np.zeros(n, bool)
    if n > 1:
        same[1:] = (po.patient[1:] == po.patient[:-1]) & (po.time_ns[1:] == po.time_ns[:-1])
    same &= po.time_ns != nat
    first_of_time = po.ffill_index(~same) if same.any() else same
    for s in np.flatnonzero(same):
        r, first = int(po.order[s]), int(po.order[first_of_time[s]])
        r, first = max(r, first), min(r, first)
        who = patients[pid[r]]
        out.items.append(Problem("time", "duplicate_time", f"duplicate: patient {who} already "
                                 f"has an assessment at this time (row {first + 1})", row=r + 1,
                                 value=raw["time"][r], words="the patient already has an "
                                 "assessment at this time: correct that one instead"))

    # infusion time: one value per patient
    inf = c["infusion_time"]
    has_inf = inf != nat
    if _differs_within_patient(po, inf):
        g = pd.DataFrame({"p": pid[has_inf], "i": inf[has_inf]}).groupby("p")["i"]
        multi = g.nunique()
        for p in multi[multi > 1].index:
            rows = np.flatnonzero((pid == p) & has_inf)
            ref = rows[0]
            for r in rows[inf[rows] != inf[ref]]:
                out.items.append(Problem("infusion_time", "cross_field",
                                         f"differs from row {ref + 1}; a patient has one "
                                         "infusion time", row=int(r) + 1,
                                         value=raw["infusion_time"][r],
                                         words="differs from the patient's other assessments; "
                                         "a patient has one infusion time"))

    sbp, dbp = c["sbp_mmhg"], c["dbp_mmhg"]
    bad = dbp >= sbp  # NaN compares False
    out.rows("dbp_mmhg", bad, _fmt_num(dbp), "must be below the systolic pressure "
             "(sbp_mmhg on the same row)", words="must be below the systolic pressure")
    both_bp_msg = "blood pressure needs both sbp_mmhg and dbp_mmhg, or neither"
    both_bp_words = "blood pressure needs both the systolic and the diastolic, or neither"
    out.rows("dbp_mmhg", np.isnan(dbp) & ~np.isnan(sbp), _fmt_num(dbp), both_bp_msg,
             related=("sbp_mmhg",), code="incomplete", words=both_bp_words)
    out.rows("sbp_mmhg", np.isnan(sbp) & ~np.isnan(dbp), _fmt_num(sbp), both_bp_msg,
             related=("dbp_mmhg",), code="incomplete", words=both_bp_words)

    filled_items = [~np.isnan(c[x]) for x in ICE_ITEMS]
    ice_any = np.logical_or.reduce(filled_items)
    ice_all = np.logical_and.reduce(filled_items)
    partial = ice_any & ~ice_all
    for r in np.flatnonzero(partial):
        missing = [x for x, ok in zip(ICE_ITEMS, filled_items) if not ok[r]]
        out.items.append(Problem(missing[0], "incomplete", "the ICE score needs all five "
                                 "items or none; missing: " + ", ".join(missing), row=int(r) + 1,
                                 value="", words="the ICE score needs all five items or none; "
                                 "missing: " + ", ".join(FIELD_BY_NAME[x].title
                                                         for x in missing)))
    capd = c["capd_total"]
    out.rows("capd_total", ice_any & ~np.isnan(capd), _fmt_num(capd),
             "a row has ICE items or a CAPD total, never both (the one filled is the instrument)",
             words="an assessment has an ICE score or a CAPD total, never both")
    sedated = c["sedated"] == 1
    out.rows("sedated", sedated & (ice_any | ~np.isnan(capd)), "true",
             "sedated means the neuro assessment could not be done: leave ICE and CAPD blank")
    unarousable = c["consciousness"] == code_of("consciousness", "unarousable")
    if unarousable.any():
        ice_total = c[ICE_ITEMS[0]].copy()  # NaN unless all five are given
        for item in ICE_ITEMS[1:]:
            ice_total += c[item]
        out.rows("consciousness", unarousable & (ice_total > 0), "unarousable",
                 "an unarousable patient cannot score ICE points (ICE must be 0 or blank)")

    # ongoing oxygen support: check flow and FiO2 against the device in force on this row
    flow, fio2 = c["o2_flow_l_min"], c["fio2_pct"]
    device = _carried_device(c, po, ~np.isnan(flow) | (fio2 > 21) | (c["rr_per_min"] == 0))
    room, unknown = device == code_of("o2_device", "room_air"), device == -1
    out.rows("o2_flow_l_min", room & (flow > 0), _fmt_num(flow),
             "oxygen flow with o2_device room_air; record the device, or a flow of 0",
             words="oxygen flow on room air; record the oxygen device, or a flow of 0")
    out.rows("o2_flow_l_min", unknown & (flow > 0), _fmt_num(flow),
             "oxygen flow but no o2_device recorded for this patient yet",
             words="oxygen flow but no oxygen device recorded for this patient yet")
    out.rows("fio2_pct", room & (fio2 > 21), _fmt_num(fio2),
             "FiO2 above 21 % needs an oxygen device other than room_air",
             words="FiO2 above 21 % needs an oxygen device other than room air")
    out.rows("fio2_pct", unknown & (fio2 > 21), _fmt_num(fio2),
             "FiO2 above 21 % but no o2_device recorded for this patient yet",
             words="FiO2 above 21 % but no oxygen device recorded for this patient yet")

    # nothing after death
    died = c["died_of"] >= 0
    if died.any():
        death = pd.Series(np.where(died, t, np.iinfo(np.int64).max)).groupby(pid).transform("min")
        after = t > death.to_numpy()
        out.rows("time", after, raw["time"], "assessment after the row recording death "
                 "(died_of) for this patient", code="after_death",
                 words="this is after the assessment recording the patient's death")
        # decision C17: CRS and ICANS follow the infusion, so neither causes a death before it
        syndrome = np.isin(c["died_of"], [code_of("died_of", "crs"), code_of("died_of", "icans")])
        if has_inf.any() and syndrome.any():
            infusion = pd.Series(inf).groupby(pid).transform("max").to_numpy()  # NaT is least
            cause = np.array(FIELD_BY_NAME["died_of"].values, object)[np.maximum(c["died_of"], 0)]
            out.rows("died_of", syndrome & (infusion != nat) & (t < infusion), cause,
                     "death caused by CRS or ICANS before the infusion (infusion_time): both "
                     "follow the infusion; record the cause as other",
                     words="death caused by CRS or ICANS before the CAR-T infusion: both follow "
                     "the infusion; record the cause as other")
    _scale_input_checks(c, po, out)  # doses, CARTOX-10, CRES inputs (grading/scales/checks.py)
    return _soft_limit_flags(c, device, po, present=set(cols))


def _differs_within_patient(po: PatientOrder, values: np.ndarray) -> bool:
    """Some patient has two different recorded (not NaT) values: each patient's least and
    greatest value, in patient order."""
    v = po.sort(values)
    greatest = np.maximum.reduceat(v, po.first_rows)  # NaT is the least int64
    least = np.minimum.reduceat(np.where(v == NAT, np.iinfo(np.int64).max, v), po.first_rows)
    return bool(((greatest != NAT) & (least != greatest)).any())


NOT_LOOKED_UP = -2


def _carried_device(c: dict[str, np.ndarray], po: PatientOrder,
                    needed: np.ndarray) -> np.ndarray:
    """The oxygen device in force (blank = unchanged since the previous row) on the rows
    ``needed`` (the checks look only where a flow, an FiO2 or a zero breathing rate is), -1
    where none is recorded yet; ``NOT_LOOKED_UP`` on every other row."""
    device = np.full(len(needed), NOT_LOOKED_UP, np.int8)
    rows = np.flatnonzero(needed)
    if len(rows):
        dev = po.sort(c["o2_device"])
        recorded = np.flatnonzero(dev >= 0)  # sorted positions where a device was recorded
        at = po.sorted_position[rows]
        j = po.take(recorded, np.searchsorted(recorded, at, side="right") - 1, NO_ROW)
        device[rows] = np.where(j >= po.start[at], po.take(dev, j, -1), -1)
    return device


class _fmt_num:  # noqa: N801 - used like a function
    """Formats only the cells an error message needs (never a million numbers)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __getitem__(self, i: int) -> str:
        v = self.x[i]
        return "" if np.isnan(v) else f"{v:g}"


def _soft_limit_flags(c: dict[str, np.ndarray], device: np.ndarray, po: PatientOrder,
                     present: set[str]) -> dict[int, list[str]]:
    """Spec §6.1 soft limits: accepted values reported as flags, per row position.
    ``present``: the columns the input has (the others are blank throughout)."""
    flags: dict[int, list[str]] = {}
    ages: list[np.ndarray] = []

    def age() -> np.ndarray:  # each row's age, worked out once and only when needed
        if not ages:
            ages.append(po.unsort(po.patient_fill(po.sort(c["age_years"]))))
        return ages[0]

    def add(mask: np.ndarray, text: object) -> None:
        for r in np.flatnonzero(mask):
            flags.setdefault(int(r), []).append(text(r) if callable(text) else str(text))

    for f in FIELDS:
        if (f.kind not in ("number", "integer") or f.name not in present
                or (f.soft_min is None and f.soft_max is None)):
            continue
        x = c[f.name]
        child = [(below_age, child_max) for name, below_age, child_max in CHILD_SOFT_MAX
                 if name == f.name]
        soft_min = -np.inf if f.soft_min is None else f.soft_min
        adult_max = np.inf if f.soft_max is None else f.soft_max
        if _inside(x, soft_min, min([adult_max] + [m for _, m in child])):
            continue  # the usual case: every value inside the narrowest usual range
        soft_max: np.ndarray | float = adult_max
        for below_age, child_max in child:
            soft_max = np.where(age() < below_age, child_max, soft_max)
        low = x < soft_min
        high = x > soft_max
        usual_max = np.broadcast_to(soft_max, len(x))
        add(low | high, lambda r, f=f, x=x, m=usual_max: (
            f"soft_limit: {f.name} {x[r]:g} {f.unit} is outside the usual range "
            f"({_range(f.soft_min, m[r])}): confirm it is correct"))
    flow = c["o2_flow_l_min"]
    for dev, lo, hi in DEVICE_FLOW_SOFT_LIMITS:
        on = device == code_of("o2_device", dev)
        add(on & (flow < (lo if lo is not None else -np.inf)),
            lambda r, dev=dev, lo=lo: f"soft_limit: o2_flow_l_min {flow[r]:g} L/min is low for "
            f"{dev} (usually at least {lo:g}): confirm")
        add(on & (flow > (hi if hi is not None else np.inf)),
            lambda r, dev=dev, hi=hi: f"soft_limit: o2_flow_l_min {flow[r]:g} L/min is high for "
            f"{dev} (usually at most {hi:g}; likely a data-entry error): confirm")
    rr = c["rr_per_min"]
    ventilated = device == code_of("o2_device", "mechanical_ventilation")
    add((rr == 0) & ~ventilated, "soft_limit: rr_per_min 0 without mechanical ventilation "
        "(arrest?): confirm")
    return flags


def _range(lo: float | None, hi: float) -> str:
    if lo is None:
        return f"up to {hi:g}"
    if np.isinf(hi):
        return f"{lo:g} or more"
    return f"{lo:g}-{hi:g}"
