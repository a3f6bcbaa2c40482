"""Compile the grading pass ahead of its first real use: ``python -m grading.warm``.

numba compiles the grading pass (``kernel.py``) on its first call after install or after the
file changes (7–20 s), then keeps the machine code in its disk cache (next to the package, or
in the user's cache); every later process loads it in well under a second. ``warm_up`` pays
that cost ahead — at install (``python -m grading.warm``: README's start command, and ``.ci/run``
before the tests) or at the app's start-up, off the request path (``ui/warm.py``) — so it
never falls on a user's first click. Measured by ``bench/first_start_bench.py``.

It grades a small synthetic timeline through the public API only (``read_csv`` on an
in-memory CSV, ``grade``, every row's ``results()`` with its reasons, ``summarize``), so it
stays valid whatever the engine's internals become, and reports how long that took and
whether the compiled code was compiled now, loaded from the disk cache, or already in memory.
A test holds that after it the grading command (every format, ``summary``, ``--scales``)
compiles and loads nothing more (``tests/grading/test_warm.py``).

Synthetic values only (never a patient's): two adults and a child, before and after infusion,
with fever, hypotension on a vasopressor, oxygen, ICE and CAPD scores.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Literal

from . import stream
from .parse import read_csv
from .summary import summarize
from .timeline import grade

Compiled = Literal["compiled", "loaded from cache", "already in memory", "nothing to compile"]

# A tiny canonical CSV: every kind of column (numbers, integers, booleans, choices, lists of
# choices) filled somewhere and blank elsewhere, so every input array has its real type.
WARM_UP_CSV = """\
patient_id,time,age_years,infusion_time,temp_c,hr_bpm,sbp_mmhg,dbp_mmhg,rr_per_min,spo2_pct,\
o2_device,o2_flow_l_min,vasopressors,antipyretic_given,tocilizumab_given,corticosteroid_given,\
fluid_bolus_given,anticytokine_given,ice_orientation,ice_naming,ice_commands,ice_writing,\
ice_attention,capd_total,sedated,consciousness,seizure,motor_weakness,cerebral_edema,\
raised_icp_signs,attributed_elsewhere,died_of
WARM-A,2026-01-05T08:00,54,2026-01-05T10:00,37.1,80,120,70,16,97,room_air,,none,,,,,,4,3,1,1,1,,,\
alert,none,none,none,,,
WARM-A,2026-01-06T09:00,54,2026-01-05T10:00,38.6,112,84,50,22,93,nasal_cannula,3,\
norepinephrine,true,true,false,true,false,3,3,1,1,0,,false,awakens_to_voice,none,none,none,,\
fever,
WARM-A,2026-01-06T15:00,54,2026-01-05T10:00,37.4,90,110,65,18,96,room_air,,none,false,false,\
true,false,true,4,3,1,1,1,,,alert,none,none,none,,,
WARM-B,2026-01-05T12:00,61,,37.0,75,125,80,14,98,,,,,,,,,4,3,1,1,1,,,alert,,,,,,
WARM-B,2026-01-08T12:00,61,2026-01-06T09:30,39.2,120,88,55,26,90,high_flow_nasal_cannula,30,\
none,,,,,,1,1,0,0,0,,,awakens_to_touch,resolved_rapidly,none,none,papilledema,,
WARM-C,2026-01-07T09:00,7,2026-01-06T11:00,38.2,130,95,60,28,95,simple_face_mask,5,none,true,,,,,,\
,,,,10,false,alert,none,none,none,,,
"""


@dataclass(frozen=True)
class WarmUp:
    """What a warm-up did: its wall time, whether the compiled pass was compiled now, loaded
    from numba's disk cache or already in this process, and where the cache is."""

    seconds: float
    compiled: Compiled
    rows: int                                 # rows graded (the synthetic timeline)
    reasons: int                              # CRS and ICANS reasons built for them
    cache_dirs: tuple[str, ...] = ()          # numba's cache folders of the compiled code

    def describe(self) -> str:
        """One line for a person: how long, and what happened."""
        where = (f" (cache: {', '.join(self.cache_dirs)})" if self.cache_dirs else
                 " (no writable cache: compiled again in every process)"
                 if self.compiled == "compiled" else "")
        return f"Grading engine ready in {self.seconds:.2f} s: {self.compiled}{where}."


def compiled_functions() -> dict[str, Any]:
    """Every numba-compiled function defined in a ``grading`` module loaded in this process,
    by qualified name (found, not listed: the warm-up holds whatever the engine compiles)."""
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # numba absent: nothing is compiled
        return {}
    found: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "grading" or name.startswith("grading.")):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, Dispatcher) and getattr(value.py_func, "__module__",
                                                         None) == name:
                found[f"{name}.{attr}"] = value
    return found


def compile_counts() -> dict[str, tuple[int, int]]:
    """For every compiled function of ``grading`` loaded so far in this process: (cache
    misses, cache hits). A miss is a compilation (numba counts one per signature it had to
    compile; with no usable disk cache every compilation is a miss), a hit a load from disk."""
    counts = {}
    for name, d in compiled_functions().items():
        stats = d.stats
        counts[name] = (sum(stats.cache_misses.values()), sum(stats.cache_hits.values()))
    return counts


def in_memory() -> bool:
    """Whether this process already holds compiled grading code (a warm-up would load nothing)."""
    return any(d.signatures for d in compiled_functions().values())


def disk_cache() -> bool:
    """Whether numba keeps the compiled pass on disk (next to the package or in the user's
    cache); without (a read-only install) every process compiles it in memory."""
    return any(getattr(d.stats, "cache_path", None) for d in compiled_functions().values())


def cache_ready() -> bool:
    """Whether numba's disk cache already holds compiled code for the current source of the
    grading pass (a warm-up would then only load it). Read from the cache's index through
    numba's private API (numba is pinned in the locks); False whenever that cannot be read,
    so the caller compiles ahead rather than trusting a guess."""
    try:
        return any(d._cache._cache_file._load_index()
                   for d in compiled_functions().values())
    except Exception:  # another numba version, no cache (compiled in memory): unknown
        return False


def _total(counts: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(m for m, _ in counts.values()), sum(h for _, h in counts.values())


def warm_up() -> WarmUp:
    """Grade the synthetic timeline once (compiling, or loading, the grading pass) and say
    how long it took and what happened. Safe to call from any thread, and again."""
    before = _total(compile_counts())
    start = time.perf_counter()
    assessments = read_csv(WARM_UP_CSV.encode(), tz="Europe/London")
    graded = grade(assessments)
    results = list(graded.results())  # with the reasons a user reads
    reasons = sum(len(r.crs.reasons) + len(r.icans.reasons) for r in results)
    summarize(graded)
    for fmt in ("csv", "json"):  # the command's streaming writer is compiled too
        stream.grade_bytes(graded, fmt)
    seconds = time.perf_counter() - start
    dispatchers = compiled_functions()
    misses, hits = (a - b for a, b in zip(_total(compile_counts()), before))
    compiled: Compiled = ("nothing to compile" if not dispatchers else
                          "compiled" if misses else
                          "loaded from cache" if hits else "already in memory")
    cache_dirs = sorted({str(path) for d in dispatchers.values()
                         if (path := getattr(d.stats, "cache_path", None))})
    return WarmUp(seconds=seconds, compiled=compiled, rows=len(results), reasons=reasons,
                  cache_dirs=tuple(cache_dirs))


def main() -> int:
    """``python -m grading.warm``: warm up and print what happened (exit 0), or the error
    in one line (exit 3) — never a traceback."""
    try:
        w = warm_up()
    except Exception as e:  # one plain line; the exit status says it failed
        print(f"python -m grading.warm: the grading engine could not be prepared: "
              f"{type(e).__name__}: {e}", file=sys.stderr)
        return 3
    print(w.describe())
    return 0


if __name__ == "__main__":
    from .cli import exit_process  # without the interpreter's teardown, as python -m grading

    exit_process(main(), "python -m grading.warm")
