"""ICU stays in the ward record (issue 19 point 3, decision R10): a transfer to intensive care
and the return to the ward, corrected only with a reason, nothing deleted; one stay at a time
and nothing after a death under the patient's lock; the return after the transfer and one
replacement per row enforced by the database itself. In memory, on SQLite and (with
``TEST_DATABASE_URL``) PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import services
from monitoring import tables as t
from monitoring.store import StoreError, WardStore

from .conftest import INFUSION
from .test_concurrent_saves import at_once

T0 = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def stays(store: WardStore) -> list[tuple[datetime, datetime | None]]:
    return [(s["transferred_at"], s["returned_at"]) for s in store.icu_stays("P")]


def refused(call, *words: str) -> str:
    with pytest.raises(StoreError) as e:
        call()
    for w in words:
        assert w in str(e.value), str(e.value)
    return str(e.value)


def test_a_transfer_and_its_return_are_one_current_stay_with_who_recorded_each(record):
    stay = record.record_icu_transfer("P", T0, by="nina")
    assert stays(record) == [(T0, None)]
    assert record.in_icu() == {"P": T0}
    back = record.record_icu_return("P", stay, T0 + 30 * H, by="drx")
    assert stays(record) == [(T0, T0 + 30 * H)]
    assert record.in_icu() == {}
    history = record.icu_history("P")
    assert [(h["id"], h["replaces_id"], h["recorded_by"], h["status"]) for h in history] == [
        (stay, None, "nina", "final"), (back, stay, "drx", "final")]
    entries = [a for a in record.audit("P") if a["entity"] == "icu_stay"]
    assert [(a["action"], a["username"]) for a in entries] == [("record", "nina"),
                                                               ("return", "drx")]
    assert all(a["at"].tzinfo is not None for a in entries)
    assert json.loads(entries[1]["before"])["returned_at"] is None
    assert json.loads(entries[1]["after"])["returned_at"].startswith("2026-03-05T14:00")


def test_a_second_transfer_while_a_stay_is_open_is_refused_naming_the_field(record):
    record.record_icu_transfer("P", T0, by="nina")
    refused(lambda: record.record_icu_transfer("P", T0 + 2 * H, by="nina"),
            "Transferred to ICU", "in intensive care since 04/03/2026 08:00")
    # an earlier stay that ended before the open one began may still be charted
    record.record_icu_transfer("P", T0 - 48 * H, by="nina", returned_at=T0 - 24 * H)
    assert stays(record) == [(T0 - 48 * H, T0 - 24 * H), (T0, None)]
    # but not one that runs into the open stay
    refused(lambda: record.record_icu_transfer("P", T0 - 12 * H, by="nina",
                                               returned_at=T0 + H), "Transferred to ICU")


@pytest.mark.parametrize(("returned", "accepted"), [
    (-H, False), (timedelta(0), False), (timedelta(minutes=1), True), (3 * H, True)])
def test_the_return_must_come_after_the_transfer(record, returned, accepted):
    call = lambda: record.record_icu_transfer("P", T0, by="nina",  # noqa: E731
                                              returned_at=T0 + returned)
    if accepted:
        call()
        assert stays(record) == [(T0, T0 + returned)]
    else:
        refused(call, "Returned to the ward must be after Transferred to ICU")
        assert stays(record) == []


@pytest.mark.parametrize(("start", "end", "accepted"), [
    (-2, 0, True),     # ends as the other begins
    (-2, 1, False),    # runs into it
    (1, 2, False),     # inside it
    (2, 5, False),     # from inside to after
    (3, 5, True),      # begins as the other ends
    (-1, 4, False),    # around it
])
def test_stays_never_overlap_and_may_touch(record, start, end, accepted):
    record.record_icu_transfer("P", T0, by="nina", returned_at=T0 + 3 * H)
    call = lambda: record.record_icu_transfer("P", T0 + start * H, by="nina",  # noqa: E731
                                              returned_at=T0 + end * H)
    if accepted:
        call()
        assert len(stays(record)) == 2
    else:
        refused(call, "overlaps the ICU stay from 04/03/2026 08:00 to 04/03/2026 11:00")
        assert len(stays(record)) == 1


def test_a_time_to_come_or_without_a_zone_is_refused(record):
    soon = datetime.now(UTC) + timedelta(minutes=10)
    refused(lambda: record.record_icu_transfer("P", soon, by="nina"),
            "Transferred to ICU", "is in the future")
    stay = record.record_icu_transfer("P", T0, by="nina")
    refused(lambda: record.record_icu_return("P", stay, soon, by="nina"),
            "Returned to the ward", "is in the future")
    refused(lambda: record.record_icu_transfer("P", datetime(2026, 3, 1, 8, 0), by="nina"),
            "Transferred to ICU: give a timezone-aware date and time")
    assert stays(record) == [(T0, None)]


def test_a_correction_needs_a_reason_and_keeps_the_original_with_the_reason_audited(record):
    stay = record.record_icu_transfer("P", T0, by="nina", returned_at=T0 + 5 * H)
    refused(lambda: record.amend_icu_stay("P", stay, T0 + H, T0 + 5 * H, "  ", by="drx"),
            "Reason")
    new = record.amend_icu_stay("P", stay, T0 + H, T0 + 6 * H, "wrong hour charted", by="drx")
    assert stays(record) == [(T0 + H, T0 + 6 * H)]
    old, fixed = record.icu_history("P")
    assert (old["id"], old["transferred_at"]) == (stay, T0)
    assert (fixed["id"], fixed["replaces_id"], fixed["reason"]) == (new, stay,
                                                                    "wrong hour charted")
    entry = [a for a in record.audit("P") if a["action"] == "amend"][-1]
    assert (entry["entity"], entry["entity_id"], entry["username"]) == ("icu_stay", str(stay),
                                                                        "drx")
    assert json.loads(entry["after"])["reason"] == "wrong hour charted"
    # the replaced version is corrected once: a second correction of it is refused
    refused(lambda: record.amend_icu_stay("P", stay, T0, T0 + 2 * H, "again", by="drx"),
            f"ICU stay #{stay} is not a current stay")
    # a correction may take a return back (the patient is still there) ...
    back = record.amend_icu_stay("P", new, T0 + H, None, "return was charted on the wrong "
                                 "patient", by="drx")
    assert record.in_icu() == {"P": T0 + H}
    # ... and a return is recorded once: after that it is corrected, not returned again
    later = record.record_icu_return("P", back, T0 + 9 * H, by="nina")
    refused(lambda: record.record_icu_return("P", later, T0 + 10 * H, by="nina"),
            "recorded already")


def test_a_stay_entered_in_error_stays_in_the_history_and_frees_the_time(record):
    stay = record.record_icu_transfer("P", T0, by="nina")
    refused(lambda: record.mark_icu_stay_in_error("P", stay, "", by="nina"), "Reason")
    mark = record.mark_icu_stay_in_error("P", stay, "wrong patient", by="nina")
    assert stays(record) == [] and record.in_icu() == {}
    assert [(h["id"], h["status"]) for h in record.icu_history("P")] == [
        (stay, "final"), (mark, "entered_in_error")]
    record.record_icu_transfer("P", T0 + H, by="nina")  # the open stay no longer counts
    assert stays(record) == [(T0 + H, None)]


def test_nothing_is_charted_in_intensive_care_after_a_recorded_death(record):
    record.record_assessment("P", {"time": T0 + 4 * H, "died_of": "crs"}, by="drx")
    stay = record.record_icu_transfer("P", T0, by="nina")  # died in intensive care
    refused(lambda: record.record_icu_return("P", stay, T0 + 5 * H, by="nina"),
            "Returned to the ward", "death is recorded at 04/03/2026 12:00")
    refused(lambda: record.record_icu_transfer("P", T0 + 6 * H, by="nina"))
    assert stays(record) == [(T0, None)]


def test_an_educator_charts_a_stay_for_demo_patients_only_and_a_demo_reset_marks_it(record):
    refused(lambda: record.record_icu_transfer("P", T0, by="eddie"), "educator")
    record.admit({"patient_id": "D", "infusion_time": INFUSION, "is_demo": True}, by="eddie")
    record.record_icu_transfer("D", T0, by="eddie")
    assert record.clear_demo_patient("D", "demo reset", by="eddie") == 1
    assert record.icu_stays("D") == []
    refused(lambda: record.record_icu_transfer("Q", T0, by="nina"), "unknown patient")


def test_the_services_write_under_the_patients_lock_and_answer_as_the_record(record):
    stay = services.record_icu_transfer(record, "P", T0, by="nina")
    back = services.record_icu_return(record, "P", stay, T0 + 3 * H, by="nina")
    fixed = services.amend_icu_stay(record, "P", back, T0, T0 + 4 * H, "late charting",
                                    by="drx")
    assert stays(record) == [(T0, T0 + 4 * H)]
    services.icu_stay_in_error(record, "P", fixed, "wrong patient", by="drx")
    assert stays(record) == []
    with pytest.raises(StoreError, match="Returned to the ward must be after"):
        services.record_icu_transfer(record, "P", T0, by="nina", returned_at=T0)


# ------------------------------------------------------------------ the database itself
@pytest.mark.parametrize("what", ["return before the transfer", "second replacement",
                                  "update"])
def test_the_database_refuses_what_the_record_never_writes(store, what):
    """Past the record's checks (a direct insert or update): the check constraint, the unique
    replacement index and the append-only trigger of migration 0015."""
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    stay = store.record_icu_transfer("P", T0, by="nina")
    store.record_icu_return("P", stay, T0 + H, by="nina")
    row = {"patient_id": "P", "transferred_at": T0, "returned_at": T0 + 2 * H,
           "recorded_at": datetime.now(UTC), "recorded_by": "nina", "status": "final"}
    with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as conn:
        if what == "return before the transfer":
            conn.execute(t.icu_stays.insert().values(**row | {"returned_at": T0 - H}))
        elif what == "second replacement":
            conn.execute(t.icu_stays.insert().values(**row | {"replaces_id": stay}))
        else:
            conn.execute(t.icu_stays.update().values(returned_at=T0 + 5 * H))
    assert stays(store) == [(T0, T0 + H)]


def test_two_transfers_saved_at_once_never_both_land(store):
    for i in range(6):
        pid = f"A{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
        outcomes = at_once(
            lambda p=pid: services.record_icu_transfer(store, p, T0, by="nina"),
            lambda p=pid: services.record_icu_transfer(store, p, T0 + H, by="drx"))
        assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert isinstance(error, StoreError) and "Transferred to ICU" in str(error)
        assert len(store.icu_stays(pid)) == 1


def test_a_return_and_a_correction_of_one_stay_at_once_never_both_land(store):
    for i in range(6):
        pid = f"B{i}"
        store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
        stay = store.record_icu_transfer(pid, T0, by="nina")
        outcomes = at_once(
            lambda p=pid, s=stay: services.record_icu_return(store, p, s, T0 + 5 * H,
                                                             by="nina"),
            lambda p=pid, s=stay: services.amend_icu_stay(store, p, s, T0 + H, None,
                                                          "wrong hour", by="drx"))
        assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
        assert len(store.icu_stays(pid)) == 1
        assert len(store.icu_history(pid)) == 2



# ------------------------------------------------------------------ the invariant
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 48), st.one_of(st.none(), st.integers(-2, 24)),
                          st.booleans()), max_size=8))
def test_whatever_is_tried_the_current_stays_never_overlap_and_at_most_one_is_open(tries):
    """Transfers (hour, length or None for no return) and corrections tried in any order: what
    the record keeps is a set of stays one after another, the open one (if any) last."""
    s = WardStore.in_memory()
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    s.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    for hour, hours, amend in tries:
        start = T0 + hour * H
        end = None if hours is None else start + hours * H
        current = s.icu_stays("P")
        try:
            if amend and current:
                s.amend_icu_stay("P", current[0]["id"], start, end, "corrected", by="nina")
            else:
                s.record_icu_transfer("P", start, by="nina", returned_at=end)
        except StoreError:
            pass
    kept = stays(s)
    assert sum(b is None for _, b in kept) <= 1
    for (_, b1), (a2, _) in zip(kept, kept[1:]):
        assert b1 is not None and b1 <= a2
    assert all(b is None or b > a for a, b in kept)
