"""End-to-end fixtures: the real app (``streamlit run app.py``) in a subprocess, driven by
Debian's Chromium through Playwright's sync API.

* ``ward_server`` (one per module): a fresh SQLite ward with the demo ward, the demo accounts
  and one real (non-demo) patient, REAL-001, for the educator test.
* ``idle_server`` (one per module): the demo ward with WARD_IDLE_TIMEOUT_MINUTES=0.1.
* ``chromium`` (one per session): /usr/bin/chromium; the tests FAIL (not skip) without it.
* ``ui``: a fresh browser context per test (1500x2600: Streamlit scrolls inside its own
  container, so a tall viewport shows whole pages); a screenshot on failure goes to
  artifacts/screenshots/FAILED-<test>.png.

pytest-playwright's fixtures are not used (they would launch a bundled browser, and none can
be downloaded here); ours have other names so the two never mix if that plugin is installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from monitoring.demo import ensure_demo_ward
from monitoring.store import PatientIn, WardStore
from tests.e2e.helpers import ROOT, SCREENSHOTS, TIMEOUT_MS

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # a ward PC may have no internet: nothing but the app answers
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
VIEWPORT = {"width": 1500, "height": 2600}
SERVER_START_TIMEOUT_S = 90.0
REAL_PATIENT = {"patient_id": "REAL-001", "name": "Real Person Testcase", "bed": "9",
                "product": "axi-cel"}


@dataclass
class WardServer:
    url: str            # http://127.0.0.1:PORT
    database_url: str
    store: WardStore    # the same database, for checks behind the app's back
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode} before answering; "
                        f"log:\n{_tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer {url}/_stcore/health within "
                f"{SERVER_START_TIMEOUT_S:.0f} s; log:\n{_tail(log)}", pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server we started (its own process group: streamlit and nothing else)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _run_server(tmp: Path, *, idle_minutes: float | None = None,
                real_patient: bool = False) -> Iterator[WardServer]:
    database_url = f"sqlite:///{tmp / 'ward.db'}"
    store = WardStore(database_url, tz="UTC")
    ensure_demo_ward(store)
    if real_patient:
        store.admit(PatientIn(**REAL_PATIENT,
                              infusion_time=datetime.now(UTC) - timedelta(days=2)),
                    by="demo.physician")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARD_", "STREAMLIT_")) and k != "DATABASE_URL"}
    # the embedded demo database (no DATABASE_URL), in this test's folder: the demo accounts
    # sign in only there (docs/security.md "Accounts")
    env |= {"WARD_DATA_DIR": str(tmp), "WARD_TZ": "UTC", "PYTHONUNBUFFERED": "1"}
    if idle_minutes is not None:
        env["WARD_IDLE_TIMEOUT_MINUTES"] = f"{idle_minutes:g}"
    log = tmp / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        _wait_healthy(url, proc, log)
        yield WardServer(url=url, database_url=database_url, store=store, log=log)
    finally:
        _stop(proc)
        store.engine.dispose()
        if "Traceback" in _tail(log, 400):
            print(f"\n--- streamlit log ({log}) ---\n{_tail(log, 60)}")


@pytest.fixture(scope="module")
def ward_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WardServer]:
    yield from _run_server(tmp_path_factory.mktemp("ward"), real_patient=True)


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WardServer]:
    yield from _run_server(tmp_path_factory.mktemp("idle"), idle_minutes=0.1)


@pytest.fixture(scope="session")
def pw() -> Iterator[Playwright]:
    for old in SCREENSHOTS.glob("FAILED-*.png"):  # from an earlier run: would mislead
        old.unlink()
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(pw: Playwright) -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) \
            and shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's "
                    "chromium package (apt-get install chromium); Playwright cannot download "
                    "its own browser here.", pytrace=False)
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    report = yield
    setattr(item, f"e2e_report_{report.when}", report)
    return report


@pytest.fixture
def ui(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    yield p
    failed = any(getattr(request.node, f"e2e_report_{when}", None) is not None
                 and getattr(request.node, f"e2e_report_{when}").failed
                 for when in ("setup", "call"))
    if failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            p.screenshot(path=str(SCREENSHOTS / f"FAILED-{name}.png"))
        except Exception as e:  # a dead page must not hide the test's own failure
            print(f"no failure screenshot: {e}")
    context.close()
