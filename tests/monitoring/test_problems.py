"""The ward's validation hands problems on as objects (field, code, message): a bedside
preview and a save name the same field and code for the same bad entry, whether the grading
validator (``InputError``) or the ward record (``StoreError.problems``) refuses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grading.parse import InputError, Problem
from monitoring import limits, ward
from monitoring.store import StoreError

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
       "ice_attention": 1}
EARLIER = NOW - timedelta(minutes=60)


def admit(store) -> None:
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")


def nothing_before(store) -> None:
    pass


def a_row_at_the_same_minute(store) -> None:
    ward.save(store, "P1", {"time": NOW - timedelta(seconds=30), "temp_c": 37.0}, by="nina",
              now=NOW)


def a_death_an_hour_earlier(store) -> None:
    ward.save(store, "P1", {"time": EARLIER, "died_of": "other"}, by="nina", now=NOW)


# (what is wrong, what is on record first, the entry, the field and code expected)
BAD_ENTRIES = [
    ("a temperature above the hard limit", nothing_before, {"temp_c": 50},
     ("temp_c", "hard_limit")),
    ("a heart rate that is not a number", nothing_before, {"hr_bpm": "fast"},
     ("hr_bpm", "not_a_number")),
    ("an oxygen device not allowed", nothing_before, {"o2_device": "helmet"},
     ("o2_device", "not_allowed")),
    ("a diastolic at the systolic", nothing_before, {"sbp_mmhg": 100, "dbp_mmhg": 100},
     ("dbp_mmhg", "cross_field")),
    ("an ICE score partly filled", nothing_before, {"ice_orientation": 4},
     ("ice_naming", "incomplete")),
    ("ICE items and a CAPD total", nothing_before, {**ICE, "capd_total": 4},
     ("capd_total", "cross_field")),
    ("a time a minute in the future", nothing_before,
     {"time": NOW + timedelta(minutes=1), "temp_c": 37.0}, ("time", "future_time")),
    ("a second assessment in the same minute", a_row_at_the_same_minute,
     {"time": NOW - timedelta(seconds=30), "temp_c": 38.0}, ("time", "duplicate_time")),
    ("an assessment after the recorded death", a_death_an_hour_earlier, {"temp_c": 37.0},
     ("time", "after_death")),
]
IDS = [what for what, _, _, _ in BAD_ENTRIES]


def the_problem(act) -> Problem:
    with pytest.raises((InputError, StoreError)) as e:
        act()
    problems = e.value.problems
    assert len(problems) == 1, [str(p) for p in problems] or str(e.value)
    assert isinstance(problems[0], Problem)
    return problems[0]


@pytest.mark.parametrize(("what", "before", "entry", "expected"), BAD_ENTRIES, ids=IDS)
def test_a_bad_entry_is_named_by_field_and_code_in_the_preview(memory_store, what, before,
                                                               entry, expected):
    store = memory_store
    admit(store)
    before(store)
    values = {"time": NOW, **entry}
    problem = the_problem(lambda: ward.preview(store, "P1", values, now=NOW))
    assert (problem.field, problem.code) == expected


def saved_problem(store, before, entry) -> Problem:
    admit(store)
    before(store)
    n = len(store.history("P1"))
    values = {"time": NOW, **entry}
    problem = the_problem(lambda: ward.save(store, "P1", values, by="nina", now=NOW))
    assert len(store.history("P1")) == n  # nothing saved
    return problem


@pytest.mark.parametrize(("what", "before", "entry", "expected"), BAD_ENTRIES, ids=IDS)
def test_a_bad_entry_is_named_by_field_and_code_when_saved(store, what, before, entry,
                                                           expected):
    problem = saved_problem(store, before, entry)
    assert (problem.field, problem.code) == expected


@pytest.mark.parametrize(("what", "before", "entry", "expected"), BAD_ENTRIES, ids=IDS)
def test_the_in_memory_record_refuses_with_the_same_problem(memory_store, what, before, entry,
                                                            expected):
    problem = saved_problem(memory_store, before, entry)
    assert (problem.field, problem.code) == expected


def test_an_assessment_at_this_very_minute_is_not_in_the_future(store):
    admit(store)
    assert ward.preview(store, "P1", {"time": NOW, "temp_c": 37.0}, now=NOW) is not None
    ward.save(store, "P1", {"time": NOW, "temp_c": 37.0}, by="nina", now=NOW)
    assert [r["time"] for r in store.timeline_rows("P1")] == [NOW]


@pytest.mark.parametrize(("ago", "code"), [
    (timedelta(seconds=-1), "future_time"), (timedelta(hours=24, seconds=1), "too_old")])
def test_the_bedside_time_check_names_the_time_field(ago, code):
    problem = ward.backdating_problem(NOW - ago, NOW)
    assert problem is not None and (problem.field, problem.code) == ("time", code)


def test_a_text_over_its_limit_is_a_too_long_problem_of_that_field(store):
    admit(store)
    done = ward.save(store, "P1", {"time": NOW, "temp_c": 37.0}, by="nina", now=NOW)
    reason = "x" * (limits.most("reason") + 1)
    problem = the_problem(lambda: store.amend_assessment(
        done.assessment_id, {"time": NOW, "temp_c": 37.1}, reason, by="nina"))
    assert (problem.field, problem.code) == ("reason", "too_long")
    assert problem.message == (f"the reason may have at most {limits.most('reason')} "
                               f"characters (this one has {len(reason)})")
