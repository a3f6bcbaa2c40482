"""NEWS2 now (decisions C22, C23): one answer - ``escalation.news_now``, the latest assessment
recording any NEWS2 input - for the save confirmation, the flags, the overview, the schedule,
the review and the handover; neuro values from before a later sedation are not current; the
flag names a single red parameter after the total; user text names the published source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grading
from grading import news2
from monitoring import course as patient_course
from monitoring import escalation, review, schedule, ward


@pytest.fixture
def store(memory_store):
    """NEWS2 on the overview does not depend on the database: the in-memory record, answering as
    the database does (test_record_contract.py)."""
    return memory_store


NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
INFUSION = NOW - timedelta(hours=26)        # Day+1 08:00 is INFUSION + 24 h
VITALS = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
          "spo2_pct": 97, "o2_device": "room_air"}
FULL = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
        "ice_attention": 1}


def ice(**items: int) -> dict[str, int]:
    return FULL | items


def row(hours: float, **values: object) -> dict:
    return {"patient_id": "P", "time": INFUSION + timedelta(hours=hours),
            "infusion_time": INFUSION, "age_years": 50, **values}


def flags_of(rows: list[dict], patient: dict | None = None) -> list[escalation.CourseFlag]:
    g = grading.grade(grading.from_rows(rows))
    return escalation.evaluate_course(rows, lambda i: g.result_at(i, i), patient or {}, [])


# ------------------------------------------------------------------ 1. one NEWS2 now
# The reviewer's case, and variants: the last row carries only a neuro finding.
NEURO_ONLY_LAST = [
    # (last row, NEWS2 now total, red, consciousness why)
    ({**ice(ice_orientation=2), "consciousness": "alert"}, 3, True,
     "alert; new confusion: ICE orientation 2/4 (baseline 4)"),
    ({"consciousness": "awakens_to_voice"}, 3, True, "wakes only to voice"),
    ({"capd_total": 12}, 3, True, "alert; new confusion: CAPD 12 (delirium from 9)"),
    ({**ice(ice_writing=0), "consciousness": "alert"}, 0, False, "alert"),  # no C deficit
]


@pytest.mark.parametrize(("last", "total", "red", "why"), NEURO_ONLY_LAST)
def test_news2_now_is_scored_at_a_later_neuro_only_row_as_the_flags_score_it(
        last, total, red, why):
    rows = [row(-2, **ice(), consciousness="alert"),              # pre-infusion ICE 10
            row(24, **VITALS, **ice(), consciousness="alert"),    # Day+1 08:00
            row(25, **last)]                                      # Day+1 09:00, no vitals
    n = escalation.news_now(rows, {})
    assert n == escalation.course_news(rows, {})[-1]              # what the flags scored
    assert (n.total, n.red, n.consciousness_why, n.missing) == (total, red, why, ())
    raised = {f.flag["code"] for f in flags_of(rows) if f.index == 2}
    assert ("news2_5" in raised) is red


@pytest.mark.parametrize(("last", "total", "red", "why"), NEURO_ONLY_LAST)
def test_the_save_the_overview_the_review_and_the_schedule_agree_on_news2_now(
        store, last, total, red, why):
    store.admit({"patient_id": "P1", "bed": "3", "infusion_time": INFUSION}, by="drx")
    for hours, values in ((-2, {**ice(), "consciousness": "alert"}),
                          (24, {**VITALS, **ice(), "consciousness": "alert"}),
                          (25, last)):
        saved = ward.save(store, "P1", {"time": INFUSION + timedelta(hours=hours), **values},
                          by="nina")
    assert saved.news is not None and (saved.news.total, saved.news.red) == (total, red)
    assert ({f["code"] for f in saved.flags} >= {"news2_5"}) is red
    (status,) = ward.ward_overview(store, NOW)
    assert status.news == saved.news
    rv = review.patient_review(store, "P1")
    assert review.news_now(rv) == saved.news
    # the vital signs (08:00, a full set) fall due hourly with a red parameter, else 4-hourly
    vitals_at = INFUSION + timedelta(hours=24)
    assert status.due.vitals_due == vitals_at + (timedelta(hours=1) if red
                                                 else timedelta(hours=4))
    assert status.due.vitals_due == schedule.due(vitals_at, None, 0, None, total,
                                                 red).vitals_due


def test_news2_now_is_none_without_any_news2_input():
    assert escalation.news_now([row(1, corticosteroid_given=True)], {}) is None
    assert escalation.news_now([], {}) is None


def test_news2_now_reads_a_long_course_exactly_as_the_whole_course_does():
    """The rows it skips (older than 12 h before the anchor) change nothing: oxygen support,
    the pre-infusion ICE and the age still come from them."""
    rows = [row(-3, age_years=17), row(-2, **ice(ice_orientation=3), consciousness="alert"),
            row(1, o2_device="nasal_cannula", o2_flow_l_min=2)]
    rows += [row(2 + h, temp_c=37.0) for h in range(30)]
    no_device = {k: v for k, v in VITALS.items() if k != "o2_device"}
    rows += [row(40, **no_device, **ice(ice_orientation=3), consciousness="alert"),
             row(41, corticosteroid_given=True)]                  # no NEWS2 input
    n = escalation.news_now(rows, {})
    assert n == escalation.course_news(rows, {})[-2]
    assert n.parts["air or oxygen"] == 2                                  # carried device
    assert n.consciousness_why == "alert; ICE orientation 3/4, as at baseline"


# ------------------------------------------------------------------ 2. sedation
SEDATION = [
    # (rows after the Day+1 vitals, consciousness points or None, why, confusion quoted)
    ([row(25, sedated=True)], None, "not recorded (sedated)", False),
    ([row(25, sedated=True, consciousness="alert")], None, "not recorded (sedated)", False),
    ([row(25, sedated=True), row(26, consciousness="alert")], 0, "alert", False),
    ([row(25, sedated=True), row(26, **ice(ice_orientation=3), consciousness="alert")], 3,
     "alert; new confusion: ICE orientation 3/4 (baseline 4)", True),
    ([row(25, sedated=True), row(26, sedated=False)], None, "", False),
]


@pytest.mark.parametrize(("after", "points", "why", "quoted"), SEDATION)
def test_neuro_values_before_a_later_sedation_are_not_current_for_news2(
        after, points, why, quoted):
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, **ice(ice_orientation=2), consciousness="alert"), *after]
    n = escalation.news_now(rows, {})
    assert n == escalation.course_news(rows, {})[-1]
    assert n.parts.get("consciousness") == points
    assert n.consciousness_why == why
    assert ("orientation 2/4" in n.breakdown()) is False      # the old ICE is never quoted
    assert ("orientation 3/4" in n.breakdown()) is quoted
    if points is None:
        assert "consciousness" in n.missing and not n.complete
        assert n.breakdown().endswith("not recorded: " + (
            "consciousness (sedated)" if why else "consciousness"))


def test_before_sedation_the_same_ice_confusion_is_quoted():
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, **ice(ice_orientation=2), consciousness="alert")]
    n = escalation.news_now(rows, {})
    assert n.parts["consciousness"] == 3 and "ICE orientation 2/4" in n.consciousness_why


def test_the_overview_shows_a_sedated_patient_as_not_recorded(store):
    store.admit({"patient_id": "P1", "bed": "3", "infusion_time": INFUSION}, by="drx")
    ward.save(store, "P1", {"time": INFUSION + timedelta(hours=24), **VITALS,
                            "consciousness": "alert"}, by="nina")
    saved = ward.save(store, "P1", {"time": INFUSION + timedelta(hours=25), "sedated": True},
                      by="nina")
    (status,) = ward.ward_overview(store, NOW)
    assert status.news == saved.news
    assert status.news.consciousness_why == "not recorded (sedated)"
    assert status.news.breakdown() == (
        "NEWS2 0+: respiration rate 0, SpO2 0, air or oxygen 0, systolic BP 0, pulse 0, "
        "temperature 0; not recorded: consciousness (sedated)")


# ------------------------------------------------------------------ 4, 5, 7. flag wording
@pytest.mark.parametrize(("last", "head"), [
    ({**ice(ice_orientation=2), "consciousness": "alert"},
     "NEWS2 3 — a single parameter scoring 3 (consciousness): respiration rate 0,"),
    ({**VITALS, "rr_per_min": 8}, "NEWS2 3 — a single parameter scoring 3 (respiration rate): "
                                  "respiration rate 3,"),
    ({**VITALS, "temp_c": 34.9, "hr_bpm": 95},
     "NEWS2 4 — a single parameter scoring 3 (temperature): respiration rate 0,"),
])
def test_a_red_news2_flag_names_the_parameter_scoring_3_after_the_total(last, head):
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, **ice(), consciousness="alert"), row(25, **last)]
    (flag,) = [f.flag for f in flags_of(rows) if f.flag["code"] == "news2_5"]
    assert flag["message"].startswith(head)
    assert "(a single parameter scoring 3)" not in flag["message"]


def test_a_news2_of_5_or_more_is_not_called_a_single_parameter():
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, **ice(), consciousness="alert"),
            row(25, **VITALS | {"rr_per_min": 8, "hr_bpm": 115})]
    (flag,) = [f.flag for f in flags_of(rows) if f.flag["code"] == "news2_5"]
    assert flag["message"].startswith("NEWS2 5: respiration rate 3,")


def test_news2_flags_name_the_published_source_in_plain_words_only():
    rows = [row(24, **VITALS, **ice(), consciousness="alert"),
            row(25, **VITALS | {"rr_per_min": 26, "hr_bpm": 135, "temp_c": 39.5})]
    messages = [f.flag["message"] for f in flags_of(rows) if f.flag["code"].startswith("news")]
    assert messages
    for m in messages:
        assert "Royal College of Physicians, National Early Warning Score 2 (NEWS2), 2017" in m
        assert "spec" not in m and "§" not in m
    assert "§" not in news2.SOURCE and "spec" not in news2.SOURCE
    child = news2.news2(rr=16, spo2=97, on_oxygen=False, sbp=120, pulse=80,
                        consciousness="alert", temp_c=37.0, age_years=12)
    assert "§" not in child.breakdown()


def test_a_pre_infusion_ice_with_nothing_earlier_is_not_called_new_confusion():
    rows = [row(-4, **VITALS, **ice(ice_orientation=3), consciousness="alert"),
            row(0.5, **VITALS, **ice(ice_orientation=3), consciousness="alert")]
    before, after = escalation.course_news(rows, {})
    assert before.parts["consciousness"] == 3                     # conservative: it scores
    assert before.consciousness_why == ("alert; confusion, not known whether new: ICE "
                                        "orientation 3/4 (no earlier ICE)")
    assert "new confusion" not in before.breakdown()
    assert after.parts["consciousness"] == 0                      # it is the baseline now
    assert after.consciousness_why == "alert; ICE orientation 3/4, as at baseline"


# ------------------------------------------------------------------ properties
NEURO_KINDS = st.sampled_from(["none", "ice", "capd", "consciousness", "sedated", "awake"])


@st.composite
def courses(draw) -> list[dict]:
    hours = -6.0
    rows = []
    for _ in range(draw(st.integers(1, 7))):
        hours += draw(st.sampled_from([0.5, 1, 3, 5, 13]))
        values: dict = {}
        if draw(st.booleans()):
            values |= {"temp_c": draw(st.sampled_from([35.0, 37.0, 39.2])),
                       "hr_bpm": draw(st.sampled_from([45, 80, 135])),
                       "rr_per_min": draw(st.sampled_from([8, 16, 26]))}
        if draw(st.booleans()):
            values["o2_device"] = draw(st.sampled_from(["room_air", "nasal_cannula"]))
        kind = draw(NEURO_KINDS)
        if kind == "ice":
            values |= ice(ice_orientation=draw(st.integers(0, 4)),
                          ice_attention=draw(st.integers(0, 1)))
        elif kind == "capd":
            values["capd_total"] = draw(st.sampled_from([4, 9]))
        elif kind == "consciousness":
            values["consciousness"] = draw(st.sampled_from(["alert", "awakens_to_voice"]))
        elif kind == "sedated":
            values["sedated"] = True
        elif kind == "awake":
            values["sedated"] = False
        if not values:
            values["corticosteroid_given"] = True   # a row with no NEWS2 input
        rows.append(row(hours, **values))
    return rows


@settings(max_examples=60, deadline=None)
@given(courses(), st.sampled_from([None, 6, 10]))
def test_news2_now_is_the_flags_score_at_the_latest_news2_input_and_the_overview_reads_it(
        rows, baseline_ice):
    patient = {} if baseline_ice is None else {"baseline_ice": baseline_ice}
    anchor = escalation.news_anchor(rows)
    n = escalation.news_now(rows, patient)
    if anchor is None:
        assert n is None
        return
    assert n == escalation.course_news(rows, patient)[anchor]
    g = grading.grade(grading.from_rows(rows))
    view = patient_course._ColumnRows(g.assessments.columns, g.order.order)
    assert escalation.news_now(view, patient) == n           # the overview's column view
    assert n.sedated is (n.consciousness_why == "not recorded (sedated)")


# ------------------------------------------------------------------ N13 for NEWS2 too
# (decision N13, E11): an 'unarousable' record disproved by a later ICE with points or a CAPD no
# longer scores 3 for consciousness, which is then not recorded (the total a minimum, as the ICANS
# grade is provisional); an ICE of 0, or one on the same row, disproves nothing.
UNAROUSABLE_THEN = [
    # (the later neuro row, or None for none; consciousness points at the last row)
    (None, 3),
    (ice(), None),               # ICE 10/10: arousable; consciousness not re-assessed since
    ({"ice_orientation": 0, "ice_naming": 0, "ice_commands": 0, "ice_writing": 0,
      "ice_attention": 1}, 3),                                     # ICE 1/10: arousable,
    # ... but orientation 0 and attention below full: new confusion scores 3 instead
    ({"ice_orientation": 0, "ice_naming": 0, "ice_commands": 0, "ice_writing": 0,
      "ice_attention": 0}, 3),                                     # ICE 0: not disproved
    ({"capd_total": 4}, None),                                     # a CAPD: assessable
]


@pytest.mark.parametrize(("later", "points"), UNAROUSABLE_THEN)
def test_a_later_ice_with_points_or_a_capd_ends_an_unarousable_record_for_news2(later, points):
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, consciousness="unarousable")]
    if later is not None:
        rows.append(row(26, **later))
    n = escalation.news_now(rows, {})
    assert n == escalation.course_news(rows, {})[-1]
    assert n.parts.get("consciousness") == points
    assert ("consciousness" in n.missing) == (points is None)


def test_an_ice_on_the_same_row_as_unarousable_does_not_end_it_for_news2():
    rows = [row(-2, **ice(), consciousness="alert"),
            row(24, **VITALS, **ice(), consciousness="unarousable")]
    assert escalation.news_now(rows, {}).parts.get("consciousness") == 3
