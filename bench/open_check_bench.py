"""What SQLite's integrity check costs when a command or the app opens the ward record (prints
figures, asserts nothing).

    python bench/open_check_bench.py [--patients 200] [--days 14]

Builds a SQLite ward record with a synthetic cohort imported (bench/cohort.py; 200 patients x
14 days hourly = 67,400 assessments, each with its audit entry), then times, best of 5:
opening a ``WardStore`` without a check, with ``PRAGMA quick_check`` (what the commands and the
app do) and the two pragmas alone (``integrity_check`` also checks every index against its
table), and a command's usual work for scale: exporting the whole timeline.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.cohort import cohort
from monitoring.store import WardStore


def best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pragma(path: Path, name: str) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute(f"PRAGMA {name}").fetchall() == [("ok",)]


def open_store(url: str, check: bool) -> None:
    WardStore(url, create=False, check=check).engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--days", type=int, default=14)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ward.db"
        url = f"sqlite:///{path}"
        store = WardStore(url)
        store.add_user("n1", "nurse")
        csv_path = Path(tmp) / "cohort.csv"
        cohort(args.patients, args.days).to_csv(csv_path, index=False)
        rows = store.import_csv(csv_path, by="n1")
        store.engine.dispose()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = path.stat().st_size / 1e6
        plain = best(lambda: open_store(url, False))
        checked = best(lambda: open_store(url, True))
        quick = best(lambda: pragma(path, "quick_check"))
        full = best(lambda: pragma(path, "integrity_check"))
        export = best(lambda: WardStore(url, create=False).export_csv(), repeat=2)
    print(f"ward record: {rows:,} assessments, {size:.0f} MB")
    print(f"open without a check:       {plain * 1000:7.0f} ms")
    print(f"open with quick_check:      {checked * 1000:7.0f} ms ({checked / plain:.2f} x)")
    print(f"PRAGMA quick_check alone:   {quick * 1000:7.0f} ms")
    print(f"PRAGMA integrity_check:     {full * 1000:7.0f} ms ({full / quick:.2f} x quick_check)")
    print(f"export of the whole record: {export * 1000:7.0f} ms (for scale)")


if __name__ == "__main__":
    main()
