"""The tocilizumab limits before a dose charted late (the medications page's time field set
hours back): counted at the time the dose was given, with the doses already recorded after that
time counting too (spec §4.4, ASCO 2021: at most 3 in 24 h, 4 in total, 8 h apart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.review import tocilizumab_for_dose

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def doses(*hours: float) -> list[dict]:
    return [{"kind": "tocilizumab", "given_at": T0 + timedelta(hours=h), "dose": 560.0,
             "unit": "mg", "status": "current"} for h in hours]


@pytest.mark.parametrize("recorded, at, last_24h, total, warnings", [
    # nothing after the time given: as before, counted at that time
    ((0,), 10, 1, 1, ()),
    ((0,), 7.9, 1, 1, ("last dose 7.9 h ago: doses are at least 8 h apart",)),
    # a dose charted late, before one already recorded: 8 h on both sides
    ((10,), 2.1, 0, 1, ("the next recorded dose is 7.9 h after this one: doses are at least "
                        "8 h apart",)),
    ((10,), 2, 0, 1, ()),
    # every recorded dose counts towards the total, also those after the time given
    ((10, 20, 30), 0, 0, 3, ()),
    ((10, 20, 30, 40), 0, 0, 4, ("4 doses in total: the limit is 4",)),
    # a 24 h period holding this dose and 3 others, found after it as well as before
    ((8.5, 17, 23.5), 0, 0, 3, ("3 other doses within a 24 h period that includes this one: "
                                "the limit is 3 in 24 h",)),
    ((8.5, 17, 24), 0, 0, 3, ()),
    ((-8, 8, 15.9), 0, 1, 3, ("3 other doses within a 24 h period that includes this one: "
                                "the limit is 3 in 24 h",)),
    ((-8.5, 8.5, 17), 0, 1, 3, ()),  # -8.5 and 17 are 25.5 h apart: never 3 in one 24 h
])
def test_a_dose_charted_late_is_judged_at_its_time_and_against_the_doses_after_it(
        recorded, at, last_24h, total, warnings):
    got = tocilizumab_for_dose([], doses(*recorded), T0 + timedelta(hours=at))
    assert (got.last_24h, got.total) == (last_24h, total)
    assert len(got.warnings) == len(warnings)
    for w, expected in zip(got.warnings, warnings, strict=True):
        assert w.startswith(expected)
