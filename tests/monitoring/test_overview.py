"""The ward overview on the course (issues 17.1, 18.2/18.4/18.6): the flag it shows is the most
severe open one, patients sort by it, the open flags it shows are the record's right after a
save, and the overview, the review and teaching give one answer for one record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import review, teaching, ward
from monitoring.course import course

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
FULL = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
        "spo2_pct": 97, "consciousness": "alert", "ice_orientation": 4, "ice_naming": 3,
        "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}


def flag(severity: str, minutes_ago: int, code: str = "x") -> dict:
    return {"severity": severity, "raised_at": NOW - timedelta(minutes=minutes_ago),
            "code": code, "message": f"{severity} {minutes_ago}"}


def status_with(flags: list[dict], **kw) -> ward.PatientStatus:
    due = ward.schedule.Due(None, None)
    return ward.PatientStatus({"patient_id": "P", "bed": kw.get("bed", "1")}, 1, 50.0, None,
                              {}, {}, None, None, (), kw.get("crs"), None, None, None, flags,
                              due)


# ------------------------------------------------------------------ the most severe flag
@pytest.mark.parametrize(("flags", "shown"), [
    ([], None),
    ([flag("info", 1)], "info 1"),
    ([flag("info", 1), flag("urgent", 120, "overdue_vitals_1h")], "urgent 120"),
    ([flag("urgent", 5), flag("emergency", 300), flag("info", 0)], "emergency 300"),
    ([flag("review", 10), flag("info", 1)], "review 10"),         # review ranks as warning
    ([flag("urgent", 30), flag("urgent", 10), flag("urgent", 50)], "urgent 10"),  # newest
    ([flag("emergency", 5), flag("emergency", 1)], "emergency 1"),
])
def test_the_flag_shown_is_the_most_severe_open_one_then_the_newest(flags, shown):
    worst = status_with(flags).worst_flag
    assert (None if worst is None else worst["message"]) == shown


def test_an_unknown_severity_counts_as_urgent_never_below_it():
    assert ward.severity_rank("something new") == ward.severity_rank("urgent")
    assert ward.severity_rank("emergency") > ward.severity_rank("urgent") > \
        ward.severity_rank("warning") == ward.severity_rank("review") > ward.severity_rank("info")


def test_an_urgent_overdue_flag_outranks_an_informational_one_in_the_order():
    urgent_overdue = status_with([flag("urgent", 60, "overdue_vitals_1h")])
    info_retro = status_with([flag("info", 1)])
    assert urgent_overdue.acuity() > info_retro.acuity()


# ------------------------------------------------------------------ on the record
def admit(store, pid: str, bed: str, *, demo: bool = False) -> None:
    store.admit({"patient_id": pid, "bed": bed, "infusion_time": NOW - timedelta(days=1),
                 "is_demo": demo}, by="drx")


def save(store, pid: str, minutes_ago: int, **values):
    return ward.save(store, pid, {"time": NOW - timedelta(minutes=minutes_ago), **values},
                     by="nina", now=NOW)


def test_patients_sort_by_their_most_severe_open_flag_then_by_grade(memory_store):
    for pid, bed in (("A", "2"), ("B", "1"), ("C", "3"), ("D", "4")):
        admit(memory_store, pid, bed)
    save(memory_store, "A", 360, **FULL)  # A and B: vital signs 2 h overdue (urgent)
    save(memory_store, "B", 360, **FULL)
    save(memory_store, "C", 360, **FULL)
    save(memory_store, "C", 5, **{**FULL, "temp_c": 38.5})  # C: a new fever, CRS 1 (urgent)
    save(memory_store, "D", 5, **FULL)
    # A: also an informational flag, newer than its overdue ones; D: only that
    for pid in ("A", "D"):
        memory_store.raise_flag(pid, "retro", "info", "Retrospective: a past change",
                                NOW - timedelta(minutes=1))
    statuses = ward.overview(memory_store, NOW)
    assert [s.patient["patient_id"] for s in statuses] == ["C", "B", "A", "D"]
    by_pid = {s.patient["patient_id"]: s for s in statuses}
    assert by_pid["A"].worst_flag["code"] == "overdue_vitals_1h"  # not the newer info one
    assert by_pid["C"].worst_flag["severity"] == "urgent" and by_pid["C"].crs.grade == 1


def test_right_after_a_save_the_overview_shows_the_records_open_flags(database_store):
    """On SQLite, and on PostgreSQL when configured (the data version is the database's)."""
    store = database_store
    admit(store, "P", "1")
    save(store, "P", 360, **FULL)
    ward.raise_overdue(store, ward.ward_overview(store, NOW), NOW)
    assert {f["code"] for f in store.open_flags("P")} == {"overdue_vitals",
                                                         "overdue_vitals_1h"}
    save(store, "P", 1, **FULL)  # the observations asked for, recorded
    read_before_closing = ward.ward_overview(store, NOW)[0].flags
    assert len(read_before_closing) == 2  # what a page drawing that read would show
    (status,) = ward.overview(store, NOW)
    assert store.open_flags("P") == [] and status.flags == []


def test_the_overview_reads_again_when_another_workstation_writes_meanwhile(memory_store,
                                                                           monkeypatch):
    admit(memory_store, "P", "1")
    save(memory_store, "P", 30, **FULL)
    real = ward.raise_overdue
    calls = []

    def another_workstation_raises_a_flag(store, statuses, now):
        if not calls:
            store.raise_flag("P", "x", "urgent", "Raised elsewhere meanwhile", NOW)
        calls.append(1)
        return real(store, statuses, now)

    monkeypatch.setattr(ward, "raise_overdue", another_workstation_raises_a_flag)
    (status,) = ward.overview(memory_store, NOW)
    assert [f["message"] for f in status.flags] == ["Raised elsewhere meanwhile"]
    assert len(calls) == 2


# ------------------------------------------------------------------ one answer everywhere
def test_the_overview_the_review_and_teaching_give_one_answer_for_one_record(memory_store):
    admit(memory_store, "DEMO-X", "5", demo=True)
    save(memory_store, "DEMO-X", 240, **FULL, o2_device="nasal_cannula", o2_flow_l_min=4)
    save(memory_store, "DEMO-X", 180, temp_c=38.7, hr_bpm=118, sbp_mmhg=84, dbp_mmhg=48,
         spo2_pct=93, vasopressors="norepinephrine")
    save(memory_store, "DEMO-X", 120, o2_device="simple_face_mask", spo2_pct=94)  # no flow
    save(memory_store, "DEMO-X", 60, temp_c=38.9, hr_bpm=120, sbp_mmhg=92, dbp_mmhg=55,
         rr_per_min=24, spo2_pct=94, ice_orientation=3, ice_naming=3, ice_commands=1,
         ice_writing=1, ice_attention=0, consciousness="alert")
    (status,) = ward.overview(memory_store, NOW)
    c = course(memory_store, "DEMO-X")
    rv = review.patient_review(memory_store, "DEMO-X")
    last = len(c.rows) - 1
    replayed = teaching.replay(memory_store, "DEMO-X", last)
    steps = teaching.graded_steps(memory_store, "DEMO-X")

    grades = {(x.crs, x.icans) for x in (c.current, rv.current, replayed.current, steps[-1])}
    assert grades == {(status.crs, status.icans)}
    assert status.crs.grade == 3 and status.icans.grade == 1  # face mask (ASTCT); ICE 8
    support = {(s.o2_device, s.o2_flow_l_min, s.agents)
               for s in (c.support_now, rv.support_now, replayed.support_now)}
    assert support == {(status.o2_device, status.o2_flow_l_min, status.vasopressors)}
    assert support == {("simple_face_mask", None, ("norepinephrine",))}  # the flow ended
    news = {(n.total, n.red) for n in (c.news, rv.news, review.news_now(rv), replayed.news)}
    assert news == {(status.news.total, status.news.red)}
    assert c.due == status.due
    open_ids = sorted(f["id"] for f in memory_store.open_flags("DEMO-X"))
    assert sorted(f["id"] for f in status.flags) == open_ids
    assert sorted(f["id"] for f in c.flags) == sorted(f["id"] for f in rv.flags) == open_ids
    assert open_ids  # fever, hypotension, vasopressor: there is something to agree on
