"""The app's start-up warm-up of the grading engine (``ui/warm.py``, called by ``app.py``):
started once per process on a background thread, never holding up the sign-in page; a
signed-in page waits for it behind a spinner; a failure is logged, never shown."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import grading
from grading.warm import WarmUp
from ui import warm
from ui.warm import BackgroundWarmUp

ROOT = Path(__file__).resolve().parents[2]

DONE = WarmUp(seconds=0.01, compiled="loaded from cache", rows=6, reasons=20)


class HeldWarmUp:
    """A warm-up that runs until the test releases it, counting its calls."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> WarmUp:
        self.calls += 1
        assert self.release.wait(30), "the test never released the warm-up"
        return DONE


def test_starting_the_warm_up_returns_while_it_still_runs_and_a_second_start_adds_no_thread(
) -> None:
    held = HeldWarmUp()
    w = BackgroundWarmUp(held)
    thread = w.start()
    # start() came back before the warm-up ended
    assert thread is not None and thread.is_alive() and w.running()
    assert w.start() is thread
    held.release.set()
    thread.join(30)
    assert not w.running()
    assert held.calls == 1
    assert w.result == DONE and not w.failed
    assert w.start() is thread  # after it ended too: once per process


def test_with_ward_warm_up_0_nothing_is_started_and_nothing_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    held = HeldWarmUp()
    w = BackgroundWarmUp(held)
    monkeypatch.setenv("WARD_WARM_UP", "0")
    assert w.start() is None
    w.wait()
    assert held.calls == 0 and not w.running()
    monkeypatch.setenv("WARD_WARM_UP", "1")
    held.release.set()
    thread = w.start()
    assert thread is not None
    thread.join(30)
    assert held.calls == 1


def test_waiting_after_the_warm_up_ended_or_before_it_started_returns_at_once() -> None:
    held = HeldWarmUp()
    w = BackgroundWarmUp(held)
    w.wait()  # never started: nothing to wait for
    assert held.calls == 0
    held.release.set()
    thread = w.start()
    assert thread is not None
    thread.join(30)
    w.wait()
    assert held.calls == 1


def test_waiting_for_a_running_warm_up_returns_when_it_ends() -> None:
    held = HeldWarmUp()
    w = BackgroundWarmUp(held)
    w.start()
    threading.Timer(0.3, held.release.set).start()
    w.wait()
    assert not w.running() and w.result == DONE


def test_a_failed_warm_up_is_logged_with_its_traceback_and_raises_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> WarmUp:
        raise RuntimeError("no compiler today")
    w = BackgroundWarmUp(broken)
    with caplog.at_level(logging.ERROR, logger="ui.warm"):
        thread = w.start()
        assert thread is not None
        thread.join(30)
        w.wait()
    assert w.failed and w.result is None
    [record] = [r for r in caplog.records if r.name == "ui.warm"]
    assert "warm-up failed" in record.getMessage()
    assert record.exc_info is not None and "no compiler today" in str(record.exc_info[1])


@pytest.fixture
def held_app(app: AppTest, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[AppTest, HeldWarmUp, BackgroundWarmUp]]:
    held = HeldWarmUp()
    w = BackgroundWarmUp(held)
    monkeypatch.setattr(warm, "WARM_UP", w)
    yield app, held, w
    held.release.set()


def test_the_sign_in_page_is_drawn_while_the_warm_up_runs_and_reruns_start_no_second_one(
        held_app: tuple[AppTest, HeldWarmUp, BackgroundWarmUp]) -> None:
    app, held, w = held_app
    app.run()
    assert not app.exception, app.exception
    assert app.text_input(key="sign_in_user").label == "User name"
    assert w.running()  # the page was drawn with the warm-up still going
    app.run()
    assert not app.exception
    assert held.calls == 1


def test_a_signed_in_page_grades_only_after_the_warm_up_has_ended(
        held_app: tuple[AppTest, HeldWarmUp, BackgroundWarmUp],
        signed_in: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    _, held, w = held_app
    warm_up_running_at_grade: list[bool] = []
    real_grade = grading.grade

    def grade(*args: Any, **kwargs: Any) -> Any:
        warm_up_running_at_grade.append(w.running())
        return real_grade(*args, **kwargs)
    monkeypatch.setattr(grading, "grade", grade)
    w.start()
    threading.Timer(1.5, held.release.set).start()
    at = signed_in("nurse")  # the overview grades every patient
    assert [t.value for t in at.title] == ["Ward overview"]
    assert warm_up_running_at_grade and not any(warm_up_running_at_grade)
    assert w.result == DONE


def run_python(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=os.environ | env)


def test_without_the_pass_in_the_cache_the_app_compiles_it_in_a_child_then_loads_it() -> None:
    """What the app's thread runs when the disk cache lacks the pass: ``python -m
    grading.warm`` in a child (the compile, off the app's interpreter lock), then the load
    here; one line each on standard error. (The cache is told to look empty: a real compile
    costs 10-20 s, measured by bench/first_start_bench.py.)"""
    r = run_python("import ui.warm\n"
                   "ui.warm.cache_ready = lambda: False\n"
                   "w = ui.warm.compile_in_child_then_load()\n"
                   "print(w.compiled)\n"
                   "w = ui.warm.compile_in_child_then_load()\n"  # in memory now: no child
                   "print(w.compiled)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["loaded from cache", "already in memory"]
    [child] = [line for line in r.stderr.splitlines() if "separate process" in line]
    assert re.match(r"ward app: in a separate process: Grading engine ready in \d+\.\d\d s: "
                    r"(compiled|loaded from cache)", child)


def test_with_the_pass_in_the_cache_the_app_only_loads_it_and_starts_no_child() -> None:
    filled = subprocess.run([sys.executable, "-m", "grading.warm"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert filled.returncode == 0, filled.stderr  # the cache holds the pass (if it did not)
    r = run_python("from grading.warm import cache_ready\n"
                   "from ui.warm import compile_in_child_then_load\n"
                   "print(cache_ready())\n"
                   "print(compile_in_child_then_load().compiled)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["True", "loaded from cache"]
    assert "separate process" not in r.stderr


def test_with_no_disk_cache_the_app_compiles_in_its_own_process_and_starts_no_child() -> None:
    """A read-only install: the child's compile could not be kept, so none is started."""
    r = run_python("import ui.warm\n"
                   "ui.warm.cache_ready = lambda: False\n"
                   "ui.warm.disk_cache = lambda: False\n"
                   "print(ui.warm.compile_in_child_then_load().rows)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["6"]
    assert "separate process" not in r.stderr


def test_an_empty_numba_cache_is_not_taken_for_a_ready_one(tmp_path: Path) -> None:
    r = run_python("from grading.warm import cache_ready, disk_cache\n"
                   "print(disk_cache(), cache_ready())\n", NUMBA_CACHE_DIR=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["True False"]
