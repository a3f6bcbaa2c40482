"""Teaching: a replay step knows only the past; the player advances on its own; the quiz marks
answers against the rules, ends with a summary and exports the score."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

import grading
from monitoring import library, teaching
from monitoring.demo import load_demo
from monitoring.store import PatientIn, StoreError

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(memory_store):
    """Replay and quiz do not depend on the database: the in-memory record, which answers as
    the database does (test_record_contract.py)."""
    return memory_store


def loaded(store, case_id: str) -> library.LibraryCase:
    case = library.find_case(store, case_id)
    assert case is not None
    library.load_case(store, case, NOW)
    return case


# ------------------------------------------------------------------------------ replay
def test_a_replay_step_grades_the_record_as_it_stood_then(store):
    load_demo(store)
    times = teaching.steps(store, "DEMO-005")
    peak = next(i for i, r in enumerate(store.timeline_rows("DEMO-005"))
                if r.get("vasopressors") == "norepinephrine")
    before = teaching.replay(store, "DEMO-005", peak - 1)
    at_peak = teaching.replay(store, "DEMO-005", peak)
    assert len(before.results) == peak and before.current.time == times[peak - 1]
    assert before.summary.crs_max_grade == 2  # the grade 3 has not happened yet
    assert at_peak.current.crs.grade == 3 and at_peak.summary.crs_max_grade == 3
    assert len(at_peak.tocilizumab_given) == 1  # the second dose is still in the future


def test_no_medication_lab_or_card_event_from_the_future_reaches_a_replay_step(store):
    case = loaded(store, "DEMO-009")
    all_labs, all_meds = store.labs("DEMO-009"), store.administrations("DEMO-009")
    for step in (0, 20, 40, len(teaching.steps(store, "DEMO-009")) - 1):
        rv = teaching.replay(store, "DEMO-009", step)
        cut = rv.current.time
        assert rv.labs == [x for x in all_labs if x["taken_at"] <= cut]
        assert rv.administrations == [m for m in all_meds if m["given_at"] <= cut]
        events = teaching.events_until(store, "DEMO-009", case, cut)
        assert all(e["time"] <= cut for e in events)
        assert len(events) == sum(
            (e.time + teaching.shift_in_ward(store, "DEMO-009", case)).replace(tzinfo=UTC)
            <= cut for e in case.card.events)
    first = teaching.replay(store, "DEMO-009", 0)  # the pre-infusion baseline: one draw
    assert len({x["taken_at"] for x in first.labs}) == 1 and len(first.labs) < len(all_labs)
    assert first.administrations == []
    last = teaching.replay(store, "DEMO-009", 10_000)  # past the end: the last step
    assert last.labs == all_labs and last.administrations == all_meds


def test_teaching_refuses_a_real_patient(store):
    store.admit(PatientIn(patient_id="REAL"), by="drx")
    with pytest.raises(StoreError, match="demo cases only"):
        teaching.replay(store, "REAL", 0)


# ------------------------------------------------------------------------------ key moments
def test_key_moments_are_the_first_step_every_change_of_grade_and_the_cards_times(store):
    case = loaded(store, "DEMO-007")
    results = teaching.graded_steps(store, "DEMO-007")
    moments = teaching.key_moments(results)
    assert moments[0] == 0
    for i in moments[1:]:
        a, b = results[i - 1], results[i]
        assert (a.crs.grade, a.crs.status, a.icans.grade, a.icans.status) != (
            b.crs.grade, b.crs.status, b.icans.grade, b.icans.status)
    assert [results[i].crs.grade for i in moments] == [0, 1, 2, 3, 4, 3, 2, 0]
    named = teaching.card_times_in_ward(store, "DEMO-007", case)
    with_card = teaching.key_moments(results, named)
    assert set(with_card) >= set(moments)
    assert {results[i].time for i in with_card} >= set(named)
    assert teaching.next_moment(moments, 0) == moments[1]
    assert teaching.next_moment(moments, moments[-1]) is None


@pytest.mark.parametrize(("at", "crs", "rules"), [
    ("2026-08-11T02:00", 1, ["CRS-R1"]),               # fever alone
    ("2026-08-11T10:00", 2, ["CRS-R4"]),               # SBP 88 < 90 alone (the bolus and
    #                                                    tocilizumab count from the next row)
    ("2026-08-11T15:00", 3, ["CRS-R4"]),               # norepinephrine
    ("2026-08-11T22:00", 4, ["CRS-R4"]),               # two vasopressors (hypoxia is 3)
    ("2026-08-12T00:00", 4, ["CRS-R4", "CRS-R5"]),     # ... and BiPAP
    ("2026-08-12T06:00", 4, ["CRS-R3", "CRS-R4", "CRS-R5"]),  # afebrile: the waiver
])
def test_the_deciding_rule_is_the_finding_at_the_grade(at, crs, rules):
    case = library.builtin_case("DEMO-007")
    r = next(x for x in grading.grade(grading.read_csv(case.timeline)).results()
             if x.time == datetime.fromisoformat(at).replace(tzinfo=UTC))
    assert r.crs.grade == crs
    assert [x.rule for x in teaching.deciding(r.crs)] == rules


# ------------------------------------------------------------------------------ the player
def test_the_player_advances_one_step_per_interval_and_stops_at_the_end():
    p = teaching.Player(step=3, interval_s=2.0).play(NOW, last_step=5)
    assert (p.step, p.playing) == (3, True)
    assert p.tick(NOW + timedelta(seconds=1.9), 5).step == 3          # not yet due
    p = p.tick(NOW + timedelta(seconds=2), 5)
    assert (p.step, p.playing) == (4, True)
    p = p.tick(NOW + timedelta(seconds=4), 5)
    assert (p.step, p.playing) == (5, False)                          # the end: stops
    assert p.tick(NOW + timedelta(seconds=9), 5).step == 5


def test_pausing_or_stepping_by_hand_stops_the_player_and_play_at_the_end_restarts():
    p = teaching.Player(step=2).play(NOW, last_step=9)
    assert not p.pause().playing and p.pause().step == 2
    assert p.pause().tick(NOW + timedelta(seconds=10), 9).step == 2
    jumped = p.go(7, last_step=9)
    assert (jumped.step, jumped.playing) == (7, False)
    assert p.go(99, last_step=9).step == 9 and p.go(-1, last_step=9).step == 0
    assert teaching.Player(step=9).play(NOW, last_step=9).step == 0   # again from the start


# ------------------------------------------------------------------------------ the quiz
def test_the_quiz_marks_each_answer_with_the_deciding_rule(store):
    load_demo(store)
    quiz = teaching.Quiz("DEMO-005")
    first = teaching.replay(store, "DEMO-005", 0).current
    right = quiz.answer(0, first, first.crs.grade, first.icans.grade)
    assert right["crs_right"] and right["icans_right"]
    peak = teaching.replay(store, "DEMO-005", 12).current
    wrong = quiz.answer(12, peak, 1, peak.icans.grade)
    assert not wrong["crs_right"] and wrong["crs_rules"]
    assert [rule for rule, _ in wrong["crs_deciding"]] == ["CRS-R4"]
    assert quiz.score == (3, 4)
    quiz.answer(12, peak, peak.crs.grade, peak.icans.grade)  # a second try replaces the first
    assert quiz.score == (4, 4)


def test_a_quiz_at_the_key_moments_ends_with_a_summary_and_the_rules_missed(store):
    loaded(store, "DEMO-006")
    quiz = teaching.start_quiz(store, "DEMO-006", "Learner One", "key moments", NOW)
    assert quiz.title == "Early grade 1 CRS after ide-cel"
    asked = list(quiz.steps)
    assert len(asked) < len(teaching.steps(store, "DEMO-006"))
    results = teaching.graded_steps(store, "DEMO-006")
    while quiz.next_step is not None:
        step = quiz.next_step
        r = teaching.replay(store, "DEMO-006", step).current
        assert r.crs == results[step].crs  # the record as it stood then grades as the course
        # the learner always answers CRS 0: right only where the grade is 0
        quiz.answer(step, r, 0, r.icans.grade)
    assert quiz.complete and not quiz.finished
    quiz.finish(NOW + timedelta(minutes=5))
    s = quiz.summary()
    febrile = sum(results[i].crs.grade == 1 for i in asked)
    assert (s["questions"], s["right"], s["given"]) == (len(asked), 2 * len(asked) - febrile,
                                                        2 * len(asked))
    assert s["icans_right"] == len(asked) and s["unanswered"] == 0
    assert s["missed_rules"][0][:2] == ("CRS-R1", febrile)
    assert "fever (>= 38.0 °C)" in s["missed_rules"][0][2]
    assert s["missed_rules"][0][3] == f"graded too low {febrile} ×"  # CRS 0 for a fever


def test_the_quiz_export_names_the_learner_the_case_the_times_and_the_score(store):
    loaded(store, "DEMO-006")
    quiz = teaching.start_quiz(store, "DEMO-006", "Learner One", "key moments", NOW)
    first = quiz.next_step
    r = teaching.replay(store, "DEMO-006", first).current
    quiz.answer(first, r, r.crs.grade, 3)
    quiz.finish(NOW + timedelta(minutes=2))
    rows = list(csv.DictReader(io.StringIO(quiz.csv())))
    n = len(quiz.steps)
    assert len(rows) == n  # one row per question, nothing else
    quiz_fields = ("learner", "case", "case_title", "started", "finished", "score",
                   "unanswered_questions")
    assert {tuple(r[k] for k in quiz_fields) for r in rows} == {(
        "Learner One", "DEMO-006", "Early grade 1 CRS after ide-cel", NOW.isoformat(),
        (NOW + timedelta(minutes=2)).isoformat(), f"1/{2 * n}", str(n - 1))}
    assert rows[0]["step"] == "1"
    assert (rows[0]["crs_right"], rows[0]["icans_right"]) == ("True", "False")
    # decides ICANS
    assert rows[0]["icans_deciding_rule"].startswith("ICE score (ASTCT 2019): ICE 10/10")
    results = teaching.graded_steps(store, "DEMO-006")
    for row, step in zip(rows[1:], quiz.steps[1:]):   # every other question, not reached
        assert [row["step"], row["time"], row["day_post_infusion"]] == [
            str(step + 1), results[step].time.isoformat(), str(results[step].day_post_infusion)]
        assert [row["crs_answer"], row["crs_right"], row["icans_answer"],
                row["icans_right"]] == ["not answered"] * 4


def test_finishing_after_one_question_scores_over_every_question_of_the_quiz(store):
    loaded(store, "DEMO-006")
    quiz = teaching.start_quiz(store, "DEMO-006", "L", "key moments", NOW)
    n = len(quiz.steps)
    first = quiz.next_step
    r = teaching.replay(store, "DEMO-006", first).current
    quiz.answer(first, r, r.crs.grade, r.icans.grade)          # both right
    quiz.finish(NOW)
    s = quiz.summary()
    assert n > 1 and quiz.score == (2, 2 * n)                   # not "2 of 2 (100 %)"
    assert (s["right"], s["given"], s["questions"], s["answered"], s["unanswered"]) == (
        2, 2 * n, n, 1, n - 1)
    assert s["percent"] == round(100 * 2 / (2 * n))
    assert [row["answered"] for row in quiz.rows()] == [True] + [False] * (n - 1)
    assert quiz.score_so_far == (2, 2)                          # shown while the quiz runs


# ------------------------------------------------------------------------------ which steps
def test_a_key_moments_quiz_also_asks_where_nothing_changes_chosen_without_the_grades(store):
    case = loaded(store, "DEMO-007")
    results = teaching.graded_steps(store, "DEMO-007")
    named = teaching.card_times_in_ward(store, "DEMO-007", case)
    moments = teaching.key_moments(results, named)
    steps = teaching.quiz_steps(results, named, "DEMO-007")
    assert set(steps) >= set(moments)                      # every key moment is asked
    unchanged = [i for i in steps if i not in library.grade_changes(results)]
    assert len(unchanged) >= len(steps) / 3                # being asked is no hint of a change
    assert steps == teaching.quiz_steps(results, named, "DEMO-007")  # the same for the case
    # the other steps come from the step numbers and the case alone: a course with other
    # grades (here: the same steps, every grade shifted one step on) asks at the same others
    shifted = results[1:] + results[:1]
    others = set(steps) - set(moments)
    assert others <= set(teaching.quiz_steps(shifted, named, "DEMO-007"))
    assert teaching.quiz_steps(results, named, "DEMO-006") != steps  # another case, others


def test_a_quiz_of_the_key_moments_starts_with_those_steps(store):
    case = loaded(store, "DEMO-006")
    quiz = teaching.start_quiz(store, "DEMO-006", "L", "key moments", NOW)
    results = teaching.graded_steps(store, "DEMO-006")
    assert quiz.steps == teaching.quiz_steps(
        results, teaching.card_times_in_ward(store, "DEMO-006", case), "DEMO-006")
    assert quiz.when[quiz.steps[-1]] == (results[quiz.steps[-1]].time,
                                         results[quiz.steps[-1]].day_post_infusion)


def test_every_assessment_can_be_the_quiz(store):
    loaded(store, "DEMO-006")
    quiz = teaching.start_quiz(store, "DEMO-006", "L", "every assessment", NOW)
    assert quiz.steps == list(range(len(teaching.steps(store, "DEMO-006"))))
    with pytest.raises(ValueError, match="key moments"):
        teaching.start_quiz(store, "DEMO-006", "L", "some", NOW)


# ------------------------------------------------------------------------------ marking
def course_of(case_id: str) -> dict[str, grading.RowResult]:
    """The engine's grade of every assessment of a built-in case, by ward-local time."""
    case = library.builtin_case(case_id)
    return {r.time.strftime("%Y-%m-%dT%H:%M"): r
            for r in grading.grade(grading.read_csv(case.timeline)).results()}


def test_an_attributed_fever_is_named_as_the_deciding_rule_of_crs_0():
    r = course_of("DEMO-011")["2026-09-23T14:00"]      # 38.7 °C attributed to a line infection
    assert (r.crs.grade, r.crs.status) == (0, "final")
    entry = teaching.Quiz("DEMO-011").answer(0, r, 1, 0)   # the learner grades the fever
    assert not entry["crs_right"]
    rules = dict(entry["crs_deciding"])
    assert rules["CRS-R1"] == "temperature 38.7 °C attributed to another cause: not counted " \
                              "as fever"
    assert "A9" in rules and "CRS-R2" in rules
    text = teaching.feedback(entry, "CRS")
    assert text.startswith("CRS: you chose 1; the rules give 0.")
    assert "fever (ASTCT 2019) — temperature 38.7 °C attributed to another cause" in text


@pytest.mark.parametrize("at", ["2026-09-23T14:00", "2026-09-23T15:00"])
def test_a_masked_fever_is_marked_as_the_engine_grades_it_and_explained(at):
    r = course_of("DEMO-012")[at]                       # hypotension after prophylactic steroid
    assert (r.crs.grade, r.crs.status) == (0, "provisional")
    quiz = teaching.Quiz("DEMO-012")
    entry = quiz.answer(0, r, 2, 0)                     # the grade it would be: not the grade
    assert not entry["crs_right"] and entry["crs_would_be"] == 2
    assert [rule for rule, _ in entry["crs_deciding"]] == ["CRS-R1", "CRS-R2", "A3"]
    text = teaching.feedback(entry, "CRS")
    assert text.startswith("CRS: you chose 2; the rules give 0 (provisional). Provisional "
                           "because: fever possibly masked by earlier treatment (ASTCT 2019) — "
                           "fever possibly masked")
    assert "would be CRS grade 2 if a clinician confirms CRS (ASTCT 2019)" in text
    assert "2 is the grade it would be once a clinician confirms CRS; until then the ASTCT " \
           "grade is 0." in text
    assert [(rule, ways) for rule, _, _, ways in quiz.missed_rules()] == [
        ("A3", "graded too high 1 ×"), ("CRS-R1", "graded too high 1 ×"),
        ("CRS-R2", "graded too high 1 ×")]  # over-grading is not missing the fever
    right = quiz.answer(0, r, 0, 0)                     # the engine's grade is right
    assert right["crs_right"] and "Provisional because: fever possibly masked" in \
        teaching.feedback(right, "CRS")
    assert "would be once" not in teaching.feedback(right, "CRS")


def test_a_not_evaluable_step_needs_the_answer_not_evaluable():
    r = course_of("DEMO-014")["2026-10-15T10:40"]       # back from a scan, no temperature
    assert (r.crs.grade, r.crs.status) == (None, "not_evaluable")
    quiz = teaching.Quiz("DEMO-014")
    wrong = quiz.answer(0, r, 0, 0)                     # missing data is never grade 0
    assert not wrong["crs_right"] and wrong["icans_right"]
    text = teaching.feedback(wrong, "CRS")
    assert text.startswith("CRS: you chose 0; the rules give not evaluable. Not evaluable "
                           "because: fever (ASTCT 2019) — no temperature in the last 4 h")
    right = quiz.answer(0, r, None, 0)
    assert right["crs_right"] and quiz.score == (2, 2)
    assert teaching.deciding(r.crs)[0].rule == "CRS-R1"
