"""The site's reference ranges for the markers (issue 20 point 1; decision M2; docs/markers.md).

The analyte table (``grading.lab_scores.units.ANALYTES``) holds default ranges. A site sets its
laboratory's own in a TOML file named by ``WARD_REFERENCE_RANGES``, one table per test, in the
test's canonical unit (docs/reference-ranges.example.toml):

    [ferritin]
    adult = [20, 300]
    child = [7, 140]

The file is checked when it is read: an unknown test, a unit-less or reversed range, or a
bound beyond the test's plausibility limit stops the app with a message naming the test and
what is allowed, never a silently ignored line.
"""

from __future__ import annotations

import math
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from grading.lab_scores.units import ANALYTES, reference_range

Range = tuple[float, float]
SiteRanges = dict[str, dict[str, Range]]
GROUPS = ("adult", "child")


class ReferenceRangeError(ValueError):
    """A site's reference-range file that cannot be used: names the test and the rule."""


def parse(text: str, where: str = "reference ranges") -> SiteRanges:
    """The site's ranges from the TOML text, checked (``ReferenceRangeError``)."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ReferenceRangeError(f"{where}: not a TOML file ({e})") from None
    out: SiteRanges = {}
    for test, groups in data.items():
        if test not in ANALYTES:
            raise ReferenceRangeError(f"{where}: '{test}' is not a test the ward records; one of "
                                      + ", ".join(ANALYTES))
        a = ANALYTES[test]
        if not isinstance(groups, dict) or not groups or set(groups) - set(GROUPS):
            raise ReferenceRangeError(f"{where}: [{test}] sets 'adult' and/or 'child' only, "
                                      "each as [low, high]")
        out[test] = {}
        for group, pair in groups.items():
            name = f"{where}: {a.words} {group}"
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                               and math.isfinite(x) for x in pair)):
                raise ReferenceRangeError(f"{name} must be two numbers [low, high] in "
                                          f"{a.canonical}")
            lo, hi = float(pair[0]), float(pair[1])
            if not 0 <= lo < hi <= a.maximum:
                raise ReferenceRangeError(f"{name} [{pair[0]}, {pair[1]}] is not possible: low "
                                          f"below high, both from 0 to {a.maximum:,.15g} "
                                          f"{a.canonical}")
            out[test][group] = (lo, hi)
    return out


def load(path: str | Path) -> SiteRanges:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ReferenceRangeError(f"WARD_REFERENCE_RANGES: cannot read {p} ({e.strerror})") \
            from None
    return parse(text, p.name)


@lru_cache(maxsize=1)
def _site(path: str) -> SiteRanges:
    return load(path) if path else {}


def site_ranges(env: dict[str, str] | None = None) -> SiteRanges:
    """The ranges of the file ``WARD_REFERENCE_RANGES`` names (read once), {} without one."""
    path = (os.environ if env is None else env).get("WARD_REFERENCE_RANGES", "").strip()
    return _site(path)


def range_for(test: str, age_years: float | None,
              site: SiteRanges | None = None) -> tuple[float | None, float | None]:
    """The reference range of ``test`` for a patient of ``age_years`` on this site."""
    return reference_range(test, age_years, site_ranges() if site is None else site)
