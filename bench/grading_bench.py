"""Grading speed against a bare CSV read, measured in one run (prints ratios, asserts nothing).

    python bench/grading_bench.py [--patients 3000] [--days 14] [--repeat 3]

Builds a synthetic cohort (bench/cohort.py; 3,000 patients x 14 days hourly = 1,011,000 rows),
writes it as canonical CSV, and prints:
- bare ``pandas.read_csv`` of the file;
- the engine: parse + validate + grade (``grading.read_csv`` then ``grading.grade``; writing the
  output and the per-row reason text are excluded);
- their ratio, rows per second, the engine's peak memory (max RSS of a fresh process that only
  imports the engine and grades the file), and the grading time at full size over a tenth of
  the patients (linear growth gives about 10).
Times are the best of ``--repeat`` runs; the machine is shared, so compare within one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import grading
from bench.cohort import cohort


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def engine(path: Path) -> None:
    grading.grade(grading.read_csv(path))


def peak_rss_mb(path: Path) -> float:
    code = ("import resource, sys, grading; grading.grade(grading.read_csv(sys.argv[1])); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, text=True,
                         capture_output=True, cwd=Path(__file__).resolve().parents[1])
    return int(out.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full, tenth = Path(tmp) / "cohort.csv", Path(tmp) / "cohort_tenth.csv"
        t = time.perf_counter()
        df = cohort(args.patients, args.days)
        df.to_csv(full, index=False)
        df[df["patient_id"].isin(df["patient_id"].unique()[: args.patients // 10])].to_csv(
            tenth, index=False)
        rows, rows_tenth = len(df), len(pd.read_csv(tenth, usecols=["patient_id"]))
        del df
        print(f"cohort: {rows:,} rows ({args.patients} patients x {args.days} days hourly), "
              f"{full.stat().st_size / 1e6:.0f} MB, built in {time.perf_counter() - t:.1f} s")
        engine(tenth)  # warm up imports and caches
        read = best(lambda: pd.read_csv(full), args.repeat)
        eng = best(lambda: engine(full), args.repeat)
        eng_tenth = best(lambda: engine(tenth), args.repeat)
        rss = peak_rss_mb(full)
    print(f"bare pandas.read_csv:          {read:7.2f} s")
    print(f"engine parse+validate+grade:   {eng:7.2f} s")
    print(f"engine / bare read:            {eng / read:7.2f}   (target <= 2)")
    print(f"rows per second:               {rows / eng:,.0f}")
    print(f"engine peak memory (max RSS):  {rss:7.0f} MB (target < 2048)")
    print(f"grading {rows:,} vs {rows_tenth:,} rows: {eng / eng_tenth:5.2f} x "
          f"for {rows / rows_tenth:.1f} x the rows (target <= 11)")


if __name__ == "__main__":
    main()
