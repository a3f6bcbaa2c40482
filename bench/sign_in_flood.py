"""A flood of failed sign-ins next to a nurse's saves (prints figures, asserts nothing).

    python bench/sign_in_flood.py [--seconds 10] [--threads 2] [--saves 20]
                                  [--url postgresql://ward:ward@localhost/ward_test]

Issue 14, point 5: two threads sending wrong sign-ins as fast as they could had written 112,500
audit rows in 41 s and pushed a nurse's save to 10 s worst case. Here ``--threads`` threads send
wrong sign-ins (unknown names, one client address) for ``--seconds`` while the main thread saves
``--saves`` assessments, one every ``seconds / saves`` s. Printed: the attempts made, the audit
and throttle rows they left, the slowest and median save during the flood, and the ratio of the
median save during the flood to the median save without one (same run, same database kind). A
new SQLite file always; with ``--url`` also a new PostgreSQL database on that server (created and
dropped through an AUTOCOMMIT connection). The flood threads run in this process and share its
interpreter lock with the saves (the app's sessions do too, within one app process), so the ratio
is an upper bound. The machine is shared: compare within one run.

2026-12-06, this 2-core machine at load ~20, SQLite, 30 s: 565 failed sign-ins left 30 audit
rows (the first 30; then the client was throttled: answered from a read, no write, no hashing)
and 1 throttle row; the slowest save 1.0 s, median 5x the quiet median.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.store import WardStore

INFUSION = datetime.now(UTC) - timedelta(days=2)


def databases(url: str | None) -> Iterator[tuple[str, str]]:
    """(name, URL) of a new SQLite file, and of a new PostgreSQL database with ``url``."""
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite", f"sqlite:///{tmp}/ward.db"
    if url:
        server = sa.create_engine(sa.engine.make_url(url).set(drivername="postgresql+psycopg"),
                                  isolation_level="AUTOCOMMIT")
        name = f"ward_bench_{secrets.token_hex(4)}"
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield "PostgreSQL", sa.engine.make_url(url).set(database=name).render_as_string(
                hide_password=False)
        finally:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            server.dispose()


def saves(store: WardStore, n: int, every: float, start: int) -> list[float]:
    took = []
    for i in range(n):
        t = time.perf_counter()
        store.record_assessment("P1", {"time": INFUSION + timedelta(minutes=start + i),
                                       "temp_c": 37.2}, by="nina")
        took.append(time.perf_counter() - t)
        time.sleep(max(0.0, every - took[-1]))
    return took


def count(store: WardStore, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    store = WardStore(url)
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    every = args.seconds / args.saves
    quiet = saves(store, args.saves, every / 4, 0)
    audit_before = count(store, "audit_log")
    stop = threading.Event()
    attempts = [0] * args.threads

    def flood(k: int) -> None:
        while not stop.is_set():
            store.sign_in(f"guess-{k}-{attempts[k]}", "wrong password", client="10.66.0.1")
            attempts[k] += 1

    threads = [threading.Thread(target=flood, args=(k,)) for k in range(args.threads)]
    for th in threads:
        th.start()
    busy = saves(store, args.saves, every, 10_000)
    stop.set()
    for th in threads:
        th.join()
    print(f"{kind}: {sum(attempts)} failed sign-ins in {args.seconds:g} s from one client "
          f"({args.threads} threads) left {count(store, 'audit_log') - audit_before} audit rows "
          f"and {count(store, 'sign_in_throttle')} throttle row(s)")
    print(f"{kind}: save during the flood: median {statistics.median(busy) * 1000:.0f} ms, "
          f"slowest {max(busy) * 1000:.0f} ms; median with / without the flood: "
          f"{statistics.median(busy) / statistics.median(quiet):.2f}")
    store.engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--saves", type=int, default=20)
    p.add_argument("--url")
    args = p.parse_args()
    for kind, url in databases(args.url):
        run(kind, url, args)


if __name__ == "__main__":
    main()
