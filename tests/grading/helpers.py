"""Shared helpers: build canonical rows and grade them through both implementations.

``grade_both(rows)`` grades with the fast path (the compiled timeline pass) *and* the row-wise
reference, asserts that every row's snapshot, CRS/ICANS grade, status, reasons and flags, day
after infusion and episode maxima agree, and returns the fast path's results (input order).
Use it in every clinical test so both paths are exercised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import grading
from grading import reference
from grading.snapshot import grade_crs, grade_icans

T0 = datetime(2026, 3, 2, 8, 0)  # naive: read in the ward time zone (UTC unless tz is given)

ICE_10 = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
          "ice_attention": 1}


def ice(total: int) -> dict[str, int]:
    """ICE items adding up to ``total`` (0-10)."""
    assert 0 <= total <= 10
    items = {}
    left = total
    for name, top in (("ice_orientation", 4), ("ice_naming", 3), ("ice_commands", 1),
                      ("ice_writing", 1), ("ice_attention", 1)):
        items[name] = min(top, left)
        left -= items[name]
    return items


def normal_adult(**overrides: object) -> dict[str, object]:
    """An adult assessment with every finding normal (spec §8: alert, ICE 10, room air, no
    vasopressor, no attribution), with ``overrides`` applied. None removes a field."""
    row: dict[str, object] = {
        "patient_id": "P1", "time": T0.isoformat(), "age_years": 45, "temp_c": 37.0,
        "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16, "spo2_pct": 97,
        "o2_device": "room_air", "vasopressors": "none", **ICE_10, "consciousness": "alert",
        "seizure": "none", "motor_weakness": "none", "cerebral_edema": "none",
        "raised_icp_signs": "none",
    }
    return with_changes(row, **overrides)


def with_changes(row: Mapping[str, object], **changes: object) -> dict[str, object]:
    """A copy of ``row`` with ``changes`` applied; None removes a field."""
    out = dict(row)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def grade_both(rows: Sequence[Mapping[str, object]], tz: str = "UTC") -> list[grading.RowResult]:
    a = grading.from_rows(rows, tz=tz)
    graded = grading.grade(a)
    fast = list(graded.results())
    snaps = reference.snapshots(a)
    inverse = {int(p): s for s, p in enumerate(graded.order.order)}
    crs, icans = [grade_crs(s) for s in snaps], [grade_icans(s) for s in snaps]
    for i, (r, snap, c) in enumerate(zip(fast, snaps, reference.course(a, snaps, crs, icans))):
        assert graded.snapshot(inverse[i]) == snap, f"row {i + 1}: snapshots differ"
        assert r.crs == crs[i], f"row {i + 1}: CRS differs from the reference"
        assert r.icans == icans[i], f"row {i + 1}: ICANS differs from the reference"
        assert (r.day_post_infusion, r.crs_episode_max, r.icans_episode_max) == c, \
            f"row {i + 1}: day or episode maximum differs from the reference"
    return fast


def grade_one(**overrides: object) -> grading.RowResult:
    """Grade a single normal-adult row with ``overrides``."""
    return grade_both([normal_adult(**overrides)])[-1]


def flag_codes(r: grading.RowResult) -> set[str]:
    return {f.code for f in r.flags}


def rules_of(g: grading.Grade) -> list[str]:
    return [x.rule for x in g.reasons]


def summarize_both(rows: Sequence[Mapping[str, object]], tz: str = "UTC"
                   ) -> list[grading.PatientSummary]:
    """The course summary of ``rows``, after checking every patient's episodes (onset, maximum,
    when it was reached, resolution, closed) against the row-wise reference."""
    from grading.summary import summarize

    a = grading.from_rows(rows, tz=tz)
    summaries = summarize(grading.grade(a))
    snaps = reference.snapshots(a)
    crs, icans = [grade_crs(s) for s in snaps], [grade_icans(s) for s in snaps]
    expected = reference.episodes(a, snaps, crs, icans)
    for s in summaries:
        fast = [reference.Episode(e.syndrome, e.onset, e.max_grade, e.max_grade_time,
                                  e.resolved, e.closed)
                for e in (*s.crs_episodes, *s.icans_episodes)]
        assert fast == expected[s.patient_id], f"patient {s.patient_id}: episodes differ"
    return summaries
