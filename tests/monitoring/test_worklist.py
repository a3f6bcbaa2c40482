"""The observations-due worklist (issue 18.15): the course model's due times, most overdue
first, then the soonest due, each with the interval that applies and why (decision W17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import worklist
from monitoring.store import WardStore

NOW = datetime(2026, 10, 14, 15, 0, tzinfo=UTC)
ICE_10 = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
          "ice_attention": 1}
CALM = {"temp_c": 36.8, "hr_bpm": 78, "sbp_mmhg": 124, "dbp_mmhg": 72, "rr_per_min": 16,
        "spo2_pct": 98, "o2_device": "room_air", "consciousness": "alert"}


@pytest.fixture
def store(memory_store: WardStore) -> WardStore:
    return memory_store


def admit(store: WardStore, pid: str, bed: str, admitted_hours_ago: float = 24) -> None:
    store.admit({"patient_id": pid, "bed": bed, "name": f"Patient {pid}",
                 "infusion_time": NOW - timedelta(days=2),
                 "admitted_at": NOW - timedelta(hours=admitted_hours_ago)}, by="drx")


def chart(store: WardStore, pid: str, hours_ago: float, **values: object) -> None:
    store.record_assessment(pid, {"time": NOW - timedelta(hours=hours_ago), "age_years": 60,
                                  **values}, by="nina")


def ward_of_four(store: WardStore) -> None:
    admit(store, "P1", "3")   # calm, vital signs 5 h ago: 1 h overdue (every 4 h)
    chart(store, "P1", 5, **CALM, **ICE_10)
    admit(store, "P2", "1")   # fever (CRS 1): vital signs every 2 h, neuro 7.5 h ago
    chart(store, "P2", 7.5, **CALM, **ICE_10)
    chart(store, "P2", 0.5, **{**CALM, "temp_c": 38.5})
    admit(store, "P3", "2", admitted_hours_ago=12)   # no neuro assessment ever
    chart(store, "P3", 10, **CALM)
    admit(store, "P4", "4")   # NEWS2 9 without fever: vital signs every 15 min
    chart(store, "P4", 1, **CALM, **ICE_10)
    chart(store, "P4", 20 / 60, **{**CALM, "hr_bpm": 132, "rr_per_min": 26, "spo2_pct": 91})


def test_the_worklist_puts_the_longest_overdue_first_then_the_soonest_due(store):
    ward_of_four(store)
    items = worklist.observations_due(store, NOW)
    got = [(i.patient["patient_id"], i.what, NOW - i.due, i.state(NOW)) for i in items]
    h = timedelta(hours=1)
    assert got == [
        ("P3", "neuro assessment", 12 * h, "overdue"),     # never: due since admission
        ("P3", "vital signs", 6 * h, "overdue"),           # 10 h ago, every 4 h
        ("P1", "vital signs", 1 * h, "overdue"),           # 5 h ago, every 4 h
        ("P4", "vital signs", timedelta(minutes=5), "overdue"),  # 20 min ago, every 15 min
        ("P2", "neuro assessment", -timedelta(minutes=30), "due soon"),  # 7.5 h, every 8 h
        ("P2", "vital signs", -timedelta(minutes=90), "later"),          # 30 min, every 2 h
        ("P1", "neuro assessment", -3 * h, "later"),
        ("P4", "neuro assessment", -7 * h, "later"),
    ]


def test_each_item_says_the_interval_that_applies_why_and_when_it_was_last_done(store):
    ward_of_four(store)
    by = {(i.patient["patient_id"], i.what): i for i in worklist.observations_due(store, NOW)}
    p4 = by[("P4", "vital signs")]
    assert (p4.every, p4.why, p4.last) == (timedelta(minutes=15), "NEWS2 9",
                                           NOW - timedelta(minutes=20))
    assert p4.overdue_by(NOW) == timedelta(minutes=5)
    p2 = by[("P2", "vital signs")]
    assert (p2.every, p2.why) == (timedelta(hours=2), "CRS grade 1")
    assert p2.overdue_by(NOW) is None
    assert by[("P2", "neuro assessment")].why == "ICANS grade 0"
    never = by[("P3", "neuro assessment")]
    assert never.last is None and never.why.startswith("never recorded")
    assert never.due == NOW - timedelta(hours=12)  # the admission


def test_a_single_red_parameter_makes_vital_signs_hourly_and_says_so(store):
    admit(store, "P1", "1")
    chart(store, "P1", 0.5, **{**CALM, "rr_per_min": 26}, **ICE_10)  # RR 26 scores 3
    (vitals,) = [i for i in worklist.observations_due(store, NOW) if i.what == "vital signs"]
    assert (vitals.every, vitals.why) == (timedelta(hours=1), "NEWS2 3, a parameter scoring 3")
    assert vitals.due == NOW + timedelta(minutes=30) and vitals.state(NOW) == "due soon"


def test_at_the_due_minute_an_item_is_due_and_a_minute_later_overdue(store):
    admit(store, "P1", "1")
    chart(store, "P1", 4, **CALM, **ICE_10)
    (vitals,) = [i for i in worklist.observations_due(store, NOW) if i.what == "vital signs"]
    assert vitals.due == NOW and vitals.state(NOW) == "due soon"
    later = NOW + timedelta(minutes=1)
    assert vitals.state(later) == "overdue" and vitals.overdue_by(later) == timedelta(minutes=1)


def test_the_demo_ward_lists_only_demo_patients_when_asked(store):
    ward_of_four(store)
    assert worklist.observations_due(store, NOW, demo_only=True) == []


def test_a_patient_admitted_without_observations_is_overdue_for_both(store):
    admit(store, "P9", "9", admitted_hours_ago=2)
    items = worklist.observations_due(store, NOW)
    assert [(i.what, i.state(NOW), i.due) for i in items] == [
        ("neuro assessment", "overdue", NOW - timedelta(hours=2)),
        ("vital signs", "overdue", NOW - timedelta(hours=2))]


@pytest.mark.parametrize(("minutes", "words"), [
    (0, "0 min"), (45, "45 min"), (60, "1 h"), (80, "1 h 20 min"), (24 * 60, "1 day"),
    (51 * 60 + 5, "2 days 3 h")])
def test_durations_read_as_a_nurse_says_them(minutes, words):
    assert worklist.duration_words(timedelta(minutes=minutes)) == words


def test_intervals_read_as_a_nurse_says_them():
    assert [worklist.every_words(timedelta(minutes=m)) for m in (15, 60, 120, 480)] == [
        "every 15 min", "hourly", "every 2 h", "every 8 h"]
