"""``python -m grading grade`` written as it goes: CSV and JSON byte for byte as ``output.py``
writes them from ``RowResult`` objects, and a columnar Parquet file with the same fields.

A block of rows at a time, in input order: the block is explained (``explain.Explainer``), each
row becomes a list of numbered text pieces (the skeleton of the format, the rendered reason and
flag entries, the times, the patient ids, the numbers) and one compiled loop copies the pieces
into the block's bytes. No text is built per row in Python, and memory stays bounded by the
block whatever the size of the file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

import numpy as np
import pandas as pd
from numba import njit

from . import csvsafe
from .explain import ROW_TIME, Explained, Explainer, when
from .kernel import CACHE, NE_GRADE
from .output import GRADE_FIELDS
from .result import STATUSES
from .timeline import GradedTimeline

BLOCK_ROWS = 16384


# --------------------------------------------------------------------------- the pieces
class Pieces:
    """Numbered byte strings: ``add`` gives a new text its number, the same text the same."""

    def __init__(self) -> None:
        self._id: dict[bytes, int] = {}
        self._parts: list[bytes] = []
        self._buf = np.zeros(0, np.uint8)
        self._off = np.zeros(1, np.int64)

    def add(self, text: str) -> int:
        b = text.encode("utf-8")
        i = self._id.get(b)
        if i is None:
            i = self._id[b] = len(self._id)
            self._parts.append(b)
        return i

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The pieces as one buffer and its offsets (what ``_concat`` reads)."""
        if self._parts:
            lengths = np.fromiter((len(p) for p in self._parts), np.int64, len(self._parts))
            self._buf = np.concatenate([self._buf, np.frombuffer(b"".join(self._parts),
                                                                  np.uint8)])
            self._off = np.concatenate([self._off, self._off[-1] + np.cumsum(lengths)])
            self._parts = []
        return self._buf, self._off


TIME = 1 << 40  # piece numbers from here on are times: TIME + the sorted row


@njit(cache=CACHE, nogil=True)
def _concat(ids: np.ndarray, buf0: np.ndarray, off0: np.ndarray, buf1: np.ndarray,
            off1: np.ndarray, n0: int) -> np.ndarray:  # pragma: no cover (compiled)
    """The bytes of every row of ``ids`` (piece numbers; -1 none; below ``n0`` from the
    first table, else ``n0`` + a number in the second), row after row."""
    total = 0
    for i in range(ids.shape[0]):
        for k in range(ids.shape[1]):
            p = ids[i, k]
            if p >= n0:
                total += off1[p - n0 + 1] - off1[p - n0]
            elif p >= 0:
                total += off0[p + 1] - off0[p]
    out = np.empty(total, np.uint8)
    pos = 0
    for i in range(ids.shape[0]):
        for k in range(ids.shape[1]):
            p = ids[i, k]
            if p < 0:
                continue
            if p >= n0:
                lo, hi, b = off1[p - n0], off1[p - n0 + 1], buf1
            else:
                lo, hi, b = off0[p], off0[p + 1], buf0
            for j in range(lo, hi):
                out[pos] = b[j]
                pos += 1
    return out


# ------------------------------------------------------------------------------- times
def iso_times(ns: np.ndarray, tz: object) -> tuple[np.ndarray, np.ndarray]:
    """``datetime.isoformat()`` of every time (int64 ns, UTC) in the ward zone, as one buffer
    and its offsets: whole seconds with a ``+HH:MM`` offset are formatted in bulk, anything
    else (microseconds, an offset with seconds) one by one."""
    n = len(ns)
    us = ns // 1000
    local_ns = _local_ns(ns, tz)
    offset_s = (local_ns - ns) // 1_000_000_000
    codes, offsets = pd.factorize(offset_s)
    suffixes = [datetime.fromtimestamp(0, timezone(timedelta(seconds=int(o)))).isoformat()[19:]
                for o in offsets]
    if n and all(len(x) == 6 for x in suffixes) and not np.any(us % 1_000_000):
        base = (local_ns // 1_000_000_000).astype("datetime64[s]").astype("S19")
        suffix = np.frombuffer("".join(suffixes).encode(), np.uint8).reshape(-1, 6)
        text = np.hstack([base.view(np.uint8).reshape(n, 19), suffix[codes]])
        return text.ravel(), np.arange(n + 1, dtype=np.int64) * 25
    parts = [when(int(x), tz).isoformat().encode() for x in ns]
    lengths = np.fromiter((len(p) for p in parts), np.int64, n)
    return (np.frombuffer(b"".join(parts), np.uint8).copy(),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


def _local_ns(ns: np.ndarray, tz: object) -> np.ndarray:
    if str(tz) == "UTC":
        return ns
    local = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return local.tz_localize(None).asi8


# ------------------------------------------------------------------------------ formats
class _Format:
    """How one format writes a row: the skeleton and the entries' pieces."""

    null: str

    def __init__(self, ex: Explainer) -> None:
        self.ex = ex
        self.p = Pieces()
        self._reason: list[int] = []   # entry number -> its piece
        self._flag: list[int] = []
        self._reason_quote: list[bool] = []
        self._flag_quote: list[bool] = []

    def reason_piece(self, rule: str, finding: str) -> tuple[str, bool]:
        raise NotImplementedError

    def flag_piece(self, code: str, severity: str, message: str) -> tuple[str, bool]:
        raise NotImplementedError

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each entry's piece and whether it makes its cell quoted (CSV)."""
        for rule, finding in self.ex.reasons[len(self._reason):]:
            text, quote = self.reason_piece(rule, finding)
            self._reason.append(self.p.add(text))
            self._reason_quote.append(quote)
        for f in self.ex.flags[len(self._flag):]:
            text, quote = self.flag_piece(f.code, f.severity, f.message)
            self._flag.append(self.p.add(text))
            self._flag_quote.append(quote)
        return (np.array(self._reason + [-1], np.int64), np.array(self._reason_quote + [False]),
                np.array(self._flag + [-1], np.int64), np.array(self._flag_quote + [False]))


def _needs_quotes(text: str) -> bool:
    return any(c in text for c in ',"\r\n')


class _Csv(_Format):
    def reason_piece(self, rule: str, finding: str) -> tuple[str, bool]:
        text = f"{rule}: {finding} ("
        return text.replace('"', '""'), _needs_quotes(text)

    def flag_piece(self, code: str, severity: str, message: str) -> tuple[str, bool]:
        text = f"{severity} {code}: {message}"
        return text.replace('"', '""'), _needs_quotes(text)


class _Json(_Format):
    def reason_piece(self, rule: str, finding: str) -> tuple[str, bool]:
        return (f'   {{\n    "rule": {_js(rule)},\n    "finding": {_js(finding)},\n'
                '    "time": "'), False

    def flag_piece(self, code: str, severity: str, message: str) -> tuple[str, bool]:
        return (f'   {{\n    "code": {_js(code)},\n    "severity": {_js(severity)},\n'
                f'    "message": {_js(message)}\n   }}'), False


def _js(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _csv_cell(value: str) -> str:
    """One text cell exactly as ``csvsafe.writer`` writes it (neutralised, quoted if need be)."""
    buf = io.StringIO()
    csvsafe.writer(buf).writerow([value, ""])
    return buf.getvalue()[:-2]


# ---------------------------------------------------------------------- the block writer
class GradeWriter:
    """Writes ``g``'s results in input order, ``BLOCK_ROWS`` at a time, as CSV or JSON bytes."""

    def __init__(self, g: GradedTimeline, fmt: str) -> None:
        self.g, self.csv = g, fmt == "csv"
        self.ex = Explainer(g)
        self.f: _Format = _Csv(self.ex) if self.csv else _Json(self.ex)
        a = g.assessments
        self.iso = iso_times(g.order.time_ns, a.tz)
        p = self.f.p
        cell = _csv_cell if self.csv else _js
        self.patient = np.array([p.add(cell(x)) for x in a.patients], np.int64)
        self.status = np.array([p.add(x) for x in STATUSES], np.int64)
        self.soft = {row: msgs for row, msgs in a.soft_flags.items()}
        self.S = {t: p.add(t) for t in (
            ",", "\n", '"', "; ", ")", "", "[\n ", ",\n ", "\n]\n", "[]\n", "[]", "[\n",
            ",\n", '"\n   }', "\n  ]", "null")}
        self.first = True

    def _s(self, text: str) -> int:
        return self.S[text] if text in self.S else self.S.setdefault(text, self.f.p.add(text))

    def _numbers(self, values: np.ndarray, blank: Callable[[np.ndarray], np.ndarray]
                 ) -> np.ndarray:
        """Pieces of whole numbers (blank where ``blank``: empty in CSV, null in JSON)."""
        empty = blank(values)
        codes, uniques = pd.factorize(np.where(empty, 0, values).astype(np.int64))
        table = np.array([self.f.p.add(str(int(u))) for u in uniques], np.int64)
        return np.where(empty, self.S["" if self.csv else "null"], table[codes])

    def block(self, rows: np.ndarray) -> bytes:
        g, c = self.g, self.g.col
        s = g.sorted_of(rows)
        e = self.ex.explain(s)
        reason_piece, reason_quote, flag_piece, flag_quote = self.f.entries()
        n = len(rows)
        iso0 = TIME
        cols: list[np.ndarray] = []

        def const(text: str) -> None:
            cols.append(np.full(n, self._s(text), np.int64))

        pid = self.patient[g.assessments.columns["patient_id"][rows]]
        day = self._numbers(c["day_post_infusion"][s], np.isnan)
        crs_g = self._numbers(c["crs_grade"][s], lambda v: v == NE_GRADE)
        icans_g = self._numbers(c["icans_grade"][s], lambda v: v == NE_GRADE)
        crs_m = self._numbers(c["episode_max"][s], lambda v: v < 0)
        icans_m = self._numbers(c["icans_episode_max"][s], lambda v: v < 0)
        crs_st = self.status[c["crs_status"][s]]
        icans_st = self.status[c["icans_status"][s]]
        soft = self._soft(rows)
        if self.csv:
            for part in (pid, None, s, None, day, None, crs_g, None, crs_st, None):
                cols.append(np.full(n, self.S[","], np.int64) if part is None else
                            part + iso0 if part is s else part)
            cols += self._csv_reasons(e.crs, e.crs_time, s, reason_piece, reason_quote, iso0)
            const(",")
            cols += [crs_m, np.full(n, self.S[","]), icans_g, np.full(n, self.S[","]), icans_st,
                     np.full(n, self.S[","])]
            cols += self._csv_reasons(e.icans, e.icans_time, s, reason_piece, reason_quote,
                                      iso0)
            cols += [np.full(n, self.S[","]), icans_m, np.full(n, self.S[","])]
            cols += self._csv_flags(e, flag_piece, flag_quote, soft)
            const("\n")
        else:
            lead = np.full(n, self.S[",\n "], np.int64)
            if self.first:
                lead[0] = self.S["[\n "]
            cols.append(lead)
            const('{\n  "patient_id": ')
            cols.append(pid)
            const(',\n  "time": "')
            cols.append(s + iso0)
            const('",\n  "day_post_infusion": ')
            cols.append(day)
            const(',\n  "crs_grade": ')
            cols.append(crs_g)
            const(',\n  "crs_status": "')
            cols.append(crs_st)
            const('",\n  "crs_reasons": ')
            cols += self._json_reasons(e.crs, e.crs_time, s, reason_piece, iso0)
            const(',\n  "crs_episode_max": ')
            cols.append(crs_m)
            const(',\n  "icans_grade": ')
            cols.append(icans_g)
            const(',\n  "icans_status": "')
            cols.append(icans_st)
            const('",\n  "icans_reasons": ')
            cols += self._json_reasons(e.icans, e.icans_time, s, reason_piece, iso0)
            const(',\n  "icans_episode_max": ')
            cols.append(icans_m)
            const(',\n  "flags": ')
            cols += self._json_flags(e, flag_piece, soft)
            const("\n }")
        self.first = False
        buf0, off0 = self.f.p.arrays()
        ids = np.stack(cols, axis=1).astype(np.int64)
        return _concat(ids, buf0, off0, self.iso[0], self.iso[1], TIME).tobytes()

    # ----------------------------------------------------------------------------- parts
    def _compact(self, ids: np.ndarray, times: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """The present entries of each row first, in slot order; as few columns as needed."""
        order = np.argsort(ids < 0, axis=1, kind="stable")
        width = int((ids >= 0).sum(axis=1).max(initial=0))
        ids = np.take_along_axis(ids, order, axis=1)[:, :width]
        if times is not None:
            times = np.take_along_axis(times, order, axis=1)[:, :width]
        return ids, times

    def _time_pieces(self, times: np.ndarray, s: np.ndarray, iso0: int) -> np.ndarray:
        rows = np.where(times == ROW_TIME, s[:, None], times)
        return rows.astype(np.int64) + iso0

    def _csv_reasons(self, ids: np.ndarray, times: np.ndarray, s: np.ndarray,
                     piece: np.ndarray, quote: np.ndarray, iso0: int) -> list[np.ndarray]:
        ids, times = self._compact(ids, times)
        assert times is not None
        n = len(s)
        quoted = quote[ids].any(axis=1) if ids.shape[1] else np.zeros(n, bool)
        q = np.where(quoted, self.S['"'], -1)
        out = [q]
        tp = self._time_pieces(times, s, iso0)
        for k in range(ids.shape[1]):
            present = ids[:, k] >= 0
            if k:
                out.append(np.where(present, self.S["; "], -1))
            out += [piece[ids[:, k]], np.where(present, tp[:, k], -1),
                    np.where(present, self.S[")"], -1)]
        out.append(q)
        return out

    def _soft(self, rows: np.ndarray) -> list[tuple[str, ...]] | None:
        """The soft-limit flags of the block's rows (None: no row has any)."""
        if not self.soft:
            return None
        found = [tuple(self.soft.get(int(r), ())) for r in rows]
        return found if any(found) else None

    def _soft_piece(self, msgs: tuple[str, ...]) -> tuple[int, bool]:
        fmt = self.f
        parts = [fmt.flag_piece("soft_limit", "review", m.split(": ", 1)[1]) for m in msgs]
        sep = "; " if self.csv else ",\n"
        return fmt.p.add(sep.join(t for t, _ in parts)), any(q for _, q in parts)

    def _csv_flags(self, e: Explained, piece: np.ndarray, quote: np.ndarray,
                   soft: list[tuple[str, ...]] | None) -> list[np.ndarray]:
        ids, _ = self._compact(e.flags, None)
        n = ids.shape[0]
        soft_ids = np.full(n, -1, np.int64)
        soft_quote = np.zeros(n, bool)
        if soft is not None:
            for i, msgs in enumerate(soft):
                if msgs:
                    soft_ids[i], soft_quote[i] = self._soft_piece(msgs)
        quoted = (quote[ids].any(axis=1) if ids.shape[1] else np.zeros(n, bool)) | soft_quote
        q = np.where(quoted, self.S['"'], -1)
        out = [q]
        for k in range(ids.shape[1]):
            present = ids[:, k] >= 0
            if k:
                out.append(np.where(present, self.S["; "], -1))
            out.append(piece[ids[:, k]])
        any_flag = ids[:, 0] >= 0 if ids.shape[1] else np.zeros(n, bool)
        out.append(np.where((soft_ids >= 0) & any_flag, self.S["; "], -1))
        out += [soft_ids, q]
        return out

    def _json_list(self, ids: np.ndarray, pieces: list[np.ndarray], extra: np.ndarray | None
                   ) -> list[np.ndarray]:
        """``[]`` or ``[\\n`` item ``,\\n`` item ... ``\\n  ]``."""
        n = ids.shape[0]
        present = ids[:, 0] >= 0 if ids.shape[1] else np.zeros(n, bool)
        if extra is not None:
            present = present | (extra >= 0)
        out = [np.where(present, self.S["[\n"], self.S["[]"])]
        out += pieces
        out.append(np.where(present, self.S["\n  ]"], -1))
        return out

    def _json_reasons(self, ids: np.ndarray, times: np.ndarray, s: np.ndarray,
                      piece: np.ndarray, iso0: int) -> list[np.ndarray]:
        ids, times = self._compact(ids, times)
        assert times is not None
        tp = self._time_pieces(times, s, iso0)
        parts: list[np.ndarray] = []
        for k in range(ids.shape[1]):
            present = ids[:, k] >= 0
            if k:
                parts.append(np.where(present, self.S[",\n"], -1))
            parts += [piece[ids[:, k]], np.where(present, tp[:, k], -1),
                      np.where(present, self.S['"\n   }'], -1)]
        return self._json_list(ids, parts, None)

    def _json_flags(self, e: Explained, piece: np.ndarray,
                    soft: list[tuple[str, ...]] | None) -> list[np.ndarray]:
        ids, _ = self._compact(e.flags, None)
        n = ids.shape[0]
        soft_ids = np.full(n, -1, np.int64)
        if soft is not None:
            for i, msgs in enumerate(soft):
                if msgs:
                    soft_ids[i] = self._soft_piece(msgs)[0]
        parts: list[np.ndarray] = []
        for k in range(ids.shape[1]):
            present = ids[:, k] >= 0
            if k:
                parts.append(np.where(present, self.S[",\n"], -1))
            parts.append(piece[ids[:, k]])
        any_flag = ids[:, 0] >= 0 if ids.shape[1] else np.zeros(n, bool)
        parts += [np.where((soft_ids >= 0) & any_flag, self.S[",\n"], -1), soft_ids]
        return self._json_list(ids, parts, soft_ids)

    def header(self) -> bytes:
        return (",".join(GRADE_FIELDS) + "\n").encode() if self.csv else b""

    def footer(self) -> bytes:
        if self.csv:
            return b""
        return b"[]\n" if self.first else b"\n]\n"


def write_grades(out: BinaryIO, g: GradedTimeline, fmt: str,
                 block: int = BLOCK_ROWS) -> None:
    """``g``'s results in input order to ``out`` as ``fmt`` ("csv", "json" or "parquet")."""
    if fmt == "parquet":
        from .columnar import write_parquet
        write_parquet(out, g, block)
        return
    w = GradeWriter(g, fmt)
    out.write(w.header())
    n = len(g.order)
    for lo in range(0, n, block):
        out.write(w.block(np.arange(lo, min(n, lo + block))))
    out.write(w.footer())


def grade_bytes(g: GradedTimeline, fmt: str, block: int = BLOCK_ROWS) -> bytes:
    buf = io.BytesIO()
    write_grades(buf, g, fmt, block)
    return buf.getvalue()


__all__: Sequence[str] = ("GradeWriter", "grade_bytes", "iso_times", "write_grades")
