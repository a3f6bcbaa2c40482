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
import queue
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

import numpy as np
import pandas as pd
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import csvsafe
from .explain import ROW_TIME, Explainer, when
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


# the skeleton's pieces, by position in ``k``: the 13 separators before each of the 12 fields
# and after the last, then these
LEAD, LEAD_FIRST, QUOTE, ITEM_SEP, REASON_CLOSE, LIST_OPEN, LIST_EMPTY, LIST_CLOSE = range(13, 21)


@njit(cache=CACHE, nogil=True, inline="always")
def _reasons(json: bool, i: int, ids: np.ndarray, times: np.ndarray, own: int,
             reason_piece: np.ndarray, reason_quote: np.ndarray, k: np.ndarray,
             seq: np.ndarray, m: int) -> int:  # pragma: no cover (compiled)
    """Row i's reason entries (``ids``/``times``: per slot, -1 none; a time ROW_TIME is the
    row's own, sorted row ``own``) into ``seq`` from ``m``; returns the new end."""
    present = quoted = False
    for j in range(ids.shape[1]):
        if ids[i, j] >= 0:
            present = True
            quoted = quoted or reason_quote[ids[i, j]]
    seq[m] = ((k[LIST_OPEN] if present else k[LIST_EMPTY]) if json
              else (k[QUOTE] if quoted else -1))
    m += 1
    sep = False
    for j in range(ids.shape[1]):
        e = ids[i, j]
        if e < 0:
            continue
        if sep:
            seq[m] = k[ITEM_SEP]
            m += 1
        sep = True
        t = times[i, j]
        seq[m] = reason_piece[e]
        seq[m + 1] = TIME + (own if t == ROW_TIME else t)
        seq[m + 2] = k[REASON_CLOSE]
        m += 3
    seq[m] = ((k[LIST_CLOSE] if present else -1) if json
              else (k[QUOTE] if quoted else -1))
    return m + 1


@njit(cache=CACHE, nogil=True)
def _sequence(json: bool, first: bool, row: np.ndarray, s: np.ndarray, crs: np.ndarray,
              crs_time: np.ndarray, icans: np.ndarray, icans_time: np.ndarray,
              flags: np.ndarray, soft: np.ndarray, soft_quote: np.ndarray,
              reason_piece: np.ndarray, reason_quote: np.ndarray, flag_piece: np.ndarray,
              flag_quote: np.ndarray, k: np.ndarray,
              seq: np.ndarray) -> int:  # pragma: no cover
    """The pieces of a block of rows into ``seq`` (long enough: ``_sequence_bound``; returns
    how many), in the order ``output.write_grades_csv`` (or ``_json``)
    writes them (-1: nothing).

    ``row[i]``: row i's pieces for patient, time, day, CRS grade, CRS status, CRS episode
    maximum, ICANS grade, ICANS status, ICANS episode maximum; ``s[i]``: its sorted row;
    ``crs``/``crs_time`` (and ``icans``): its reason entries and the sorted rows of their times,
    per slot (``explain.Explained``); ``flags``: its flag entries; ``soft``: the piece of its
    soft-limit flags (-1 none); ``k``: the skeleton."""
    n = row.shape[0]
    m = 0
    for i in range(n):
        if json:
            seq[m] = k[LEAD_FIRST] if first and i == 0 else k[LEAD]
            m += 1
        for f in range(12):  # the fields: r0 r1 r2 r3 r4 CRS r5 r6 r7 ICANS r8 FLAGS
            seq[m] = k[f]
            m += 1
            if f == 5:
                m = _reasons(json, i, crs, crs_time, s[i], reason_piece, reason_quote, k,
                             seq, m)
            elif f == 9:
                m = _reasons(json, i, icans, icans_time, s[i], reason_piece, reason_quote, k,
                             seq, m)
            elif f == 11:  # flags, then the soft-limit flags
                present, quoted = soft[i] >= 0, soft_quote[i]
                for j in range(flags.shape[1]):
                    if flags[i, j] >= 0:
                        present = True
                        quoted = quoted or flag_quote[flags[i, j]]
                seq[m] = ((k[LIST_OPEN] if present else k[LIST_EMPTY]) if json
                          else (k[QUOTE] if quoted else -1))
                m += 1
                sep = False
                for j in range(flags.shape[1]):
                    if flags[i, j] < 0:
                        continue
                    if sep:
                        seq[m] = k[ITEM_SEP]
                        m += 1
                    sep = True
                    seq[m] = flag_piece[flags[i, j]]
                    m += 1
                if soft[i] >= 0:
                    if sep:
                        seq[m] = k[ITEM_SEP]
                        m += 1
                    seq[m] = soft[i]
                    m += 1
                seq[m] = ((k[LIST_CLOSE] if present else -1) if json
                          else (k[QUOTE] if quoted else -1))
                m += 1
            else:
                seq[m] = row[i, f if f < 5 else f - 1 if f < 9 else f - 2]
                m += 1
        seq[m] = k[12]
        m += 1
    return m


def _sequence_bound(crs: np.ndarray, icans: np.ndarray, flags: np.ndarray) -> int:
    """At most how many pieces ``_sequence`` writes for a block."""
    return crs.shape[0] * (30 + 4 * (crs.shape[1] + icans.shape[1]) + 2 * flags.shape[1])


@njit(cache=CACHE, nogil=True)
def _length(seq: np.ndarray, off0: np.ndarray, off1: np.ndarray) -> int:  # pragma: no cover
    """How many bytes the pieces ``seq`` make (below TIME: the first table; from TIME: a time
    in the second; -1: nothing)."""
    total = 0
    for p in seq:
        if p >= TIME:
            total += off1[p - TIME + 1] - off1[p - TIME]
        elif p >= 0:
            total += off0[p + 1] - off0[p]
    return total


@intrinsic
def _copy(typingctx, dst, at, src, lo, n):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``dst[at:at + n] = src[lo:lo + n]`` for uint8 arrays, as one ``memcpy`` (numba's slice
    assignment costs some 20 ns per call, and most pieces are a few bytes long)."""
    sig = types.void(dst, types.int64, src, types.int64, types.int64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        d, d_at, s, s_lo, count = args
        dst_data = context.make_array(signature.args[0])(context, builder, d).data
        src_data = context.make_array(signature.args[2])(context, builder, s).data
        cgutils.raw_memcpy(builder, builder.gep(dst_data, [d_at]),
                           builder.gep(src_data, [s_lo]), count, 1)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=CACHE, nogil=True)
def _fill(seq: np.ndarray, buf0: np.ndarray, off0: np.ndarray, buf1: np.ndarray,
          off1: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """The bytes of the pieces ``seq`` into ``out`` (long enough: ``_length``; a piece that
    would not fit raises rather than write past the end)."""
    pos = 0
    for p in seq:
        if p >= TIME:
            buf, lo, hi = buf1, off1[p - TIME], off1[p - TIME + 1]
        elif p >= 0:
            buf, lo, hi = buf0, off0[p], off0[p + 1]
        else:
            continue
        if pos + hi - lo > len(out) or lo < 0 or hi > len(buf):
            raise ValueError("_fill: the output buffer is too short for its pieces")
        _copy(out, pos, buf, lo, hi - lo)
        pos += hi - lo


# ------------------------------------------------------------------------------- times
def iso_times(ns: np.ndarray, tz: object) -> tuple[np.ndarray, np.ndarray]:
    """``datetime.isoformat()`` of every time (int64 ns, UTC) in the ward zone, as one buffer
    and its offsets: whole seconds in years 1970-9999 with a ``+HH:MM`` offset are formatted
    by a compiled loop, anything else (microseconds, an offset with seconds) one by one."""
    n = len(ns)
    if not n:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    local_ns = _local_ns(ns, tz)
    offset_s = (local_ns - ns) // 1_000_000_000
    lo = int(offset_s.min())
    codes = offset_s - lo
    present = np.flatnonzero(np.bincount(codes))
    suffixes = {int(c): datetime.fromtimestamp(0, timezone(timedelta(seconds=int(c) + lo)))
                .isoformat()[19:] for c in present}
    simple = (all(len(x) == 6 for x in suffixes.values()) and not np.any(ns % 1_000_000_000)
              and int(local_ns.min()) >= 0 and int(local_ns.max()) < _YEAR_10000_NS)
    if simple:
        table = np.zeros((int(present.max()) + 1, 6), np.uint8)
        for c, x in suffixes.items():
            table[c] = np.frombuffer(x.encode(), np.uint8)
        out = np.empty((n, 25), np.uint8)
        _iso(local_ns // 1_000_000_000, codes, table, out)
        return out.ravel(), np.arange(n + 1, dtype=np.int64) * 25
    parts = [when(int(x), tz).isoformat().encode() for x in ns]
    lengths = np.fromiter((len(p) for p in parts), np.int64, n)
    return (np.frombuffer(b"".join(parts), np.uint8).copy(),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


_YEAR_10000_NS = 253_402_300_800 * 1_000_000_000  # 10000-01-01T00:00:00


@njit(cache=CACHE, nogil=True)
def _iso(local_s: np.ndarray, offset: np.ndarray, suffix: np.ndarray,
         out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """YYYY-MM-DDTHH:MM:SS and the offset's six characters, for seconds since 1970 (local
    wall time); the civil date by H. Hinnant's days-from-civil inverse."""
    for i in range(local_s.shape[0]):
        t = local_s[i]
        days, sec = t // 86400, t % 86400
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        y = yoe + era * 400
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        d = doy - (153 * mp + 2) // 5 + 1
        m = mp + 3 if mp < 10 else mp - 9
        if m <= 2:
            y += 1
        hh, mm, ss = sec // 3600, sec // 60 % 60, sec % 60
        o = out[i]
        o[0], o[1], o[2], o[3] = 48 + y // 1000, 48 + y // 100 % 10, 48 + y // 10 % 10, \
            48 + y % 10
        o[4], o[5], o[6], o[7] = 45, 48 + m // 10, 48 + m % 10, 45
        o[8], o[9], o[10] = 48 + d // 10, 48 + d % 10, 84
        o[11], o[12], o[13] = 48 + hh // 10, 48 + hh % 10, 58
        o[14], o[15], o[16] = 48 + mm // 10, 48 + mm % 10, 58
        o[17], o[18] = 48 + ss // 10, 48 + ss % 10
        for k in range(6):
            o[19 + k] = suffix[offset[i], k]


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
_CSV_SKELETON = (None, *[","] * 11, "\n",                   # before each field, at the end
                 None, None, '"', "; ", ")", None, None, None)
_JSON_SKELETON = ('{\n  "patient_id": ', ',\n  "time": "', '",\n  "day_post_infusion": ',
                  ',\n  "crs_grade": ', ',\n  "crs_status": "', '",\n  "crs_reasons": ',
                  ',\n  "crs_episode_max": ', ',\n  "icans_grade": ',
                  ',\n  "icans_status": "', '",\n  "icans_reasons": ',
                  ',\n  "icans_episode_max": ', ',\n  "flags": ', "\n }",
                  ",\n ", "[\n ", None, ",\n", '"\n   }', "[\n", "[]", "\n  ]")
class GradeWriter:
    """Writes ``g``'s results in input order, ``BLOCK_ROWS`` at a time, as CSV or JSON bytes."""

    def __init__(self, g: GradedTimeline, fmt: str) -> None:
        self.g, self.csv = g, fmt == "csv"
        self.ex = Explainer(g)
        self.f: _Format = _Csv(self.ex) if self.csv else _Json(self.ex)
        a = g.assessments
        self._iso: tuple[np.ndarray, np.ndarray] | None = None  # every row's time: ``iso``
        p = self.f.p
        cell = _csv_cell if self.csv else _js
        self.patient = np.array([p.add(cell(x)) for x in a.patients], np.int64)
        self.status = np.array([p.add(x) for x in STATUSES], np.int64)
        self.soft = {row: msgs for row, msgs in a.soft_flags.items() if msgs}
        self._soft_rows = np.array(sorted(self.soft), np.int64)
        self.k = np.array([-1 if t is None else p.add(t) for t in (
            _CSV_SKELETON if self.csv else _JSON_SKELETON)], np.int64)
        self.first = True
        self._blank = p.add("" if self.csv else "null")
        self._num_lo, self._num = 0, np.array([p.add(str(x)) for x in range(16)], np.int64)

    def _numbers(self, values: np.ndarray, blank: np.ndarray) -> np.ndarray:
        """Pieces of whole numbers (empty in CSV, null in JSON where ``blank``), from a table
        of the numbers seen so far."""
        v = np.where(blank, 0, values).astype(np.int64)
        lo, hi = int(v.min(initial=0)), int(v.max(initial=0))
        if lo < self._num_lo or hi >= self._num_lo + len(self._num):
            new_lo = min(lo, self._num_lo)
            span = max(hi, self._num_lo + len(self._num) - 1) - new_lo + 1
            if span > 1 << 20:  # a day count far out: number the values instead
                codes, uniques = pd.factorize(v)
                table = np.array([self.f.p.add(str(int(u))) for u in uniques], np.int64)
                return np.where(blank, self._blank, table[codes])
            self._num = np.array([self.f.p.add(str(x)) for x in range(new_lo, new_lo + span)],
                                 np.int64)
            self._num_lo = new_lo
        return np.where(blank, self._blank, self._num[v - self._num_lo])

    @property
    def iso(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sorted row's time as text (``iso_times``), made on first use."""
        if self._iso is None:
            self._iso = iso_times(self.g.order.time_ns, self.g.assessments.tz)
        return self._iso

    def block(self, rows: np.ndarray) -> np.ndarray:
        """The bytes (uint8) of input rows ``rows`` (consecutive, in input order)."""
        out, n = _render(np.zeros(0, np.uint8), np.zeros(0, np.int64), *self.prepare(rows),
                         *self.iso)
        return out[:n]

    def prepare(self, rows: np.ndarray) -> tuple[object, ...]:
        """What ``_render`` needs for rows ``rows`` but the times (``iso``): explained, as
        numbers (holds the GIL)."""
        g, c = self.g, self.g.col
        s = g.sorted_of(rows)
        e = self.ex.explain(s)
        reason_piece, reason_quote, flag_piece, flag_quote = self.f.entries()
        row = np.stack([
            self.patient[g.assessments.columns["patient_id"][rows]], s + TIME,
            self._numbers(c["day_post_infusion"][s], np.isnan(c["day_post_infusion"][s])),
            self._numbers(c["crs_grade"][s], c["crs_grade"][s] == NE_GRADE),
            self.status[c["crs_status"][s]],
            self._numbers(c["episode_max"][s], c["episode_max"][s] < 0),
            self._numbers(c["icans_grade"][s], c["icans_grade"][s] == NE_GRADE),
            self.status[c["icans_status"][s]],
            self._numbers(c["icans_episode_max"][s], c["icans_episode_max"][s] < 0)], axis=1)
        soft, soft_quote = self._soft(rows)
        buf0, off0 = self.f.p.arrays()
        first, self.first = self.first, False
        return (not self.csv, first, row, e.s, e.crs, e.crs_time, e.icans, e.icans_time,
                e.flags, soft, soft_quote, reason_piece, reason_quote, flag_piece, flag_quote,
                self.k, buf0, off0)

    def _soft(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's soft-limit flags as one piece (-1 none), and whether it needs quotes."""
        piece = np.full(len(rows), -1, np.int64)
        quote = np.zeros(len(rows), bool)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        sep = "; " if self.csv else ",\n"
        for r in self._soft_rows[np.searchsorted(self._soft_rows, lo):
                                 np.searchsorted(self._soft_rows, hi)]:
            parts = [self.f.flag_piece("soft_limit", "review", m.split(": ", 1)[1])
                     for m in self.soft[int(r)]]
            piece[r - lo] = self.f.p.add(sep.join(t for t, _ in parts))
            quote[r - lo] = any(q for _, q in parts)
        return piece, quote

    def header(self) -> bytes:
        return (",".join(GRADE_FIELDS) + "\n").encode() if self.csv else b""

    def footer(self) -> bytes:
        if self.csv:
            return b""
        return b"[]\n" if self.first else b"\n]\n"


def _render(into: np.ndarray, seq: np.ndarray, json: bool, first: bool, row: np.ndarray,
            s: np.ndarray, crs: np.ndarray, crs_time: np.ndarray, icans: np.ndarray,
            icans_time: np.ndarray, flags: np.ndarray, soft: np.ndarray,
            soft_quote: np.ndarray,
            reason_piece: np.ndarray, reason_quote: np.ndarray, flag_piece: np.ndarray,
            flag_quote: np.ndarray, k: np.ndarray, buf0: np.ndarray, off0: np.ndarray,
            buf1: np.ndarray, off1: np.ndarray) -> tuple[np.ndarray, int]:
    """A prepared block's bytes (compiled, without the GIL), written into ``into`` when it is
    long enough (a buffer used again costs no fresh memory), else into a new one: (the
    buffer, how many bytes)."""
    if len(seq) < _sequence_bound(crs, icans, flags):
        seq = np.empty(_sequence_bound(crs, icans, flags), np.int64)
    m = _sequence(json, first, row, s, crs, crs_time, icans, icans_time, flags, soft,
                  soft_quote, reason_piece, reason_quote, flag_piece, flag_quote, k, seq)
    seq = seq[:m]
    n = _length(seq, off0, off1)
    if len(into) < n:
        into = np.empty(n + n // 4, np.uint8)
    _fill(seq, buf0, off0, buf1, off1, into)
    return into, n


IN_FLIGHT = 2  # blocks rendered or written while the next is explained


def write_grades(out: BinaryIO, g: GradedTimeline, fmt: str, block: int | None = None) -> None:
    """``g``'s results in input order to ``out`` as ``fmt`` ("csv", "json" or "parquet").

    The main thread explains block after block; meanwhile one worker renders each block's
    bytes and another writes them, in order (both run without the GIL)."""
    block = block or BLOCK_ROWS
    if fmt == "parquet":
        from .columnar import write_parquet
        write_parquet(out, g, block)
        return
    w = GradeWriter(g, fmt)
    out.write(w.header())
    n = len(g.order)

    buffers: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()  # used again, block after block
    for _ in range(IN_FLIGHT + 2):
        buffers.put(np.zeros(0, np.uint8))

    pieces = [np.zeros(0, np.int64)]  # the renderer's piece list, used again (one renderer)

    def render(args: tuple[object, ...]) -> tuple[np.ndarray, int]:
        bound = _sequence_bound(args[4], args[6], args[8])  # type: ignore[arg-type]
        if len(pieces[0]) < bound:
            pieces[0] = np.empty(bound, np.int64)
        return _render(buffers.get(), pieces[0], *args, *w.iso)  # type: ignore[arg-type]

    def write(rendered: Future[tuple[np.ndarray, int]]) -> None:
        buf, size = rendered.result()
        out.write(memoryview(buf)[:size])  # type: ignore[arg-type]
        buffers.put(buf)

    # three stages at once: explain (here), render (compiled, without the GIL), write
    with ThreadPoolExecutor(1) as renderer, ThreadPoolExecutor(1) as writer:
        pending: deque[Future[None]] = deque()
        for lo in range(0, n, block):
            rendered = renderer.submit(render, w.prepare(np.arange(lo, min(n, lo + block))))
            pending.append(writer.submit(write, rendered))
            while len(pending) > IN_FLIGHT or (pending and pending[0].done()):
                pending.popleft().result()  # in order; a failure is raised here
        while pending:
            pending.popleft().result()
    out.write(w.footer())


def grade_bytes(g: GradedTimeline, fmt: str, block: int | None = None) -> bytes:
    buf = io.BytesIO()
    write_grades(buf, g, fmt, block)
    return buf.getvalue()


__all__: Sequence[str] = ("GradeWriter", "grade_bytes", "iso_times", "write_grades")
