"""The demo ward of the first start shows a ward in the middle of its work, now (issue 18.16,
decision W16): every demo patient graded by the engine at the moment the app starts, whatever
the time of day, with no spurious overdue observations and the current shift's flags open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import grading
from monitoring import demo, library, ward
from monitoring.store import WardStore

# (CRS now, ICANS now, CRS maximum, ICANS maximum, the days after infusion it may be now)
INTENDED = {
    "DEMO-001": (0, 0, 0, 0, {1, 2, 3}),   # uneventful
    "DEMO-002": (2, 0, 2, 0, {1, 2}),      # CRS 2 on Day 1-2, after tocilizumab
    "DEMO-003": (0, 3, 1, 3, {5, 6}),      # ICANS 3 on dexamethasone
    "DEMO-004": (0, 0, 2, 2, {6, 7, 8}),   # a child recovering from CRS 2 and ICANS 2
    "DEMO-005": (3, 0, 3, 0, {1, 2}),      # CRS 3 on Day 1-2, high-flow oxygen
}
# starts at four times of day: the picture does not depend on when the app starts
STARTS = [datetime(2026, 10, 14, 0, 5, tzinfo=UTC), datetime(2026, 10, 14, 7, 40, tzinfo=UTC),
          datetime(2026, 10, 14, 13, 15, tzinfo=UTC), datetime(2026, 10, 14, 20, 47, tzinfo=UTC)]


@pytest.fixture
def store(memory_store: WardStore) -> WardStore:
    return memory_store


@pytest.mark.parametrize("start", STARTS, ids=lambda d: f"{d:%H%M}")
def test_every_demo_patient_is_graded_as_intended_at_the_moment_the_ward_starts(store, start):
    demo.load_demo(store, at=start)
    statuses = {s.patient["patient_id"]: s for s in ward.ward_overview(store, start)}
    assert set(statuses) == set(INTENDED)
    for pid, (crs, icans, crs_max, icans_max, days) in INTENDED.items():
        s = statuses[pid]
        assert (s.crs.grade, s.icans.grade, s.crs_max, s.icans_max) == (
            crs, icans, crs_max, icans_max), pid
        assert (s.crs.status, s.icans.status) == ("final", "final"), pid
        assert s.day_post_infusion in days, (pid, s.day_post_infusion)


@pytest.mark.parametrize("start", STARTS, ids=lambda d: f"{d:%H%M}")
def test_no_demo_patient_is_overdue_when_the_ward_starts_and_one_is_due_within_minutes(
        store, start):
    demo.load_demo(store, at=start)
    statuses = ward.ward_overview(store, start)
    for s in statuses:
        assert s.overdue == [], s.patient["patient_id"]
        assert start - timedelta(minutes=40) <= s.last_assessed <= start
    assert ward.raise_overdue(store, statuses, start) == 0
    due_soon = [s.patient["patient_id"] for s in statuses
                if s.due.next_due(start) - start <= timedelta(minutes=15)]
    assert due_soon == ["DEMO-005"]  # CRS 3 with NEWS2 10: vital signs every 15 minutes
    an_hour_on = start + timedelta(hours=1)  # the ward moves on: observations fall due
    assert "vital signs" in {o for s in ward.ward_overview(store, an_hour_on) for o in s.overdue}


def test_the_acute_patients_come_first_with_their_flags_raised_as_charted_never_retrospective(
        store):
    start = STARTS[2]
    demo.load_demo(store, at=start)
    statuses = ward.ward_overview(store, start)
    order = [s.patient["patient_id"] for s in statuses]
    assert set(order[:2]) == {"DEMO-005", "DEMO-003"}  # an emergency flag each
    assert order[2] == "DEMO-002" and order[-1] == "DEMO-001"
    flags = {s.patient["patient_id"]: {(f["severity"], f["code"]) for f in s.flags}
             for s in statuses}
    assert {("emergency", "crs_rise"), ("emergency", "icu_review")} <= flags["DEMO-005"]
    assert {("emergency", "icans_rise"), ("emergency", "icu_review")} <= flags["DEMO-003"]
    assert ("urgent", "crs_2") in flags["DEMO-002"]
    assert flags["DEMO-001"] == flags["DEMO-004"] == set()
    every = [f for s in statuses for f in s.flags]
    assert not [f["message"] for f in every if f["message"].startswith("Retrospective")]
    assert all(start - demo.SHIFT <= f["raised_at"] <= start for f in every)


def test_a_demo_patient_is_the_case_up_to_its_now_moved_to_the_minute(store):
    start = datetime(2026, 10, 14, 18, 33, 20, tzinfo=UTC)
    demo.load_demo(store, at=start)
    until = demo.standard_now()
    for case in demo.standard_cases():
        card_rows = [r for r in library.csv_rows(case.timeline)
                     if datetime.fromisoformat(r["time"]) <= until[case.id]]
        rows = store.timeline_rows(case.id)
        shift = start.replace(second=0, tzinfo=None) - until[case.id]
        assert [r["time"] for r in rows] == [
            (datetime.fromisoformat(r["time"]) + shift).replace(tzinfo=UTC) for r in card_rows]
        assert [r["temp_c"] for r in rows] == [float(r["temp_c"]) for r in card_rows]
        given = [m["given_at"] for m in store.administrations(case.id)]
        assert given == sorted((m.time + shift).replace(tzinfo=UTC)
                               for m in case.card.medications if m.time <= until[case.id])
        assert all(x["taken_at"] <= start for x in store.labs(case.id))


def test_the_grade_2_patient_had_tocilizumab_and_the_icans_patient_dexamethasone(store):
    start = STARTS[1]
    demo.load_demo(store, at=start)
    kinds = {pid: [m["kind"] for m in store.administrations(pid)] for pid in INTENDED}
    assert kinds["DEMO-002"].count("tocilizumab") == 1
    assert kinds["DEMO-005"].count("tocilizumab") == 1 and "dexamethasone" in kinds["DEMO-005"]
    assert "dexamethasone" in kinds["DEMO-003"]
    assert kinds["DEMO-001"] == []


@pytest.mark.parametrize("start", [
    datetime(2026, 10, 14, 23, 50, tzinfo=UTC),   # 01:50 the next day in Berlin
    datetime(2026, 3, 29, 1, 7, tzinfo=UTC),      # just after the clocks go forward
    datetime(2026, 3, 29, 8, 7, tzinfo=UTC),      # the night's rows cross 02:00-03:00
    datetime(2026, 10, 25, 0, 37, tzinfo=UTC),    # 02:37 summer time, before they go back
    datetime(2026, 10, 25, 3, 7, tzinfo=UTC),     # the night's rows cross the repeated hour
], ids=lambda d: f"{d:%m%d-%H%M}")
def test_a_ward_in_another_time_zone_starts_now_also_on_a_clock_change_day(start):
    store = WardStore.in_memory("Europe/Berlin")
    demo.load_demo(store, at=start)
    statuses = ward.ward_overview(store, start)
    assert len(statuses) == 5
    for s in statuses:
        assert s.overdue == [], s.patient["patient_id"]
        assert start - timedelta(minutes=40) <= s.last_assessed <= start
    times = [r["time"] for r in store.timeline_rows("DEMO-005")]
    last = start.replace(second=0) - timedelta(minutes=10)  # its now is 10 min after its last
    assert times[-1] == last and times[-2] == last - timedelta(hours=2)  # real hours kept


def test_a_reset_days_later_shows_the_same_ward_at_the_new_moment(store):
    first, later = STARTS[0], STARTS[0] + timedelta(days=3, hours=5, minutes=7)
    demo.load_demo(store, at=first)
    demo.load_demo(store, reset=True, at=later, by="eddie")
    statuses = {s.patient["patient_id"]: s for s in ward.ward_overview(store, later)}
    for pid, (crs, icans, *_rest) in INTENDED.items():
        assert (statuses[pid].crs.grade, statuses[pid].icans.grade) == (crs, icans)
        assert statuses[pid].overdue == []
    open_flags = [f for s in statuses.values() for f in s.flags]
    assert open_flags and all(f["raised_at"] > later - demo.SHIFT for f in open_flags)
    assert {f["ack_reason"] for pid in INTENDED for f in store.flags(pid)
            if f["ack_action"] is not None} == {demo.RESET_REASON}


def test_the_library_still_loads_the_whole_case_by_whole_days(store):
    """The case library and teaching use the full case (W7); only the demo ward is cut."""
    case = library.builtin_case("DEMO-005")
    at = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)
    library.load_case(store, case, at)
    assert len(store.timeline_rows("DEMO-005")) == len(grading.read_csv(case.timeline))


def test_the_registry_export_of_the_demo_ward_shows_its_icu_patients_and_why_each_dose_was_given(
        store):
    """The standard ward's patients who reached the ICU by their "now" (DEMO-003 at its ICANS
    grade 3, DEMO-005 on norepinephrine) are in intensive care, their stays open; every
    anti-cytokine and steroid dose carries the reason its card gives (decisions R10, R11)."""
    import csv
    import io

    from monitoring import registry
    start = STARTS[1]
    demo.load_demo(store, at=start)
    rows = {}
    for pid in INTENDED:
        (row,) = csv.DictReader(io.StringIO(
            registry.registry_csv(registry.registry_summaries(store, pid)), newline=""))
        rows[pid] = row
    icu = {pid: (r["ICU admission"], r["ICU stays"],
                 r["ICU stay without a recorded return, since"]) for pid, r in rows.items()}
    day = start.date().isoformat()  # each transfer is within hours of now
    before = (start - timedelta(days=1)).date().isoformat()
    assert icu["DEMO-003"] == ("yes", "1", day)  # transferred at its now
    assert icu["DEMO-005"][:2] == ("yes", "1") and icu["DEMO-005"][2] in (day, before)
    assert {icu[p] for p in ("DEMO-001", "DEMO-002", "DEMO-004")} == {("none recorded", "0", "")}
    assert set(store.in_icu(list(INTENDED))) == {"DEMO-003", "DEMO-005"}

    def reasons(pid: str, words: str) -> tuple[str, ...]:
        r = rows[pid]
        return (r[f"{words} given for CRS: doses"], r[f"{words} given for ICANS: doses"],
                r[f"{words} doses with the reason not stated"])
    assert reasons("DEMO-002", "Tocilizumab") == ("1", "0", "0")
    assert reasons("DEMO-003", "Corticosteroid") == ("0", "2", "0")   # ICANS 2, then 3
    assert rows["DEMO-003"]["Corticosteroid given for CRS (yes/no)"] == "no"
    assert reasons("DEMO-004", "Tocilizumab") == ("1", "0", "0")
    assert reasons("DEMO-004", "Corticosteroid") == ("0", "2", "0")
    assert reasons("DEMO-005", "Tocilizumab") == ("1", "0", "0")
    assert reasons("DEMO-005", "Corticosteroid") == ("1", "0", "0")
    assert rows["DEMO-005"]["Corticosteroid given for ICANS (yes/no)"] == "no"
    assert rows["DEMO-001"]["Tocilizumab given for CRS (yes/no)"] == "no"
