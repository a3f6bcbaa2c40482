"""The grading engine's warm-up in the app: compiled at start-up, never on a user's first click.

``app.py`` calls ``WARM_UP.start()`` on every run; the first call in a server process starts
``grading.warm.warm_up`` on a background thread and returns at once, later calls do nothing
(the sign-in page is drawn while it runs). Before drawing a signed-in page (they grade),
``app.py`` calls ``WARM_UP.wait()``: while the warm-up is still running that shows a spinner
with plain words until it ends, instead of a frozen page; once it has ended it returns at once.
A failed warm-up is logged on the server with its traceback and the pages go on (their first
grade then compiles the pass itself, or shows the page's own plain error): never a traceback
on the page. The outcome ("Grading engine ready in 9.5 s: compiled ...") is one line on the
server's standard error.

``WARD_WARM_UP=0`` switches it off (the first grade then compiles, as before): for measuring
the difference (``bench/first_start_bench.py``), or a server that must not compile at start.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

import streamlit as st

from grading.warm import WarmUp, warm_up

LOG = logging.getLogger(__name__)
WAIT_TEXT = "Preparing the grading engine (first start only)…"
WAIT_LIMIT_S = 300.0  # then the page goes on: its own grade waits for numba's compile lock


class BackgroundWarmUp:
    """One warm-up per process, on a daemon thread (it never keeps the server from stopping)."""

    def __init__(self, run: Callable[[], WarmUp] = warm_up) -> None:
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
        print(f"ward app: {self.result.describe()}", file=sys.stderr, flush=True)

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
