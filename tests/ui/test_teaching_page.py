"""The teaching pages (AppTest): load a case from the library, replay it (steps, next change,
play and pause), take the quiz to the end and export the score; educators only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from monitoring import library, teaching
from ui import session

from .conftest import go, texts

TEACHING = "ui/pages/teaching.py"
LIBRARY = "ui/pages/case_library.py"


def button(at, label):
    return next(b for b in at.button if b.label == label)


def teaching_for(signed_in, case_id: str = "DEMO-005"):
    at = go(signed_in("educator"), TEACHING)
    at.selectbox(key="teach_case").select(case_id).run()
    assert not at.exception, at.exception
    return at


# ------------------------------------------------------------------------------ library
def test_an_educator_loads_a_library_case_and_opens_it_in_teaching(signed_in, store):
    at = go(signed_in("educator"), LIBRARY)
    assert at.title[0].value == "Case library"
    table = at.dataframe[0].value
    assert len(table) >= 13 and "DEMO-009" in set(table["ID"])
    assert store.patient("DEMO-009") is None  # not in the standard demo ward
    at.selectbox(key="library_case").select("DEMO-009").run()
    assert "Every grade on this card is the grading engine's." in texts(at)
    assert "ZUMA-1" in texts(at) and "Synthetic case" in texts(at)
    button(at, "Load into the demo ward").click().run()
    assert not at.exception, at.exception
    assert "Grade 4 ICANS with cerebral oedema (DEMO-009) loaded into the demo ward" in texts(at)
    assert store.patient("DEMO-009")["is_demo"]
    assert len(store.labs("DEMO-009")) > 0 and len(store.administrations("DEMO-009")) > 0
    assert "1 ICU stay, " in texts(at)  # the card's stay, loaded into the record (R10)
    assert len(store.icu_stays("DEMO-009")) == 1
    assert {m["indication"] for m in store.administrations("DEMO-009")
            if m["kind"] == "anakinra"} == {"icans"}
    assert any(a["action"] == "teaching_case_loaded" and a["username"] == "demo.educator"
               for a in store.audit("DEMO-009"))
    button(at, "Open in Teaching").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Teaching"
    assert at.selectbox(key="teach_case").value == "DEMO-009"
    assert "Grade 4 ICANS with cerebral oedema" in texts(at)


def test_loading_a_case_already_in_the_ward_gives_a_fresh_copy(signed_in, store):
    first = {h.id for h in store.history("DEMO-002")}
    before, shown = len(first), len(store.timeline_rows("DEMO-002"))
    at = go(signed_in("educator"), LIBRARY)
    at.selectbox(key="library_case").select("DEMO-002").run()
    button(at, "Load a fresh copy").click().run()
    assert not at.exception, at.exception
    history = store.history("DEMO-002")
    rows = len(store.timeline_rows("DEMO-002"))
    # every row marked, the whole case loaded (the demo ward shows it only up to now, W16)
    assert shown < rows == len(library.csv_rows(library.builtin_case("DEMO-002").timeline))
    assert len(history) == before + shown + rows
    assert {h.status for h in history if h.id in first} == {"entered_in_error"}


# ------------------------------------------------------------------------------ replay
def steps(store) -> int:
    """The steps of the demo ward's DEMO-005: its assessments up to now (W16)."""
    return len(teaching.steps(store, "DEMO-005"))


def test_an_educator_replays_a_case_step_by_step(signed_in, store):
    at = teaching_for(signed_in)
    n = steps(store)
    assert f"Step **1 of {n}**" in texts(at)
    for _ in range(3):
        button(at, "next ▶").click().run()
    assert f"Step **4 of {n}**" in texts(at)
    button(at, "◀ back").click().run()
    assert f"Step **3 of {n}**" in texts(at)
    button(at, "◀◀ start").click().run()
    assert f"Step **1 of {n}**" in texts(at)
    assert not at.exception


def test_next_change_jumps_to_the_next_grade_change(signed_in, store):
    at = teaching_for(signed_in)
    results = teaching.graded_steps(store, "DEMO-005")
    first_change = next(i for i, r in enumerate(results) if r.crs.grade == 1)
    button(at, "next change ▶▶").click().run()
    assert f"Step **{first_change + 1} of {steps(store)}**" in texts(at)
    assert "key moment" in texts(at)
    assert "Fever (ASTCT 2019)" in texts(at) and "**deciding**" in texts(at)


def test_play_starts_and_pauses_and_its_tick_moves_the_replay_on(signed_in, store, monkeypatch):
    # The page's clock stands still: the fragment also runs in every full run, and on a busy
    # machine a real second between two runs would tick the replay on by itself.
    still = session.now()
    monkeypatch.setattr(session, "now", lambda: still)
    at = teaching_for(signed_in)
    n = steps(store)
    at.selectbox(key="teach_speed").select("fast (every second)").run()
    button(at, "▶ play").click().run()
    assert not at.exception, at.exception
    player = at.session_state["teach_player_DEMO-005"]
    assert player.playing and player.interval_s == 1.0 and "· playing" in texts(at)
    # the fragment applies Player.tick (AppTest does not run fragments): one second later
    at.session_state["teach_player_DEMO-005"] = player.tick(
        player.last_tick + timedelta(seconds=1), n - 1)
    at.run()
    assert f"Step **2 of {n}**" in texts(at) and "· playing" in texts(at)
    button(at, "pause").click().run()
    assert not at.session_state["teach_player_DEMO-005"].playing
    assert f"Step **2 of {n}**" in texts(at) and "· playing" not in texts(at)


def test_a_replay_step_shows_the_medications_and_labs_so_far_only(signed_in, store):
    at = teaching_for(signed_in)
    tocilizumab = next(i for i, r in enumerate(store.timeline_rows("DEMO-005"))
                       if r.get("tocilizumab_given"))
    at.session_state["teach_player_DEMO-005"] = teaching.Player(step=tocilizumab - 1)
    at.run()
    assert "tocilizumab" not in set(table(at, "Medication")["Medication"])
    charted = next(t.value for t in at.table if "Charted" in t.value.columns)
    assert charted["Charted"].iloc[0].startswith("Age ")  # what the nurse charted, latest first
    button(at, "next ▶").click().run()
    assert "tocilizumab" in set(table(at, "Medication")["Medication"])


def table(at, column: str):
    """The page's table with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# ------------------------------------------------------------------------------ quiz
def start(at, case_id: str = "DEMO-005", which: str = "key moments"):
    at.radio(key="teach_mode").set_value("Quiz").run()
    at.text_input(key=f"quiz_learner_{case_id}").input("Learner One").run()
    at.radio(key=f"quiz_set_{case_id}").set_value(which).run()
    button(at, "Start the quiz").click().run()
    assert not at.exception, at.exception
    return at.session_state[f"quiz_{case_id}"]


def test_a_quiz_step_is_marked_with_the_rule_that_decides_it(signed_in):
    at = teaching_for(signed_in)
    quiz = start(at)
    step = quiz.next_step
    assert step == 0 and button(at, "Check").disabled
    at.radio(key="quiz_crs_DEMO-005_0").set_value("1")
    at.radio(key="quiz_icans_DEMO-005_0").set_value("0").run()
    button(at, "Check").click().run()
    errors = [e.value for e in at.error]
    # the first step is the pre-infusion baseline: nothing before the infusion is CRS (C17)
    assert any(e.startswith("CRS: you chose 1; the rules give 0. Deciding: before the infusion: "
                            "baseline (ASTCT 2019) — before the infusion") for e in errors)
    assert any(s.value.startswith("ICANS: you chose 0; the rules give 0. Deciding: ICE score "
                                  "(ASTCT 2019)") for s in at.success)
    assert "score so far **1 of 2**" in texts(at)


def test_the_question_chart_does_not_show_the_grade_asked(signed_in, store):
    from ui.charts import timeline_figure
    from ui.teaching_view import quiz_figure
    rv = teaching.replay(store, "DEMO-005", 12)
    fig = quiz_figure(rv)
    crs = next(t for t in fig.data if t.name == "CRS grade")
    assert len(crs.x) == 12 and rv.current.time.replace(tzinfo=None) not in list(crs.x)
    temps = next(t for t in fig.data if t.name == "temperature")
    assert len(temps.x) == 13  # the observations of the moment asked are shown
    notes = [a.text for a in fig.layout.annotations]
    assert not any(str(t).startswith("ICANS ") for t in notes)  # the ICE bands say no grade
    full = [a.text for a in timeline_figure(rv).layout.annotations]
    assert {"ICANS 0", "ICANS 1", "ICANS 2", "ICANS 3"} <= set(full)  # as the replay shows


def test_a_quiz_played_to_the_end_shows_the_score_and_exports_it(signed_in, store):
    at = teaching_for(signed_in)
    quiz = start(at)
    results = teaching.graded_steps(store, "DEMO-005")
    n = len(quiz.steps)
    for k, step in enumerate(quiz.steps):
        r = results[step]
        crs = "4" if k == 1 else str(r.crs.grade)  # one wrong answer, at the second question
        at.radio(key=f"quiz_crs_DEMO-005_{step}").set_value(crs)
        at.radio(key=f"quiz_icans_DEMO-005_{step}").set_value(str(r.icans.grade)).run()
        button(at, "Check").click().run()
        assert not at.exception, at.exception
        button(at, "See your score" if k == n - 1 else "Next question").click().run()
    assert at.subheader[0].value == "Quiz result"
    assert f"**Score: {2 * n - 1} of {2 * n}**" in texts(at)
    assert "fever (ASTCT 2019) — 1 × (graded too high 1 ×; e.g." in texts(at)
    table = at.dataframe[0].value
    assert len(table) == n and list(table["CRS ✓"]).count("✗") == 1
    done = at.session_state["quiz_DEMO-005"]
    rows = list(csv.DictReader(io.StringIO(done.csv())))
    assert (rows[0]["learner"], rows[0]["case"]) == ("Learner One", "DEMO-005")
    assert {r["score"] for r in rows} == {f"{2 * n - 1}/{2 * n}"} and len(rows) == n
    audit = [a for a in store.audit("DEMO-005") if a["action"] == "quiz_completed"]
    assert len(audit) == 1 and audit[0]["username"] == "demo.educator"
    assert f'"score": "{2 * n - 1}/{2 * n}"' in audit[0]["after"]
    button(at, "New attempt").click().run()
    assert "Start the quiz" in [b.label for b in at.button]


def test_finishing_a_quiz_early_scores_over_every_question_and_lists_the_rest(signed_in,
                                                                              store):
    at = teaching_for(signed_in)
    quiz = start(at)
    n = len(quiz.steps)
    at.radio(key="quiz_crs_DEMO-005_0").set_value("0")
    at.radio(key="quiz_icans_DEMO-005_0").set_value("0").run()
    button(at, "Check").click().run()
    assert "score so far **2 of 2**" in texts(at)
    button(at, "Finish the quiz now").click().run()
    assert f"**Score: 2 of {2 * n}** ({round(200 / (2 * n))} %)" in texts(at)
    assert f"{n - 1} questions not answered (counted as not right)" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == n
    assert list(table["CRS: yours"]) == ["0"] + ["not answered"] * (n - 1)
    assert list(table["ICANS ✓"]) == ["✓"] + ["✗"] * (n - 1)
    rows = list(csv.DictReader(io.StringIO(at.session_state["quiz_DEMO-005"].csv())))
    assert {r["score"] for r in rows} == {f"2/{2 * n}"}
    assert sum(r["crs_answer"] == "not answered" for r in rows) == n - 1
    audit = next(a for a in store.audit("DEMO-005") if a["action"] == "quiz_completed")
    assert f'"score": "2/{2 * n}"' in audit["after"]


def test_the_case_title_trial_and_summary_are_hidden_during_the_quiz(signed_in):
    at = teaching_for(signed_in)
    card = library.builtin_case("DEMO-005").card
    assert card.title in texts(at) and "ZUMA-1" in texts(at)  # replay shows the whole card
    start(at)
    shown = texts(at)
    for secret in (card.title, card.summary, "ZUMA-1", card.learning_points[0]):
        assert secret not in shown  # they tell the course ("Grade 3 CRS: ...")
    assert "54-year-old male, 82 kg · DLBCL · axi-cel" in shown  # only who the patient is
    button(at, "Finish the quiz now").click().run()
    shown = texts(at)
    assert card.title in shown and "ZUMA-1" in shown and card.summary in shown


def test_replay_says_it_shows_the_record_with_its_corrections(signed_in):
    at = teaching_for(signed_in)
    assert "corrections included: a value corrected later appears in its corrected form" in \
        texts(at)


def test_clinical_roles_do_not_get_the_teaching_pages(signed_in):
    from ui import session
    assert "teaching" not in session.allowed_pages("nurse")
    assert session.allowed_pages("educator") == ["demo_ward", "teaching", "case_library",
                                                 "case_builder"]
