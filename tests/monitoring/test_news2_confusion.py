"""NEWS2 "new confusion" over a course (RCP 2017, spec §5.1, decision C21): from ICE
orientation and attention or a CAPD of 9 or more, relative to the pre-infusion ICE when there is
one; the escalation flags, the bedside preview and save, the overview and the review all give
the same score, by parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import grading
from monitoring import escalation, review, ward


@pytest.fixture
def store(memory_store):
    """NEWS2 confusion does not depend on the database: the in-memory record, which answers as the
    database does (test_record_contract.py)."""
    return memory_store


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
INFUSION = NOW - timedelta(hours=30)
VITALS = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
          "spo2_pct": 97, "o2_device": "room_air", "age_years": 50}
FULL = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
        "ice_attention": 1}


def ice(**items: int) -> dict[str, int]:
    return FULL | items


def rows_of(baseline: dict | None, now: dict, **vitals: object) -> list[dict]:
    rows = []
    if baseline is not None:  # the pre-infusion ICE (spec B4)
        rows.append({"patient_id": "P", "time": INFUSION - timedelta(hours=2),
                     "infusion_time": INFUSION, **VITALS, **baseline, "consciousness": "alert"})
    rows.append({"patient_id": "P", "time": INFUSION + timedelta(hours=24),
                 "infusion_time": INFUSION, **VITALS, **vitals, **now})
    return rows


CASES = [
    # (pre-infusion ICE, ICE now + consciousness, consciousness points)
    (None, ice(), 0),
    (None, ice(ice_writing=0), 0),                      # dysgraphia alone: not confusion
    (None, ice(ice_naming=1, ice_writing=0), 0),        # ICE 7, oriented and attentive
    (None, ice(ice_orientation=3), 3),                  # disoriented: new confusion
    (None, ice(ice_attention=0), 3),                    # inattentive: new confusion
    (ice(ice_orientation=3), ice(ice_orientation=3), 0),  # as at baseline: not new
    (ice(ice_orientation=3), ice(ice_orientation=2), 3),  # worse than baseline
    (ice(ice_attention=0), ice(ice_attention=0, ice_writing=0), 0),
    (ice(), ice(ice_attention=0), 3),
    (None, {"capd_total": 8}, 0),                       # CAPD below its delirium cut-off
    (None, {"capd_total": 9}, 3),                       # CAPD 9: delirium
]


@pytest.mark.parametrize(("baseline", "now", "points"), CASES)
def test_new_confusion_over_a_course_scores_from_orientation_attention_and_capd(
        baseline, now, points):
    rows = rows_of(baseline, {**now, "consciousness": "alert"})
    n = escalation.course_news(rows, {})[-1]
    assert n.parts["consciousness"] == points
    assert ("confusion" in n.breakdown()) is (points == 3)


@pytest.mark.parametrize(("level", "points"), [("alert", 0), ("awakens_spontaneously", 0),
                                               ("awakens_to_voice", 3), ("unarousable", 3)])
def test_consciousness_below_alert_on_acvpu_scores_3_on_its_own(level, points):
    rows = rows_of(None, {**ice(), "consciousness": level})
    assert escalation.course_news(rows, {})[-1].parts["consciousness"] == points


@pytest.mark.parametrize(("baseline_ice", "items", "points", "why"), [
    # only the admission total: a deficit scores, "not known whether new" (C21, conservative)
    (6, ice(ice_orientation=0, ice_naming=1), 3,
     "alert; confusion, not known whether new: ICE orientation 0/4; baseline ICE 6/10 "
     "recorded as a total only"),
    (9, ice(ice_orientation=3), 3, "alert; confusion, not known whether new: ICE orientation "
                                   "3/4; baseline ICE 9/10 recorded as a total only"),
    (10, ice(ice_orientation=3), 3,
     "alert; new confusion: ICE orientation 3/4 (baseline ICE 10/10)"),
    (6, ice(ice_naming=0, ice_writing=0), 0, "alert"),   # C items full: nothing to say
])
def test_the_admission_baseline_total_alone_never_hides_disorientation(
        baseline_ice, items, points, why):
    rows = rows_of(None, {**items, "consciousness": "alert"})
    n = escalation.course_news(rows, {"baseline_ice": baseline_ice})[-1]
    assert n.parts["consciousness"] == points
    assert n.consciousness_why == why


def test_the_newer_neuro_score_decides_between_ice_and_capd():
    rows = rows_of(None, {**ice(ice_orientation=2), "consciousness": "alert"})
    rows.append({"patient_id": "P", "time": rows[-1]["time"] + timedelta(hours=1),
                 "infusion_time": INFUSION, "capd_total": 4})
    scores = escalation.course_news(rows, {})
    assert [n.parts["consciousness"] for n in scores] == [3, 0]


def test_a_febrile_patient_failing_only_writing_raises_no_emergency_news2():
    """The issue's case: temperature 39.2, ICE 9 (writing 0), no baseline: NEWS2 2, not 14
    (was an EMERGENCY with the old rule that any ICE below 10 was new confusion)."""
    rows = rows_of(None, {**ice(ice_writing=0), "consciousness": "alert"}, temp_c=39.2)
    rows.insert(0, {"patient_id": "P", "time": INFUSION + timedelta(hours=20),
                    "infusion_time": INFUSION, **VITALS, **ice(), "consciousness": "alert"})
    g = grading.grade(grading.from_rows(rows))
    flags = escalation.evaluate_course(rows, lambda i: g.result_at(i, i), {}, [])
    codes = {f.flag["code"] for f in flags}
    assert not codes & {"news2_5", "news2_7"}
    assert escalation.course_news(rows, {})[-1].total == 2  # temperature 2 only


def test_a_news2_flag_says_the_score_by_parameter():
    rows = rows_of(None, {**ice(ice_orientation=3), "consciousness": "alert"}, rr_per_min=22)
    rows.insert(0, {"patient_id": "P", "time": INFUSION + timedelta(hours=20),
                    "infusion_time": INFUSION, **VITALS, **ice(), "consciousness": "alert"})
    g = grading.grade(grading.from_rows(rows))
    (flag,) = [f.flag for f in escalation.evaluate_course(rows, lambda i: g.result_at(i, i),
                                                          {}, []) if f.flag["code"] == "news2_5"]
    assert flag["message"].startswith(
        "NEWS2 5: respiration rate 2, SpO2 0, air or oxygen 0, systolic BP 0, pulse 0, "
        "consciousness 3 (alert; confusion, not known whether new: ICE orientation 3/4 (no "
        "baseline ICE)), temperature 0: inform the medical team immediately")


# ---------------------------------------------------------- the ward record: every place agrees
def chart(store, hours: float, **values) -> ward.Saved:
    return ward.save(store, "P1", {"time": INFUSION + timedelta(hours=hours), **values},
                     by="nina")


def test_preview_save_overview_and_review_give_the_same_news2_breakdown(store):
    store.admit({"patient_id": "P1", "bed": "3", "infusion_time": INFUSION}, by="drx")
    chart(store, -2, **VITALS, **ice(ice_orientation=3), consciousness="alert")  # baseline
    values = {"time": INFUSION + timedelta(hours=24), **VITALS, "rr_per_min": 22,
              **ice(ice_orientation=3, ice_writing=0), "consciousness": "alert"}
    pre = ward.preview(store, "P1", values)
    assert pre.news is not None
    assert pre.news.breakdown() == ("NEWS2 2: respiration rate 2, SpO2 0, air or oxygen 0, "
                                    "systolic BP 0, pulse 0, consciousness 0 (alert; ICE "
                                    "orientation 3/4, as at baseline), temperature 0")
    saved = ward.save(store, "P1", values, by="nina")
    assert saved.news == pre.news
    (status,) = ward.ward_overview(store, NOW)
    assert status.news == pre.news
    assert review.news_now(review.patient_review(store, "P1")) == pre.news
    worse = chart(store, 25, **VITALS, **ice(ice_orientation=2), consciousness="alert")
    assert worse.news is not None and worse.news.parts["consciousness"] == 3
    (status,) = ward.ward_overview(store, NOW)
    assert status.news == worse.news
    assert "ICE orientation 2/4 (baseline 3)" in status.news.breakdown()
