"""Alerts a nurse can triage (issue 18, points 3 and 7): a change to the past is ONE item on
the worklist (decision E13), what the change explains is closed with its reason and never
raised anew, several flags are acknowledged at once with one action, and only the people
caring for a real patient close its flags (decision E12). On SQLite and, with
``TEST_DATABASE_URL``, PostgreSQL (two stores on one database for the races)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring import services, ward
from monitoring.store import StoreError, WardStore
from tests.monitoring.test_concurrent_saves import at_once

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
INFUSION = NOW - timedelta(days=10)
EPISODE = NOW - timedelta(days=8)  # the febrile episode ended a week ago
NORMAL = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
          "spo2_pct": 97, "o2_device": "room_air", "vasopressors": "none",
          "ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
          "ice_attention": 1, "consciousness": "alert", "age_years": 50}
# (hours after the episode's first row, temperature): a fever of 12 h, then normal
EPISODE_TEMPS = [(0, 37.0), (4, 38.6), (8, 38.9), (12, 38.4), (16, 37.2), (20, 37.0)]
FEVER_HOURS = [4, 8, 12]


# at its worst (8 h) with a fluid bolus for a low blood pressure and oxygen: CRS grade 2
SHOCK = {"hr_bpm": 118, "sbp_mmhg": 86, "dbp_mmhg": 50, "fluid_bolus_given": True,
         "spo2_pct": 93, "rr_per_min": 24, "o2_device": "nasal_cannula", "o2_flow_l_min": 2}


def course_rows(worst: dict | None = None) -> list[dict]:
    """The episode (``worst`` added at 8 h), then a normal assessment every day up to an hour
    ago."""
    rows = [{**NORMAL, "time": EPISODE + timedelta(hours=h), "temp_c": t,
             **({"hr_bpm": 104} if t >= 38 else {}), **(worst or {} if h == 8 else {})}
            for h, t in EPISODE_TEMPS]
    rows += [{**NORMAL, "time": NOW - timedelta(days=d, hours=1)} for d in range(6, -1, -1)]
    return rows


def assessment_at(store: WardStore, pid: str, at: datetime) -> int:
    return next(h.id for h in store.history(pid) if h.assessed_at == at)


def at_hour(h: int) -> datetime:
    return EPISODE + timedelta(hours=h)


def open_codes(store: WardStore, pid: str) -> list[str]:
    return sorted(f["code"] for f in store.open_flags(pid))


# ------------------------------------------------------------------ one item per change (E13)
def test_one_attribution_of_a_week_old_fever_is_one_summary_item_not_a_flood(store):
    """The issue's case: the old episode came in without flags (an import, the demo ward), the
    last day was charted at the bedside. A physician attributes the episode's first fever to a
    line infection: re-evaluating the course from there used to raise every flag of the
    episode as its own retrospective item, among them "New fever ... inform the physician"
    for the very fever just attributed. Now the worklist gains one item."""
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    rows = course_rows(SHOCK)
    for r in rows[:-1]:
        store.record_assessment("P", r, by="nina")
    ward.save(store, "P", rows[-1], by="nina")
    before = open_codes(store, "P")

    services.attribute(store, "P", assessment_at(store, "P", at_hour(4)), "fever",
                       "line infection", by="drx")

    assert open_codes(store, "P") == sorted([*before, ward.SUMMARY_CODE])
    fever_flags = [f for f in store.flags("P") if f["code"] == "new_fever"
                   and f["raised_at"] == at_hour(4)]
    assert fever_flags == [], "the attributed fever raises no new-fever flag"
    filed = [f for f in store.flags("P") if f["ack_action"] == ward.FILED]
    assert filed and all(f["severity"] == "info" and f["ack_by"] == "system" for f in filed)
    assert {f["code"] for f in filed} >= {"crs_rise", "attributed"}
    (summary,) = [f for f in store.open_flags("P") if f["code"] == ward.SUMMARY_CODE]
    assert summary["severity"] == "info"
    assert summary["raised_at"] == at_hour(4)
    when = ward.when(store, at_hour(4))
    assert summary["message"] == (
        f"Retrospective: the fever at {when} attributed to another cause by a physician (line "
        f"infection). The grade changed at 1 assessment at {when}; highest ASTCT 2019 grade "
        f"then: CRS 1 → 0, ICANS 0 (unchanged). {len(filed)} flags about that time, no longer "
        "present now, are in the flag history.")

    # evaluating the course again neither repeats nor withdraws anything
    ward.sync_flags(store, "P", "nina")
    assert open_codes(store, "P") == sorted([*before, ward.SUMMARY_CODE])
    assert len([f for f in store.flags("P") if f["ack_action"] == ward.FILED]) == len(filed)


def test_attributing_an_episode_closes_its_open_flags_with_the_reason_and_raises_none_anew(
        store):
    """The episode was charted live (its flags raised then, never acknowledged); a physician
    attributes its three febrile assessments to a line infection at once (one change). The
    fever and grade flags the attribution explains are closed with it as the reason - not
    withdrawn as a mistake, not raised again - and one summary item says what changed."""
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    for r in course_rows():
        ward.save(store, "P", r, by="nina")
    explained = [f for f in store.open_flags("P") if f["raised_at"] == at_hour(4)]
    assert {f["code"] for f in explained} == {"new_fever", "crs_rise"}
    assert all(f["severity"] == "urgent" for f in explained)

    with store.locked(["P"]):
        before = ward.grades_now(store, "P")
        for h in FEVER_HOURS:
            store.attribute(assessment_at(store, "P", at_hour(h)), "fever", "line infection",
                            by="drx")
        ward.sync_flags(store, "P", "drx", since=at_hour(4), change=ward.Change(
            "the fevers of the episode attributed to a line infection by a physician",
            explains=True, before=before))

    closed = {f["id"]: f for f in store.flags("P")}
    for f in explained:
        assert (closed[f["id"]]["ack_by"], closed[f["id"]]["ack_action"]) == (
            "system", "closed: the fevers of the episode attributed to a line infection by a "
                      "physician")
    summaries = [f for f in store.open_flags("P") if f["code"] == ward.SUMMARY_CODE]
    assert len(summaries) == 1
    assert (f"The grade changed at 3 assessments from {ward.when(store, at_hour(4))} to "
            f"{ward.when(store, at_hour(12))}; highest ASTCT 2019 grade then: CRS 1 → 0, ICANS 0 "
            "(unchanged).") in summaries[0]["message"]
    assert open_codes(store, "P") == [ward.SUMMARY_CODE]
    assert not [f for f in store.flags("P") if f["code"] == "new_fever"
                and f["ack_action"] is None], "no fever flag raised anew"


def test_a_summary_says_when_no_grade_changed_or_what_the_grades_are_now(store):
    """Re-reading a record whose old flags were never raised changes no grade: the summary
    says so; without a before-state it gives the highest grades now. Each is one item."""
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    rows = course_rows()
    for r in rows[:-1]:
        store.record_assessment("P", r, by="nina")
    ward.save(store, "P", rows[-1], by="nina")
    with store.locked(["P"]):
        ward.sync_flags(store, "P", "nina", change=ward.Change(
            "a re-evaluation of the course", before=ward.grades_now(store, "P")))
    (summary,) = store.open_flags("P")
    assert summary["message"] == (
        f"Retrospective: a re-evaluation of the course. No ASTCT 2019 grade changed; highest "
        f"grade at {ward.when(store, at_hour(4))}: CRS 1, ICANS 0. 2 flags about that time, "
        "no longer present now, are in the flag history.")
    assert sorted(f["code"] for f in store.flags("P") if f["ack_action"] == ward.FILED) == [
        "crs_rise", "new_fever"]


def test_a_correction_withdraws_a_filed_flag_it_makes_untrue(store):
    """Filing is the system's, not a person's acknowledgement: a later correction that makes a
    filed flag untrue withdraws it as it would an open one (E2); a person's stays."""
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    rows = course_rows()
    for r in rows[:-1]:
        store.record_assessment("P", r, by="nina")
    ward.save(store, "P", rows[-1], by="nina")
    ward.sync_flags(store, "P", "nina")  # the old episode's flags, filed
    (summary,) = store.open_flags("P")
    assert summary["message"].startswith(
        f"Retrospective: a change to the record. Highest ASTCT 2019 grade at "
        f"{ward.when(store, at_hour(4))} now: CRS 1, ICANS 0. 2 flags")
    fever = next(f for f in store.flags("P") if f["code"] == "new_fever")
    assert (fever["raised_at"], fever["ack_action"]) == (at_hour(4), ward.FILED)
    services.amend(store, "P", assessment_at(store, "P", at_hour(4)),
                   {**rows[1], "temp_c": 37.6}, "charted 37.6 as 38.6", by="nina")
    assert fever["id"] not in {f["id"] for f in store.flags("P")}
    assert [f["raised_at"] for f in store.flags("P") if f["code"] == "new_fever"] == [
        at_hour(8)]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(range(len(EPISODE_TEMPS))))
def test_whatever_order_the_episode_is_charted_in_the_worklist_holds_no_flag_about_the_past(
        order):
    """Charting the episode's assessments in any order (late entries, E7): every open flag is
    either about now or the one summary of a change, at most one summary per save."""
    store = WardStore.in_memory()
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    rows = course_rows(SHOCK)[:len(EPISODE_TEMPS)]
    for i in order:
        ward.save(store, "P", rows[i], by="nina")
    opened = store.open_flags("P")
    summaries = [f for f in opened if f["code"] == ward.SUMMARY_CODE]
    assert len(summaries) <= len(order)
    assert not [f for f in opened if f["code"] != ward.SUMMARY_CODE
                and f["message"].startswith("Retrospective: ")]
    assert all(f["ack_by"] == "system" for f in store.flags("P")
               if f["message"].startswith("Retrospective: ")
               and f["code"] != ward.SUMMARY_CODE)


# ------------------------------------------------------------------ several at once (E12)
def three_open_flags(store: WardStore, pid: str = "P") -> list[int]:
    store.admit({"patient_id": pid, "infusion_time": INFUSION}, by="drx")
    return [store.raise_flag(pid, code, "urgent", text, NOW - timedelta(hours=h),
                             respond="nurse in charge, at this round")
            for h, code, text in ((3, "spo2_low", "SpO2 93 %"), (2, "hypotension", "SBP 88"),
                                  (1, "news2_5", "NEWS2 5"))]


def test_several_flags_are_acknowledged_at_once_with_one_action_each_audited(store):
    ids = three_open_flags(store)
    acks = services.acknowledge_many(store, "P", ids[:2], "physician informed, obs hourly",
                                     by="nina")
    assert len(acks) == 2
    assert [f["id"] for f in store.open_flags("P")] == [ids[2]]
    done = {f["id"]: f for f in store.flags("P")}
    assert [(done[i]["ack_action"], done[i]["ack_by"]) for i in ids[:2]] == [
        ("physician informed, obs hourly", "nina")] * 2
    audit = [(e["action"], e["entity_id"], e["username"]) for e in store.audit("P")
             if e["action"] == "acknowledge"]
    assert audit == [("acknowledge", str(i), "nina") for i in ids[:2]]


def test_several_flags_are_dismissed_at_once_with_one_reason(store):
    ids = three_open_flags(store)
    services.acknowledge_many(store, "P", ids, "dismissed", by="nina", dismiss=True,
                              reason="probe off the finger: repeated, normal")
    assert store.open_flags("P") == []
    assert {(f["ack_dismissed"], f["ack_reason"]) for f in store.flags("P")} == {
        (True, "probe off the finger: repeated, normal")}
    assert [e["action"] for e in store.audit("P")].count("dismiss") == 3


def test_one_flag_that_cannot_be_closed_refuses_the_whole_set(store):
    ids = three_open_flags(store)
    services.acknowledge_flag(store, "P", ids[1], "seen", by="drx")
    with pytest.raises(StoreError, match="already acknowledged by drx"):
        services.acknowledge_many(store, "P", ids, "physician informed", by="nina")
    assert [f["id"] for f in store.open_flags("P")] == [ids[0], ids[2]]
    store.admit({"patient_id": "Q", "infusion_time": INFUSION}, by="drx")
    other = store.raise_flag("Q", "spo2_low", "urgent", "SpO2 92 %", NOW)
    with pytest.raises(StoreError, match="not a flag of patient 'P'"):
        services.acknowledge_many(store, "P", [ids[0], other], "seen", by="nina")
    with pytest.raises(StoreError, match="choose at least one flag"):
        services.acknowledge_many(store, "P", [], "seen", by="nina")
    assert [f["id"] for f in store.open_flags("P")] == [ids[0], ids[2]]
    assert [f["id"] for f in store.open_flags("Q")] == [other]


@pytest.mark.parametrize(("role", "words"), [
    ("admin", "only a nurse or a physician acknowledges them"),
    ("educator", "an educator closes flags of synthetic demo patients only")])
def test_an_administrator_or_an_educator_may_not_close_a_real_patients_flags(store, role,
                                                                             words):
    store.add_user("someone", role)
    ids = three_open_flags(store)
    for close in (lambda: services.acknowledge_flag(store, "P", ids[0], "seen", by="someone"),
                  lambda: services.acknowledge_many(store, "P", ids, "seen", by="someone")):
        with pytest.raises(StoreError, match=words):
            close()
    assert [f["id"] for f in store.open_flags("P")] == ids
    assert "acknowledge" not in [e["action"] for e in store.audit("P")]


def test_an_educator_closes_the_flags_of_a_synthetic_demo_patient(store):
    store.admit({"patient_id": "EDU-001", "infusion_time": INFUSION, "is_demo": True},
                by="eddie")
    flag = store.raise_flag("EDU-001", "spo2_low", "urgent", "SpO2 93 %", NOW)
    services.acknowledge_many(store, "EDU-001", [flag], "teaching: physician informed",
                              by="eddie")
    assert store.open_flags("EDU-001") == []


@pytest.mark.parametrize(("severity", "respond", "nurse_may_dismiss"), [
    ("urgent", "physician, within 30 min", False),
    ("urgent", "medical team, immediately", False),
    ("emergency", "nurse in charge, now", False),
    ("urgent", "nurse in charge and physician, within 15 min", False),
    ("info", "nurse in charge, at this round", True),
    ("urgent", None, True)])
def test_a_flag_asking_for_a_physician_is_dismissed_by_a_physician_only(
        store, severity, respond, nurse_may_dismiss):
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    flags = [store.raise_flag("P", "x", severity, "check", NOW - timedelta(minutes=m),
                              respond=respond) for m in (2, 1)]
    if nurse_may_dismiss:
        services.acknowledge_flag(store, "P", flags[0], "dismissed", by="nina", dismiss=True,
                                  reason="repeated: normal")
    else:
        with pytest.raises(StoreError, match="dismissed by a physician only: acknowledge it "
                                             "with the action taken"):
            services.acknowledge_flag(store, "P", flags[0], "dismissed", by="nina",
                                      dismiss=True, reason="repeated: normal")
        services.acknowledge_flag(store, "P", flags[0], "physician informed", by="nina")
    services.acknowledge_flag(store, "P", flags[1], "dismissed", by="drx", dismiss=True,
                              reason="reviewed: no action needed")
    assert store.open_flags("P") == []


def test_two_workstations_acknowledging_overlapping_flags_at_once_close_each_once(
        database_store, store_url):
    """Two app processes on one database: each selects flags and acknowledges them at the same
    moment. The patient's lock orders them: one set lands whole, the other is refused whole
    ("already acknowledged") and its user reloads; no flag is acknowledged twice."""
    one, other = database_store, WardStore(store_url)
    try:
        for i in range(4):
            ids = three_open_flags(one, f"P{i}")
            outcomes = at_once(
                lambda p=f"P{i}", s=ids[:2]: services.acknowledge_many(
                    one, p, s, "physician informed", by="nina"),
                lambda p=f"P{i}", s=ids[1:]: services.acknowledge_many(
                    other, p, s, "seen on the round", by="drx"))
            assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
            (_, error), = [o for o in outcomes if o[0] == "error"]
            assert "already acknowledged" in str(error)
            closed = [f for f in other.flags(f"P{i}") if f["ack_action"] is not None]
            assert len(closed) == 2 and len({f["ack_by"] for f in closed}) == 1
            acks = [e for e in one.audit(f"P{i}") if e["action"] == "acknowledge"]
            assert len(acks) == 2
    finally:
        other.engine.dispose()


def test_a_late_entry_of_an_icu_trigger_still_in_force_stays_an_emergency_on_the_worklist(
        store):
    """Review: a nurse charts, 15 min late, an assessment on norepinephrine and vasopressin
    (CRS grade 3) after a later row with a temperature only. The ICU trigger ("CRS grade >= 3
    ... admit to ICU") is still in force at the latest assessment (the grade is 3 there too),
    so its emergency flag is about now: on the worklist at full severity, never filed as
    about the past (E7, E13)."""
    store.admit({"patient_id": "P", "infusion_time": NOW - timedelta(days=2)}, by="drx")
    ward.save(store, "P", {**NORMAL, "time": NOW - timedelta(hours=4)}, by="nina")
    ward.save(store, "P", {"temp_c": 38.9, "time": NOW - timedelta(minutes=5)}, by="nina")
    ward.save(store, "P", {**NORMAL, "temp_c": 39.0, "hr_bpm": 130, "sbp_mmhg": 72,
                           "vasopressors": "norepinephrine;vasopressin",
                           "time": NOW - timedelta(minutes=15)}, by="nina")
    (icu,) = [f for f in store.flags("P") if f["code"] == "icu_review"]
    assert (icu["severity"], icu["ack_action"]) == ("emergency", None)
    assert icu["message"].startswith("ICU review: CRS grade >= 3")


@pytest.mark.parametrize(("now", "late", "code"), [
    ({"sbp_mmhg": 85, "dbp_mmhg": 50}, {"sbp_mmhg": 70, "dbp_mmhg": 40}, "hypotension"),
    ({"spo2_pct": 91}, {"spo2_pct": 86}, "spo2_low"),
    ({"spo2_pct": 94, "o2_device": "nasal_cannula", "o2_flow_l_min": 2},
     {"spo2_pct": 94, "o2_device": "nasal_cannula", "o2_flow_l_min": 5}, "oxygen_increase")])
def test_a_late_entry_of_a_worse_reading_keeps_a_condition_still_present_on_the_worklist(
        store, now, late, code):
    """Review: the patient is hypotensive (or hypoxic, or on new oxygen) now and its urgent
    flag is open; a nurse then charts a worse reading from 15 min ago. The open flag at the
    latest row is no longer a rise (the late row is worse) and goes; the late row's flag must
    not be filed as "no longer present" while the condition is still there at a lower level:
    a flag of that rule stays open at its full severity (E7: still present)."""
    store.admit({"patient_id": "P", "infusion_time": NOW - timedelta(days=2)}, by="drx")
    ward.save(store, "P", {**NORMAL, "time": NOW - timedelta(hours=4)}, by="nina")
    ward.save(store, "P", {**NORMAL, **now, "time": NOW - timedelta(minutes=5)}, by="nina")
    assert code in open_codes(store, "P")
    ward.save(store, "P", {**NORMAL, **late, "time": NOW - timedelta(minutes=15)}, by="nina")
    assert [f["severity"] for f in store.open_flags("P") if f["code"] == code] == ["urgent"]


def test_an_attribution_records_as_explained_only_the_flags_it_makes_untrue(store):
    """Review: a fever at 5 h ago attributed to a line infection explains that fever's flags
    (closed with the attribution as the reason). The grade 2 an hour later (low blood
    pressure with a fluid bolus) is still flagged, only worded "was grade 0" now: its old
    wording is replaced (withdrawn, saying so), never recorded as closed because the fever
    was attributed - that would say the attribution explained the hypotension."""
    store.admit({"patient_id": "P", "infusion_time": NOW - timedelta(days=2)}, by="drx")

    def hours_ago(h: int) -> datetime:
        return NOW - timedelta(hours=h)
    ward.save(store, "P", {**NORMAL, "time": hours_ago(6)}, by="nina")
    ward.save(store, "P", {**NORMAL, "temp_c": 38.6, "time": hours_ago(5)}, by="nina")
    ward.save(store, "P", {**NORMAL, "temp_c": 38.6, "sbp_mmhg": 84, "dbp_mmhg": 50,
                           "fluid_bolus_given": True, "time": hours_ago(4)}, by="nina")
    ward.save(store, "P", {**NORMAL, "temp_c": 38.2, "time": hours_ago(1)}, by="nina")
    (grade_2,) = [f for f in store.open_flags("P") if f["code"] == "crs_rise"
                  and f["raised_at"] == hours_ago(4)]
    assert grade_2["message"] == "CRS grade 2 (was grade 1): physician review"

    services.attribute(store, "P", assessment_at(store, "P", hours_ago(5)), "fever",
                       "line infection", by="drx")

    flags = store.flags("P")
    explained = {(f["code"], f["raised_at"]) for f in flags
                 if (f["ack_action"] or "").startswith("closed: the fever")}
    assert explained == {("new_fever", hours_ago(5)), ("crs_rise", hours_ago(5))}
    assert grade_2["id"] not in {f["id"] for f in flags}  # replaced by its new wording
    assert [(f["message"], f["ack_action"]) for f in flags if f["code"] == "crs_rise"
            and f["raised_at"] == hours_ago(4)] == [
        ("CRS grade 2 (was grade 0): physician review", None)]
