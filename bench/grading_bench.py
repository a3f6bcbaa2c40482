"""Grading speed against a bare CSV read, measured in one run (prints ratios, asserts nothing).

    python bench/grading_bench.py [--patients 3000] [--days 14] [--repeat 5]

Builds a synthetic cohort (bench/cohort.py; 3,000 patients x 14 days hourly = 1,011,000 rows),
writes it as canonical CSV, and prints:
- end to end, as a user runs it: a process that only does ``pandas.read_csv(FILE)`` against
  ``python -m grading grade FILE --format csv > out`` (and json, parquet), process start and
  output writing included, with their ratios (targets: csv <= 3, json <= 4; their CPU time,
  user + system, too, which a busy machine stretches less than the wall clock), the command's
  peak memory (target < 2 GB) and its time on all the rows over a tenth of them (target <= 11);
- bare ``pandas.read_csv`` of the file;
- the engine: parse + validate + grade (``grading.read_csv`` then ``grading.grade``; writing the
  output and the per-row reason text are excluded);
- their ratio, rows per second, the engine's peak memory (max RSS of a fresh process that only
  imports the engine and grades the file), and the grading time at full size over a tenth of
  the patients (linear growth gives about 10);
- what a fresh process pays before its first grade: importing the engine and loading the
  compiled pass from numba's cache, and compiling it when there is no cache (first run).
Times are the best of ``--repeat`` rounds, each round timing the bare read and the engine one
after the other; the machine is shared, so compare within one run (the per-round ratios show
how much it varied).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import grading
from bench.cohort import cohort


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def engine(path: Path) -> None:
    grading.grade(grading.read_csv(path))


def peak_rss_mb(path: Path) -> float:
    code = ("import resource, sys, grading; grading.grade(grading.read_csv(sys.argv[1])); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    return int(_fresh_process(code, str(path))) / 1024


def first_grade_s(cache_dir: str | None) -> float:
    """Seconds from a fresh process's start to its first graded row (imports included); with
    an empty ``cache_dir`` numba compiles the pass, as on the very first run."""
    code = ("import time; t = time.perf_counter(); import grading; "
            "grading.grade(grading.read_csv(b'patient_id,time\\nP1,2026-01-01T08:00\\n')); "
            "print(time.perf_counter() - t)")
    return float(_fresh_process(code, cache_dir=cache_dir))


def _fresh_process(code: str, *args: str, cache_dir: str | None = None) -> str:
    env = dict(os.environ) | ({"NUMBA_CACHE_DIR": cache_dir} if cache_dir else {})
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, text=True, env=env,
                         capture_output=True, cwd=Path(__file__).resolve().parents[1])
    return out.stdout.strip()


def run_process(argv: list[str], out: Path) -> tuple[float, float, float]:
    """(wall seconds, peak memory in MB, CPU seconds: user + system) of one process writing its
    stdout to ``out``."""
    with out.open("wb") as f:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=f, cwd=Path(__file__).resolve().parents[1])
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{argv} failed with exit status {p.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def command(path: Path, fmt: str) -> list[str]:
    return [sys.executable, "-m", "grading", "grade", str(path), "--format", fmt]


def end_to_end(full: Path, tenth: Path, tmp: Path, repeat: int) -> None:
    """The command as a user runs it, against a bare read in a process of its own."""
    bare = [sys.executable, "-c", f"import pandas; pandas.read_csv({str(full)!r})"]
    out = tmp / "out"
    run_process(command(tenth, "csv"), out)  # warm: the compiled code loaded from the cache
    rounds = []
    for _ in range(repeat):
        r = {"read": run_process(bare, out)}
        for fmt in ("csv", "json", "parquet"):
            r[fmt] = run_process(command(full, fmt), out)
        r["csv_tenth"] = run_process(command(tenth, "csv"), out)
        rounds.append(r)
    best = {k: min(r[k][0] for r in rounds) for k in rounds[0]}
    cpu = {k: min(r[k][2] for r in rounds) for k in rounds[0]}  # a busy machine stretches wall
    peak = max(r[k][1] for r in rounds for k in ("csv", "json", "parquet"))
    print(f"a process that only does pandas.read_csv: {best['read']:6.2f} s")
    for fmt, target in (("csv", 3), ("json", 4), ("parquet", None)):
        ratios = sorted(r[fmt][0] / r["read"][0] for r in rounds)
        print(f"python -m grading grade --format {fmt:7} > out: {best[fmt]:6.2f} s = "
              f"{best[fmt] / best['read']:5.2f} x the bare read"
              + (f" (target <= {target})" if target else "")
              + f"; per round {ratios[0]:.2f} to {ratios[-1]:.2f}; CPU (user + system) "
              f"{cpu[fmt]:.2f} s = {cpu[fmt] / cpu['read']:.2f} x the bare read's "
              f"{cpu['read']:.2f} s")
    print(f"the command's peak memory (max RSS):        {peak:6.0f} MB (target < 2048)")
    print(f"--format csv on all rows over a tenth:      {best['csv'] / best['csv_tenth']:6.2f} x "
          "(target <= 11)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=5)
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
        end_to_end(full, tenth, Path(tmp), args.repeat)
        engine(tenth)  # warm up: imports, and the compiled pass loaded (or compiled) once
        rounds = [(timed(lambda: pd.read_csv(full)), timed(lambda: engine(full)))
                  for _ in range(args.repeat)]
        read, eng = min(r for r, _ in rounds), min(e for _, e in rounds)
        eng_tenth = min(timed(lambda: engine(tenth)) for _ in range(args.repeat))
        rss = peak_rss_mb(full)
        warm = first_grade_s(None)
        cold = first_grade_s(str(Path(tmp) / "empty_numba_cache"))
    ratios = sorted(e / r for r, e in rounds)
    print(f"bare pandas.read_csv:          {read:7.2f} s")
    print(f"engine parse+validate+grade:   {eng:7.2f} s")
    print(f"engine / bare read:            {eng / read:7.2f}   (target <= 2; per round "
          f"{ratios[0]:.2f} to {ratios[-1]:.2f})")
    print(f"rows per second:               {rows / eng:,.0f}")
    print(f"engine peak memory (max RSS):  {rss:7.0f} MB (target < 2048)")
    print(f"grading {rows:,} vs {rows_tenth:,} rows: {eng / eng_tenth:5.2f} x "
          f"for {rows / rows_tenth:.1f} x the rows (target <= 11)")
    print(f"fresh process to its first grade: {warm:5.2f} s with the compiled pass cached, "
          f"{cold:5.2f} s when it must be compiled (the first run)")


if __name__ == "__main__":
    main()
