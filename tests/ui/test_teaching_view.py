"""The teaching pages' drawing helpers: labs in the units the cards use, only what was known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring import library, teaching
from ui.common import local
from ui.teaching_view import (
    charted_frame,
    events_frame,
    labs_figure,
    latest_labs,
    medications_frame,
    trial_line,
)

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_labs_are_charted_and_tabled_in_the_units_of_the_card_up_to_the_step(store):
    case = library.builtin_case("DEMO-007")
    library.load_case(store, case, NOW)
    rv = teaching.replay(store, "DEMO-007", 20)
    fig = labs_figure(rv)  # the timeline's markers panel: IL-6, CRP, ferritin, fibrinogen
    markers = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in markers] == ["IL-6", "CRP", "ferritin", "fibrinogen"]
    assert not {"CRS grade", "ICANS grade"} & {t.name for t in fig.data}  # a quiz's answer
    shift = teaching.shift_in_ward(store, "DEMO-007", case)
    crp_card = [d["crp"] for d in case.card.labs.draws if "crp" in d
                and (datetime.fromisoformat(d["time"]) + shift).replace(tzinfo=UTC)
                <= rv.current.time]
    (crp,) = [t for t in markers if t.name == "CRP"]
    assert list(crp.y) == crp_card  # stored as mg/dL, shown as entered (mg/L)
    table = latest_labs(rv.labs, UTC)
    assert table.loc[table["Test"] == "CRP", "Latest"].item() == f"{crp_card[-1]:g}"
    assert set(table["Unit"]) >= {"mg/L", "µg/L", "10^9/L", "µmol/L", "g/L", "U/L"}


def test_a_replay_step_never_charts_a_result_taken_after_it(store):
    """Issue 20 point 5: the markers known at each step - only results taken at or before the
    step's time, at every step of a case whose IL-6 is drawn between its assessments."""
    case = library.builtin_case("DEMO-002")
    library.load_case(store, case, NOW)
    all_labs = store.labs("DEMO-002")
    n = len(teaching.steps(store, "DEMO-002"))
    for step in range(0, n, 3):
        rv = teaching.replay(store, "DEMO-002", step)
        cut = rv.current.time.astimezone(rv.tz).replace(tzinfo=None)
        fig = labs_figure(rv, ["il6", "crp", "ferritin", "fibrinogen", "platelets"])
        shown = [x for t in fig.data if t.mode == "lines+markers" for x in t.x]
        assert all(x <= cut for x in shown), step
        known = sum(1 for x in all_labs if x["taken_at"] <= rv.current.time
                    and x["test"] in ("il6", "crp", "ferritin", "fibrinogen", "platelets"))
        assert len(shown) == known, step  # and every one known at the step is drawn


def test_medications_and_card_events_are_listed_with_their_dose(store):
    case = library.builtin_case("DEMO-009")
    library.load_case(store, case, NOW)
    rv = teaching.replay(store, "DEMO-009", 10_000)
    meds = medications_frame(rv, UTC)
    assert "methylprednisolone" in set(meds["Medication"]) and "1000 mg" in set(meds["Dose"])
    events = events_frame(teaching.events_until(store, "DEMO-009", case, rv.current.time), UTC)
    assert "hypertonic saline 3 %" in set(events["What"])
    assert "250 mL IV" in set(events["Dose"])


def test_an_adults_trial_line_quotes_its_spec_7_figures_and_a_childs_quotes_none():
    adult = trial_line(library.builtin_case("DEMO-002").card)
    assert adult.startswith("Follows the timing of **ZUMA-1**") and "93 % any grade" in adult
    child = trial_line(library.builtin_case("DEMO-004").card)
    assert child.startswith("No paediatric trial in the case library's table of published "
                            "pivotal trials.")
    assert "spec" not in child and "§" not in child  # plain words for the user, no section ids
    assert "**ELIANA** (Maude SL et al. N Engl J Med 2018;378:439-448)" in child
    assert "%" not in child and "JULIET" not in child


def test_the_charted_table_shows_what_decides_a_grade_and_nothing_later(store):
    """The browser review: a quiz step of the child's case graded ICANS 2 by "wakes to voice"
    showed only the CAPD total. The table lists what was charted in the 12 h up to the step,
    latest first, the level of consciousness included, and never a later row."""
    library.load_case(store, library.builtin_case("DEMO-004"), NOW)
    full = teaching.replay(store, "DEMO-004", 10_000)
    step = next(i for i, (r, g) in enumerate(zip(full.rows, full.results))
                if g.icans.grade == 2 and r.get("consciousness") == "awakens_to_voice")
    rv = teaching.replay(store, "DEMO-004", step)
    table = charted_frame(rv, UTC)
    now = rv.current.time
    expected = [r for r in rv.rows if now - timedelta(hours=12) <= r["time"] <= now]
    assert len(table) == len(expected) >= 2
    assert list(table["Time"]) == [local(r["time"], UTC) for r in reversed(expected)]
    assert "Level of consciousness awakens to voice" in table["Charted"].iloc[0]
    assert "CAPD" in " ".join(table["Charted"])
    assert all(r["time"] <= now for r in rv.rows)
