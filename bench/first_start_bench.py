"""First start: what a fresh machine pays before its first grade (prints figures, asserts nothing).

    python bench/first_start_bench.py [--rounds 2] [--think 0] [--no-app | --no-engine]

Issue 16, point 5. numba compiles the grading pass on the first grade after install or after
``grading/kernel.py`` changes, then loads it from its disk cache. A fresh machine is
simulated by pointing ``NUMBA_CACHE_DIR`` at an empty temporary folder (numba then neither
reads nor writes the cache next to the package).

1. Engine. The wall time of a fresh process, from start to exit:
   ``python -m grading grade sample_data/biphasic_crs.csv --format json`` and
   ``python -m grading.warm``, each with an empty cache (it compiles) and again with the cache
   it just filled (it loads), ``--rounds`` times; the median of each and the ratio cold / warm.
2. App. ``streamlit run app.py`` headless on a free port, a fresh embedded database
   (``WARD_DATA_DIR`` in a temporary folder, the demo ward loaded on the first page), driven
   by Debian's Chromium (Playwright): the time until the server answers its health check, until
   the sign-in page is drawn, then - signing in as the demo nurse ``--think`` seconds after the
   page appeared (0: at once, the worst case) - from the click until the ward overview (which
   grades every patient) is drawn, and whether the "Preparing the grading engine" spinner was
   seen meanwhile. Three starts: an empty cache with the start-up warm-up (this app), an empty
   cache with it switched off (``WARD_WARM_UP=0``: the app before it), and the cache filled.

The machine is shared: compare figures within one run, not across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "sample_data/biphasic_crs.csv"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
DEMO_PASSWORD = "ward-demo-2026"  # public (README): the embedded demo database only
SPINNER = "Preparing the grading engine"
TIMEOUT_S = 180.0


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARD_", "STREAMLIT_", "NUMBA_")) and k != "DATABASE_URL"}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


def timed(args: list[str], cache: Path) -> tuple[float, str]:
    start = time.perf_counter()
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                       env=clean_env(NUMBA_CACHE_DIR=str(cache)), timeout=TIMEOUT_S)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return seconds, r.stdout.strip()


def engine(rounds: int) -> None:
    print("1. Engine: a fresh process, start to exit (median of "
          f"{rounds} round{'s' * (rounds > 1)}; each round a new empty numba cache)")
    for label, args in (("python -m grading grade (json)", ["-m", "grading", "grade", SAMPLE,
                                                             "--format", "json"]),
                        ("python -m grading.warm", ["-m", "grading.warm"])):
        cold, warm, said = [], [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
                c, out_cold = timed(args, Path(cache))
                w, out_warm = timed(args, Path(cache))
            cold.append(c)
            warm.append(w)
            if args[-1] == "grading.warm":
                said += [out_cold, out_warm]
        c, w = statistics.median(cold), statistics.median(warm)
        print(f"   {label:34s} empty cache {c:6.2f} s   cache filled {w:5.2f} s   "
              f"cold / warm {c / w:5.1f} x   (rounds: {fmt(cold)} | {fmt(warm)})")
        for line in said[:2]:
            print(f"      says: {shorten(line)}")


def fmt(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def shorten(line: str) -> str:
    return re.sub(r" \(cache: [^)]*\)", "", line)


# ------------------------------------------------------------------------------ the app
@dataclass
class AppStart:
    label: str
    health_s: float         # process start -> /_stcore/health answers
    page_s: float           # process start -> the sign-in page drawn
    click_s: float          # "Sign in" clicked -> the ward overview drawn, graded
    spinner: bool           # the "Preparing the grading engine" spinner was seen
    log_lines: list[str]    # the app's warm-up lines in the server log


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().decode().strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def app_start(browser: object, label: str, cache: Path, *, warm_up: bool,
              think: float) -> AppStart:
    from playwright.sync_api import expect

    with tempfile.TemporaryDirectory(prefix="ward-first-start-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = clean_env(WARD_DATA_DIR=tmp, WARD_TZ="UTC", NUMBA_CACHE_DIR=str(cache),
                        WARD_WARM_UP="1" if warm_up else "0")
        log = Path(tmp) / "streamlit.log"
        start = time.perf_counter()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless",
                 "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        context = None
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"streamlit exited:\n{log.read_text(errors='replace')}")
                if healthy(url):
                    break
                if time.perf_counter() - start > TIMEOUT_S:
                    raise SystemExit("streamlit did not answer its health check")
                time.sleep(0.05)
            health = time.perf_counter() - start
            context = browser.new_context(viewport={"width": 1280, "height": 1600})  # type: ignore[attr-defined]
            context.set_default_timeout(TIMEOUT_S * 1000)
            page = context.new_page()
            page.goto(url)
            expect(page.get_by_role("heading", name="CAR-T ward monitor", level=1)
                   ).to_be_visible(timeout=TIMEOUT_S * 1000)
            page_s = time.perf_counter() - start
            time.sleep(think)
            page.get_by_label("User name").fill("demo.nurse")
            page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
            clicked = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            # the overview's caption is drawn after every patient is graded (its title before)
            overview = page.get_by_text(re.compile(r"\d+ patients · updated"))
            spinner, seen = page.get_by_text(SPINNER), False
            while not overview.is_visible():
                seen = seen or spinner.is_visible()
                if time.perf_counter() - clicked > TIMEOUT_S:
                    raise SystemExit("the ward overview did not appear")
                time.sleep(0.05)
            click_s = time.perf_counter() - clicked
        finally:
            if context is not None:
                context.close()
            stop(proc)
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if "Grading engine ready" in line]
        if "Traceback" in log.read_text(errors="replace"):
            print(f"   (a traceback in the server log of '{label}':)\n"
                  f"{log.read_text(errors='replace')[-3000:]}")
    return AppStart(label, health, page_s, click_s, seen,
                    [shorten(line.removeprefix("ward app: ")) for line in lines])


def app(think: float) -> None:
    from playwright.sync_api import sync_playwright

    print(f"\n2. App: streamlit run app.py, a fresh ward database, sign in as the demo nurse "
          f"{think:g} s after the sign-in page appears")
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cold_off, \
                    tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
                results.append(app_start(browser, "empty cache, warm-up at start (now)",
                                         Path(cache), warm_up=True, think=think))
                results.append(app_start(browser, "empty cache, no warm-up (before)",
                                         Path(cold_off), warm_up=False, think=think))
                results.append(app_start(browser, "cache filled, warm-up at start",
                                         Path(cache), warm_up=True, think=think))
        finally:
            browser.close()
    print(f"   {'start':38s} {'health':>7s} {'sign-in page':>13s} {'click -> overview':>18s}"
          "  spinner")
    for r in results:
        print(f"   {r.label:38s} {r.health_s:6.2f}s {r.page_s:12.2f}s {r.click_s:17.2f}s  "
              f"{'seen' if r.spinner else '-'}")
    now, before, warm = results
    print(f"   first click -> overview, empty cache: before / now "
          f"{before.click_s / now.click_s:.1f} x; now / cache filled "
          f"{now.click_s / warm.click_s:.1f} x")
    for r in results:
        for line in r.log_lines:
            print(f"   server log ({r.label}): {line}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="engine rounds (default 2)")
    p.add_argument("--think", type=float, default=0.0,
                   help="seconds between the sign-in page and the click (default 0)")
    p.add_argument("--no-app", action="store_true", help="the engine part only")
    p.add_argument("--no-engine", action="store_true", help="the app part only")
    args = p.parse_args()
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).is_file():
        args.no_app = True
        print(f"(no Chromium at {CHROMIUM}: the app part is left out)")
    if not args.no_engine:
        engine(args.rounds)
    if not args.no_app:
        app(args.think)


if __name__ == "__main__":
    main()
