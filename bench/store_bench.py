"""Ward record speed, as ratios measured in one run (prints figures, asserts nothing).

    python bench/store_bench.py [--saves 50] [--reads 20] [--repeat 3] [--rows 100000]
                                [--url postgresql://ward:ward@localhost/ward_test] [--pg-repeat 1]

Issue 3, item 7 (Speed): a save must not slow down as a patient's record grows, a read must cost
little more for a long stay than for a short one, and validation and audit must be cheap next to
the bare database work. Every figure is a ratio of two timings taken in the same run on the same
machine, so the shared machine's speed cancels out. Each part runs on fresh databases: a new
SQLite file in a temp dir always, and also a newly created PostgreSQL database when ``--url`` is
given (created through an AUTOCOMMIT connection to that server and dropped afterwards; the
database named in the URL is only used to connect). Printed:

1. Save. ``WardStore.record_assessment`` (one transaction: user check, patient look-up, the
   canonical validation with the oxygen device in force, the duplicate-time check, the insert and
   its audit entry), for a patient who already has 14 days of 15-minute data (1,344 rows loaded
   with ``import_csv``) vs for a newly admitted patient with no rows (a different new patient for
   every save). The 14-day record has its oxygen device recorded once, at the baseline row, so the
   look-up of the device in force walks back over the whole record: the worst case. The two kinds
   of save alternate; the median of ``--saves`` each is compared. Target <= 1.5: a save must not
   re-read the patient's record.
2. Read. ``timeline_rows(pid)`` (effective rows, medication fields derived from administrations)
   and ``timeline(pid)`` (the same, parsed and validated into ``grading.Assessments``) of a
   patient with 14 days of 15-minute data vs of one with the first day of the same data (each with
   the same course of medication administrations, cut at its last row). Best of ``--reads``.
   Target <= 3 for 14 x the rows, for ``timeline`` (what grading reads): the fixed cost of a
   read must dominate, not per-row work. ``timeline_rows`` builds one dict per row for export
   and the API; its ratio is printed for information.
3. Import. ``import_csv`` of a canonical CSV (bench/cohort.py: 300 patients x 14 days hourly,
   trimmed to ``--rows`` rows; parse, validate, conflict checks, patient creation, insert, one
   audit entry per row) into a fresh database vs a bare SQLAlchemy ``executemany`` insert of the
   same rows (read back from the imported database as ready dicts) into the same ``assessments``
   table of another fresh database, in one transaction, with no validation and no audit. Best of
   ``--repeat`` (``--pg-repeat`` on PostgreSQL, where one import takes over a minute).
   Target <= 3: validation and audit must be cheap.

The machine is shared: compare figures within one run, not across runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.cohort import cohort
from monitoring import tables as t
from monitoring.db import database_url
from monitoring.store import PatientIn, WardStore

NURSE, PHYSICIAN = "bench_nurse", "bench_physician"
DAY0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
QUARTER_ROWS = 14 * 96                      # 14 days of 15-minute rows
# A CRS course (hours after infusion, kind): antipyretic 6-hourly for 4 days, two doses of
# tocilizumab, two fluid boluses, dexamethasone 6-hourly from day 1 to day 5: 36 administrations.
COURSE = sorted([(h, "antipyretic") for h in range(6, 102, 6)]
                + [(10, "tocilizumab"), (30, "tocilizumab")]
                + [(10, "fluid_bolus"), (12, "fluid_bolus")]
                + [(h, "dexamethasone") for h in range(30, 126, 6)])
VITALS = {"temp_c": 37.4, "hr_bpm": 92, "sbp_mmhg": 116, "dbp_mmhg": 71, "rr_per_min": 18,
          "spo2_pct": 97, "consciousness": "alert"}


def timed(fn: Callable[[], object]) -> float:
    tick = time.perf_counter()
    fn()
    return time.perf_counter() - tick


# ---------------------------------------------------------------------- databases
class Databases:
    """Fresh databases on one backend: SQLite files in a temp dir, or new PostgreSQL databases
    created on the server of ``url`` (and dropped after use)."""

    def __init__(self, tmp: Path, url: str | None = None) -> None:
        self.tmp, self.url = tmp, url
        self.count = itertools.count()
        self.admin = (sa.create_engine(database_url(url), isolation_level="AUTOCOMMIT")
                      if url else None)
        self.name = "postgresql" if url else "sqlite"

    @contextmanager
    def store(self) -> Iterator[WardStore]:
        """A store on a fresh, migrated database with a nurse and a physician."""
        n = next(self.count)
        if self.admin is None:
            url = f"sqlite:///{self.tmp / f'ward_{n}.db'}"
            name = None
        else:
            name = f"store_bench_{os.getpid()}_{n}"
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = self.admin.url.set(database=name).render_as_string(hide_password=False)
        store = None
        try:
            store = WardStore(url)
            store.add_user(NURSE, "nurse")
            store.add_user(PHYSICIAN, "physician")
            yield store
        finally:
            if store is not None:
                store.engine.dispose()
            if name is not None:
                with self.admin.connect() as conn:  # type: ignore[union-attr]
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()

    def describe(self) -> str:
        if self.admin is None:
            return "SQLite (a fresh file in a temp dir for each part)"
        with self.admin.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        return (f"PostgreSQL {version} at {self.admin.url.host} "
                "(a fresh database for each part, dropped after)")


# ---------------------------------------------------------------------- data
def quarter_hourly(patient_id: str, rows: int) -> pd.DataFrame:
    """One patient's first ``rows`` canonical rows every 15 minutes: a cohort.py patient
    (baseline row, then hourly rows) with its hours relabelled as quarter-hours from Day 0 =
    ``DAY0``; always the same patient, so a shorter record is the start of the longer one."""
    df = cohort(1, days=QUARTER_ROWS // 24).iloc[:rows].copy()
    k = np.arange(rows)
    minutes = np.where(k == 0, -120, (k - 1) * 15 + 5)
    day0 = pd.Timestamp(DAY0.replace(tzinfo=None))
    df["patient_id"] = patient_id
    df["time"] = (day0 + pd.to_timedelta(minutes, unit="m")).strftime("%Y-%m-%dT%H:%M")
    df["infusion_time"] = day0.strftime("%Y-%m-%dT%H:%M")
    return df


def quarter_time(k: int) -> datetime:
    """The time of a patient's k-th 15-minute row (k >= 1), as in ``quarter_hourly``."""
    return DAY0 + timedelta(minutes=(k - 1) * 15 + 5)


def load(store: WardStore, tmp: Path, patient_id: str, rows: int) -> None:
    path = tmp / f"{patient_id}.csv"
    quarter_hourly(patient_id, rows).to_csv(path, index=False)
    store.import_csv(path, by=NURSE)


def give_course(store: WardStore, patient_id: str, until: datetime) -> int:
    given = 0
    for hour, kind in COURSE:
        when = DAY0 + timedelta(hours=hour)
        if when <= until:
            store.record_administration(patient_id, kind, when, by=NURSE)
            given += 1
    return given


# ---------------------------------------------------------------------- the three parts
def bench_save(dbs: Databases, tmp: Path, saves: int) -> tuple[float, float]:
    with dbs.store() as store:
        load(store, tmp, "SAVE-FULL", QUARTER_ROWS)
        counter = itertools.count()

        def save_full() -> None:
            k = QUARTER_ROWS + next(counter)
            store.record_assessment("SAVE-FULL", VITALS | {"time": quarter_time(k)}, by=NURSE)

        new_ids = [f"SAVE-NEW-{i:03d}" for i in range(saves + 3)]
        for pid in new_ids:
            store.admit(PatientIn(patient_id=pid, infusion_time=DAY0), by=PHYSICIAN)
        fresh = iter(new_ids)

        def save_new() -> None:
            store.record_assessment(next(fresh), VITALS | {"time": quarter_time(1)}, by=NURSE)

        for _ in range(3):  # warm up caches (compiled statements, pyarrow, ...)
            save_full()
            save_new()
        full, new = [], []
        for _ in range(saves):  # alternate, so a busy moment on the machine hits both
            full.append(timed(save_full))
            new.append(timed(save_new))
    return statistics.median(full), statistics.median(new)


def bench_read(dbs: Databases, tmp: Path, reads: int) -> dict[str, Any]:
    with dbs.store() as store:
        load(store, tmp, "READ-14D", QUARTER_ROWS)
        load(store, tmp, "READ-1D", 96)
        meds = (give_course(store, "READ-14D", quarter_time(QUARTER_ROWS - 1)),
                give_course(store, "READ-1D", quarter_time(95)))
        out: dict[str, Any] = {"rows": (len(store.timeline_rows("READ-14D")),
                                        len(store.timeline_rows("READ-1D"))), "meds": meds}
        for name, fn in (("timeline_rows", store.timeline_rows), ("timeline", store.timeline)):
            fn("READ-14D")  # warm up
            fn("READ-1D")
            long_, short = [], []
            for _ in range(reads):  # alternate
                long_.append(timed(lambda f=fn: f("READ-14D")))
                short.append(timed(lambda f=fn: f("READ-1D")))
            out[name] = (min(long_), min(short))
    return out


def bench_import(dbs: Databases, csv_path: Path, repeat: int) -> tuple[float, float, int]:
    imports, bares = [], []
    rows: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    n = 0
    for _ in range(repeat):
        with dbs.store() as store:
            imports.append(timed(lambda s=store: s.import_csv(csv_path, by=NURSE)))
            if not rows:  # the imported rows, as the dicts a bare insert takes
                with store.engine.connect() as conn:
                    rows = [{k: v for k, v in r._mapping.items() if k != "id"}
                            for r in conn.execute(sa.select(t.assessments)
                                                  .order_by(t.assessments.c.id))]
                    patients = [dict(r._mapping) for r in conn.execute(sa.select(t.patients))]
        with dbs.store() as store:
            with store.engine.begin() as conn:  # not timed: the rows' patients
                conn.execute(t.patients.insert(), patients)

            def bare(engine: sa.Engine = store.engine, rows: list[dict[str, Any]] = rows
                     ) -> None:
                with engine.begin() as conn:
                    conn.execute(t.assessments.insert(), rows)

            bares.append(timed(bare))
            with store.engine.connect() as conn:
                n = conn.execute(sa.select(sa.func.count()).select_from(t.assessments)).scalar_one()
    return min(imports), min(bares), n


# ---------------------------------------------------------------------- main
def line(label: str, value: str, note: str = "") -> None:
    print(f"{label:<46}{value}{'   ' + note if note else ''}")


def run(dbs: Databases, tmp: Path, csv_path: Path, rows: int, args: argparse.Namespace) -> None:
    print(f"\n== {dbs.describe()}")
    tick = time.perf_counter()
    full, new = bench_save(dbs, tmp, args.saves)
    line(f"save, patient with {QUARTER_ROWS:,} rows (14 d, 15 min):", f"{full * 1e3:8.2f} ms",
         f"(median of {args.saves})")
    line("save, new patient with no rows:", f"{new * 1e3:8.2f} ms", f"(median of {args.saves})")
    line("save 14 d / save new:", f"{full / new:8.2f}", "   (target <= 1.5)")

    r = bench_read(dbs, tmp, args.reads)
    (n14, n1), (m14, m1) = r["rows"], r["meds"]
    for name in ("timeline_rows", "timeline"):
        long_, short = r[name]
        line(f"{name}, 14 d ({n14:,} rows, {m14} meds):", f"{long_ * 1e3:8.2f} ms",
             f"(best of {args.reads})")
        line(f"{name}, 1 d ({n1:,} rows, {m1} meds):", f"{short * 1e3:8.2f} ms",
             f"(best of {args.reads})")
        target = ("   (target <= 3)" if name == "timeline"
                  else "   (dict rows for export and the API; informational)")
        line(f"{name} 14 d / 1 d:", f"{long_ / short:8.2f}", target)

    repeat = args.pg_repeat if dbs.admin is not None else args.repeat
    imp, bare, stored = bench_import(dbs, csv_path, repeat)
    line(f"import_csv, {rows:,} rows:", f"{imp:8.2f} s ",
         f"(best of {repeat}; {rows / imp:,.0f} rows/s)")
    line(f"bare executemany insert, {stored:,} rows:", f"{bare:8.2f} s ", f"(best of {repeat})")
    line("import / bare insert:", f"{imp / bare:8.2f}", "   (target <= 3)")
    print(f"({dbs.name}: {time.perf_counter() - tick:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--saves", type=int, default=50, help="saves of each kind (median)")
    ap.add_argument("--reads", type=int, default=20, help="timeline reads of each kind (best)")
    ap.add_argument("--repeat", type=int, default=3, help="imports and bare inserts (best)")
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the imported file")
    ap.add_argument("--url", help="also run on PostgreSQL: a server URL to connect with; "
                                  "fresh databases are created on it and dropped after")
    ap.add_argument("--pg-repeat", type=int, default=1,
                    help="imports and bare inserts on PostgreSQL (best)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        csv_path = tmp / "cohort.csv"
        tick = time.perf_counter()
        patients = -(-args.rows // (14 * 24 + 1))
        df = cohort(max(patients, 300), 14).iloc[:args.rows]
        df.to_csv(csv_path, index=False)
        rows = len(df)
        print(f"cohort: {rows:,} rows ({df['patient_id'].nunique()} patients x 14 days hourly, "
              f"trimmed), {csv_path.stat().st_size / 1e6:.0f} MB, "
              f"built in {time.perf_counter() - tick:.1f} s")
        del df
        for url in (None, args.url) if args.url else (None,):
            dbs = Databases(tmp, url)
            try:
                run(dbs, tmp, csv_path, rows, args)
            finally:
                dbs.close()


if __name__ == "__main__":
    main()
