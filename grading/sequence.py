"""Per-patient time order and the vectorised look-ups the timeline needs.

All arrays here are in *sorted* order: patients grouped, each patient's rows by time.
``ffill_index`` is the heart of it: for every row, the position of the latest earlier-or-same
row (of the same patient) where a value was recorded, found with one cumulative maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NO_ROW = -1


@dataclass(frozen=True)
class PatientOrder:
    order: np.ndarray        # sorted position -> input position
    patient: np.ndarray      # patient code per sorted row
    start: np.ndarray        # sorted position of the first row of the row's patient
    time_ns: np.ndarray      # int64 ns UTC per sorted row

    @classmethod
    def of(cls, patient_ids: np.ndarray, time_ns: np.ndarray) -> PatientOrder:
        codes = pd.factorize(patient_ids)[0].astype(np.int64)
        n = len(codes)
        if n and np.all(np.diff(codes) >= 0) and np.all(
                (np.diff(time_ns) > 0) | (np.diff(codes) > 0)):
            order = np.arange(n)
        else:
            order = np.lexsort((time_ns, codes))
        p = codes[order]
        first = np.ones(n, bool)
        first[1:] = p[1:] != p[:-1]
        start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else first.astype(int)
        return cls(order, p, start, time_ns[order])

    def __len__(self) -> int:
        return len(self.order)

    def sort(self, values: np.ndarray) -> np.ndarray:
        return values[self.order]

    def unsort(self, values: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def ffill_index(self, recorded: np.ndarray) -> np.ndarray:
        """Sorted position of the latest row at or before each row where ``recorded``; -1 none."""
        idx = np.where(recorded, np.arange(len(recorded)), NO_ROW)
        if len(idx):
            idx = np.maximum.accumulate(idx)
        return np.where(idx >= self.start, idx, NO_ROW)

    def previous_index(self, recorded: np.ndarray) -> np.ndarray:
        """Like ``ffill_index`` but strictly before each row."""
        idx = self.ffill_index(recorded)
        prev = np.empty_like(idx)
        if len(idx):
            prev[0] = NO_ROW
            prev[1:] = idx[:-1]
        return np.where(prev >= self.start, prev, NO_ROW)

    def patient_fill(self, values: np.ndarray) -> np.ndarray:
        """Per-patient value carried forward, and back to the rows before its first record."""
        rec = ~np.isnan(values)
        fwd = self.ffill_index(rec)
        first = self.first_index(rec)
        idx = np.where(fwd >= 0, fwd, first)
        return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)

    def first_index(self, recorded: np.ndarray) -> np.ndarray:
        """Sorted position of each patient's first row where ``recorded``, on every row; -1 none."""
        pos = np.where(recorded, np.arange(len(recorded)), np.iinfo(np.int64).max)
        first = pd.Series(pos).groupby(self.patient).transform("min").to_numpy()
        return np.where(first == np.iinfo(np.int64).max, NO_ROW, first)

    def take(self, values: np.ndarray, idx: np.ndarray, blank: object) -> np.ndarray:
        """``values[idx]`` with ``blank`` where idx is -1."""
        return np.where(idx >= 0, values[np.maximum(idx, 0)], blank)

    def age_ns(self, idx: np.ndarray) -> np.ndarray:
        """How long ago (ns) the row at ``idx`` was, for each row; max int where idx is -1."""
        return np.where(idx >= 0, self.time_ns - self.time_ns[np.maximum(idx, 0)],
                        np.iinfo(np.int64).max)
