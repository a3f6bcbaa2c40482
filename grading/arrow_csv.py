"""Arrow's typed read of a canonical CSV file, light enough to start before pandas and numba.

``parse.read_csv`` converts a clean file while Arrow reads it (``TYPED_READ``). This module holds
that read and nothing heavier than pyarrow, so ``python -m grading`` can start it in a thread
(``EarlyRead``) before it imports pandas and numba (half a second): Arrow reads on its own
threads without the GIL while the interpreter imports. ``parse.read_csv`` then takes the table
only when it was read from the same file (its path, first bytes and size) with the same header
it validates itself; otherwise, or when the read failed, it reads the file as it always does. So
the early read changes when the work is done, never what is read or which errors are named.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.csv as pacsv

from .fields import BOOLEAN_WORDS, FIELD_BY_NAME, Field

HEAD_BYTES = 65536  # the start of a file, for its header line and a first UTF-8 check
LONE_CR = re.compile(rb"\r(?!\n)")  # a line ending of CR alone (old Mac files)

# How Arrow reads each kind of column on the fast path (a file whose every cell is clean).
# Numbers and booleans are converted while reading; choice cells come back dictionary-encoded;
# times stay text and are checked by ``parse._parse_time_column``.
TYPED_READ: dict[str, pa.DataType] = {
    "id": pa.dictionary(pa.int32(), pa.string()),
    "time": pa.string(),
    "number": pa.float64(),
    "integer": pa.float64(),  # checked to be whole by _check_numbers
    "boolean": pa.bool_(),
    "choice": pa.dictionary(pa.int32(), pa.string()),
    "choices": pa.dictionary(pa.int32(), pa.string()),
}


def read_type(f: Field) -> pa.DataType:
    if f.kind == "time" and f.per_patient:  # a few distinct texts: each checked once
        return pa.dictionary(pa.int32(), pa.string())
    return TYPED_READ[f.kind]


def in_any_case(words: Iterable[str]) -> list[str]:
    """Every upper/lower-case spelling of ``words`` (decision V5: booleans in any case)."""
    return sorted({"".join(c) for w in words
                   for c in itertools.product(*({ch.lower(), ch.upper()} for ch in w))})


TRUE_WORDS = in_any_case(w for w, v in BOOLEAN_WORDS.items() if v)
FALSE_WORDS = in_any_case(w for w, v in BOOLEAN_WORDS.items() if not v)


def read_table(stream: pa.NativeFile, header: list[str],
               typed: bool) -> dict[str, pa.ChunkedArray]:
    """The file's columns as Arrow reads them: typed (``TYPED_READ``), or all as text."""
    types = {n: read_type(FIELD_BY_NAME[n]) if typed else pa.string() for n in header}
    table = pacsv.read_csv(
        stream,
        read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 22,
                                       column_names=header, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, null_values=[""],
            quoted_strings_can_be_null=True, true_values=TRUE_WORDS, false_values=FALSE_WORDS))
    return {n: table.column(n) for n in header}


class EarlyRead:
    """The typed read of the file at ``path``, started in a thread now; ``take`` gives it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._result: tuple[bytes, int, list[str], dict[str, pa.ChunkedArray]] | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as f:
                head = f.read(HEAD_BYTES)
                size = f.seek(0, os.SEEK_END)
            end = head.find(b"\n")
            if end < 0 or LONE_CR.search(head[:-1]):
                return  # no whole header line, or CR line endings: the usual read deals with it
            header = header_names(head[:end])
            if len(set(header)) != len(header) or not all(h in FIELD_BY_NAME for h in header):
                return
            self._result = head, size, header, read_table(pa.OSFile(self.path), header, True)
        except Exception:  # any failure: the usual read runs and names it
            self._result = None

    def take(self, path: object, head: bytes, size: int,
             header: Sequence[str]) -> dict[str, pa.ChunkedArray] | None:
        """The table, when it was read from ``path`` whose first bytes were ``head`` and size
        ``size``, with ``header`` (as validated by the caller); else None. Given once."""
        if str(path) != self.path:
            return None
        self._thread.join()
        result, self._result = self._result, None
        if result is None or result[:2] != (head, size) or result[2] != list(header):
            return None
        return result[3]


def header_names(first_line: bytes) -> list[str]:
    """The column names of a header line (as ``parse._read_header`` reads them)."""
    first = first_line.decode("utf-8").lstrip("\ufeff").rstrip("\r")
    return [h.strip().strip('"') for h in first.split(",")]


def start(argv: Sequence[str]) -> EarlyRead | None:
    """The early read of the file a ``grade`` or ``summary`` command line names, when it names
    an existing file (every option of those commands takes a value: ``cli.build_parser``)."""
    if not argv or argv[0] not in ("grade", "summary"):
        return None
    it = iter(argv[1:])
    for arg in it:
        if arg in ("-h", "--help", "--"):
            return None
        if arg.startswith("-"):
            if "=" not in arg:
                next(it, None)  # the option's value
            continue
        return EarlyRead(arg) if os.path.isfile(arg) else None
    return None
