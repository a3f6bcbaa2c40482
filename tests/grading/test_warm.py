"""Compiling the grading pass ahead (``grading/warm.py``, ``python -m grading.warm``).

What a cold compile costs is measured by ``bench/first_start_bench.py`` (an empty numba cache
each time), not here: these tests use the cache CI filled at install.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from grading.warm import WARM_UP_CSV, warm_up

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"^Grading engine ready in \d+\.\d\d s: "
                   r"(compiled|loaded from cache|already in memory)")


def test_warm_up_grades_the_synthetic_timeline_with_its_reasons_and_times_it() -> None:
    w = warm_up()
    assert w.rows == WARM_UP_CSV.count("\nWARM-") == 6
    assert w.reasons > w.rows  # fever, hypotension, hypoxia, ICE and CAPD each give reasons
    assert w.seconds > 0
    assert w.compiled in ("compiled", "loaded from cache", "already in memory")
    assert READY.match(w.describe())


def test_a_second_warm_up_in_the_same_process_finds_the_pass_already_in_memory() -> None:
    warm_up()
    again = warm_up()
    assert again.compiled == "already in memory"
    assert again.cache_dirs  # this checkout's cache (or the user's) is writable here


def test_python_m_grading_warm_prints_how_long_and_what_happened() -> None:
    r = subprocess.run([sys.executable, "-m", "grading.warm"], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert READY.match(r.stdout), r.stdout
    # a new process never has the pass in memory: it compiled it or loaded it from disk
    assert "already in memory" not in r.stdout
    assert r.stderr == ""


def test_after_the_warm_up_the_grading_command_compiles_and_loads_nothing_more() -> None:
    """The warm-up reaches every compiled function the command uses (grade in both formats,
    with the other scales, summary), whatever the engine compiles: none of them is compiled
    or loaded again afterwards."""
    script = textwrap.dedent("""
        import os, sys
        from grading import cli
        from grading.warm import compile_counts, warm_up
        w = warm_up()
        before = compile_counts()
        sys.stdout = open(os.devnull, "w")
        sample = "sample_data/crs_then_icans3_seizure.csv"
        codes = [cli.main([*args, sample]) for args in (
            ["grade", "--format", "json"], ["grade", "--format", "csv"],
            ["grade", "--scales", "astct,lee2014,penn"], ["summary", "--format", "json"],
            ["summary", "--format", "csv"])]
        after = compile_counts()
        sys.stdout = sys.__stdout__
        print(codes)
        print(w.rows, len(before))
        print(sorted((k, v) for k, v in after.items() if before.get(k, (0, 0)) != v))
        sys.stdout.flush()
        os._exit(0)
    """)
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    codes, counted, new = r.stdout.splitlines()
    assert codes == "[0, 0, 0, 0, 0]"
    rows, dispatchers = map(int, counted.split())
    assert rows == 6 and dispatchers >= 1  # the compiled pass was found and counted
    assert new == "[]", f"compiled or loaded after the warm-up: {new}"
