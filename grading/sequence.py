"""Per-patient time order, and the vectorised look-ups the validation needs.

All arrays here are in *sorted* order: patients grouped, each patient's rows by time.
``ffill_index``: for every row, the position of the latest earlier-or-same row (of the same
patient) where a value was recorded, found with one cumulative maximum. The timeline itself
is graded by one compiled pass over this order (``kernel.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NO_ROW = -1
PARALLEL_FROM_ROWS = 200_000  # below this, threads cost more than they save


def parallel_workers(rows: int) -> int:
    """Threads for a job over ``rows`` rows (Arrow, numpy and the compiled pass release the GIL)."""
    return min(os.cpu_count() or 1, 4) if rows >= PARALLEL_FROM_ROWS else 1


@dataclass(frozen=True)
class PatientOrder:
    order: np.ndarray        # sorted position -> input position
    patient: np.ndarray      # patient code per sorted row
    start: np.ndarray        # sorted position of the first row of the row's patient
    time_ns: np.ndarray      # int64 ns UTC per sorted row
    end: np.ndarray          # sorted position just after the last row of the row's patient
    identity: bool = False   # the input was already in this order

    @classmethod
    def of(cls, patient: np.ndarray, time_ns: np.ndarray) -> PatientOrder:
        """Order rows by patient, then time. A file already grouped by patient with times
        rising inside each group (the usual case) keeps its order without sorting."""
        codes = patient.astype(np.int32, copy=False)
        n = len(codes)
        boundary = np.ones(n, bool)
        boundary[1:] = codes[1:] != codes[:-1]
        # grouped: no patient starts two groups of rows
        grouped = n == 0 or len(np.unique(codes[boundary])) == int(boundary.sum())
        rising = n < 2 or bool(np.all((time_ns[1:] > time_ns[:-1]) | boundary[1:]))
        if grouped and rising:
            order = np.arange(n, dtype=np.int32)
            first = boundary
        else:
            order = np.lexsort((time_ns, codes)).astype(np.int32)
            p = codes[order]
            first = np.ones(n, bool)
            first[1:] = p[1:] != p[:-1]
        identity = grouped and rising
        # each patient's first row, and its number of rows, repeated over its rows
        group_starts = np.flatnonzero(first).astype(np.int32)
        sizes = np.diff(np.r_[group_starts, n]).astype(np.int32)
        return cls(order, np.repeat(np.arange(len(sizes), dtype=np.int32), sizes),
                   np.repeat(group_starts, sizes), time_ns if identity else time_ns[order],
                   np.repeat(group_starts + sizes, sizes), identity)

    def __len__(self) -> int:
        return len(self.order)

    def blocks(self, parts: int) -> list[tuple[int, int]]:
        """Up to ``parts`` slices of sorted positions, each holding whole patients."""
        n = len(self.order)
        if parts <= 1 or n == 0:
            return [(0, n)]
        starts = np.flatnonzero(np.r_[True, self.start[1:] != self.start[:-1]])
        cuts = sorted({int(starts[np.searchsorted(starts, n * i // parts)])
                       for i in range(1, parts) if np.searchsorted(starts, n * i // parts)
                       < len(starts)} - {0})
        edges = [0, *cuts, n]
        return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]

    def sort(self, values: np.ndarray) -> np.ndarray:
        return values if self.identity else values[self.order]

    def unsort(self, values: np.ndarray) -> np.ndarray:
        if self.identity:
            return values
        out = np.empty_like(values)
        out[self.order] = values
        return out

    @cached_property
    def positions(self) -> np.ndarray:
        """0, 1, ..., n - 1: every row's own sorted position (made once, read-only)."""
        positions = np.arange(len(self.order), dtype=np.int32)
        positions.flags.writeable = False
        return positions

    @cached_property
    def sorted_position(self) -> np.ndarray:
        """Input position -> sorted position."""
        if self.identity:
            return self.positions
        inverse = np.empty(len(self.order), np.int32)
        inverse[self.order] = self.positions
        return inverse

    @cached_property
    def first_rows(self) -> np.ndarray:
        """The sorted position of each patient's first row."""
        return np.flatnonzero(self.start == self.positions)

    def ffill_index(self, recorded: np.ndarray) -> np.ndarray:
        """Sorted position of the latest row at or before each row where ``recorded``; -1 none."""
        n = len(recorded)
        if n and recorded.all():
            return self.positions
        if not recorded.any():
            return np.full(n, NO_ROW, np.int32)
        idx = np.where(recorded, self.positions, np.int32(NO_ROW))
        np.maximum.accumulate(idx, out=idx)
        idx[idx < self.start] = NO_ROW  # the latest record was another patient's
        return idx

    def patient_fill(self, values: np.ndarray) -> np.ndarray:
        """Per-patient value carried forward, and back to the rows before its first record."""
        rec = ~np.isnan(values)
        fwd = self.ffill_index(rec)
        return self.take(values, np.where(fwd >= 0, fwd, self.first_index(rec)), np.nan)

    def first_index(self, recorded: np.ndarray) -> np.ndarray:
        """Sorted position of each patient's first row where ``recorded``, on every row; -1 none."""
        n = len(recorded)
        if n == 0:
            return np.zeros(0, np.int32)
        following = np.where(recorded, self.positions, np.int32(n))[::-1]
        np.minimum.accumulate(following, out=following)  # the next recorded row at or after
        first = following[::-1][self.start]
        return np.where(first < self.end, first, np.int32(NO_ROW))

    def take(self, values: np.ndarray, idx: np.ndarray, blank: object) -> np.ndarray:
        """``values[idx]`` with ``blank`` where idx is -1."""
        if idx is self.positions:
            return values
        return np.concatenate([values, np.array([blank], values.dtype)])[idx]  # -1: the blank
