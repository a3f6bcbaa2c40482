"""Ward app speed, as ratios measured in one run (prints figures, asserts nothing).

    python bench/ui_bench.py [--runs 15] [--saves 30] [--parts overview,review,submit]

Issue 4, item 8:

1. Overview. The script run time of the ward overview (the whole app.py run under
   ``streamlit.testing.v1.AppTest``, signed in as a nurse: navigation, the role check, reading
   every admitted patient's timeline, grading it, building and styling the table) with 30
   patients x 14 days of hourly data (bench/cohort.py, 10,110 rows) vs with 1 patient x 14 days.
   The two alternate; the median of ``--runs`` each is compared. Target <= 2.
2. Review. The script run of the patient review page (app.py under AppTest, signed in as a
   physician, the patient chosen: the course read once per data version, the grades without
   the attributions, the chart, the scales, the prompts and exports) for one patient of the
   30 x 14-day ward, each run after a write to the record (so the course is read again, as
   after any save on the ward) and, separately, with nothing written between runs (the course
   kept). Reported in ms; compare with the same figure of an earlier version in one sitting.
3. Submit. ``monitoring.ward.save`` - what the Save button runs: validation, the insert and its
   audit, re-reading and re-grading the patient's record, the escalation rules and their flags -
   for a patient with 14 days of hourly data vs one with 1 day. Alternating, median of
   ``--saves`` each. Target <= 1.5.

Each part uses fresh SQLite databases in a temp dir. The machine is shared: compare figures
within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cohort import cohort  # noqa: E402
from monitoring import ward  # noqa: E402
from monitoring.store import SYSTEM_USER, WardStore  # noqa: E402

NURSE = "bench_nurse"


def ward_db(folder: Path, patients: int, days: int, prefix: str = "B") -> tuple[str, list[str]]:
    """A ward database with ``patients`` x ``days`` of hourly data, ending within the hour."""
    url = f"sqlite:///{folder}/ward.db"
    store = WardStore(url)
    store.add_user(NURSE, "nurse", by=SYSTEM_USER)
    frame = cohort(patients, days=days)
    frame["patient_id"] = prefix + frame["patient_id"].astype(str)
    now = pd.Timestamp(datetime.now(UTC)).tz_localize(None).floor("h")
    times = pd.to_datetime(frame["time"])
    shift = now - times.groupby(frame["patient_id"]).transform("max") - pd.Timedelta(hours=1)
    frame["time"] = (times + shift).dt.strftime("%Y-%m-%dT%H:%M")
    frame["infusion_time"] = (pd.to_datetime(frame["infusion_time"]) + shift
                              ).dt.strftime("%Y-%m-%dT%H:%M")
    csv = folder / "cohort.csv"
    frame.to_csv(csv, index=False)
    store.import_csv(csv, by=NURSE)
    ids = [p["patient_id"] for p in store.patients()]
    store.engine.dispose()
    return url, ids


def overview_run(url: str) -> Callable[[], float]:
    from streamlit.testing.v1 import AppTest

    def run() -> float:
        os.environ["DATABASE_URL"] = url
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["user"] = {"username": NURSE, "display_name": NURSE, "role": "nurse",
                                    "sso": False}
        at.session_state["last_activity"] = datetime.now(UTC)
        tick = time.perf_counter()
        at.run()
        took = time.perf_counter() - tick
        assert not at.exception and at.table, at.exception
        return took
    return run


PHYSICIAN = "bench_physician"


def review_run(url: str, patient_id: str, write: bool) -> Callable[[], float]:
    from streamlit.testing.v1 import AppTest

    from monitoring import services

    store = WardStore(url)
    if store.user(PHYSICIAN) is None:
        store.add_user(PHYSICIAN, "physician", by=SYSTEM_USER)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = {"username": PHYSICIAN, "display_name": PHYSICIAN,
                                "role": "physician", "sso": False}
    at.session_state["patient_id"] = patient_id

    def run() -> float:
        os.environ["DATABASE_URL"] = url
        if write:  # any write on the ward changes the data version: the course is read again
            services.note(store, PHYSICIAN, "bench", "patient", patient_id)
        at.session_state["last_activity"] = datetime.now(UTC)
        at.switch_page("ui/pages/review.py")
        tick = time.perf_counter()
        at.run()
        took = time.perf_counter() - tick
        assert not at.exception and at.title[0].value == "Patient review", at.exception
        return took
    return run


def bench_review(runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as a:
        url, ids = ward_db(Path(a), 30, 14)
        after_write, kept = review_run(url, ids[0], True), review_run(url, ids[0], False)
        after_write(), kept()  # warm
        w, k = [], []
        for _ in range(runs):
            w.append(after_write())
            k.append(kept())
    return statistics.median(w), statistics.median(k)


def bench_overview(runs: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        big_url, _ = ward_db(Path(a), 30, 14)
        small_url, _ = ward_db(Path(b), 1, 14)
        big_run, small_run = overview_run(big_url), overview_run(small_url)
        big_run(), small_run()  # warm: imports, the store opened once per database (cached)
        big_t, small_t = [], []
        for _ in range(runs):
            big_t.append(big_run())
            small_t.append(small_run())
        rows = len(WardStore(big_url).timeline_rows())
    return statistics.median(big_t), statistics.median(small_t), rows


def bench_save(saves: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        long_url, (long_id,) = ward_db(Path(a), 1, 14, "L")
        short_url, (short_id,) = ward_db(Path(b), 1, 1, "S")
        stores = {long_id: WardStore(long_url), short_id: WardStore(short_url)}
        times: dict[str, list[float]] = {long_id: [], short_id: []}
        start = datetime.now(UTC) - timedelta(minutes=50)
        for i in range(saves):
            for pid, store in stores.items():
                values = {"time": start + timedelta(seconds=30 * i), "temp_c": 37.0 + i % 20 / 10,
                          "hr_bpm": 90, "sbp_mmhg": 118, "dbp_mmhg": 70, "spo2_pct": 97}
                tick = time.perf_counter()
                ward.save(store, pid, values, by=NURSE)
                times[pid].append(time.perf_counter() - tick)
    return statistics.median(times[long_id]), statistics.median(times[short_id])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--saves", type=int, default=30)
    p.add_argument("--parts", default="overview,review,submit",
                   help="comma-separated: overview, review, submit")
    args = p.parse_args()
    parts = set(args.parts.split(","))
    if "overview" in parts:
        big, small, rows = bench_overview(args.runs)
        print(f"overview script run, 30 patients x 14 days ({rows} rows): {big * 1000:8.1f} ms")
        print(f"overview script run, 1 patient x 14 days:                {small * 1000:8.1f} ms")
        print(f"  ratio 30 patients / 1 patient: {big / small:.2f}  (target <= 2)")
    if "review" in parts:
        after_write, kept = bench_review(args.runs)
        print(f"review script run, 1 patient of 30 x 14 days, after a write: "
              f"{after_write * 1000:8.1f} ms")
        print(f"review script run, the same, nothing written meanwhile:     "
              f"{kept * 1000:8.1f} ms")
    if "submit" not in parts:
        return
    long_t, short_t = bench_save(args.saves)
    print(f"submit to saved and regraded, 14 days of data: {long_t * 1000:8.1f} ms")
    print(f"submit to saved and regraded, 1 day of data:   {short_t * 1000:8.1f} ms")
    print(f"  ratio 14 days / 1 day: {long_t / short_t:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
