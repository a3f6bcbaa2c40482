"""The grading engine's warm-up in the app: compiled at start-up, never on a user's first click.

``app.py`` calls ``WARM_UP.start()`` on every run; the first call in a server process starts
the warm-up on a background thread and returns at once, later calls do nothing (the sign-in
page is drawn while it runs). numba's compiler is Python code holding the interpreter lock for
most of its seconds: run in the server process it would slow every page drawn meanwhile (by
seconds, measured). So when numba's disk cache does not hold the current pass (a fresh
install, a changed ``kernel.py``) the thread first runs ``python -m grading.warm`` as a child
process, which compiles on another core and fills the cache; then ``grading.warm.warm_up`` in
the server process, which only loads it (well under a second). With no writable cache the
child's work is lost and the server process compiles after all, still off the request path.

Before drawing a signed-in page (they grade), ``app.py`` calls ``WARM_UP.wait()``: while the
warm-up is still running that shows a spinner with plain words until it ends, instead of a
frozen page; once it has ended it returns at once. A failed warm-up is logged on the server
with its traceback and the pages go on (their first grade then compiles the pass itself, or
shows the page's own plain error): never a traceback on the page. What happened ("Grading
engine ready in 0.56 s: loaded from cache") is one line each on the server's standard error.

``WARD_WARM_UP=0`` switches it off (the first grade then compiles, as before): for measuring
the difference (``bench/first_start_bench.py``), or a server that must not compile at start.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import streamlit as st

import grading
from grading.warm import WarmUp, cache_ready, disk_cache, in_memory, warm_up

LOG = logging.getLogger(__name__)
CHILD_LIMIT_S = 600.0
PACKAGE_ROOT = Path(grading.__file__).resolve().parents[1]  # where ``-m grading.warm`` is found
WAIT_TEXT = "Preparing the grading engine (first start only)…"
WAIT_LIMIT_S = 300.0  # then the page goes on: its own grade waits for numba's compile lock


def compile_in_child_then_load() -> WarmUp:
    """The compile in a child process (``python -m grading.warm``) unless the disk cache
    already holds it, then the load here."""
    # a child only where its compile is kept on disk and the cache does not hold it yet
    if not in_memory() and disk_cache() and not cache_ready():
        try:
            child = subprocess.run([sys.executable, "-m", "grading.warm"], cwd=PACKAGE_ROOT,
                                   capture_output=True, text=True, timeout=CHILD_LIMIT_S,
                                   stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            LOG.warning("the grading engine's warm-up process could not run (%s): it is "
                        "prepared in the app's own process instead", e)
        else:
            if child.returncode == 0:
                print(f"ward app: in a separate process: {child.stdout.strip()}",
                      file=sys.stderr, flush=True)
            else:
                LOG.warning("the grading engine's warm-up process failed (exit %s): it is "
                            "prepared in the app's own process instead\n%s",
                            child.returncode, child.stderr.strip()[-2000:])
    return warm_up()


class BackgroundWarmUp:
    """One warm-up per process, on a daemon thread (it never keeps the server from stopping)."""

    def __init__(self, run: Callable[[], WarmUp] = compile_in_child_then_load) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.result: WarmUp | None = None
        self.failed = False

    def start(self) -> threading.Thread | None:
        """Start the warm-up unless it was started already (or is switched off); returns at
        once either way."""
        if not enabled():
            return self._thread
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="grading-warm-up",
                                                daemon=True)
                self._thread.start()
            return self._thread

    def _work(self) -> None:
        try:
            self.result = self._run()
        except Exception:  # the server log has it; pages go on without the warm-up
            self.failed = True
            LOG.exception("the grading engine's warm-up failed: the first grade compiles it")
            return
        print(f"ward app: in the app's process: {self.result.describe()}", file=sys.stderr,
              flush=True)

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait(self, limit_s: float = WAIT_LIMIT_S) -> None:
        """Until the warm-up has ended (at most ``limit_s``), with a spinner while it runs."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        with st.spinner(WAIT_TEXT, show_time=True):
            thread.join(limit_s)


def enabled(env: dict[str, str] | None = None) -> bool:
    """``WARD_WARM_UP`` (default 1): 0, false or no switch the start-up warm-up off."""
    value = (os.environ if env is None else env).get("WARD_WARM_UP", "1")
    return value.strip().lower() not in ("0", "false", "no")


WARM_UP = BackgroundWarmUp()
