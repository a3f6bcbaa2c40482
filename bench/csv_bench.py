"""Formula-safe CSV writing (grading.csvsafe) against Python's csv.writer: the price of the
check on every row. Prints the ratio; run ``python3 -m bench.csv_bench``."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable

from grading import csvsafe

ROW = ["P-00123", "2024-03-01T08:00:00+00:00", 3, 1, "final",
       "CRS-R1: temperature 38.4 °C: fever (>= 38.0 °C) (2024-03-01T08:00:00+00:00)", "", 0,
       "not_evaluable", "ICANS-R2: no ICE or CAPD in the last 12 h", "", ""]
ROWS = 200_000


def best_of(n: int, write: Callable[[io.StringIO], object]) -> float:
    times = []
    for _ in range(n):
        out = io.StringIO()
        w = write(out)
        start = time.perf_counter()
        for _ in range(ROWS):
            w.writerow(ROW)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    plain = best_of(3, lambda out: csv.writer(out, lineterminator="\n"))
    safe = best_of(3, csvsafe.writer)
    print(f"{ROWS} rows of a grade CSV: csv.writer {plain:.2f} s, csvsafe {safe:.2f} s, "
          f"ratio {safe / plain:.2f}")


if __name__ == "__main__":
    main()
