"""Peak memory of ``python -m grading grade`` writing its whole output (prints figures, asserts
nothing).

    python bench/output_memory_bench.py [--patients 600] [--days 14] [--format json]

Builds a synthetic cohort (bench/cohort.py; 600 patients x 14 days hourly = 202,200 rows),
writes it as canonical CSV, and runs in fresh processes, each measured by its maximum RSS:
- the engine alone: read, validate and grade (``grading.read_csv`` then ``grading.grade``);
- the command: ``python -m grading grade FILE`` with its whole output written to /dev/null;
- the command on a quarter of the patients.
The command writes a block of rows at a time as it goes (into /dev/null, which is no regular
file, through a spool: memory up to 8 MB, then a temporary file), so its peak should sit a
bounded amount above the engine's and grow no faster than the engine's with the rows; before
it held every result, the list of row objects and the whole text at once (2.36 GB for
202,200 rows on 2026-12-06).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cohort import cohort  # noqa: E402

ENGINE_ONLY = ("import resource, sys, grading; grading.grade(grading.read_csv(sys.argv[1])); "
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def peak_mb(args: list[str]) -> tuple[float, float, int]:
    """Max RSS (MB) of a fresh child process, its wall time (s) and its exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    with open("/dev/null", "w") as sink:
        code = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=sink).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN holds the largest child so far: run the smaller jobs first
    return max(after, before) / 1024, time.perf_counter() - t, code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=600)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--format", choices=("json", "csv"), default="json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full, quarter = Path(tmp) / "cohort.csv", Path(tmp) / "cohort_quarter.csv"
        df = cohort(args.patients, args.days)
        df.to_csv(full, index=False)
        ids = df["patient_id"].unique()[: args.patients // 4]
        small = df[df["patient_id"].isin(ids)]
        small.to_csv(quarter, index=False)
        rows, rows_quarter = len(df), len(small)
        del df, small
        print(f"cohort: {rows:,} rows ({args.patients} patients x {args.days} days hourly), "
              f"{full.stat().st_size / 1e6:.0f} MB of CSV")
        command = ["-m", "grading", "grade", "--format", args.format]
        q_cmd, q_s, q_code = peak_mb([*command, str(quarter)])
        engine, _, e_code = peak_mb(["-c", ENGINE_ONLY, str(full)])
        cmd, cmd_s, c_code = peak_mb([*command, str(full)])
    assert (q_code, e_code, c_code) == (0, 0, 0), "a run failed"
    print(f"command, {rows_quarter:,} rows:          {q_cmd:7.0f} MB max RSS ({q_s:.0f} s)")
    print(f"engine alone, {rows:,} rows:     {engine:7.0f} MB max RSS")
    print(f"command, {rows:,} rows:          {cmd:7.0f} MB max RSS ({cmd_s:.0f} s)")
    print(f"command above the engine alone:   {cmd - engine:7.0f} MB")
    print(f"command, {rows / rows_quarter:.1f} x the rows: {cmd / q_cmd:7.2f} x the memory")


if __name__ == "__main__":
    main()
