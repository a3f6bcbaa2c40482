"""Escalation around the infusion (decisions C17, E8; issue 15 point 1): a fever before the
infusion is information for the infusion team, never the urgent "new fever" of CRS; the first
fever after the infusion is a new fever whatever the baseline was. Both sides of the infusion
time, and evaluated from any starting row (a correction re-evaluates from that row on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import grading
from monitoring import escalation

INFUSION = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
BASE = {"hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16, "spo2_pct": 97,
        "o2_device": "room_air", "vasopressors": "none", "ice_orientation": 4, "ice_naming": 3,
        "ice_commands": 1, "ice_writing": 1, "ice_attention": 1, "consciousness": "alert",
        "age_years": 50}


def flags(temps: list[tuple[float, float | None]], start: int = 0) -> list[list[tuple[str, str]]]:
    """(code, severity) raised at each row; rows at (hours from the infusion, temperature)."""
    rows = [{"patient_id": "P", "time": INFUSION + timedelta(hours=h), "infusion_time": INFUSION,
             **BASE, **({} if t is None else {"temp_c": t})} for h, t in temps]
    g = grading.grade(grading.from_rows(rows))
    out: list[list[tuple[str, str]]] = [[] for _ in rows]
    for f in escalation.evaluate_course(rows, lambda i: g.result_at(i, i),
                                        {"infusion_time": INFUSION}, [], start):
        out[f.index].append((f.flag["code"], f.flag["severity"]))
    return out


@pytest.mark.parametrize(("hours", "expected"), [
    (-1 / 60, [("pre_infusion_fever", "info")]),
    (0, [("new_fever", "urgent"), ("crs_rise", "urgent")]),
])
def test_a_fever_a_minute_before_the_infusion_is_information_and_at_it_a_new_fever(hours,
                                                                                  expected):
    assert flags([(-6, 37.0), (hours, 38.5)])[1] == expected


def test_the_pre_infusion_fever_is_raised_once_and_names_the_infusion_team():
    rows = [(-6, 38.5), (-3, 38.7)]
    raised = flags(rows)
    assert raised == [[("pre_infusion_fever", "info")], []]
    assert escalation.RULE_BY_CODE["pre_infusion_fever"].respond.startswith("infusion team")


@pytest.mark.parametrize("start", [0, 1, 2])
def test_the_first_fever_after_a_pre_infusion_fever_is_a_new_fever(start):
    raised = flags([(-6, 38.5), (-2, 38.6), (3, 38.4)], start)
    assert ("new_fever", "urgent") in raised[2]
    assert all(code != "new_fever" for row in raised[:2] for code, _ in row)


def test_evaluated_from_a_later_row_the_baseline_fever_read_earlier_is_still_not_the_last():
    """The latest temperature before the evaluated rows was a baseline one: graded on demand."""
    rows = [(-6, 38.5), (-1, None), (1, None), (3, 38.4)]
    assert ("new_fever", "urgent") in flags(rows, start=3)[3]
    assert ("new_fever", "urgent") in flags(rows, start=0)[3]
